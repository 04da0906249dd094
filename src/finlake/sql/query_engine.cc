#include "finlake/sql/query_engine.h"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <climits>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "finlake/core/strings.h"
#include "finlake/sql/time_travel.h"
#include "finlake/sql/utc_calendar.h"

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

// The checks on one node of a lake query's tree, made on the tree as typed
// (RewriteNode) and on the printed rewrite parsed again (VerifyRewritten).
Status CheckNode(const json& node) {
  const std::string type = Text(node, "type");
  const std::string kind = Text(node, "class");
  if (type == "TABLE_FUNCTION") {
    // Table functions that touch no files: the only ones a lake query may call.
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
  if (type == "SHOW_REF" && !Text(node, "table_name").empty()) {
    // (SHOW TABLES), (DESCRIBE name): DuckDB's own catalog, not the lake's. The
    // query forms, (DESCRIBE SELECT ...) and (SUMMARIZE t), are rewritten.
    return Status::InvalidArgument("SHOW and DESCRIBE of a name read the query engine's catalog, not the lake's: "
                                   "use `finlake tables` and `finlake describe TABLE`, or DESCRIBE/SUMMARIZE a query");
  }
  if (kind == "PARAMETER") {
    return Status::InvalidArgument("a parameter ($1, ?, $name) has no value in `finlake sql`: write the value");
  }
  if (kind == "FUNCTION" && engine::UnsafeScalarFunctions().count(ToLower(Text(node, "function_name")))) {
    return Status::InvalidArgument("function " + ToLower(Text(node, "function_name")) +
                                   "() is not allowed in lake queries: it runs SQL of its own or reads the "
                                   "engine's catalog");
  }
  return Status::Ok();
}

// Empty, or a name DuckDB prints the same with or without quotes.
bool IsPlainIdentifier(const std::string& name) {
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(c == '_' || std::isalpha(static_cast<unsigned char>(c)) ||
          (i > 0 && std::isdigit(static_cast<unsigned char>(c))))) {
      return false;
    }
  }
  return true;
}

using table::ColumnPredicate;

// A constant of the parse tree as (kind, SQL text), or nullopt: numbers, strings,
// booleans, and strings cast to DATE or TIMESTAMP[TZ]. NULL and everything else
// prunes nothing.
std::optional<std::pair<std::string, std::string>> Literal(const json& node) {
  if (Text(node, "class") == "CAST") {
    std::string type = node.contains("cast_type") ? Text(node["cast_type"], "id") : "";
    auto inner = node.contains("child") ? Literal(node["child"]) : std::nullopt;
    if (!inner || inner->first != "string") return std::nullopt;
    if (type == "DATE") return std::make_pair(std::string("date"), inner->second);
    if (type == "TIMESTAMP" || type == "TIMESTAMP WITH TIME ZONE") return std::make_pair(std::string("timestamp"), inner->second);
    return std::nullopt;
  }
  if (Text(node, "class") != "CONSTANT" || !node.contains("value")) return std::nullopt;
  const json& value = node["value"];
  if (value.value("is_null", true) || !value.contains("value")) return std::nullopt;
  const json& v = value["value"];
  if (v.is_boolean()) return std::make_pair(std::string("bool"), std::string(v.get<bool>() ? "true" : "false"));
  if (v.is_number_integer() || v.is_number_float()) {
    // DECIMAL constants serialise as scaled integers: leave them alone.
    std::string id = value.contains("type") ? Text(value["type"], "id") : "";
    if (id == "DECIMAL") return std::nullopt;
    return std::make_pair(std::string("number"), v.dump());
  }
  if (v.is_string() && value.contains("type") && Text(value["type"], "id") == "VARCHAR") {
    return std::make_pair(std::string("string"), v.get<std::string>());
  }
  return std::nullopt;
}

// (qualifier, column) of a COLUMN_REF with one or two name parts.
std::optional<std::pair<std::string, std::string>> ColumnOf(const json& node) {
  if (Text(node, "class") != "COLUMN_REF" || !node.contains("column_names")) return std::nullopt;
  const json& names = node["column_names"];
  if (names.size() == 1 && names[0].is_string()) return std::make_pair(std::string(), names[0].get<std::string>());
  if (names.size() == 2 && names[0].is_string() && names[1].is_string()) {
    return std::make_pair(names[0].get<std::string>(), names[1].get<std::string>());
  }
  return std::nullopt;
}

