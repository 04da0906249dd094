"""Peer for the log-replay benchmark: delta-rs (PyPI `deltalake`) opening a table.

    python bench/peer_deltalake_load.py DIR REPEAT

Times `DeltaTable(DIR)` plus listing its live files (`file_uris()`, so the log,
and any checkpoint, is really replayed) REPEAT times in one process and prints
one JSON line with the median, min, max and first milliseconds, the number of
live files and the version. A table deltalake cannot open prints
{"error": ...} and exits 1 (an interop failure: finlake wrote the log).
"""

import json
import statistics
import sys
import time

import deltalake


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    table_dir, repeat = sys.argv[1], int(sys.argv[2])
    times = []
    files = version = None
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            table = deltalake.DeltaTable(table_dir)
            uris = table.file_uris() if hasattr(table, "file_uris") else table.files()
            times.append((time.perf_counter() - t0) * 1000.0)
            files, version = len(uris), table.version()
    except Exception as error:  # noqa: BLE001 - any failure is reported, by type and message
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 1
    print(json.dumps({
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "first_ms": times[0],
        "times_ms": times,
        "files": files,
        "version": version,
        "deltalake": deltalake.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
