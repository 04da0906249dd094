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
  std::vector<TableRead> reads;
  bool explain = false;
  double prepare_seconds = 0;       // Rewriting it: snapshots loaded, files pruned.
};

class QueryEngine {
 public:
  // Queries run in the lake's sandboxed engine (Lake::QueryDatabase), which may
  // also write `writable_paths` (an output file the caller COPYs a result to).
  [[nodiscard]] static Result<std::unique_ptr<QueryEngine>> Create(Lake* lake,
                                                                   const std::vector<std::string>& writable_paths = {});

  // Splits `sql` into statements and rewrites each; a table added to the lake
  // since the last call is visible.
  [[nodiscard]] Result<std::vector<PreparedQuery>> Prepare(const std::string& sql);
  [[nodiscard]] Result<std::unique_ptr<engine::QueryResult>> Run(const PreparedQuery& query);
  engine::Connection& connection() { return *connection_; }
  void Interrupt() { connection_->Interrupt(); }

 private:
  QueryEngine(Lake* lake, std::vector<std::string> writable_paths) : lake_(lake), writable_paths_(std::move(writable_paths)) {}
  // Connects to the lake's current query engine: a table created since the last
  // call widens the sandbox, which means a new engine (Lake::QueryDatabase).
  [[nodiscard]] Status Reconnect();
  [[nodiscard]] Result<PreparedQuery> PrepareOne(const std::string& statement);
  [[nodiscard]] Status RewriteNode(nlohmann::json& node, std::vector<std::string>& ctes, PreparedQuery& out);
  [[nodiscard]] Result<nlohmann::json> ReplacementFor(const nlohmann::json& base_table, PreparedQuery& out);
  // Notes, for each table reference of a SELECT node's FROM that its WHERE may
  // prune, the conjuncts that could apply (pending_).
  void CollectPruning(const nlohmann::json& select_node);
  [[nodiscard]] Result<nlohmann::json> Serialize(const std::string& select_sql);

  Lake* lake_;
  std::vector<std::string> writable_paths_;
  std::shared_ptr<engine::Database> database_;  // Outlives the connection and tables below.
  std::unique_ptr<engine::Connection> connection_;
  std::map<std::string, std::unique_ptr<table::Table>> open_tables_;
  // Table reference node -> the conjuncts that may prune it (set by CollectPruning).
  std::map<const nlohmann::json*, std::vector<PruningConjunct>> pending_;
};

}  // namespace finlake::sql