// The top-level AND conjuncts of a WHERE clause that compare a column with
// literals: =, <, <=, >, >= (either side), BETWEEN, IN.
void Conjuncts(const json& node, std::vector<PruningConjunct>& out) {
  const std::string type = Text(node, "type");
  if (type == "CONJUNCTION_AND" && node.contains("children")) {
    for (const json& child : node["children"]) Conjuncts(child, out);
    return;
  }
  using Op = ColumnPredicate::Op;
  static const std::map<std::string, std::pair<Op, Op>> kComparisons = {
      {"COMPARE_EQUAL", {Op::kEq, Op::kEq}},
      {"COMPARE_LESSTHAN", {Op::kLt, Op::kGt}},
      {"COMPARE_LESSTHANOREQUALTO", {Op::kLe, Op::kGe}},
      {"COMPARE_GREATERTHAN", {Op::kGt, Op::kLt}},
      {"COMPARE_GREATERTHANOREQUALTO", {Op::kGe, Op::kLe}}};
  if (auto it = kComparisons.find(type); it != kComparisons.end() && Text(node, "class") == "COMPARISON") {
    auto column = ColumnOf(node.value("left", json()));
    auto literal = Literal(node.value("right", json()));
    Op op = it->second.first;
    if (!column || !literal) {  // literal op column
      column = ColumnOf(node.value("right", json()));
      literal = Literal(node.value("left", json()));
      op = it->second.second;
    }
    if (column && literal) out.push_back({column->first, column->second, literal->first, op, {literal->second}});
    return;
  }
  if (type == "COMPARE_BETWEEN") {
    auto column = ColumnOf(node.value("input", json()));
    auto lower = Literal(node.value("lower", json()));
    auto upper = Literal(node.value("upper", json()));
    if (column && lower && upper && lower->first == upper->first) {
      out.push_back({column->first, column->second, lower->first, Op::kBetween, {lower->second, upper->second}});
    }
    return;
  }
  if (type == "COMPARE_IN" && node.contains("children") && node["children"].size() >= 2) {
    auto column = ColumnOf(node["children"][0]);
    if (!column) return;
    PruningConjunct in{column->first, column->second, "", Op::kIn, {}};
    for (size_t i = 1; i < node["children"].size(); ++i) {
      auto literal = Literal(node["children"][i]);
      if (!literal || (!in.kind.empty() && literal->first != in.kind)) return;
      in.kind = literal->first;
      in.values.push_back(literal->second);
    }
    out.push_back(std::move(in));
  }
}

// Whether a literal of `kind` compares with a column of Delta type `type` the way
// its stats do; anything else prunes nothing.
bool KindFits(const std::string& kind, const std::string& type) {
  static const std::vector<std::string> kNumbers = {"byte", "short", "integer", "long", "float", "double"};
  if (kind == "number") {
    return std::find(kNumbers.begin(), kNumbers.end(), type) != kNumbers.end() || StartsWith(type, "decimal");
  }
  if (kind == "string") return type == "string" || type == "date" || type == "timestamp" || type == "timestamp_ntz";
  if (kind == "date" || kind == "timestamp") return type == "date" || type == "timestamp" || type == "timestamp_ntz";
  if (kind == "bool") return type == "boolean";
  return false;
}

// Why a statement that is not a query does not run, and what to use instead;
// nullopt for a word that starts no statement DuckDB knows (a typo: the parser
// then reports the syntax error).
std::optional<std::string> Refusal(const std::string& keyword) {
  std::string upper = keyword;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
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

Result<std::unique_ptr<QueryEngine>> QueryEngine::Create(Lake* lake, const std::vector<std::string>& writable_paths) {
  std::unique_ptr<QueryEngine> engine(new QueryEngine(lake, writable_paths));
  RETURN_IF_ERROR(engine->Reconnect());
  return engine;
}

Status QueryEngine::Reconnect() {
  ASSIGN_OR_RETURN(std::shared_ptr<engine::Database> database, lake_->QueryDatabase(writable_paths_));
  if (database == database_) return Status::Ok();
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Connection> connection, database->Connect());
  open_tables_.clear();  // They read through the old engine.
  rewrites_.clear();
  rewrite_bytes_ = 0;
  ASSIGN_OR_RETURN(serialize_, connection->Prepare("SELECT json_serialize_sql($1::VARCHAR)"));
  ASSIGN_OR_RETURN(deserialize_, connection->Prepare("SELECT json_deserialize_sql($1::JSON)"));
  connection_ = std::move(connection);
  database_ = std::move(database);
  return Status::Ok();
}

