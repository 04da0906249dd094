// Row predicates a user hands to a write: `delete --where`, `import
// --replace-where`, `optimize --where`, `merge --delete-when`. Each is DuckDB SQL
// spliced into the statements the table runs on the lake's own engine, which can
// read and write files, so it is checked before it is spliced.
//
// A predicate must be one expression over the row's columns: DuckDB's parser
// reads `SELECT * FROM t WHERE (<predicate>\n)` as one plain SELECT whose only
// clause besides FROM is that WHERE. So a `;`, a closing parenthesis that opens a
// second clause (LIMIT, ORDER BY, GROUP BY, UNION, ...) and a comment that hides
// the rest of the statement are refused, and so is every subquery: a table
// function (read_csv('/etc/passwd'), query(...), glob(...)) and another lake file
// can only be reached from one. Parameters ($1, ?) are refused too. As in Delta
// on Spark, subqueries are not part of a DELETE condition.
//
// Column names and types are not checked here: DuckDB's binder does that when
// the predicate runs, and its error names the column.
#pragma once

#include <string>

#include "finlake/core/status.h"
#include "finlake/engine/engine.h"

namespace finlake::table {

// `predicate` wrapped as "(<predicate>\n)", ready to splice where an expression
// goes, or InvalidArgument naming `what` (e.g. "delete --where") and the rule
// broken. The newline ends a trailing `--` comment before the closing
// parenthesis, so the text checked is the text run.
[[nodiscard]] Result<std::string> CheckedPredicate(engine::Connection& connection, const std::string& predicate,
                                                   const std::string& what);

}  // namespace finlake::table
