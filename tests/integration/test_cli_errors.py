"""The CLI fails clearly: a non-zero exit and a ``finlake: error:`` naming the input and
the rule, for bad queries, bad appends and damaged tables; and it leaves tables unchanged
when it refuses a write. Also sanity of ``describe``, ``history`` and ``--format csv``."""

from __future__ import annotations

import io
import json
import re
import subprocess
import shutil
import signal
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import (assert_error, assert_same_rows, describe_run, finlake_binary, finlake_read, row_hashes,
                      run_finlake)

TABLE = "bronze.trades"

SEED = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "sym": pa.array(["AAPL", "MSFT", "Ünïcode"], pa.string()),
        "px": pa.array([185.5, 370.25, None], pa.float64()),
    }
)


@pytest.fixture
def lake(new_lake: Path, tmp_path: Path) -> Path:
    """A lake with TABLE (id BIGINT, sym VARCHAR, px DOUBLE) holding SEED's three rows."""
    seed = tmp_path / "seed.parquet"
    pq.write_table(SEED, seed)
    run_finlake(new_lake, "import", TABLE, seed, "--create", check=True)
    return new_lake


def table_dir(lake: Path, table: str = TABLE) -> Path:
    return lake.joinpath(*table.split("."))


def log_versions(directory: Path) -> list[int]:
    return sorted(int(p.name.split(".")[0]) for p in (directory / "_delta_log").glob("*.json"))


def sql(lake: Path, query: str, *extra: str, check: bool | None = None):
    return run_finlake(lake, "sql", *extra, query, check=check)


def copy_and_register(lake: Path, tmp_path: Path, name: str) -> tuple[str, Path]:
    """A copy of TABLE's directory, registered as bronze.<name> (so it can be damaged)."""
    copy = tmp_path / f"copy_{name}"
    shutil.copytree(table_dir(lake), copy)
    run_finlake(lake, "register", f"bronze.{name}", copy, check=True)
    return f"bronze.{name}", copy


def last_commit(directory: Path) -> Path:
    return directory / "_delta_log" / f"{log_versions(directory)[-1]:020d}.json"


# --------------------------------------------------------------------------- queries


@pytest.mark.parametrize(
    "query, needles",
    [
        ("SELECT * FROM bronze.no_such_table", ["bronze.no_such_table", "does not exist"]),
        ("SELECT * FROM no_such_ns.trades", ["no_such_ns", "does not exist"]),
    ],
    ids=["unknown-table", "unknown-namespace"],
)
def test_unknown_table(lake, query, needles):
    """A query over a table (or namespace) that does not exist fails naming it."""
    assert_error(sql(lake, query), *needles)


def test_syntax_error(lake):
    """A query that does not parse fails with a syntax error quoting the offending token."""
    assert_error(sql(lake, "SELEC * FROM bronze.trades"), "syntax", "SELEC")


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM bronze.trades",
        "COPY (SELECT * FROM bronze.trades) TO '{out}'",
        "COPY bronze.trades TO '{out}'",
        "CREATE TABLE t AS SELECT 1 AS x",
        "INSERT INTO bronze.trades VALUES (9, 'X', 1.0)",
        "UPDATE bronze.trades SET px = 0",
        "DROP TABLE bronze.trades",
        "ATTACH '{out}' AS other",
    ],
    ids=["delete", "copy-query-to", "copy-table-to", "create-table", "insert", "update", "drop", "attach"],
)
def test_only_select_runs(lake, tmp_path, statement):
    """Statements other than SELECT are refused with a message saying only SELECT runs;
    nothing is written (no COPY target, no new table version)."""
    out = tmp_path / "leak.csv"
    before = log_versions(table_dir(lake))
    assert_error(sql(lake, statement.format(out=out)), "only SELECT")
    assert not out.exists(), "a refused statement wrote its target file"
    assert log_versions(table_dir(lake)) == before


def test_a_refused_statement_names_the_command_to_use(lake):
    assert_error(sql(lake, "DELETE FROM bronze.trades WHERE px > 1"), "finlake delete TABLE --where")
    assert_error(sql(lake, "INSERT INTO bronze.trades VALUES (9, 'X', 1.0)"), "finlake import TABLE FILE")
    assert_error(sql(lake, "SET threads = 1"), "cannot change the engine's settings")


