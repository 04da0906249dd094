"""Time-series SQL benchmark (W3): five queries through `finlake sql` against raw
DuckDB on the same Parquet files, ClickHouse 18.16 and PostgreSQL 15.

    .venv/bin/python bench/run.py --only sql [--size smoke|full]

Data (full: 20M quotes + 1M trades, 500 symbols; smoke: 200k + 10k, 50 symbols),
generated once with DuckDB and cached in WORK/bars_sql_<...>/ (kept between runs,
like the other benchmarks' inputs): quotes(symbol, ts, bid, ask, bid_size,
ask_size) and trades(symbol, ts, price, size), 5 sessions of 6.5 h (2024-03-04..08,
14:30-21:00 UTC), microsecond timestamps strictly increasing per symbol, rows sorted
by (symbol, ts). Every value is a function of the row number (DuckDB's hash()).

- finlake: a fresh lake per run (`init`, `create-namespace bench`, `import
  bench.quotes|trades FILE --create`). One `finlake sql --format csv --timing`
  process per query runs the query 1 + HOT times (statements separated by `;`):
  the first statement is "cold" (first in a fresh process), the median of the rest
  "hot"; the in-process time is its `run time: X s (...)` line on stderr. A query
  whose hot time is under 50 ms runs 1 + 5 * HOT times, in finlake and in both
  DuckDB peers (ms-scale times move 10-20% between runs). Without
  --timing (an older binary), the whole-process times stand in for it. Separately,
  the wall time of a one-statement `finlake sql` process ("process").
- DuckDB 1.4.4 through its C API (bench/peer_capi.c on third_party/duckdb's
  libduckdb.so, the library finlake links: the peer performance.md names), the same
  views and query text, one process per query, each statement timed in-process.
- DuckDB 1.4.4 (python, the same engine version) in a fresh process per query, views
  bench.quotes / bench.trades over read_parquet([the table's live files, from its
  Delta log]), so the query text is finlake's; each statement timed in-process.
- ClickHouse 18.16 (scripts/clickhouse-start): MergeTree ORDER BY (symbol, ts), ts
  a DateTime (seconds; 18.16 has no DateTime64) plus ts_us (epoch microseconds) for
  exact ordering; loaded from TSV and merged (OPTIMIZE FINAL). Its mark and
  uncompressed caches are dropped before each query (cold); timed by
  `clickhouse-client --time`. It has no ASOF JOIN (19.x).
- PostgreSQL 15 (scripts/pg-start): timestamptz, index on (symbol, ts), VACUUM
  ANALYZE, shared_buffers 2GB, work_mem 256MB; restarted before each query, timed by
  psql's \\timing; statement_timeout per size, a timeout is reported as "> N s".

The loaded ClickHouse and PostgreSQL databases are cached beside the data. Every
query returns one row (count and sums over its result: the 1-minute bars of 20M
quotes are about 1M rows); each peer's row must equal DuckDB's (count exactly, sums
to 1e-9 relative), else the run fails. Cold means the first run after a process or
server start (ClickHouse: after dropping its caches); the OS page cache is not
dropped. A peer that is not installed is skipped (reported), not a failure.
run.py calls run_sql(finlake, work, size, repeats) -> (result, failures).
"""

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
SCRIPTS = os.path.join(ROOT, "scripts")
sys.path.insert(0, BENCH_DIR)
from maintenance_bench import median, quote, ratio  # noqa: E402
import capi_peer  # noqa: E402
SESSIONS, SESSION_US, FIRST_OPEN = 5, 23_400_000_000, "2024-03-04 14:30:00"
CACHE_FORMAT = 1  # bump when the data or the peers' loading changes
TIMING = re.compile(r"run time: ([0-9.]+) s \(prepare ([0-9.]+) s, execute ([0-9.]+) s\)")
MID = "(bid + ask) / 2"

