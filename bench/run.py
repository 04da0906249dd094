#!/usr/bin/env python3
"""finlake benchmarks, each run side by side with its peer (see bench/README.md).

    .venv/bin/python bench/run.py [--size smoke|full] [--only append|log|ingest|optimize|merge|zorder|indicators|pipeline|scan|sql] [--repeats N]

1. append: `finlake import` of daily bars from a Parquet file into a Delta table
   (whole process, rows/s) against DuckDB 1.4.4 `COPY ... TO parquet` of the same
   rows; plus the table partitioned by region against COPY ... PARTITION_BY.
2. log: DeltaLog::Load() of a table with N commits, with and without checkpoints,
   against deltalake (delta-rs) opening the same table and listing its files.
3. ingest: `finlake ingest yahoo` against the local generator (no peer).
4. optimize, merge, zorder (bench/maintenance_bench.py): compaction of 10,000 small
   files against DuckDB COPY (and delta-rs compact); a 1,000-row MERGE into 50M rows
   against delta-rs merge; Z-order against delta-rs z_order, with the share of files
   one symbol and one month may touch before and after.
5. indicators (bench/indicators_bench.py, W7): SMA/EMA/RSI/MACD/BBANDS kernels
   (finlake_bench_indicators) against TA-Lib (peer_indicators.py), 1 thread, and
   the many-symbol set on 1 and 2 threads.
6. pipeline (bench/pipeline_bench.py, issue 5): `finlake models run` on a cached
   bronze history (full), after one more session (incremental) and with
   --full-rebuild; daily and 1-minute bars. No peer: absolute figures.
7. scan (bench/scan_bench.py, W4): full-scan aggregates and selective queries
   (symbol = X, 1-hour windows) over a Z-ordered Delta table with `finlake sql`,
   files scanned of the table's, against DuckDB read_parquet over the table's
   files (a glob) and delta_scan, and finlake with the file pruning defeated.
8. sql (bench/sql_bench.py, W3): time-series queries (1-min OHLCV, latest per
   symbol, VWAP per symbol and day, a 1-hour range of one symbol, trades ASOF JOIN
   quotes) through `finlake sql` against raw DuckDB on the same Parquet files,
   ClickHouse 18.16 and PostgreSQL 15; hot and cold.

Prints a table (finlake, peer, ratio) and writes bench/out/results.json. Exits 1
when any run failed (a command's exit status, a wrong row or file count, an
interop failure); slow ratios never fail the run.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

import gen_bars  # noqa: E402
import indicators_bench  # noqa: E402
import maintenance_bench  # noqa: E402
import pipeline_bench  # noqa: E402
import scan_bench  # noqa: E402
import sql_bench  # noqa: E402

SIZES = {
    "smoke": {"rows": 200_000, "commits": 300, "log_repeat": 10, "ingest_symbols": 20, "ingest_years": 2,
              # Maintenance (bench/maintenance_bench.py): the full shapes scaled down.
              "optimize_rows": 200_000, "optimize_files": 300, "merge_rows": 500_000, "merge_source_rows": 1_000,
              "zorder_rows": 500_000, "zorder_target_bytes": 128 << 10, "zorder_peer_timeout": 300,
              "table_file_bytes": 1_500_000, "table_row_group": 4_096, "maintenance_repeats": 1,
              "settle_s": 0.1,
              # Indicators (bench/indicators_bench.py): a 200k-bar series, 100 symbols x 2,000 bars.
              "indicator_bars": 200_000, "indicator_symbols": 100, "indicator_symbol_bars": 2_000,
              "indicator_runs": 3, "indicator_multi_runs": 1,
              # Pipeline (bench/pipeline_bench.py): bronze built once per scenario and cached.
              "pipeline": [{"name": "daily", "symbols": 5, "interval": "1d", "start": "2024-10-01",
                            "end": "2024-12-31"},
                           {"name": "minute", "symbols": 2, "interval": "1m", "start": "2024-12-23",
                            "end": "2024-12-31"}],
              "pipeline_repeats": 1,
              # Scans (bench/scan_bench.py, W4): ticks Z-ordered by (symbol, ts), several selective queries.
              "scan_rows": 200_000, "scan_symbols": 200, "scan_target_bytes": 64 << 10, "scan_params": 2,
              "scan_hot": 3, "scan_repeats": 1,
              # Time-series SQL (bench/sql_bench.py, W3): quotes and trades generated once and cached.
              "sql_quotes": 200_000, "sql_trades": 10_000, "sql_symbols": 50, "sql_hot_runs": 3,
              "sql_process_runs": 1, "sql_pg_hot_runs": 1, "sql_peer_timeout": 30},
    "full": {"rows": 10_000_000, "commits": 10_000, "log_repeat": 5, "ingest_symbols": 500, "ingest_years": 10,
             "optimize_rows": 10_000_000, "optimize_files": 10_000, "merge_rows": 50_000_000,
             "merge_source_rows": 1_000, "zorder_rows": 50_000_000, "zorder_target_bytes": 4 << 20,
             "zorder_peer_timeout": 3600, "table_file_bytes": 128 << 20, "table_row_group": 122_880,
             "maintenance_repeats": 3,
             "indicator_bars": 10_000_000, "indicator_symbols": 5_000, "indicator_symbol_bars": 2_000,
             "indicator_runs": 5, "indicator_multi_runs": 3,
             "pipeline": [{"name": "daily", "symbols": 500, "interval": "1d", "start": "2015-01-02",
                           "end": "2024-12-31"},
                          {"name": "minute", "symbols": 100, "interval": "1m", "start": "2024-01-02",
                           "end": "2024-12-31"}],
             "pipeline_repeats": 3,
             "scan_rows": 100_000_000, "scan_symbols": 5_000, "scan_target_bytes": 5 << 20, "scan_params": 5,
             "scan_hot": 5, "scan_repeats": 3,
             "sql_quotes": 20_000_000, "sql_trades": 1_000_000, "sql_symbols": 500, "sql_hot_runs": 5,
             "sql_process_runs": 3, "sql_pg_hot_runs": 1, "sql_peer_timeout": 300},
}

MAINTENANCE = ("optimize", "merge", "zorder")  # bench/maintenance_bench.py

TABLE = "bench.bars_1d"


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------- helpers

def log(message):
    print(message, file=sys.stderr, flush=True)


def run(cmd, what, timeout=1800, env=None):
    """Runs cmd; returns (wall seconds, stdout, CPU seconds (user + sys) of the child).
    Raises BenchError on failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"{what}: timed out after {timeout} s: {' '.join(cmd)}") from error
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise BenchError(f"{what}: exit status {proc.returncode}: {' '.join(cmd)}\n"
                         f"{proc.stderr.strip() or proc.stdout.strip()}")
    return wall, proc.stdout, cpu


