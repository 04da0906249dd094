"""W7 peer: TA-Lib (the PyPI wheel's C core through numpy) on the arrays that
build/bench/finlake_bench_indicators timed finlake on, beside finlake's figures.

    build/bench/finlake_bench_indicators            # writes bench/out/indicators/
    .venv/bin/python bench/peer_indicators.py       # reads it, prints the table

For each of SMA(20), EMA(20), RSI(14), MACD(12,26,9) and BBANDS(20,2,2):
- TA-Lib on the 10M-bar series (talib.SMA(close, 20), ...): median of --runs calls,
  each including the output allocation numpy makes; the ratio is finlake's
  "single+alloc" figure (outputs allocated the same way) over it, and finlake's
  kernel alone into reused arrays is shown beside;
- TA-Lib on the many-symbol set, one call per symbol slice, beside finlake on 1 and
  on N threads through ForEachSymbol;
- the largest relative error of finlake against TA-Lib after the warm-up, on both
  sets (finlake's outputs from finlake_indicators). For the MACD outputs, which are
  differences of prices and cross zero, the error is relative to the bar's price.
  NaN positions must be the same; a mismatch is reported as an error of inf.

Writes every figure to <dir>/peer.json. Exits 1 if an error exceeds 1e-9.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import talib

REPO = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-9

# name in finlake.json, finlake_indicators spec, TA-Lib call, outputs on the price scale
INDICATORS = [
    ("SMA(20)", "sma:20", lambda x: [talib.SMA(x, 20)], False),
    ("EMA(20)", "ema:20", lambda x: [talib.EMA(x, 20)], False),
    ("RSI(14)", "rsi:14", lambda x: [talib.RSI(x, 14)], False),
    ("MACD(12,26,9)", "macd:12:26:9", lambda x: list(talib.MACD(x, 12, 26, 9)), True),
    ("BBANDS(20,2,2)", "bbands:20:2:2", lambda x: list(talib.BBANDS(x, 20, 2.0, 2.0, 0)), False),
]


def max_relative_error(ours: np.ndarray, reference: np.ndarray, price: np.ndarray | None) -> float:
    if not np.array_equal(np.isnan(ours), np.isnan(reference)):
        return float("inf")
    valid = ~np.isnan(reference)
    if not valid.any():
        return 0.0
    denominator = np.abs(reference[valid])
    if price is not None:
        denominator = np.maximum(denominator, np.abs(price[valid]))
    denominator = np.maximum(denominator, np.finfo(float).tiny)
    return float(np.max(np.abs(ours[valid] - reference[valid]) / denominator))


def finlake_outputs(tool: Path, series_path: Path, bars: int, spec: str, extra: list[str]) -> list[np.ndarray]:
    count = 3 if spec.startswith(("macd", "bbands")) else 1
    with tempfile.TemporaryDirectory() as tmp:
        out_path = Path(tmp) / "out.f64"
        subprocess.run([str(tool), str(series_path), str(bars), str(out_path), "--close-only", *extra, spec],
                       check=True, timeout=600)
        flat = np.fromfile(out_path, dtype="<f8")
    return [flat[k * bars:(k + 1) * bars] for k in range(count)]


def fmt_error(value: float | None) -> str:
    return "-" if value is None else f"{value:.2e}"


def time_median(function, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=REPO / "bench" / "out" / "indicators",
                        help="what finlake_bench_indicators wrote (default bench/out/indicators)")
    parser.add_argument("--tool", type=Path, default=None,
                        help="finlake_indicators (default: build/bench/, else build-*/bench/)")
    parser.add_argument("--runs", type=int, default=5, help="timed calls per figure (median)")
    parser.add_argument("--multi-runs", type=int, default=3, help="timed passes over the many-symbol set")
    parser.add_argument("--no-errors", action="store_true",
                        help="time TA-Lib only; skip the error measurement (bench/run.py's repeated runs)")
    args = parser.parse_args()

    meta = json.loads((args.dir / "finlake.json").read_text())
    bars, symbols, symbol_bars, threads = meta["bars"], meta["symbols"], meta["symbol_bars"], meta["threads"]
    single = np.fromfile(args.dir / "single.f64", dtype="<f8")
    multi = np.fromfile(args.dir / "multi.f64", dtype="<f8")
    assert single.size == bars and multi.size == symbols * symbol_bars, "series files do not match finlake.json"
    tool = args.tool
    if tool is None:
        candidates = [REPO / "build" / "bench" / "finlake_indicators",
                      *sorted(REPO.glob("build-*/bench/finlake_indicators"))]
        tool = next((c for c in candidates if c.exists()), None)
        if tool is None:
            sys.exit("finlake_indicators not found: cmake --build build --target finlake_indicators, or pass --tool")
    slices = [multi[s * symbol_bars:(s + 1) * symbol_bars] for s in range(symbols)]

    results = {}
    failed = False
    header = (f"{'indicator':16} {'finlake':>9} {'fl+alloc':>9} {'TA-Lib':>8} {'ratio':>7} {'max rel err':>12} | "
              f"{'fl 1T':>7} {'fl ' + str(threads) + 'T':>7} {'scaling':>8} {'TA-Lib':>7} {'ratio 1T':>9} "
              f"{'max rel err':>12} | {'blk 1T':>7} {'blk ' + str(threads) + 'T':>7} {'scaling':>8}")
    print(f"W7 indicators, M bars/s (median): single series {bars:,} bars | {symbols:,} symbols x {symbol_bars:,} bars")
    print(header)
    for name, spec, call, price_scaled in INDICATORS:
        ours = meta["indicators"][name]
        talib_single = bars / time_median(lambda: call(single), args.runs) / 1e6
        talib_multi = symbols * symbol_bars / time_median(lambda: [call(x) for x in slices], args.multi_runs) / 1e6

        error_single = error_multi = None
        if not args.no_errors:
            references = call(single)
            outputs = finlake_outputs(tool, args.dir / "single.f64", bars, spec, [])
            error_single = max(max_relative_error(o, r, single if price_scaled else None)
                               for o, r in zip(outputs, references))
            del references, outputs
            per_symbol = [call(x) for x in slices]
            outputs = finlake_outputs(tool, args.dir / "multi.f64", symbols * symbol_bars, spec,
                                      ["--symbol-bars", str(symbol_bars), "--threads", str(threads)])
            error_multi = 0.0
            for k, output in enumerate(outputs):
                reference = np.concatenate([refs[k] for refs in per_symbol])
                error_multi = max(error_multi, max_relative_error(output, reference, multi if price_scaled else None))
            del per_symbol, outputs

        ratio = ours["single_alloc_mbars_s"] / talib_single
        scaling = ours["multi_nt_mbars_s"] / ours["multi_1t_mbars_s"]
        ratio_multi = ours["multi_1t_mbars_s"] / talib_multi
        if error_single is not None:
            failed |= not (error_single <= TOLERANCE and error_multi <= TOLERANCE)
        blocked = ""
        if "blocked_1t_mbars_s" in ours:
            blocked = (f" | {ours['blocked_1t_mbars_s']:7.0f} {ours['blocked_nt_mbars_s']:7.0f} "
                       f"{ours['blocked_nt_mbars_s'] / ours['blocked_1t_mbars_s']:7.2f}x")
        print(f"{name:16} {ours['single_mbars_s']:9.0f} {ours['single_alloc_mbars_s']:9.0f} {talib_single:8.0f} "
              f"{ratio:6.2f}x {fmt_error(error_single):>12} | {ours['multi_1t_mbars_s']:7.0f} "
              f"{ours['multi_nt_mbars_s']:7.0f} {scaling:7.2f}x {talib_multi:7.0f} {ratio_multi:8.2f}x "
              f"{fmt_error(error_multi):>12}{blocked}")
        results[name] = {
            "finlake": ours, "talib_single_mbars_s": talib_single, "talib_multi_mbars_s": talib_multi,
            "ratio_single_alloc": ratio, "ratio_single_reuse": ours["single_mbars_s"] / talib_single,
            "scaling_multi": scaling, "ratio_multi_1t": ratio_multi,
            "max_relative_error_single": error_single, "max_relative_error_multi": error_multi,
        }
    print("ratio: finlake single+alloc (outputs allocated per call, as talib does) over TA-Lib; "
          "ratio 1T: finlake on 1 thread over TA-Lib's per-symbol loop;\n"
          "blk: finlake many-symbol, each symbol computed into a per-thread buffer of one symbol (cache-blocked)")
    (args.dir / "peer.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    if failed:
        print(f"FAIL: an error above {TOLERANCE:g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
