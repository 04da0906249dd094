// Delta per-file statistics from DuckDB's COPY ... RETURN_STATS ("Per-file Statistics").
#include <cmath>
#include <cstdio>
#include <ctime>

#include "finlake/core/limits.h"
#include "finlake/core/strings.h"
#include "finlake/table/table.h"

namespace finlake::table {

using nlohmann::json;

namespace {

// Parses DuckDB's TIMESTAMPTZ text "2024-01-01 00:00:09.123456+00" (UTC, as the
// engine runs in UTC) into microseconds since the epoch.
bool ParseDuckTimestampMicros(const std::string& text, int64_t* micros) {
  int year, month, day, hour, minute, second;
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &year, &month, &day, &hour, &minute, &second) != 6) {
    return false;
  }
  int64_t fraction = 0;
  size_t dot = text.find('.', 10);
  if (dot != std::string::npos) {
    int digits = 0;
    for (size_t i = dot + 1; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      if (digits < 6) {
        fraction = fraction * 10 + (text[i] - '0');
        ++digits;
      }
    }
    while (digits++ < 6) fraction *= 10;
  }
  // Zone suffix: the engine runs in UTC, so DuckDB prints +00; anything else is refused.
  size_t zone = text.find_first_of("+-", 19);
  if (zone != std::string::npos && text.compare(zone, 3, "+00") != 0) return false;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  int64_t seconds = timegm(&tm);
  *micros = seconds * 1000000 + fraction;
  return true;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// A JSON value for a min or max in Delta's stats form, or null when it cannot be
// represented without loosening the bound the wrong way.
json StatValue(const delta::DataType& type, const std::string& text, bool is_max) {
  if (type.kind == delta::DataType::Kind::kDecimal) return nullptr;  // Exact decimals do not fit a JSON double.
  if (type.kind != delta::DataType::Kind::kPrimitive) return nullptr;
  const std::string& p = type.primitive;
  try {
    if (p == "long" || p == "integer" || p == "short" || p == "byte") return std::stoll(text);
    if (p == "double" || p == "float") {
      double value = std::stod(text);
      if (!std::isfinite(value)) return nullptr;
      return value;
    }
  } catch (const std::exception&) {
    return nullptr;
  }
  if (p == "date") return text;
  if (p == "string") {
    if (static_cast<int>(text.size()) <= limits::kStatsStringPrefixMax) return text;
    // A truncated prefix is a valid lower bound but not an upper bound.
    if (is_max) return nullptr;
    size_t cut = limits::kStatsStringPrefixMax;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary.
    return text.substr(0, cut);
  }
  if (p == "timestamp") {
    int64_t micros = 0;
    if (!ParseDuckTimestampMicros(text, &micros)) return nullptr;
    // Delta stats carry milliseconds: round the min down and the max up, so the
    // bounds still hold every value (the "truncated max" trap of Spark's stats).
    int64_t millis = is_max ? -FloorDiv(-micros, 1000) : FloorDiv(micros, 1000);
    return FormatIsoMillis(millis);
  }
  return nullptr;  // boolean, binary: no bounds.
}

}  // namespace

std::string DeltaStatsJson(const delta::Schema& schema, const std::vector<std::string>& partition_columns,
                           int64_t num_records, const json& column_statistics) {
  json min_values = json::object(), max_values = json::object(), null_count = json::object();
  for (const delta::StructField& field : schema.fields) {
    bool is_partition = false;
    for (const std::string& column : partition_columns) is_partition |= ToLower(column) == ToLower(field.name);
    if (is_partition || field.type.IsNested()) continue;
    auto it = column_statistics.find(SqlIdentifier(field.name));
    if (it == column_statistics.end()) it = column_statistics.find(field.name);
    if (it == column_statistics.end() || !it->is_object()) continue;
    const json& stats = *it;
    if (stats.contains("null_count") && stats["null_count"].is_string()) {
      null_count[field.name] = std::stoll(stats["null_count"].get<std::string>());
    }
    if (stats.value("has_nan", "false") == "true") continue;
    if (stats.contains("min") && stats["min"].is_string()) {
      json value = StatValue(field.type, stats["min"].get<std::string>(), false);
      if (!value.is_null()) min_values[field.name] = value;
    }
    if (stats.contains("max") && stats["max"].is_string()) {
      json value = StatValue(field.type, stats["max"].get<std::string>(), true);
      if (!value.is_null()) max_values[field.name] = value;
    }
  }
  json out = {{"numRecords", num_records},
              {"minValues", min_values},
              {"maxValues", max_values},
              {"nullCount", null_count}};
  return out.dump();
}

}  // namespace finlake::table
