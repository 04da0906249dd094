// QueryEngine: runs user SQL over lake tables (DESIGN.md "The SQL front end").
//
// User SQL never reaches DuckDB as typed: each statement is serialised to DuckDB's
// parse tree (json_serialize_sql), every `namespace.table` reference is replaced by
// a scan of the Delta snapshot it names (latest, or `AT (VERSION => n)` /
// `AT (TIMESTAMP => '...')`), and the tree is turned back into SQL. Only SELECT
// runs; writes are finlake commands.
//
// Thread-compatible: one QueryEngine per thread; Interrupt() may be called from any.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "finlake/engine/engine.h"
#include "finlake/sql/lake.h"
#include "finlake/table/file_skipping.h"
#include "finlake/sql/tokens.h"

namespace finlake::sql {

struct TableRead {
  std::string table;        // Qualified name.
  int64_t version = -1;     // The snapshot version read.
  int64_t files = 0;        // Files scanned.
  int64_t files_total = 0;  // Files in that snapshot.
};

// A WHERE conjunct of the form `column op literal` that may prune one table's
// files; `qualifier` is the alias or table name before the column ("" when
// unqualified). Literal kinds: "number", "string", "date", "timestamp", "bool".
struct PruningConjunct {
  std::string qualifier, column, kind;
  table::ColumnPredicate::Op op = table::ColumnPredicate::Op::kEq;
  std::vector<std::string> values;
};

struct PreparedQuery {
  std::string sql;                  // The rewritten statement DuckDB runs.
  // The same without the calendar fast path (utc_calendar.h), for when `sql`
  // does not bind (IsBinderError); empty when the fast path changed nothing.
  std::string fallback_sql;
  std::vector<TableRead> reads;
  bool explain = false;
  bool reused = false;              // The engine's earlier rewrite of the same text (QueryEngine::Prepare).
  double prepare_seconds = 0;       // Rewriting it: snapshots loaded, files pruned.
};

// Whether a failure is DuckDB's binder refusing the statement (a name or type
// that does not resolve), the one failure a PreparedQuery's fallback_sql is for.
bool IsBinderError(const Status& status);

// Runs attempt(query.sql) and, when that does not bind and the query has a
// fallback, attempt(query.fallback_sql).
template <typename Attempt>
auto WithFallback(const PreparedQuery& query, Attempt&& attempt) -> decltype(attempt(query.sql)) {
  auto result = attempt(query.sql);
  if (!result.ok() && !query.fallback_sql.empty() && IsBinderError(result.status())) {
    result = attempt(query.fallback_sql);
  }
  return result;
}

class QueryEngine {
 public:
  // Queries run in the lake's sandboxed engine (Lake::QueryDatabase), which may
  // also write `writable_paths` (an output file the caller COPYs a result to).
  [[nodiscard]] static Result<std::unique_ptr<QueryEngine>> Create(Lake* lake,
                                                                   const std::vector<std::string>& writable_paths = {});

  // Splits `sql` into statements and rewrites each; a table added to the lake
  // since the last call is visible. A statement rewritten before is reused when
  // every table it read is still at the version it read (one listing of each
  // table's _delta_log): a dashboard's or a driver's repeated query costs about
  // 40 us here instead of 0.6 ms. Statements with time travel are not kept.
  [[nodiscard]] Result<std::vector<PreparedQuery>> Prepare(const std::string& sql);
  [[nodiscard]] Result<std::unique_ptr<engine::QueryResult>> Run(const PreparedQuery& query);
  // Binds `query.sql` (prepared, not run) and, when it does not bind, settles on
  // its fallback: for callers that run the SQL elsewhere (a model's staging).
  [[nodiscard]] Status Bind(PreparedQuery& query);
  engine::Connection& connection() { return *connection_; }
  void Interrupt() { connection_->Interrupt(); }

