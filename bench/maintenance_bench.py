"""Table-maintenance benchmarks (issue 4, W5), each beside its peer on identical input.

    .venv/bin/python bench/run.py --only optimize|merge|zorder [--size smoke|full]

1. optimize: a table of many small files (full: 10,000 files holding 10M daily
   bars, one day's bars for 1,000 symbols per file) compacted by `finlake optimize
   --target-size 128MB` (whole process) against DuckDB `COPY (SELECT * FROM
   read_parquet([the same files])) TO dir (FORMAT parquet, COMPRESSION zstd,
   FILE_SIZE_BYTES 128 MiB)`, plus delta-rs `optimize.compact()` on the same table.
2. merge: 1,000 corrected bars (existing keys, close changed) upserted into a table
   of 50M bars sorted by (session_date, symbol) in 128 MiB files: `finlake merge
   --on symbol,session_date` against delta-rs `merge(...).when_matched_update_all()
   .when_not_matched_insert_all()` on an identical copy of the table.
3. zorder: a table of 50M bars in random row order, `finlake optimize --zorder
   symbol,session_date --target-size 4MB` against delta-rs `optimize.z_order()`;
   reported: the share of files whose min/max stats admit one symbol and one month,
   before and after, for 10 random (symbol, month) pairs.

The generated data files are cached under WORK/bars_<kind>_<rows>... (kept between
runs like the append source); every run builds fresh tables from them: `finlake
init`, `create-table`, the cached files hard-linked into the table directory and
committed in one Delta commit (deltalake's transaction API, with stats from
DuckDB's RETURN_STATS in the form finlake writes). run.py calls run_optimize,
run_merge and run_zorder; each returns (result, failures): failures are wrong
results (row counts, fingerprints, interop); slow ratios never fail.
"""

import datetime
import json
import math
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)

import gen_bars  # noqa: E402

NAMESPACE = "bench"
PEER = os.path.join(BENCH_DIR, "peer_maintenance.py")
MiB = 1 << 20
TYPES = {"VARCHAR": "string", "DATE": "date", "TIMESTAMPTZ": "timestamp", "DOUBLE": "double", "BIGINT": "long"}
COLUMNS = [(c.split()[0], TYPES[c.split()[1]]) for c in gen_bars.SCHEMA.split(", ")]


class MaintenanceError(Exception):
    pass


# --------------------------------------------------------------------------- helpers

def log(message):
    print(message, file=sys.stderr, flush=True)