Result<std::vector<PreparedQuery>> QueryEngine::Prepare(const std::string& sql) {
  if (size_t at = InvalidUtf8At(sql); at != std::string_view::npos) {
    return Status::InvalidArgument("the SQL text is not UTF-8: byte " + std::to_string(at) +
                                   " starts no valid sequence (write the query in UTF-8)");
  }
  RETURN_IF_ERROR(Reconnect());
  std::vector<PreparedQuery> prepared;
  for (const std::string& statement : SplitStatements(sql)) {
    const auto start = std::chrono::steady_clock::now();
    // Kept by the text without the white space around it ("a; a" is two of one).
    const std::string key(TrimWhitespace(statement));
    std::optional<PreparedQuery> reused = Reuse(key);
    if (!reused) {
      pinned_ = false;
      ASSIGN_OR_RETURN(reused, PrepareOne(statement));
      const size_t bytes = RewriteBytes(key, *reused);
      if (!pinned_ && key.size() <= kRewriteTextMax) {
        // Crude, and rare: a scan of 10,000 files is about 1 MB of SQL.
        if (rewrites_.size() >= kRewritesKept || rewrite_bytes_ + bytes > kRewriteBytesKept) {
          rewrites_.clear();
          rewrite_bytes_ = 0;
        }
        rewrites_[key] = *reused;
        rewrite_bytes_ += bytes;
      }
    }
    PreparedQuery query = std::move(*reused);
    query.prepare_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    prepared.push_back(std::move(query));
  }
  if (prepared.empty()) return Status::InvalidArgument("no SQL statement given");
  return prepared;
}

size_t QueryEngine::RewriteBytes(const std::string& key, const PreparedQuery& query) {
  return key.size() + query.sql.size() + query.fallback_sql.size();
}

std::optional<PreparedQuery> QueryEngine::Reuse(const std::string& statement) {
  auto hit = rewrites_.find(statement);
  if (hit == rewrites_.end()) return std::nullopt;
  for (const TableRead& read : hit->second.reads) {
    auto opened = open_tables_.find(read.table);
    Result<int64_t> latest = opened == open_tables_.end() ? Result<int64_t>(Status::NotFound(read.table))
                                                          : opened->second.table->log().LatestVersion();
    if (!latest.ok() || *latest != read.version) {
      rewrite_bytes_ -= std::min(rewrite_bytes_, RewriteBytes(hit->first, hit->second));
      rewrites_.erase(hit);
      return std::nullopt;
    }
  }
  PreparedQuery reused = hit->second;
  reused.reused = true;
  return reused;
}

Result<PreparedQuery> QueryEngine::PrepareOne(const std::string& typed) {
  // DuckDB's parser copies a WITH's CTEs into every level below it: the memory
  // it takes grows about 2.4 times a level past 8 (176 MB at 8, 668 MB at 10, 7 GB
  // at 12), before any limit of the engine applies.
  if (int nesting = WithNesting(typed); nesting > kWithNestingMax) {
    return Status::InvalidArgument("WITH clauses nest " + std::to_string(nesting) + " deep, more than " +
                                   std::to_string(kWithNestingMax) + ": DuckDB's parser needs memory that grows "
                                   "about 2.4 times a level; declare the CTEs side by side in one WITH");
  }
  // Many CTEs in one WITH cost the parser memory too: 1,000 take 2.5 GB, and
  // 100 MATERIALIZED ones 1.3 GB.
  if (CteCount ctes = CountCtes(typed); ctes.total > kCtesMax || ctes.materialized > kMaterializedCtesMax) {
    return Status::InvalidArgument(
        "the statement declares " + std::to_string(ctes.total) + " CTEs (" + std::to_string(ctes.materialized) +
        " MATERIALIZED), more than " + std::to_string(kCtesMax) + " (" + std::to_string(kMaterializedCtesMax) +
        "): DuckDB's parser needs memory that grows faster than their number; split the query");
  }
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
  const std::string prefix = explain ? (analyze ? "EXPLAIN ANALYZE " : "EXPLAIN ") : "";
  auto query = Rewrite(tree, prefix, /*utc_fast_path=*/true);
  if (utc_calls_ > 0) {
    // The calendar fast path is an optimisation: a statement it breaks runs as
    // typed. The plain rewrite (about 0.3 ms) is kept beside it rather than the
    // fast one bound here (about 1.1 ms, and DuckDB binds again when it runs).
    auto plain = Rewrite(tree, prefix, /*utc_fast_path=*/false);
    if (!query.ok()) return plain.ok() ? plain : query;
    if (plain.ok()) query->fallback_sql = plain->sql;
  }
  return query;
}

