"""W7 peer: TA-Lib (the PyPI wheel's C core through numpy) on the arrays that
build/bench/finlake_bench_indicators timed finlake on, beside finlake's figures.

    build/bench/finlake_bench_indicators            # writes bench/out/indicators/
    .venv/bin/python bench/peer_indicators.py       # reads it, prints the table

For each of SMA(20), EMA(20), RSI(14), MACD(12,26,9) and BBANDS(20,2,2):
- TA-Lib on the 10M-bar series (talib.SMA(close, 20), ...): median of --runs calls,
  each including the output allocation numpy makes; the ratio is finlake's
  "single+alloc" figure (outputs allocated the same way) over it, and finlake's
  kernel alone into reused arrays is shown beside;
- TA-Lib's C functions (TA_SMA, ...) called through ctypes on the same series into
  output arrays allocated and touched once, outside the timer: the kernel alone, as
  W7 states it ("TA-Lib C on the same arrays"). The like-for-like ratio is finlake's
  kernel into reused arrays ("single") over it. TA-Lib writes its first output at
  index 0 (outBegIdx tells where it belongs), which changes nothing for timing; one
  untimed call per indicator checks that the outputs are the wrapper's, bit for bit;
- TA-Lib on the many-symbol set, one call per symbol slice, beside finlake on 1 and
  on N threads through ForEachSymbol: through the wrapper, and through the C
  functions into slices of whole-set output arrays allocated once (as finlake's
  "multi" does). Each ctypes call costs 0.4-0.7 us of Python (measured on a call
  that returns at once, reported as talib_c_call_overhead_us), 10-20% of a
  2,000-bar call, so the C figure per symbol is a slight underestimate;
- the largest relative error of finlake against TA-Lib after the warm-up, on both
  sets (finlake's outputs from finlake_indicators). For the MACD outputs, which are
  differences of prices and cross zero, the error is relative to the bar's price.
  NaN positions must be the same; a mismatch is reported as an error of inf.

Writes every figure to <dir>/peer.json. Exits 1 if an error exceeds 1e-9.
"""

from __future__ import annotations

import argparse
import ctypes
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


