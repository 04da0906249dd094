"""The market generator end to end: its local server speaks Yahoo and Alpha
Vantage well enough for the real connectors, deterministically."""
from __future__ import annotations

import json
import re
import subprocess

from conftest import finlake_binary, run_finlake


def test_ingest_generate_lands_a_reproducible_market(new_lake, tmp_path):
    proc = run_finlake(new_lake, "ingest", "generate", "--count", "4", "--start", "2024-01-01", "--end", "2024-12-31",
                       check=True)
    assert "4 symbols ok, 0 failed; 1008 bars" in proc.stdout, proc.stdout  # 252 sessions x 4.
    other = tmp_path / "other"
    run_finlake(other, "init", check=True)
    run_finlake(other, "ingest", "generate", "--count", "4", "--start", "2024-01-01", "--end", "2024-12-31", check=True)
    query = "SELECT symbol, payload_sha256 FROM bronze.generator_raw ORDER BY symbol"
    first = run_finlake(new_lake, "sql", "--format", "csv", query, check=True).stdout
    second = run_finlake(other, "sql", "--format", "csv", query, check=True).stdout
    assert first == second  # Same seed, same market, byte for byte.


def test_served_alpha_vantage_format_is_read_by_the_connector(new_lake):
    server = subprocess.Popen([str(finlake_binary()), "generate", "serve", "--port", "0", "--seconds", "60"],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", server.stdout.readline()).group(0)
        proc = run_finlake(new_lake, "ingest", "alphavantage", "--symbols", "SYN0001,SYN0002", "--base-url", url,
                           env={"FINLAKE_ALPHAVANTAGE_KEY": "local"}, check=True)
        assert "2 symbols ok" in proc.stdout and "200 bars" in proc.stdout, proc.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = json.loads(run_finlake(new_lake, "sql", "--format", "json",
                                  "SELECT payload FROM bronze.alphavantage_raw", check=True).stdout)
    series = json.loads(rows[0]["payload"])["Time Series (Daily)"]
    assert len(series) == 100 and all(set(v) == {"1. open", "2. high", "3. low", "4. close", "5. volume"}
                                      for v in series.values())


def test_intraday_minutes_through_the_yahoo_connector(new_lake):
    """1-minute bars of the last week, through the real connector: 390 a full session."""
    proc = run_finlake(new_lake, "ingest", "generate", "--count", "2", "--interval", "1m", check=True)
    assert "2 symbols ok" in proc.stdout, proc.stdout
    bars = int(re.search(r"(\d+) bars", proc.stdout).group(1))
    assert bars > 0 and bars % 2 == 0
    rows = json.loads(run_finlake(new_lake, "sql", "--format", "json",
                                  "SELECT payload FROM bronze.generator_raw", check=True).stdout)
    stamps = json.loads(rows[0]["payload"])["chart"]["result"][0]["timestamp"]
    assert all(b - a == 60 for a, b in zip(stamps, stamps[1:]) if b - a < 3600)  # Minute steps within a session.