Result<PreparedQuery> QueryEngine::Rewrite(json tree, const std::string& prefix, bool utc_fast_path) {
  PreparedQuery query;
  Ctes ctes;
  cte_names_.clear();
  // pending_ is keyed by node address: entries must not outlive this tree.
  pending_.clear();
  scans_.clear();
  scopes_.clear();
  utc_fast_path_ = utc_fast_path;
  utc_calls_ = 0;
  Status rewritten = RewriteNode(tree, ctes, query);
  pending_.clear();
  RETURN_IF_ERROR(rewritten);
  ASSIGN_OR_RETURN(auto text, deserialize_->Run({tree.dump()}));
  RETURN_IF_ERROR(VerifyRewritten(text->GetString(0, 0)));
  ASSIGN_OR_RETURN(std::string select, SubstituteScans(text->GetString(0, 0)));
  query.sql = prefix + select;
  query.explain = !prefix.empty();
  // Fail closed: whatever the rewrite produced must still be one query.
  // - A text that opens with SELECT and that DuckDB's parser reads as one
  //   statement is a query: no other statement opens with SELECT (and DuckDB
  //   refuses SELECT INTO). Parsing costs about 30 us.
  // - Any other opening (WITH can lead an INSERT) is prepared: bound and
  //   planned, about 1.2 ms on a Parquet scan, since DuckDB binds it again when
  //   it runs.
  if (StartsWith(select, "SELECT ")) {
    ASSIGN_OR_RETURN(int64_t statements, connection_->StatementCount(select));
    if (statements == 1) return query;
  }
  ASSIGN_OR_RETURN(duckdb_statement_type type, connection_->StatementType(query.sql));
  if (type != DUCKDB_STATEMENT_TYPE_SELECT && type != DUCKDB_STATEMENT_TYPE_EXPLAIN) {
    return Status::InvalidArgument("only SELECT and EXPLAIN run in `finlake sql`; this statement is not a query");
  }
  return query;
}

Result<std::string> QueryEngine::ExpressionName(const json& expression) {
  if (select_template_.is_null()) {
    ASSIGN_OR_RETURN(select_template_, Serialize("SELECT 1"));
  }
  json statement = select_template_;
  statement["statements"][0]["node"]["select_list"] = json::array({expression});
  ASSIGN_OR_RETURN(auto text, deserialize_->Run({statement.dump()}));
  std::string name = text->GetString(0, 0);
  return StartsWith(name, "SELECT ") ? name.substr(7) : name;
}

bool QueryEngine::IsTimestampInScope(const json& column_ref) const {
  if (scopes_.empty() || !column_ref.contains("column_names")) return false;
  const Scope& scope = scopes_.back();
  const json& names = column_ref["column_names"];
  if (names.size() == 1 && names[0].is_string()) {
    // Unqualified: only when the FROM is this one table.
    return scope.from_items == 1 && scope.tables.size() == 1 &&
           scope.tables[0].second.count(ToLower(names[0].get<std::string>())) > 0;
  }
  if (names.size() == 2 && names[0].is_string() && names[1].is_string()) {
    for (const auto& [qualifier, columns] : scope.tables) {
      if (qualifier == ToLower(names[0].get<std::string>())) return columns.count(ToLower(names[1].get<std::string>())) > 0;
    }
  }
  return false;
}

// The text DuckDB printed from the rewritten tree is what runs, and its printer
// leaves some user-typed names unquoted (a `$"..."` parameter, the qualifier of
// `"t x".*`): text hidden in one would come back as SQL of its own. So the text
// is parsed again and every table it reads must be one the rewrite put there.
Status QueryEngine::VerifyRewritten(const std::string& text) {
  auto refuse = [](const std::string& what) {
    return Status::InvalidArgument("the query does not read back as it was checked after its rewrite (" + what +
                                   "): refused");
  };
  ASSIGN_OR_RETURN(auto result, serialize_->Run({text}));
  json tree = json::parse(result->GetString(0, 0), nullptr, false);
  if (tree.is_discarded() || tree.value("error", true)) return refuse("it does not parse as one query");
  if (!tree.contains("statements") || tree["statements"].size() != 1) return refuse("more than one statement");
  std::set<std::string> known;
  for (const auto& [token, scan] : scans_) known.insert(token);
  for (const auto& [name, renamed] : cte_names_) known.insert(renamed);
  Status status = Status::Ok();
  std::function<void(const json&)> walk = [&](const json& node) {
    if (!status.ok()) return;
    if (node.is_array()) {
      for (const json& child : node) walk(child);
      return;
    }
    if (!node.is_object()) return;
    const std::string type = Text(node, "type");
    if (type == "BASE_TABLE" && !(Text(node, "schema_name").empty() && Text(node, "catalog_name").empty() &&
                                  known.count(Text(node, "table_name")))) {
      status = refuse("a table it did not put there");
    } else {
      status = CheckNode(node);
    }
    for (const auto& [key, child] : node.items()) walk(child);
  };
  walk(tree["statements"]);
  return status;
}

