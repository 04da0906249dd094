// Log-replay benchmark: builds a log-only Delta table with N commits through
// finlake::delta::DeltaLog, then times DeltaLog::Load() on it.
//
//   finlake_bench_log create DIR N --checkpoints|--no-checkpoints
//   finlake_bench_log load DIR REPEAT
//   finlake_bench_log breakdown DIR REPEAT
//
// `create` writes version 0 (protocol + metaData of a small schema) and N-1 blind
// appends of one AddFile each (stats with numRecords 1 and min/max/nullCount); no
// data files are written. With --checkpoints DeltaLog writes a checkpoint every 10
// versions (CommitOptions.checkpoint = true), with --no-checkpoints none.
// `load` prints one JSON object: median/min/max/first milliseconds of Load(), the
// number of live files and the version read. `breakdown` times the parts of a
// Load() separately (listing _delta_log, the DuckDB query under the checkpoint
// codec, the whole codec Read(), reading and parsing the commits after the
// checkpoint), to see what dominates. bench/run.py drives all three.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "finlake/core/clock.h"
#include "finlake/core/status.h"
#include "finlake/core/strings.h"
#include "finlake/delta/actions.h"
#include "finlake/delta/delta_log.h"
#include "finlake/delta/schema.h"
#include "finlake/delta/snapshot.h"
#include "finlake/engine/engine.h"
#include "finlake/storage/local_storage.h"
#include "finlake/table/duck_checkpoint_codec.h"

namespace {

using finlake::Result;
using finlake::Status;
using nlohmann::json;
namespace delta = finlake::delta;

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

int Usage() {
  std::cerr << "usage: finlake_bench_log create DIR N --checkpoints|--no-checkpoints\n"
               "       finlake_bench_log load DIR REPEAT\n"
               "       finlake_bench_log breakdown DIR REPEAT\n";
  return 2;
}

int Fail(const std::string& what, const Status& status) {
  std::cerr << "finlake_bench_log: error: " << what << ": " << status.ToString() << "\n";
  return 1;
}

bool ParsePositive(const char* text, int64_t* out) {
  char* end = nullptr;
  long long value = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || value <= 0) return false;
  *out = value;
  return true;
}

// The engine, codec and storage a DeltaLog needs, kept alive together.
struct LogContext {
  std::unique_ptr<finlake::Storage> storage;
  std::unique_ptr<finlake::engine::Database> database;
  std::unique_ptr<finlake::table::DuckCheckpointCodec> codec;
  std::unique_ptr<delta::DeltaLog> log;
};

Result<LogContext> OpenLog(const std::string& dir) {
  LogContext context;
  context.storage = finlake::NewLocalStorage();
  ASSIGN_OR_RETURN(context.database, finlake::engine::Database::Open());
  context.codec = std::make_unique<finlake::table::DuckCheckpointCodec>(context.database.get());
  std::string root = std::filesystem::absolute(dir).lexically_normal().string();
  context.log = std::make_unique<delta::DeltaLog>(context.storage.get(), root, context.codec.get());
  return context;
}

delta::Schema BenchSchema() {
  delta::Schema schema;
  schema.fields.push_back({"id", delta::DataType::Primitive("long"), true, json::object()});
  schema.fields.push_back({"symbol", delta::DataType::Primitive("string"), true, json::object()});
  schema.fields.push_back({"price", delta::DataType::Primitive("double"), true, json::object()});
  schema.fields.push_back({"ts", delta::DataType::Primitive("timestamp"), true, json::object()});
  return schema;
}

std::string StatsFor(int64_t i) {
  char symbol[16];
  std::snprintf(symbol, sizeof(symbol), "S%05lld", static_cast<long long>(i % 5000));
  char ts[40];
  // One file per minute from 2024-01-01T00:00:00Z.
  int64_t minutes = i;
  std::snprintf(ts, sizeof(ts), "2024-01-%02lldT%02lld:%02lld:00.000Z",
                static_cast<long long>(1 + (minutes / 1440) % 28), static_cast<long long>((minutes / 60) % 24),
                static_cast<long long>(minutes % 60));
  double price = 100.0 + static_cast<double>(i % 1000) / 8.0;
  json values = {{"id", i}, {"symbol", symbol}, {"price", price}, {"ts", ts}};
  json stats = {{"numRecords", 1},
                {"minValues", values},
                {"maxValues", values},
                {"nullCount", {{"id", 0}, {"symbol", 0}, {"price", 0}, {"ts", 0}}}};
  return stats.dump();
}