class TalibC:
    """TA-Lib's C functions from the library the wheel bundles (the one talib itself
    loaded), called through ctypes with arguments built before timing."""

    # name in finlake.json -> (C function, parameters after inReal, output count, lookback)
    CALLS = {
        "SMA(20)": ("TA_SMA", [ctypes.c_int(20)], 1, 19),
        "EMA(20)": ("TA_EMA", [ctypes.c_int(20)], 1, 19),
        "RSI(14)": ("TA_RSI", [ctypes.c_int(14)], 1, 14),
        "MACD(12,26,9)": ("TA_MACD", [ctypes.c_int(12), ctypes.c_int(26), ctypes.c_int(9)], 3, 33),
        # BBANDS(period, nbdevup, nbdevdn, TA_MAType_SMA = 0)
        "BBANDS(20,2,2)": ("TA_BBANDS", [ctypes.c_int(20), ctypes.c_double(2.0), ctypes.c_double(2.0),
                                         ctypes.c_int(0)], 3, 19),
    }

    def __init__(self):
        libs = sorted((Path(talib.__file__).resolve().parent.parent / "ta_lib.libs").glob("libta-lib*.so*"))
        if not libs:
            raise SystemExit("TA-Lib's C library not found in the wheel's ta_lib.libs/")
        self.path = libs[0]
        self.lib = ctypes.CDLL(str(self.path))
        code = self.lib.TA_Initialize()
        if code != 0:
            raise SystemExit(f"TA_Initialize returned {code}")
        self.begin = ctypes.c_int()
        self.count = ctypes.c_int()

    def arguments(self, name: str, x: np.ndarray, outputs: list[np.ndarray], first: int, length: int) -> tuple:
        """The argument tuple for bars [first, first + length) of x into the same
        bars of `outputs` (contiguous float64 arrays)."""
        _, parameters, _, _ = self.CALLS[name]
        address = lambda a: ctypes.c_void_p(a.ctypes.data + 8 * first)  # noqa: E731
        return (ctypes.c_int(0), ctypes.c_int(length - 1), address(x), *parameters, ctypes.byref(self.begin),
                ctypes.byref(self.count), *[address(o) for o in outputs])

    def function(self, name: str):
        return getattr(self.lib, self.CALLS[name][0])

    def outputs(self, name: str, n: int) -> list[np.ndarray]:
        # np.full writes every page: the timed calls fault nothing in.
        return [np.full(n, np.nan) for _ in range(self.CALLS[name][2])]

    def check(self, name: str, x: np.ndarray, references: list[np.ndarray]) -> None:
        """One untimed call; its outputs must be the wrapper's, bit for bit."""
        outputs = self.outputs(name, x.size)
        code = self.function(name)(*self.arguments(name, x, outputs, 0, x.size))
        begin, count = self.begin.value, self.count.value
        lookback = self.CALLS[name][3]
        if code != 0 or begin != lookback or count != x.size - lookback:
            raise SystemExit(f"{self.CALLS[name][0]}: return code {code}, outBegIdx {begin}, outNBElement {count}")
        for ours, reference in zip(outputs, references):
            if not np.array_equal(ours[:count], reference[begin:]):
                raise SystemExit(f"{self.CALLS[name][0]} through ctypes differs from talib's wrapper")

    def call_overhead_us(self, x: np.ndarray, calls: int = 5000) -> float:
        """Python's cost per ctypes call, from a TA_SMA call that returns at once
        (endIdx below startIdx)."""
        function = self.lib.TA_SMA
        arguments = (ctypes.c_int(1), ctypes.c_int(0), ctypes.c_void_p(x.ctypes.data), ctypes.c_int(20),
                     ctypes.byref(self.begin), ctypes.byref(self.count), ctypes.c_void_p(x.ctypes.data))
        start = time.perf_counter()
        for _ in range(calls):
            function(*arguments)
        return (time.perf_counter() - start) / calls * 1e6


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
    talib_c = TalibC()
    call_overhead_us = talib_c.call_overhead_us(single)

    results = {}
    failed = False
    header = (f"{'indicator':16} {'finlake':>9} {'TA-Lib C':>9} {'ratio C':>8} {'fl+alloc':>9} {'TA-Lib':>8} "
              f"{'ratio':>7} {'max rel err':>12} | {'fl 1T':>7} {'fl ' + str(threads) + 'T':>7} {'scaling':>8} "
              f"{'TA-Lib':>7} {'ratio 1T':>9} {'TA-Lib C':>9} {'ratio C':>8} {'max rel err':>12} | "
              f"{'blk 1T':>7} {'blk ' + str(threads) + 'T':>7} {'scaling':>8}")
    print(f"W7 indicators, M bars/s (median): single series {bars:,} bars | {symbols:,} symbols x {symbol_bars:,} bars")
    print(header)
    for name, spec, call, price_scaled in INDICATORS:
        ours = meta["indicators"][name]
        talib_single = bars / time_median(lambda: call(single), args.runs) / 1e6
        talib_multi = symbols * symbol_bars / time_median(lambda: [call(x) for x in slices], args.multi_runs) / 1e6

        # TA-Lib C into reused outputs: the series, then the set one symbol at a time.
        talib_c.check(name, single, call(single))
        function = talib_c.function(name)
        outputs = talib_c.outputs(name, bars)
        arguments = talib_c.arguments(name, single, outputs, 0, bars)
        talib_c_single = bars / time_median(lambda: function(*arguments), args.runs) / 1e6
        del outputs, arguments
        outputs = talib_c.outputs(name, symbols * symbol_bars)
        per_symbol_arguments = [talib_c.arguments(name, multi, outputs, s * symbol_bars, symbol_bars)
                                for s in range(symbols)]

        def talib_c_pass():
            for a in per_symbol_arguments:
                function(*a)

        talib_c_multi = symbols * symbol_bars / time_median(talib_c_pass, args.multi_runs) / 1e6
        del outputs, per_symbol_arguments

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
        ratio_c = ours["single_mbars_s"] / talib_c_single
        ratio_multi_c = ours["multi_1t_mbars_s"] / talib_c_multi
        scaling = ours["multi_nt_mbars_s"] / ours["multi_1t_mbars_s"]
        ratio_multi = ours["multi_1t_mbars_s"] / talib_multi
        if error_single is not None:
            failed |= not (error_single <= TOLERANCE and error_multi <= TOLERANCE)
        blocked = ""
        if "blocked_1t_mbars_s" in ours:
            blocked = (f" | {ours['blocked_1t_mbars_s']:7.0f} {ours['blocked_nt_mbars_s']:7.0f} "
                       f"{ours['blocked_nt_mbars_s'] / ours['blocked_1t_mbars_s']:7.2f}x")
        print(f"{name:16} {ours['single_mbars_s']:9.0f} {talib_c_single:9.0f} {ratio_c:7.2f}x "
              f"{ours['single_alloc_mbars_s']:9.0f} {talib_single:8.0f} "
              f"{ratio:6.2f}x {fmt_error(error_single):>12} | {ours['multi_1t_mbars_s']:7.0f} "
              f"{ours['multi_nt_mbars_s']:7.0f} {scaling:7.2f}x {talib_multi:7.0f} {ratio_multi:8.2f}x "
              f"{talib_c_multi:9.0f} {ratio_multi_c:7.2f}x {fmt_error(error_multi):>12}{blocked}")
        results[name] = {
            "finlake": ours, "talib_single_mbars_s": talib_single, "talib_multi_mbars_s": talib_multi,
            "ratio_single_alloc": ratio, "ratio_single_reuse": ours["single_mbars_s"] / talib_single,
            "talib_c_single_mbars_s": talib_c_single, "talib_c_multi_mbars_s": talib_c_multi,
            "ratio_single_vs_talib_c": ratio_c, "ratio_multi_1t_vs_talib_c": ratio_multi_c,
            "scaling_multi": scaling, "ratio_multi_1t": ratio_multi,
            "max_relative_error_single": error_single, "max_relative_error_multi": error_multi,
        }
    print("ratio C: finlake's kernel into reused outputs over TA-Lib C (ctypes) into reused outputs, W7's "
          "like-for-like ratio;\n"
          "ratio: finlake single+alloc (outputs allocated per call, as talib does) over TA-Lib's Python wrapper; "
          "ratio 1T: finlake on 1 thread over TA-Lib's per-symbol loop\n"
          f"(wrapper, and C through ctypes at {call_overhead_us:.2f} us a call);\n"
          "blk: finlake many-symbol, each symbol computed into a per-thread buffer of one symbol (cache-blocked)")
    (args.dir / "peer.json").write_text(json.dumps({"meta": meta, "results": results, "talib_c_library": str(talib_c.path),
                                                    "talib_c_call_overhead_us": call_overhead_us}, indent=2))
    if failed:
        print(f"FAIL: an error above {TOLERANCE:g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
