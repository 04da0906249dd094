"""`finlake ingest alphavantage` against a local server answering like Alpha Vantage:
data lands as received; "Error Message", "Note" and "Information" bodies (all HTTP
200) are outcomes, never data; the daily quota stops the rest of the universe; the
API key reaches no table and no message."""
from __future__ import annotations

import json

import pytest

from conftest import SHARED_DIR, run_finlake
from replay_server import AV_KEY, AlphaVantageReplay


@pytest.fixture
def replay(corpus_dir):
    with AlphaVantageReplay(SHARED_DIR) as server:
        yield server


def ingest(lake, replay, symbols, *extra, check=None, key=AV_KEY):
    return run_finlake(lake, "ingest", "alphavantage", "--symbols", symbols, "--base-url", replay.url,
                       "--date", "2025-07-18", "--burst-wait-ms", "50", "--timeout-ms", "3000", *extra,
                       check=check, env={"FINLAKE_ALPHAVANTAGE_KEY": key, "ALPHAVANTAGE_API_KEY": None})


def bronze(lake):
    out = run_finlake(lake, "sql", "--format", "json",
                      "SELECT symbol, request_key, payload, date::VARCHAR AS date FROM bronze.alphavantage_raw "
                      "ORDER BY symbol", check=True).stdout
    return json.loads(out)


def test_daily_json_and_csv_and_quotes_land(new_lake, replay):
    proc = ingest(new_lake, replay, "AAPL,IBM", check=True)
    assert "2 symbols ok" in proc.stdout and "102 bars" in proc.stdout, proc.stdout
    ingest(new_lake, replay, "AAPL", "--datatype", "csv", check=True)
    ingest(new_lake, replay, "MSFT", "--function", "GLOBAL_QUOTE", check=True)
    rows = bronze(new_lake)
    assert [r["symbol"] for r in rows] == ["AAPL", "AAPL", "IBM", "MSFT"]
    assert {r["date"] for r in rows} == {"2025-07-18"}
    for row in rows:
        assert AV_KEY not in row["request_key"] and AV_KEY not in row["payload"]
    assert any(r["payload"].startswith("timestamp,open") for r in rows)


@pytest.mark.parametrize("symbol, args, status, needle", [
    ("BADSYM", [], "not_found", "Invalid API call"),
    ("PREMIUM", [], "rejected", "premium endpoint"),
    ("NOTE", [], "rate_limited", "5 calls per minute"),
    ("NOPE", ["--function", "GLOBAL_QUOTE"], "not_found", "Global Quote is empty"),
])
def test_notices_are_outcomes_not_data(new_lake, replay, symbol, args, status, needle):
    proc = ingest(new_lake, replay, f"IBM,{symbol}", *args, check=False)
    assert proc.returncode == 1
    line = next(l for l in proc.stdout.splitlines() if l.startswith("failed"))
    assert symbol in line and status in line and needle in line, line
    assert AV_KEY not in proc.stdout + proc.stderr


def test_burst_notice_is_retried(new_lake, replay):
    proc = ingest(new_lake, replay, "BURST", check=True)
    assert "1 symbols ok" in proc.stdout
    assert replay.count("BURST") == 2


def test_daily_quota_stops_the_rest_of_the_universe(new_lake, replay):
    proc = ingest(new_lake, replay, "AAPL,QUOTA,IBM", "--concurrency", "1", check=False)
    assert proc.returncode == 1
    assert "1 symbols ok, 2 failed" in proc.stdout, proc.stdout
    assert replay.count("IBM") == 0  # Never sent: the quota was spent.
    assert [r["symbol"] for r in bronze(new_lake)] == ["AAPL"]  # What succeeded is kept.


def test_a_configured_daily_limit_refuses_without_sending(new_lake, replay):
    proc = ingest(new_lake, replay, "AAPL,IBM", "--requests-per-day", "1", "--concurrency", "1", check=False)
    assert "1 symbols ok, 1 failed" in proc.stdout and "quota_exhausted" in proc.stdout, proc.stdout
    assert replay.count("IBM") == 0


def test_missing_or_invalid_key(new_lake, replay):
    proc = ingest(new_lake, replay, "AAPL", key="", check=False)
    assert proc.returncode == 1 and "FINLAKE_ALPHAVANTAGE_KEY" in proc.stderr
    proc = ingest(new_lake, replay, "AAPL", key="WRONG", check=False)
    assert "unauthorized" in proc.stdout and "WRONG" not in proc.stdout + proc.stderr


def test_source_settings_from_the_lake_config(new_lake, replay):
    """base_url and the key's environment variable come from sources.alphavantage."""
    (new_lake / "finlake.yaml").write_text(
        f"sources:\n  alphavantage: {{base_url: '{replay.url}', api_key_env: MY_AV_KEY}}\n")
    proc = run_finlake(new_lake, "ingest", "alphavantage", "--symbols", "IBM", "--date", "2025-07-18",
                       env={"MY_AV_KEY": AV_KEY, "FINLAKE_ALPHAVANTAGE_KEY": None, "ALPHAVANTAGE_API_KEY": None},
                       check=True)
    assert "1 symbols ok" in proc.stdout


def test_http_log_is_redacted(new_lake, replay):
    """With FINLAKE_LOG set, the HTTP client logs its requests' fate; the key never appears."""
    proc = run_finlake(new_lake, "ingest", "alphavantage", "--symbols", "IBM", "--base-url", "http://127.0.0.1:1",
                       "--retries", "1", "--timeout-ms", "500", "--date", "2025-07-18",
                       env={"FINLAKE_ALPHAVANTAGE_KEY": AV_KEY, "FINLAKE_LOG": "1"}, check=False)
    assert proc.returncode == 1
    assert "finlake: http:" in proc.stderr, proc.stderr
    assert "apikey=***" in proc.stderr + proc.stdout
    assert AV_KEY not in proc.stderr + proc.stdout


def test_intraday_series(new_lake, replay):
    proc = ingest(new_lake, replay, "IBM", "--function", "TIME_SERIES_INTRADAY", "--interval", "5min", check=True)
    assert "1 symbols ok" in proc.stdout, proc.stdout
    key = json.loads(bronze(new_lake)[0]["request_key"])
    assert key["function"] == "TIME_SERIES_INTRADAY" and key["interval"] == "5min"


def test_one_minute_bars_are_fetched_as_traded_and_reach_silver(new_lake, replay):
    ingest(new_lake, replay, "MSFT", "--function", "TIME_SERIES_INTRADAY", "--interval", "1min", check=True)
    assert "adjusted=false&extended_hours=false" in replay.requests[-1], replay.requests
    key = json.loads(bronze(new_lake)[0]["request_key"])
    assert key["adjusted"] is False and key["extended_hours"] is False
    out = run_finlake(new_lake, "models", "run", "silver.bars_1d", check=True).stdout
    assert "0 rows quarantined" in out, out
    rows = json.loads(run_finlake(new_lake, "sql", "--format", "json",
                                  "SELECT count(*) AS n, min(ts)::VARCHAR AS first, max(source) AS source "
                                  "FROM silver.bars_1m WHERE symbol = 'MSFT'", check=True).stdout)
    # The 2017 capture labels minute ends: 13:17 EST is the minute from 13:16 (18:16Z).
    assert rows == [{"n": 100, "first": "2017-12-18 18:16:00+00", "source": "alphavantage"}]
