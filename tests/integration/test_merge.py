"""MERGE and Z-order through the CLI: results read back by delta-rs and DuckDB's
delta extension, writers stopped at every crash point inside MERGE and OPTIMIZE,
and bad input refused with the table untouched (issue 4)."""
from __future__ import annotations

import re
from pathlib import Path

import deltalake
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import assert_error, assert_same_rows, duckdb_delta_scan, finlake_read, run_finlake

TABLE = "silver.bars"
CRASH_POINTS = ["data_file_written", "commit_ready", "staged_log_written", "log_linked", "directory_synced",
                "checkpoint_written", "last_checkpoint_written"]
# Crash points after which the commit is in the log.
COMMITTED = {"log_linked", "directory_synced", "checkpoint_written", "last_checkpoint_written"}


def bars(n_symbols: int, n_days: int, seed: int = 0) -> pa.Table:
    rows = [(f"S{s:03d}", day, float(s * 1000 + day + seed), "us" if s % 2 else "eu")
            for s in range(n_symbols) for day in range(n_days)]
    return pa.table({"symbol": [r[0] for r in rows],
                     "d": pa.array([19000 + r[1] for r in rows], pa.int32()).cast(pa.date32()),
                     "close": [r[2] for r in rows], "region": [r[3] for r in rows]})


