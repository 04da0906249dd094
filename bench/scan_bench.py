"""Scans with file skipping (W4): full-scan aggregates and selective queries over a
Z-ordered Delta table, finlake against DuckDB on the same files.

    .venv/bin/python bench/run.py --only scan [--size smoke|full]

The table: ROWS random ticks (symbol, ts, price, size, exchange; full: 100M rows of
5,000 symbols over 20 days) generated once into WORK/bars_ticks_<rows>_<symbols>.parquet,
then each run `finlake import --create` and `finlake optimize --zorder symbol,ts
--target-size T` into a fresh lake; the files the OPTIMIZE removed are deleted, so
the table directory holds exactly the snapshot's files. The same file is also
imported as bench.ticks_raw and left as imported (random order): the layout before
the Z-order, for delta.io's "7.5x faster with Z-order and skipping" comparison; and
as bench.ticks_sorted, `optimize --sort-by symbol,ts`: the other layout (a symbol in
one or two files, an hour in all of them).

Queries: two full-scan aggregates; selective ones (one symbol; one symbol and a
1-hour window; a 1-hour window over all symbols), each for a few deterministic
symbols and windows. For each: finlake `sql --stats` (files scanned of the table's,
the result, the wall time of the process), the same query repeated in one process
(hot; `--timing` gives each statement's time when the binary has it), the same
again with the predicate hidden from finlake's file pruning (`WHERE (...) OR
false`: all files read), the same on bench.ticks_raw (3 hot repeats) and on
bench.ticks_sorted, and DuckDB
(peer_scan.py, a fresh process per run)
over `read_parquet('table/*.parquet')` and over the delta extension's `delta_scan`,
and the same glob through DuckDB's C API (bench/peer_capi.c on the libduckdb.so
finlake links: the python wheel is another build, 5-8% faster on scans here).
finlake's answer must equal DuckDB's on the glob; slow ratios never fail.
run.py calls run_scan; it returns (result, failures).
"""

import csv
import datetime
import io
import json
import os
import random
import re
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)

import capi_peer  # noqa: E402
import maintenance_bench as mb  # noqa: E402  (sh, duck, live_files, parse_optimize, ...)

TABLE = "bench.ticks"
RAW_TABLE = "bench.ticks_raw"  # The same rows as imported: no Z-order, the "before" of the layout.
SORTED_TABLE = "bench.ticks_sorted"  # The same rows, `optimize --sort-by symbol,ts`: the other layout.
PEER = os.path.join(BENCH_DIR, "peer_scan.py")
START = datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc)
SPAN_HOURS = 20 * 24
EXCHANGES = ["XNAS", "XNYS", "ARCX", "BATS", "IEXG"]

AGGREGATES = "count(*) AS n, sum(price * size) AS notional, min(price) AS lo, max(price) AS hi"
QUERIES = [  # (name, kind, SQL over {t} with {where})
    ("full: count, sum(price*size)", "full", "SELECT count(*) AS n, sum(price * size) AS notional FROM {t}"),
    ("full: avg by exchange", "full", "SELECT exchange, count(*) AS n, avg(price) AS avg_price, sum(size) AS volume "
                                      "FROM {t} GROUP BY exchange ORDER BY exchange"),
    ("symbol = X", "symbol", f"SELECT {AGGREGATES} FROM {{t}} WHERE {{where}}"),
    ("symbol = X, 1 hour", "symbol_hour", f"SELECT {AGGREGATES} FROM {{t}} WHERE {{where}}"),
    ("1 hour, all symbols", "hour", f"SELECT {AGGREGATES} FROM {{t}} WHERE {{where}}"),
]
TIMING_RE = re.compile(r"run time: ([0-9.]+) s(?: \(prepare ([0-9.]+) s)?")  # finlake sql --timing
STATS_RE = re.compile(r"(\d+)(?: of (\d+))? files scanned")  # Older binaries print no "of M".