def last_json(text, what):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise BenchError(f"{what}: no JSON in output: {text.strip()[:500]}")


def parquet_bytes(path, exclude_dir="_delta_log"):
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    files = 0
    for root, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if d != exclude_dir]
        for name in names:
            if name.endswith(".parquet"):
                total += os.path.getsize(os.path.join(root, name))
                files += 1
    return total


def count_parquet_files(path):
    if os.path.isfile(path):
        return 1
    n = 0
    for root, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if d != "_delta_log"]
        n += sum(1 for name in names if name.endswith(".parquet"))
    return n


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def settle():
    """Flushes dirty pages so one run's write-back does not land in the next run's timing."""
    os.sync()
    time.sleep(0.5)


def median(values):
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a and b else None


# --------------------------------------------------------------------------- binaries

def find_finlake():
    path = os.environ.get("FINLAKE_BIN", os.path.join(ROOT, "build", "finlake"))
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise BenchError(f"finlake binary not found at {path} (set FINLAKE_BIN or run `make build`)")
    return path


def find_bench_log(finlake_bin):
    """The log benchmark program: $FINLAKE_BENCH_LOG, else beside the finlake binary's
    build tree, else built there with cmake."""
    explicit = os.environ.get("FINLAKE_BENCH_LOG")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise BenchError(f"FINLAKE_BENCH_LOG={explicit} is not an executable")
        return os.path.abspath(explicit)
    build_dirs = []
    for candidate in (os.path.dirname(finlake_bin), os.path.join(ROOT, "build")):
        candidate = os.path.abspath(candidate)
        if candidate not in build_dirs:
            build_dirs.append(candidate)

    def look():
        for build_dir in build_dirs:
            for rel in ("bench/finlake_bench_log", "finlake_bench_log"):
                path = os.path.join(build_dir, rel)
                if os.access(path, os.X_OK):
                    return path
        return None

    found = look()
    if found:
        return found
    for build_dir in build_dirs:
        if os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            log(f"building finlake_bench_log in {build_dir}")
            run(["cmake", "--build", build_dir, "--target", "finlake_bench_log"], "building finlake_bench_log")
            found = look()
            if found:
                return found
    raise BenchError("finlake_bench_log not found and could not be built; run "
                     "`cmake --build build --target finlake_bench_log`")


