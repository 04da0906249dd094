"""Pipeline benchmark (issue 5): `finlake models run` from bronze to silver and gold,
end to end through the CLI, on a full history and then on one more session.

    .venv/bin/python bench/run.py --only pipeline [--size smoke|full]

Two scenarios, each in its own lake (full size; smoke in run.py's SIZES):
- daily: 500 symbols x 2015-01-02..2024-12-31 of daily bars (1.26M bars);
- minute: 100 symbols x 2024 of 1-minute bars (about 9.8M bars).

Bronze is built once with the real CLI and cached (WORK/bars_pipeline_<scenario>_.../lake,
kept between runs like the other benchmarks' generated data; the catalog records
absolute table locations, so bronze is built at the path the runs use,
WORK/pipeline_<scenario>/lake, and copied back there for every run): `finlake init`, then
`finlake ingest generate --count N --start S --end E --as-of E` (the market
generator served over HTTP through the real Yahoo connector into
bronze.generator_raw). Yahoo serves 1-minute bars only for the 30 days before the
fetch, so the minute history is ingested in steps of 30 days, each `--as-of` its
last day. Every run then copies the cached lake and times, whole process:

1. full:        `finlake models run` on the bronze history (silver.bars_1d, silver.bars_1m,
                gold.daily_features, the SQL models gold.weekly_bars/monthly_bars/market_summary,
                and the quality checks);
2. (untimed for the model figures, reported apart) the daily job's ingest:
                `finlake ingest generate --start <a week before> --end <next session>
                --as-of <next session>` (interval as the scenario's);
3. incremental: `finlake models run` again;
4. rebuild:     `finlake models run --full-rebuild` on that final state.

stdout is read line by line (finlake flushes each model's line) with a timestamp per line,
so each model's line gives the time since the line before it: the per-model times
in results.json are those differences. rows/s is the silver rows written (inserted +
updated in silver.bars_1d, plus silver.bars_1m rows) over the wall time of the
process. Checked: exit status 0 everywhere; silver.bars_1d and silver.bars_1m row
counts after the full run equal the distinct bars the generator served; the
incremental run adds one session per symbol to silver.bars_1d (daily scenario);
`--full-rebuild` after the incremental run changes no row of gold.daily_features
(incremental equals a full rebuild).
"""

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))

CACHE_FORMAT = 1  # bump when the way bronze is built changes


class PipelineError(Exception):
    pass


def log(message):
    print(message, file=sys.stderr, flush=True)


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


SETTLE_S = 0.5


def settle():
    os.sync()
    time.sleep(SETTLE_S)


def timed(cmd, what, cwd=None, timeout=7200, line_times=False):
    """Runs cmd; returns {"seconds", "cpu_seconds", "max_rss_mb", "stdout", "lines": [(t, line)]}:
    wall time, user + sys CPU seconds and peak RSS of that process (wait4), and each
    stdout line stamped with the seconds since the start (`finlake models run`
    flushes each model's line as it finishes; stdbuf is not used, since its
    preloaded library breaks sanitizer builds). Raises PipelineError on a non-zero
    exit status or after `timeout` seconds."""
    with tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=cwd)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        lines = []
        try:
            for line in proc.stdout:
                lines.append((time.perf_counter() - t0, line.rstrip("\n")))
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read()
    stdout = "\n".join(line for _, line in lines)
    if wall >= timeout:
        raise PipelineError(f"{what}: timed out after {timeout} s: {' '.join(cmd)}")
    if proc.returncode != 0:
        raise PipelineError(f"{what}: exit status {proc.returncode}: {' '.join(cmd)}\n"
                            f"{stderr.strip()[-2000:] or stdout.strip()[-2000:]}")
    return {"seconds": wall, "cpu_seconds": usage.ru_utime + usage.ru_stime, "max_rss_mb": usage.ru_maxrss / 1024,
            "stdout": stdout, "stderr": stderr, "lines": lines}


# --------------------------------------------------------------------------- parsing

_SILVER = re.compile(r"^silver\.bars_1d from .*?: (.*)$")
_ROWS = re.compile(r"(\d+) rows inserted, (\d+) updated(?:, (\d+) deleted)?")
_MINUTES = re.compile(r"(\d+) silver\.bars_1m rows written")
_MODEL = re.compile(r"^((?:silver|gold|bronze|system)\.[A-Za-z0-9_]+)[ :]")


