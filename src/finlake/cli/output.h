// Printing query results: aligned table, CSV, JSON, or Parquet (`--format`).
#pragma once

#include <iosfwd>
#include <string>

#include "finlake/core/status.h"
#include "finlake/engine/engine.h"

namespace finlake::cli {

enum class OutputFormat { kTable, kCsv, kJson, kParquet };

[[nodiscard]] Result<OutputFormat> ParseOutputFormat(const std::string& name);

// Prints a result as an aligned table of at most `max_rows` rows (saying how many
// were left out) or as RFC 4180 CSV with a header line.
void PrintTable(engine::QueryResult& result, std::ostream& out, int64_t max_rows);
void PrintCsv(engine::QueryResult& result, std::ostream& out);

}  // namespace finlake::cli
