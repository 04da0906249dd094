// Delta and Spark SQL's time-travel clauses, rewritten into DuckDB's.
//
//   SELECT * FROM silver.bars_1d VERSION AS OF 12 b            (Delta / Spark)
//   SELECT * FROM silver.bars_1d AS b AT (VERSION => 12)        (DuckDB)
//
//   ... FROM t TIMESTAMP AS OF '2026-11-30 21:00:00' [AS] x
//   ... FROM t AS x AT (TIMESTAMP => '2026-11-30 21:00:00')
//
// DuckDB's parser knows only its own `AT (...)` form, and puts the alias before
// it; Spark puts the alias after the temporal clause. The rewrite works on tokens:
// string literals, quoted identifiers and comments are skipped whole, so a
// "VERSION AS OF 3" inside a literal or a comment stays as it is. The version must
// be an integer literal, the timestamp a string literal (Delta's own examples);
// anything else, or a clause that does not follow a table name, is an
// InvalidArgument that says what was expected. Text without either clause comes
// back unchanged.
//
// Thread-safe: a pure function.
#pragma once

#include <string>

#include "finlake/core/status.h"

namespace finlake::sql {

[[nodiscard]] Result<std::string> RewriteTimeTravel(const std::string& sql);

}  // namespace finlake::sql
