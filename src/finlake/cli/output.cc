#include "finlake/cli/output.h"

#include <algorithm>
#include <ostream>
#include <vector>

namespace finlake::cli {

Result<OutputFormat> ParseOutputFormat(const std::string& name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  if (name == "parquet") return OutputFormat::kParquet;
  return Status::InvalidArgument("unknown --format '" + name + "' (use table, csv, json or parquet)");
}

namespace {

// Display width in characters, counting UTF-8 code points.
size_t Width(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

bool IsNumeric(duckdb_type type) {
  switch (type) {
    case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT: case DUCKDB_TYPE_INTEGER: case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT: case DUCKDB_TYPE_USMALLINT: case DUCKDB_TYPE_UINTEGER: case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT: case DUCKDB_TYPE_FLOAT: case DUCKDB_TYPE_DOUBLE: case DUCKDB_TYPE_DECIMAL:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string AsTextSql(const std::string& query_sql) {
  return "SELECT COLUMNS(*)::VARCHAR FROM (" + query_sql + ") AS __result";
}

bool IsNumericTypeName(const std::string& type) {
  static const std::vector<std::string> kPrefixes = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                                                     "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE",
                                                     "DECIMAL"};
  for (const std::string& prefix : kPrefixes) {
    if (type.rfind(prefix, 0) == 0 && type.find('[') == std::string::npos) return true;
  }
  return false;
}

void PrintTable(engine::QueryResult& result, const std::vector<bool>& numeric, std::ostream& out, int64_t max_rows) {
  int64_t columns = result.column_count();
  int64_t rows = std::min(result.row_count(), max_rows);
  std::vector<std::vector<std::string>> cells(static_cast<size_t>(rows));
  std::vector<size_t> widths(static_cast<size_t>(columns));
  std::vector<std::string> names;
  for (int64_t c = 0; c < columns; ++c) {
    names.push_back(result.column_name(c));
    widths[c] = Width(names.back());
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < columns; ++c) {
      std::string text = result.IsNull(c, r) ? "NULL" : result.GetString(c, r);
      widths[c] = std::max(widths[c], Width(text));
      cells[r].push_back(std::move(text));
    }
  }
  auto pad = [&](const std::string& text, size_t width, bool right) {
    std::string spaces(width - Width(text), ' ');
    return right ? spaces + text : text + spaces;
  };
  for (int64_t c = 0; c < columns; ++c) out << (c ? " | " : "") << pad(names[c], widths[c], false);
  out << '\n';
  for (int64_t c = 0; c < columns; ++c) out << (c ? "-+-" : "") << std::string(widths[c], '-');
  out << '\n';
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < columns; ++c) {
      bool right = static_cast<size_t>(c) < numeric.size() ? numeric[c] : IsNumeric(result.column_type(c));
      out << (c ? " | " : "") << pad(cells[r][c], widths[c], right);
    }
    out << '\n';
  }
  // The caller fetches at most max_rows + 1 rows: one more means "more".
  int64_t total = result.row_count();
  if (total > rows) {
    out << "(more than " << rows << " rows; the first " << rows << " shown: use --format csv, json or parquet for all)\n";
  } else {
    out << "(" << total << (total == 1 ? " row" : " rows") << ")\n";
  }
}

void PrintCsv(engine::QueryResult& result, std::ostream& out) {
  auto quote = [](const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) {
      if (c == '"') quoted += '"';
      quoted += c;
    }
    return quoted + "\"";
  };
  int64_t columns = result.column_count();
  for (int64_t c = 0; c < columns; ++c) out << (c ? "," : "") << quote(result.column_name(c));
  out << '\n';
  for (int64_t r = 0; r < result.row_count(); ++r) {
    for (int64_t c = 0; c < columns; ++c) {
      out << (c ? "," : "");
      if (!result.IsNull(c, r)) out << quote(result.GetString(c, r));
    }
    out << '\n';
  }
}

}  // namespace finlake::cli