def parse_models(lines, wall):
    """Per-model lines of `finlake models run`: [{"model", "line", "seconds", ...}].
    seconds: time since the previous line (the first: since the process started)."""
    models, previous = [], 0.0
    quality = 0.0
    for t, line in lines:
        delta = t - previous
        previous = t
        if line.startswith("quality:"):
            quality += delta
            if models:
                models[-1]["quality_seconds"] = models[-1].get("quality_seconds", 0.0) + delta
            continue
        match = _MODEL.match(line)
        if not match:
            continue
        entry = {"model": match.group(1), "line": line, "seconds": delta}
        rows = _ROWS.search(line)
        if rows:
            entry["inserted"], entry["updated"] = int(rows.group(1)), int(rows.group(2))
            if rows.group(3) is not None:
                entry["deleted"] = int(rows.group(3))
        minutes = _MINUTES.search(line)
        if minutes:
            entry["minute_rows"] = int(minutes.group(1))
        entry["nothing_new"] = "nothing new" in line
        models.append(entry)
    return models, {"after_last_line_seconds": wall - previous, "quality_seconds": quality}


def silver_rows(models):
    for m in models:
        if m["model"] == "silver.bars_1d":
            return m.get("inserted", 0) + m.get("updated", 0) + m.get("minute_rows", 0)
    return 0


def model_entry(models, name):
    return next((m for m in models if m["model"] == name), None)


# --------------------------------------------------------------------------- lakes

def parse_date(text):
    return datetime.date.fromisoformat(text)


def next_session(finlake, day, cwd):
    """The XNYS session after `day`, from finlake's own calendar."""
    start = day + datetime.timedelta(days=1)
    out = timed([finlake, "calendar", "XNYS", str(start.year), "--sessions", "--from", str(start), "--to",
                 str(start + datetime.timedelta(days=14)), "--format", "csv"], "finlake calendar", cwd=cwd)["stdout"]
    for line in out.splitlines()[1:]:
        if line.strip():
            return parse_date(line.split(",")[0])
    raise PipelineError(f"no XNYS session in the two weeks after {day}")


def ingest_steps(scenario):
    """(start, end, as_of) of each ingest that builds the scenario's bronze."""
    start, end = parse_date(scenario["start"]), parse_date(scenario["end"])
    if scenario["interval"] == "1d":
        return [(start, end, end)]
    steps, s = [], start
    while s <= end:
        as_of = min(s + datetime.timedelta(days=29), end)  # 1m: at most 30 days back from --as-of
        steps.append((s, as_of, as_of))
        s = as_of + datetime.timedelta(days=1)
    return steps


def ingest(finlake, lake, scenario, start, end, as_of, cwd):
    cmd = [finlake, "--lake", lake, "ingest", "generate", "--count", str(scenario["symbols"]), "--start", str(start),
           "--end", str(end), "--as-of", str(as_of), "--interval", scenario["interval"]]
    r = timed(cmd, f"finlake ingest generate {start}..{end} as of {as_of}", cwd=cwd)
    m = re.search(r"(\d+) symbols ok, (\d+) failed; (\d+) bars in (\d+) payloads landed \((\d+) unchanged", r["stdout"])
    if not m:
        raise PipelineError(f"ingest generate: unexpected output: {r['stdout'].strip()[-500:]}")
    ok, failed, bars, payloads, unchanged = (int(x) for x in m.groups())
    if failed or ok != scenario["symbols"]:
        raise PipelineError(f"ingest generate {start}..{end}: {ok} ok, {failed} failed: {r['stdout'].strip()[-500:]}")
    return {"start": str(start), "end": str(end), "as_of": str(as_of), "seconds": r["seconds"],
            "cpu_seconds": r["cpu_seconds"], "bars": bars, "payloads": payloads, "unchanged": unchanged}


def cache_dir(work, scenario):
    return os.path.join(work, f"bars_pipeline_{scenario['name']}_{scenario['symbols']}x_{scenario['interval']}_"
                              f"{scenario['start']}_{scenario['end']}")


def run_lake(work, scenario):
    return os.path.join(work, f"pipeline_{scenario['name']}", "lake")


def ensure_bronze(finlake, work, scenario):
    """The scenario's bronze-only lake, built once and cached; returns (cached copy, build info).

    The catalog records every table's absolute location, so a lake copied to another
    directory still points at the original's tables: bronze is built where the runs
    use it (run_lake) and copied to the cache, and every run copies it back to that
    same path. A cache built for another path is rebuilt."""
    base = cache_dir(work, scenario)
    cached, marker = os.path.join(base, "lake"), os.path.join(base, "built.json")
    lake = run_lake(work, scenario)
    if os.path.exists(marker):
        with open(marker) as f:
            info = json.load(f)
        if info.get("format") == CACHE_FORMAT and info.get("lake") == lake and os.path.isdir(cached):
            info["reused"] = True
            return cached, info
    remove(base)
    os.makedirs(base)
    remove(os.path.dirname(lake))
    steps = ingest_steps(scenario)
    log(f"  building bronze for {scenario['name']}: {scenario['symbols']} symbols, {scenario['interval']} bars "
        f"{scenario['start']}..{scenario['end']} in {len(steps)} ingest(s), cached in {base}")
    t0 = time.perf_counter()
    timed([finlake, "--lake", lake, "init"], "finlake init", cwd=base)
    runs = []
    for start, end, as_of in steps:
        runs.append(ingest(finlake, lake, scenario, start, end, as_of, cwd=base))
        log(f"    {start}..{end}: {runs[-1]['bars']:,} bars in {runs[-1]['seconds']:.1f} s")
    info = {"format": CACHE_FORMAT, "scenario": scenario, "lake": lake, "seconds": time.perf_counter() - t0,
            "ingest_seconds": sum(r["seconds"] for r in runs), "bars": sum(r["bars"] for r in runs),
            "payloads": sum(r["payloads"] for r in runs), "ingests": runs, "bytes": dir_bytes(lake)}
    shutil.copytree(lake, cached, symlinks=True)
    with open(marker, "w") as f:
        json.dump(info, f, indent=2)
    info["reused"] = False
    return cached, info


