#include "finlake/sql/utc_calendar.h"

#include <algorithm>
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