Result<std::string> QueryEngine::SubstituteScans(std::string sql) {
  for (const auto& [token, scan] : scans_) {
    // The token is a fresh random name: it occurs once, where the table was, or
    // not at all when DuckDB does not print that copy of the tree (the body of a
    // MATERIALIZED CTE is in the tree twice).
    size_t at = sql.find(token);
    if (at == std::string::npos) continue;
    if (sql.find(token, at + token.size()) != std::string::npos) {
      return Status::Internal("query rewrite: a table's scan has no single place in the rewritten SQL");
    }
    sql.replace(at, token.size(), "(" + scan + ")");
  }
  scans_.clear();
  return sql;
}

Result<json> QueryEngine::Serialize(const std::string& select_sql) {
  ASSIGN_OR_RETURN(auto result, serialize_->Run({select_sql}));
  json tree = json::parse(result->GetString(0, 0), nullptr, false);
  if (tree.is_discarded()) return Status::Internal("json_serialize_sql returned invalid JSON");
  if (tree.value("error", true)) {
    std::string message = tree.value("error_message", "cannot serialise");
    if (message.find("Only SELECT") != std::string::npos) {
      // The statements with a keyword of their own were refused by name before;
      // these open as queries but DuckDB makes something else of them.
      const std::string keyword = LeadingKeyword(select_sql);
      std::string why = "lake tables change only through finlake commands (`finlake --help`)";
      if (keyword == "explain") why = "EXPLAIN [ANALYZE] takes one query, not another EXPLAIN";
      if (keyword == "pivot") {
        why = "a PIVOT without an IN list first creates a type of its values; list them: "
              "PIVOT t ON col IN ('a', 'b') USING sum(x)";
      }
      return Status::InvalidArgument("only SELECT and EXPLAIN run in `finlake sql`, and DuckDB reads this "
                                     "statement as neither: " + why);
    }
    // DuckDB's advice names a SET statement, which `finlake sql` does not run.
    if (size_t advice = message.find(" Use \"SET "); advice != std::string::npos) {
      message = message.substr(0, advice) + " (a limit of the lake's engine: split the expression)";
    }
    return Status::InvalidArgument("SQL does not parse: " + message);
  }
  return tree;
}

void QueryEngine::CollectPruning(const json& select_node) {
  if (!select_node.contains("where_clause") || !select_node["where_clause"].is_object() ||
      !select_node.contains("from_table")) {
    return;
  }
  std::vector<PruningConjunct> conjuncts;
  Conjuncts(select_node["where_clause"], conjuncts);
  if (conjuncts.empty()) return;
  // The table references of the FROM clause that a WHERE filter may prune: the
  // sides of inner, outer, cross and USING joins (a WHERE comparison is false on
  // a null-extended row, so dropping files whose rows it rejects changes no
  // result). Not the right side of an ASOF join, whose nearest match could move
  // to another row, nor either side of a POSITIONAL join, which pairs rows by
  // position; not subqueries or table functions.
  std::vector<const json*> tables;
  std::function<void(const json&, bool)> walk = [&](const json& ref, bool prunable) {
    const std::string type = Text(ref, "type");
    if (type == "BASE_TABLE") {
      if (prunable) tables.push_back(&ref);
    } else if (type == "JOIN") {
      const std::string ref_type = Text(ref, "ref_type");
      const bool positional = ref_type == "POSITIONAL";
      // References into the tree itself: pending_ is keyed by node address.
      if (auto left = ref.find("left"); left != ref.end()) walk(*left, prunable && !positional);
      if (auto right = ref.find("right"); right != ref.end()) walk(*right, prunable && !positional && ref_type != "ASOF");
    }
  };
  walk(*select_node.find("from_table"), true);
  for (const json* table : tables) {
    std::string qualifier = Text(*table, "alias");
    if (qualifier.empty()) qualifier = Text(*table, "table_name");
    std::vector<PruningConjunct> mine;
    for (const PruningConjunct& conjunct : conjuncts) {
      // An unqualified column belongs to this table only when it is the FROM's
      // only table (the column's presence is checked against the schema later).
      if (conjunct.qualifier.empty() ? tables.size() == 1 : ToLower(conjunct.qualifier) == ToLower(qualifier)) {
        mine.push_back(conjunct);
      }
    }
    if (!mine.empty()) pending_[table] = std::move(mine);
  }
}