def dir_bytes(path):
    total = 0
    for root, _, names in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, n)) for n in names)
    return total


def count(finlake, lake, query, cwd):
    out = timed([finlake, "--lake", lake, "sql", query, "--format", "csv"], "finlake sql", cwd=cwd)["stdout"]
    values = [line for line in out.strip().splitlines()[1:] if line.strip()]
    return int(values[0]) if values else 0


def table_counts(finlake, lake, cwd):
    counts = {}
    for table in ("silver.bars_1d", "silver.bars_1m", "gold.daily_features"):
        try:
            counts[table] = count(finlake, lake, f"SELECT count(*) FROM {table}", cwd)
        except PipelineError:
            counts[table] = None  # not created (no bars of that interval)
    return counts


def check_locations(finlake, lake, cwd):
    out = timed([finlake, "--lake", lake, "tables"], "finlake tables", cwd=cwd)["stdout"]
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and not os.path.abspath(parts[1]).startswith(os.path.abspath(lake) + os.sep):
            raise PipelineError(f"table {parts[0]} of the copied lake lives at {parts[1]}, outside {lake}")


def models_run(finlake, lake, cwd, extra=()):
    r = timed([finlake, "--lake", lake, "models", "run", *extra], "finlake models run " + " ".join(extra), cwd=cwd,
              line_times=True)
    models, rest = parse_models(r["lines"], r["seconds"])
    rows = silver_rows(models)
    return {"seconds": r["seconds"], "cpu_seconds": r["cpu_seconds"], "max_rss_mb": r["max_rss_mb"],
            "silver_rows_written": rows, "silver_rows_per_s": rows / r["seconds"] if r["seconds"] else None,
            "models": models, **rest, "stdout": r["stdout"]}


def run_scenario(finlake, work, scenario, repeats, failures):
    base = cache_dir(work, scenario)
    bronze, built = ensure_bronze(finlake, work, scenario)
    end = parse_date(scenario["end"])
    session = next_session(finlake, end, base)
    daily_job = (max(parse_date(scenario["start"]), session - datetime.timedelta(days=7)), session, session)
    lake = run_lake(work, scenario)
    runs = []
    for i in range(repeats):
        remove(os.path.dirname(lake))
        shutil.copytree(bronze, lake, symlinks=True)
        settle()
        if i == 0:
            check_locations(finlake, lake, base)
        full = models_run(finlake, lake, base)
        counts_full = table_counts(finlake, lake, base) if i == 0 else None
        job = ingest(finlake, lake, scenario, *daily_job, cwd=base)
        settle()
        incremental = models_run(finlake, lake, base)
        counts_incremental = table_counts(finlake, lake, base) if i == 0 else None
        settle()
        rebuild = models_run(finlake, lake, base, ["--full-rebuild"])
        runs.append({"full": full, "daily_ingest": job, "incremental": incremental, "full_rebuild": rebuild,
                     "counts_after_full": counts_full, "counts_after_incremental": counts_incremental})
        log(f"  {scenario['name']} run {i + 1}/{repeats}: full {full['seconds']:.2f} s "
            f"({full['silver_rows_written']:,} silver rows), daily ingest {job['seconds']:.2f} s, incremental "
            f"{incremental['seconds']:.2f} s ({incremental['silver_rows_written']:,} silver rows), "
            f"--full-rebuild {rebuild['seconds']:.2f} s")

        # Checks.
        gold = model_entry(rebuild["models"], "gold.daily_features")
        if gold and (gold.get("inserted") or gold.get("updated")):
            failures.append(f"pipeline {scenario['name']}: --full-rebuild after the incremental run changed "
                            f"gold.daily_features ({gold['line']}): incremental differs from a full rebuild")
        if i == 0:
            key = "silver.bars_1d" if scenario["interval"] == "1d" else "silver.bars_1m"
            if counts_full[key] != built["bars"]:
                failures.append(f"pipeline {scenario['name']}: {key} holds {counts_full[key]} rows after the full "
                                f"run, the generator served {built['bars']} bars")
            if scenario["interval"] == "1d" and \
                    counts_incremental[key] != counts_full[key] + scenario["symbols"]:
                failures.append(f"pipeline {scenario['name']}: {key} grew from {counts_full[key]} to "
                                f"{counts_incremental[key]} rows with one session of {scenario['symbols']} symbols")
    for r in runs[1:]:
        for phase in ("full", "incremental", "full_rebuild"):
            r[phase].pop("stdout", None)
    return summarize(scenario, built, session, daily_job, runs)