# name, label, finlake/DuckDB text, ClickHouse 18.16 text (None: unsupported), PostgreSQL text.
QUERIES = [
    ("ohlcv_1m", "1-min OHLCV of the mid, all symbols",
     f"SELECT count(*) AS n, sum(o), sum(h), sum(l), sum(c), sum(v) FROM (SELECT symbol, "
     f"time_bucket(INTERVAL '1 minute', ts) AS m, arg_min({MID}, ts) AS o, max({MID}) AS h, min({MID}) AS l, "
     f"arg_max({MID}, ts) AS c, sum(bid_size + ask_size) AS v FROM bench.quotes GROUP BY symbol, m) AS bars",
     f"SELECT count(), sum(o), sum(h), sum(l), sum(c), sum(v) FROM (SELECT symbol, toStartOfMinute(ts) AS m, "
     f"argMin({MID}, ts_us) AS o, max({MID}) AS h, min({MID}) AS l, argMax({MID}, ts_us) AS c, "
     f"sum(bid_size + ask_size) AS v FROM quotes GROUP BY symbol, m)",
     f"SELECT count(*), sum(o), sum(h), sum(l), sum(c), sum(v) FROM (SELECT symbol, date_trunc('minute', ts) AS m, "
     f"(array_agg({MID} ORDER BY ts))[1] AS o, max({MID}) AS h, min({MID}) AS l, "
     f"(array_agg({MID} ORDER BY ts DESC))[1] AS c, sum(bid_size + ask_size) AS v FROM quotes "
     f"GROUP BY symbol, m) AS bars"),
    ("latest", "latest quote per symbol",
     "SELECT count(*) AS n, sum(b), sum(a) FROM (SELECT symbol, arg_max(bid, ts) AS b, arg_max(ask, ts) AS a "
     "FROM bench.quotes GROUP BY symbol) AS latest",
     "SELECT count(), sum(b), sum(a) FROM (SELECT symbol, argMax(bid, ts_us) AS b, argMax(ask, ts_us) AS a "
     "FROM quotes GROUP BY symbol)",
     "SELECT count(*), sum(bid), sum(ask) FROM (SELECT DISTINCT ON (symbol) symbol, bid, ask FROM quotes "
     "ORDER BY symbol, ts DESC) AS latest"),
    ("vwap_day", "VWAP per symbol and day (trades)",
     "SELECT count(*) AS n, sum(vwap) FROM (SELECT symbol, CAST(ts AS DATE) AS d, sum(price * size) / sum(size) "
     "AS vwap FROM bench.trades GROUP BY symbol, d) AS v",
     "SELECT count(), sum(vwap) FROM (SELECT symbol, toDate(ts) AS d, sum(price * size) / sum(size) AS vwap "
     "FROM trades GROUP BY symbol, d)",
     "SELECT count(*), sum(vwap) FROM (SELECT symbol, CAST(ts AS DATE) AS d, sum(price * size) / sum(size) "
     "AS vwap FROM trades GROUP BY symbol, d) AS v"),
    ("range_1h", "1 hour of one symbol's quotes",
     "SELECT count(*) AS n, sum(bid), sum(ask) FROM bench.quotes WHERE symbol = '{sym}' "
     "AND ts >= TIMESTAMPTZ '2024-03-06 15:00:00+00' AND ts < TIMESTAMPTZ '2024-03-06 16:00:00+00'",
     "SELECT count(), sum(bid), sum(ask) FROM quotes WHERE symbol = '{sym}' "
     "AND ts >= toDateTime('2024-03-06 15:00:00') AND ts < toDateTime('2024-03-06 16:00:00')",
     "SELECT count(*), sum(bid), sum(ask) FROM quotes WHERE symbol = '{sym}' "
     "AND ts >= TIMESTAMPTZ '2024-03-06 15:00:00+00' AND ts < TIMESTAMPTZ '2024-03-06 16:00:00+00'"),
    ("asof", "trades ASOF JOIN quotes",
     f"SELECT count(*) AS n, sum(t.price - (q.bid + q.ask) / 2), sum(q.bid) FROM bench.trades AS t "
     f"ASOF JOIN bench.quotes AS q ON t.symbol = q.symbol AND t.ts >= q.ts",
     None,
     "SELECT count(*), sum(t.price - (q.bid + q.ask) / 2), sum(q.bid) FROM trades AS t CROSS JOIN LATERAL "
     "(SELECT bid, ask FROM quotes WHERE quotes.symbol = t.symbol AND quotes.ts <= t.ts ORDER BY quotes.ts DESC "
     "LIMIT 1) AS q"),
]
CH_NO_ASOF = "ClickHouse 18.16 has no ASOF JOIN (added in 19.x; `t ASOF JOIN q` parses ASOF as an alias)"


class SqlError(Exception):
    pass


def log(message):
    print(message, file=sys.stderr, flush=True)


