"""Indicator benchmark (issue 5, W7): finlake's analytics kernels against TA-Lib.

    .venv/bin/python bench/run.py --only indicators [--size smoke|full]

Drives two programs that exist on their own (see their headers):
- build/bench/finlake_bench_indicators (indicators_bench.cc) times SMA(20), EMA(20),
  RSI(14), MACD(12,26,9) and BBANDS(20,2,2) on one series of BARS bars (kernel
  only, and with the outputs allocated per call as numpy does) and on SYMBOLS x
  SYMBOL_BARS bars through ForEachSymbol on 1 and 2 threads (outputs kept in arrays
  of the whole set, and cache-blocked: per-thread buffers of one symbol), plus the
  whole-set variant on 2 threads handing out symbols dynamically, and writes the
  series it used;
- bench/peer_indicators.py times TA-Lib (PyPI TA-Lib, numpy) on the same arrays,
  through its Python wrapper (numpy outputs allocated per call) and through its C
  functions by ctypes into outputs allocated once (the kernel alone: W7's
  like-for-like peer, compared with finlake's kernel into reused outputs), and
  measures finlake's largest relative error against TA-Lib after the warm-up
  (finlake's outputs from build/bench/finlake_indicators).

A run is one of each, finlake first; runs are repeated (`--repeats`) so that the
two sides interleave, and every figure is the median over runs of each program's
median. The error is measured in the first run only (it does not change).
run.py calls run_indicators(finlake, work, size, repeats) -> (result, failures).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
PEER = os.path.join(BENCH_DIR, "peer_indicators.py")
NAMES = ["SMA(20)", "EMA(20)", "RSI(14)", "MACD(12,26,9)", "BBANDS(20,2,2)"]
GOAL_1T, GOAL_SCALING = 1.1, 1.8


class IndicatorError(Exception):
    pass


def log(message):
    print(message, file=sys.stderr, flush=True)


def find_programs(finlake):
    """finlake_bench_indicators and finlake_indicators: $FINLAKE_BENCH_INDICATORS's
    directory, else beside the CLI's build tree, else built there with cmake."""
    explicit = os.environ.get("FINLAKE_BENCH_INDICATORS")
    dirs = [os.path.dirname(os.path.abspath(explicit))] if explicit else []
    for build_dir in (os.path.dirname(finlake), os.path.join(ROOT, "build")):
        d = os.path.join(os.path.abspath(build_dir), "bench")
        if d not in dirs:
            dirs.append(d)

    def look():
        for d in dirs:
            bench, tool = os.path.join(d, "finlake_bench_indicators"), os.path.join(d, "finlake_indicators")
            if os.access(bench, os.X_OK) and os.access(tool, os.X_OK):
                return bench, tool
        return None

    found = look()
    if found:
        return found
    for d in dirs:
        build_dir = os.path.dirname(d)
        if os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            log(f"building finlake_bench_indicators and finlake_indicators in {build_dir}")
            proc = subprocess.run(["cmake", "--build", build_dir, "--target", "finlake_bench_indicators",
                                   "finlake_indicators"], capture_output=True, text=True)
            if proc.returncode != 0:
                raise IndicatorError(f"building the indicator programs failed: {proc.stderr.strip()[-1500:]}")
            found = look()
            if found:
                return found
    raise IndicatorError("finlake_bench_indicators not found; run "
                         "`cmake --build build --target finlake_bench_indicators finlake_indicators`")