# --------------------------------------------------------------------------- append

def ensure_source(work, rows):
    path = os.path.join(work, f"bars_{rows}.parquet")
    if os.path.exists(path):
        try:
            if gen_bars.row_count(path) == rows:
                return path
        except Exception:  # noqa: BLE001 - a damaged cached file is regenerated
            pass
    log(f"generating {rows:,} daily bars into {path}")
    t0 = time.perf_counter()
    gen_bars.generate(rows, path)
    log(f"  generated in {time.perf_counter() - t0:.1f} s ({os.path.getsize(path):,} bytes)")
    return path


def finlake_append_once(finlake, work, source, rows, partition_by):
    lake = os.path.join(work, "lake")
    remove(lake)
    run([finlake, "--lake", lake, "init"], "finlake init")
    run([finlake, "--lake", lake, "create-namespace", "bench"], "finlake create-namespace")
    create = [finlake, "--lake", lake, "create-table", TABLE, "--schema", gen_bars.SCHEMA]
    if partition_by:
        create += ["--partition-by", partition_by]
    run(create, "finlake create-table")
    settle()
    wall, out, cpu = run([finlake, "--lake", lake, "import", TABLE, source], "finlake import")
    expected = f"imported {rows} rows"
    if expected not in out:
        raise BenchError(f"finlake import: expected '{expected}', got: {out.strip()}")
    table_dir = os.path.join(lake, "bench", "bars_1d")
    return {"seconds": wall, "cpu_seconds": cpu, "bytes": parquet_bytes(table_dir), "files": count_parquet_files(table_dir),
            "lake": lake}


def finlake_check_count(finlake, lake, rows):
    _, out, _ = run([finlake, "--lake", lake, "sql", f"SELECT count(*) AS n FROM {TABLE}", "--format", "csv"],
                 "finlake sql count")
    if str(rows) not in out.split():
        raise BenchError(f"finlake table holds the wrong number of rows (expected {rows}): {out.strip()}")


def duckdb_copy_once(work, source, rows, partition_by):
    out_path = os.path.join(work, "duckdb_out" if partition_by else "duckdb_out.parquet")
    remove(out_path)
    settle()
    cmd = [sys.executable, os.path.join(BENCH_DIR, "peer_duckdb_copy.py"), source, out_path]
    if partition_by:
        cmd += ["--partition-by", partition_by]
    wall, out, cpu = run(cmd, "duckdb COPY peer")
    result = last_json(out, "duckdb COPY peer")
    if result["rows"] != rows:
        raise BenchError(f"duckdb COPY wrote {result['rows']} rows, expected {rows}")
    return {"process_seconds": wall, "process_cpu_seconds": cpu, "copy_seconds": result["copy_s"], "bytes": result["bytes"],
            "files": count_parquet_files(out_path), "import_seconds": result["import_s"]}


