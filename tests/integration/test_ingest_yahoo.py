"""`finlake ingest yahoo` against a local server answering in Yahoo's real formats:
every failure mode ends in a clear outcome per symbol, what succeeded lands in
bronze as received, and nothing stored is lost or doubled."""
from __future__ import annotations

import hashlib
import json

import pytest

from conftest import SHARED_DIR, run_finlake
from replay_server import YahooReplay


@pytest.fixture
def replay(corpus_dir):
    with YahooReplay(SHARED_DIR) as server:
        yield server


def ingest(lake, replay, symbols, *extra, check=None):
    return run_finlake(lake, "ingest", "yahoo", "--symbols", symbols, "--base-url", replay.url,
                       "--start", "2021-02-01", "--end", "2022-01-31", "--timeout-ms", "1500", "--retries", "2",
                       *extra, check=check)


def bronze(lake, columns="symbol, http_status, payload_bytes, payload_sha256, payload"):
    out = run_finlake(lake, "sql", "--format", "json",
                      f"SELECT {columns} FROM bronze.yahoo_raw ORDER BY symbol, fetched_at", check=True).stdout
    return json.loads(out)


def test_good_symbols_land_as_received(new_lake, replay):
    proc = ingest(new_lake, replay, "AAPL,NVDA,MSFT,WEEKEND", check=True)
    assert "4 symbols ok, 0 failed" in proc.stdout, proc.stdout
    rows = bronze(new_lake)
    assert [r["symbol"] for r in rows] == ["AAPL", "MSFT", "NVDA", "WEEKEND"]
    for row in rows:
        assert row["http_status"] == 200
        assert hashlib.sha256(row["payload"].encode()).hexdigest() == row["payload_sha256"]
        assert len(row["payload"].encode()) == row["payload_bytes"]
    nvda = json.loads(next(r for r in rows if r["symbol"] == "NVDA")["payload"])
    assert len(nvda["chart"]["result"][0]["timestamp"]) == 252
    keys = bronze(new_lake, "DISTINCT request_key, date::VARCHAR AS date, region")
    assert all(json.loads(k["request_key"])["interval"] == "1d" for k in keys)
    assert {k["date"] for k in keys} == {"2022-01-31"}  # The last session of the pull.
    assert {k["region"] for k in keys} == {"us"}


def test_refetching_identical_payloads_adds_nothing(new_lake, replay):
    ingest(new_lake, replay, "NVDA,MSFT", check=True)
    proc = ingest(new_lake, replay, "NVDA,MSFT", check=True)
    assert "0 payloads landed (2 unchanged re-fetches skipped)" in proc.stdout, proc.stdout
    assert len(bronze(new_lake)) == 2


@pytest.mark.parametrize("symbol, status, needle", [
    ("GONE", "not_found", "No data found, symbol may be delisted"),
    ("NOTJSON", "malformed", "not JSON"),
    ("SHAPE", "malformed", "not as long as timestamp"),
    ("DEEP", "rejected", "Only 8 days worth of 1m"),
    ("TRUNCATED", "network_error", "TRUNCATED"),
    ("SLOW", "network_error", "SLOW"),
])
def test_each_failure_is_a_clear_outcome_and_keeps_the_rest(new_lake, replay, symbol, status, needle):
    proc = ingest(new_lake, replay, f"NVDA,{symbol}", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 symbols ok, 1 failed" in proc.stdout, proc.stdout
    line = next(l for l in proc.stdout.splitlines() if l.startswith("failed"))
    assert symbol in line and status in line and needle in line, line
    assert [r["symbol"] for r in bronze(new_lake)] == ["NVDA"]  # What succeeded is kept.


def test_transient_failures_are_retried(new_lake, replay):
    proc = ingest(new_lake, replay, "FLAKY,THROTTLED", check=True)
    assert "2 symbols ok" in proc.stdout
    assert replay.count("FLAKY") == 2 and replay.count("THROTTLED") == 2


def test_invalid_crumb_is_renewed_once(new_lake, replay):
    proc = ingest(new_lake, replay, "CRUMBED", check=True)
    assert "1 symbols ok" in proc.stdout
    assert any(p.startswith("/v1/test/getcrumb") for p in replay.requests)
    assert all("Xy7zAbC1dEf" not in r["request_key"] for r in bronze(new_lake, "request_key"))


def test_bad_arguments_are_refused(new_lake, replay):
    proc = run_finlake(new_lake, "ingest", "yahoo", "--symbols", "AAPL", "--base-url", replay.url,
                       "--interval", "7d", "--range", "5d", check=False)
    assert proc.returncode == 1 and "interval '7d'" in proc.stdout + proc.stderr
    proc = run_finlake(new_lake, "ingest", "yahoo", "--base-url", replay.url, check=False)
    assert proc.returncode == 1 and "universe" in proc.stderr


def test_quotes_need_the_crumb_and_name_unknown_symbols(new_lake, replay):
    proc = run_finlake(new_lake, "ingest", "yahoo", "--quotes", "--symbols", "AAPL,MSFT,ZZZZ",
                       "--base-url", replay.url, check=False)
    assert proc.returncode == 1
    assert "2 symbols ok, 1 failed" in proc.stdout, proc.stdout
    assert "failed  ZZZZ  not_found" in proc.stdout
    assert any(p.startswith("/v1/test/getcrumb") for p in replay.requests)
    assert replay.count("quote:AAPL") == 1  # One request for the batch.
    rows = bronze(new_lake, "symbol, request_key, payload")
    assert len(rows) == 1 and json.loads(rows[0]["request_key"])["symbols"] == ["AAPL", "MSFT", "ZZZZ"]
    assert "Xy7zAbC1dEf" not in rows[0]["request_key"] + proc.stdout + proc.stderr
    assert {q["symbol"] for q in json.loads(rows[0]["payload"])["quoteResponse"]["result"]} == {"AAPL", "MSFT"}