def run_cmd(cmd, what, timeout=3600):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def run_indicators(finlake, work, size, repeats):
    failures = []
    check = subprocess.run([sys.executable, "-c", "import talib, numpy"], capture_output=True, text=True)
    if check.returncode != 0:
        return None, [f"indicators: TA-Lib is not installed for {sys.executable} (scripts/setup --test): "
                      f"{check.stderr.strip()[-300:]}"]
    bench, tool = find_programs(finlake)
    out = os.path.join(work, "indicators")
    shape = {"bars": size["indicator_bars"], "symbols": size["indicator_symbols"],
             "symbol_bars": size["indicator_symbol_bars"], "threads": 2, "runs": size["indicator_runs"]}
    ours_runs, peer_runs, printed = [], [], []
    for i in range(repeats):
        code, stdout, stderr = run_cmd([bench, "--out", out, "--bars", str(shape["bars"]), "--symbols",
                                        str(shape["symbols"]), "--symbol-bars", str(shape["symbol_bars"]),
                                        "--threads", str(shape["threads"]), "--runs", str(shape["runs"])],
                                       "finlake_bench_indicators")
        if code != 0:
            raise IndicatorError(f"finlake_bench_indicators: exit status {code}: {stderr.strip()[-1500:]}")
        with open(os.path.join(out, "finlake.json")) as f:
            ours_runs.append(json.load(f))
        printed.append(stdout)
        peer_cmd = [sys.executable, PEER, "--dir", out, "--tool", tool, "--runs", str(shape["runs"]),
                    "--multi-runs", str(size["indicator_multi_runs"])]
        if i > 0:
            peer_cmd.append("--no-errors")
        code, stdout, stderr = run_cmd(peer_cmd, "peer_indicators.py")
        printed.append(stdout)
        peer_path = os.path.join(out, "peer.json")
        if not os.path.exists(peer_path) or (code != 0 and code != 1):
            raise IndicatorError(f"peer_indicators.py: exit status {code}: {stderr.strip()[-1500:]}")
        with open(peer_path) as f:
            peer = json.load(f)
        os.remove(peer_path)
        if code == 1:
            failures.append(f"indicators: an error above 1e-9 against TA-Lib: {stderr.strip()[-500:]}")
        peer_runs.append(peer["results"])
        first = peer["results"]["SMA(20)"]
        log(f"  run {i + 1}/{repeats}: SMA(20) finlake+alloc {first['finlake']['single_alloc_mbars_s']:.0f}, TA-Lib "
            f"{first['talib_single_mbars_s']:.0f}; finlake kernel {first['finlake']['single_mbars_s']:.0f}, TA-Lib C "
            f"{first['talib_c_single_mbars_s']:.0f} M bars/s; many symbols 2T/1T "
            f"{first['finlake']['multi_nt_mbars_s'] / first['finlake']['multi_1t_mbars_s']:.2f}x")

    indicators = {}
    for name in NAMES:
        ours = {key: median([r["indicators"][name][key] for r in ours_runs])
                for key in ours_runs[0]["indicators"][name]}
        talib_single = median([p[name]["talib_single_mbars_s"] for p in peer_runs])
        talib_multi = median([p[name]["talib_multi_mbars_s"] for p in peer_runs])
        talib_c_single = median([p[name]["talib_c_single_mbars_s"] for p in peer_runs])
        talib_c_multi = median([p[name]["talib_c_multi_mbars_s"] for p in peer_runs])
        err_single = peer_runs[0][name].get("max_relative_error_single")
        err_multi = peer_runs[0][name].get("max_relative_error_multi")
        indicators[name] = {
            "finlake": ours,
            "talib_single_mbars_s": talib_single,
            "talib_multi_mbars_s": talib_multi,
            "talib_c_single_mbars_s": talib_c_single,
            "talib_c_multi_mbars_s": talib_c_multi,
            # W7's ratio: both kernels alone into outputs allocated once.
            "ratio_single_vs_talib_c": ours["single_mbars_s"] / talib_c_single,
            "ratio_multi_1t_vs_talib_c": ours["multi_1t_mbars_s"] / talib_c_multi,
            # W7's many-symbol goal read against TA-Lib: finlake on N threads over
            # TA-Lib C's per-symbol loop (one thread, as TA-Lib has no threads).
            "ratio_multi_nt_vs_talib_c": ours["multi_nt_mbars_s"] / talib_c_multi,
            "ratio_single_alloc": ours["single_alloc_mbars_s"] / talib_single,
            "ratio_single_kernel": ours["single_mbars_s"] / talib_single,
            "ratio_multi_1t": ours["multi_1t_mbars_s"] / talib_multi,
            "scaling_multi": ours["multi_nt_mbars_s"] / ours["multi_1t_mbars_s"],
            "scaling_blocked": (ours["blocked_nt_mbars_s"] / ours["blocked_1t_mbars_s"]
                                if ours.get("blocked_1t_mbars_s") else None),
            "scaling_dynamic": (ours["dynamic_nt_mbars_s"] / ours["multi_1t_mbars_s"]
                                if ours.get("dynamic_nt_mbars_s") else None),
            "ratio_multi_nt_vs_talib": ours["multi_nt_mbars_s"] / talib_multi,
            "max_relative_error_single": err_single,
            "max_relative_error_multi": err_multi,
            "runs": [{"finlake": r["indicators"][name], "talib_single_mbars_s": p[name]["talib_single_mbars_s"],
                      "talib_multi_mbars_s": p[name]["talib_multi_mbars_s"],
                      "talib_c_single_mbars_s": p[name]["talib_c_single_mbars_s"],
                      "talib_c_multi_mbars_s": p[name]["talib_c_multi_mbars_s"]}
                     for r, p in zip(ours_runs, peer_runs)],
        }
    return {"shape": shape, "repeats": repeats, "goal_ratio_1t": GOAL_1T, "goal_scaling_2t": GOAL_SCALING,
            "indicators": indicators, "output": printed[:2]}, failures


