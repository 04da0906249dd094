/*---
output: gold.monthly_bars
description: Monthly bars per symbol on the exchange calendar (the sessions of each calendar month)
inputs: [silver.bars_1d]
keys: [symbol, month_start]
mode: incremental
incremental_key: symbol
checks:
  - {check: unique, columns: [symbol, month_start], blocking: true}
---*/
SELECT symbol,
       date_trunc('month', session_date)::DATE AS month_start,
       min(session_date) AS first_session,
       max(session_date) AS last_session,
       count(*) AS sessions,
       arg_min(open, session_date) AS open,
       max(high) AS high,
       min(low) AS low,
       arg_max(close, session_date) AS close,
       arg_max(adj_close, session_date) AS adj_close,
       sum(volume) AS volume,
       arg_max(currency, session_date) AS currency
FROM silver.bars_1d
GROUP BY symbol, date_trunc('month', session_date)