def source_sql(rows, symbols):
    """Random ticks: every value a function of the row number through hash()."""
    names = ", ".join(mb.quote(e) for e in EXCHANGES)
    span_us = SPAN_HOURS * 3_600_000_000
    return f"""
    SELECT 'S' || lpad(s::VARCHAR, 4, '0') AS symbol,
           TIMESTAMPTZ '{START:%Y-%m-%d} 00:00:00+00' + to_microseconds((hash(i + 1) % {span_us})::BIGINT) AS ts,
           round((10 + hash(s) % 490) * (1 + ((hash(i + 2) % 2001)::BIGINT - 1000) / 20000.0), 2) AS price,
           (1 + hash(i + 3) % 1000)::INTEGER AS size,
           [{names}][(1 + hash(i + 4) % {len(EXCHANGES)})::BIGINT] AS exchange
    FROM (SELECT i, hash(i) % {symbols} AS s FROM range({rows}) t(i))"""


def ensure_source(work, rows, symbols):
    path = os.path.join(work, f"bars_ticks_{rows}_{symbols}.parquet")
    con = mb.duck(work)
    try:
        if os.path.exists(path):
            try:
                if con.execute(f"SELECT count(*) FROM read_parquet({mb.quote(path)})").fetchone()[0] == rows:
                    return path, None
            except Exception:  # noqa: BLE001 - a damaged cached file is regenerated
                pass
        mb.log(f"  generating {rows:,} ticks ({symbols:,} symbols) into {path}")
        t0 = time.perf_counter()
        con.execute(f"COPY ({source_sql(rows, symbols)}) TO {mb.quote(path + '.tmp')} "
                    "(FORMAT parquet, COMPRESSION zstd)")
        os.replace(path + ".tmp", path)
        return path, time.perf_counter() - t0
    finally:
        con.close()


