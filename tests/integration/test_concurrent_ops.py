"""Pairs of write operations racing from two processes (issue 4).

The loser is a finlake process held just before its commit
(FINLAKE_TEST_PAUSE_BEFORE_COMMIT) while the winner commits, so every pair
really races: the loser has read a version that is no longer the latest when
it commits. Each outcome is checked three ways:

- the loser either committed (after the winner) or failed with exit status 3
  and the conflict class the protocol prescribes;
- no update is lost: the table holds exactly what running the winner and then
  the committed loser one after the other on a fresh table gives;
- delta-rs reads what finlake reads.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import deltalake
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import assert_same_rows, finlake_binary, finlake_read, run_finlake

TABLE = "bronze.bars"
EXIT_CONFLICT = 3

# The rows of the two setup imports. Import 1 puts A and B in one us file and C in
# an eu file; import 2 adds one more file to each region, so OPTIMIZE has work.
SETUP = [
    [("A", "2024-01-02", 1.0, "us"), ("B", "2024-01-02", 2.0, "us"), ("C", "2024-01-02", 3.0, "eu")],
    [("D", "2024-01-02", 4.0, "us"), ("E", "2024-01-02", 5.0, "eu")],
]


def bars_file(path: Path, rows, extra=None) -> Path:
    columns = {
        "symbol": [r[0] for r in rows],
        "d": pa.array([r[1] for r in rows]).cast(pa.string()).cast(pa.date32()),
        "close": [r[2] for r in rows],
        "region": [r[3] for r in rows],
    }
    columns.update(extra or {})
    pq.write_table(pa.table(columns), path)
    return path


def operations(data: Path) -> dict[str, list[str]]:
    """Each operation as finlake arguments."""
    data.mkdir(exist_ok=True)
    return {
        "append": ["import", TABLE, bars_file(data / "append.parquet", [("N", "2024-01-03", 9.0, "us")])],
        "append_b": ["import", TABLE, bars_file(data / "append_b.parquet", [("B", "2024-01-03", 9.5, "us")])],
        "append_a": ["import", TABLE, bars_file(data / "append_a.parquet", [("A", "2024-01-02", 9.9, "us")])],
        "overwrite": ["import", TABLE, bars_file(data / "overwrite.parquet", [("O", "2024-01-04", 7.0, "eu")]),
                      "--mode", "overwrite"],
        "merge": ["merge", TABLE, bars_file(data / "merge.parquet", [("A", "2024-01-02", 10.0, "us"),
                                                                     ("M", "2024-01-02", 11.0, "eu")]),
                  "--on", "symbol,d"],
        "delete": ["delete", TABLE, "--where", "symbol = 'B'"],
        "optimize": ["optimize", TABLE],
        "metadata": ["import", TABLE, bars_file(data / "metadata.parquet", [("W", "2024-01-05", 8.0, "eu")],
                                                {"note": ["new column"]}), "--add-columns"],
        "txn": ["import", TABLE, bars_file(data / "txn.parquet", [("T", "2024-01-06", 6.0, "us")]),
                "--txn-app-id", "loader", "--txn-version", "1"],
    }


def setup_table(lake: Path, data: Path) -> None:
    run_finlake(lake, "init", check=True)
    run_finlake(lake, "create-table", TABLE, "--schema", "symbol VARCHAR, d DATE, close DOUBLE, region VARCHAR",
                "--partition-by", "region", check=True)
    for n, rows in enumerate(SETUP):
        run_finlake(lake, "import", TABLE, bars_file(data / f"setup{n}.parquet", rows), check=True)


def latest_version(lake: Path) -> int:
    return deltalake.DeltaTable(str(lake / "bronze" / "bars")).version()


def race(lake: Path, loser: list[str], winner: list[str], pause: Path) -> tuple[subprocess.CompletedProcess,
                                                                                   subprocess.CompletedProcess]:
    """Starts the loser, waits until it is ready to commit, runs the winner to the
    end, then lets the loser go on."""
    pause.mkdir()
    full_env = dict(os.environ, FINLAKE_TEST_PAUSE_BEFORE_COMMIT=str(pause))
    full_env.pop("FINLAKE_LAKE", None)
    proc = subprocess.Popen([str(finlake_binary()), "--lake", str(lake), *map(str, loser)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)
    deadline = time.monotonic() + 120
    while not (pause / "ready").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            out, err = proc.communicate()
            pytest.fail(f"loser {loser} ended or stalled before its commit: {proc.returncode} {out} {err}")
        time.sleep(0.01)
    won = run_finlake(lake, *winner, check=True)
    (pause / "go").touch()
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), won


# (loser, winner) -> the conflict class the loser must fail with, or None when it
# commits after the winner. Appends and schema changes read no rows; OPTIMIZE
# reads only the files it compacts; MERGE and DELETE read the files holding their
# keys or matches; a full overwrite reads everything.
OPS = ["append", "overwrite", "merge", "delete", "optimize", "metadata"]
EXPECTED = {
    "append": {w: None for w in OPS} | {"metadata": "metadata changed"},
    "overwrite": {"append": "concurrent append", "overwrite": "concurrent delete-delete",
                  "merge": "concurrent delete-delete", "delete": "concurrent delete-delete",
                  "optimize": "concurrent delete-delete", "metadata": "metadata changed"},
    "merge": {"append": None, "overwrite": "concurrent delete-delete", "merge": "concurrent delete-delete",
              "delete": "concurrent delete-delete", "optimize": "concurrent delete-delete",
              "metadata": "metadata changed"},
    "delete": {"append": None, "overwrite": "concurrent delete-delete", "merge": "concurrent delete-delete",
               "delete": "concurrent delete-delete", "optimize": "concurrent delete-delete",
               "metadata": "metadata changed"},
    "optimize": {"append": None, "overwrite": "concurrent delete-delete", "merge": "concurrent delete-delete",
                 "delete": "concurrent delete-delete", "optimize": "concurrent delete-delete",
                 "metadata": "metadata changed"},
    "metadata": {w: None for w in OPS} | {"metadata": "metadata changed"},
}
PAIRS = [(loser, winner, EXPECTED[loser][winner]) for loser in OPS for winner in OPS]
# Rows appended where the loser read, and the idempotent-writer case.
PAIRS += [("delete", "append_b", "concurrent append"), ("merge", "append_a", "concurrent append"),
          ("txn", "txn", "concurrent transaction")]


@pytest.mark.parametrize("loser,winner,expected", PAIRS, ids=[f"{l}-vs-{w}" for l, w, _ in PAIRS])
def test_two_writers_race(tmp_path, finlake_bin, loser, winner, expected):
    data = tmp_path / "data"
    ops = operations(data)
    lake = tmp_path / "lake"
    setup_table(lake, data)
    base = latest_version(lake)

    lost, won = race(lake, ops[loser], ops[winner], tmp_path / "pause")
    assert latest_version(lake) >= base + 1
    if expected is None:
        assert lost.returncode == 0, f"{loser} after {winner} should commit: {lost.stderr}"
        # The winner took base+1 although the loser read base first: a real race.
        assert latest_version(lake) == base + 2
        history = deltalake.DeltaTable(str(lake / "bronze" / "bars")).history(1)[0]
        assert history["readVersion"] == base + 1, history
    else:
        assert lost.returncode == EXIT_CONFLICT, f"{loser} after {winner}: {lost.returncode} {lost.stderr}"
        assert f"conflict ({expected})" in lost.stderr, lost.stderr
        assert latest_version(lake) == base + 1

    # No lost update: the same operations one after the other on a fresh table.
    serial = tmp_path / "serial"
    setup_table(serial, data)
    run_finlake(serial, *ops[winner], check=True)
    if expected is None:
        run_finlake(serial, *ops[loser], check=True)
    ours = finlake_read(lake, f"SELECT * FROM {TABLE}", tmp_path / "ours")
    assert_same_rows(ours, finlake_read(serial, f"SELECT * FROM {TABLE}", tmp_path / "serial_rows"),
                     f"{loser} racing {winner} versus the serial order")
    assert_same_rows(ours, deltalake.DeltaTable(str(lake / "bronze" / "bars")).to_pyarrow_table(),
                     f"delta-rs after {loser} racing {winner}")


def test_delta_rs_winner_against_paused_finlake(tmp_path, finlake_bin):
    """delta-rs commits while finlake waits: its appends and deletes meet the same
    conflict rules as finlake's own."""
    data = tmp_path / "data"
    ops = operations(data)
    lake = tmp_path / "lake"
    setup_table(lake, data)
    table_dir = lake / "bronze" / "bars"

    def delta_rs_append(rows):
        return lambda: deltalake.write_deltalake(
            str(table_dir), pa.table({"symbol": [r[0] for r in rows],
                                      "d": pa.array([r[1] for r in rows]).cast(pa.date32()),
                                      "close": [r[2] for r in rows], "region": [r[3] for r in rows]}),
            mode="append")

    cases = [
        # finlake DELETE of B; delta-rs appends an unrelated row: both commit.
        (ops["delete"], delta_rs_append([("Q", "2024-01-07", 1.5, "eu")]), None),
        # finlake DELETE of D; delta-rs appends another D row: the delete would miss it.
        (["delete", TABLE, "--where", "symbol = 'D'"], delta_rs_append([("D", "2024-01-07", 2.5, "us")]),
         "concurrent append"),
        # finlake MERGE of A; delta-rs deletes A first: the file the merge rewrites is gone.
        (ops["merge"], lambda: deltalake.DeltaTable(str(table_dir)).delete("symbol = 'A'"),
         "concurrent delete-delete"),
        # finlake OPTIMIZE; delta-rs appends: compaction does not read new files.
        (ops["optimize"], delta_rs_append([("R", "2024-01-07", 3.5, "us")]), None),
    ]
    for n, (loser, winner, expected) in enumerate(cases):
        pause = tmp_path / f"pause{n}"
        pause.mkdir()
        env = dict(os.environ, FINLAKE_TEST_PAUSE_BEFORE_COMMIT=str(pause))
        proc = subprocess.Popen([str(finlake_binary()), "--lake", str(lake), *map(str, loser)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 120
        while not (pause / "ready").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.01)
        before = latest_version(lake)
        winner()
        assert latest_version(lake) == before + 1
        (pause / "go").touch()
        out, err = proc.communicate(timeout=120)
        if expected is None:
            assert proc.returncode == 0, err
            assert latest_version(lake) == before + 2
        else:
            assert proc.returncode == EXIT_CONFLICT and f"conflict ({expected})" in err, err
            assert latest_version(lake) == before + 1
        assert_same_rows(finlake_read(lake, f"SELECT * FROM {TABLE}", tmp_path / f"ours{n}"),
                         deltalake.DeltaTable(str(table_dir)).to_pyarrow_table(), f"case {n}")


def test_delta_rs_loser_against_finlake_winner(tmp_path, finlake_bin):
    """delta-rs holds an old snapshot while finlake commits: delta-rs's own conflict
    checker sees finlake's commits for what they are."""
    data = tmp_path / "data"
    ops = operations(data)
    lake = tmp_path / "lake"
    setup_table(lake, data)
    table_dir = str(lake / "bronze" / "bars")
    # A compaction (dataChange=false) does not stop a delta-rs append.
    stale = deltalake.DeltaTable(table_dir)
    run_finlake(lake, *ops["optimize"], check=True)
    deltalake.write_deltalake(stale, pa.table({"symbol": ["Z"], "d": pa.array(["2024-01-08"]).cast(pa.date32()),
                                               "close": [0.5], "region": ["us"]}), mode="append")
    # A finlake DELETE of B rewrote the file a stale delta-rs DELETE of B needs.
    stale = deltalake.DeltaTable(table_dir)
    run_finlake(lake, *ops["delete"], check=True)
    with pytest.raises(Exception) as failure:
        stale.delete("symbol = 'B'")
    assert "conflict" in str(failure.value).lower() or "concurrent" in str(failure.value).lower(), failure.value
    ours = finlake_read(lake, f"SELECT * FROM {TABLE}", tmp_path / "ours")
    assert sorted(ours.column("symbol").to_pylist()) == ["A", "C", "D", "E", "Z"]
    assert_same_rows(ours, deltalake.DeltaTable(table_dir).to_pyarrow_table(), "delta-rs")
