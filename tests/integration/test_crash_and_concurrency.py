"""Faults a writer process meets for real: being stopped mid-commit, and racing
another process for the same versions (docs/commit_protocol.md)."""
import os
import pathlib
import subprocess
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("FINLAKE_BIN", str(REPO / "build" / "finlake"))

CRASH_POINTS = [
    "data_file_written",
    "staged_log_written",
    "log_linked",
    "directory_synced",
    "checkpoint_written",
    "last_checkpoint_written",
]


def finlake(lake, *args, env=None, check=True):
    run_env = dict(os.environ)
    run_env.update(env or {})
    result = subprocess.run([BIN, "--lake", str(lake), *args], capture_output=True, text=True, env=run_env)
    if check:
        assert result.returncode == 0, f"finlake {' '.join(args)} failed: {result.stderr}"
    return result


def batch_file(directory, first_id, rows=1):
    path = pathlib.Path(directory) / f"batch-{first_id}.parquet"
    pq.write_table(pa.table({"id": list(range(first_id, first_id + rows)),
                             "writer": [f"w{first_id % 2}"] * rows}), path)
    return path


def ids(lake, table="user_t.events"):
    out = finlake(lake, "sql", "--format", "csv", f"SELECT id FROM {table} ORDER BY id").stdout.split()
    return [int(x) for x in out[1:]]


def version(lake, table="user_t.events"):
    history = finlake(lake, "history", table, "--limit", "1").stdout.splitlines()
    return int(history[1].split("\t")[0])


@pytest.fixture
def lake(tmp_path):
    lake = tmp_path / "lake"
    finlake(lake, "init")
    finlake(lake, "create-namespace", "user_t")
    finlake(lake, "create-table", "user_t.events", "--schema", "id BIGINT, writer VARCHAR")
    return lake


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_writer_stopped_at_each_crash_point(lake, tmp_path, point):
    """A writer killed at any step of a commit leaves the table readable at its last
    version, and the next writer succeeds. Version 10 is the checkpoint commit."""
    for i in range(1, 10):
        finlake(lake, "import", "user_t.events", str(batch_file(tmp_path, i)))
    assert version(lake) == 9
    crashed = finlake(lake, "import", "user_t.events", str(batch_file(tmp_path, 10)),
                      env={"FINLAKE_TEST_CRASH_AT": point}, check=False)
    assert crashed.returncode == 86, crashed.stderr
    committed = point not in ("data_file_written", "staged_log_written")
    expected = list(range(1, 11)) if committed else list(range(1, 10))
    assert ids(lake) == expected
    assert version(lake) == (10 if committed else 9)
    finlake(lake, "import", "user_t.events", str(batch_file(tmp_path, 11)))
    assert ids(lake) == expected + [11]
    # A staged commit file left by the stopped writer is never read as a version.
    log = lake / "user_t" / "events" / "_delta_log"
    assert all(not n.endswith(".json") or n[:20].isdigit() for n in os.listdir(log))


def test_two_processes_append_fifty_commits_each(lake, tmp_path):
    """Two writers race for every version: each of the 100 commits lands once, no row
    is lost or doubled, and versions stay contiguous."""
    files = {w: [batch_file(tmp_path, 1000 * (w + 1) + i) for i in range(50)] for w in (0, 1)}
    errors = []

    def writer(w):
        for path in files[w]:
            result = finlake(lake, "import", "user_t.events", str(path), check=False)
            if result.returncode != 0:
                errors.append(result.stderr)

    threads = [threading.Thread(target=writer, args=(w,)) for w in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    expected = sorted(1000 * (w + 1) + i for w in (0, 1) for i in range(50))
    assert ids(lake) == expected
    assert version(lake) == 100
    log = lake / "user_t" / "events" / "_delta_log"
    versions = sorted(int(n[:20]) for n in os.listdir(log) if n.endswith(".json") and n[:20].isdigit())
    assert versions == list(range(101))