def build_table(finlake, work, source, target):
    """A fresh lake with bench.ticks imported and Z-ordered; returns (lake, table dir, facts)."""
    lake = os.path.join(work, "scan_lake")
    mb.remove(lake)
    mb.sh([finlake, "--lake", lake, "init"], "finlake init")
    mb.sh([finlake, "--lake", lake, "create-namespace", "bench"], "finlake create-namespace")
    import_s, out, _, _ = mb.sh([finlake, "--lake", lake, "import", TABLE, source, "--create"], "finlake import")
    mb.sh([finlake, "--lake", lake, "import", RAW_TABLE, source, "--create"], "finlake import (unclustered copy)")
    raw_files = len(mb.live_files(os.path.join(lake, "bench", "ticks_raw")))
    mb.sh([finlake, "--lake", lake, "import", SORTED_TABLE, source, "--create"], "finlake import (sorted copy)")
    sort_s, _, _, _ = mb.sh([finlake, "--lake", lake, "optimize", SORTED_TABLE, "--sort-by", "symbol,ts",
                             "--target-size", mb.size_arg(target)], "finlake optimize --sort-by")
    sorted_files = len(mb.live_files(os.path.join(lake, "bench", "ticks_sorted")))
    zorder_s, out, _, zorder_cpu = mb.sh([finlake, "--lake", lake, "optimize", TABLE, "--zorder", "symbol,ts",
                                          "--target-size", mb.size_arg(target)], "finlake optimize --zorder")
    layout = mb.parse_optimize(out)
    table_dir = os.path.join(lake, "bench", "ticks")
    # `finlake vacuum` keeps files modified within the last hour (an uncommitted
    # writer's), so the files the OPTIMIZE removed are deleted here: the glob then
    # reads exactly the snapshot.
    live = mb.live_files(table_dir)
    removed = 0
    for name in os.listdir(table_dir):
        if name.endswith(".parquet") and name not in live:
            os.remove(os.path.join(table_dir, name))
            removed += 1
    on_disk = sum(1 for name in os.listdir(table_dir) if name.endswith(".parquet"))
    if not layout["zordered"] or len(live) != layout["files_added"] or on_disk != len(live):
        raise mb.MaintenanceError(f"scan table: optimize said {layout}, the log lists {len(live)} files, "
                                  f"{on_disk} on disk")
    sizes = sorted(live.values())
    os.sync()  # The tables just written are timed at rest, as the peers' files are.
    return lake, table_dir, {"import_seconds": import_s, "zorder_seconds": zorder_s, "zorder_cpu_seconds": zorder_cpu,
                             "files": len(live), "bytes": sum(sizes), "median_file_bytes": sizes[len(sizes) // 2],
                             "optimize_output": out.strip(), "pre_optimize_files_deleted": removed,
                             "unclustered_files": raw_files, "sorted_files": sorted_files, "sort_seconds": sort_s}


def parameters(kind, count, symbols, seed=4):
    """Deterministic (label, predicate) pairs for one kind of selective query."""
    rng = random.Random(f"{seed}-{kind}")
    out = []
    for _ in range(count):
        symbol = f"S{rng.randrange(symbols):04d}"
        hour = START + datetime.timedelta(hours=rng.randrange(SPAN_HOURS))
        window = (f"ts >= TIMESTAMPTZ '{hour:%Y-%m-%d %H}:00:00+00' AND "
                  f"ts < TIMESTAMPTZ '{hour + datetime.timedelta(hours=1):%Y-%m-%d %H}:00:00+00'")
        if kind == "symbol":
            out.append((symbol, f"symbol = '{symbol}'"))
        elif kind == "symbol_hour":
            out.append((f"{symbol} {hour:%m-%d %H}h", f"symbol = '{symbol}' AND {window}"))
        else:
            out.append((f"{hour:%m-%d %H}h", window))
    return out


def parse_csv(text):
    rows = list(csv.reader(io.StringIO(text.strip())))
    return rows[1:]  # The header is checked by the column count.


def same_rows(ours, theirs):
    """finlake's CSV cells against DuckDB's values: integers and strings exactly,
    doubles to 1e-9 (the engines may sum in another order)."""
    if len(ours) != len(theirs) or any(len(a) != len(b) for a, b in zip(ours, theirs)):
        return False
    for a_row, b_row in zip(ours, theirs):
        for a, b in zip(a_row, b_row):
            if b is None:
                if a not in ("", "NULL"):
                    return False
            elif isinstance(b, str):
                if a != b:
                    return False
            elif isinstance(b, int) and "." not in a and "e" not in a.lower():
                if int(a) != b:
                    return False
            elif abs(float(a) - b) > 1e-9 * max(1.0, abs(b)):
                return False
    return True


def finlake_query(finlake, lake, sql, hot, timing, table_files):
    """One fresh process running sql once (--stats), and one running it `hot` times."""
    flags = ["--timing"] if timing else []
    wall, out, err, _ = mb.sh([finlake, "--lake", lake, "sql", "--stats", "--format", "csv", *flags, sql],
                              "finlake sql")
    stats = STATS_RE.search(err)
    if not stats:
        raise mb.MaintenanceError(f"finlake sql --stats printed no files-scanned line: {err.strip()[:300]}")
    times = [float(t) for t, _ in TIMING_RE.findall(err)]
    hot_wall, _, hot_err, _ = mb.sh([finlake, "--lake", lake, "sql", "--format", "csv", *flags,
                                     "; ".join([sql] * hot)], "finlake sql (hot)")
    hot_times = TIMING_RE.findall(hot_err)
    prepare_s = None
    if timing and len(hot_times) == hot:
        hot_s, hot_source = mb.median([float(t) for t, _ in hot_times[1:]]), "--timing, statements 2..n"
        prepare_s = mb.median([float(p) for _, p in hot_times[1:] if p])  # Snapshot and pruning.
    else:  # Without --timing: what one more statement adds to a process.
        hot_s, hot_source = max(hot_wall - wall, 0.0) / (hot - 1), "(process of n - process of 1) / (n - 1)"
    return {"process_s": wall, "statement_s": times[0] if times else None, "hot_s": hot_s,
            "hot_prepare_s": prepare_s, "hot_source": hot_source, "files_scanned": int(stats.group(1)),
            "files_total": int(stats.group(2) or table_files), "rows": parse_csv(out)}


def duckdb_query(mode, table_dir, sql, hot, explain):
    args = [mode, table_dir, str(hot), sql] + (["--explain"] if explain else [])
    proc = subprocess.run([sys.executable, PEER, *args], capture_output=True, text=True, timeout=3600, cwd=mb.CWD)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"peer_scan.py {mode}: exit status {proc.returncode}: {proc.stderr.strip()[-800:]}"}
    r = json.loads(lines[-1])
    return dict(r, cold_s=r["times"][0], hot_s=mb.median(r["times"][1:]))