Status QueryEngine::RewriteNode(json& node, Ctes& ctes, PreparedQuery& out) {
  if (node.is_array()) {
    for (json& child : node) RETURN_IF_ERROR(RewriteNode(child, ctes, out));
    return Status::Ok();
  }
  if (!node.is_object()) return Status::Ok();
  if (Text(node, "class") == "COLUMN_REF") {
    // namespace.table.column: the table's scan is named after the table alone.
    auto names = node.find("column_names");
    if (names != node.end() && names->is_array() && names->size() >= 3 && (*names)[0].is_string() &&
        (*names)[1].is_string()) {
      const std::string table = ToLower((*names)[0].get<std::string>()) + "." + ToLower((*names)[1].get<std::string>());
      for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope) {
        if (scope->unaliased.count(table)) {
          names->erase(names->begin());
          break;
        }
      }
    }
    return Status::Ok();
  }
  const size_t scope = ctes.size();
  const std::string type = Text(node, "type");
  Status status = Status::Ok();
  if (type == "CTE_NODE") {
    // WITH ... AS MATERIALIZED: its WITH (in `cte_map` too), the body (`query`)
    // seeing the CTEs declared before it, then the statement that reads it.
    status = RewriteCtes(node, ctes, out);
    if (status.ok() && node.contains("query")) {
      Ctes before(ctes.begin(), ctes.begin() + static_cast<std::ptrdiff_t>(scope));
      const std::string name = ToLower(Text(node, "cte_name"));
      for (size_t i = scope; i < ctes.size() && ctes[i].first != name; ++i) before.push_back(ctes[i]);
      status = RewriteNode(node["query"], before, out);
    }
    if (status.ok()) {
      node["cte_name"] = DeclareCte(Text(node, "cte_name"), ctes);
      if (node.contains("child")) status = RewriteNode(node["child"], ctes, out);
    }
    ctes.resize(scope);
    return status;
  }
  if (type == "RECURSIVE_CTE_NODE") {
    // Its own WITH first; only the recursive term (`right`) reads the CTE itself.
    status = RewriteCtes(node, ctes, out);
    for (auto& [key, child] : node.items()) {
      if (key != "right" && key != "cte_map" && status.ok()) status = RewriteNode(child, ctes, out);
    }
    if (status.ok()) {
      node["cte_name"] = DeclareCte(Text(node, "cte_name"), ctes);
      if (node.contains("right")) status = RewriteNode(node["right"], ctes, out);
    }
    ctes.resize(scope);
    return status;
  }
  status = RewriteCtes(node, ctes, out);
  if (status.ok() && type == "SELECT_NODE") status = RewriteSelect(node, ctes, out);
  if (!status.ok() || type == "SELECT_NODE") {
    ctes.resize(scope);
    return status;
  }
  if (type == "BASE_TABLE" && node.contains("table_name")) {
    std::string schema = Text(node, "schema_name");
    std::string name = Text(node, "table_name");
    auto cte = std::find_if(ctes.rbegin(), ctes.rend(), [&](const auto& c) { return c.first == ToLower(name); });
    if (schema.empty() && Text(node, "catalog_name").empty() && cte != ctes.rend()) {
      // The CTE under the name it was renamed to; the reference keeps the name
      // as typed for the columns it qualifies.
      node["table_name"] = cte->second;
      if (Text(node, "alias").empty()) node["alias"] = name;
      ctes.resize(scope);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(json replacement, ReplacementFor(node, out));
    pending_.erase(&node);
    node = std::move(replacement);
    ctes.resize(scope);
    return Status::Ok();
  }
  RETURN_IF_ERROR(CheckNode(node));
  if (Text(node, "class") == "STAR" && !IsPlainIdentifier(Text(node, "relation_name"))) {
    // DuckDB prints the qualifier of `"t x".*` without its quotes.
    return Status::InvalidArgument("a star qualified by a name that needs quotes (\"" + Text(node, "relation_name") +
                                   "\".*) is not supported: give the table a plain alias");
  }
  for (auto& [key, child] : node.items()) {
    if (key != "cte_map") RETURN_IF_ERROR(RewriteNode(child, ctes, out));
  }
  ctes.resize(scope);
  if (utc_fast_path_ &&
      RewriteUtcCalendarCall(node, [this](const json& column) { return IsTimestampInScope(column); })) {
    ++utc_calls_;
  }
  return Status::Ok();
}

