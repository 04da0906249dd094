#include "finlake/sql/query_engine.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <optional>

#include "finlake/core/strings.h"
#include "finlake/sql/time_travel.h"

namespace finlake::sql {

using nlohmann::json;

namespace {

// Returns the statement without a leading EXPLAIN [ANALYZE], and whether it had one.
std::string StripExplain(const std::string& statement, bool* explain, bool* analyze) {
  size_t pos = statement.find_first_not_of(" \t\r\n");
  *explain = *analyze = false;
  if (pos == std::string::npos) return statement;
  std::string lower = ToLower(statement.substr(pos, 16));
  if (!StartsWith(lower, "explain") || (lower.size() > 7 && !std::isspace(static_cast<unsigned char>(lower[7])))) {
    return statement;
  }
  *explain = true;
  pos += 7;
  size_t next = statement.find_first_not_of(" \t\r\n", pos);
  if (next != std::string::npos && ToLower(statement.substr(next, 7)) == "analyze") {
    *analyze = true;
    pos = next + 7;
  }
  return statement.substr(pos);
}

// A string member of a parse-tree node, or "" (many nodes use the same key for objects).
std::string Text(const json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : "";
}

// Why a statement that is not a query does not run, and what to use instead;
// nullopt for a word that starts no statement DuckDB knows (a typo: the parser
// then reports the syntax error).
std::optional<std::string> Refusal(const std::string& keyword) {
  const std::string upper = [&] {
    std::string out = keyword;
    std::transform(out.begin(), out.end(), out.begin(), ::toupper);
    return out;
  }();
  const std::string head = upper + " does not run in `finlake sql`, which runs only SELECT and EXPLAIN: ";
  if (keyword == "insert") {
    return head + "append a file's rows with `finlake import TABLE FILE`, or upsert them with `finlake merge TABLE "
                  "FILE --keys COLUMNS`";
  }
  if (keyword == "update" || keyword == "merge") {
    return head + "change rows with `finlake merge TABLE FILE --keys COLUMNS` (matched rows replaced, the rest "
                  "inserted)";
  }
  if (keyword == "delete" || keyword == "truncate") return head + "use `finlake delete TABLE --where PREDICATE`";
  if (keyword == "create") return head + "use `finlake create-table` or `finlake create-namespace`";
  if (keyword == "drop" || keyword == "alter") {
    return head + "lake tables change only through finlake commands (`finlake --help`)";
  }
  if (keyword == "copy" || keyword == "export" || keyword == "import") {
    return head + "load files with `finlake import TABLE FILE`; write a query's rows with `finlake sql --format "
                  "csv|json QUERY > FILE`";
  }
  if (keyword == "describe" || keyword == "show" || keyword == "summarize") {
    return head + "use `finlake tables` and `finlake describe TABLE`";
  }
  if (keyword == "vacuum") return head + "use `finlake vacuum TABLE`";
  static const char* const kEngine[] = {"attach", "detach", "install", "load", "set", "reset", "pragma", "call",
                                        "use", "checkpoint", "begin", "start", "commit", "rollback", "abort",
                                        "prepare", "execute", "deallocate", "force", "update_extensions", "comment"};
  for (const char* word : kEngine) {
    if (keyword == word) {
      return head + "lake queries cannot change the engine's settings, catalog, extensions or transactions";
    }
  }
  return std::nullopt;
}

// Statements that read: DuckDB's SELECT forms.
bool IsQueryKeyword(const std::string& keyword) {
  static const char* const kQueries[] = {"select", "values", "from", "table", "pivot", "unpivot"};
  for (const char* word : kQueries) {
    if (keyword == word) return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<QueryEngine>> QueryEngine::Create(Lake* lake) {
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Connection> connection, lake->database().Connect());
  return std::unique_ptr<QueryEngine>(new QueryEngine(lake, std::move(connection)));
}

Result<std::vector<PreparedQuery>> QueryEngine::Prepare(const std::string& sql) {
  std::vector<PreparedQuery> prepared;
  for (const std::string& statement : SplitStatements(sql)) {
    ASSIGN_OR_RETURN(PreparedQuery query, PrepareOne(statement));
    prepared.push_back(std::move(query));
  }
  if (prepared.empty()) return Status::InvalidArgument("no SQL statement given");
  return prepared;
}

Result<PreparedQuery> QueryEngine::PrepareOne(const std::string& typed) {
  ASSIGN_OR_RETURN(std::string statement, RewriteTimeTravel(typed));
  bool explain = false, analyze = false;
  std::string inner = StripExplain(statement, &explain, &analyze);
  // Classified by keyword before DuckDB sees it: binding would fail first on the
  // lake's table names, which are not DuckDB tables until rewritten.
  const std::string keyword = LeadingKeyword(inner);
  if (!IsQueryKeyword(keyword)) {
    if (std::optional<std::string> refusal = Refusal(keyword)) return Status::InvalidArgument(*refusal);
  }
  ASSIGN_OR_RETURN(json tree, Serialize(inner));
  PreparedQuery query;
  std::vector<std::string> ctes;
  RETURN_IF_ERROR(RewriteNode(tree, ctes, query));
  ASSIGN_OR_RETURN(auto text, connection_->Query("SELECT json_deserialize_sql(" + SqlQuote(tree.dump()) + "::JSON)"));
  query.sql = (explain ? (analyze ? "EXPLAIN ANALYZE " : "EXPLAIN ") : "") + text->GetString(0, 0);
  query.explain = explain;
  return query;
}

Result<json> QueryEngine::Serialize(const std::string& select_sql) {
  ASSIGN_OR_RETURN(auto result, connection_->Query("SELECT json_serialize_sql(" + SqlQuote(select_sql) + ")"));
  json tree = json::parse(result->GetString(0, 0), nullptr, false);
  if (tree.is_discarded()) return Status::Internal("json_serialize_sql returned invalid JSON");
  if (tree.value("error", true)) {
    std::string message = tree.value("error_message", "cannot serialise");
    if (message.find("Only SELECT") != std::string::npos) {
      return Status::InvalidArgument(
          "only SELECT and EXPLAIN run in `finlake sql`; writes are finlake commands "
          "(create-table, import, ...): see `finlake --help`");
    }
    return Status::InvalidArgument("SQL does not parse: " + message);
  }
  return tree;
}

Status QueryEngine::RewriteNode(json& node, std::vector<std::string>& ctes, PreparedQuery& out) {
  if (node.is_array()) {
    for (json& child : node) RETURN_IF_ERROR(RewriteNode(child, ctes, out));
    return Status::Ok();
  }
  if (!node.is_object()) return Status::Ok();
  size_t scope = ctes.size();
  // CTE names are in scope for the node that declares them and everything below it.
  if (auto it = node.find("cte_map"); it != node.end() && it->is_object() && it->contains("map")) {
    for (const json& entry : (*it)["map"]) {
      if (entry.contains("key") && entry["key"].is_string()) ctes.push_back(ToLower(entry["key"].get<std::string>()));
    }
  }
  if (Text(node, "type") == "BASE_TABLE" && node.contains("table_name")) {
    std::string schema = Text(node, "schema_name");
    std::string name = Text(node, "table_name");
    if (schema.empty() && std::find(ctes.begin(), ctes.end(), ToLower(name)) != ctes.end()) {
      ctes.resize(scope);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(json replacement, ReplacementFor(node, out));
    node = std::move(replacement);
    ctes.resize(scope);
    return Status::Ok();
  }
  if (Text(node, "type") == "TABLE_FUNCTION") {
    // The sandbox's allowlist of table functions lands with the SQL front end; until
    // then only functions that touch no files are allowed.
    static const std::vector<std::string> kAllowed = {"range", "generate_series", "unnest"};
    std::string function;
    if (node.contains("function") && node["function"].is_object()) {
      function = ToLower(Text(node["function"], "function_name"));
    }
    if (std::find(kAllowed.begin(), kAllowed.end(), function) == kAllowed.end()) {
      return Status::InvalidArgument("table function '" + function +
                                     "' is not allowed in lake queries (allowed: range, generate_series, unnest)");
    }
  }
  for (auto& [key, child] : node.items()) RETURN_IF_ERROR(RewriteNode(child, ctes, out));
  ctes.resize(scope);
  return Status::Ok();
}

Result<json> QueryEngine::ReplacementFor(const json& base_table, PreparedQuery& out) {
  std::string catalog_name = Text(base_table, "catalog_name");
  std::string schema = Text(base_table, "schema_name");
  std::string name = Text(base_table, "table_name");
  if (!catalog_name.empty()) {
    return Status::InvalidArgument("table '" + catalog_name + "." + schema + "." + name +
                                   "': lake tables are named namespace.table");
  }
  if (schema.empty()) {
    return Status::NotFound("table '" + name + "' does not exist: lake tables are named namespace.table "
                            "(e.g. silver.bars_1d); bare names refer only to CTEs");
  }
  std::string qualified = ToLower(schema) + "." + ToLower(name);
  auto it = open_tables_.find(qualified);
  if (it == open_tables_.end()) {
    ASSIGN_OR_RETURN(std::unique_ptr<table::Table> opened, lake_->OpenTable(qualified));
    it = open_tables_.emplace(qualified, std::move(opened)).first;
  }
  table::Table& table = *it->second;

  std::optional<int64_t> version;
  const json& at = base_table.contains("at_clause") ? base_table["at_clause"] : json();
  if (at.is_object()) {
    std::string unit = Text(at, "unit");
    std::transform(unit.begin(), unit.end(), unit.begin(), ::toupper);
    json expr = at.value("expr", json());
    json value = expr.is_object() && expr.contains("value") ? expr["value"].value("value", json()) : json();
    if (Text(expr, "class") != "CONSTANT") {
      return Status::InvalidArgument(qualified + ": AT (" + unit + " => ...) needs a constant");
    }
    if (unit == "VERSION") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        return Status::InvalidArgument(qualified + ": AT (VERSION => n) needs a non-negative integer");
      }
      version = value.get<int64_t>();
    } else if (unit == "TIMESTAMP") {
      std::string text = value.is_string() ? value.get<std::string>() : value.dump();
      auto parsed = connection_->Query("SELECT epoch_ms(CAST(" + SqlQuote(text) + " AS TIMESTAMPTZ))");
      if (!parsed.ok()) {
        return Status::InvalidArgument(qualified + ": AT (TIMESTAMP => '" + text + "') is not a timestamp");
      }
      int64_t at_ms = (*parsed)->GetInt64(0, 0);
      auto at = table.log().VersionAt(at_ms);
      if (!at.ok()) return at.status().WithContext(qualified + ": AT (TIMESTAMP => '" + text + "')");
      version = *at;
    } else {
      return Status::InvalidArgument(qualified + ": unknown AT unit '" + unit + "' (use VERSION or TIMESTAMP)");
    }
  }
  auto snapshot = table.Load(version);
  if (!snapshot.ok()) return snapshot.status().WithContext(qualified);
  ASSIGN_OR_RETURN(std::string scan_sql, table.ScanSql(*snapshot));
  ASSIGN_OR_RETURN(json scan_tree, Serialize(scan_sql));
  out.reads.push_back(TableRead{qualified, snapshot->version, static_cast<int64_t>(snapshot->files.size())});
  std::string alias = Text(base_table, "alias");
  json replacement = {{"type", "SUBQUERY"},
                      {"alias", alias.empty() ? name : alias},
                      {"sample", base_table.value("sample", json())},
                      {"query_location", base_table.value("query_location", json())},
                      {"subquery", scan_tree["statements"][0]},
                      {"column_name_alias", base_table.value("column_name_alias", json::array())}};
  return replacement;
}

Result<std::unique_ptr<engine::QueryResult>> QueryEngine::Run(const PreparedQuery& query) {
  return connection_->Query(query.sql);
}

}  // namespace finlake::sql