def run_scan(finlake, work, size, repeats):
    mb._configure(size, work)
    rows, symbols, hot = size["scan_rows"], size["scan_symbols"], size["scan_hot"]
    failures, peer_errors = [], []
    source, generated_s = ensure_source(work, rows, symbols)
    lake, table_dir, table = build_table(finlake, work, source, size["scan_target_bytes"])
    table.update(rows=rows, symbols=symbols, source_bytes=os.path.getsize(source), generated_seconds=generated_s,
                 target_size=mb.size_arg(size["scan_target_bytes"]))
    mb.log(f"  {rows:,} rows imported in {table['import_seconds']:.1f} s, Z-ordered in {table['zorder_seconds']:.1f} s "
           f"into {table['files']} files ({table['bytes'] / 1e6:.1f} MB)")
    _, help_text, _, _ = mb.sh([finlake, "sql", "--help"], "finlake sql --help")
    timing = "--timing" in help_text
    capi = capi_peer.build(work)
    mb.settle()
    instances = []  # One per (query, parameter).
    for name, kind, template in QUERIES:
        params = [("", "")] if kind == "full" else parameters(kind, size["scan_params"], symbols)
        for label, where in params:
            instances.append({"query": name, "kind": kind, "param": label,
                              "sql": template.format(t=TABLE, where=where),
                              "noskip_sql": template.format(t=TABLE, where=f"({where}) OR false") if where else None,
                              "unclustered_sql": template.format(t=RAW_TABLE, where=where) if where else None,
                              "sorted_sql": template.format(t=SORTED_TABLE, where=where) if where else None,
                              "peer_sql": template.format(t="{t}", where=where), "runs": []})
    for i in range(repeats):
        for inst in instances:  # The sides interleave, so drift hits them alike.
            run = {"finlake": finlake_query(finlake, lake, inst["sql"], hot, timing, table["files"])}
            if inst["noskip_sql"]:
                run["noskip"] = finlake_query(finlake, lake, inst["noskip_sql"], hot, timing,
                                              table["files"])
                # The same query on the rows as imported (whole-table row groups
                # of random symbols and times: nothing to skip); fewer repeats, as
                # each reads the whole table.
                run["unclustered"] = finlake_query(finlake, lake, inst["unclustered_sql"], min(hot, 3), timing,
                                                   table["unclustered_files"])
                run["sorted"] = finlake_query(finlake, lake, inst["sorted_sql"], hot, timing, table["sorted_files"])
            explain = inst["kind"] != "full" and i == 0
            if capi:
                glob_source = "read_parquet(" + mb.quote(os.path.join(table_dir, "*.parquet")) + ")"
                run["capi"] = capi_peer.run(capi, inst["peer_sql"].replace("{t}", glob_source), hot)
                if "error" in run["capi"]:
                    peer_errors.append(f"{inst['query']} {inst['param']}: {run['capi']['error']}")
            for mode, key in (("glob", "duckdb"), ("delta", "delta_scan")):
                run[key] = duckdb_query(mode, table_dir, inst["peer_sql"], hot, explain)
                if "error" in run[key]:
                    peer_errors.append(f"{inst['query']} {inst['param']}: {run[key]['error']}")
            inst["runs"].append(run)
        mb.log(f"  scan run {i + 1}/{repeats}: {len(instances)} queries")
    for inst in instances:
        check(inst, rows, failures, peer_errors)
    result = {"name": "scan", "table": table, "timing_flag": timing, "hot_repeats": hot, "runs": repeats,
              "instances": instances, "queries": [summarise(name, kind, [x for x in instances if x["query"] == name],
                                                            rows) for name, kind, _ in QUERIES],
              "peer_errors": peer_errors}
    return result, failures