int Create(const std::string& dir, int64_t commits, bool checkpoints) {
  auto context = OpenLog(dir);
  if (!context.ok()) return Fail("opening the engine", context.status());
  delta::DeltaLog& log = *context->log;
  if (log.Exists()) {
    return Fail("create", Status::AlreadyExists("a Delta table already exists at " + log.table_root()));
  }
  auto start = Clock::now();

  delta::Metadata metadata;
  metadata.id = finlake::NewUuid();
  metadata.name = "log_replay_bench";
  metadata.schema_string = delta::SerializeSchema(BenchSchema());
  metadata.created_time = finlake::SystemClock().NowMillis();
  std::vector<delta::Action> create = {delta::Protocol{}, metadata};
  delta::CommitOptions create_options;
  create_options.operation = "CREATE TABLE";
  create_options.checkpoint = checkpoints;
  auto created = log.Commit(-1, std::move(create), create_options);
  if (!created.ok()) return Fail("committing version 0", created.status());

  delta::CommitOptions append;
  append.operation = "WRITE";
  append.operation_parameters = {{"mode", "Append"}};
  append.blind_append = true;
  append.checkpoint = checkpoints;
  int64_t now_ms = finlake::SystemClock().NowMillis();
  int64_t checkpoint_failures = 0;
  for (int64_t v = 1; v < commits; ++v) {
    delta::AddFile add;
    char path[64];
    std::snprintf(path, sizeof(path), "part-%08lld-bench.parquet", static_cast<long long>(v));
    add.path = path;
    add.size = 4096 + v % 512;
    add.modification_time = now_ms + v;
    add.data_change = true;
    add.stats = StatsFor(v);
    auto committed = log.Commit(v - 1, {std::move(add)}, append);
    if (!committed.ok()) return Fail("committing version " + std::to_string(v), committed.status());
    if (committed->version != v) {
      return Fail("committing version " + std::to_string(v),
                  Status::Internal("landed at version " + std::to_string(committed->version)));
    }
    if (!committed->checkpoint_status.ok()) {
      ++checkpoint_failures;
      std::cerr << "finlake_bench_log: checkpoint after version " << v
                << " failed: " << committed->checkpoint_status.ToString() << "\n";
    }
  }
  double ms = MillisSince(start);
  json out = {{"mode", "create"},
              {"dir", log.table_root()},
              {"commits", commits},
              {"checkpoints", checkpoints},
              {"seconds", ms / 1000.0},
              {"commits_per_s", static_cast<double>(commits) / (ms / 1000.0)},
              {"checkpoint_failures", checkpoint_failures}};
  std::cout << out.dump() << std::endl;
  return checkpoint_failures == 0 ? 0 : 1;
}

int Load(const std::string& dir, int64_t repeat) {
  auto open_start = Clock::now();
  auto context = OpenLog(dir);
  if (!context.ok()) return Fail("opening the engine", context.status());
  double open_ms = MillisSince(open_start);
  delta::DeltaLog& log = *context->log;

  std::vector<double> times;
  int64_t files = -1, version = -1, records = 0;
  std::optional<int64_t> checkpoint;
  for (int64_t r = 0; r < repeat; ++r) {
    auto start = Clock::now();
    auto snapshot = log.Load();
    double ms = MillisSince(start);
    if (!snapshot.ok()) return Fail("loading " + log.table_root(), snapshot.status());
    times.push_back(ms);
    files = static_cast<int64_t>(snapshot->files.size());
    version = snapshot->version;
    records = snapshot->NumRecords();
    checkpoint = snapshot->checkpoint_version;
  }
  json out = {{"mode", "load"},
              {"dir", log.table_root()},
              {"repeat", repeat},
              {"median_ms", Median(times)},
              {"min_ms", *std::min_element(times.begin(), times.end())},
              {"max_ms", *std::max_element(times.begin(), times.end())},
              {"first_ms", times.front()},
              {"engine_open_ms", open_ms},
              {"files", files},
              {"num_records", records},
              {"version", version},
              {"checkpoint_version", checkpoint ? json(*checkpoint) : json()},
              {"times_ms", times}};
  std::cout << out.dump() << std::endl;
  return 0;
}

