#include "finlake/table/duck_checkpoint_codec.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

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

// Every action but add, through their JSON objects: few rows in any checkpoint.
Status ReadOtherActions(engine::Connection& conn, const std::string& sql, const std::string& path,
                        std::vector<delta::Action>* actions) {
  std::vector<std::string> names;
  auto rows = conn.QueryJson(sql, &names);
  if (!rows.ok()) return Status::Corruption("checkpoint " + path + " cannot be read: " + rows.status().message());
  int64_t row_number = 0;
  for (auto& row : *rows) {
    ++row_number;
    for (size_t column = 0; column < names.size(); ++column) {
      if (row[column].is_null()) continue;
      json action = json::object();
      action[names[column]] = std::move(row[column]);
      ASSIGN_OR_RETURN(std::optional<delta::Action> parsed,
                       delta::ParseAction(action, path + " row " + std::to_string(row_number)));
      if (parsed) actions->push_back(std::move(*parsed));
    }
  }
  return Status::Ok();
}

// Adds are nearly every row of a checkpoint: their fields come as flat columns and
// become AddFile directly, several times faster than through JSON objects.
// Checkpoints written with writeStatsAsStruct carry typed stats_parsed only; DuckDB
// renders those (dates, timestamps, decimals) as the stats JSON text.
Status ReadAdds(engine::Connection& conn, const std::string& scan, const std::string& path,
                std::vector<delta::Action>* actions) {
  auto fields = conn.Describe("SELECT \"add\".* FROM " + scan);
  if (!fields.ok()) return Status::Corruption("checkpoint " + path + " cannot be read: " + fields.status().message());
  std::set<std::string> present;
  for (const auto& [name, type] : *fields) present.insert(name);
  for (const char* required : {"path", "size"}) {
    if (!present.count(required)) {
      return Status::Corruption("checkpoint " + path + ": add column lacks the required field '" + required + "'");
    }
  }
  auto field = [&](const std::string& name) {
    return present.count(name) ? "\"add\"." + SqlIdentifier(name) : std::string("NULL");
  };
  std::string stats_parsed =
      present.count("stats_parsed") ? "to_json(\"add\".stats_parsed)::VARCHAR" : std::string("NULL");
  std::string sql = "SELECT " + field("path") + ", " + field("partitionValues") + ", " + field("size") + ", " +
                    field("modificationTime") + ", " + field("dataChange") + ", " + field("stats") + ", " +
                    stats_parsed + ", " + field("tags") + ", " + field("deletionVector") + " FROM " + scan +
                    " WHERE \"add\" IS NOT NULL";
  auto rows = conn.QueryJson(sql);
  if (!rows.ok()) return Status::Corruption("checkpoint " + path + " cannot be read: " + rows.status().message());
  actions->reserve(actions->size() + rows->size());
  int64_t row_number = 0;
  for (auto& row : *rows) {
    ++row_number;
    std::string where = "checkpoint " + path + " add row " + std::to_string(row_number);
    if (!row[0].is_string() || !row[2].is_number_integer()) {
      return Status::Corruption(where + ": add.path or add.size is null");
    }
    delta::AddFile add;
    if (!PercentDecode(row[0].get<std::string>(), &add.path)) {
      return Status::Corruption(where + ": path '" + row[0].get<std::string>() + "' has a malformed %-escape");
    }
    if (row[1].is_object()) {
      for (auto& [key, value] : row[1].items()) {
        add.partition_values[key] = value.is_string() ? std::optional<std::string>(value.get<std::string>()) : std::nullopt;
      }
    }
    add.size = row[2].get<int64_t>();
    add.modification_time = row[3].is_number_integer() ? row[3].get<int64_t>() : 0;
    add.data_change = row[4].is_boolean() ? row[4].get<bool>() : true;
    if (row[5].is_string()) add.stats = row[5].get<std::string>();
    else if (row[6].is_string()) add.stats = row[6].get<std::string>();
    if (row[7].is_object() && !row[7].empty()) add.tags = std::move(row[7]);
    if (row[8].is_object()) add.deletion_vector = std::move(row[8]);
    actions->push_back(std::move(add));
  }
  return Status::Ok();
}

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
    bool has_add = false;
    std::vector<std::string> others;
    for (const auto& [name, type] : *columns) {
      if (name == "add") has_add = true;
      else if (name != "commitInfo" && name != "cdc") others.push_back(SqlIdentifier(name));
    }
    std::string where = has_add ? " WHERE \"add\" IS NULL" : "";
    if (!others.empty()) {
      RETURN_IF_ERROR(ReadOtherActions(*conn, "SELECT " + Join(others, ", ") + " FROM " + scan + where, path, &actions));
    }
    if (has_add) RETURN_IF_ERROR(ReadAdds(*conn, scan, path, &actions));
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
