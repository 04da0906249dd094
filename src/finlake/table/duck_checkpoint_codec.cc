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
    std::string scan = "read_parquet(" + SqlQuote(*local) + ", hive_partitioning=false)";
    auto columns = conn->Describe("SELECT * FROM " + scan);
    if (!columns.ok()) {
      return Status::Corruption("checkpoint " + path + " cannot be read: " + columns.status().message());
    }
    // Cells arrive as JSON objects straight from DuckDB's vectors. Typed stats
    // (stats_parsed, written with writeStatsAsStruct) hold dates, timestamps and
    // decimals, so DuckDB renders those as JSON text in a column of their own.
    std::string select = "*";
    for (const auto& [name, type] : *columns) {
      if (name == "add" && type.find("stats_parsed") != std::string::npos) {
        select += ", to_json(\"add\".stats_parsed)::VARCHAR AS __stats_parsed";
      }
    }
    std::vector<std::string> names;
    auto rows = conn->QueryJson("SELECT " + select + " FROM " + scan, &names);
    if (!rows.ok()) {
      return Status::Corruption("checkpoint " + path + " cannot be read: " + rows.status().message());
    }
    int64_t row_number = 0;
    for (auto& row : *rows) {
      ++row_number;
      for (size_t column = 0; column < names.size(); ++column) {
        const std::string& kind = names[column];
        json& body = row[column];
        if (body.is_null() || kind == "commitInfo" || kind == "cdc" || kind == "__stats_parsed") continue;
        if (kind == "add" && body.is_object()) {
          if ((!body.contains("stats") || body["stats"].is_null()) && names.back() == "__stats_parsed" &&
              row.back().is_string()) {
            body["stats"] = row.back();
          }
          body.erase("stats_parsed");
          body.erase("partitionValues_parsed");
        }
        json action = json::object();
        action[kind] = std::move(body);
        ASSIGN_OR_RETURN(std::optional<delta::Action> parsed,
                         delta::ParseAction(action, path + " row " + std::to_string(row_number)));
        if (parsed) actions.push_back(std::move(*parsed));
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
