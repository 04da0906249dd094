"""Bronze -> silver -> gold end to end with real processes: the market generator
(speaking Yahoo's chart format over HTTP) replayed day by day with `--as-of`, a
vendor correction served by a local HTTP server through the real Yahoo
connector, and `finlake models run` after every step.

Checked: the incremental result equals a full rebuild from the same bronze bit
for bit; adj_close equals an independent pandas computation and the
generator's own adjclose; gold's indicators equal TA-Lib; a run with nothing new
writes nothing."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from conftest import import_talib, run_finlake

SYMBOLS = "30"
STEPS = ["2022-02-15", "2022-04-20", "2022-06-30", "2022-09-15", "2022-12-30", "2023-03-31"]


def sql_df(lake, query) -> pd.DataFrame:
    out = run_finlake(lake, "sql", "--format", "json", query, check=True).stdout
    return pd.DataFrame(json.loads(out))


def sql_csv(lake, query) -> list[str]:
    return run_finlake(lake, "sql", "--format", "csv", query, check=True).stdout.splitlines()


def table_version(lake, table) -> int:
    out = run_finlake(lake, "describe", table, check=True).stdout
    return int(next(line for line in out.splitlines() if line.startswith("version:")).split()[1])


class CorrectionServer:
    """Answers /v8/finance/chart/<symbol> with one fixed Yahoo body."""

    def __init__(self, body: dict):
        payload = json.dumps(body).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def generator_payload(lake, symbol: str, age: int = 0) -> str:
    """The newest generator payload of `symbol` (age 0), or the one before (1)..."""
    return sql_df(lake, f"SELECT payload FROM bronze.generator_raw WHERE symbol = '{symbol}' "
                        f"ORDER BY fetched_at DESC LIMIT 1 OFFSET {age}")["payload"][0]


def corrected_chart(lake, symbol: str, index: int = -1, age: int = 0) -> dict:
    """The generator payload of `symbol` of that age with the close of bar `index`
    moved up 1% (and its high with it): a vendor's correction of that session
    (the last one by default). An older payload comes without its splits and
    dividends, which silver already has."""
    payload = generator_payload(lake, symbol, age)
    body = json.loads(payload)
    quote = body["chart"]["result"][0]["indicators"]["quote"][0]
    quote["close"][index] *= 1.01
    quote["high"][index] = max(quote["high"][index], quote["close"][index])
    if age > 0:
        body["chart"]["result"][0].pop("events", None)
    return body


def session_before_a_dividend(lake) -> tuple[str, int]:
    """(symbol, bar index) of the session just before a dividend's ex-date in the
    generator payloads before the newest ones: a dividend silver already has."""
    symbols = sql_df(lake, "SELECT DISTINCT symbol FROM bronze.generator_raw ORDER BY symbol")["symbol"]
    for symbol in symbols:
        result = json.loads(generator_payload(lake, symbol, age=1))["chart"]["result"][0]
        stamps = result["timestamp"]
        for dividend in result.get("events", {}).get("dividends", {}).values():
            after = [i for i, t in enumerate(stamps) if t >= dividend["date"]]
            if after and after[0] >= 2:
                return symbol, after[0] - 1 - len(stamps)
    raise AssertionError("the generator paid no dividend in the payloads before the newest")


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    """Lake A built step by step; lake B rebuilt once from A's bronze tables."""
    root = tmp_path_factory.mktemp("silver_gold")
    a, b = root / "a", root / "b"
    run_finlake(a, "init", check=True)
    run_finlake(a, "ingest", "generate", "--count", SYMBOLS, "--start", "2021-01-04", "--end", "2021-12-31",
                "--as-of", "2021-12-31", check=True)
    outputs = [run_finlake(a, "models", "run", check=True).stdout]
    previous = "2021-12-24"
    for step in STEPS:
        run_finlake(a, "ingest", "generate", "--count", SYMBOLS, "--start", previous, "--end", step, "--as-of", step,
                    check=True)
        if step == STEPS[2]:
            # A vendor corrects the last session: the yahoo source outranks the generator.
            with CorrectionServer(corrected_chart(a, "SYN0003")) as server:
                run_finlake(a, "ingest", "yahoo", "--symbols", "SYN0003", "--base-url", server.url, "--start",
                            previous, "--end", step, check=True)
        outputs.append(run_finlake(a, "models", "run", check=True).stdout)
        if step == STEPS[-1]:
            # Last, in a run of its own, a vendor corrects an older session: the one
            # before a stored dividend's ex-date, whose close is that dividend's
            # reference, so adj_close moves for every earlier session. The
            # payload has no events: only the reference close changes.
            symbol, index = session_before_a_dividend(a)
            with CorrectionServer(corrected_chart(a, symbol, index, age=1)) as server:
                run_finlake(a, "ingest", "yahoo", "--symbols", symbol, "--base-url", server.url, "--start",
                            STEPS[-3], "--end", STEPS[-2], check=True)
            outputs.append(run_finlake(a, "models", "run", check=True).stdout)
        previous = step
    run_finlake(b, "init", check=True)
    for source in ("generator", "yahoo"):
        run_finlake(b, "register", f"bronze.{source}_raw", a / "bronze" / f"{source}_raw", check=True)
    outputs_b = run_finlake(b, "models", "run", check=True).stdout
    return a, b, outputs, outputs_b


