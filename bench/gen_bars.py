"""Deterministic synthetic daily bars, written once as the append benchmark's source.

    python bench/gen_bars.py ROWS OUT.parquet

Rows are (symbol, session) pairs: 2,000 weekday sessions from 2000-01-03 per
symbol, symbols S00000, S00001, ... in order, so ROWS=10,000,000 is 5,000
symbols. Prices are a smooth per-symbol curve plus hash noise; everything is a
function of the row number (DuckDB's hash()), so the file's rows are the same on
every run. Columns are the daily-bar shape of silver.bars_1d:

    symbol VARCHAR, session_date DATE, ts TIMESTAMPTZ, open/high/low/close/adj_close
    DOUBLE, volume BIGINT, currency/exchange/region/source VARCHAR,
    ingested_at TIMESTAMPTZ
"""

import os
import sys

import duckdb

SESSIONS_PER_SYMBOL = 2000

SCHEMA = ("symbol VARCHAR, session_date DATE, ts TIMESTAMPTZ, open DOUBLE, high DOUBLE, low DOUBLE, "
          "close DOUBLE, adj_close DOUBLE, volume BIGINT, currency VARCHAR, exchange VARCHAR, "
          "region VARCHAR, source VARCHAR, ingested_at TIMESTAMPTZ")


def source_sql(rows):
    d = SESSIONS_PER_SYMBOL
    return f"""
    WITH p AS (
      SELECT i, i // {d} AS s, i % {d} AS d FROM range({rows}) t(i)),
    v AS (
      SELECT i, s, d,
             DATE '2000-01-03' + ((d // 5) * 7 + d % 5)::INTEGER AS session_date,
             (10 + hash(s) % 490)::DOUBLE
               * exp(0.25 * sin(d / 37.0 + s) + 0.1 * sin(d / 5.3 + 2 * s)
                     + ((hash(i) % 2001)::BIGINT - 1000) / 100000.0) AS px,
             ((hash(i + 1) % 201)::BIGINT - 100) / 10000.0 AS gap,
             (hash(i + 2) % 150)::BIGINT / 10000.0 AS wick
      FROM p)
    SELECT
      'S' || lpad(s::VARCHAR, 5, '0') AS symbol,
      session_date,
      (session_date::TIMESTAMP + INTERVAL 21 HOUR)::TIMESTAMPTZ AS ts,
      round(px * (1 + gap), 4) AS open,
      round(greatest(px, px * (1 + gap)) * (1 + wick), 4) AS high,
      round(least(px, px * (1 + gap)) * (1 - wick), 4) AS low,
      round(px, 4) AS close,
      round(px * (1 - (d % 250) / 25000.0), 4) AS adj_close,
      (100000 + hash(i + 3) % 10000000)::BIGINT AS volume,
      ['USD', 'USD', 'EUR', 'GBP', 'JPY'][s % 5 + 1] AS currency,
      ['XNAS', 'XNYS', 'XETR', 'XLON', 'XTKS'][s % 5 + 1] AS exchange,
      ['us', 'us', 'eu', 'uk', 'jp'][s % 5 + 1] AS region,
      ['vendor_a', 'vendor_b'][s % 2 + 1] AS source,
      (session_date::TIMESTAMP + INTERVAL 23 HOUR)::TIMESTAMPTZ
        + to_microseconds((hash(i + 4) % 3600000000)::BIGINT) AS ingested_at
    FROM v
    ORDER BY i"""


def generate(rows, out):
    tmp = out + ".tmp"
    if os.path.exists(tmp):
        os.remove(tmp)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET enable_progress_bar=false")
    con.execute(f"COPY ({source_sql(rows)}) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)")
    con.close()
    os.replace(tmp, out)


def row_count(path):
    con = duckdb.connect()
    try:
        return con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]
    finally:
        con.close()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    generate(int(sys.argv[1]), sys.argv[2])
    print(f"wrote {row_count(sys.argv[2])} rows to {sys.argv[2]}")