def bench_append(finlake, work, rows, repeats, partition_by):
    name = "append_partitioned" if partition_by else "append"
    source = ensure_source(work, rows)
    ours, peers = [], []
    for i in range(repeats):
        # Interleaved, so drift on a shared machine hits both sides alike.
        ours.append(finlake_append_once(finlake, work, source, rows, partition_by))
        peers.append(duckdb_copy_once(work, source, rows, partition_by))
        log(f"  {name} run {i + 1}/{repeats}: finlake {ours[-1]['seconds']:.2f} s ({ours[-1]['cpu_seconds']:.2f} s CPU), "
            f"duckdb COPY {peers[-1]['copy_seconds']:.2f} s in-process / {peers[-1]['process_seconds']:.2f} s process")
    finlake_check_count(finlake, ours[-1]["lake"], rows)
    f_s = median([r["seconds"] for r in ours])
    p_copy = median([r["copy_seconds"] for r in peers])
    p_proc = median([r["process_seconds"] for r in peers])
    f_bytes, p_bytes = ours[-1]["bytes"], peers[-1]["bytes"]
    return {
        "name": name,
        "rows": rows,
        "partition_by": partition_by,
        "source_bytes": os.path.getsize(source),
        "finlake": {"seconds_median": f_s, "rows_per_s": rows / f_s, "bytes": f_bytes,
                    "files": ours[-1]["files"], "seconds": [r["seconds"] for r in ours],
                    "cpu_seconds_median": median([r["cpu_seconds"] for r in ours]),
                    "cpu_seconds": [r["cpu_seconds"] for r in ours],
                    "what": "wall time of the `finlake import` process"},
        "duckdb": {"copy_seconds_median": p_copy, "rows_per_s": rows / p_copy,
                   "process_seconds_median": p_proc, "process_rows_per_s": rows / p_proc,
                   "bytes": p_bytes, "files": peers[-1]["files"],
                   "copy_seconds": [r["copy_seconds"] for r in peers],
                   "process_seconds": [r["process_seconds"] for r in peers],
                   "process_cpu_seconds_median": median([r["process_cpu_seconds"] for r in peers]),
                   "process_cpu_seconds": [r["process_cpu_seconds"] for r in peers],
                   "python_import_seconds": [r["import_seconds"] for r in peers],
                   "what": "COPY statement alone (in-process) and the whole python process"},
        "ratio_vs_inprocess": ratio(rows / f_s, rows / p_copy),
        "ratio_vs_process": ratio(rows / f_s, rows / p_proc),
        "bytes_ratio": ratio(f_bytes, p_bytes),
        # CPU seconds (user + sys) of the whole processes: steadier than wall time on a
        # shared machine. > 1: finlake used less CPU for the same rows.
        "cpu_ratio_vs_process": ratio(median([r["process_cpu_seconds"] for r in peers]),
                                      median([r["cpu_seconds"] for r in ours])),
    }


# --------------------------------------------------------------------------- log replay