@pytest.mark.parametrize(
    "query, needle",
    [
        ("SELECT * FROM read_parquet('/etc/passwd')", "read_parquet"),
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
        ("SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto"),
        ("SELECT * FROM read_text('/etc/passwd')", "read_text"),
        ("SELECT * FROM read_json('/etc/passwd')", "read_json"),
        ("SELECT * FROM glob('/etc/*')", "glob"),
        ("SELECT * FROM bronze.trades, read_blob('/etc/passwd')", "read_blob"),
        ("SELECT (SELECT count(*) FROM read_csv('/etc/passwd')) AS n", "read_csv"),
        ("WITH x AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM x", "read_text"),
        ("SELECT * FROM '/etc/passwd'", "/etc/passwd"),
    ],
    ids=[
        "read_parquet", "read_csv", "read_csv_auto", "read_text", "read_json", "glob",
        "join-read_blob", "subquery-read_csv", "cte-read_text", "replacement-scan",
    ],
)  # fmt: skip
def test_file_table_functions_refused(lake, query, needle):
    """Table functions that read arbitrary files (and bare file paths) are refused by
    name, and no file content leaks to stdout."""
    proc = sql(lake, query, "--format", "csv")
    assert_error(proc, needle)
    assert "root:" not in proc.stdout


def test_version_beyond_latest(lake):
    """Time travel past the latest version fails naming the version and the latest one."""
    assert_error(sql(lake, "SELECT * FROM bronze.trades AT (VERSION => 7)"), "version 7", "latest")


# --------------------------------------------------------------------------- bad appends


def _assert_refused_append(lake: Path, tmp_path: Path, bad: pa.Table, needles: list[str]) -> None:
    before_rows = row_hashes(finlake_read(lake, f"SELECT * FROM {TABLE}", tmp_path / "out"))
    before_versions = log_versions(table_dir(lake))
    before_files = sorted(p.name for p in table_dir(lake).rglob("*.parquet") if "_delta_log" not in p.parts)
    path = tmp_path / "bad.parquet"
    pq.write_table(bad, path)
    proc = run_finlake(lake, "import", TABLE, path)
    assert_error(proc, *needles)
    assert log_versions(table_dir(lake)) == before_versions, "a refused append committed a version"
    after_files = sorted(p.name for p in table_dir(lake).rglob("*.parquet") if "_delta_log" not in p.parts)
    assert after_files == before_files, "a refused append left data files behind"
    assert row_hashes(finlake_read(lake, f"SELECT * FROM {TABLE}", tmp_path / "out")) == before_rows


def test_append_wrong_column_type_refused(lake, tmp_path):
    """Appending a file whose column has an incompatible type (VARCHAR into BIGINT) is
    refused naming the column, and the table is unchanged (rows, version, files)."""
    bad = pa.table({"id": ["not a number"], "sym": ["X"], "px": [1.0]})
    _assert_refused_append(lake, tmp_path, bad, ["'id'"])


def test_append_unknown_column_refused(lake, tmp_path):
    """Appending a file with a column the table lacks is refused naming the column, and
    the table is unchanged."""
    bad = pa.table({"id": pa.array([4], pa.int64()), "sym": ["X"], "px": [1.0], "venue": ["XNAS"]})
    _assert_refused_append(lake, tmp_path, bad, ["venue"])


@pytest.mark.parametrize(
    "command",
    [
        ["delete", TABLE, "--where"],
        ["optimize", TABLE, "--where"],
        ["import", TABLE, "SEED", "--mode", "overwrite", "--replace-where"],
        ["merge", TABLE, "SEED", "--on", "id", "--delete-when"],
    ],
    ids=["delete", "optimize", "import", "merge"],
)
@pytest.mark.parametrize(
    "predicate, needle",
    [
        ("id IN (SELECT 1 FROM read_csv('/etc/passwd'))", "subquery"),
        ("id = 1); COPY (SELECT 1) TO 'OUT'; SELECT (1", "one expression"),
        ("id = 1) UNION SELECT 1 WHERE (true", "one expression"),
        ("id = 1 -- the rest hidden", None),
        ("random() < 0.5", "random() is not allowed"),
        ("id = 99) WINDOW w AS (", "where it is spliced"),
        ("json_serialize_plan('SELECT * FROM read_csv(''/etc/passwd'')') IS NULL", "runs SQL of its own"),
    ],
    ids=["subquery", "statements", "union", "comment", "volatile", "window", "binds-sql"],
)
def test_write_predicates_are_one_expression_over_the_columns(lake, tmp_path, command, predicate, needle):
    """A predicate handed to a write (delete --where, optimize --where, import
    --replace-where, merge --delete-when) runs on the lake's own engine, which reaches
    files: a subquery, a second statement or a clause after a closed parenthesis is
    refused naming the rule, nothing is written anywhere, and the table keeps its
    version. A trailing comment is harmless: the predicate is closed on a new line."""
    seed = tmp_path / "seed.parquet"
    pq.write_table(SEED, seed)
    out = tmp_path / "escaped.csv"
    predicate = predicate.replace("OUT", str(out))
    args = [str(seed) if a == "SEED" else a for a in command]
    before_versions = log_versions(table_dir(lake))
    proc = run_finlake(lake, *args, predicate)
    assert not out.exists(), "a predicate wrote a file"
    if needle is None:
        assert "one expression" not in proc.stderr and "subquery" not in proc.stderr, describe_run(proc)
        return
    assert_error(proc, needle, "predicate")
    assert log_versions(table_dir(lake)) == before_versions, "a refused write committed a version"