def test_incremental_runs_equal_a_full_rebuild_bit_for_bit(lakes):
    a, b, outputs, _ = lakes
    actions = sql_df(a, "SELECT kind, count(*) AS n FROM silver.corporate_actions GROUP BY kind")
    kinds = dict(zip(actions["kind"], actions["n"]))
    assert kinds.get("split", 0) >= 1 and kinds.get("dividend", 0) >= 10, kinds  # The steps did meet both.
    assert any(" updated" in out and " 0 updated" not in out for out in outputs[1:]), outputs
    # Appends carried the indicator state forward; a split, a dividend or the
    # correction recomputed a symbol from its first session.
    features = [line for out in outputs[1:] for line in out.splitlines() if line.startswith("gold.daily_features")]
    assert any(" 0 carried forward" not in line for line in features), features
    assert any(" 0 from their first session" not in line for line in features), features
    for table, key in [("silver.bars_1d", "symbol, session_date"), ("gold.daily_features", "symbol, session_date"),
                       ("silver.corporate_actions", "symbol, ex_date, kind"), ("silver.symbols", "symbol"),
                       ("gold.weekly_bars", "symbol, week_start"), ("gold.monthly_bars", "symbol, month_start"),
                       ("gold.market_summary", "session_date")]:
        query = f"SELECT * FROM {table} ORDER BY {key}"
        rows_a, rows_b = sql_csv(a, query), sql_csv(b, query)
        assert len(rows_a) > 1
        diff = [(x, y) for x, y in zip(rows_a, rows_b) if x != y]
        assert len(rows_a) == len(rows_b) and not diff, f"{table}: {len(rows_a)} vs {len(rows_b)} rows, {diff[:3]}"


def test_the_vendor_correction_wins_and_nothing_new_writes_nothing(lakes):
    a, _, _, _ = lakes
    row = sql_df(a, "SELECT source, close FROM silver.bars_1d WHERE symbol = 'SYN0003' AND session_date = "
                    f"DATE '{STEPS[2]}'")
    assert list(row["source"]) == ["yahoo"]
    versions = {t: table_version(a, t) for t in ("silver.bars_1d", "gold.daily_features", "silver.quarantine")}
    out = run_finlake(a, "models", "run", check=True).stdout
    assert "nothing new" in out
    assert {t: table_version(a, t) for t in versions} == versions


