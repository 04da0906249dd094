"""Peer for the scan benchmark (W4): DuckDB 1.4.4 running one query on a Delta table's files.

    python bench/peer_scan.py glob|delta PATH REPEAT SQL [--explain]

`glob` reads PATH/*.parquet with read_parquet (no Delta log); `delta` reads the
table at PATH with the delta extension's delta_scan (the `duckdb-ext-delta` wheel's
delta.duckdb_extension, loaded from site-packages: nothing is downloaded). SQL
names the source as {t}. A fresh in-memory database (all cores, TimeZone UTC, no
progress bar) runs it REPEAT times and prints one JSON line: {"times": seconds of
each execution, "first_process_s": from the start of this script (before `import
duckdb`) to the end of the first execution, "rows": the first result, "files_read",
"files_total": from EXPLAIN ANALYZE with --explain (untimed, after the runs)}.
"""

import glob
import json
import os
import re
import sys
import time

T_START = time.perf_counter()
import duckdb  # noqa: E402  (import time is part of first_process_s)


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def delta_extension():
    site = os.path.dirname(os.path.dirname(os.path.abspath(duckdb.__file__)))
    found = glob.glob(os.path.join(site, "duckdb_ext", "extensions", f"v{duckdb.__version__}", "*",
                                   "delta.duckdb_extension"))
    if not found:
        raise RuntimeError(f"no delta.duckdb_extension for DuckDB {duckdb.__version__} under {site}/duckdb_ext "
                           "(pip install 'duckdb-ext-delta==1.4.4.*')")
    return found[0]


def plain(value):
    return value if value is None or isinstance(value, (int, float, str)) else str(value)


def main():
    mode, path, repeat, sql = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET enable_progress_bar=false")
    if mode == "delta":
        con.execute(f"LOAD {quote(delta_extension())}")
        source = f"delta_scan({quote(path)})"
    else:
        source = f"read_parquet({quote(os.path.join(path, '*.parquet'))})"
    sql = sql.replace("{t}", source)
    times, rows, first_process_s = [], None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = con.execute(sql).fetchall()
        times.append(time.perf_counter() - t0)
        if rows is None:
            first_process_s = time.perf_counter() - T_START
            rows = [[plain(v) for v in row] for row in result]
    files_read = files_total = None
    if "--explain" in sys.argv[5:]:
        plan = con.execute("EXPLAIN ANALYZE " + sql).fetchall()[0][1]
        m = re.search(r"Scanning Files: (\d+)/(\d+)", plan)  # delta_scan: files left after skipping
        if m:
            files_read, files_total = int(m.group(1)), int(m.group(2))
        else:
            m = re.search(r"Total Files Read: (\d+)", plan)
            files_read = int(m.group(1)) if m else None
    print(json.dumps({"times": times, "first_process_s": first_process_s, "rows": rows, "files_read": files_read,
                      "files_total": files_total, "duckdb": duckdb.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