# --------------------------------------------------------------------------- damaged tables


def test_truncated_commit_names_file_and_line(lake, tmp_path):
    """A commit whose last line is cut mid-JSON makes reads fail with an error naming
    the commit file and the line."""
    name, copy = copy_and_register(lake, tmp_path, "truncated")
    commit = last_commit(copy)
    lines = commit.read_text().splitlines()
    assert len(lines) >= 2
    damaged = "\n".join(lines[:-1] + [lines[-1][: len(lines[-1]) // 2]])
    commit.write_text(damaged)
    proc = sql(lake, f"SELECT * FROM {name}")
    assert_error(proc, commit.name, f"line {len(lines)}")


def test_unknown_action_is_ignored(lake, tmp_path):
    """An unknown action line (``{"foo":{}}``) in a commit is ignored, as the Delta
    protocol requires: the table still reads the same rows."""
    name, copy = copy_and_register(lake, tmp_path, "unknown_action")
    expected = finlake_read(lake, f"SELECT * FROM {name}", tmp_path / "out")
    commit = last_commit(copy)
    commit.write_text(commit.read_text().rstrip("\n") + '\n{"foo":{}}\n')
    assert_same_rows(finlake_read(lake, f"SELECT * FROM {name}", tmp_path / "out"), expected)


def test_missing_data_file_named(lake, tmp_path):
    """A live data file deleted from disk makes reads fail with an error naming it."""
    name, copy = copy_and_register(lake, tmp_path, "missing_file")
    data_files = [p for p in copy.rglob("*.parquet") if "_delta_log" not in p.parts]
    assert data_files
    data_files[0].unlink()
    proc = sql(lake, f"SELECT * FROM {name}")
    assert_error(proc, data_files[0].name)


def test_missing_data_file_error_has_no_engine_sql_snippet(lake, tmp_path):
    """The error names the file without echoing finlake's internal rewritten SQL."""
    name, copy = copy_and_register(lake, tmp_path, "missing_file_snippet")
    next(p for p in copy.rglob("*.parquet") if "_delta_log" not in p.parts).unlink()
    proc = sql(lake, f"SELECT * FROM {name}", check=False)
    assert "LINE 1" not in proc.stderr and "read_parquet" not in proc.stderr, proc.stderr


def test_json_import_uses_the_table_types(lake, tmp_path):
    """JSON lines land with the table's types, as CSV does: a value beyond BIGINT goes
    into a UBIGINT (decimal(20,0)) column."""
    run_finlake(lake, "create-table", "bronze.wide", "--schema", "u UBIGINT, s VARCHAR", check=True)
    source = tmp_path / "wide.json"
    source.write_text('{"u": 18446744073709551615, "s": "x"}\n{"u": 3, "s": "y"}\n')
    run_finlake(lake, "import", "bronze.wide", source, check=True)
    out = sql(lake, "SELECT u FROM bronze.wide ORDER BY u", "--format", "csv", check=True).stdout.split()
    assert out == ["u", "3", "18446744073709551615"]


# --------------------------------------------------------------------------- output


def test_describe_and_history(lake, tmp_path):
    """``describe`` shows the table, its location, version, partitioning and columns
    with their types; ``history`` lists every commit newest first with its operation."""
    more = tmp_path / "more.parquet"
    pq.write_table(SEED.slice(0, 1), more)
    run_finlake(lake, "import", TABLE, more, check=True)
    latest = log_versions(table_dir(lake))[-1]

    described = run_finlake(lake, "describe", TABLE, check=True).stdout
    for needle in [TABLE, str(table_dir(lake)), f"version:    {latest}", "id", "BIGINT", "sym", "VARCHAR", "px", "DOUBLE"]:
        assert needle in described, f"describe lacks {needle!r}:\n{described}"

    history = run_finlake(lake, "history", TABLE, check=True).stdout.strip().splitlines()
    header, rows = history[0].split("\t"), [line.split("\t") for line in history[1:]]
    assert header[:2] == ["version", "timestamp"], history[0]
    assert [int(r[0]) for r in rows] == list(range(latest, -1, -1)), history
    operations = [r[header.index("operation")] for r in rows]
    assert operations[-1] == "CREATE TABLE" and operations[0] == "WRITE", operations


def test_sql_csv_and_json_output(lake):
    """``--format csv`` prints the header, then one line per row; ``--format json``
    prints a JSON array of row objects."""
    query = "SELECT id, sym FROM bronze.trades ORDER BY id"
    csv = sql(lake, query, "--format", "csv", check=True).stdout.splitlines()
    assert csv == ["id,sym", "1,AAPL", "2,MSFT", "3,Ünïcode"], csv
    rows = json.loads(sql(lake, query, "--format", "json", check=True).stdout)
    assert rows == [{"id": 1, "sym": "AAPL"}, {"id": 2, "sym": "MSFT"}, {"id": 3, "sym": "Ünïcode"}]


def test_sql_parquet_to_a_pipe(lake, finlake_bin):
    """``--format parquet`` without ``--output`` writes the Parquet file to stdout
    when stdout is a pipe."""
    proc = subprocess.run([str(finlake_bin), "--lake", str(lake), "sql", "--format", "parquet",
                           "SELECT id, sym FROM bronze.trades ORDER BY id"], capture_output=True)
    assert proc.returncode == 0, proc.stderr
    table = pq.read_table(io.BytesIO(proc.stdout))
    assert table.column("id").to_pylist() == [1, 2, 3]


def test_sql_parquet_output_replaces_a_file_only_when_the_statement_succeeds(lake, tmp_path):
    """``--output FILE`` with ``--format parquet``: an existing file is replaced
    (DuckDB's own temporary file beside it is outside the sandbox, so finlake
    writes a hidden file and renames it), a failed statement keeps the old file,
    and no temporary file stays behind. An output inside the lake is refused."""
    out = tmp_path / "results" / "r.parquet"
    out.parent.mkdir()
    for value in (1, 2):
        sql(lake, f"SELECT {value} AS a", "--format", "parquet", "--output", out, check=True)
        assert pq.read_table(out).column("a").to_pylist() == [value]
    assert_error(sql(lake, "SELECT error('boom') AS a", "--format", "parquet", "--output", out), "boom")
    assert pq.read_table(out).column("a").to_pylist() == [2]
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.parquet"]
    before = sorted(p.relative_to(lake) for p in lake.rglob("*"))
    for fmt, name in (("parquet", "part-0.parquet"), ("csv", "_delta_log/00000000000000000000.json")):
        target = table_dir(lake) / name
        assert_error(sql(lake, "SELECT 1", "--format", fmt, "--output", target), "is inside the lake")
    assert sorted(p.relative_to(lake) for p in lake.rglob("*")) == before


def test_errors_go_to_stderr_only(lake):
    """A failing command prints its error on stderr with the ``finlake: error:`` prefix
    and nothing on stdout."""
    proc = sql(lake, "SELECT * FROM bronze.no_such_table", "--format", "csv")
    assert proc.returncode == 1, describe_run(proc)
    assert proc.stderr.startswith("finlake: error:"), describe_run(proc)
    assert proc.stdout == ""


LONG_QUERY = "SELECT sum(hash(i)) FROM range(1000000000000) t(i)"  # Hours of work on 2 cores.


def test_a_statement_past_its_timeout_is_stopped(lake):
    started = time.monotonic()
    assert_error(sql(lake, LONG_QUERY, "--timeout", "0.5"), "ran past its 500 ms timeout (--timeout)")
    assert time.monotonic() - started < 60, "the timeout did not stop the statement"


def test_parsing_counts_against_the_timeout(lake, finlake_bin):
    # A 50,000-term OR spends about 60 s in DuckDB's parser and the rewrite:
    # --timeout covers that time too (the CLI ends a statement that does not stop
    # 5 s after its interrupt).
    query = "SELECT count(*) FROM bronze.trades WHERE " + " OR ".join(f"id = {i}" for i in range(50000))
    started = time.monotonic()
    proc = subprocess.run([str(finlake_bin), "--lake", str(lake), "sql", "--format", "csv", "--timeout", "1"],
                          input=query + ";\n", capture_output=True, text=True, timeout=300)
    assert "ran past its 1 s timeout (--timeout)" in proc.stderr, describe_run(proc)
    assert time.monotonic() - started < 45, "the timeout did not end the statement"


@pytest.mark.parametrize("shape, rule", [
    ("chain", "declares 3000 CTEs (0 MATERIALIZED), more than 256"),
    ("materialized", "declares 40 CTEs (40 MATERIALIZED), more than 256 (32)"),
    ("nested", "WITH clauses nest 12 deep, more than 8"),
])
def test_statements_the_parser_would_spend_gigabytes_on_are_refused(lake, shape, rule):
    # DuckDB's parser copies CTEs from level to level: 12 nested WITHs took 7 GB,
    # 200 chained MATERIALIZED CTEs 9.5 GB, before any engine limit applied.
    if shape == "nested":
        query = "SELECT 1"
        for i in reversed(range(12)):
            query = f"WITH c{i} AS ({query}) SELECT * FROM c{i}"
    else:
        n, marker = (3000, "") if shape == "chain" else (40, "MATERIALIZED ")
        query = (f"WITH c0 AS {marker}(SELECT 1 AS x), " +
                 ", ".join(f"c{i} AS {marker}(SELECT x FROM c{i - 1})" for i in range(1, n)) + f" SELECT * FROM c{n - 1}")
    assert_error(sql(lake, query, "--format", "csv"), rule)


def test_ctrl_c_cancels_the_running_statement(lake):
    proc = subprocess.Popen([str(finlake_binary()), "--lake", str(lake), "sql", LONG_QUERY], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)  # Past start-up (slower under the sanitizers), into the statement.
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "the query was cancelled (Ctrl-C)" in stderr, stderr


def test_the_table_format_fetches_a_bounded_number_of_rows(lake):
    proc = sql(lake, "SELECT i, repeat('x', 100) AS pad FROM range(30000000) t(i)", check=True)
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith("(more than 10000 rows; the first 10000 shown: use --format csv"), lines[-1]
    assert len(lines) == 2 + 10000 + 1  # Header, rule, rows, the note.
    assert sql(lake, "SELECT * FROM range(3)", check=True).stdout.splitlines()[-1] == "(3 rows)"


def test_memory_limit_applies_and_a_bad_size_is_named(lake, tmp_path):
    assert_error(sql(lake, "SELECT 1", "--memory-limit", "lots"), "--memory-limit 'lots' is not a size")
    heavy = "SELECT count(*) FROM (SELECT i % 1000000 AS k, list(i) FROM range(20000000) t(i) GROUP BY k)"
    assert_error(sql(lake, heavy, "--memory-limit", "30MB"), "Out of Memory", "--memory-limit SIZE")
    assert sql(lake, "SELECT 1 AS one", "--memory-limit", "1GB", check=True).stdout.splitlines()[-1] == "(1 row)"
    # The Parquet format opens its own engine (it may write the output file): the
    # size is checked there as well, and applies.
    out = tmp_path / "one.parquet"
    assert_error(sql(lake, "SELECT 1", "--memory-limit", "lots", "--format", "parquet", "--output", str(out)),
                 "--memory-limit 'lots' is not a size")
    assert not out.exists()
    assert_error(sql(lake, heavy, "--memory-limit", "30MB", "--format", "parquet", "--output", str(out)), "Out of Memory")


def test_timing_prints_each_statements_time_split_into_prepare_and_execute(lake):
    proc = sql(lake, "SELECT 1; SELECT count(*) FROM range(1000)", "--timing", "--format", "csv", check=True)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("run time: ")]
    assert len(lines) == 2, proc.stderr
    for line in lines:
        match = re.fullmatch(r"run time: (\d+\.\d{6}) s \(prepare (\d+\.\d{6}) s, execute (\d+\.\d{6}) s\)", line)
        assert match, line
        total, prepare, execute = map(float, match.groups())
        assert abs(total - prepare - execute) <= 2e-6 and prepare > 0 and execute > 0, line