def test_adj_close_equals_pandas_and_the_generators_adjclose(lakes):
    a, _, _, _ = lakes
    bars = sql_df(a, "SELECT symbol, session_date::VARCHAR AS d, close, adj_close FROM silver.bars_1d "
                     "ORDER BY symbol, session_date")
    dividends = sql_df(a, "SELECT symbol, ex_date::VARCHAR AS d, cash_amount FROM silver.corporate_actions "
                          "WHERE kind = 'dividend'")
    # Independent CRSP back-adjustment: each dividend scales every earlier bar by
    # 1 - amount / the close of the last session before the ex-date.
    for symbol, group in bars.groupby("symbol"):
        factor = np.ones(len(group))
        dates = group["d"].to_numpy()
        closes = group["close"].to_numpy()
        for _, dividend in dividends[dividends["symbol"] == symbol].iterrows():
            before = np.nonzero(dates < dividend["d"])[0]
            if len(before) == 0:
                continue
            factor[: before[-1] + 1] *= 1 - dividend["cash_amount"] / closes[before[-1]]
        np.testing.assert_allclose(group["adj_close"].to_numpy(), closes * factor, rtol=1e-12, err_msg=symbol)
    # The generator's own adjclose, in the last payload (as of the last step): the
    # same adjustment, computed by different code from as-traded prices.
    latest = sql_df(a, "SELECT symbol, payload FROM bronze.generator_raw QUALIFY row_number() OVER "
                       "(PARTITION BY symbol ORDER BY fetched_at DESC) = 1")
    checked = 0
    for _, record in latest.iterrows():
        result = json.loads(record["payload"])["chart"]["result"][0]
        vendor = dict(zip(result["timestamp"], result["indicators"]["adjclose"][0]["adjclose"]))
        ours = sql_df(a, f"SELECT epoch(ts)::BIGINT AS t, session_date::VARCHAR AS d, adj_close FROM silver.bars_1d "
                         f"WHERE symbol = '{record['symbol']}' AND session_date > DATE '{STEPS[-2]}'")
        stamps = {pd.Timestamp(s, unit="s", tz="America/New_York").strftime("%Y-%m-%d"): v for s, v in vendor.items()}
        for _, bar in ours.iterrows():
            if bar["d"] in stamps and record["symbol"] != "SYN0003":
                assert bar["adj_close"] == pytest.approx(stamps[bar["d"]], rel=1e-9), (record["symbol"], bar["d"])
                checked += 1
    assert checked > 1000


def test_gold_features_equal_talib(lakes):
    talib = import_talib()
    a, _, _, _ = lakes
    bars = sql_df(a, "SELECT symbol, close, adj_close, high, low, volume FROM silver.bars_1d "
                     "WHERE symbol IN ('SYN0001', 'SYN0007', 'SYN0012') ORDER BY symbol, session_date")
    gold = sql_df(a, "SELECT * FROM gold.daily_features WHERE symbol IN ('SYN0001', 'SYN0007', 'SYN0012') "
                     "ORDER BY symbol, session_date")
    for symbol, group in bars.groupby("symbol"):
        g = gold[gold["symbol"] == symbol]
        adj = group["adj_close"].to_numpy(dtype=float)
        factor = adj / group["close"].to_numpy(dtype=float)
        volume = group["volume"].to_numpy(dtype=float)
        macd, signal, hist = talib.MACD(adj, 12, 26, 9)
        upper, middle, lower = talib.BBANDS(adj, 20, 2, 2)
        expected = {
            "sma_20": talib.SMA(adj, 20), "sma_200": talib.SMA(adj, 200), "ema_12": talib.EMA(adj, 12),
            "ema_26": talib.EMA(adj, 26), "rsi_14": talib.RSI(adj, 14), "macd": macd, "macd_signal": signal,
            "macd_hist": hist, "bb_upper_20": upper, "bb_middle_20": middle, "bb_lower_20": lower,
            "atr_14": talib.ATR(group["high"].to_numpy(dtype=float) * factor, group["low"].to_numpy(dtype=float) * factor,
                                adj, 14),
            "obv": talib.OBV(adj, volume),
        }
        for column, want in expected.items():
            got = g[column].to_numpy(dtype=float)
            assert np.array_equal(np.isnan(got), np.isnan(want)), (symbol, column)
            ok = ~np.isnan(want)
            scale = np.maximum(np.abs(want[ok]), np.abs(adj[ok]))  # MACD crosses zero: relative to the price.
            assert np.max(np.abs(got[ok] - want[ok]) / scale) < 1e-9, (symbol, column)
