"""finlake's indicator kernels (src/finlake/analytics) against TA-Lib, the oracle.

The kernels are reached through ``finlake_indicators`` (bench/indicators_tool.cc),
which reads columns of doubles from a file and writes one column per output; it
is found through ``$FINLAKE_INDICATORS_BIN``, else beside the CLI's build tree
(``<build>/bench/finlake_indicators``), and built there when it is missing.

Agreement is 1e-9 relative after the warm-up, with the same NaN positions. The
relative error of an output that is a difference of prices (MACD line, signal and
histogram) is taken on the price level of its bar, because near a zero crossing
its own size says nothing about the accuracy of the two averages it subtracts.

TA-Lib is the PyPI package ``TA-Lib`` (``scripts/setup --test``). Without it the
tests skip, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from conftest import import_talib, REPO, finlake_binary

talib = import_talib()

RELATIVE_TOLERANCE = 1e-9
BARS = 10_000
SEEDS = (1, 2, 3, 4, 5)


# --------------------------------------------------------------------------- the tool


@pytest.fixture(scope="module")
def indicators_bin() -> Path:
    explicit = os.environ.get("FINLAKE_INDICATORS_BIN")
    if explicit:
        return Path(explicit)
    build_dir = finlake_binary().parent
    if not (build_dir / "build.ninja").exists() and not (build_dir / "Makefile").exists():
        build_dir = REPO / "build"
    path = build_dir / "bench" / "finlake_indicators"
    if not path.exists():
        proc = subprocess.run(
            ["cmake", "--build", str(build_dir), "--target", "finlake_indicators"],
            capture_output=True, text=True, timeout=900,
        )
        assert proc.returncode == 0, f"building finlake_indicators failed:\n{proc.stdout}\n{proc.stderr}"
    assert path.exists(), f"{path} missing (set FINLAKE_INDICATORS_BIN)"
    return path


def output_count(spec: str) -> int:
    return 3 if spec.split(":")[0] in ("macd", "bbands") else 1


def run_indicators(tool: Path, bars: dict, specs: list[str], extra: tuple[str, ...] = ()) -> list[np.ndarray]:
    """Runs the tool on the bars (high, low, close, volume, session) and returns one array per output."""
    n = len(bars["close"])
    columns = [np.asarray(bars[c], dtype="<f8") for c in ("high", "low", "close", "volume", "session")]
    with tempfile.TemporaryDirectory() as tmp:
        in_path, out_path = Path(tmp) / "in.f64", Path(tmp) / "out.f64"
        np.concatenate(columns).tofile(in_path)
        proc = subprocess.run(
            [str(tool), str(in_path), str(n), str(out_path), *extra, *specs],
            capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, f"finlake_indicators failed ({proc.returncode}): {proc.stderr}"
        flat = np.fromfile(out_path, dtype="<f8")
    total = sum(output_count(s) for s in specs)
    assert flat.size == total * n
    return [flat[k * n:(k + 1) * n] for k in range(total)]


# --------------------------------------------------------------------------- series


def random_walk_bars(seed: int, n: int = BARS) -> dict:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    spread = np.abs(rng.normal(0.0, 0.005, n)) * close
    return {
        "high": close + spread * rng.uniform(0.0, 1.0, n),
        "low": close - spread * rng.uniform(0.0, 1.0, n),
        "close": close,
        "volume": np.round(rng.lognormal(13.0, 0.5, n)),
        "session": np.arange(n) // 390,
    }


def constant_bars(n: int) -> dict:
    return {"high": np.full(n, 100.25), "low": np.full(n, 100.25), "close": np.full(n, 100.25),
            "volume": np.full(n, 5000.0), "session": np.zeros(n)}


def slice_bars(bars: dict, begin: int, end: int) -> dict:
    return {k: v[begin:end] for k, v in bars.items()}


# --------------------------------------------------------------------------- TA-Lib references


def sample_std(values: np.ndarray, period: int) -> np.ndarray:
    """Rolling sample standard deviation from TA-Lib's population one."""
    return talib.STDDEV(values, period, 1.0) * np.sqrt(period / (period - 1.0))