def sh(cmd, what, timeout=3600):
    """Runs cmd; returns (wall seconds, stdout, stderr, CPU seconds of the child). Raises on failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=CWD)
    except subprocess.TimeoutExpired as error:
        raise MaintenanceError(f"{what}: timed out after {timeout} s: {' '.join(cmd)}") from error
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise MaintenanceError(f"{what}: exit status {proc.returncode}: {' '.join(cmd)}\n"
                               f"{proc.stderr.strip() or proc.stdout.strip()}")
    return wall, proc.stdout, proc.stderr, cpu


def peer(args, what, timeout=3600):
    """Runs a peer_maintenance.py operation; returns its JSON plus process_seconds and
    process_cpu_seconds, or {"error": ...} (a peer's failure is reported, not raised)."""
    cmd = [sys.executable, PEER] + [str(a) for a in args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=CWD)
    except subprocess.TimeoutExpired:
        return {"error": f"{what}: timed out after {timeout} s"}
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = None
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            result = json.loads(line)
            break
    if result is None:
        return {"error": f"{what}: exit status {proc.returncode}, no JSON: {proc.stderr.strip()[-1500:]}"}
    if proc.returncode != 0 and "error" not in result:
        result["error"] = f"{what}: exit status {proc.returncode}"
    result["process_seconds"] = wall
    result["process_cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


SETTLE_S = 0.5  # run_* set it from the size ("settle_s").


def settle():
    """Flushes dirty pages so one run's write-back does not land in the next run's timing."""
    os.sync()
    time.sleep(SETTLE_S)


# Child processes run in the scratch directory: DuckDB spills an in-memory
# database's data to ./.tmp (finlake's engine and the peers).
CWD = None


def _configure(size, work):
    global SETTLE_S, CWD
    SETTLE_S = size.get("settle_s", 0.5)
    CWD = work


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def ratio(a, b):
    return a / b if a and b else None


def size_arg(n):
    """A --target-size argument for n bytes (finlake's KB/MB are 1024-based)."""
    if n % MiB == 0:
        return f"{n // MiB}MB"
    if n % 1024 == 0:
        return f"{n // 1024}KB"
    return str(n)


def duck(work):
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET enable_progress_bar=false")
    tmp = os.path.join(work, "duckdb_tmp")
    os.makedirs(tmp, exist_ok=True)
    con.execute(f"SET temp_directory={quote(tmp)}")
    return con


def quote(text):
    return "'" + str(text).replace("'", "''") + "'"


def file_list_sql(paths):
    return "[" + ", ".join(quote(p) for p in paths) + "]"


# --------------------------------------------------------------------------- Delta stats (as finlake writes them)

def _timestamp_micros(text):
    # DuckDB's TIMESTAMPTZ text in UTC: "2000-01-03 21:00:00[.ffffff]+00".
    m = re.match(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?\+00$", text)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    fraction = int((m.group(7) or "0").ljust(6, "0"))
    seconds = (datetime.datetime(y, mo, d, h, mi, s, tzinfo=datetime.timezone.utc)
               - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(seconds=1)
    return seconds * 1_000_000 + fraction


def _iso_millis(millis):
    moment = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(milliseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


def _stat_value(kind, text, is_max):
    if kind == "long":
        return int(text)
    if kind == "double":
        value = float(text)
        return value if math.isfinite(value) else None
    if kind in ("date", "string"):
        return text if kind == "date" or len(text) <= 32 else None
    if kind == "timestamp":
        micros = _timestamp_micros(text)
        if micros is None:
            return None
        # Milliseconds, min rounded down and max up (so the bounds hold every value).
        return _iso_millis(-((-micros) // 1000) if is_max else micros // 1000)
    return None


def delta_stats(rows, column_statistics):
    mins, maxs, nulls = {}, {}, {}
    for name, kind in COLUMNS:
        stats = column_statistics.get(f'"{name}"', column_statistics.get(name))
        if not stats:
            continue
        if "null_count" in stats:
            nulls[name] = int(stats["null_count"])
        if stats.get("has_nan") == "true":
            continue
        for key, target, is_max in (("min", mins, False), ("max", maxs, True)):
            if key in stats:
                value = _stat_value(kind, stats[key], is_max)
                if value is not None:
                    target[name] = value
    return json.dumps({"numRecords": rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls})


# --------------------------------------------------------------------------- cached data sets

def _base_sql(rows):
    sql = gen_bars.source_sql(rows).rstrip()
    if not sql.endswith("ORDER BY i"):
        raise MaintenanceError("gen_bars.source_sql no longer ends with 'ORDER BY i'")
    return sql[: -len("ORDER BY i")]


def _manifest_entry(out_dir, row):
    # RETURN_STATS: filename, count, file_size_bytes, footer_size_bytes, column_statistics[, partition_keys]
    return {"name": os.path.basename(row[0]), "rows": int(row[1]), "size": int(row[2]),
            "stats": delta_stats(int(row[1]), row[4])}


def dataset(work, kind, rows, **params):
    """The cached data files of one kind: 'small' (params files: one day's bars for
    ~rows/files symbols per file, files in date order), 'bydate' (sorted by
    session_date, symbol) or 'random' (random row order); the last two in files of
    params file_bytes with row groups of params row_group rows. Returns the manifest:
    {"dir", "files": [{"name", "path", "rows", "size", "stats"}], "rows", "bytes"}."""
    key = "_".join([kind, str(rows)] + [f"{k}{v}" for k, v in sorted(params.items())])
    out_dir = os.path.join(work, f"bars_{key}")
    manifest_path = os.path.join(out_dir, "manifest.json")
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
        if all(os.path.exists(os.path.join(out_dir, "data", e["name"])) for e in manifest["files"]):
            for e in manifest["files"]:
                e["path"] = os.path.join(out_dir, "data", e["name"])
            manifest["dir"] = out_dir
            return manifest
    remove(out_dir)
    data = os.path.join(out_dir, "data")
    os.makedirs(out_dir)
    log(f"  generating the {kind} data set: {rows:,} rows {params} into {out_dir}")
    t0 = time.perf_counter()
    con = duck(work)
    base = _base_sql(rows)
    if kind == "small":
        per_file = -(-rows // params["files"])
        stage = os.path.join(out_dir, "stage")
        con.execute(f"CREATE TEMP TABLE small AS SELECT * EXCLUDE (__n), __n // {per_file} AS __b FROM "
                    f"(SELECT *, row_number() OVER (ORDER BY session_date, symbol) - 1 AS __n FROM ({base}) AS g) "
                    f"AS n ORDER BY __b")
        # One thread, no open-file limit and no intermediate flush: a bucket split
        # across threads or flushed twice would become two files.
        con.execute("SET threads = 1")
        con.execute(f"SET partitioned_write_max_open_files = {params['files'] + 1}")
        con.execute(f"SET partitioned_write_flush_threshold = {rows + 1}")
        result = con.execute(
            f"COPY small TO {quote(stage)} (FORMAT parquet, COMPRESSION zstd, RETURN_STATS, PARTITION_BY (__b), "
            f"FILENAME_PATTERN 'part-{{uuid}}')").fetchall()
        if len(result) != params["files"]:
            raise MaintenanceError(f"small data set: DuckDB wrote {len(result)} files, expected {params['files']}")
        os.makedirs(data)
        entries = []
        for row in sorted(result, key=lambda r: int(r[5]["__b"])):  # Files in date order.
            os.rename(row[0], os.path.join(data, os.path.basename(row[0])))
            entries.append(_manifest_entry(data, row))
        remove(stage)
    else:
        order = "session_date, symbol" if kind == "bydate" else "hash(i + 7)"
        result = con.execute(
            f"COPY ({base} ORDER BY {order}) TO {quote(data)} (FORMAT parquet, COMPRESSION zstd, RETURN_STATS, "
            f"FILENAME_PATTERN 'part-{{uuid}}', FILE_SIZE_BYTES {params['file_bytes']}, "
            f"ROW_GROUP_SIZE {params['row_group']})").fetchall()
        entries = []
        for row in result:
            if int(row[1]) == 0:
                remove(row[0])
                continue
            entries.append(_manifest_entry(data, row))
        if kind == "bydate":
            entries.sort(key=lambda e: json.loads(e["stats"])["minValues"]["session_date"])
    con.close()
    manifest = {"kind": kind, "rows": sum(e["rows"] for e in entries), "bytes": sum(e["size"] for e in entries),
                "params": params, "files": entries}
    if manifest["rows"] != rows:
        raise MaintenanceError(f"{kind} data set holds {manifest['rows']} rows, expected {rows}")
    with open(manifest_path, "w") as f:
        json.dump(manifest, f)
    log(f"    {len(entries):,} files, {manifest['bytes']:,} bytes in {time.perf_counter() - t0:.1f} s")
    for e in entries:
        e["path"] = os.path.join(data, e["name"])
    manifest["dir"] = out_dir
    return manifest


# --------------------------------------------------------------------------- tables

def build_table(finlake, lake, table, ds):
    """A fresh lake holding bench.<table>: finlake creates it (version 0); the data
    set's files are hard-linked into it and committed in version 1."""
    import deltalake
    from deltalake.transaction import AddAction
    remove(lake)
    sh([finlake, "--lake", lake, "init"], "finlake init")
    sh([finlake, "--lake", lake, "create-namespace", NAMESPACE], "finlake create-namespace")
    sh([finlake, "--lake", lake, "create-table", f"{NAMESPACE}.{table}", "--schema", gen_bars.SCHEMA],
       "finlake create-table")
    table_dir = os.path.join(lake, NAMESPACE, table)
    now = int(time.time() * 1000)
    adds = []
    for e in ds["files"]:
        target = os.path.join(table_dir, e["name"])
        try:
            os.link(e["path"], target)
        except OSError:
            shutil.copyfile(e["path"], target)
        adds.append(AddAction(e["name"], e["size"], {}, now, True, e["stats"]))
    dt = deltalake.DeltaTable(table_dir)
    dt.create_write_transaction(adds, mode="append", schema=dt.schema())
    return table_dir


def live_files(table_dir):
    """{path: size} of the table's live files, as delta-rs reads the log."""
    import deltalake
    import pyarrow as pa
    actions = pa.table(deltalake.DeltaTable(table_dir).get_add_actions(flatten=True))
    return dict(zip(actions.column("path").to_pylist(), actions.column("size_bytes").to_pylist()))


def file_bounds(table_dir):
    """(min symbol, max symbol, min date, max date) per live file, from the log's stats."""
    import deltalake
    import pyarrow as pa
    t = pa.table(deltalake.DeltaTable(table_dir).get_add_actions(flatten=True))
    cols = [t.column(c).to_pylist() if c in t.column_names else [None] * t.num_rows
            for c in ("min.symbol", "max.symbol", "min.session_date", "max.session_date")]
    return [(a, b, c.isoformat() if c else None, d.isoformat() if d else None) for a, b, c, d in zip(*cols)]


def manifest_bounds(ds):
    out = []
    for e in ds["files"]:
        s = json.loads(e["stats"])
        lo, hi = s.get("minValues", {}), s.get("maxValues", {})
        out.append((lo.get("symbol"), hi.get("symbol"), lo.get("session_date"), hi.get("session_date")))
    return out


def deltalake_files(table_dir):
    import deltalake
    return [u[len("file://"):] if u.startswith("file://") else u for u in deltalake.DeltaTable(table_dir).file_uris()]


FINGERPRINT = ("SELECT count(*), sum(CAST(round(close * 10000) AS HUGEINT)), "
               "sum(hash(symbol, session_date, ts, open, high, low, close, adj_close, volume, currency, exchange, "
               "region, source, ingested_at)::HUGEINT) FROM read_parquet({files})")


def fingerprint(work, paths):
    """(rows, sum of close in 1/10000, sum of row hashes) over Parquet files."""
    con = duck(work)
    try:
        return [int(v) for v in con.execute(FINGERPRINT.format(files=file_list_sql(paths))).fetchone()]
    finally:
        con.close()


def deltalake_check(work, table_dir, expected, what, failures):
    """delta-rs reads the table: its row count (pyarrow dataset) and the fingerprint
    of the files its log lists must equal `expected` (a fingerprint)."""
    import deltalake
    try:
        counted = deltalake.DeltaTable(table_dir).to_pyarrow_dataset().count_rows()
        got = fingerprint(work, deltalake_files(table_dir))
    except Exception as error:  # noqa: BLE001 - an interop failure is a failure
        failures.append(f"{what}: deltalake cannot read the table: {type(error).__name__}: {error}")
        return None
    if counted != expected[0]:
        failures.append(f"{what}: deltalake counts {counted} rows, expected {expected[0]}")
    if got != expected:
        failures.append(f"{what}: fingerprint (rows, sum(close), sum(hash)) {got} != expected {expected}")
    return got


def finlake_count(finlake, lake, table, expected, what, failures):
    _, out, _, _ = sh([finlake, "--lake", lake, "sql", f"SELECT count(*) AS n FROM {NAMESPACE}.{table}",
                       "--format", "csv"], f"{what}: finlake sql count")
    lines = [line.strip() for line in out.strip().splitlines() if line.strip()]
    try:
        got = int(lines[-1])
    except (ValueError, IndexError):
        failures.append(f"{what}: finlake sql count printed {out.strip()!r}")
        return None
    if got != expected:
        failures.append(f"{what}: finlake sql counts {got} rows, expected {expected}")
    return got


# --------------------------------------------------------------------------- 1. optimize

OPTIMIZE_RE = re.compile(r"optimize: (\d+) files \((\d+) bytes\) rewritten into (\d+) \((\d+) bytes, (\d+) rows"
                         r"(, Z-ordered)?\), version (\d+)")


def parse_optimize(out):
    m = OPTIMIZE_RE.search(out)
    if not m:
        raise MaintenanceError(f"finlake optimize: unexpected output: {out.strip()[:500]}")
    g = m.groups()
    return {"files_removed": int(g[0]), "bytes_removed": int(g[1]), "files_added": int(g[2]),
            "bytes_added": int(g[3]), "rows": int(g[4]), "zordered": bool(g[5]), "version": int(g[6])}


def run_optimize(finlake, work, size, repeats):
    _configure(size, work)
    rows, nfiles = size["optimize_rows"], size["optimize_files"]
    target = 128 * MiB
    failures = []
    ds = dataset(work, "small", rows, files=nfiles)
    files_json = os.path.join(work, "optimize_files.json")
    with open(files_json, "w") as f:
        json.dump([e["path"] for e in ds["files"]], f)
    expected = fingerprint(work, [e["path"] for e in ds["files"]])
    lake_f = os.path.join(work, "optimize_lake_finlake")
    lake_d = os.path.join(work, "optimize_lake_deltalake")
    duck_out = os.path.join(work, "optimize_duckdb_out")
    ours, ducks, dls = [], [], []
    for i in range(repeats):
        table_dir = build_table(finlake, lake_f, "small_files", ds)
        settle()
        wall, out, _, cpu = sh([finlake, "--lake", lake_f, "optimize", f"{NAMESPACE}.small_files",
                                "--target-size", size_arg(target)], "finlake optimize")
        ours.append(dict(parse_optimize(out), seconds=wall, cpu_seconds=cpu, output=out.strip()))
        remove(duck_out)
        settle()
        ducks.append(peer(["duckdb-compact", files_json, duck_out, target], "duckdb COPY peer"))
        build_table(finlake, lake_d, "small_files", ds)
        settle()
        dls.append(peer(["deltalake-compact", os.path.join(lake_d, NAMESPACE, "small_files"), target],
                        "deltalake compact peer"))
        d, dl = ducks[-1], dls[-1]
        log(f"  optimize run {i + 1}/{repeats}: finlake {wall:.2f} s ({cpu:.2f} s CPU); duckdb COPY "
            + (f"{d['seconds']:.2f} s in-process / {d['process_seconds']:.2f} s process" if "error" not in d
               else f"FAILED: {d['error']}")
            + "; delta-rs compact " + (f"{dl['seconds']:.2f} s" if "error" not in dl else f"FAILED: {dl['error']}"))
    last = ours[-1]
    if last["files_removed"] != nfiles or last["rows"] != rows:
        failures.append(f"optimize: finlake rewrote {last['files_removed']} files / {last['rows']} rows, "
                        f"expected {nfiles} / {rows}: {last['output']}")
    finlake_count(finlake, lake_f, "small_files", rows, "optimize", failures)
    live = live_files(table_dir)
    if len(live) != last["files_added"]:
        failures.append(f"optimize: the log lists {len(live)} live files, finlake said {last['files_added']}")
    deltalake_check(work, table_dir, expected, "optimize (finlake's table)", failures)
    peer_errors = [r["error"] for r in ducks + dls if "error" in r]
    good_ducks = [r for r in ducks if "error" not in r]
    good_dls = [r for r in dls if "error" not in r]
    for r in good_ducks:
        if r["rows"] != rows:
            failures.append(f"optimize: duckdb COPY wrote {r['rows']} rows, expected {rows}")
    f_s = median([r["seconds"] for r in ours])
    d_copy = median([r["seconds"] for r in good_ducks])
    d_proc = median([r["process_seconds"] for r in good_ducks])
    dl_s = median([r["seconds"] for r in good_dls])
    dl_metrics = good_dls[-1]["metrics"] if good_dls else None
    return {
        "name": "optimize",
        "rows": rows,
        "input": {"files": len(ds["files"]), "bytes": ds["bytes"], "rows_per_file": -(-rows // nfiles),
                  "layout": "one commit of small files, each one day's bars for rows/files symbols, in date order"},
        "target_size_bytes": target,
        "finlake": {"seconds_median": f_s, "rows_per_s": rows / f_s, "seconds": [r["seconds"] for r in ours],
                    "cpu_seconds_median": median([r["cpu_seconds"] for r in ours]),
                    "files": last["files_added"], "bytes": last["bytes_added"], "output": last["output"],
                    "file_sizes": sorted(live.values(), reverse=True),
                    "what": f"wall time of `finlake optimize --target-size {size_arg(target)}` (whole process)"},
        "duckdb": {"copy_seconds_median": d_copy, "rows_per_s": ratio(rows, d_copy),
                   "process_seconds_median": d_proc, "process_rows_per_s": ratio(rows, d_proc),
                   "process_cpu_seconds_median": median([r["process_cpu_seconds"] for r in good_ducks]),
                   "files": good_ducks[-1]["files"] if good_ducks else None,
                   "bytes": good_ducks[-1]["bytes"] if good_ducks else None,
                   "copy_seconds": [r["seconds"] for r in good_ducks],
                   "process_seconds": [r["process_seconds"] for r in good_ducks],
                   "what": f"COPY (SELECT * FROM read_parquet([{nfiles} files])) TO dir (FORMAT parquet, "
                           f"COMPRESSION zstd, FILE_SIZE_BYTES {target})"},
        "deltalake_compact": {"seconds_median": dl_s, "rows_per_s": ratio(rows, dl_s),
                              "process_seconds_median": median([r["process_seconds"] for r in good_dls]),
                              "metrics": dl_metrics, "seconds": [r["seconds"] for r in good_dls],
                              "files": dl_metrics.get("numFilesAdded") if dl_metrics else None,
                              "bytes": (dl_metrics.get("filesAdded") or {}).get("totalSize") if dl_metrics else None,
                              "what": "DeltaTable(t).optimize.compact(target_size=128 MiB, zstd level 3)"},
        "ratio_vs_inprocess": ratio(rows / f_s, ratio(rows, d_copy)),
        "ratio_vs_process": ratio(rows / f_s, ratio(rows, d_proc)),
        "ratio_vs_deltalake": ratio(rows / f_s, ratio(rows, dl_s)),
        "cpu_ratio_vs_process": ratio(median([r["process_cpu_seconds"] for r in good_ducks]),
                                      median([r["cpu_seconds"] for r in ours])),
        "bytes_ratio": ratio(last["bytes_added"], good_ducks[-1]["bytes"] if good_ducks else None),
        "peer_errors": peer_errors,
    }, failures


# --------------------------------------------------------------------------- 2. merge

MERGE_RE = re.compile(r"merged into (\S+): (\d+) rows updated, (\d+) inserted, (\d+) deleted; (\d+) files scanned, "
                      r"(\d+) rewritten \((\d+) bytes\), (\d+) added \((\d+) bytes\); version (\d+)")


def parse_merge(out):
    m = MERGE_RE.search(out)
    if not m:
        raise MaintenanceError(f"finlake merge: unexpected output: {out.strip()[:500]}")
    g = [int(x) for x in m.groups()[1:]]
    return {"updated": g[0], "inserted": g[1], "deleted": g[2], "files_scanned": g[3], "files_rewritten": g[4],
            "bytes_rewritten": g[5], "files_added": g[6], "bytes_added": g[7], "version": g[8]}


def layout_change(before, after):
    """What a commit did to the live files: {path: size} before and after."""
    removed = [p for p in before if p not in after]
    added = [p for p in after if p not in before]
    return {"files_removed": len(removed), "bytes_removed": sum(before[p] for p in removed),
            "files_added": len(added), "bytes_added": sum(after[p] for p in added),
            "table_files": len(before), "table_bytes": sum(before.values())}


def merge_source(work, ds, count):
    """`count` corrected bars: the last sessions of up to `count` symbols spread over
    the table (close * 1.01), in a Parquet file of the table's columns."""
    n_symbols = ds["rows"] // gen_bars.SESSIONS_PER_SYMBOL
    k = min(count, n_symbols)
    symbols = [f"S{(j * n_symbols) // k:05d}" for j in range(k)]
    days = -(-count // k)
    path = os.path.join(work, "merge_source.parquet")
    con = duck(work)
    files = file_list_sql([e["path"] for e in ds["files"]])
    last_days = [r[0] for r in con.execute(f"SELECT DISTINCT session_date FROM read_parquet({files}) "
                                           f"ORDER BY 1 DESC LIMIT {days}").fetchall()]
    day_list = ", ".join(f"DATE '{d.isoformat()}'" for d in last_days)
    symbol_list = ", ".join(quote(s) for s in symbols)
    con.execute(f"COPY (SELECT * REPLACE (round(close * 1.01, 4) AS close) FROM read_parquet({files}) "
                f"WHERE session_date IN ({day_list}) AND symbol IN ({symbol_list}) "
                f"ORDER BY session_date, symbol LIMIT {count}) TO {quote(path)} (FORMAT parquet, COMPRESSION zstd)")
    n = con.execute(f"SELECT count(*) FROM read_parquet({quote(path)})").fetchone()[0]
    con.close()
    return path, n, {"symbols": k, "sessions": [d.isoformat() for d in sorted(last_days)]}


def merged_check(work, table_dir, source, what):
    """(rows, sum(close), sum(hash)) of the table and how many of the source's keys hold the source's close."""
    paths = deltalake_files(table_dir)
    con = duck(work)
    try:
        fp = [int(v) for v in con.execute(FINGERPRINT.format(files=file_list_sql(paths))).fetchone()]
        hits = con.execute(f"SELECT count(*) FROM read_parquet({file_list_sql(paths)}) t JOIN "
                           f"read_parquet({quote(source)}) s USING (symbol, session_date) "
                           f"WHERE t.close = s.close").fetchone()[0]
    finally:
        con.close()
    return fp, hits


MERGE_PEERS = {
    # delta-rs as the brief calls it: merge()'s defaults (streamed_exec=True).
    "deltalake": [],
    # streamed_exec=False: delta-rs derives a file-pruning predicate from the source.
    "deltalake_unstreamed": ["--no-streamed"],
}


def run_merge(finlake, work, size, repeats):
    _configure(size, work)
    rows = size["merge_rows"]
    failures = []
    ds = dataset(work, "bydate", rows, file_bytes=size["table_file_bytes"], row_group=size["table_row_group"])
    source, source_rows, source_info = merge_source(work, ds, size["merge_source_rows"])
    before = {e["name"]: e["size"] for e in ds["files"]}
    lake_f = os.path.join(work, "merge_lake_finlake")
    ours = []
    peers = {name: [] for name in MERGE_PEERS}
    tables = {}
    for i in range(repeats):
        # Every copy exists before any engine runs.
        table_f = build_table(finlake, lake_f, "bars", ds)
        for name in MERGE_PEERS:
            tables[name] = build_table(finlake, os.path.join(work, f"merge_lake_{name}"), "bars", ds)
        settle()
        wall, out, _, cpu = sh([finlake, "--lake", lake_f, "merge", f"{NAMESPACE}.bars", source,
                                "--on", "symbol,session_date"], "finlake merge")
        ours.append(dict(parse_merge(out), seconds=wall, cpu_seconds=cpu, output=out.strip(),
                         layout=layout_change(before, live_files(table_f))))
        line = (f"  merge run {i + 1}/{repeats}: finlake {wall:.2f} s ({cpu:.2f} s CPU, "
                f"{ours[-1]['files_rewritten']} files rewritten)")
        for name, flags in MERGE_PEERS.items():
            settle()
            dl = peer(["deltalake-merge", tables[name], source, "symbol,session_date"] + flags, f"{name} merge peer")
            if "error" not in dl:
                dl["layout"] = layout_change(before, live_files(tables[name]))
            peers[name].append(dl)
            line += f"; {name} " + (f"{dl['seconds']:.2f} s in-process / {dl['process_seconds']:.2f} s process "
                                    f"({dl['layout']['files_removed']} files rewritten)"
                                    if "error" not in dl else f"FAILED: {dl['error']}")
        log(line)
    last = ours[-1]
    if (last["updated"], last["inserted"], last["deleted"]) != (source_rows, 0, 0):
        failures.append(f"merge: finlake updated/inserted/deleted {last['updated']}/{last['inserted']}/"
                        f"{last['deleted']}, expected {source_rows}/0/0: {last['output']}")
    finlake_count(finlake, lake_f, "bars", rows, "merge", failures)
    fp_f, hits_f = merged_check(work, table_f, source, "finlake")
    deltalake_check(work, table_f, fp_f, "merge (finlake's table)", failures)
    if fp_f[0] != rows or hits_f != source_rows:
        failures.append(f"merge: finlake's table has {fp_f[0]} rows and {hits_f} source keys with the new close, "
                        f"expected {rows} and {source_rows}")
    f_s = median([r["seconds"] for r in ours])
    result = {
        "name": "merge",
        "rows": rows,
        "source_rows": source_rows,
        "source": source_info,
        "table": {"files": len(ds["files"]), "bytes": ds["bytes"],
                  "layout": f"sorted by (session_date, symbol), files of {ds['params']['file_bytes']:,} bytes "
                            f"(DuckDB FILE_SIZE_BYTES), row groups of {ds['params']['row_group']:,} rows"},
        "finlake": {"seconds_median": f_s, "seconds": [r["seconds"] for r in ours],
                    "cpu_seconds_median": median([r["cpu_seconds"] for r in ours]),
                    "files_scanned": last["files_scanned"], "files_rewritten": last["files_rewritten"],
                    "bytes_rewritten": last["bytes_rewritten"], "files_added": last["files_added"],
                    "bytes_added": last["bytes_added"], "layout": last["layout"], "output": last["output"],
                    "fingerprint": fp_f, "source_hits": hits_f,
                    "what": "wall time of `finlake merge bench.bars src.parquet --on symbol,session_date`"},
        "peer_errors": [],
    }
    for name, flags in MERGE_PEERS.items():
        runs = peers[name]
        good = [r for r in runs if "error" not in r]
        result["peer_errors"] += [f"{name}: {r['error']}" for r in runs if "error" in r]
        check = None
        if good:
            fp_d, hits_d = merged_check(work, tables[name], source, name)
            check = {"fingerprint": fp_d, "source_hits": hits_d}
            if fp_d != fp_f or hits_d != source_rows:
                failures.append(f"merge: finlake's and {name}'s tables differ: finlake {fp_f} ({hits_f} hits), "
                                f"{name} {fp_d} ({hits_d} hits)")
            m = good[-1]["metrics"]
            if m.get("num_target_rows_updated") != source_rows or m.get("num_target_rows_inserted") != 0:
                failures.append(f"merge: {name} metrics {m}, expected {source_rows} updated and 0 inserted")
        d_s = median([r["seconds"] for r in good])
        d_proc = median([r["process_seconds"] for r in good])
        result[name] = {
            "seconds_median": d_s, "process_seconds_median": d_proc,
            "process_cpu_seconds_median": median([r["process_cpu_seconds"] for r in good]),
            "seconds": [r["seconds"] for r in good],
            "metrics": good[-1]["metrics"] if good else None,
            "layout": good[-1]["layout"] if good else None,
            "check": check,
            "what": "DeltaTable(t).merge(source=pa_table, predicate='t.symbol = s.symbol AND t.session_date = "
                    f"s.session_date', source_alias='s', target_alias='t', zstd level 3"
                    f"{', streamed_exec=False' if flags else ''}).when_matched_update_all()"
                    ".when_not_matched_insert_all().execute(), in-process (table open included)",
            # > 1: finlake faster.
            "ratio_vs_inprocess": ratio(d_s, f_s),
            "ratio_vs_process": ratio(d_proc, f_s),
        }
    return result, failures


# --------------------------------------------------------------------------- 3. zorder

def month_pairs(ds, count, seed=4):
    n_symbols = ds["rows"] // gen_bars.SESSIONS_PER_SYMBOL
    bounds = manifest_bounds(ds)
    first = min(b[2] for b in bounds)
    last = max(b[3] for b in bounds)
    months = []
    y, m = int(first[:4]), int(first[5:7])
    while f"{y:04d}-{m:02d}" <= last[:7]:
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        y, m = rng.choice(months)
        end = (datetime.date(y + (m == 12), m % 12 + 1, 1) - datetime.timedelta(days=1))
        pairs.append((f"S{rng.randrange(n_symbols):05d}", f"{y:04d}-{m:02d}-01", end.isoformat()))
    return pairs


def selected_share(bounds, pairs):
    """Per pair, the share of files whose stats admit the symbol and overlap the month."""
    shares = []
    for symbol, start, end in pairs:
        n = sum(1 for lo, hi, d0, d1 in bounds
                if (lo is None or lo <= symbol) and (hi is None or symbol <= hi)
                and (d0 is None or d0 <= end) and (d1 is None or d1 >= start))
        shares.append(n / len(bounds) if bounds else None)
    return shares


def share_summary(bounds, pairs):
    shares = selected_share(bounds, pairs)
    return {"files": len(bounds), "mean_pct": 100 * sum(shares) / len(shares), "max_pct": 100 * max(shares),
            "per_pair_pct": [100 * s for s in shares]}


def run_zorder(finlake, work, size, repeats):
    _configure(size, work)
    rows = size["zorder_rows"]
    target = size["zorder_target_bytes"]
    failures = []
    ds = dataset(work, "random", rows, file_bytes=size["table_file_bytes"], row_group=size["table_row_group"])
    expected = fingerprint(work, [e["path"] for e in ds["files"]])
    pairs = month_pairs(ds, 10)
    before = share_summary(manifest_bounds(ds), pairs)
    lake_f = os.path.join(work, "zorder_lake_finlake")
    lake_d = os.path.join(work, "zorder_lake_deltalake")
    ours, dls = [], []
    for i in range(repeats):
        table_f = build_table(finlake, lake_f, "bars", ds)
        table_d = build_table(finlake, lake_d, "bars", ds)
        settle()
        wall, out, _, cpu = sh([finlake, "--lake", lake_f, "optimize", f"{NAMESPACE}.bars", "--zorder",
                                "symbol,session_date", "--target-size", size_arg(target)], "finlake optimize --zorder",
                               timeout=3600)
        ours.append(dict(parse_optimize(out), seconds=wall, cpu_seconds=cpu, output=out.strip()))
        settle()
        dl = peer(["deltalake-zorder", table_d, "symbol,session_date", target], "deltalake z_order peer",
                  timeout=size["zorder_peer_timeout"])
        dls.append(dl)
        log(f"  zorder run {i + 1}/{repeats}: finlake {wall:.1f} s ({cpu:.1f} s CPU) -> {ours[-1]['files_added']} "
            f"files; delta-rs " + (f"{dl['seconds']:.1f} s in-process" if "error" not in dl
                                   else f"FAILED: {dl['error']}"))
    last = ours[-1]
    if last["rows"] != rows or last["files_removed"] != len(ds["files"]) or not last["zordered"]:
        failures.append(f"zorder: finlake rewrote {last['files_removed']} files / {last['rows']} rows, "
                        f"expected {len(ds['files'])} / {rows}: {last['output']}")
    finlake_count(finlake, lake_f, "bars", rows, "zorder", failures)
    deltalake_check(work, table_f, expected, "zorder (finlake's table)", failures)
    after = share_summary(file_bounds(table_f), pairs)
    # finlake's own skipping on the same ten queries, and their answers.
    con = duck(work)
    conds = " OR ".join(f"(symbol = {quote(s)} AND session_date BETWEEN DATE '{a}' AND DATE '{b}')"
                        for s, a, b in pairs)
    counts = con.execute(
        f"SELECT symbol, strftime(session_date, '%Y-%m') AS m, count(*) FROM "
        f"read_parquet({file_list_sql([e['path'] for e in ds['files']])}) WHERE {conds} GROUP BY ALL").fetchall()
    con.close()
    truth = {(s, m): n for s, m, n in counts}
    scanned = []
    for s, a, b in pairs:
        _, out, err, _ = sh([finlake, "--lake", lake_f, "sql", "--stats", "--format", "csv",
                             f"SELECT count(*) AS n FROM {NAMESPACE}.bars WHERE symbol = '{s}' AND "
                             f"session_date BETWEEN DATE '{a}' AND DATE '{b}'"], "finlake sql --stats")
        n = int(out.strip().splitlines()[-1])
        want = truth.get((s, a[:7]), 0)
        if n != want:
            failures.append(f"zorder: finlake counts {n} rows for {s} in {a[:7]} after Z-order, expected {want}")
        m = re.search(r"(\d+) files scanned", err + out)
        scanned.append(int(m.group(1)) if m else None)
    good = [r for r in dls if "error" not in r]
    dl_after = None
    if good:
        dl_after = share_summary(file_bounds(table_d), pairs)
        deltalake_check(work, table_d, expected, "zorder (delta-rs's table)", failures)
    f_s = median([r["seconds"] for r in ours])
    d_s = median([r["seconds"] for r in good])
    known = [n for n in scanned if n is not None]
    return {
        "name": "zorder",
        "rows": rows,
        "target_size_bytes": target,
        "pairs": [list(p) for p in pairs],
        "table": {"files": len(ds["files"]), "bytes": ds["bytes"], "layout": "random row order (ORDER BY hash(i))"},
        "before": before,
        "finlake": {"seconds_median": f_s, "rows_per_s": rows / f_s, "seconds": [r["seconds"] for r in ours],
                    "cpu_seconds_median": median([r["cpu_seconds"] for r in ours]),
                    "files": last["files_added"], "bytes": last["bytes_added"], "output": last["output"],
                    "after": after, "sql_files_scanned": scanned,
                    "sql_scanned_mean_pct": 100 * sum(known) / len(known) / last["files_added"] if known else None,
                    "sql_scanned_max_pct": 100 * max(known) / last["files_added"] if known else None,
                    "what": f"wall time of `finlake optimize --zorder symbol,session_date --target-size "
                            f"{size_arg(target)}` (whole process)"},
        "deltalake": {"seconds_median": d_s, "rows_per_s": ratio(rows, d_s),
                      "process_seconds_median": median([r["process_seconds"] for r in good]),
                      "seconds": [r["seconds"] for r in good],
                      "metrics": good[-1]["metrics"] if good else None,
                      "files": good[-1]["metrics"].get("numFilesAdded") if good else None,
                      "bytes": (good[-1]["metrics"].get("filesAdded") or {}).get("totalSize") if good else None,
                      "after": dl_after,
                      "what": "DeltaTable(t).optimize.z_order(['symbol', 'session_date'], target_size, "
                              "zstd level 3), in-process"},
        "ratio_vs_deltalake": ratio(d_s, f_s),
        "peer_errors": [r["error"] for r in dls if "error" in r],
    }, failures


RUNNERS = {"optimize": run_optimize, "merge": run_merge, "zorder": run_zorder}


# --------------------------------------------------------------------------- report

def _rate(v):
    return f"{v / 1e6:.2f}M rows/s" if v else "-"


def _s(v):
    return f"{v:.2f} s" if v is not None else "-"


def _x(v):
    return f"{v:.2f}x" if v else "-"


def _mb(v):
    return f"{v / 1e6:.1f} MB" if v else "-"


def table_rows(results):
    """Rows (benchmark, finlake, peer, ratio, peer is) for run.py's printed table."""
    rows = []
    r = results.get("optimize")
    if r:
        f, d, dl = r["finlake"], r["duckdb"], r["deltalake_compact"]
        rows.append((f"optimize {r['input']['files']:,} files -> 128MB, {r['rows']:,} rows", _rate(f["rows_per_s"]),
                     _rate(d["rows_per_s"]), _x(r["ratio_vs_inprocess"]), "duckdb COPY read_parquet(files), in-process"))
        rows.append(("  same, peer as a process", "", _rate(d["process_rows_per_s"]), _x(r["ratio_vs_process"]),
                     "python duckdb COPY, whole process"))
        rows.append(("  same, delta-rs compact", "", _rate(dl["rows_per_s"]), _x(r["ratio_vs_deltalake"]),
                     "deltalake optimize.compact, in-process"))
        rows.append(("  CPU seconds, whole process", _s(f["cpu_seconds_median"]), _s(d["process_cpu_seconds_median"]),
                     _x(r["cpu_ratio_vs_process"]), "python duckdb COPY (user+sys)"))
        rows.append(("  Parquet bytes written", _mb(f["bytes"]), _mb(d["bytes"]), _x(r["bytes_ratio"]),
                     f"{f['files']} vs {d['files']} files (delta-rs: {dl['files']}, {_mb(dl['bytes'])})"))
    r = results.get("merge")
    if r:
        f = r["finlake"]
        labels = {"deltalake": ("delta-rs defaults", "delta-rs merge (defaults), in-process"),
                  "deltalake_unstreamed": ("delta-rs streamed_exec=False", "delta-rs merge, streamed_exec=False")}
        first = True
        for name in MERGE_PEERS:
            d = r.get(name)
            if not d:
                continue
            rows.append((f"merge {r['source_rows']:,} bars into {r['rows']:,}" if first else f"  same, {labels[name][0]}",
                         _s(f["seconds_median"]) if first else "", _s(d["seconds_median"]),
                         _x(d["ratio_vs_inprocess"]), labels[name][1]))
            rows.append(("  same, peer as a process", "", _s(d["process_seconds_median"]), _x(d["ratio_vs_process"]),
                         "python deltalake merge, whole process"))
            first = False
        lays = ", ".join(f"{(r[n]['layout'] or {}).get('files_removed', '-')}" for n in MERGE_PEERS if r.get(n))
        mbs = ", ".join(_mb((r[n]["layout"] or {}).get("bytes_removed")) for n in MERGE_PEERS if r.get(n))
        rows.append((f"  files rewritten of {r['table']['files']}", f"{f['files_rewritten']}", lays, "",
                     f"bytes rewritten: {_mb(f['bytes_rewritten'])} vs {mbs} of {_mb(r['table']['bytes'])}"))
    r = results.get("zorder")
    if r:
        f, d = r["finlake"], r["deltalake"]
        rows.append((f"zorder symbol,session_date, {r['rows']:,} rows", _s(f["seconds_median"]),
                     _s(d["seconds_median"]), _x(r["ratio_vs_deltalake"]), "delta-rs optimize.z_order, in-process"))
        b = r["before"]
        da = d["after"]
        rows.append((f"  files for 1 symbol+month, mean (max)",
                     f"{f['after']['mean_pct']:.2f}% ({f['after']['max_pct']:.2f}%) of {f['files']}",
                     f"{da['mean_pct']:.2f}% ({da['max_pct']:.2f}%) of {d['files']}" if da else "-", "",
                     f"before: {b['mean_pct']:.0f}% ({b['max_pct']:.0f}%) of {b['files']} files"))
    return rows
