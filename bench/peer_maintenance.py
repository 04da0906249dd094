"""Peers for the table-maintenance benchmarks (bench/maintenance_bench.py), one
operation per fresh Python process; each prints one JSON line with the seconds of
the operation alone (timed in-process) and what it did. maintenance_bench.py times
the whole process from the outside as well.

    python bench/peer_maintenance.py duckdb-compact FILES.json OUT_DIR FILE_SIZE_BYTES
    python bench/peer_maintenance.py deltalake-compact TABLE_DIR TARGET_BYTES
    python bench/peer_maintenance.py deltalake-zorder TABLE_DIR COL1,COL2 TARGET_BYTES
    python bench/peer_maintenance.py deltalake-merge TABLE_DIR SOURCE.parquet KEY1,KEY2 [--no-streamed]

duckdb-compact: DuckDB (in memory, all cores, TimeZone UTC) runs
  COPY (SELECT * FROM read_parquet([FILES])) TO OUT_DIR
       (FORMAT parquet, COMPRESSION zstd, FILE_SIZE_BYTES n)
deltalake-*: delta-rs (the deltalake package) on the Delta table, writing zstd
  (level 3, DuckDB's default level) so that file sizes compare with finlake's.
  deltalake-merge runs with merge()'s default streamed_exec=True, which (its
  docstring says) disables deriving a file-pruning predicate from the source's
  stats; --no-streamed passes streamed_exec=False, which keeps that pruning.
"""

import json
import os
import sys
import time

T_START = time.perf_counter()


def parquet_stats(path):
    total, files = 0, 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            if name.endswith(".parquet"):
                total += os.path.getsize(os.path.join(root, name))
                files += 1
    return total, files


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def duckdb_compact(files_json, out_dir, file_size):
    import duckdb
    imported = time.perf_counter()
    with open(files_json) as f:
        files = json.load(f)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET enable_progress_bar=false")
    listing = "[" + ", ".join(quote(p) for p in files) + "]"
    sql = (f"COPY (SELECT * FROM read_parquet({listing})) TO {quote(out_dir)} "
           f"(FORMAT parquet, COMPRESSION zstd, FILE_SIZE_BYTES {int(file_size)})")
    t0 = time.perf_counter()
    rows = con.execute(sql).fetchone()[0]
    seconds = time.perf_counter() - t0
    con.close()
    size, count = parquet_stats(out_dir)
    return {"seconds": seconds, "rows": rows, "bytes": size, "files": count, "input_files": len(files),
            "import_s": imported - T_START, "duckdb": duckdb.__version__}


def writer_properties():
    from deltalake import WriterProperties
    return WriterProperties(compression="ZSTD", compression_level=3)


def deltalake_optimize(table_dir, target_bytes, zorder=None):
    import deltalake
    imported = time.perf_counter()
    t0 = time.perf_counter()
    dt = deltalake.DeltaTable(table_dir)
    if zorder:
        metrics = dt.optimize.z_order(zorder, target_size=int(target_bytes), writer_properties=writer_properties())
    else:
        metrics = dt.optimize.compact(target_size=int(target_bytes), writer_properties=writer_properties())
    seconds = time.perf_counter() - t0
    for key in ("filesAdded", "filesRemoved"):  # delta-rs gives these as JSON text
        if isinstance(metrics.get(key), str):
            metrics[key] = json.loads(metrics[key])
    return {"seconds": seconds, "metrics": metrics, "import_s": imported - T_START,
            "deltalake": deltalake.__version__}


def deltalake_merge(table_dir, source, keys, streamed=True):
    import deltalake
    import pyarrow.parquet as pq
    imported = time.perf_counter()
    source_table = pq.read_table(source)
    predicate = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    t0 = time.perf_counter()
    dt = deltalake.DeltaTable(table_dir)
    opened = time.perf_counter()
    metrics = (dt.merge(source=source_table, predicate=predicate, source_alias="s", target_alias="t",
                        writer_properties=writer_properties(), streamed_exec=streamed)
               .when_matched_update_all().when_not_matched_insert_all().execute())
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "open_s": opened - t0, "metrics": metrics, "predicate": predicate,
            "streamed_exec": streamed,
            "source_rows": source_table.num_rows, "import_s": imported - T_START,
            "deltalake": deltalake.__version__}


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    op, args = argv[1], argv[2:]
    try:
        if op == "duckdb-compact" and len(args) == 3:
            result = duckdb_compact(args[0], args[1], args[2])
        elif op == "deltalake-compact" and len(args) == 2:
            result = deltalake_optimize(args[0], args[1])
        elif op == "deltalake-zorder" and len(args) == 3:
            result = deltalake_optimize(args[0], args[2], zorder=args[1].split(","))
        elif op == "deltalake-merge" and len(args) in (3, 4) and args[3:] in ([], ["--no-streamed"]):
            result = deltalake_merge(args[0], args[1], args[2].split(","), streamed=not args[3:])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Exception as error:  # noqa: BLE001 - reported to the harness as JSON
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 1
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