// A name the rewrite takes for a CTE must be one DuckDB takes for it too: a
// bare name DuckDB finds no CTE for is a file path (a replacement scan) or one of
// its catalog views. So every CTE is renamed, and so is each reference the
// rewrite resolves to it: a reference DuckDB scopes differently names no CTE and
// no file, and fails to bind.
std::string QueryEngine::DeclareCte(const std::string& name, Ctes& ctes) {
  auto [it, added] = cte_names_.emplace(ToLower(name), "");
  if (added) it->second = "__finlake_cte_" + std::to_string(cte_names_.size());
  ctes.emplace_back(it->first, it->second);
  return it->second;
}

Status QueryEngine::RewriteCtes(json& node, Ctes& ctes, PreparedQuery& out) {
  auto it = node.find("cte_map");
  if (it == node.end() || !it->is_object() || !it->contains("map")) return Status::Ok();
  for (json& entry : (*it)["map"]) {
    if (!entry.contains("key") || !entry["key"].is_string()) {
      return Status::InvalidArgument("a WITH clause the query rewrite cannot read");
    }
    if (entry.contains("value")) RETURN_IF_ERROR(RewriteNode(entry["value"], ctes, out));
    entry["key"] = DeclareCte(entry["key"].get<std::string>(), ctes);
  }
  return Status::Ok();
}

