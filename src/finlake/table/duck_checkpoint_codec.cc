#include "finlake/table/duck_checkpoint_codec.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "finlake/core/scratch_dir.h"
#include "finlake/core/strings.h"

namespace finlake::table {

using nlohmann::json;

namespace {

// The V1 checkpoint schema ("Checkpoint Schema"), in Spark's column order.
constexpr const char* kCheckpointColumns =
    "{'txn': 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)', "
    "'add': 'STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, "
    "modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags MAP(VARCHAR, VARCHAR))', "
    "'remove': 'STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, "
    "extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT)', "
    "'metaData': 'STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, "
    "options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], "
    "configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)', "
    "'protocol': 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures VARCHAR[], "
    "writerFeatures VARCHAR[])'";
constexpr const char* kDomainMetadataColumn =
    ", 'domainMetadata': 'STRUCT(domain VARCHAR, configuration VARCHAR, removed BOOLEAN)'";

}  // namespace

Result<engine::Connection*> DuckCheckpointCodec::connection() {
  if (!connection_) {
    ASSIGN_OR_RETURN(connection_, database_->Connect());
  }
  return connection_.get();
}

Result<std::vector<delta::Action>> DuckCheckpointCodec::Read(const Storage& storage,
                                                             const std::vector<std::string>& part_paths) {
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(engine::Connection * conn, connection());
  std::vector<delta::Action> actions;
  for (const std::string& path : part_paths) {
    std::optional<std::string> local = storage.LocalPath(path);
    if (!local) return Status::Unsupported("checkpoint " + path + ": storage has no local path for DuckDB");
    auto rows = conn->QueryJson("SELECT to_json(t)::VARCHAR FROM read_parquet(" + SqlQuote(*local) +
                                ", hive_partitioning=false) t");
    if (!rows.ok()) {
      return Status::Corruption("checkpoint " + path + " cannot be read: " + rows.status().message());
    }
    int64_t row_number = 0;
    for (const auto& row : *rows) {
      ++row_number;
      json object = json::parse(row[0].get<std::string>(), nullptr, false);
      if (!object.is_object()) return Status::Corruption("checkpoint " + path + ": row is not a struct");
      for (auto& [kind, body] : object.items()) {
        if (body.is_null() || kind == "commitInfo" || kind == "cdc") continue;
        if (kind == "add" && body.is_object()) {
          // Checkpoints written with writeStatsAsStruct carry stats_parsed only.
          if ((!body.contains("stats") || body["stats"].is_null()) && body.contains("stats_parsed") &&
              body["stats_parsed"].is_object()) {
            body["stats"] = body["stats_parsed"].dump();
          }
          body.erase("stats_parsed");
          body.erase("partitionValues_parsed");
        }
        ASSIGN_OR_RETURN(std::optional<delta::Action> action,
                         delta::ParseAction(json{{kind, body}},
                                            path + " row " + std::to_string(row_number)));
        if (action) actions.push_back(std::move(*action));
      }
    }
  }
  return actions;
}

Result<std::string> DuckCheckpointCodec::Encode(const std::vector<delta::Action>& actions) {
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(engine::Connection * conn, connection());
  ScratchDir scratch("finlake-checkpoint-");
  std::string lines_path = scratch.path() + "/actions.json";
  std::string parquet_path = scratch.path() + "/checkpoint.parquet";
  bool has_domains = false;
  {
    std::ofstream out(lines_path);
    for (const delta::Action& action : actions) {
      if (std::holds_alternative<delta::CommitInfo>(action)) continue;
      if (auto* other = std::get_if<delta::OtherAction>(&action)) {
        if (other->kind != "domainMetadata") continue;
        has_domains = true;
      }
      out << delta::ActionToJson(action).dump() << '\n';
    }
    if (!out) return Status::IOError("cannot write " + lines_path);
  }
  std::string columns = std::string(kCheckpointColumns) + (has_domains ? kDomainMetadataColumn : "") + "}";
  RETURN_IF_ERROR(conn->Execute("COPY (SELECT * FROM read_json(" + SqlQuote(lines_path) +
                                ", format='newline_delimited', columns=" + columns +
                                ")) TO " + SqlQuote(parquet_path) + " (FORMAT parquet, COMPRESSION zstd)")
                      .WithContext("writing checkpoint"));
  std::ifstream in(parquet_path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) return Status::IOError("checkpoint Parquet file came out empty");
  return bytes;
}

}  // namespace finlake::table
