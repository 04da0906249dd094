// Helpers the CLI's commands share: errors, the lake, reading input files, running
// SQL and printing results. Private to cli/.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "finlake/cli/output.h"
#include "finlake/core/scratch_dir.h"
#include "finlake/core/status.h"
#include "finlake/delta/schema.h"
#include "finlake/engine/engine.h"
#include "finlake/sql/lake.h"
#include "finlake/sql/query_engine.h"

namespace finlake::cli {

// The exit status of a write that lost a race to a concurrent writer (a conflict).
inline constexpr int kExitConflict = 3;

// Prints "finlake: error: <message>" to stderr; returns the exit status: 1, or
// kExitConflict for a conflict.
int Fail(const Status& status);
std::string CurrentUser();
// Opens (or with `create`, creates) the lake; installs the test crash hook.
// `engine` configures the lake's engines (memory limit, threads).
[[nodiscard]] Result<std::unique_ptr<sql::Lake>> OpenLake(const std::string& dir, bool create = false,
                                                         const engine::EngineOptions& engine = {});
// Reads `path` as the rows of a SELECT: CSV, Parquet or JSON, by `format` or extension;
// text formats with `table_schema`'s types when given.
[[nodiscard]] Result<std::string> SourceSql(engine::Connection& connection, const std::string& path, std::string format,
                                            const delta::Schema* table_schema);
[[nodiscard]] Result<std::map<std::string, std::string>> ParseProperties(const std::vector<std::string>& items);
std::vector<std::string> SplitList(const std::string& text);
[[nodiscard]] Result<delta::Schema> ParseSchemaSpec(engine::Connection& connection, const std::string& spec);
std::string FormatSchema(const delta::Schema& schema, const std::vector<std::string>& partitions);
struct SqlOptions {
  OutputFormat format = OutputFormat::kTable;
  std::string output;      // A file for the result; empty: stdout.
  bool stats = false;      // Per table: version read, files scanned (stderr).
  bool timing = false;     // Per statement: "run time: ... s (prepare ... s, execute ... s)" (stderr).
  int64_t timeout_ms = 0;  // Per statement; 0: no limit.
  std::string memory_limit;  // --memory-limit as typed, named when DuckDB refuses it.
};

// The engine `finlake sql` runs statements on, with the file a Parquet result
// goes to: one per process, or one per shell session, so that the snapshots and
// rewrites the engine keeps serve every statement.
struct SqlSession {
  std::unique_ptr<sql::QueryEngine> engine;
  std::optional<ScratchDir> scratch;  // Parquet to a pipe: written here, then copied to stdout.
  // The file the engine writes a Parquet result to: in `scratch`, or beside
  // --output under a hidden name, renamed over it once the result is whole (an
  // existing file is replaced, and kept when the statement fails).
  std::string parquet_target;
  std::string parquet_output;  // --output, absolute; empty when the result goes to stdout.
};
// Opens `session` for `options`: 0, or the exit status of a failure it printed
// (a --memory-limit DuckDB refuses is reported as such).
int OpenSqlSession(sql::Lake& lake, const SqlOptions& options, SqlSession* session);

// Runs SQL and prints each statement's result; the exit status.
// Runs each statement of `text` under a QueryWatchdog: a statement running past
// `options.timeout_ms` or hit by Ctrl-C is interrupted and reported.
int RunSql(SqlSession& session, const std::string& text, const SqlOptions& options);
int RunSql(sql::Lake& lake, const std::string& text, const SqlOptions& options = {});
int Shell(sql::Lake& lake, const SqlOptions& options);

}  // namespace finlake::cli
