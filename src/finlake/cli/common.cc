#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <ctime>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <iomanip>
#include <set>
#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <iostream>

#include "finlake/calendar/calendar_config.h"
#include "finlake/calendar/exchange_calendar.h"
#include "finlake/cli/output.h"
#include "finlake/core/http_client.h"
#include "finlake/ingest/alphavantage.h"
#include "finlake/ingest/file_inbox.h"
#include "finlake/ingest/generator_server.h"
#include "finlake/ingest/market_generator.h"
#include "finlake/ingest/postgres_source.h"
#include "finlake/ingest/source_config.h"
#include "finlake/ingest/ingest_job.h"
#include "finlake/ingest/yahoo.h"
#include "finlake/core/limits.h"
#include "finlake/core/scratch_dir.h"
#include "finlake/core/strings.h"
#include "finlake/engine/query_watchdog.h"
#include "finlake/sql/lake.h"
#include "finlake/sql/query_engine.h"
#include "finlake/cli/common.h"

namespace finlake::cli {

using nlohmann::json;

int Fail(const Status& status) {
  std::cerr << "finlake: error: " << status.message() << "\n";
  // A lost race is worth retrying; scripts tell it apart by the status.
  return status.code() == StatusCode::kConflict ? kExitConflict : 1;
}

std::string CurrentUser() {
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  if (const passwd* entry = ::getpwuid(::getuid()); entry != nullptr) return entry->pw_name;
  return "uid " + std::to_string(::getuid());
}

namespace {

// Tests stop a writer at a named crash point (FINLAKE_TEST_CRASH_AT=log_linked,
// ...), or hold it just before its commit (FINLAKE_TEST_PAUSE_BEFORE_COMMIT=DIR:
// it creates DIR/ready, then waits up to two minutes for DIR/go) so that another
// writer commits in between and the race is certain, not a matter of luck.
void InstallCrashHook(Storage& storage) {
  const char* crash = std::getenv("FINLAKE_TEST_CRASH_AT");
  const char* pause = std::getenv("FINLAKE_TEST_PAUSE_BEFORE_COMMIT");
  std::string crash_at = crash == nullptr ? "" : crash;
  std::string pause_dir = pause == nullptr ? "" : pause;
  if (crash_at.empty() && pause_dir.empty()) return;
  auto paused = std::make_shared<bool>(false);
  storage.SetCrashHook([crash_at, pause_dir, paused](CrashPoint reached) {
    if (crash_at == CrashPointName(reached)) {
      std::cerr << "finlake: test crash at " << crash_at << "\n";
      ::_exit(86);
    }
    if (!pause_dir.empty() && reached == CrashPoint::kCommitReady && !*paused) {
      *paused = true;
      std::ofstream(pause_dir + "/ready").put('\n');
      for (int waited_ms = 0; waited_ms < 120000 && ::access((pause_dir + "/go").c_str(), F_OK) != 0; waited_ms += 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  });
}

}  // namespace

Result<std::unique_ptr<sql::Lake>> OpenLake(const std::string& dir, bool create, const engine::EngineOptions& engine) {
  sql::LakeOptions options;
  options.create = create;
  options.engine = engine;
  ASSIGN_OR_RETURN(auto lake, sql::Lake::Open(dir, options));
  InstallCrashHook(lake->storage());
  return lake;
}

// Reads `path` as the rows of a SELECT: CSV, Parquet or JSON, by --format or extension.
Result<std::string> SourceSql(engine::Connection& connection, const std::string& path, std::string format,
                              const delta::Schema* table_schema) {
  if (::access(path.c_str(), R_OK) != 0) return Status::NotFound("input file " + path + " does not exist or is not readable");
  if (format.empty()) {
    std::string lower = ToLower(path);
    if (EndsWith(lower, ".csv") || EndsWith(lower, ".csv.gz") || EndsWith(lower, ".tsv")) format = "csv";
    else if (EndsWith(lower, ".parquet")) format = "parquet";
    else if (EndsWith(lower, ".json") || EndsWith(lower, ".jsonl") || EndsWith(lower, ".ndjson")) format = "json";
    else return Status::InvalidArgument("cannot tell the format of " + path + " from its name; pass --format csv|parquet|json");
  }
  if (format == "parquet") return "SELECT * FROM read_parquet(" + SqlQuote(path) + ")";
  if (format != "csv" && format != "json") {
    return Status::InvalidArgument("unknown --format '" + format + "' (use csv, parquet or json)");
  }
  std::string base = format == "csv" ? "read_csv(" + SqlQuote(path) + ", header=true"
                                     : "read_json(" + SqlQuote(path) + ", auto_detect=true";
  if (table_schema == nullptr) return "SELECT * FROM " + base + ")";
  // Text formats are read with the table's types, so "42" lands as the table's type
  // and a bad value fails in the reader, naming the line. CSV takes hints for some
  // columns (types=); JSON needs every column (columns=), detected ones included.
  auto columns = connection.Describe("SELECT * FROM " + base + ")");
  if (!columns.ok()) return columns.status().WithContext(path);
  std::vector<std::string> types;
  for (const auto& [name, type] : *columns) {
    const delta::StructField* field = table_schema->Find(name);
    if (field == nullptr && format == "csv") continue;
    types.push_back(SqlQuote(name) + ": " + SqlQuote(field ? delta::ToDuckDbType(field->type) : type));
  }
  if (!types.empty()) base += (format == "csv" ? ", types={" : ", columns={") + Join(types, ", ") + "}";
  return "SELECT * FROM " + base + ")";
}

Result<std::map<std::string, std::string>> ParseProperties(const std::vector<std::string>& items) {
  std::map<std::string, std::string> properties;
  for (const std::string& item : items) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return Status::InvalidArgument("property '" + item + "' must be key=value");
    properties[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return properties;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  for (std::string part : Split(text, ',')) {
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

// "symbol VARCHAR, close DOUBLE" -> a Delta schema, through DuckDB's own type parser.
Result<delta::Schema> ParseSchemaSpec(engine::Connection& connection, const std::string& spec) {
  std::string probe = "finlake_schema_probe_" + NewUuid().substr(0, 8);
  Status created = connection.Execute("CREATE TEMP TABLE " + probe + " (" + spec + ")");
  if (!created.ok()) return Status::InvalidArgument("--schema '" + spec + "' is not a column list: " + created.message());
  auto described = connection.Describe("SELECT * FROM " + probe);
  (void)connection.Execute("DROP TABLE " + probe);
  if (!described.ok()) return described.status();
  delta::Schema schema;
  for (const auto& [name, type] : *described) {
    ASSIGN_OR_RETURN(delta::DataType delta_type, delta::FromDuckDbType(type, name));
    schema.fields.push_back(delta::StructField{name, delta_type, true, json::object()});
  }
  return schema;
}

std::string FormatSchema(const delta::Schema& schema, const std::vector<std::string>& partitions) {
  std::string out;
  for (const auto& field : schema.fields) {
    bool partition = std::find(partitions.begin(), partitions.end(), field.name) != partitions.end();
    out += "  " + field.name + "  " + delta::ToDuckDbType(field.type) + "  (" + field.type.Name() +
           (field.nullable ? "" : ", not null") + (partition ? ", partition" : "") + ")\n";
  }
  return out;
}

int OpenSqlSession(sql::Lake& lake, const SqlOptions& options, SqlSession* session) {
  if (!options.output.empty()) {
    // A result written into the lake's folder could replace a table's file or commit.
    const auto output = std::filesystem::weakly_canonical(std::filesystem::absolute(options.output));
    const auto root = std::filesystem::weakly_canonical(std::filesystem::absolute(lake.dir()));
    auto [r, o] = std::mismatch(root.begin(), root.end(), output.begin(), output.end());
    if (r == root.end()) {
      return Fail(Status::InvalidArgument("--output " + options.output + " is inside the lake (" + lake.dir() +
                                          "): write query results outside it"));
    }
  }
  // Parquet is written by the sandboxed engine itself: the one file it may write
  // outside the lake's tables (a scratch file when the result goes to a pipe).
  if (options.format == OutputFormat::kParquet) {
    if (options.output.empty()) {
      if (::isatty(STDOUT_FILENO)) {
        return Fail(Status::InvalidArgument("--format parquet writes binary: pass --output FILE or redirect stdout"));
      }
      session->scratch.emplace("finlake-out-");
      session->parquet_target = session->scratch->path() + "/result.parquet";
    } else {
      const std::filesystem::path output = std::filesystem::absolute(options.output).lexically_normal();
      session->parquet_output = output.string();
      session->parquet_target =
          (output.parent_path() / ("." + output.filename().string() + ".finlake-" + std::to_string(::getpid()) +
                                   ".tmp")).string();
    }
  }
  auto engine = sql::QueryEngine::Create(&lake, session->parquet_target.empty()
                                                    ? std::vector<std::string>{}
                                                    : std::vector<std::string>{session->parquet_target});
  if (!engine.ok()) {
    // The engine is where the size is first parsed: the lake opens its engines on use.
    if (!options.memory_limit.empty() && engine.status().message().find("memory_limit") != std::string::npos) {
      return Fail(Status::InvalidArgument("--memory-limit '" + options.memory_limit +
                                          "' is not a size such as 512MB or 4GB (" + engine.status().message() + ")"));
    }
    return Fail(engine.status());
  }
  session->engine = std::move(*engine);
  return 0;
}

int RunSql(sql::Lake& lake, const std::string& text, const SqlOptions& options) {
  SqlSession session;
  if (int rc = OpenSqlSession(lake, options, &session); rc != 0) return rc;
  return RunSql(session, text, options);
}

int RunSql(SqlSession& session, const std::string& text, const SqlOptions& options) {
  const OutputFormat format = options.format;
  const std::string& output = options.output;
  const std::string& parquet_target = session.parquet_target;
  std::optional<ScratchDir>& scratch = session.scratch;
  sql::QueryEngine* engine = session.engine.get();
  // A statement that does not stop when interrupted (DuckDB's parser never looks
  // for an interrupt) ends the process instead of outliving --timeout or Ctrl-C.
  const auto exit_stuck = [&](const std::string& reason) {
    std::cerr << "finlake: error: " << reason << "; the engine did not stop within "
              << engine::QueryWatchdog::kStuckGraceMs / 1000 << " s, so finlake exits" << std::endl;
    if (!parquet_target.empty()) ::unlink(parquet_target.c_str());
    std::_Exit(1);
  };
  Result<std::vector<sql::PreparedQuery>> prepared = [&]() -> Result<std::vector<sql::PreparedQuery>> {
    // Parsing and rewriting count against the timeout too.
    engine::QueryWatchdog watchdog(engine->connection(), options.timeout_ms, /*on_sigint=*/true, exit_stuck);
    auto statements = engine->Prepare(text);
    if (!statements.ok() && !watchdog.reason().empty()) return Status::Internal(watchdog.reason());
    return statements;
  }();
  if (!prepared.ok()) return Fail(prepared.status());
  std::error_code fs_error;
  for (const sql::PreparedQuery& query : *prepared) {
    const auto start = std::chrono::steady_clock::now();
    // Each statement gets the whole timeout; Ctrl-C cancels the one running.
    engine::QueryWatchdog watchdog(engine->connection(), options.timeout_ms, /*on_sigint=*/true, exit_stuck);
    auto stopped = [&](const Status& status) {
      const std::string reason = watchdog.reason();
      if (!reason.empty()) return Fail(Status::Internal(reason));
      // DuckDB's advice names SET statements, which `finlake sql` does not run.
      if (status.message().find("Out of Memory Error") != std::string::npos) {
        return Fail(Status::Internal(status.message().substr(0, status.message().find("\n")) +
                                     " (the engine's memory limit: `finlake sql --memory-limit SIZE`)"));
      }
      return Fail(status);
    };
    engine::Connection& connection = engine->connection();
    if (format == OutputFormat::kParquet && query.explain) {
      return Fail(Status::InvalidArgument("EXPLAIN prints a plan, not rows: use --format table, csv or json for it"));
    }
    if (format == OutputFormat::kParquet || (format == OutputFormat::kJson && !query.explain)) {
      auto result = sql::WithFallback(query, [&](const std::string& inner) {
        return connection.Query(format == OutputFormat::kParquet
                                    ? "COPY (" + inner + ") TO " + SqlQuote(parquet_target) +
                                          " (FORMAT parquet, COMPRESSION zstd)"
                                    : "SELECT to_json(__row)::VARCHAR FROM (" + inner + ") AS __row");
      });
      if (!result.ok()) {
        if (format == OutputFormat::kParquet) std::filesystem::remove(parquet_target, fs_error);
        return stopped(result.status());
      }
      if (!session.parquet_output.empty() && format == OutputFormat::kParquet) {
        std::filesystem::rename(parquet_target, session.parquet_output, fs_error);
        if (fs_error) {
          const std::string why = fs_error.message();
          std::filesystem::remove(parquet_target, fs_error);
          return Fail(Status::IOError("writing " + session.parquet_output + ": " + why));
        }
      }
      if (scratch) {
        // Parquet to a pipe: the scratch file, copied to stdout.
        std::ifstream in(parquet_target, std::ios::binary);
        std::cout << in.rdbuf();
        std::cout.flush();
      }
      if (format == OutputFormat::kJson) {
        std::ofstream file;
        std::ostream& out = output.empty() ? std::cout : (file.open(output), file);
        out << "[";
        for (int64_t r = 0; r < (*result)->row_count(); ++r) out << (r ? ",\n " : "") << (*result)->GetString(0, r);
        out << "]\n";
      }
    } else {
      std::vector<bool> numeric;
      if (!query.explain && format == OutputFormat::kTable) {
        // Which columns to right-align (a second bind: only the table format needs it).
        auto columns = sql::WithFallback(query, [&](const std::string& inner) { return connection.Describe(inner); });
        if (!columns.ok()) return stopped(columns.status());
        for (const auto& [name, type] : *columns) numeric.push_back(IsNumericTypeName(type));
      }
      auto result = sql::WithFallback(query, [&](const std::string& inner) {
        if (query.explain) return connection.Query(inner);
        // The table format shows a bounded number of rows: fetch no more (the
        // text of a 100M-row result would not fit in memory).
        return connection.Query(AsTextSql(inner) + (format == OutputFormat::kTable
                                                        ? " LIMIT " + std::to_string(limits::kTableFormatRowsMax + 1)
                                                        : ""));
      });
      if (!result.ok()) return stopped(result.status());
      std::ofstream file;
      std::ostream& out = output.empty() ? std::cout : (file.open(output), file);
      if (format == OutputFormat::kCsv) PrintCsv(**result, out);
      else PrintTable(**result, numeric, out, limits::kTableFormatRowsMax);
    }
    if (options.timing) {
      const double run = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cerr << std::fixed << std::setprecision(6) << "run time: " << query.prepare_seconds + run
                << " s (prepare " << query.prepare_seconds << " s, execute " << run << " s)\n"
                << std::defaultfloat;
    }
    if (options.stats || query.explain) {
      for (const sql::TableRead& read : query.reads) {
        std::cerr << "-- " << read.table << ": version " << read.version << ", " << read.files << " of "
                  << read.files_total << " files scanned\n";
      }
      if (options.stats && query.reused) std::cerr << "-- rewrite reused: no commit since it was made\n";
    }
  }
  return 0;
}

int Shell(sql::Lake& lake, const SqlOptions& options) {
  // One engine for the session: a table's snapshot is loaded once, and a statement
  // typed again reuses its rewrite while its tables have no newer commit.
  SqlSession session;
  if (int rc = OpenSqlSession(lake, options, &session); rc != 0) return rc;
  std::cout << "finlake SQL shell on " << lake.dir() << ". End statements with ';'. Ctrl-D quits.\n";
  std::string buffer, line;
  while (true) {
    std::cout << (buffer.empty() ? "finlake> " : "      -> ") << std::flush;
    if (!std::getline(std::cin, line)) break;
    buffer += line + "\n";
    if (line.find(';') == std::string::npos) continue;
    RunSql(session, buffer, options);
    buffer.clear();
  }
  std::cout << "\n";
  return 0;
}


}  // namespace finlake::cli