def make_table(lake: Path, tmp: Path, files: int = 4) -> Path:
    run_finlake(lake, "create-table", TABLE, "--schema", "symbol VARCHAR, d DATE, close DOUBLE, region VARCHAR",
                "--partition-by", "region", check=True)
    for n in range(files):
        source = tmp / f"base{n}.parquet"
        table = bars(20, 50)
        pq.write_table(table.slice(n * table.num_rows // files, table.num_rows // files), source)
        run_finlake(lake, "import", TABLE, source, check=True)
    return lake / "silver" / "bars"


def corrections(tmp: Path) -> Path:
    """Ten corrected bars (existing keys) and two new ones."""
    source = tmp / "corrections.parquet"
    pq.write_table(pa.table({"symbol": ["S001"] * 10 + ["NEW1", "NEW2"],
                             "d": pa.array([19000 + d for d in range(10)] + [19100, 19100], pa.int32()).cast(pa.date32()),
                             "close": [-1.0] * 12, "region": ["us"] * 12}), source)
    return source


def read_all(lake: Path, out: Path) -> pa.Table:
    return finlake_read(lake, f"SELECT * FROM {TABLE}", out)


def test_merge_rewrites_only_matched_files_and_reads_back_everywhere(new_lake, tmp_path):
    table_dir = make_table(new_lake, tmp_path)
    files_before = len(deltalake.DeltaTable(str(table_dir)).file_uris())
    proc = run_finlake(new_lake, "merge", TABLE, corrections(tmp_path), "--on", "symbol,d", check=True)
    match = re.search(r"(\d+) rows updated, (\d+) inserted, 0 deleted; (\d+) files scanned, (\d+) rewritten", proc.stdout)
    assert match, proc.stdout
    updated, inserted, scanned, rewritten = map(int, match.groups())
    assert (updated, inserted) == (10, 2)
    # S001 is in region us, days 0-9 in the first import only: one file holds them all.
    assert rewritten == 1 and scanned < files_before, proc.stdout
    ours = read_all(new_lake, tmp_path / "ours")
    assert ours.num_rows == 1002
    assert sorted(ours.filter(pa.compute.equal(ours["close"], -1.0))["symbol"].to_pylist()) == \
        ["NEW1", "NEW2"] + ["S001"] * 10
    assert_same_rows(ours, deltalake.DeltaTable(str(table_dir)).to_pyarrow_table(), "delta-rs after MERGE")
    assert_same_rows(ours, duckdb_delta_scan(table_dir), "DuckDB delta extension after MERGE")
    history = deltalake.DeltaTable(str(table_dir)).history(1)[0]
    assert history["operation"] == "MERGE" and history["operationMetrics"]["numTargetRowsUpdated"] == "10"
    # Run again: the same rows, now all matched (idempotent upsert).
    proc = run_finlake(new_lake, "merge", TABLE, corrections(tmp_path), "--on", "symbol,d", check=True)
    assert "12 rows updated, 0 inserted" in proc.stdout, proc.stdout
    assert_same_rows(read_all(new_lake, tmp_path / "again"), ours, "merge twice")


def test_merge_refuses_bad_sources_and_keeps_the_table(new_lake, tmp_path):
    table_dir = make_table(new_lake, tmp_path, files=1)
    version = deltalake.DeltaTable(str(table_dir)).version()
    dup = tmp_path / "dup.csv"
    dup.write_text("symbol,d,close,region\nS001,2022-01-08,1,us\nS001,2022-01-08,2,us\n")
    assert_error(run_finlake(new_lake, "merge", TABLE, dup, "--on", "symbol,d"), "dup.csv", "2 rows for key",
                 "one source row per key")
    assert_error(run_finlake(new_lake, "merge", TABLE, dup, "--on", "symbol,nope"), "merge key 'nope'")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("symbol,d,close,region\nS001,not-a-date,1,us\n")
    assert run_finlake(new_lake, "merge", TABLE, wrong, "--on", "symbol,d").returncode == 1
    extra = tmp_path / "extra.csv"
    extra.write_text("symbol,d,close,region,volume\nS001,2022-01-08,1,us,5\n")
    assert_error(run_finlake(new_lake, "merge", TABLE, extra, "--on", "symbol,d"), "volume", "--add-columns")
    assert deltalake.DeltaTable(str(table_dir)).version() == version


def test_merge_delete_when(new_lake, tmp_path):
    table_dir = make_table(new_lake, tmp_path, files=1)
    source = tmp_path / "deletes.csv"
    source.write_text("symbol,d,close,region,op\nS001,2022-01-08,0,us,delete\nS002,2022-01-08,5,eu,upsert\n")
    proc = run_finlake(new_lake, "merge", TABLE, source, "--on", "symbol,d", "--delete-when", "op = 'delete'",
                       check=True)
    assert "1 rows updated, 0 inserted, 1 deleted" in proc.stdout, proc.stdout
    ours = read_all(new_lake, tmp_path / "ours")
    assert ours.num_rows == 999 and "op" not in ours.column_names
    assert_same_rows(ours, deltalake.DeltaTable(str(table_dir)).to_pyarrow_table(), "delta-rs")


def import_shuffled(new_lake, tmp_path, name):
    """gold.NAME: 100 symbols x 2000 days of bars in a scrambled row order; the
    table's folder and its rows as read back."""
    source = tmp_path / "shuffled.parquet"
    table = bars(100, 2000)
    pq.write_table(table.take(pa.array(sorted(range(table.num_rows), key=lambda i: (i * 7919) % table.num_rows))),
                   source)
    run_finlake(new_lake, "import", f"gold.{name}", source, "--create", check=True)
    return new_lake / "gold" / name, finlake_read(new_lake, f"SELECT * FROM gold.{name}", tmp_path / "before")


def test_zorder_narrows_file_ranges_and_reads_back_everywhere(new_lake, tmp_path):
    table_dir, before = import_shuffled(new_lake, tmp_path, "z")
    proc = run_finlake(new_lake, "optimize", "gold.z", "--zorder", "symbol,d", "--target-size", "16KB", check=True)
    assert "Z-ordered" in proc.stdout, proc.stdout
    dt = deltalake.DeltaTable(str(table_dir))
    adds = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
    assert len(adds) >= 12, proc.stdout

    def selected(symbol, lo, hi):
        return sum(1 for a in adds if a["min.symbol"] <= symbol <= a["max.symbol"]
                   and str(a["min.d"]) <= hi and str(a["max.d"]) >= lo)
    # One symbol over one month: a small share of the files after Z-order.
    shares = [selected(s, "2022-03-01", "2022-03-31") / len(adds) for s in ("S005", "S050", "S099")]
    print("zorder: files", len(adds), "shares", shares)
    assert max(shares) <= 0.35, (shares, len(adds))  # Unordered files: 1.0.
    ours = finlake_read(new_lake, "SELECT * FROM gold.z", tmp_path / "after")
    assert_same_rows(ours, before, "Z-order keeps every row")
    assert_same_rows(ours, dt.to_pyarrow_table(), "delta-rs after ZORDER")
    assert_same_rows(ours, duckdb_delta_scan(table_dir), "DuckDB delta extension after ZORDER")
    assert_error(run_finlake(new_lake, "optimize", "gold.z", "--zorder", "nope"), "zorder column 'nope'")


def test_sort_by_writes_files_in_key_order_and_reads_back_everywhere(new_lake, tmp_path):
    table_dir, before = import_shuffled(new_lake, tmp_path, "s")
    proc = run_finlake(new_lake, "optimize", "gold.s", "--sort-by", "symbol,d", "--target-size", "16KB", check=True)
    assert ", sorted)" in proc.stdout, proc.stdout
    dt = deltalake.DeltaTable(str(table_dir))
    adds = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
    assert len(adds) >= 12, proc.stdout
    # Files follow one another in symbol order (a symbol may continue into the next).
    ranges = sorted((a["min.symbol"], a["max.symbol"]) for a in adds)
    for earlier, later in zip(ranges, ranges[1:]):
        assert earlier[1] <= later[0], (earlier, later)
    assert max(sum(1 for a in adds if a["min.symbol"] <= s <= a["max.symbol"]) for s in ("S005", "S050")) <= 2
    assert dt.history(1)[0]["operationParameters"]["sortBy"] == '["symbol","d"]'
    ours = finlake_read(new_lake, "SELECT * FROM gold.s", tmp_path / "after")
    assert_same_rows(ours, before, "sort-by keeps every row")
    assert_same_rows(ours, dt.to_pyarrow_table(), "delta-rs after sort-by")
    assert_error(run_finlake(new_lake, "optimize", "gold.s", "--sort-by", "nope"), "sort-by column 'nope'")
    both = run_finlake(new_lake, "optimize", "gold.s", "--sort-by", "d", "--zorder", "symbol")
    assert both.returncode != 0 and "--zorder excludes --sort-by" in both.stderr, both.stderr


@pytest.mark.parametrize("operation", ["merge", "optimize"])
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_writer_stopped_inside_merge_and_optimize(new_lake, tmp_path, operation, point):
    table_dir = make_table(new_lake, tmp_path)
    args = (["merge", TABLE, corrections(tmp_path), "--on", "symbol,d"] if operation == "merge"
            else ["optimize", TABLE])
    before_version = deltalake.DeltaTable(str(table_dir)).version()
    before = read_all(new_lake, tmp_path / "before")
    crashed = run_finlake(new_lake, *args, env={"FINLAKE_TEST_CRASH_AT": point})
    assert crashed.returncode == 86, crashed.stderr
    version = deltalake.DeltaTable(str(table_dir)).version()
    assert version == before_version + (1 if point in COMMITTED else 0)
    now = read_all(new_lake, tmp_path / "now")
    if point not in COMMITTED:
        assert_same_rows(now, before, f"{operation} stopped at {point}: the last version")
    assert_same_rows(now, deltalake.DeltaTable(str(table_dir)).to_pyarrow_table(), f"delta-rs after {point}")
    # The next writer goes on; the outcome is the operation's, once.
    run_finlake(new_lake, *args, check=True)
    final = read_all(new_lake, tmp_path / "final")
    expected_rows = 1002 if operation == "merge" else 1000
    assert final.num_rows == expected_rows
    assert_same_rows(final, deltalake.DeltaTable(str(table_dir)).to_pyarrow_table(), "delta-rs after the retry")
