// The indicator kernels of indicators.h as DuckDB SQL functions (ta_sma, ta_ema,
// ...). Each takes the series as a list, in bar order, and returns a list of the
// same length, element i belonging to bar i:
//
//   SELECT symbol, ta_ema(list(close ORDER BY session_date), 20) AS ema_20
//   FROM silver.bars_1d GROUP BY symbol
//
// Each also has an aggregate form, <name>_agg(columns..., order_key, parameters...),
// a SQL macro over DuckDB's list(... ORDER BY order_key):
//
//   SELECT symbol, ta_ema_agg(close, session_date, 20) AS ema_20
//   FROM silver.bars_1d GROUP BY symbol
//
// Not a C API aggregate: DuckDB 1.4.4's C API hands an aggregate's update
// callback a one-element constant state vector whenever the call carries ORDER
// BY (its sorted-aggregate wrapper) or runs as a window over a constant frame,
// while promising one state per row; reading the other rows' states reads past
// that buffer (duckdb/duckdb#21537, open). DuckDB's own list() sorts and merges
// partial states in parallel correctly, and a macro can take neither ORDER BY nor
// OVER (both are binder errors), so the order key is an argument.
//
// Conventions (README.md beside this header lists every function):
// - A NULL list element is a gap (NaN to the kernel). Every NaN the kernel writes
//   (the warm-up, gaps, a return over a zero price) comes back as a NULL element;
//   struct-valued functions (ta_macd, ta_bbands) set each field NULL on its own.
// - A NULL list or NULL parameter gives a NULL result (SQL's usual rule).
// - Errors name the SQL function and the rule, e.g. "ta_sma: period 0 is below the
//   minimum 1"; DuckDB reports them as "Invalid Input Error: ...".
#pragma once

#include <duckdb.h>

#include "finlake/core/status.h"

namespace finlake::analytics {

// Registers every ta_* function in the system catalog of the connection's
// database, so that every connection to it sees them. Call once per database: a
// second call fails because the names exist. Thread safety: as any statement on
// `connection`.
[[nodiscard]] Status RegisterIndicatorFunctions(duckdb_connection connection);

}  // namespace finlake::analytics