// Times the parts of Load() one by one (median over `repeat` of each).
int Breakdown(const std::string& dir, int64_t repeat) {
  auto context = OpenLog(dir);
  if (!context.ok()) return Fail("opening the engine", context.status());
  delta::DeltaLog& log = *context->log;
  finlake::Storage& storage = *context->storage;
  auto connection = context->database->Connect();
  if (!connection.ok()) return Fail("connecting", connection.status());

  std::vector<double> list_ms, query_ms, query_json_ms, codec_ms, commits_ms, load_ms;
  int64_t entries = 0, checkpoint_actions = 0, commits_after = 0;
  std::optional<int64_t> checkpoint;
  for (int64_t r = 0; r < repeat; ++r) {
    auto start = Clock::now();
    auto listing = storage.List(log.log_dir());
    list_ms.push_back(MillisSince(start));
    if (!listing.ok()) return Fail("listing " + log.log_dir(), listing.status());
    entries = static_cast<int64_t>(listing->size());
    // The newest single-file checkpoint and the commits after it.
    std::string checkpoint_name;
    std::vector<std::string> commit_names;
    for (const finlake::FileInfo& info : *listing) {
      if (finlake::EndsWith(info.name, ".checkpoint.parquet")) checkpoint_name = info.name;
    }
    for (const finlake::FileInfo& info : *listing) {
      if (finlake::EndsWith(info.name, ".json") && info.name.size() == 25 &&
          (checkpoint_name.empty() || info.name.substr(0, 20) > checkpoint_name.substr(0, 20))) {
        commit_names.push_back(info.name);
      }
    }
    commits_after = static_cast<int64_t>(commit_names.size());
    if (!checkpoint_name.empty()) {
      checkpoint = std::stoll(checkpoint_name.substr(0, 20));
      std::string path = log.log_dir() + "/" + checkpoint_name;
      std::string sql = "SELECT to_json(t)::VARCHAR FROM read_parquet(" + finlake::SqlQuote(path) +
                        ", hive_partitioning=false) t";
      start = Clock::now();
      auto rows = (*connection)->Query(sql);
      query_ms.push_back(MillisSince(start));
      if (!rows.ok()) return Fail("querying " + path, rows.status());
      start = Clock::now();
      auto json_rows = (*connection)->QueryJson(sql);
      query_json_ms.push_back(MillisSince(start));
      if (!json_rows.ok()) return Fail("querying " + path, json_rows.status());
      start = Clock::now();
      auto actions = context->codec->Read(storage, {path});
      codec_ms.push_back(MillisSince(start));
      if (!actions.ok()) return Fail("reading " + path, actions.status());
      checkpoint_actions = static_cast<int64_t>(actions->size());
    }
    start = Clock::now();
    for (const std::string& name : commit_names) {
      auto text = storage.Read(log.log_dir() + "/" + name);
      if (!text.ok()) return Fail("reading " + name, text.status());
      auto actions = delta::ParseCommit(*text, name);
      if (!actions.ok()) return Fail("parsing " + name, actions.status());
    }
    commits_ms.push_back(MillisSince(start));
    start = Clock::now();
    auto snapshot = log.Load();
    load_ms.push_back(MillisSince(start));
    if (!snapshot.ok()) return Fail("loading " + log.table_root(), snapshot.status());
  }
  json out = {{"mode", "breakdown"},
              {"dir", log.table_root()},
              {"repeat", repeat},
              {"log_entries", entries},
              {"checkpoint_version", checkpoint ? json(*checkpoint) : json()},
              {"checkpoint_actions", checkpoint_actions},
              {"commits_replayed", commits_after},
              {"list_ms", Median(list_ms)},
              {"checkpoint_duckdb_query_ms", checkpoint ? json(Median(query_ms)) : json()},
              {"checkpoint_duckdb_query_json_ms", checkpoint ? json(Median(query_json_ms)) : json()},
              {"checkpoint_codec_read_ms", checkpoint ? json(Median(codec_ms)) : json()},
              {"commits_read_parse_ms", Median(commits_ms)},
              {"load_ms", Median(load_ms)}};
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string mode = argv[1];
  if (mode == "create" && argc == 5) {
    int64_t commits = 0;
    if (!ParsePositive(argv[3], &commits)) return Usage();
    std::string flag = argv[4];
    if (flag != "--checkpoints" && flag != "--no-checkpoints") return Usage();
    return Create(argv[2], commits, flag == "--checkpoints");
  }
  if (mode == "load" && argc == 4) {
    int64_t repeat = 0;
    if (!ParsePositive(argv[3], &repeat)) return Usage();
    return Load(argv[2], repeat);
  }
  if (mode == "breakdown" && argc == 4) {
    int64_t repeat = 0;
    if (!ParsePositive(argv[3], &repeat)) return Usage();
    return Breakdown(argv[2], repeat);
  }
  return Usage();
}
