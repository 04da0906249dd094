"""Table maintenance through the CLI, read back by the other engines: after a
DELETE, delta-rs and DuckDB's delta extension read exactly what finlake reads."""
from __future__ import annotations

import re

import deltalake
import pyarrow as pa
import pyarrow.parquet as pq

from conftest import assert_same_rows, duckdb_delta_scan, finlake_read, run_finlake


def test_delete_is_read_identically_by_delta_rs_and_duckdb(new_lake, tmp_path):
    source = tmp_path / "bars.parquet"
    pq.write_table(pa.table({"symbol": [f"S{i % 5}" for i in range(200)],
                             "region": ["us" if i % 2 else "eu" for i in range(200)],
                             "close": [float(i) for i in range(200)]}), source)
    run_finlake(new_lake, "import", "silver.bars", source, "--create", "--partition-by", "region", check=True)
    proc = run_finlake(new_lake, "delete", "silver.bars", "--where", "symbol = 'S3' OR close > 190", check=True)
    assert "deleted 47 rows" in proc.stdout, proc.stdout  # 40 S3 rows + 7 more above 190.
    table_dir = new_lake / "silver" / "bars"
    ours = finlake_read(new_lake, "SELECT * FROM silver.bars", tmp_path / "ours")
    assert ours.num_rows == 153
    assert_same_rows(ours, deltalake.DeltaTable(str(table_dir)).to_pyarrow_table(), "delta-rs after DELETE")
    assert_same_rows(ours, duckdb_delta_scan(table_dir), "DuckDB delta extension after DELETE")
    proc = run_finlake(new_lake, "delete", "silver.bars", "--where", "symbol = 'nope'", check=True)
    assert "nothing matched" in proc.stdout
    proc = run_finlake(new_lake, "delete", "silver.bars", "--where", "no_such = 1", check=False)
    assert proc.returncode == 1 and "no_such" in proc.stderr


def test_restore_brings_back_an_old_version(new_lake, tmp_path):
    source = tmp_path / "v.parquet"
    pq.write_table(pa.table({"id": list(range(10))}), source)
    run_finlake(new_lake, "import", "bronze.ids", source, "--create", check=True)  # v1
    run_finlake(new_lake, "delete", "bronze.ids", "--where", "id < 5", check=True)  # v2
    run_finlake(new_lake, "import", "bronze.ids", source, check=True)  # v3
    proc = run_finlake(new_lake, "restore", "bronze.ids", "--version", "1", check=True)
    assert "as version 4" in proc.stdout, proc.stdout
    at_v1 = finlake_read(new_lake, "SELECT * FROM bronze.ids AT (VERSION => 1)", tmp_path / "v1")
    now = finlake_read(new_lake, "SELECT * FROM bronze.ids", tmp_path / "now")
    assert_same_rows(now, at_v1, "restored = version 1")
    table_dir = new_lake / "bronze" / "ids"
    assert_same_rows(now, deltalake.DeltaTable(str(table_dir)).to_pyarrow_table(), "delta-rs after RESTORE")
    assert_same_rows(now, duckdb_delta_scan(table_dir), "DuckDB delta extension after RESTORE")
    proc = run_finlake(new_lake, "restore", "bronze.ids", "--version", "9", check=False)
    assert proc.returncode == 1 and "version" in proc.stderr
    # By time: the version that was latest then (version 2, after the delete).
    history = deltalake.DeltaTable(str(table_dir)).history()
    v2_time = next(h["timestamp"] for h in history if h["version"] == 2)
    import datetime
    at = datetime.datetime.fromtimestamp(v2_time / 1000, datetime.timezone.utc).isoformat()
    proc = run_finlake(new_lake, "restore", "bronze.ids", "--timestamp", at, check=True)
    assert "to version 2 as version 5" in proc.stdout, proc.stdout
    assert_same_rows(finlake_read(new_lake, "SELECT * FROM bronze.ids", tmp_path / "ts"),
                     finlake_read(new_lake, "SELECT * FROM bronze.ids AT (VERSION => 2)", tmp_path / "v2"),
                     "restored by timestamp")
    # Delta's own spellings read the same versions.
    assert_same_rows(finlake_read(new_lake, "SELECT * FROM bronze.ids VERSION AS OF 2", tmp_path / "spark_v2"),
                     finlake_read(new_lake, "SELECT * FROM bronze.ids AT (VERSION => 2)", tmp_path / "duck_v2"),
                     "VERSION AS OF")
    assert_same_rows(finlake_read(new_lake, f"SELECT * FROM bronze.ids TIMESTAMP AS OF '{at}' i", tmp_path / "spark_ts"),
                     finlake_read(new_lake, "SELECT * FROM bronze.ids AT (VERSION => 2)", tmp_path / "duck_v2b"),
                     "TIMESTAMP AS OF")
    proc = run_finlake(new_lake, "restore", "bronze.ids", "--timestamp", "2001-01-01", check=False)
    assert "no version at or before" in proc.stderr and "earliest commit" in proc.stderr, proc.stderr
    assert "not a timestamp" in run_finlake(new_lake, "restore", "bronze.ids", "--timestamp", "soon",
                                            check=False).stderr


