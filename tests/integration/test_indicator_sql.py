"""The ta_* SQL functions through ``finlake sql``, against TA-Lib.

A lake table holds three symbols' daily bars in shuffled row order; one query
computes ta_ema, ta_rsi and ta_macd per symbol over ``list(close ORDER BY
session_date)``, and each series must match TA-Lib on that symbol's sorted closes
to 1e-9 relative (MACD relative to the price, as in test_indicators_talib.py: the
line crosses zero). NULL list elements must sit exactly where TA-Lib has NaN.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import import_talib, run_finlake

talib = import_talib()

RELATIVE_TOLERANCE = 1e-9
BARS = 600
SYMBOLS = ("AAA", "BBB", "CCC")
TABLE = "bronze.bars"


def closes(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, BARS)))


@pytest.fixture
def lake(new_lake: Path, tmp_path: Path) -> Path:
    """TABLE (symbol, session_date, close) with the bars of SYMBOLS in random row order."""
    start = datetime.date(2020, 1, 1)
    symbol, date, close = [], [], []
    for seed, name in enumerate(SYMBOLS, start=1):
        symbol += [name] * BARS
        date += [start + datetime.timedelta(days=i) for i in range(BARS)]
        close += closes(seed).tolist()
    order = np.random.default_rng(99).permutation(len(close))
    table = pa.table(
        {
            "symbol": pa.array([symbol[i] for i in order], pa.string()),
            "session_date": pa.array([date[i] for i in order], pa.date32()),
            "close": pa.array([close[i] for i in order], pa.float64()),
        }
    )
    path = tmp_path / "bars.parquet"
    pq.write_table(table, path)
    run_finlake(new_lake, "import", TABLE, path, "--create", check=True)
    return new_lake


def as_array(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def compare(name: str, ours: np.ndarray, reference: np.ndarray, scale: np.ndarray | None = None) -> None:
    ours_nan, reference_nan = np.isnan(ours), np.isnan(reference)
    mismatched = np.flatnonzero(ours_nan != reference_nan)
    assert mismatched.size == 0, f"{name}: NULL/NaN at different bars, first {mismatched[:5].tolist()}"
    valid = ~reference_nan
    denominator = np.abs(reference[valid])
    if scale is not None:
        denominator = np.maximum(denominator, np.abs(scale[valid]))
    errors = np.abs(ours[valid] - reference[valid]) / np.maximum(denominator, np.finfo(float).tiny)
    worst = int(np.argmax(errors))
    assert errors[worst] <= RELATIVE_TOLERANCE, f"{name}: relative error {errors[worst]:.3g} at bar {worst}"


def test_ema_rsi_macd_per_symbol_agree_with_talib(lake: Path) -> None:
    query = (
        "SELECT symbol,"
        " ta_ema(list(close ORDER BY session_date), 20) AS ema,"
        " ta_rsi(list(close ORDER BY session_date), 14) AS rsi,"
        " ta_macd(list(close ORDER BY session_date)) AS macd"
        f" FROM {TABLE} GROUP BY symbol ORDER BY symbol"
    )
    proc = run_finlake(lake, "sql", "--format", "json", query, check=True)
    rows = json.loads(proc.stdout)
    assert [row["symbol"] for row in rows] == list(SYMBOLS)
    for seed, row in enumerate(rows, start=1):
        close = closes(seed)
        assert len(row["ema"]) == BARS
        compare(f"{row['symbol']} ema", as_array(row["ema"]), talib.EMA(close, timeperiod=20))
        compare(f"{row['symbol']} rsi", as_array(row["rsi"]), talib.RSI(close, timeperiod=14))
        line, signal, histogram = talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)
        for field, reference in (("macd", line), ("signal", signal), ("hist", histogram)):
            ours = as_array([element[field] for element in row["macd"]])
            compare(f"{row['symbol']} macd.{field}", ours, reference, scale=close)


def test_aggregate_forms_agree_with_talib(lake: Path) -> None:
    query = (
        "SELECT symbol, ta_ema_agg(close, session_date, 20) AS ema, ta_bbands_agg(close, session_date, 20) AS bb"
        f" FROM {TABLE} GROUP BY symbol ORDER BY symbol"
    )
    rows = json.loads(run_finlake(lake, "sql", "--format", "json", query, check=True).stdout)
    assert [row["symbol"] for row in rows] == list(SYMBOLS)
    for seed, row in enumerate(rows, start=1):
        close = closes(seed)
        compare(f"{row['symbol']} ema_agg", as_array(row["ema"]), talib.EMA(close, timeperiod=20))
        upper, middle, lower = talib.BBANDS(close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0)
        for field, reference in (("upper", upper), ("middle", middle), ("lower", lower)):
            compare(f"{row['symbol']} bbands_agg.{field}", as_array([e[field] for e in row["bb"]]), reference)


def test_unnest_gives_one_row_per_bar_with_its_date(lake: Path) -> None:
    query = (
        "SELECT symbol, unnest(dates)::VARCHAR AS session_date, unnest(rsi) AS rsi_14"
        " FROM (SELECT symbol, list(session_date ORDER BY session_date) AS dates,"
        " ta_rsi(list(close ORDER BY session_date), 14) AS rsi"
        f" FROM {TABLE} GROUP BY symbol) ORDER BY symbol, session_date"
    )
    rows = json.loads(run_finlake(lake, "sql", "--format", "json", query, check=True).stdout)
    assert len(rows) == BARS * len(SYMBOLS)
    first = [row for row in rows if row["symbol"] == "AAA"]
    assert first[0]["session_date"] == "2020-01-01" and first[0]["rsi_14"] is None
    compare("AAA rsi via unnest", as_array([row["rsi_14"] for row in first]), talib.RSI(closes(1), timeperiod=14))


def test_bad_period_is_a_clear_error(lake: Path) -> None:
    proc = run_finlake(lake, "sql", f"SELECT ta_ema(list(close), 0) FROM {TABLE}", check=False)
    assert "ta_ema: period 0 is below the minimum 1" in proc.stderr
