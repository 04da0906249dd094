"""`finlake ingest files`: files dropped in an inbox land once and move to
processed/ or failed/ (with the reason), also when the writer is killed halfway."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import run_finlake


def count(lake, table="bronze.orders"):
    out = run_finlake(lake, "sql", "--format", "csv", f"SELECT count(*) AS n FROM {table}", check=True).stdout
    return int(out.split()[1])


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.csv").write_text("order_id,amount\n1,10.5\n2,20.25\n")
    (folder / "b.jsonl").write_text('{"order_id": 3, "amount": 7.0}\n')
    pq.write_table(pa.table({"order_id": [4, 5], "amount": [1.0, 2.0]}), folder / "c.parquet")
    (folder / "d.csv.part").write_text("order_id,amount\n9,9\n")  # Still being written: left alone.
    return folder


def test_files_land_once_and_move(new_lake, inbox):
    proc = run_finlake(new_lake, "ingest", "files", "--inbox", inbox, "--table", "bronze.orders", "--create", check=True)
    assert "3 landed, 0 failed" in proc.stdout, proc.stdout
    assert count(new_lake) == 5
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["a.csv", "b.jsonl", "c.parquet"]
    assert (inbox / "d.csv.part").exists()
    # The same file dropped again is a new file by name but the same content: not landed twice.
    (inbox / "processed" / "a.csv").rename(inbox / "a-again.csv")
    proc = run_finlake(new_lake, "ingest", "files", "--inbox", inbox, "--table", "bronze.orders", check=True)
    assert "already_landed  a-again.csv" in proc.stdout, proc.stdout
    assert count(new_lake) == 5


def test_a_bad_file_goes_to_failed_with_its_reason(new_lake, inbox):
    (inbox / "e.csv").write_text("order_id,amount\nseven,1.0\n")
    proc = run_finlake(new_lake, "ingest", "files", "--inbox", inbox, "--table", "bronze.orders", "--create", check=False)
    assert proc.returncode == 1
    assert "3 landed, 1 failed" in proc.stdout, proc.stdout
    reason = (inbox / "failed" / "e.csv.reason.txt").read_text()
    assert "seven" in reason or "order_id" in reason, reason
    assert count(new_lake) == 5


@pytest.mark.parametrize("point", ["staged_log_written", "log_linked", "directory_synced"])
def test_killed_halfway_loses_nothing_and_doubles_nothing(new_lake, tmp_path, point):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.csv").write_text("order_id,amount\n1,10.5\n2,20.25\n")
    run_finlake(new_lake, "create-table", "bronze.orders", "--schema", "order_id BIGINT, amount DOUBLE", check=True)
    crashed = run_finlake(new_lake, "ingest", "files", "--inbox", folder, "--table", "bronze.orders",
                          env={"FINLAKE_TEST_CRASH_AT": point})
    assert crashed.returncode == 86, crashed.stderr
    assert (folder / "a.csv").exists()  # Not moved yet: nothing lost.
    proc = run_finlake(new_lake, "ingest", "files", "--inbox", folder, "--table", "bronze.orders", check=True)
    assert count(new_lake) == 2  # Landed exactly once.
    expected = "landed  a.csv" if point == "staged_log_written" else "already_landed  a.csv"
    assert expected in proc.stdout, proc.stdout
    assert (folder / "processed" / "a.csv").exists()


def test_inboxes_from_the_lake_config(new_lake, inbox):
    (new_lake / "finlake.yaml").write_text(
        f"sources:\n  files:\n    - {{inbox: {inbox}, table: bronze.orders, create: true}}\n")
    proc = run_finlake(new_lake, "ingest", "files", check=True)
    assert "3 landed, 0 failed" in proc.stdout, proc.stdout
    assert count(new_lake) == 5
