#include "finlake/table/predicate.h"

#include <set>

#include <nlohmann/json.hpp>

#include "finlake/core/strings.h"

namespace finlake::table {
namespace {

using json = nlohmann::json;

// The first node under `node` that a predicate may not hold, and why; empty
// when there is none.
std::string Forbidden(const json& node, const std::set<std::string>& volatile_functions,
                      const std::set<std::string>& unsafe_functions) {
  if (node.is_array()) {
    for (const json& child : node) {
      if (std::string found = Forbidden(child, volatile_functions, unsafe_functions); !found.empty()) return found;
    }
    return "";
  }
  if (!node.is_object()) return "";
  std::string kind = node.value("class", "");
  const std::string reads_columns = " is not allowed: a predicate reads the row's columns only";
  if (kind == "SUBQUERY" || node.contains("subquery") || node.contains("from_table")) return "a subquery" + reads_columns;
  if (kind == "PARAMETER") return "a parameter" + reads_columns;
  if (kind == "FUNCTION" && node.contains("function_name") && node["function_name"].is_string()) {
    const std::string name = ToLower(node["function_name"].get<std::string>());
    if (volatile_functions.count(name)) {
      return name + "() is not allowed: it gives another answer each time it runs, and a write evaluates its "
                    "predicate more than once";
    }
    if (unsafe_functions.count(name)) {
      return name + "() is not allowed: it runs SQL of its own or reads the engine's catalog";
    }
  }
  if (kind == "COLUMN_REF" && node.contains("column_names") && node["column_names"].is_array() &&
      !node["column_names"].empty() && node["column_names"].back().is_string() &&
      StartsWith(ToLower(node["column_names"].back().get<std::string>()), "__finlake_")) {
    return "column '" + node["column_names"].back().get<std::string>() +
           "' is not allowed: names starting with __finlake_ are finlake's own";
  }
  for (const auto& [key, child] : node.items()) {
    if (std::string found = Forbidden(child, volatile_functions, unsafe_functions); !found.empty()) return found;
  }
  return "";
}

bool Empty(const json& node, const char* key) {
  return !node.contains(key) || node[key].is_null() || (node[key].is_array() && node[key].empty());
}

}  // namespace

Result<std::string> CheckedPredicate(engine::Connection& connection, const std::string& predicate,
                                     const std::string& what) {
  std::string shown = predicate.size() > 200 ? predicate.substr(0, 200) + "..." : predicate;
  auto refuse = [&](const std::string& rule) {
    return Status::InvalidArgument(what + " '" + shown + "': " + rule);
  };
  if (TrimWhitespace(predicate).empty()) return refuse("the predicate is empty");
  std::string wrapped = "(" + predicate + "\n)";
  ASSIGN_OR_RETURN(auto serialize, connection.Prepare("SELECT json_serialize_sql($1::VARCHAR)"));
  ASSIGN_OR_RETURN(auto result, serialize->Run({"SELECT * FROM __finlake_row WHERE " + wrapped}));
  json tree = json::parse(result->GetString(0, 0), nullptr, false);
  if (tree.is_discarded()) return Status::Internal(what + ": json_serialize_sql returned invalid JSON");
  if (tree.value("error", true)) {
    std::string message = tree.value("error_message", std::string("no message"));
    if (message.find("Only SELECT") != std::string::npos) return refuse("must be one expression, not statements");
    return refuse("not an expression DuckDB parses (" + message + ")");
  }
  const json& statements = tree["statements"];
  if (!statements.is_array() || statements.size() != 1) return refuse("must be one expression, not statements");
  const json& node = statements[0]["node"];
  const json& from = node.contains("from_table") ? node["from_table"] : json();
  bool plain = node.value("type", "") == "SELECT_NODE" && Empty(node, "modifiers") &&
               Empty(node, "group_expressions") && Empty(node, "group_sets") && Empty(node, "having") &&
               Empty(node, "qualify") && Empty(node, "sample") && node.contains("cte_map") &&
               Empty(node["cte_map"], "map") && from.is_object() && from.value("type", "") == "BASE_TABLE" &&
               from.value("table_name", "") == "__finlake_row" && node.contains("where_clause") &&
               node["where_clause"].is_object();
  if (!plain) {
    return refuse("must be one expression over the row's columns (a parenthesis closed early, or a clause such as "
                  "LIMIT, ORDER BY, GROUP BY or UNION after it)");
  }
  // A write evaluates its predicate more than once (to find the files, to
  // rewrite them, to check a concurrent append): each evaluation must agree.
  if (std::string found = Forbidden(node["where_clause"], engine::VolatileFunctions(),
                                    engine::UnsafeScalarFunctions());
      !found.empty()) {
    return refuse(found);
  }
  // The text as it is spliced must parse too: a clause the serialiser drops
  // (an unused `WINDOW w AS (...)`) would otherwise reach the write as a syntax error.
  ASSIGN_OR_RETURN(auto spliced, serialize->Run({"SELECT * FROM __finlake_row WHERE NOT coalesce(" + wrapped +
                                                 ", false)"}));
  json spliced_tree = json::parse(spliced->GetString(0, 0), nullptr, false);
  if (spliced_tree.is_discarded() || spliced_tree.value("error", true)) {
    return refuse("must be one expression over the row's columns (it does not parse where it is spliced: a "
                  "clause such as WINDOW after a parenthesis closed early)");
  }
  return wrapped;
}

}  // namespace finlake::table
