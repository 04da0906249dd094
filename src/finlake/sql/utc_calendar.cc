#include "finlake/sql/utc_calendar.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "finlake/core/strings.h"

namespace finlake::sql {

using nlohmann::json;

namespace {

std::string Text(const json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : "";
}

// A plain call node as json_serialize_sql writes one.
json Call(const std::string& name, json argument) {
  return {{"class", "FUNCTION"},
          {"type", "FUNCTION"},
          {"alias", ""},
          {"query_location", json(UINT64_MAX)},
          {"function_name", name},
          {"schema", ""},
          {"children", json::array({std::move(argument)})},
          {"filter", nullptr},
          {"order_bys", {{"type", "ORDER_MODIFIER"}, {"orders", json::array()}}},
          {"distinct", false},
          {"is_operator", false},
          {"export_state", false},
          {"catalog", ""}};
}

// The instant as a TIMESTAMP (wall time in UTC), and back.
json Wall(json timestamptz) { return Call("make_timestamp", Call("epoch_us", std::move(timestamptz))); }
json Zoned(json timestamp) { return Call("make_timestamptz", Call("epoch_us", std::move(timestamp))); }

bool Among(const std::string& word, const std::vector<std::string>& words) {
  return std::find(words.begin(), words.end(), ToLower(word)) != words.end();
}

// Parts whose value is the same for a TIMESTAMP and, in UTC, a TIMESTAMPTZ.
const std::vector<std::string>& Parts() {
  static const std::vector<std::string> kParts = {
      "year", "years", "y", "yr", "yrs", "quarter", "quarters", "month", "months", "mon", "week", "weeks", "w",
      "day", "days", "d", "dayofmonth", "dow", "dayofweek", "weekday", "isodow", "doy", "dayofyear", "isoyear",
      "yearweek", "hour", "hours", "h", "hr", "hrs", "minute", "minutes", "m", "min", "mins", "second", "seconds",
      "s", "sec", "secs", "millisecond", "milliseconds", "ms", "msec", "msecs", "microsecond", "microseconds", "us",
      "usec", "usecs", "decade", "century", "millennium", "era"};
  return kParts;
}

// One-argument functions named after a part: year(ts), hour(ts), ...
const std::vector<std::string>& PartFunctions() {
  static const std::vector<std::string> kFunctions = {
      "year", "quarter", "month", "week", "weekofyear", "day", "dayofmonth", "dayofweek", "weekday", "isodow",
      "dayofyear", "isoyear", "yearweek", "hour", "minute", "second", "millisecond", "microsecond", "decade",
      "century", "millennium", "era"};
  return kFunctions;
}

// A call with several arguments, and the operators json_serialize_sql writes.
json CallN(const std::string& name, json arguments) {
  json call = Call(name, json());
  call["children"] = std::move(arguments);
  return call;
}
json Integer(int64_t value) {
  return {{"class", "CONSTANT"},
          {"type", "VALUE_CONSTANT"},
          {"alias", ""},
          {"query_location", json(UINT64_MAX)},
          {"value", {{"type", {{"id", "BIGINT"}, {"type_info", nullptr}}}, {"is_null", false}, {"value", value}}}};
}
json Operator(const char* name, json left, json right) {
  json call = CallN(name, json::array({std::move(left), std::move(right)}));
  call["is_operator"] = true;
  return call;
}
json Compare(json left, json right) {
  return {{"class", "COMPARISON"},
          {"type", "COMPARE_GREATERTHANOREQUALTO"},
          {"alias", ""},
          {"query_location", json(UINT64_MAX)},
          {"left", std::move(left)},
          {"right", std::move(right)}};
}
json Case(json when, json then, json otherwise) {
  return {{"class", "CASE"},
          {"type", "CASE_EXPR"},
          {"alias", ""},
          {"query_location", json(UINT64_MAX)},
          {"case_checks", json::array({{{"when_expr", std::move(when)}, {"then_expr", std::move(then)}}})},
          {"else_expr", std::move(otherwise)}};
}

constexpr int64_t kMicrosPerDay = 86'400'000'000;

// The width in microseconds of a fixed-width truncation unit, and the offset of
// its buckets from the epoch (weeks start on Monday, 1970-01-05).
struct Grid {
  int64_t width;
  int64_t offset;
};

std::optional<Grid> TruncationGrid(const std::string& part) {
  const std::string p = ToLower(part);
  if (Among(p, {"microsecond", "microseconds", "us", "usec", "usecs"})) return Grid{1, 0};
  if (Among(p, {"millisecond", "milliseconds", "ms", "msec", "msecs"})) return Grid{1'000, 0};
  if (Among(p, {"second", "seconds", "s", "sec", "secs"})) return Grid{1'000'000, 0};
  if (Among(p, {"minute", "minutes", "m", "min", "mins"})) return Grid{60'000'000, 0};
  if (Among(p, {"hour", "hours", "h", "hr", "hrs"})) return Grid{3'600'000'000, 0};
  if (Among(p, {"day", "days", "d"})) return Grid{kMicrosPerDay, 0};
  if (Among(p, {"week", "weeks", "w"})) return Grid{7 * kMicrosPerDay, 4 * kMicrosPerDay};
  return std::nullopt;
}

// The width of INTERVAL '<n unit> [<n unit> ...]' in whole numbers of weeks and
// days, or of hours, minutes, seconds, milliseconds and microseconds (time_bucket
// refuses days with a time part, and so is this left to it). Anything else
// (months, fractions, signs, '00:05:00') is not a fixed grid here.
std::optional<int64_t> IntervalMicros(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text + " ") {
    if (c == ' ') {
      if (!word.empty()) words.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  if (words.empty() || words.size() % 2 != 0) return std::nullopt;
  int64_t days = 0, micros = 0;
  for (size_t i = 0; i < words.size(); i += 2) {
    const std::string& count = words[i];
    if (count.size() > 6 || !std::all_of(count.begin(), count.end(), ::isdigit)) return std::nullopt;
    const std::string unit = ToLower(words[i + 1]);
    if (Among(unit, {"week", "weeks"})) {
      days += 7 * std::stoll(count);
    } else if (auto grid = TruncationGrid(unit); grid && grid->width == kMicrosPerDay) {
      days += std::stoll(count);
    } else if (grid && grid->width < kMicrosPerDay) {
      micros += std::stoll(count) * grid->width;
    } else {
      return std::nullopt;
    }
  }
  if ((days > 0 && micros > 0) || days > 366 || micros > kMicrosPerDay * 366) return std::nullopt;
  if (days + micros == 0) return std::nullopt;
  return days > 0 ? days * kMicrosPerDay : micros;
}

// The INTERVAL '...' literal: a VARCHAR constant cast to INTERVAL.
std::optional<int64_t> IntervalLiteralMicros(const json& node) {
  if (Text(node, "class") != "CAST" || !node.contains("cast_type") || Text(node["cast_type"], "id") != "INTERVAL" ||
      node.value("try_cast", false) || !node.contains("child")) {
    return std::nullopt;
  }
  const json& child = node["child"];
  if (Text(child, "class") != "CONSTANT" || !child.contains("value")) return std::nullopt;
  const json& value = child["value"];
  if (!value.contains("value") || !value["value"].is_string()) return std::nullopt;
  return IntervalMicros(value["value"].get<std::string>());
}

// The start of the bucket holding `column` on a grid of `width` microseconds
// through `offset`, in integer arithmetic on the epoch microseconds:
//   x - floor_mod(x - offset, width), with x = epoch_us(column)
// written as a CASE so that the common x >= offset needs one remainder (DuckDB's
// % keeps the sign of the dividend).
json GridStart(const json& column, Grid grid) {
  auto x = [&] { return Call("epoch_us", column); };
  auto shifted = [&] { return grid.offset == 0 ? x() : Operator("-", x(), Integer(grid.offset)); };
  auto rem = [&] { return Operator("%", shifted(), Integer(grid.width)); };
  json nonnegative = Operator("-", x(), rem());
  json negative = Operator("-", x(), Operator("%", Operator("+", rem(), Integer(grid.width)), Integer(grid.width)));
  return Call("make_timestamptz", Case(Compare(x(), Integer(grid.offset)), std::move(nonnegative), std::move(negative)));
}

bool IsPartConstant(const json& node) {
  if (Text(node, "class") != "CONSTANT" || !node.contains("value")) return false;
  const json& value = node["value"];
  return value.contains("value") && value["value"].is_string() && Among(value["value"].get<std::string>(), Parts());
}

}  // namespace

bool RewriteUtcCalendarCall(json& node, const IsTimestampColumn& is_timestamp) {
  auto timestamp_column = [&](const json& child) {
    return Text(child, "class") == "COLUMN_REF" && is_timestamp(child);
  };
  if (Text(node, "class") == "CAST") {
    if (!node.contains("cast_type") || Text(node["cast_type"], "id") != "DATE" || !node.contains("child") ||
        !timestamp_column(node["child"])) {
      return false;
    }
    node["child"] = Wall(std::move(node["child"]));
    return true;
  }
  // Only plain calls: no FILTER, ORDER BY or DISTINCT (aggregates), no other catalog.
  if (Text(node, "class") != "FUNCTION" || !Text(node, "catalog").empty() ||
      (Text(node, "schema") != "" && Text(node, "schema") != "main") || node.value("distinct", false) ||
      !node.value("filter", json()).is_null() || !node.contains("children") || !node["children"].is_array()) {
    return false;
  }
  json& children = node["children"];
  const std::string name = ToLower(Text(node, "function_name"));
  if (children.size() == 1 && Among(name, PartFunctions()) && timestamp_column(children[0])) {
    children[0] = Wall(std::move(children[0]));
    return true;
  }
  if (children.size() == 2 && (name == "date_part" || name == "datepart") && IsPartConstant(children[0]) &&
      timestamp_column(children[1])) {
    children[1] = Wall(std::move(children[1]));
    return true;
  }
  // Truncation to a fixed-width unit and buckets of a fixed width: integer
  // arithmetic, about 4x cheaper than time_bucket on a TIMESTAMP.
  if (children.size() == 2 && timestamp_column(children[1])) {
    std::optional<Grid> grid;
    if ((name == "date_trunc" || name == "datetrunc") && IsPartConstant(children[0])) {
      grid = TruncationGrid(children[0]["value"]["value"].get<std::string>());
    } else if (name == "time_bucket") {
      // time_bucket's default origin for widths without months: 2000-01-03 00:00:00.
      constexpr int64_t kOrigin = 946'857'600'000'000;
      if (auto width = IntervalLiteralMicros(children[0])) grid = Grid{*width, kOrigin % *width};
    }
    if (grid) {
      std::string alias = Text(node, "alias");
      node = GridStart(children[1], *grid);
      node["alias"] = alias;
      return true;
    }
  }
  // These return a TIMESTAMP for a TIMESTAMP: turned back into the instant.
  const bool truncate = (name == "date_trunc" || name == "datetrunc") && IsPartConstant(children[0]);
  if (children.size() == 2 && (truncate || name == "time_bucket") && timestamp_column(children[1])) {
    children[1] = Wall(std::move(children[1]));
    std::string alias = Text(node, "alias");
    node["alias"] = "";
    json outer = Zoned(std::move(node));
    outer["alias"] = alias;
    node = std::move(outer);
    return true;
  }
  return false;
}

}  // namespace finlake::sql