Status QueryEngine::RewriteSelect(json& node, Ctes& ctes, PreparedQuery& out) {
  CollectPruning(node);
  // The FROM clause's items: lake tables register themselves (ReplacementFor).
  Scope scope;
  std::function<void(const json&)> count = [&](const json& ref) {
    const std::string type = Text(ref, "type");
    if (type == "JOIN") {
      if (ref.contains("left")) count(ref["left"]);
      if (ref.contains("right")) count(ref["right"]);
    } else if (type != "EMPTY" && !type.empty()) {
      ++scope.from_items;
    }
  };
  if (node.contains("from_table")) count(node["from_table"]);
  // A select-list expression without an alias is named after its text, which the
  // rewrite changes: it keeps the name it had as typed.
  std::vector<std::pair<size_t, json>> unnamed;
  if (auto list = node.find("select_list"); list != node.end() && list->is_array()) {
    for (size_t i = 0; i < list->size(); ++i) {
      const json& item = (*list)[i];
      const std::string kind = Text(item, "class");
      if (Text(item, "alias").empty() && kind != "STAR" && kind != "COLUMN_REF") unnamed.emplace_back(i, item);
    }
  }
  scopes_.push_back(std::move(scope));
  Status status = Status::Ok();
  for (auto& [key, child] : node.items()) {
    if (key == "cte_map") continue;  // RewriteCtes
    status = RewriteNode(child, ctes, out);
    if (!status.ok()) break;
  }
  scopes_.pop_back();
  RETURN_IF_ERROR(status);
  for (const auto& [index, original] : unnamed) {
    json& item = node["select_list"][index];
    if (item == original) continue;
    ASSIGN_OR_RETURN(std::string name, ExpressionName(original));
    item["alias"] = name;
  }
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
    ASSIGN_OR_RETURN(std::unique_ptr<table::Table> opened, lake_->OpenTable(qualified, database_.get()));
    it = open_tables_.emplace(qualified, OpenedTable{std::move(opened), {}}).first;
  }
  table::Table& table = *it->second.table;

  std::optional<int64_t> version;
  const json& at = base_table.contains("at_clause") ? base_table["at_clause"] : json();
  if (at.is_object()) {
    pinned_ = true;
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
  auto loaded = SnapshotOf(it->second, version);
  if (!loaded.ok()) return loaded.status().WithContext(qualified);
  const delta::Snapshot* snapshot = &(*loaded)->snapshot;
  // Files the WHERE conjuncts rule out are not scanned (file_skipping.h: only
  // files no matching row can be in). A conjunct on a column the table lacks, or
  // with a literal of another kind than the column, prunes nothing.
  table::Table::ScanOptions scan_options;
  if (auto it = pending_.find(&base_table); it != pending_.end()) {
    std::vector<table::ColumnPredicate> predicates;
    for (const PruningConjunct& conjunct : it->second) {
      const delta::StructField* field = snapshot->schema.Find(conjunct.column);
      if (field == nullptr || !KindFits(conjunct.kind, field->type.Name())) continue;
      predicates.push_back({field->name, conjunct.op, conjunct.values});
    }
    if (!predicates.empty()) {
      if (!(*loaded)->stats) (*loaded)->stats = table::ParseStats(*snapshot);
      auto selected = table::SelectFiles(*snapshot, predicates, &*(*loaded)->stats);
      // Then by the footers' row-group bounds, for a bounded number of files (and
      // at least two: DuckDB checks one file's row groups itself as it opens it).
      if (selected.ok() && selected->size() >= 2 && selected->size() <= kRowGroupCheckFilesMax) {
        auto finer = table.SelectByRowGroups(*snapshot, predicates, *selected, &(*loaded)->row_groups);
        if (finer.ok()) selected = std::move(finer);
      }
      if (selected.ok()) scan_options.files = std::move(*selected);
    }
  }
  if (!scopes_.empty()) {
    std::set<std::string> timestamps;
    for (const delta::StructField& field : snapshot->schema.fields) {
      if (field.type.Name() == "timestamp") timestamps.insert(ToLower(field.name));
    }
    std::string qualifier = Text(base_table, "alias");
    scopes_.back().tables.emplace_back(ToLower(qualifier.empty() ? name : qualifier), std::move(timestamps));
    if (qualifier.empty()) scopes_.back().unaliased.insert(qualified);
  }
  const auto total = static_cast<int64_t>(snapshot->files.size());
  out.reads.push_back(TableRead{qualified, snapshot->version,
                                scan_options.files ? static_cast<int64_t>(scan_options.files->size()) : total, total});
  // The scan's SQL goes in after the tree is turned back into text (SubstituteScans):
  // a table reference named by a random token marks the place. Putting the scan
  // into the tree instead would serialise and deserialise every file path.
  std::string& scan_sql = (*loaded)->scans[scan_options.files];
  if (scan_sql.empty()) {
    ASSIGN_OR_RETURN(scan_sql, table.ScanSql(*snapshot, scan_options));
    if ((*loaded)->scans.size() > kScansKept) (*loaded)->scans.clear();  // Crude, and rare.
  }
  std::string token = "__finlake_scan_" + NewUuid();
  std::replace(token.begin(), token.end(), '-', '_');
  scans_.emplace_back(token, scan_sql);
  std::string alias = Text(base_table, "alias");
  json replacement = {{"type", "BASE_TABLE"},
                      {"alias", alias.empty() ? name : alias},
                      {"sample", base_table.value("sample", json())},
                      {"query_location", base_table.value("query_location", json())},
                      {"schema_name", ""},
                      {"table_name", token},
                      {"catalog_name", ""},
                      {"column_name_alias", base_table.value("column_name_alias", json::array())}};
  return replacement;
}

Result<std::shared_ptr<QueryEngine::LoadedSnapshot>> QueryEngine::SnapshotOf(OpenedTable& opened,
                                                                           std::optional<int64_t> version) {
  int64_t wanted = 0;
  if (version) {
    wanted = *version;
  } else {
    ASSIGN_OR_RETURN(wanted, opened.table->log().LatestVersion());
  }
  if (auto hit = opened.snapshots.find(wanted); hit != opened.snapshots.end()) return hit->second;
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, opened.table->Load(wanted));
  auto loaded = std::make_shared<LoadedSnapshot>();
  loaded->snapshot = std::move(snapshot);
  opened.snapshots[wanted] = loaded;
  while (opened.snapshots.size() > kSnapshotsKept) {
    auto oldest = opened.snapshots.begin();
    if (oldest->first == wanted) ++oldest;
    opened.snapshots.erase(oldest);
  }
  return loaded;
}

Result<std::unique_ptr<engine::QueryResult>> QueryEngine::Run(const PreparedQuery& query) {
  return WithFallback(query, [this](const std::string& sql) { return connection_->Query(sql); });
}

Status QueryEngine::Bind(PreparedQuery& query) {
  auto bound = WithFallback(query, [this](const std::string& sql) -> Result<std::string> {
    RETURN_IF_ERROR(connection_->StatementType(sql).status());
    return sql;
  });
  if (!bound.ok()) return bound.status();
  query.sql = *bound;
  query.fallback_sql.clear();
  return Status::Ok();
}

bool IsBinderError(const Status& status) { return StartsWith(status.message(), "Binder Error"); }

}  // namespace finlake::sql