def sh(cmd, what, timeout=3600, env=None, stdin=None):
    """Runs cmd; returns (wall seconds, stdout, stderr). Raises SqlError on failure."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, stdin=stdin)
    except subprocess.TimeoutExpired as error:
        raise SqlError(f"{what}: timed out after {timeout} s") from error
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SqlError(f"{what}: exit status {proc.returncode}: {(proc.stderr.strip() or proc.stdout.strip())[-1500:]}")
    return wall, proc.stdout, proc.stderr


def parse_row(line):
    return [float(v) for v in re.split(r"[,\t]", line.strip())]


def same_row(got, want):
    return (len(got) == len(want) and got[0] == want[0]
            and all(abs(g - w) <= 1e-9 * max(abs(w), 1.0) for g, w in zip(got[1:], want[1:])))


def free_port(pair=False):
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not pair or port >= 65535:
            return port
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue


# --------------------------------------------------------------------------- data

def duck():
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET enable_progress_bar=false")
    return con


def gen_sql(rows, symbols, trades):
    """Rows in (symbol, ts) order; per symbol and session `per` rows, one every `step`
    microseconds plus a jitter of less than half a step (so ts is strictly increasing)."""
    per = rows // (symbols * SESSIONS)
    step = SESSION_US // per
    px = ("(10 + hash(s) % 490)::DOUBLE * exp(0.02 * sin(epoch(ts) / 3000.0 + s) "
          "+ 0.01 * sin(epoch(ts) / 300.0 + 2 * s))")
    seed = 1_000_003 if trades else 0
    if trades:
        cols = (f"round(px * (1 + ((hash(i + 1) % 21)::BIGINT - 10) / 100000.0), 2) AS price, "
                f"((1 + hash(i + 2) % 20) * 100)::INTEGER AS size")
    else:
        cols = ("round(px * (1 - (1 + hash(i + 1) % 10) / 20000.0), 2) AS bid, "
                "round(round(px * (1 - (1 + hash(i + 1) % 10) / 20000.0), 2) + 0.01 * (1 + hash(i + 2) % 5), 2) "
                "AS ask, ((1 + hash(i + 3) % 50) * 100)::INTEGER AS bid_size, "
                "((1 + hash(i + 4) % 50) * 100)::INTEGER AS ask_size")
    return f"""
    WITH g AS (SELECT i, i // {per * SESSIONS} AS s, (i // {per}) % {SESSIONS} AS d, i % {per} AS j
               FROM range({rows}) t(i)),
    t AS (SELECT i + {seed} AS i, s, TIMESTAMP '{FIRST_OPEN}' + to_days(d::INTEGER)
               + to_microseconds((j * {step} + hash(i + {seed}) % {step // 2})::BIGINT) AS ts FROM g),
    p AS (SELECT *, {px} AS px FROM t)
    SELECT 'S' || lpad(s::VARCHAR, 4, '0') AS symbol, ts, {cols} FROM p ORDER BY symbol, ts"""


def dataset(work, size):
    q, t, n = size["sql_quotes"], size["sql_trades"], size["sql_symbols"]
    if q % (n * SESSIONS) or t % (n * SESSIONS):
        raise SqlError(f"sql_quotes and sql_trades must be multiples of {n * SESSIONS}")
    base = os.path.join(work, f"bars_sql_{q}q_{t}t_{n}s")
    paths = {"dir": base, "quotes": os.path.join(base, "quotes.parquet"),
             "trades": os.path.join(base, "trades.parquet"),
             "rows": {"quotes": q, "trades": t}, "symbols": n, "range_symbol": f"S{n // 2:04d}"}
    marker = os.path.join(base, "generated.json")
    if os.path.exists(marker) and os.path.exists(paths["quotes"]) and os.path.exists(paths["trades"]):
        with open(marker) as f:
            if json.load(f).get("format") == CACHE_FORMAT:
                return paths
    subprocess.run(["rm", "-rf", base], check=True)  # the cached peers too: they hold the old data
    os.makedirs(base)
    log(f"  generating {q:,} quotes and {t:,} trades of {n} symbols into {base}")
    t0 = time.perf_counter()
    con = duck()
    for name, rows in (("quotes", q), ("trades", t)):
        sql = gen_sql(rows, n, name == "trades")
        con.execute(f"COPY ({sql}) TO '{paths[name]}' (FORMAT parquet, COMPRESSION zstd)")
    with open(marker, "w") as f:
        json.dump({"format": CACHE_FORMAT, "seconds": time.perf_counter() - t0}, f)
    return paths


def export_text(ds, name, path, peer):
    """The generated rows as CSV for PostgreSQL or TSV for ClickHouse (ts as DateTime + ts_us)."""
    values = "bid, ask, bid_size, ask_size" if name == "quotes" else "price, size"
    if peer == "clickhouse":
        select, options = (f"symbol, strftime(ts, '%Y-%m-%d %H:%M:%S'), epoch_us(ts), {values}",
                           "DELIMITER '\t', HEADER false")
    else:
        select, options = f"symbol, strftime(ts, '%Y-%m-%d %H:%M:%S.%f+00'), {values}", "HEADER false"
    con = duck()
    con.execute(f"COPY (SELECT {select} FROM read_parquet('{ds[name]}')) TO '{path}' ({options})")
    con.close()


# --------------------------------------------------------------------------- finlake and DuckDB

def sort_targets(spec):
    """'2MB' -> both tables; 'quotes=2MB,trades=16MB' -> those named."""
    if not spec:
        return {}
    if "=" not in spec:
        return {"quotes": spec, "trades": spec}
    targets = dict(item.split("=", 1) for item in spec.split(","))
    unknown = set(targets) - {"quotes", "trades"}
    if unknown:
        raise SqlError(f"--sql-sort-by-size names {sorted(unknown)}; the tables are quotes and trades")
    return targets


def build_lake(finlake, work, ds, sort_target=None, parquet_version=None):
    """The lake and each table's live data files; with sort_target, both tables are
    rewritten by `optimize --sort-by symbol,ts --target-size sort_target` after the
    import (the layout ClickHouse's ORDER BY (symbol, ts) gives its tables); with
    parquet_version, the tables are created with finlake.parquet.version set."""
    import deltalake
    lake = os.path.join(work, "sql_lake")
    subprocess.run(["rm", "-rf", lake], check=True)
    sh([finlake, "--lake", lake, "init"], "finlake init")
    sh([finlake, "--lake", lake, "create-namespace", "bench"], "finlake create-namespace")
    files = {}
    targets = sort_targets(sort_target)
    prop = ["--property", f"finlake.parquet.version={parquet_version}"] if parquet_version else []
    for name in ("quotes", "trades"):
        wall, out, _ = sh([finlake, "--lake", lake, "import", f"bench.{name}", ds[name], "--create"] + prop,
                          f"import {name}")
        if f"imported {ds['rows'][name]} rows" not in out:
            raise SqlError(f"finlake import bench.{name}: expected {ds['rows'][name]} rows: {out.strip()}")
        target = targets.get(name)
        if target:
            sort_wall, sorted_out, _ = sh([finlake, "--lake", lake, "optimize", f"bench.{name}", "--sort-by",
                                           "symbol,ts", "--target-size", target], f"optimize {name}")
            log(f"  finlake optimize bench.{name} --sort-by symbol,ts --target-size {target}: "
                f"{sort_wall:.2f} s: {sorted_out.strip().splitlines()[-1]}")
        uris = deltalake.DeltaTable(os.path.join(lake, "bench", name)).file_uris()
        files[name] = [u[len("file://"):] if u.startswith("file://") else u for u in uris]
        log(f"  finlake import bench.{name}: {wall:.2f} s, {len(files[name])} file(s), "
            f"{sum(os.path.getsize(p) for p in files[name]):,} bytes")
    # Every engine is timed on files at rest: no writeback of the table just
    # written runs beside finlake's queries (measured on Dec 1: no effect on
    # vwap_day, 25.5-26.1 ms before and after a sync; kept as cheap insurance).
    os.sync()
    return lake, files


def finlake_query(finlake, lake, sql, runs, process_runs, has_timing):
    """{"cold", "hot" (median), "hot_runs", "process", "row", "source", ...}: cold and hot
    from finlake's --timing lines (else whole-process wall times); process: the wall
    time of a one-statement process."""
    base = [finlake, "--lake", lake, "sql", "--format", "csv"] + (["--timing"] if has_timing else [])
    wall, out, err = sh(base + [";\n".join([sql] * runs)], "finlake sql")
    lines = [line for line in out.splitlines() if line.strip()]
    rows = [parse_row(line) for line in lines[1::2]]
    if len(rows) != runs or not all(same_row(r, rows[0]) for r in rows):
        raise SqlError(f"finlake sql: expected {runs} equal one-row results: {out.strip()[:500]}")
    process = [sh(base + [sql], "finlake sql")[0] for _ in range(process_runs)]
    timed = [[float(v) for v in m.groups()] for m in TIMING.finditer(err)]  # run time, prepare, execute
    times = [t[0] for t in timed]
    if has_timing:
        if len(times) != runs:
            raise SqlError(f"finlake sql --timing printed {len(times)} 'run time:' lines for {runs} statements")
        source = "finlake sql --timing"
    else:  # no --timing: the first statement is a one-statement process, the rest share the remaining wall time
        source, p = "whole process (no --timing line)", median(process)
        times = [p] + [max(wall - p, 0.0) / (runs - 1)] * (runs - 1) if runs > 1 else [p]
    return {"cold": times[0], "hot": median(times[1:]), "hot_runs": times[1:], "process": median(process),
            "process_runs": process, "row": rows[0], "source": source,
            "hot_prepare": median([t[1] for t in timed[1:]]), "hot_execute": median([t[2] for t in timed[1:]]),
            "cold_prepare_execute": timed[0][1:] if timed else None}


def duckdb_peer(spec_path):
    """Peer mode (a fresh process per query): prints {"times", "row", "import_s"} as JSON."""
    t0 = time.perf_counter()
    import duckdb  # noqa: F401 - timed apart (duck() imports it): the import is not part of the query
    import_s = time.perf_counter() - t0
    with open(spec_path) as f:
        spec = json.load(f)
    con = duck()
    con.execute("CREATE SCHEMA bench")
    for name, files in spec["files"].items():
        listed = ", ".join("'" + p.replace("'", "''") + "'" for p in files)
        con.execute(f"CREATE VIEW bench.{name} AS SELECT * FROM read_parquet([{listed}])")
    times, rows = [], []
    for _ in range(spec["runs"]):
        t0 = time.perf_counter()
        rows.append(con.execute(spec["sql"]).fetchall())
        times.append(time.perf_counter() - t0)
    print(json.dumps({"times": times, "rows": [[float(v) for v in r[0]] for r in rows], "import_s": import_s}))


def duckdb_query(work, files, sql, runs):
    spec = os.path.join(work, "sql_duckdb_spec.json")
    with open(spec, "w") as f:
        json.dump({"files": files, "sql": sql, "runs": runs}, f)
    wall, out, _ = sh([sys.executable, os.path.abspath(__file__), spec], "duckdb peer")
    r = json.loads(out.strip().splitlines()[-1])
    if not all(same_row(row, r["rows"][0]) for row in r["rows"]):
        raise SqlError(f"duckdb peer: repeated runs gave different results: {r['rows']}")
    return {"cold": r["times"][0], "hot": median(r["times"][1:]), "hot_runs": r["times"][1:], "row": r["rows"][0],
            "process": wall}


# --------------------------------------------------------------------------- ClickHouse 18.16

class ClickHouse:
    SCHEMAS = {"quotes": "symbol String, ts DateTime, ts_us UInt64, bid Float64, ask Float64, bid_size Int32, "
                         "ask_size Int32",
               "trades": "symbol String, ts DateTime, ts_us UInt64, price Float64, size Int32"}

    def __init__(self, ds, work):
        self.dir, self.work, self.ds, self.port = os.path.join(ds["dir"], "clickhouse"), work, ds, free_port(pair=True)

    def start(self):
        sh([os.path.join(SCRIPTS, "clickhouse-start"), self.dir, str(self.port)], "clickhouse-start", timeout=120)

    def stop(self):
        subprocess.run([os.path.join(SCRIPTS, "clickhouse-stop"), self.dir], capture_output=True, timeout=120)

    def client(self, query, what, timeout=3600, stdin=None, time_it=False):
        cmd = ["clickhouse-client", "--host", "127.0.0.1", "--port", str(self.port), "--multiquery", "--query", query]
        return sh(cmd + (["--time"] if time_it else []), what, timeout=timeout, stdin=stdin)

    def load(self):
        marker = os.path.join(self.ds["dir"], "clickhouse_loaded.json")
        if os.path.exists(marker):
            return None
        t0 = time.perf_counter()
        for name, schema in self.SCHEMAS.items():
            self.client(f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} ({schema}) ENGINE = MergeTree "
                        f"ORDER BY (symbol, ts)", f"clickhouse create {name}")
            text = os.path.join(self.work, f"sql_{name}.tsv")
            export_text(self.ds, name, text, "clickhouse")
            with open(text) as f:
                self.client(f"INSERT INTO {name} FORMAT TabSeparated", f"clickhouse load {name}", stdin=f)
            os.remove(text)
            self.client(f"OPTIMIZE TABLE {name} FINAL", f"clickhouse optimize {name}")
            n = int(self.client(f"SELECT count() FROM {name}", "clickhouse count")[1])
            if n != self.ds["rows"][name]:
                raise SqlError(f"clickhouse: {name} holds {n} rows, expected {self.ds['rows'][name]}")
        with open(marker, "w") as f:
            json.dump({"seconds": time.perf_counter() - t0}, f)
        return time.perf_counter() - t0

    def query(self, sql, runs, timeout):
        # Cold: the first query after its caches are dropped (a restart costs 2.5 s of shutdown).
        self.client("SYSTEM DROP MARK CACHE; SYSTEM DROP UNCOMPRESSED CACHE", "clickhouse drop caches")
        _, out, err = self.client(";\n".join([sql] * runs), "clickhouse query", timeout=timeout * runs, time_it=True)
        rows = [parse_row(line) for line in out.splitlines() if line.strip()]
        times = [float(line) for line in err.split() if re.fullmatch(r"[0-9.]+", line)]
        if len(rows) != runs or len(times) != runs:
            raise SqlError(f"clickhouse: expected {runs} results and times: {out.strip()[:300]} {err.strip()[:300]}")
        return {"cold": times[0], "hot": median(times[1:]), "hot_runs": times[1:], "row": rows[0]}


# --------------------------------------------------------------------------- PostgreSQL 15

class Postgres:
    SCHEMAS = {"quotes": "symbol text, ts timestamptz, bid float8, ask float8, bid_size int4, ask_size int4",
               "trades": "symbol text, ts timestamptz, price float8, size int4"}

    def __init__(self, ds, work, timeout):
        self.dir, self.work, self.ds, self.port = os.path.join(ds["dir"], "postgres"), work, ds, free_port()
        self.timeout = timeout
        self.env = dict(os.environ, PGOPTIONS=f"-c TimeZone=UTC -c statement_timeout={int(timeout * 1000)}")

    def start(self):
        sh([os.path.join(SCRIPTS, "pg-start"), self.dir, str(self.port)], "pg-start", timeout=120)

    def stop(self):
        subprocess.run([os.path.join(SCRIPTS, "pg-stop"), self.dir], capture_output=True, timeout=120)

    def psql(self, script, what, timeout=7200):
        cmd = ["psql", "-X", "-q", "-A", "-t", "-F", ",", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
               "-p", str(self.port), "-U", "finlake", "-d", "postgres"]
        proc = subprocess.run(cmd, input=script, capture_output=True, text=True, timeout=timeout, env=self.env)
        return proc.returncode, proc.stdout, proc.stderr

    def load(self):
        marker = os.path.join(self.ds["dir"], "postgres_loaded.json")
        if os.path.exists(marker):
            return None
        t0 = time.perf_counter()
        script = "SET statement_timeout = 0;\nALTER SYSTEM SET shared_buffers = '2GB';\n" \
                 "ALTER SYSTEM SET work_mem = '256MB';\n"
        for name, schema in self.SCHEMAS.items():
            text = os.path.join(self.work, f"sql_{name}.csv")
            export_text(self.ds, name, text, "postgres")
            script += (f"DROP TABLE IF EXISTS {name};\nCREATE TABLE {name} ({schema});\n"
                       f"\\copy {name} FROM '{text}' (FORMAT csv)\n"
                       f"CREATE INDEX ON {name} (symbol, ts);\nVACUUM ANALYZE {name};\n"
                       f"SELECT count(*) FROM {name};\n")
        rc, out, err = self.psql(script, "postgres load")
        for name in self.SCHEMAS:
            os.remove(os.path.join(self.work, f"sql_{name}.csv"))
        counts = [int(v) for v in out.split()]
        if rc != 0 or counts != [self.ds["rows"]["quotes"], self.ds["rows"]["trades"]]:
            raise SqlError(f"postgres load: exit status {rc}, counts {counts}: {err.strip()[-1000:]}")
        with open(marker, "w") as f:
            json.dump({"seconds": time.perf_counter() - t0}, f)
        return time.perf_counter() - t0

    def query(self, sql, runs):
        self.stop()
        self.start()  # cold: the first query after a server start (and ALTER SYSTEM takes effect)
        rc, out, err = self.psql("\\timing on\n" + "".join(f"{sql};\n" for _ in range(runs)), "postgres query",
                                 timeout=self.timeout * runs + 60)
        if rc != 0 and "statement timeout" not in err:
            raise SqlError(f"postgres query: exit status {rc}: {err.strip()[-1000:]}")
        times, rows, row = [], [], None  # psql prints a Time: line after a failed statement too
        for line in filter(str.strip, out.splitlines()):
            if line.startswith("Time: ") and row is not None:
                times.append(float(line.split()[1]) / 1000)
                rows.append(row)
            row = parse_row(line) if not line.startswith("Time: ") else None
        if not times:
            return {"timeout": self.timeout, "cold": None, "hot": None, "row": None}
        return {"cold": times[0], "hot": median(times[1:]), "hot_runs": times[1:], "row": rows[0],
                "timed_out_runs": runs - len(times)}


# --------------------------------------------------------------------------- the benchmark

def installed(*programs):
    path = os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin"
    return all(shutil.which(p, path=path) for p in programs)


def peer_phase(name, server, queries, run_one, failures):
    """Loads the peer (cached), runs every query on it and stops it; a peer's failure
    to run is a failure of the run, a wrong result too."""
    try:
        server.stop()  # a server a killed run left behind
        server.start()
        load_s = server.load()
        if load_s is not None:
            log(f"  {name}: loaded in {load_s:.1f} s")
        for q in queries:
            q[name] = run_one(server, q)
            r = q[name]
            if r.get("row") is not None and not same_row(r["row"], q["duckdb"]["row"]):
                failures.append(f"sql {q['name']}: {name} returned {r['row']}, DuckDB {q['duckdb']['row']}")
            log(f"  {q['name']}: {name} " + (r["unsupported"] if "unsupported" in r else
                f"> {r['timeout']} s (statement_timeout)" if "timeout" in r else
                f"cold {r['cold']:.3f} s, hot {r['hot'] or r['cold']:.3f} s"))
    except Exception as error:  # noqa: BLE001 - a failed peer is reported, the other figures kept
        failures.append(f"sql: {name}: {type(error).__name__}: {error}")
    finally:
        server.stop()


FAST_QUERY_S = 0.05  # Hot under this: more in-process repeats (run_sql).


def run_sql(finlake, work, size, repeats):
    """Returns (result, failures)."""
    failures, skipped = [], []  # skipped: peers not installed
    ds = dataset(work, size)
    runs = 1 + max(repeats, 1)
    _, help_text, _ = sh([finlake, "sql", "--help"], "finlake sql --help")
    has_timing = "--timing" in help_text
    lake, files = build_lake(finlake, work, ds, size.get("sql_sort_target"), size.get("sql_parquet_version"))
    capi = capi_peer.build(work)
    views = "CREATE SCHEMA bench; " + " ".join(
        f"CREATE VIEW bench.{name} AS SELECT * FROM read_parquet([{', '.join(quote(p) for p in paths)}]);"
        for name, paths in files.items())
    for name in ("quotes", "trades"):
        _, out, _ = sh([finlake, "--lake", lake, "sql", "--format", "csv", f"SELECT count(*) FROM bench.{name}"],
                       f"finlake count bench.{name}")
        if int(out.split()[-1]) != ds["rows"][name]:
            raise SqlError(f"bench.{name} holds {out.split()[-1]} rows, expected {ds['rows'][name]}")
    queries = []
    for name, label, sql, ch_sql, pg_sql in QUERIES:
        sym = ds["range_symbol"]
        q = {"name": name, "label": label, "sql": sql.format(sym=sym),
             "clickhouse_sql": ch_sql.format(sym=sym) if ch_sql else None, "postgres_sql": pg_sql.format(sym=sym)}
        q["finlake"] = finlake_query(finlake, lake, q["sql"], runs, size["sql_process_runs"], has_timing)
        # A query of a few milliseconds moves 10-20% between runs: the in-process
        # engines repeat it five times as often (the median of 25 at full size).
        q["in_process_runs"] = runs
        if (q["finlake"]["hot"] or q["finlake"]["cold"]) < FAST_QUERY_S:
            q["in_process_runs"] = 1 + 5 * (runs - 1)
            q["finlake"] = finlake_query(finlake, lake, q["sql"], q["in_process_runs"], size["sql_process_runs"],
                                         has_timing)
        q["duckdb"] = duckdb_query(work, files, q["sql"], q["in_process_runs"])
        if capi:
            c = capi_peer.run(capi, q["sql"], q["in_process_runs"], setup=views)
            if "error" in c:
                failures.append(f"sql {name}: {c['error']}")
            else:
                q["capi"] = {"cold": c["cold_s"], "hot": c["hot_s"], "row": [float(v) for v in c["rows"][0]]}
                if not same_row(q["capi"]["row"], q["duckdb"]["row"]):
                    failures.append(f"sql {name}: the C API returned {q['capi']['row']}, the wheel {q['duckdb']['row']}")
        f, d = q["finlake"], q["duckdb"]
        if not same_row(f["row"], d["row"]):
            failures.append(f"sql {name}: finlake returned {f['row']}, DuckDB {d['row']}")
        log(f"  {name}: finlake cold {f['cold']:.3f} s, hot {f['hot'] or f['cold']:.3f} s, process "
            f"{f['process']:.3f} s; duckdb cold {d['cold']:.3f} s, hot {d['hot'] or d['cold']:.3f} s; "
            f"{d['row'][0]:.0f} rows")
        queries.append(q)

    if installed("clickhouse-server", "clickhouse-client"):
        ch = ClickHouse(ds, work)
        peer_phase("clickhouse", ch, queries, lambda s, q: s.query(q["clickhouse_sql"], runs, size["sql_peer_timeout"])
                   if q["clickhouse_sql"] else {"unsupported": CH_NO_ASOF}, failures)
    else:
        skipped.append("clickhouse: clickhouse-server/clickhouse-client not installed (scripts/setup --bench)")
    if installed("psql") and glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pg = Postgres(ds, work, size["sql_peer_timeout"])
        peer_phase("postgres", pg, queries, lambda s, q: s.query(q["postgres_sql"], 1 + size["sql_pg_hot_runs"]),
                   failures)
    else:
        skipped.append("postgres: PostgreSQL server binaries or psql not installed (scripts/setup)")
    for q in queries:
        f_hot = q["finlake"]["hot"] or q["finlake"]["cold"]
        for peer in ("duckdb", "capi", "clickhouse", "postgres"):
            p = q.get(peer) or {}
            q[f"ratio_{peer}_hot"] = ratio(p.get("hot") or p.get("cold"), f_hot)
            q[f"ratio_{peer}_cold"] = ratio(p.get("cold"), q["finlake"]["cold"])
    for s in skipped:
        log(f"  skipped {s}")
    return {"data": {k: ds[k] for k in ("rows", "symbols", "range_symbol", "dir")}, "files": files,
            "sort_target": size.get("sql_sort_target"), "parquet_version": size.get("sql_parquet_version"),
            "finlake_timing": has_timing, "hot_runs": runs - 1, "queries": queries, "skipped": skipped}, failures


# --------------------------------------------------------------------------- report

def _s(v):
    return "-" if v is None else f"{v * 1000:.1f} ms" if v < 1 else f"{v:.2f} s"


def _x(v):
    return f"{v:.2f}x" if v else "-"


def table_rows(results):
    rows = []
    r = results.get("sql")
    if not r:
        return rows
    for q in r["queries"]:
        f = q["finlake"]
        rows.append((f"sql {q['name']} ({q['label']}), hot / cold", f"{_s(f['hot'])} / {_s(f['cold'])}",
                     f"{_s(q['duckdb']['hot'])} / {_s(q['duckdb']['cold'])}",
                     f"{_x(q['ratio_duckdb_hot'])} / {_x(q['ratio_duckdb_cold'])}",
                     f"duckdb in-process; finlake process {_s(f['process'])}"
                     + (f", prepare {_s(f['hot_prepare'])}" if f.get("hot_prepare") is not None else "")))
        if q.get("capi"):
            rows.append(("  same, DuckDB C API", "", f"{_s(q['capi']['hot'])} / {_s(q['capi']['cold'])}",
                         f"{_x(q['ratio_capi_hot'])} / {_x(q['ratio_capi_cold'])}",
                         "libduckdb.so (the one finlake links), in-process"))
        for peer, label in (("clickhouse", "ClickHouse 18.16"), ("postgres", "PostgreSQL 15")):
            p = q.get(peer)
            if p is None:
                continue
            if "unsupported" in p:
                rows.append((f"  same, {label}", "", "not supported", "-", p["unsupported"][:40]))
            elif "timeout" in p:
                rows.append((f"  same, {label}", "", f"> {p['timeout']} s", f"> {p['timeout'] / f['hot']:.0f}x"
                             if f["hot"] else "-", "statement_timeout"))
            else:
                rows.append((f"  same, {label}", "", f"{_s(p['hot'])} / {_s(p['cold'])}",
                             f"{_x(q[f'ratio_{peer}_hot'])} / {_x(q[f'ratio_{peer}_cold'])}", f"{peer} server"))
    for s in r.get("skipped", []):
        rows.append(("  skipped", "", "", "", s))
    return rows


if __name__ == "__main__":
    duckdb_peer(sys.argv[1])