def summarize(scenario, built, session, daily_job, runs):
    def med(values):
        values = sorted(v for v in values if v is not None)
        if not values:
            return None
        n = len(values)
        return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2

    phases = {}
    for phase in ("full", "incremental", "full_rebuild"):
        seconds = med([r[phase]["seconds"] for r in runs])
        rows = runs[0][phase]["silver_rows_written"]
        per_model = {}
        for m in runs[0][phase]["models"]:
            per_model[m["model"]] = {
                "seconds_median": med([(model_entry(r[phase]["models"], m["model"]) or {}).get("seconds")
                                       for r in runs]),
                "line": m["line"]}
        phases[phase] = {"seconds_median": seconds, "seconds": [r[phase]["seconds"] for r in runs],
                         "cpu_seconds_median": med([r[phase]["cpu_seconds"] for r in runs]),
                         "max_rss_mb": max(r[phase]["max_rss_mb"] for r in runs),
                         "silver_rows_written": rows, "silver_rows_per_s": rows / seconds if seconds else None,
                         "quality_seconds_median": med([r[phase]["quality_seconds"] for r in runs]),
                         "models": per_model, "stdout": runs[0][phase].get("stdout")}
    return {
        "scenario": scenario,
        "bronze": {k: built[k] for k in ("seconds", "ingest_seconds", "bars", "payloads", "bytes", "reused")
                   if k in built},
        "bronze_ingests": built.get("ingests"),
        "next_session": str(session),
        "daily_job": {"start": str(daily_job[0]), "end": str(daily_job[1]), "as_of": str(daily_job[2]),
                      "seconds_median": med([r["daily_ingest"]["seconds"] for r in runs]),
                      "bars": runs[0]["daily_ingest"]["bars"], "payloads": runs[0]["daily_ingest"]["payloads"],
                      "unchanged": runs[0]["daily_ingest"]["unchanged"]},
        "counts_after_full": runs[0]["counts_after_full"],
        "counts_after_incremental": runs[0]["counts_after_incremental"],
        "repeats": len(runs),
        **phases,
        "runs": runs,
    }


def run_pipeline(finlake, work, size, repeats):
    """Returns (result, failures)."""
    global SETTLE_S
    SETTLE_S = size.get("settle_s", 0.5)
    failures, result = [], {"scenarios": []}
    for scenario in size["pipeline"]:
        try:
            result["scenarios"].append(run_scenario(finlake, work, dict(scenario), repeats, failures))
        except PipelineError as error:
            failures.append(f"pipeline {scenario['name']}: {error}")
    return result, failures


# --------------------------------------------------------------------------- report

def fmt_rate(rate):
    return f"{rate / 1e6:.2f}M rows/s" if rate >= 1e6 else f"{rate / 1e3:.1f}k rows/s"


def table_rows(results):
    rows = []
    r = results.get("pipeline")
    if not r:
        return rows
    for s in r["scenarios"]:
        sc = s["scenario"]
        label = (f"pipeline {sc['name']}: {sc['symbols']} symbols x {sc['start']}..{sc['end']} {sc['interval']}")
        for phase, name in (("full", "models run (full)"), ("incremental", "models run, +1 session"),
                            ("full_rebuild", "models run --full-rebuild")):
            p = s[phase]
            rate = p["silver_rows_per_s"]
            rows.append((label if phase == "full" else f"  {name}",
                         f"{p['seconds_median']:.2f} s",
                         f"{p['silver_rows_written']:,} silver rows" + (f", {fmt_rate(rate)}" if rate else ""),
                         "",
                         (f"{name}; " if phase == "full" else "") + f"CPU {p['cpu_seconds_median']:.1f} s, "
                         f"peak RSS {p['max_rss_mb']:,.0f} MB"))
        rows.append(("  bronze build (cached) / daily job ingest",
                     f"{s['bronze']['ingest_seconds']:.1f} s", f"{s['bronze']['bars']:,} bars", "",
                     f"next session {s['next_session']}: {s['daily_job']['seconds_median']:.2f} s, "
                     f"{s['daily_job']['bars']:,} bars"))
    return rows