def log_returns(close: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(talib.ROCR(close, 1))


def zscore_reference(volume: np.ndarray, period: int) -> np.ndarray:
    deviation = sample_std(volume, period)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (volume - talib.SMA(volume, period)) / deviation
    # finlake's convention: a constant window scores 0 (TA-Lib zeroes variances below 1e-8).
    return np.where(np.isfinite(deviation) & (deviation == 0.0), 0.0, z)


def vwap_reference(bars: dict) -> np.ndarray:
    typical = (bars["high"] + bars["low"] + bars["close"]) / 3.0
    out = np.empty(len(typical))
    for session in np.unique(bars["session"]):
        mask = bars["session"] == session
        with np.errstate(divide="ignore", invalid="ignore"):
            out[mask] = np.cumsum(typical[mask] * bars["volume"][mask]) / np.cumsum(bars["volume"][mask])
    return out


# (spec for finlake, output names, TA-Lib reference(bars) -> list of arrays, outputs on the price scale)
CASES = [
    ("sma:5", ["sma5"], lambda b: [talib.SMA(b["close"], 5)], False),
    ("sma:20", ["sma20"], lambda b: [talib.SMA(b["close"], 20)], False),
    ("sma:200", ["sma200"], lambda b: [talib.SMA(b["close"], 200)], False),
    ("ema:5", ["ema5"], lambda b: [talib.EMA(b["close"], 5)], False),
    ("ema:20", ["ema20"], lambda b: [talib.EMA(b["close"], 20)], False),
    ("ema:50", ["ema50"], lambda b: [talib.EMA(b["close"], 50)], False),
    ("rsi:2", ["rsi2"], lambda b: [talib.RSI(b["close"], 2)], False),
    ("rsi:14", ["rsi14"], lambda b: [talib.RSI(b["close"], 14)], False),
    ("macd:12:26:9", ["macd", "macd_signal", "macd_hist"], lambda b: list(talib.MACD(b["close"], 12, 26, 9)), True),
    ("macd:5:35:5", ["macd535", "macd535_signal", "macd535_hist"], lambda b: list(talib.MACD(b["close"], 5, 35, 5)),
     True),
    ("bbands:20:2:2", ["bb_upper", "bb_middle", "bb_lower"],
     lambda b: list(talib.BBANDS(b["close"], 20, 2.0, 2.0, 0)), False),
    ("bbands:10:1.5:2.5", ["bb10_upper", "bb10_middle", "bb10_lower"],
     lambda b: list(talib.BBANDS(b["close"], 10, 1.5, 2.5, 0)), False),
    ("atr:14", ["atr14"], lambda b: [talib.ATR(b["high"], b["low"], b["close"], 14)], False),
    ("atr:1", ["atr1"], lambda b: [talib.ATR(b["high"], b["low"], b["close"], 1)], False),
    ("obv", ["obv"], lambda b: [talib.OBV(b["close"], b["volume"])], False),
    ("returns", ["returns"], lambda b: [talib.ROCP(b["close"], 1)], False),
    ("log_returns", ["log_returns"], lambda b: [log_returns(b["close"])], False),
    ("volatility:20:252", ["volatility"], lambda b: [sample_std(log_returns(b["close"]), 20) * np.sqrt(252.0)], False),
    ("zscore:20", ["zscore"], lambda b: [zscore_reference(b["volume"], 20)], False),
    ("vwap", ["vwap"], lambda b: [vwap_reference(b)], False),
]
SPECS = [case[0] for case in CASES]


def compare(name: str, ours: np.ndarray, reference: np.ndarray, scale: np.ndarray | None) -> float:
    """Asserts equal NaN positions and 1e-9 relative agreement; returns the largest relative error."""
    ours_nan, reference_nan = np.isnan(ours), np.isnan(reference)
    mismatched = np.flatnonzero(ours_nan != reference_nan)
    assert mismatched.size == 0, (
        f"{name}: NaN at different bars, first {mismatched[:5].tolist()}: "
        f"finlake {ours[mismatched[:5]].tolist()} TA-Lib {reference[mismatched[:5]].tolist()}"
    )
    valid = ~reference_nan
    if not valid.any():
        return 0.0
    denominator = np.abs(reference[valid])
    if scale is not None:
        denominator = np.maximum(denominator, np.abs(scale[valid]))
    denominator = np.maximum(denominator, np.finfo(float).tiny)
    errors = np.abs(ours[valid] - reference[valid]) / denominator
    worst = int(np.argmax(errors))
    assert errors[worst] <= RELATIVE_TOLERANCE, (
        f"{name}: relative error {errors[worst]:.3g} at bar {np.flatnonzero(valid)[worst]}: "
        f"finlake {ours[valid][worst]!r} TA-Lib {reference[valid][worst]!r}"
    )
    return float(errors[worst])


def check_all(tool: Path, bars: dict, extra: tuple[str, ...] = ()) -> None:
    outputs = iter(run_indicators(tool, bars, SPECS, extra))
    for spec, names, reference_of, price_scaled in CASES:
        references = reference_of(bars)
        for name, reference in zip(names, references):
            compare(f"{spec} {name}", next(outputs), np.asarray(reference, dtype=float),
                    bars["close"] if price_scaled else None)


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("seed", SEEDS)
def test_random_walks_agree_with_talib(indicators_bin: Path, seed: int) -> None:
    check_all(indicators_bin, random_walk_bars(seed))


def test_constant_series_agree_with_talib(indicators_bin: Path) -> None:
    check_all(indicators_bin, constant_bars(500))


@pytest.mark.parametrize("n", [0, 1, 5, 19, 20, 30, 34])
def test_short_series_agree_with_talib(indicators_bin: Path, n: int) -> None:
    bars = slice_bars(random_walk_bars(9), 0, n)
    if n == 0:
        outputs = run_indicators(indicators_bin, bars, SPECS)
        assert all(o.size == 0 for o in outputs)
        return
    check_all(indicators_bin, bars)


def test_leading_nans_are_skipped_like_the_talib_wrapper(indicators_bin: Path) -> None:
    bars = random_walk_bars(11, 2000)
    for column in ("high", "low", "close", "volume"):
        bars[column][:25] = np.nan
    outputs = run_indicators(indicators_bin, bars, ["sma:20", "ema:20", "rsi:14", "macd:12:26:9", "bbands:20:2:2"])
    references = [talib.SMA(bars["close"], 20), talib.EMA(bars["close"], 20), talib.RSI(bars["close"], 14),
                  *talib.MACD(bars["close"], 12, 26, 9), *talib.BBANDS(bars["close"], 20, 2.0, 2.0, 0)]
    for k, (ours, reference) in enumerate(zip(outputs, references)):
        compare(f"output {k}", ours, reference, bars["close"] if 3 <= k <= 5 else None)


def test_gap_restarts_each_indicator_like_talib_on_each_run(indicators_bin: Path) -> None:
    # finlake's rule: a NaN bar is NaN and the indicator starts again after it. TA-Lib
    # on each gap-free run separately is then the reference (VWAP skips the bar instead).
    bars = random_walk_bars(13, 6000)
    gaps = [1500, 1501, 4000]
    for column in ("high", "low", "close", "volume"):
        bars[column][gaps] = np.nan
    ours = iter(run_indicators(indicators_bin, bars, SPECS))
    runs = [(0, 1500), (1502, 4000), (4001, 6000)]
    for spec, names, reference_of, price_scaled in CASES:
        pieces = [reference_of(slice_bars(bars, b, e)) for b, e in runs]
        for k, name in enumerate(names):
            output = next(ours)
            if spec == "vwap":
                continue
            reference = np.full(6000, np.nan)
            for (b, e), piece in zip(runs, pieces):
                reference[b:e] = piece[k]
            compare(f"{spec} {name}", output, reference, bars["close"] if price_scaled else None)


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_many_symbols_on_threads_agree_with_talib_per_symbol(indicators_bin: Path, threads: str) -> None:
    symbols, symbol_bars = 12, 700
    parts = [random_walk_bars(100 + s, symbol_bars) for s in range(symbols)]
    bars = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    specs = ["sma:20", "ema:20", "rsi:14", "macd:12:26:9", "bbands:20:2:2"]
    outputs = run_indicators(indicators_bin, bars, specs, ("--symbol-bars", str(symbol_bars), "--threads", threads))
    for s, part in enumerate(parts):
        references = [talib.SMA(part["close"], 20), talib.EMA(part["close"], 20), talib.RSI(part["close"], 14),
                      *talib.MACD(part["close"], 12, 26, 9), *talib.BBANDS(part["close"], 20, 2.0, 2.0, 0)]
        window = slice(s * symbol_bars, (s + 1) * symbol_bars)
        for k, reference in enumerate(references):
            compare(f"symbol {s} output {k}", outputs[k][window], reference, part["close"] if 3 <= k <= 5 else None)


@pytest.mark.parametrize("spec, message", [
    ("sma:0", "Sma: period 0 is below the minimum 1"),
    ("macd:26:12:9", "fast_period 26 is above slow_period 12"),
    ("zscore:1", "VolumeZScore: period 1 is below the minimum 2"),
])
def test_bad_periods_are_refused_with_the_rule(indicators_bin: Path, spec: str, message: str) -> None:
    bars = random_walk_bars(1, 50)
    columns = np.concatenate([bars[c] for c in ("high", "low", "close", "volume", "session")]).astype("<f8")
    with tempfile.TemporaryDirectory() as tmp:
        columns.tofile(Path(tmp) / "in.f64")
        proc = subprocess.run([str(indicators_bin), str(Path(tmp) / "in.f64"), "50", str(Path(tmp) / "out.f64"), spec],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert message in proc.stderr
