"""File pruning through `finlake sql` (issue 6): over random WHERE predicates on a
partitioned table and on a Z-ordered one, a query returns the same rows with
pruning as with the predicate hidden from it (`(...) OR false`, which no
conjunct-based pruning can use), and `--stats` shows fewer files read. Symbols
share a 36-character prefix, past the 32 characters some writers keep of a
string bound (the truncated-max case)."""
from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import finlake_binary, run_finlake

PREFIX = "S" * 36
REGIONS = ["us", "eu", "apac"]
SEEDS = {"bronze.parted": 11, "bronze.zordered": 12}  # Fixed: the same predicates every run.


def batch(seed: int, rows: int = 4000) -> pa.Table:
    rng = random.Random(seed)
    return pa.table({
        "sym": [f"{PREFIX}{rng.randrange(40):02d}" for _ in range(rows)],
        "px": [round(rng.uniform(10, 500), 2) for _ in range(rows)],
        "qty": [rng.randrange(1, 10_000) for _ in range(rows)],
        "day": pa.array([20000 + rng.randrange(60) for _ in range(rows)], pa.int32()).cast(pa.date32()),
        "region": [REGIONS[seed % 3]] * rows,
    })


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pruning")
    lake = root / "lake"
    run_finlake(lake, "init", check=True)
    for i in range(12):
        path = root / f"b{i}.parquet"
        pq.write_table(batch(i), path)
        # Partitioned by region; a second table gets the same rows, then Z-order.
        extra = ["--create", "--partition-by", "region"] if i == 0 else []
        run_finlake(lake, "import", "bronze.parted", path, *extra, check=True)
        run_finlake(lake, "import", "bronze.zordered", path, *(["--create"] if i == 0 else []), check=True)
    run_finlake(lake, "optimize", "bronze.zordered", "--zorder", "sym,day", "--target-size", "16KB", check=True)
    return lake


def predicates(seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(24):
        kind = rng.choice(["sym", "px", "qty", "day", "region", "and"])
        if kind == "sym":
            op = rng.choice(["=", "<", ">=", "IN"])
            values = [f"'{PREFIX}{rng.randrange(40):02d}'" for _ in range(3)]
            out.append(f"sym IN ({', '.join(values)})" if op == "IN" else f"sym {op} {values[0]}")
        elif kind == "px":
            low = rng.uniform(0, 520)
            out.append(rng.choice([f"px < {low:.2f}", f"px BETWEEN {low:.2f} AND {low + 40:.2f}", f"{low:.2f} <= px"]))
        elif kind == "qty":
            out.append(f"qty {rng.choice(['=', '>', '<='])} {rng.randrange(0, 10_100)}")
        elif kind == "day":
            out.append(f"day {rng.choice(['>=', '<', '='])} DATE '2024-10-{rng.randrange(1, 32):02d}'")
        elif kind == "region":
            out.append(f"region = '{rng.choice(REGIONS + ['none'])}'")
        else:
            out.append(f"region IN ('us', 'eu') AND day BETWEEN '2024-10-05' AND '2024-10-20' AND px > {rng.uniform(0, 500):.1f}")
    return out


def rows_and_files(lake: Path, table: str, where: str) -> tuple[list[str], int, int]:
    proc = run_finlake(lake, "sql", "--format", "csv", "--stats",
                       f"SELECT sym, px, qty, day, region FROM {table} WHERE {where} ORDER BY ALL", check=True)
    scanned = re.search(r"version \d+, (\d+) of (\d+) files scanned", proc.stderr)
    assert scanned, proc.stderr
    return proc.stdout.splitlines(), int(scanned.group(1)), int(scanned.group(2))


@pytest.mark.parametrize("table", ["bronze.parted", "bronze.zordered"])
def test_pruned_queries_return_the_rows_of_unpruned_ones(lake: Path, table: str) -> None:
    pruned_any = 0
    for predicate in predicates(SEEDS[table]):
        rows, files, total = rows_and_files(lake, table, predicate)
        all_rows, all_files, _ = rows_and_files(lake, table, f"({predicate}) OR false")
        assert all_files == total
        assert rows == all_rows, f"{table} WHERE {predicate}: {len(rows)} rows pruned ({files} of {total} files), " \
                                 f"{len(all_rows)} without pruning"
        pruned_any += files < total
    assert pruned_any >= 4, f"{table}: pruning read fewer files for only {pruned_any} of 24 predicates"


def test_the_shell_reuses_a_statements_rewrite_until_a_commit(new_lake: Path, tmp_path: Path) -> None:
    """One engine serves a shell session: a statement typed again reuses its rewrite
    (`--stats` says so) while its table has no newer commit, and a commit made by
    another process in between is seen at once."""
    first, second = tmp_path / "first.parquet", tmp_path / "second.parquet"
    pq.write_table(pa.table({"v": [1, 2, 3]}), first)
    pq.write_table(pa.table({"v": [4]}), second)
    run_finlake(new_lake, "import", "bronze.t", first, "--create", check=True)
    statement = "SELECT count(*) AS n FROM bronze.t WHERE v > 0;\n"
    shell = subprocess.Popen([str(finlake_binary()), "--lake", str(new_lake), "sql", "--format", "csv", "--stats"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        shell.stdout.readline()  # The banner.
        counts = []
        for step in range(3):
            if step == 1:
                run_finlake(new_lake, "import", "bronze.t", second, check=True)
            shell.stdin.write(statement)
            shell.stdin.flush()
            assert shell.stdout.readline().endswith("n\n")
            counts.append(shell.stdout.readline().strip())
        _, err = shell.communicate(timeout=60)
    finally:
        if shell.poll() is None:
            shell.kill()
    assert counts == ["3", "4", "4"]
    versions = re.findall(r"bronze\.t: version (\d+)", err)
    assert versions == ["1", "2", "2"], err
    # Only the third statement: the second had a commit to see.
    assert err.count("rewrite reused") == 1, err
    assert err.index("rewrite reused") > err.rindex("version 2")
