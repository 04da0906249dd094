// The embedded DuckDB 1.4.4 engine behind a small RAII wrapper (DESIGN.md, "SQL
// engine and Parquet I/O"). Everything else in finlake talks to DuckDB through this.
//
// Thread safety: a Database may be shared; a Connection is used by one thread at a
// time, except Interrupt(), which any thread may call.
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "finlake/core/status.h"

namespace finlake::engine {

// What a sandboxed database may touch (DESIGN.md "The SQL front end", the second
// wall behind the query rewrite): DuckDB refuses every other file, extensions
// cannot be installed or loaded, and no setting can change after opening.
// DuckDB may also write where it may read: the rewrite stage keeps writes out.
struct Sandbox {
  std::vector<std::string> directories;  // Absolute; everything below each.
  std::vector<std::string> paths;        // Single files (e.g. a query's output file).
};

struct EngineOptions {
  int threads = 0;                 // 0: DuckDB's default (all cores).
  std::string memory_limit;        // e.g. "4GB"; empty: DuckDB's default (80% of RAM).
  std::string temp_directory;      // Where queries spill past the memory limit; empty: DuckDB's ./.tmp.
  std::optional<Sandbox> sandbox;  // Unset: the engine reads and writes anywhere. The
                                   // temp directory is always open to it.
};

class Connection;

// A materialised query result.
class QueryResult {
 public:
  explicit QueryResult(duckdb_result result) : result_(result) {}
  ~QueryResult() { duckdb_destroy_result(&result_); }
  QueryResult(const QueryResult&) = delete;
  QueryResult& operator=(const QueryResult&) = delete;

  int64_t column_count() { return static_cast<int64_t>(duckdb_column_count(&result_)); }
  int64_t row_count() { return static_cast<int64_t>(duckdb_row_count(&result_)); }
  std::string column_name(int64_t column) { return duckdb_column_name(&result_, column); }
  duckdb_type column_type(int64_t column) { return duckdb_column_type(&result_, column); }
  bool IsNull(int64_t column, int64_t row) { return duckdb_value_is_null(&result_, column, row); }
  // The value as DuckDB casts it to VARCHAR; empty for null.
  std::string GetString(int64_t column, int64_t row);
  // A BLOB cell's bytes ("" when null).
  std::string GetBlob(int64_t column, int64_t row);
  int64_t GetInt64(int64_t column, int64_t row) { return duckdb_value_int64(&result_, column, row); }
  duckdb_result* raw() { return &result_; }

 private:
  duckdb_result result_;
};

// A statement prepared once, run with text parameters ($1, $2, ...): no parse
// or bind per run (a SELECT f('<literal>') parses the literal every time).
class PreparedStatement {
 public:
  explicit PreparedStatement(duckdb_prepared_statement statement) : statement_(statement) {}
  ~PreparedStatement() { duckdb_destroy_prepare(&statement_); }
  PreparedStatement(const PreparedStatement&) = delete;
  PreparedStatement& operator=(const PreparedStatement&) = delete;

  [[nodiscard]] Result<std::unique_ptr<QueryResult>> Run(const std::vector<std::string>& parameters);
  duckdb_statement_type Type() { return duckdb_prepared_statement_type(statement_); }

 private:
  duckdb_prepared_statement statement_;
};

class Connection {
 public:
  explicit Connection(duckdb_connection connection) : connection_(connection) {}
  ~Connection() { duckdb_disconnect(&connection_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] Status Execute(const std::string& sql);
  [[nodiscard]] Result<std::unique_ptr<QueryResult>> Query(const std::string& sql);
  // Runs a query and converts every cell, nested types included, to JSON
  // (LIST -> array, STRUCT -> object, MAP -> object keyed by the key's text).
  // Types without a JSON counterpart here (DATE, TIMESTAMP, DECIMAL, ...) come out
  // as a placeholder string: convert them in SQL (to_json, ::VARCHAR) first.
  // `column_names`, when given, receives the result's column names.
  [[nodiscard]] Result<std::vector<std::vector<nlohmann::json>>> QueryJson(
      const std::string& sql, std::vector<std::string>* column_names = nullptr);
  // Column names and DuckDB type names of a query's result, without running it.
  [[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> Describe(const std::string& sql);
  // `sql` prepared for repeated runs; it must not outlive this connection.
  [[nodiscard]] Result<std::unique_ptr<PreparedStatement>> Prepare(const std::string& sql);
  // The kind of statement `sql` is (prepared, not run); an error when it does not bind.
  [[nodiscard]] Result<duckdb_statement_type> StatementType(const std::string& sql);
  // How many statements DuckDB's parser reads in `sql` (parsed only, about 30 us
  // where a prepare binds and plans, about 1 ms on a Parquet scan); an error when
  // it does not parse.
  [[nodiscard]] Result<int64_t> StatementCount(const std::string& sql);
  void Interrupt() { duckdb_interrupt(connection_); }
  duckdb_connection raw() { return connection_; }

 private:
  duckdb_connection connection_;
};

// Scalar functions user SQL may not call: they bind SQL of their own inside the
// engine (json_serialize_plan('SELECT * FROM read_parquet(...)') opens files past
// any rewrite), read the engine's catalog through a subquery (DuckDB's scalar
// macros whose definition holds a SELECT: pg_get_viewdef, format_type, ...), or
// show the statement as rewritten (current_query). Lower case. A list, not a
// catalog query (which cost 20-30 ms a process); a unit test checks it against
// the catalog of the DuckDB finlake links.
const std::set<std::string>& UnsafeScalarFunctions();
// DuckDB's VOLATILE functions (random(), uuid(), nextval(), ...): another answer
// each time they run. Lower case; checked against the catalog the same way.
const std::set<std::string>& VolatileFunctions();

class Database {
 public:
  // An in-memory database with TimeZone='UTC' (the Contracts' "Time") and the
  // ta_* indicator functions (analytics/sql_functions.h) in its catalog; with
  // options.sandbox, locked down to the files it names.
  [[nodiscard]] static Result<std::unique_ptr<Database>> Open(const EngineOptions& options = {});
  ~Database() { duckdb_close(&database_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  [[nodiscard]] Result<std::unique_ptr<Connection>> Connect();

 private:
  explicit Database(duckdb_database database) : database_(database) {}
  duckdb_database database_;
};

}  // namespace finlake::engine