def check(inst, rows, failures, peer_errors):
    """finlake's answer must be DuckDB's on the glob (with and without skipping);
    the unpruned query reads every file; the full count is the table's rows."""
    what = f"scan: {inst['query']} {inst['param']}".rstrip()
    duck = next((r["duckdb"] for r in inst["runs"] if "error" not in r["duckdb"]), None)
    for run in inst["runs"]:
        for side, how in (("finlake", ""), ("noskip", " without skipping"), ("unclustered", " unclustered"),
                          ("sorted", " on the sorted table")):
            r = run.get(side)
            if r and duck and not same_rows(r["rows"], duck["rows"]):
                failures.append(f"{what}: finlake{how} answered {r['rows']}, DuckDB on the glob {duck['rows']}")
        if run.get("noskip") and run["noskip"]["files_scanned"] != run["noskip"]["files_total"]:
            failures.append(f"{what}: the query without skipping read {run['noskip']['files_scanned']} of "
                            f"{run['noskip']['files_total']} files")
        c = run.get("capi")
        if duck and c and "error" not in c and not same_rows(c["rows"], duck["rows"]):
            peer_errors.append(f"{what}: the C API answered {c['rows']}, the python wheel {duck['rows']}")
        d = run["delta_scan"]
        if duck and "error" not in d and d["rows"] != duck["rows"] and not same_rows(
                [[str(v) for v in row] for row in d["rows"]], duck["rows"]):
            peer_errors.append(f"{what}: delta_scan answered {d['rows']}, read_parquet {duck['rows']}")
    if duck is None:
        failures.append(f"{what}: no DuckDB answer to check finlake's against")
    if inst["query"].startswith("full: count") and inst["runs"]:
        n = int(inst["runs"][0]["finlake"]["rows"][0][0])
        if n != rows:
            failures.append(f"{what}: finlake counts {n} rows, expected {rows}")


def summarise(name, kind, insts, rows):
    """Medians over runs per parameter, then over parameters."""
    def fig(side, key):
        per = [mb.median([r[side][key] for r in x["runs"] if side in r and "error" not in r[side]
                          and r[side].get(key) is not None]) for x in insts]
        return mb.median([v for v in per if v is not None])

    f_hot, f_proc = fig("finlake", "hot_s"), fig("finlake", "process_s")
    d_hot, d_proc = fig("duckdb", "hot_s"), fig("duckdb", "first_process_s")
    s = {"query": name, "kind": kind, "params": [x["param"] for x in insts], "sql": insts[0]["sql"],
         "files_scanned": fig("finlake", "files_scanned"), "files_total": fig("finlake", "files_total"),
         "result_rows": [x["runs"][0]["finlake"]["rows"] for x in insts],
         "finlake": {"hot_s": f_hot, "hot_prepare_s": fig("finlake", "hot_prepare_s"), "process_s": f_proc,
                     "statement_s": fig("finlake", "statement_s")},
         "duckdb": {"hot_s": d_hot, "cold_s": fig("duckdb", "cold_s"), "first_process_s": d_proc,
                    "files_read": fig("duckdb", "files_read")},
         "delta_scan": {"hot_s": fig("delta_scan", "hot_s"), "cold_s": fig("delta_scan", "cold_s"),
                        "first_process_s": fig("delta_scan", "first_process_s"),
                        "files_read": fig("delta_scan", "files_read")},
         # > 1: finlake faster.
         "ratio_hot_vs_duckdb": mb.ratio(d_hot, f_hot), "ratio_process_vs_duckdb": mb.ratio(d_proc, f_proc),
         "ratio_cold_vs_duckdb": mb.ratio(fig("duckdb", "cold_s"), fig("finlake", "statement_s")),
         "ratio_hot_vs_delta_scan": mb.ratio(fig("delta_scan", "hot_s"), f_hot),
         "capi": {"hot_s": fig("capi", "hot_s"), "cold_s": fig("capi", "cold_s")},
         "ratio_hot_vs_capi": mb.ratio(fig("capi", "hot_s"), f_hot),
         "ratio_process_vs_delta_scan": mb.ratio(fig("delta_scan", "first_process_s"), f_proc)}
    if s["files_scanned"] is not None and s["files_total"]:
        s["files_pct"] = 100 * s["files_scanned"] / s["files_total"]
    if kind == "full":
        s["finlake"]["rows_per_s"], s["duckdb"]["rows_per_s"] = mb.ratio(rows, f_hot), mb.ratio(rows, d_hot)
    else:
        s["noskip"] = {"hot_s": fig("noskip", "hot_s"), "hot_prepare_s": fig("noskip", "hot_prepare_s"),
                       "process_s": fig("noskip", "process_s"),
                       "statement_s": fig("noskip", "statement_s")}
        s["skip_speedup_hot"] = mb.ratio(s["noskip"]["hot_s"], f_hot)
        s["skip_speedup_process"] = mb.ratio(s["noskip"]["process_s"], f_proc)
        # Z-order and skipping together against the table as imported (delta.io's 7.5x).
        s["unclustered"] = {"hot_s": fig("unclustered", "hot_s"), "process_s": fig("unclustered", "process_s"),
                            "files_scanned": fig("unclustered", "files_scanned")}
        s["layout_speedup_hot"] = mb.ratio(s["unclustered"]["hot_s"], f_hot)
        s["sorted"] = {"hot_s": fig("sorted", "hot_s"), "files_scanned": fig("sorted", "files_scanned"),
                       "files_total": fig("sorted", "files_total")}
        if s["sorted"]["files_scanned"] is not None and s["sorted"]["files_total"]:
            s["sorted"]["files_pct"] = 100 * s["sorted"]["files_scanned"] / s["sorted"]["files_total"]
        s["sorted_speedup_vs_unclustered_hot"] = mb.ratio(s["unclustered"]["hot_s"], s["sorted"]["hot_s"])
    return s


