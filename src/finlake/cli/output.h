// Printing query results: aligned table, CSV, JSON, or Parquet (`--format`).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "finlake/core/status.h"
#include "finlake/engine/engine.h"

namespace finlake::cli {

enum class OutputFormat { kTable, kCsv, kJson, kParquet };

[[nodiscard]] Result<OutputFormat> ParseOutputFormat(const std::string& name);

// The SELECT that returns a query's columns as DuckDB's text forms, which the
// table and CSV formats print (the C API's value_varchar does not cover every type).
std::string AsTextSql(const std::string& query_sql);
bool IsNumericTypeName(const std::string& duckdb_type);

// Prints a result as an aligned table of at most `max_rows` rows, numbers
// right-aligned where `numeric[column]` says so; a result of more rows (the
// caller fetches max_rows + 1 at most) ends with "(more than N rows; ...)". Or
// as RFC 4180 CSV with a header line.
void PrintTable(engine::QueryResult& result, const std::vector<bool>& numeric, std::ostream& out, int64_t max_rows);
void PrintCsv(engine::QueryResult& result, std::ostream& out);

}  // namespace finlake::cli
