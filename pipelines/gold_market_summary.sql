/*---
output: gold.market_summary
description: Per session - advancers and decliners, the top movers, volume by region
inputs: [silver.bars_1d, gold.daily_features]
keys: [session_date]
mode: incremental
incremental_key: session_date
checks:
  - {check: unique, columns: [session_date], blocking: true}
---*/
WITH day AS (
  SELECT b.session_date, b.symbol, b.region, b.volume, f.ret_1d
  FROM silver.bars_1d AS b
  LEFT JOIN gold.daily_features AS f ON f.symbol = b.symbol AND f.session_date = b.session_date
),
by_region AS (
  SELECT session_date, list({'region': region, 'volume': volume} ORDER BY region) AS volume_by_region
  FROM (SELECT session_date, region, sum(volume) AS volume FROM day GROUP BY session_date, region)
  GROUP BY session_date
)
SELECT d.session_date,
       count(*) AS symbols,
       count(*) FILTER (WHERE d.ret_1d > 0) AS advancers,
       count(*) FILTER (WHERE d.ret_1d < 0) AS decliners,
       count(*) FILTER (WHERE d.ret_1d = 0) AS unchanged,
       sum(d.volume) AS volume,
       max_by(d.symbol, d.ret_1d, 5) AS top_gainers,
       max(d.ret_1d, 5) AS top_gains,
       min_by(d.symbol, d.ret_1d, 5) AS top_losers,
       min(d.ret_1d, 5) AS top_losses,
       any_value(r.volume_by_region) AS volume_by_region
FROM day AS d JOIN by_region AS r USING (session_date)
GROUP BY d.session_date