 private:
  QueryEngine(Lake* lake, std::vector<std::string> writable_paths) : lake_(lake), writable_paths_(std::move(writable_paths)) {}
  // Connects to the lake's current query engine: a table created since the last
  // call widens the sandbox, which means a new engine (Lake::QueryDatabase).
  [[nodiscard]] Status Reconnect();
  [[nodiscard]] Result<PreparedQuery> PrepareOne(const std::string& statement);
  // The kept rewrite of `statement` (text as typed), if every table it read at
  // its latest version has no newer commit; a stale one is dropped.
  std::optional<PreparedQuery> Reuse(const std::string& statement);
  // What a kept rewrite counts against kRewriteBytesKept.
  static size_t RewriteBytes(const std::string& key, const PreparedQuery& query);
  // The rewrite of one statement's tree into the SQL DuckDB runs; `prefix` is
  // "" or EXPLAIN [ANALYZE]; `utc_fast_path`: rewrite calendar calls (utc_calendar.h).
  [[nodiscard]] Result<PreparedQuery> Rewrite(nlohmann::json tree, const std::string& prefix, bool utc_fast_path);
  // The CTEs in scope, innermost last: (name as typed, lower case; the name it
  // is renamed to). See RewriteCtes.
  using Ctes = std::vector<std::pair<std::string, std::string>>;
  [[nodiscard]] Status RewriteNode(nlohmann::json& node, Ctes& ctes, PreparedQuery& out);
  [[nodiscard]] Status RewriteSelect(nlohmann::json& node, Ctes& ctes, PreparedQuery& out);
  // A WITH clause (`cte_map`): each body sees the CTEs declared before it, as in
  // DuckDB; every name is then in `ctes` for the rest of the statement.
  [[nodiscard]] Status RewriteCtes(nlohmann::json& node, Ctes& ctes, PreparedQuery& out);
  // The printed rewrite, parsed again: one query whose tables are all scans or
  // CTEs the rewrite named, and whose table functions are allowed.
  [[nodiscard]] Status VerifyRewritten(const std::string& text);
  // Declares the CTE `name` (a WITH entry's key or a CTE node's name) in
  // `ctes`; returns the name it is renamed to, one per name in a statement.
  std::string DeclareCte(const std::string& name, Ctes& ctes);
  // Whether a COLUMN_REF names a `timestamp` column of a lake table in the FROM
  // of the SELECT being rewritten.
  bool IsTimestampInScope(const nlohmann::json& column_ref) const;
  // The column name DuckDB gives an unaliased select-list expression: its text.
  [[nodiscard]] Result<std::string> ExpressionName(const nlohmann::json& expression);
  [[nodiscard]] Result<nlohmann::json> ReplacementFor(const nlohmann::json& base_table, PreparedQuery& out);
  // Notes, for each table reference of a SELECT node's FROM that its WHERE may
  // prune, the conjuncts that could apply (pending_).
  void CollectPruning(const nlohmann::json& select_node);
  [[nodiscard]] Result<nlohmann::json> Serialize(const std::string& select_sql);
  // Puts each table's scan (scans_) where its token stands in `sql`.
  [[nodiscard]] Result<std::string> SubstituteScans(std::string sql);

  // A snapshot the engine loaded, with its files' stats parsed on first use.
  struct LoadedSnapshot {
    delta::Snapshot snapshot;
    std::optional<table::ParsedStats> stats;
    table::Table::RowGroupStats row_groups;  // Footers read (Table::SelectByRowGroups).
    // Scan SQL by the files pruning kept (nullopt: all of them).
    std::map<std::optional<std::vector<size_t>>, std::string> scans;
  };
  static constexpr size_t kScansKept = 64;
  // Files the log's stats keep that are checked again by their row groups'
  // footer stats (one parquet_metadata call, kept with the snapshot); a
  // selection wider than this is scanned as it is.
  static constexpr size_t kRowGroupCheckFilesMax = 64;
  // A table the engine has read and its snapshots by version: a version's
  // snapshot never changes, so a query of the latest version reloads nothing
  // unless a commit came since (one listing of _delta_log tells).
  struct OpenedTable {
    std::unique_ptr<table::Table> table;
    std::map<int64_t, std::shared_ptr<LoadedSnapshot>> snapshots;
  };
  static constexpr size_t kSnapshotsKept = 4;  // Per table; the oldest go first.
  [[nodiscard]] Result<std::shared_ptr<LoadedSnapshot>> SnapshotOf(OpenedTable& opened, std::optional<int64_t> version);

  Lake* lake_;
  std::vector<std::string> writable_paths_;
  std::shared_ptr<engine::Database> database_;  // Outlives the connection and tables below.
  std::unique_ptr<engine::Connection> connection_;
  // json_serialize_sql / json_deserialize_sql on connection_, prepared once.
  std::unique_ptr<engine::PreparedStatement> serialize_, deserialize_;
  std::map<std::string, OpenedTable> open_tables_;
  // Rewrites by statement text (Reuse); only those that read latest versions.
  std::map<std::string, PreparedQuery> rewrites_;
  static constexpr int kWithNestingMax = 8;         // PrepareOne.
  static constexpr int kCtesMax = 256;              // PrepareOne: about 250 MB to parse.
  static constexpr int kMaterializedCtesMax = 32;   // About 150 MB.
  static constexpr size_t kRewritesKept = 256;
  static constexpr size_t kRewriteTextMax = 64 * 1024;
  static constexpr size_t kRewriteBytesKept = 32 << 20;  // Texts and rewrites together.
  size_t rewrite_bytes_ = 0;
  bool pinned_ = false;  // The statement being rewritten names a version (AT, AS OF).
  // Table reference node -> the conjuncts that may prune it (set by CollectPruning).
  std::map<const nlohmann::json*, std::vector<PruningConjunct>> pending_;
  // Per SELECT being rewritten, innermost last: how many items its FROM has, and
  // each lake table's qualifier with its `timestamp` columns (lower case).
  struct Scope {
    int from_items = 0;
    std::vector<std::pair<std::string, std::set<std::string>>> tables;
    std::set<std::string> unaliased;  // "namespace.table" of its lake tables without an alias.
  };
  std::vector<Scope> scopes_;
  bool utc_fast_path_ = true;
  int utc_calls_ = 0;                    // Calendar calls the last Rewrite changed.
  std::map<std::string, std::string> cte_names_;  // Of the statement being rewritten: name -> renamed.
  nlohmann::json select_template_;       // "SELECT 1" serialised (ExpressionName).
  // (token, scan SQL) of each table reference the statement being rewritten replaced.
  std::vector<std::pair<std::string, std::string>> scans_;
};

}  // namespace finlake::sql
