"""Peer for the append benchmark: DuckDB 1.4.4 (Python) copying a Parquet file.

    python bench/peer_duckdb_copy.py SOURCE OUT [--partition-by COLUMN]

Runs `COPY (SELECT * FROM read_parquet(SOURCE)) TO OUT (FORMAT parquet,
COMPRESSION zstd[, PARTITION_BY (COLUMN)])` once in a fresh in-memory database
(all cores, TimeZone UTC, as finlake's engine) and prints one JSON line:
{"copy_s": seconds of the COPY statement alone, "connect_s": ..., "rows": ...,
"bytes": Parquet bytes written}. bench/run.py times the whole process from the
outside as well, so both the in-process and the process figure come from one run.
"""

import argparse
import json
import os
import sys
import time

T_START = time.perf_counter()
import duckdb  # noqa: E402  (import time is part of the process figure, not copy_s)


def parquet_bytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            if name.endswith(".parquet"):
                total += os.path.getsize(os.path.join(root, name))
    return total


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument("--partition-by")
    args = parser.parse_args()

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET enable_progress_bar=false")
    connect_s = time.perf_counter() - t0

    options = "FORMAT parquet, COMPRESSION zstd"
    if args.partition_by:
        options += f", PARTITION_BY ({args.partition_by})"
    sql = f"COPY (SELECT * FROM read_parquet({quote(args.source)})) TO {quote(args.out)} ({options})"
    t0 = time.perf_counter()
    rows = con.execute(sql).fetchone()[0]
    copy_s = time.perf_counter() - t0
    con.close()
    print(json.dumps({
        "copy_s": copy_s,
        "connect_s": connect_s,
        "import_s": t0 - T_START - connect_s,
        "rows": rows,
        "bytes": parquet_bytes(args.out),
        "duckdb": duckdb.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
