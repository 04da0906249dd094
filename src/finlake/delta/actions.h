// Delta log actions (PROTOCOL.md "Actions") and their newline-delimited JSON form.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "finlake/core/status.h"

namespace finlake::delta {

// Partition values are strings; std::nullopt is null ("Partition Value Serialization").
using PartitionValues = std::map<std::string, std::optional<std::string>>;

struct Protocol {
  int32_t min_reader_version = 1;
  int32_t min_writer_version = 2;
  std::optional<std::vector<std::string>> reader_features;
  std::optional<std::vector<std::string>> writer_features;
};

struct Metadata {
  std::string id;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::string format_provider = "parquet";
  std::map<std::string, std::string> format_options;
  std::string schema_string;
  std::vector<std::string> partition_columns;
  std::map<std::string, std::string> configuration;
  std::optional<int64_t> created_time;
};

struct AddFile {
  std::string path;  // Decoded (a file-system-relative name), not the URI form.
  PartitionValues partition_values;
  int64_t size = 0;
  int64_t modification_time = 0;
  bool data_change = true;
  std::optional<std::string> stats;  // The JSON string, as in the log.
  nlohmann::json tags;               // null when absent.
  nlohmann::json deletion_vector;    // null when absent; finlake refuses tables that use DVs.

  // The stats' top-level numRecords, read without building the JSON document
  // (planning touches every file's stats); nullopt without stats or the field.
  std::optional<int64_t> NumRecords() const;
};

struct RemoveFile {
  std::string path;  // Decoded.
  std::optional<int64_t> deletion_timestamp;
  bool data_change = true;
  std::optional<bool> extended_file_metadata;
  std::optional<PartitionValues> partition_values;
  std::optional<int64_t> size;
  nlohmann::json deletion_vector;
};

struct Txn {
  std::string app_id;
  int64_t version = 0;
  std::optional<int64_t> last_updated;
};

// Free-form provenance; only the fields finlake reads are named.
struct CommitInfo {
  nlohmann::json raw = nlohmann::json::object();
  std::optional<int64_t> Timestamp() const;
  std::string Operation() const;
};

// An action this implementation does not model. Readers must ignore unknown
// actions ("Protocol Evolution"); those that change how data reads (cdc is
// harmless, domainMetadata is kept) are judged by the protocol check.
struct OtherAction {
  std::string kind;
  nlohmann::json body;
};

using Action = std::variant<Protocol, Metadata, AddFile, RemoveFile, Txn, CommitInfo, OtherAction>;

// Parses one commit file. An unparsable line is Corruption naming `source` and the
// line number; an empty file is Corruption too (a commit holds at least one action).
[[nodiscard]] Result<std::vector<Action>> ParseCommit(const std::string& text, const std::string& source);
// Parses one action object (also used for checkpoint rows turned to JSON).
[[nodiscard]] Result<std::optional<Action>> ParseAction(const nlohmann::json& object,
                                                        const std::string& source);

nlohmann::json ActionToJson(const Action& action);
// One JSON object per line, each line ending in '\n'.
std::string SerializeCommit(const std::vector<Action>& actions);

}  // namespace finlake::delta