# --------------------------------------------------------------------------- report

def table_rows(results):
    r = results.get("indicators")
    if not r:
        return []
    sh = r["shape"]
    rows = []
    for name, x in r["indicators"].items():
        f = x["finlake"]
        err = max(v for v in (x["max_relative_error_single"], x["max_relative_error_multi"]) if v is not None) \
            if x["max_relative_error_single"] is not None else None
        rows.append((f"{name}, {sh['bars']:,} bars, 1 thread, kernel only", f"{f['single_mbars_s']:.0f}M bars/s",
                     f"{x['talib_c_single_mbars_s']:.0f}M bars/s", f"{x['ratio_single_vs_talib_c']:.2f}x",
                     "TA-Lib C (ctypes), both into outputs allocated once: W7's ratio"))
        rows.append((f"  same, outputs allocated per call", f"{f['single_alloc_mbars_s']:.0f}M bars/s",
                     f"{x['talib_single_mbars_s']:.0f}M bars/s", f"{x['ratio_single_alloc']:.2f}x",
                     f"TA-Lib (numpy output); finlake kernel only {f['single_mbars_s']:.0f}M "
                     f"({x['ratio_single_kernel']:.2f}x)" + (f"; max rel err {err:.1e}" if err is not None else "")))
        blocked = (f"; blocked {f['blocked_1t_mbars_s']:.0f} -> {f['blocked_nt_mbars_s']:.0f}M "
                   f"({x['scaling_blocked']:.2f}x)") if x.get("scaling_blocked") else ""
        rows.append((f"  {sh['symbols']:,} x {sh['symbol_bars']:,} bars, {sh['threads']} threads",
                     f"{f['multi_nt_mbars_s']:.0f}M bars/s", f"{f['multi_1t_mbars_s']:.0f}M bars/s",
                     f"{x['scaling_multi']:.2f}x",
                     f"finlake 1 thread (scaling); TA-Lib per symbol {x['talib_multi_mbars_s']:.0f}M, TA-Lib C "
                     f"{x['talib_c_multi_mbars_s']:.0f}M (1T {x['ratio_multi_1t_vs_talib_c']:.2f}x, "
                     f"{sh['threads']}T {x['ratio_multi_nt_vs_talib_c']:.2f}x)" + blocked))
        if x.get("scaling_dynamic"):
            rows.append(("    same, symbols handed out dynamically", f"{f['dynamic_nt_mbars_s']:.0f}M bars/s",
                         f"{f['multi_1t_mbars_s']:.0f}M bars/s", f"{x['scaling_dynamic']:.2f}x",
                         "finlake 1 thread; 2 threads taking 8 symbols at a time instead of fixed halves"))
    return rows
