"""The escape corpus (issue 6): SQL that tries to leave the lake through `finlake
sql` — files by path, table functions that read or list files, writes, catalogs,
extensions, settings, keywords hidden in comments, several statements in one
text. Every probe must be refused with an error, write nothing, and leave the
engine's settings as they were (checked in one shell process, before and after
all the probes)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import finlake_binary, run_finlake

TABLE = "bronze.trades"
SETTINGS = ("enable_external_access", "memory_limit", "threads", "allowed_directories", "autoload_known_extensions")


@pytest.fixture
def lake(new_lake: Path, tmp_path: Path) -> Path:
    seed = tmp_path / "seed.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "px": [1.5, 2.5, 3.5]}), seed)
    run_finlake(new_lake, "import", TABLE, seed, "--create", check=True)
    return new_lake


def probes(lake: Path, tmp: Path) -> list[str]:
    data = next((lake / "bronze" / "trades").glob("*.parquet"))
    outside = tmp / "escaped.csv"
    inside = lake / "bronze" / "trades" / "planted.parquet"
    log = lake / "bronze" / "trades" / "_delta_log" / "00000000000000000000.json"
    files = lake / "bronze" / "trades" / "*.parquet"
    return [
        "SELECT * FROM '/etc/passwd'",
        'SELECT * FROM "/etc/passwd"',
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_csv_auto('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_blob('/etc/passwd')",
        "SELECT * FROM read_json('/etc/passwd')",
        f"SELECT * FROM read_parquet('{data}')",
        f"SELECT * FROM '{data}'",
        f"SELECT * FROM parquet_metadata('{data}')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM sniff_csv('/etc/passwd')",
        "SELECT * FROM query('SELECT 1')",
        f"SELECT * FROM query_table('{TABLE}')",
        "SELECT * FROM duckdb_settings()",
        "WITH t AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM t",
        "SELECT (SELECT count(*) FROM read_text('/etc/passwd'))",
        f"SELECT * FROM {TABLE}, read_text('/etc/hostname')",
        f"COPY (SELECT 1) TO '{outside}'",
        f"COPY (SELECT * FROM {TABLE}) TO '{inside}' (FORMAT parquet)",
        f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{outside}'",
        f"ATTACH '{tmp / 'other.db'}' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "RESET memory_limit",
        "PRAGMA threads = 1",
        "CALL pragma_version()",
        f"EXPORT DATABASE '{tmp / 'export'}'",
        "CREATE MACRO m(x) AS x",
        f"SELECT 1; COPY (SELECT 1) TO '{outside}'",
        f"/* SELECT */ COPY (SELECT 1) TO '{outside}'",
        f"SELECT 'SELECT' AS s; ATTACH '{tmp / 'other2.db'}'",
        "-- a comment\nSET threads = 1",
        f"SELECT * FROM {TABLE} VERSION AS OF 0; SET threads = 1",
        # A CTE named after a path or a catalog view: inside its own body, or in
        # a CTE declared before it, DuckDB does not see the CTE and reads the path.
        f'WITH "{log}" AS (SELECT * FROM "{log}") SELECT * FROM "{log}"',
        f'WITH a AS (SELECT * FROM "{log}"), "{log}" AS (SELECT 1) SELECT * FROM a',
        f'WITH RECURSIVE "{log}" AS (SELECT * FROM "{log}") SELECT * FROM "{log}"',
        f'WITH "{files}" AS MATERIALIZED (SELECT * FROM "{files}") SELECT count(*) FROM "{files}"',
        f'SELECT * FROM (WITH "{data}" AS (FROM "{data}") FROM "{data}")',
        f'WITH "{str(data).upper()}" AS (FROM "{data}") FROM "{str(data).upper()}"',
        "WITH pg_settings AS (FROM pg_settings) SELECT * FROM pg_settings",
        "WITH duckdb_databases AS (SELECT * FROM duckdb_databases) SELECT * FROM duckdb_databases",
        "SELECT * FROM (SHOW TABLES)",
        "SELECT * FROM (SHOW DATABASES)",
        # Names DuckDB's printer writes back without their quotes: what they hide
        # would come back as SQL after the rewrite.
        f"SELECT $\"$ x $$ AS c, * FROM '{data}'\"",
        "SELECT $\"$ x $$ AS c, * FROM pg_settings\"",
        f"SELECT \"c.* FROM read_text('{log}') AS c UNION ALL BY NAME SELECT q\".* FROM range(1) q",
        f"SELECT \"c.id FROM '{data}' AS c UNION ALL SELECT q\".* FROM range(1) q",
        # Scalar functions that bind SQL of their own, or macros over the catalog.
        f"SELECT json_serialize_plan('SELECT * FROM read_parquet(''{files}'')')",
        "SELECT pg_get_viewdef(x) FROM range(3000) t(x)",
        "SELECT format_type(1, 0)",
        f"SELECT current_query() FROM {TABLE}",
    ]


def settings_sql() -> str:
    return "SELECT " + ", ".join(f"current_setting('{name}')::VARCHAR AS {name}" for name in SETTINGS) + ";\n"


def test_every_probe_is_refused_and_writes_nothing(lake: Path, tmp_path: Path) -> None:
    corpus = probes(lake, tmp_path)
    assert len(corpus) >= 25
    before = sorted(p.relative_to(lake) for p in lake.rglob("*"))
    for probe in corpus:
        proc = run_finlake(lake, "sql", "--format", "csv", probe, check=False)
        assert proc.returncode != 0, f"not refused: {probe!r}\n{proc.stdout}"
        assert "finlake: error:" in proc.stderr and proc.stdout == "", (probe, proc.stdout, proc.stderr)
    assert not (tmp_path / "escaped.csv").exists()
    assert not any(tmp_path.glob("other*.db")) and not (tmp_path / "export").exists()
    assert sorted(p.relative_to(lake) for p in lake.rglob("*")) == before, "a probe changed the lake's files"


def test_ctes_keep_duckdbs_scoping(lake: Path) -> None:
    # The rewrite renames every CTE (so that a reference DuckDB would not resolve
    # to it cannot read a path): each shape of WITH still answers as DuckDB does.
    cases = {
        "WITH a AS (SELECT 1 AS x), b AS (SELECT a.x + 1 AS y FROM a) SELECT b.y, (SELECT max(x) FROM a) AS m FROM b":
            "2,1",
        "WITH a AS MATERIALIZED (SELECT 2 AS x) SELECT a.x, z.x AS zx FROM a, a AS z": "2,2",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 4) SELECT sum(n) AS s FROM r": "10",
        f"WITH t AS (SELECT count(*) AS c FROM {TABLE}) SELECT T.c FROM T": "3",
        "WITH a AS (SELECT 1 AS x) SELECT x FROM (WITH a AS (SELECT x + 1 AS x FROM a) SELECT x FROM a)": "2",
        f'WITH "my.csv" AS (SELECT max(px) AS m FROM {TABLE}) SELECT m FROM "my.csv"': "3.5",
        # A MATERIALIZED body is in DuckDB's tree twice, and sees the CTEs before it.
        f"WITH a AS MATERIALIZED (SELECT * FROM {TABLE}) SELECT count(*) AS n FROM a": "3",
        "WITH x AS (SELECT 1 AS v), a AS MATERIALIZED (SELECT v + 1 AS w FROM x) SELECT w FROM a": "2",
    }
    for query, row in cases.items():
        proc = run_finlake(lake, "sql", "--format", "csv", query, check=True)
        assert proc.stdout.splitlines()[1] == row, (query, proc.stdout)


def test_statements_that_are_not_queries_are_named(lake: Path) -> None:
    cases = {
        f"PIVOT {TABLE} ON id USING sum(px)": "a PIVOT without an IN list",
        "EXPLAIN EXPLAIN SELECT 1": "EXPLAIN [ANALYZE] takes one query",
        "SELECT * FROM (SHOW TABLES)": "use `finlake tables`",
        "SELECT 'caf\udcc3'": "the SQL text is not UTF-8: byte 11",
        "SELECT " + "+".join(["1"] * 5000): "a limit of the lake's engine: split the expression",
    }
    for query, rule in cases.items():
        proc = subprocess.run([str(finlake_binary()), "--lake", str(lake), "sql", "--format", "csv",
                               query.encode("utf-8", "surrogateescape")], capture_output=True, timeout=60)
        assert proc.returncode != 0 and rule in proc.stderr.decode(), (query, proc.stderr)
    proc = run_finlake(lake, "sql", "--format", "parquet", "--output", lake.parent / "plan.parquet", "EXPLAIN SELECT 1")
    assert proc.returncode != 0 and "EXPLAIN prints a plan, not rows" in proc.stderr, proc.stderr
    # The forms that are queries still run.
    assert run_finlake(lake, "sql", "--format", "csv", f"PIVOT {TABLE} ON id IN (1, 2) USING sum(px)",
                       check=True).stdout.splitlines()[0] == "1,2"
    assert run_finlake(lake, "sql", "--format", "csv", f"SELECT count(*) AS n FROM (DESCRIBE {TABLE})",
                       check=True).stdout.splitlines()[1] == "2"


def test_settings_are_unchanged_after_the_probes_in_one_session(lake: Path, tmp_path: Path) -> None:
    # The shell runs each statement as it is typed: settings, every probe, settings.
    script = settings_sql() + "".join(p.replace("\n", " ") + ";\n" for p in probes(lake, tmp_path)) + settings_sql()
    proc = subprocess.run([str(finlake_binary()), "--lake", str(lake), "sql", "--format", "csv"], input=script,
                          capture_output=True, text=True, timeout=300)
    tables = [block for block in proc.stdout.split("finlake> ") if ",".join(SETTINGS) in block]
    assert len(tables) == 2, proc.stdout
    first, last = (block[block.index(",".join(SETTINGS)):].splitlines()[:2] for block in tables)
    assert first == last, f"settings moved: {first} -> {last}"
    assert proc.stderr.count("finlake: error:") >= len(probes(lake, tmp_path)), proc.stderr


def test_the_engine_behind_the_rewrite_is_locked_to_the_table_folders(lake: Path, tmp_path: Path) -> None:
    # The second wall (DESIGN.md "The SQL front end"): whatever got past the
    # rewrite would meet an engine that reads only the tables' own folders.
    other = tmp_path / "seed2.parquet"
    pq.write_table(pa.table({"id": [9]}), other)
    run_finlake(lake, "import", "silver.other", other, "--create", check=True)
    names = ("enable_external_access", "lock_configuration", "autoinstall_known_extensions", "TimeZone")
    proc = run_finlake(lake, "sql", "--format", "csv",
                       "SELECT " + ", ".join(f"current_setting('{n}')::VARCHAR AS {n}" for n in names) +
                       ", list_sort(current_setting('allowed_directories')) AS dirs", check=True)
    header, row = proc.stdout.splitlines()[:2]
    assert header.split(",")[:4] == list(names)
    assert row.split(",")[:4] == ["false", "true", "false", "UTC"], row
    # The table folders and the spill folder, nothing else of the lake (not the catalog).
    root = lake.resolve()
    folders = sorted(f"{p}/" for p in (root / "_tmp", root / "bronze" / "trades", root / "silver" / "other"))
    assert row.split(",", 4)[4].strip('"') == "[" + ", ".join(folders) + "]", row