def build_logs(bench_log, work, commits, reuse):
    """Creates both log-only tables, concurrently (the work is mostly fsync waits).
    With `reuse`, a complete table left by an earlier --keep run is used as it is."""
    dirs = {"checkpoints": os.path.join(work, f"log_{commits}_checkpoints"),
            "no_checkpoints": os.path.join(work, f"log_{commits}_no_checkpoints")}
    procs, created = {}, {}
    for variant, path in dirs.items():
        marker = os.path.join(path, "create.json")
        if reuse and os.path.exists(marker):
            with open(marker) as f:
                created[variant] = dict(json.load(f), reused=True)
            continue
        remove(path)
        flag = "--checkpoints" if variant == "checkpoints" else "--no-checkpoints"
        procs[variant] = subprocess.Popen([bench_log, "create", path, str(commits), flag],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors = []
    for variant, proc in procs.items():
        out, err = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            errors.append(f"finlake_bench_log create ({variant}): exit status {proc.returncode}: {err.strip()}")
        else:
            created[variant] = last_json(out, f"finlake_bench_log create ({variant})")
            with open(os.path.join(dirs[variant], "create.json"), "w") as f:
                json.dump(created[variant], f)
    if errors:
        raise BenchError("\n".join(errors))
    return dirs, created


def bench_log(bench_log_bin, work, commits, repeat, reuse):
    log(f"building two log-only tables of {commits:,} commits (with and without checkpoints)")
    dirs, created = build_logs(bench_log_bin, work, commits, reuse)
    for variant, info in created.items():
        log(f"  {variant}: {info['seconds']:.1f} s ({info['commits_per_s']:.0f} commits/s)"
            + (", reused" if info.get("reused") else ""))
    settle()
    results, failures = [], []
    for variant, path in dirs.items():
        _, out, _ = run([bench_log_bin, "load", path, str(repeat)], f"finlake_bench_log load ({variant})")
        ours = last_json(out, "finlake_bench_log load")
        if ours["files"] != commits - 1 or ours["version"] != commits - 1:
            raise BenchError(f"finlake load ({variant}): {ours['files']} files at version {ours['version']}, "
                             f"expected {commits - 1} and {commits - 1}")
        _, out, _ = run([bench_log_bin, "breakdown", path, str(repeat)], f"finlake_bench_log breakdown ({variant})")
        breakdown = last_json(out, "finlake_bench_log breakdown")
        peer_cmd = [sys.executable, os.path.join(BENCH_DIR, "peer_deltalake_load.py"), path, str(repeat)]
        proc = subprocess.run(peer_cmd, capture_output=True, text=True, timeout=1800)
        peer, peer_error = None, None
        try:
            peer = last_json(proc.stdout, "deltalake peer")
        except BenchError as error:
            peer_error = f"{error}; stderr: {proc.stderr.strip()[-1000:]}"
        if peer is not None and "error" in peer:
            peer_error, peer = peer["error"], None
        if peer is None and not peer_error:
            peer_error = f"exit status {proc.returncode}"
        if peer is not None and (peer["files"] != commits - 1 or peer["version"] != commits - 1):
            peer_error = (f"deltalake read {peer['files']} files at version {peer['version']}, "
                          f"expected {commits - 1} at {commits - 1}")
        if peer_error:
            failures.append(f"interop: deltalake cannot read the {variant} table finlake wrote: {peer_error}")
        log(f"  {variant}: finlake {ours['median_ms']:.1f} ms, "
            f"deltalake {peer['median_ms']:.1f} ms" if peer else f"  {variant}: deltalake FAILED: {peer_error}")
        results.append({
            "name": f"log_replay_{variant}",
            "commits": commits,
            "repeat": repeat,
            "create": created[variant],
            "finlake": ours,
            "finlake_breakdown": breakdown,
            "deltalake": peer,
            "deltalake_error": peer_error,
            # > 1: finlake loads faster.
            "speed_ratio": ratio(peer["median_ms"], ours["median_ms"]) if peer else None,
        })
    return results, failures


# --------------------------------------------------------------------------- report

def fmt_rate(v):
    return f"{v / 1e6:.2f}M rows/s" if v else "-"


def fmt_ms(v):
    return f"{v:.1f} ms" if v is not None else "-"


def fmt_ratio(v):
    return f"{v:.2f}x" if v else "-"


def fmt_mb(v):
    return f"{v / 1e6:.1f} MB" if v else "-"


def print_table(results):
    rows = [("benchmark", "finlake", "peer", "ratio", "peer is")]
    for r in results.get("append", []):
        label = "append" + (f" (partitioned by {r['partition_by']})" if r["partition_by"] else "")
        label += f", {r['rows']:,} rows"
        f, d = r["finlake"], r["duckdb"]
        rows.append((label, fmt_rate(f["rows_per_s"]), fmt_rate(d["rows_per_s"]), fmt_ratio(r["ratio_vs_inprocess"]),
                     "duckdb COPY, in-process"))
        rows.append(("  same, peer as a process", "", fmt_rate(d["process_rows_per_s"]),
                     fmt_ratio(r["ratio_vs_process"]), "python -c duckdb COPY"))
        rows.append(("  CPU seconds, whole process", f"{f['cpu_seconds_median']:.2f} s",
                     f"{d['process_cpu_seconds_median']:.2f} s", fmt_ratio(r["cpu_ratio_vs_process"]),
                     "python -c duckdb COPY (user+sys)"))
        rows.append(("  Parquet bytes written", fmt_mb(f["bytes"]), fmt_mb(d["bytes"]), fmt_ratio(r["bytes_ratio"]),
                     f"{f['files']} vs {d['files']} files"))
    rows += maintenance_bench.table_rows(results)
    rows += indicators_bench.table_rows(results)
    rows += pipeline_bench.table_rows(results)
    rows += scan_bench.table_rows(results)
    rows += sql_bench.table_rows(results)
    for r in results.get("log", []):
        peer = r["deltalake"]
        rows.append((f"{r['name'].replace('_', ' ')}, {r['commits']:,} commits", fmt_ms(r["finlake"]["median_ms"]),
                     fmt_ms(peer["median_ms"]) if peer else "FAILED", fmt_ratio(r["speed_ratio"]),
                     "deltalake DeltaTable()+file_uris()"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print("ratio: finlake speed / peer speed (> 1: finlake faster; for CPU seconds, peer / finlake);\n"
          "       for bytes, finlake / peer. Figures are medians; wall times are noisy on a shared machine.")


def versions():
    info = {}
    try:
        import duckdb
        info["duckdb_python"] = duckdb.__version__
    except ImportError:
        pass
    try:
        import deltalake
        info["deltalake"] = deltalake.__version__
    except ImportError:
        pass
    return info


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--only", help="run one benchmark",
                        choices=["append", "log", "ingest", *MAINTENANCE, "indicators", "pipeline", "scan", "sql"])
    parser.add_argument("--repeats", type=int,
                        help="runs per side (median): append 3; optimize, merge, indicators, pipeline and scan 3 at "
                             "full size, 1 at smoke; zorder 1; sql: hot runs after the cold one, 5 at full "
                             "size, 3 at smoke")
    parser.add_argument("--log-repeat", type=int, help="Load() repeats for the log benchmark (median)")
    parser.add_argument("--out", default=os.path.join(BENCH_DIR, "out"), help="results and scratch directory")
    parser.add_argument("--keep", action="store_true", help="keep the scratch tables and lakes")
    parser.add_argument("--reuse-logs", action="store_true",
                        help="reuse the log-only tables an earlier --keep run left (skips building them)")
    parser.add_argument("--sql-sort-by-size", metavar="SIZE|TABLE=SIZE,...",
                        help="sql: after the import, `finlake optimize --sort-by symbol,ts --target-size SIZE` on "
                             "both tables, or on the tables named (quotes=2MB); every engine reading files reads the "
                             "sorted ones; default: as imported")
    parser.add_argument("--sql-parquet-version", choices=["v1", "v2"],
                        help="sql: create both tables with the property finlake.parquet.version (default: v1, "
                             "the table default)")
    args = parser.parse_args()

    size = dict(SIZES[args.size], sql_sort_target=args.sql_sort_by_size, sql_parquet_version=args.sql_parquet_version)
    maintenance_repeats = {"optimize": args.repeats or size["maintenance_repeats"],
                           "merge": args.repeats or size["maintenance_repeats"],
                           "zorder": args.repeats or 1}  # Z-order at full size takes minutes per side.
    other_repeats = {"indicators": args.repeats or size["maintenance_repeats"],
                     "pipeline": args.repeats or size["pipeline_repeats"],
                     "scan": args.repeats or size["scan_repeats"],
                     "sql": args.repeats or size["sql_hot_runs"]}
    args.repeats = args.repeats or 3
    out_dir = os.path.abspath(args.out)
    work = os.path.join(out_dir, "work", args.size)
    os.makedirs(work, exist_ok=True)
    started = time.perf_counter()
    results = {
        "size": args.size,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "platform": platform.platform()},
        "versions": versions(),
        "failures": [],
    }
    try:
        finlake = find_finlake()
        results["finlake_bin"] = finlake
        if args.only in (None, "append"):
            results["append"] = []
            for partition_by in (None, "region"):
                log(f"append benchmark{' (partitioned by ' + partition_by + ')' if partition_by else ''}, "
                    f"{size['rows']:,} rows, {args.repeats} runs per side")
                results["append"].append(bench_append(finlake, work, size["rows"], args.repeats, partition_by))
        if args.only in (None, "log"):
            bench_log_bin = find_bench_log(finlake)
            results["bench_log_bin"] = bench_log_bin
            log_results, failures = bench_log(bench_log_bin, work, size["commits"],
                                              args.log_repeat or size["log_repeat"], args.reuse_logs)
            results["log"] = log_results
            results["failures"] += failures
        if args.only in (None, "ingest"):
            import ingest_bench  # bench/ingest_bench.py: no peer, absolute figures.
            log(f"ingest benchmark, {size['ingest_symbols']} symbols x {size['ingest_years']} years")
            try:
                results["ingest"] = ingest_bench.run(finlake, work, size["ingest_symbols"], size["ingest_years"])
                r = results["ingest"]
                log(f"  {r['wall_s']:.2f} s, {r['requests_per_s']:.0f} requests/s, {r['bars_per_s']:,.0f} bars/s, "
                    f"ingest CPU {r['ingest_cpu_s']:.2f} s vs server CPU {r['server_cpu_s']:.2f} s")
            except Exception as error:  # A failed run is reported, never hidden.
                results["failures"].append(f"ingest: {error}")
        for name in MAINTENANCE:
            if args.only not in (None, name):
                continue
            log(f"{name} benchmark")
            repeats = maintenance_repeats[name]
            try:
                results[name], failures = maintenance_bench.RUNNERS[name](finlake, work, size, repeats)
                results["failures"] += [f"{name}: {f}" if not f.startswith(name) else f for f in failures]
            except Exception as error:  # A failed run is reported, never hidden.
                results["failures"].append(f"{name}: {type(error).__name__}: {error}")
        for name, runner in (("indicators", indicators_bench.run_indicators),
                             ("pipeline", pipeline_bench.run_pipeline),
                             ("scan", scan_bench.run_scan),
                             ("sql", sql_bench.run_sql)):
            if args.only not in (None, name):
                continue
            log(f"{name} benchmark, {other_repeats[name]} run(s)")
            started_at = time.perf_counter()
            load_before = os.getloadavg()
            try:
                results[name], failures = runner(finlake, work, size, other_repeats[name])
                if results[name] is not None:
                    results[name]["seconds"] = time.perf_counter() - started_at
                    # Another job on a 2-core machine takes the second thread's core.
                    results[name]["loadavg_before_after"] = [load_before, os.getloadavg()]
                results["failures"] += failures
            except Exception as error:  # A failed run is reported, never hidden.
                results["failures"].append(f"{name}: {type(error).__name__}: {error}")
            log(f"  {name}: {time.perf_counter() - started_at:.1f} s")
    except BenchError as error:
        results["failures"].append(str(error))
    results["seconds"] = time.perf_counter() - started

    os.makedirs(out_dir, exist_ok=True)
    results_path = os.path.join(out_dir, "results.json")
    with open(results_path, "w") as f:
        json.dump(results, f, indent=2)
    if not args.keep:
        for name in os.listdir(work):
            if not name.startswith("bars_"):  # The generated source is kept for the next run.
                remove(os.path.join(work, name))

    print(f"\nfinlake benchmarks, size {args.size} ({results['machine']['cpus']} CPUs, {results['machine']['cpu']}); "
          f"{results['seconds']:.0f} s")
    print_table(results)
    print(f"results: {results_path}")
    if results["failures"]:
        print("\nFAILED:", file=sys.stderr)
        for failure in results["failures"]:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