def test_vacuum_keeps_what_versions_need_and_what_writers_stage(new_lake, tmp_path):
    import os
    import time
    source = tmp_path / "v.parquet"
    pq.write_table(pa.table({"id": list(range(10)), "region": ["us"] * 10}), source)
    run_finlake(new_lake, "import", "bronze.v", source, "--create", "--partition-by", "region", check=True)
    run_finlake(new_lake, "import", "bronze.v", source, "--mode", "overwrite", check=True)
    table_dir = new_lake / "bronze" / "v"
    data = sorted(p for p in table_dir.rglob("*.parquet") if "_delta_log" not in p.parts)
    assert len(data) == 2
    hours_ago = time.time() - 3 * 3600
    for path in data:
        os.utime(path, (hours_ago, hours_ago))
    staged = table_dir / "region=us" / "part-staged-by-a-writer.parquet"  # Written just now, not committed.
    staged.write_bytes(b"PAR1")
    proc = run_finlake(new_lake, "vacuum", "bronze.v", check=True)
    assert "vacuum: 0 files" in proc.stdout  # The tombstone is inside the 7-day retention.
    proc = run_finlake(new_lake, "vacuum", "bronze.v", "--retention-hours", "0", check=False)
    assert proc.returncode == 1 and "--force" in proc.stderr
    proc = run_finlake(new_lake, "vacuum", "bronze.v", "--retention-hours", "0", "--force", "--dry-run", check=True)
    assert "would delete" in proc.stdout and all(p.exists() for p in data)
    proc = run_finlake(new_lake, "vacuum", "bronze.v", "--retention-hours", "0", "--force", check=True)
    assert "vacuum: 1 files" in proc.stdout, proc.stdout
    assert staged.exists()  # A writer's uncommitted file survives.
    assert finlake_read(new_lake, "SELECT * FROM bronze.v", tmp_path / "now").num_rows == 10
    old = run_finlake(new_lake, "sql", "SELECT * FROM bronze.v AT (VERSION => 1)", check=False)
    assert old.returncode == 1 and "part-" in old.stderr  # The vacuumed version names its missing file.
    old = run_finlake(new_lake, "sql", "SELECT * FROM bronze.v VERSION AS OF 1", check=False)
    assert old.returncode == 1 and "part-" in old.stderr
    assert_same_rows(finlake_read(new_lake, "SELECT * FROM bronze.v", tmp_path / "again"),
                     deltalake.DeltaTable(str(table_dir)).to_pyarrow_table(), "delta-rs after VACUUM")
    assert_same_rows(finlake_read(new_lake, "SELECT * FROM bronze.v", tmp_path / "duck"),
                     duckdb_delta_scan(table_dir), "DuckDB delta extension after VACUUM")


def test_optimize_compacts_small_files_without_changing_data(new_lake, tmp_path):
    for i in range(6):
        source = tmp_path / f"b{i}.parquet"
        pq.write_table(pa.table({"id": [i * 10 + k for k in range(10)], "region": ["us" if i % 2 else "eu"] * 10}),
                       source)
        args = ["import", "bronze.small", source] + (["--create", "--partition-by", "region"] if i == 0 else [])
        run_finlake(new_lake, *args, check=True)
    before = finlake_read(new_lake, "SELECT * FROM bronze.small", tmp_path / "before")
    proc = run_finlake(new_lake, "optimize", "bronze.small", "--where", "region = 'us'", check=True)
    assert re.search(r"optimize: 3 files \(\d+ bytes\) rewritten into 1 ", proc.stdout), proc.stdout
    proc = run_finlake(new_lake, "optimize", "bronze.small", check=True)
    assert re.search(r"optimize: 3 files \(\d+ bytes\) rewritten into 1 ", proc.stdout), proc.stdout  # Now eu.
    assert "already compact" in run_finlake(new_lake, "optimize", "bronze.small", check=True).stdout
    table_dir = new_lake / "bronze" / "small"
    assert_same_rows(finlake_read(new_lake, "SELECT * FROM bronze.small", tmp_path / "after"), before, "optimize")
    dt = deltalake.DeltaTable(str(table_dir))
    assert len(dt.file_uris()) == 2
    assert_same_rows(dt.to_pyarrow_table(), before, "delta-rs after OPTIMIZE")
    assert_same_rows(duckdb_delta_scan(table_dir), before, "DuckDB delta extension after OPTIMIZE")
    log = sorted((table_dir / "_delta_log").glob("*.json"))[-1].read_text()
    assert '"dataChange":false' in log and '"operation":"OPTIMIZE"' in log