# --------------------------------------------------------------------------- report

def _ms(v):
    return f"{v * 1000:.1f} ms" if v is not None else "-"


def _x(v):
    return f"{v:.2f}x" if v else "-"


def table_rows(results):
    """Rows (benchmark, finlake, peer, ratio, peer is) for run.py's printed table."""
    r = results.get("scan")
    if not r:
        return []
    t = r["table"]
    rows = [(f"scan {t['rows']:,} rows, {t['files']} Z-ordered files", f"{t['zorder_seconds']:.1f} s Z-order", "",
             "", f"{t['bytes'] / 1e6:.0f} MB; times are hot (in-process repeats)")]
    for q in r["queries"]:
        f, d, ds = q["finlake"], q["duckdb"], q["delta_scan"]
        files = f"{q['files_scanned']:g}/{q['files_total']:g} files" if q["files_scanned"] is not None else ""
        if q["kind"] == "full":
            rows.append((f"  {q['query']}", f"{f['rows_per_s'] / 1e6:.1f}M rows/s" if f["rows_per_s"] else "-",
                         f"{d['rows_per_s'] / 1e6:.1f}M rows/s" if d["rows_per_s"] else "-",
                         _x(q["ratio_hot_vs_duckdb"]), "duckdb read_parquet(glob)"))
        else:
            rows.append((f"  {q['query']} ({files})", _ms(f["hot_s"]), _ms(d["hot_s"]), _x(q["ratio_hot_vs_duckdb"]),
                         "duckdb read_parquet(glob)"))
            rows.append(("    same, finlake without skipping", "", _ms(q["noskip"]["hot_s"]),
                         _x(q["skip_speedup_hot"]), "finlake, WHERE (...) OR false"))
            if q.get("unclustered", {}).get("hot_s") is not None:
                rows.append(("    same, table as imported (no Z-order)", "", _ms(q["unclustered"]["hot_s"]),
                             _x(q["layout_speedup_hot"]), f"finlake, {RAW_TABLE}"))
            srt = q.get("sorted", {})
            if srt.get("hot_s") is not None:
                rows.append((f"    same, sorted by (symbol, ts) ({srt['files_scanned']:g}/{srt['files_total']:g} files)",
                             _ms(srt["hot_s"]), _ms(q["unclustered"]["hot_s"]),
                             _x(q["sorted_speedup_vs_unclustered_hot"]), f"finlake {SORTED_TABLE} vs {RAW_TABLE}"))
        if q.get("capi", {}).get("hot_s") is not None:
            rows.append(("    same, DuckDB C API", "", _ms(q["capi"]["hot_s"]), _x(q["ratio_hot_vs_capi"]),
                         "libduckdb.so (the one finlake links), glob"))
        rows.append(("    same, delta_scan", "", _ms(ds["hot_s"]), _x(q["ratio_hot_vs_delta_scan"]),
                     "duckdb delta extension"))
        rows.append(("    same, fresh process", _ms(f["process_s"]), _ms(d["first_process_s"]),
                     _x(q["ratio_process_vs_duckdb"]), "python: import duckdb + first run"))
    return rows
