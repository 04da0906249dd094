/*---
output: gold.weekly_bars
description: Weekly bars per symbol on the exchange calendar (the sessions of each calendar week)
inputs: [silver.bars_1d]
keys: [symbol, week_start]
mode: incremental
incremental_key: symbol
checks:
  - {check: unique, columns: [symbol, week_start], blocking: true}
  - {check: not_null, columns: [symbol, week_start, close]}
---*/
-- week_start is the Monday of the week, a holiday or not; first_session and
-- last_session are the week's real sessions, so a holiday-shortened week has
-- fewer sessions, never a made-up bar.
SELECT symbol,
       date_trunc('week', session_date)::DATE AS week_start,
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
GROUP BY symbol, date_trunc('week', session_date)
