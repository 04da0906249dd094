#include "finlake/delta/protocol_check.h"

#include <map>
#include <set>

#include "finlake/core/strings.h"

namespace finlake::delta {

namespace {

// Reader features whose absence of support changes results; finlake implements none
// yet, so a reader-3 table is readable only with an empty readerFeatures list.
const std::set<std::string>& SupportedReaderFeatures() {
  static const std::set<std::string> features = {};
  return features;
}

// Writer features finlake honours when listed under writer version 7.
const std::set<std::string>& SupportedWriterFeatures() {
  static const std::set<std::string> features = {"appendOnly"};
  return features;
}

std::string Describe(const std::string& feature) {
  static const std::map<std::string, std::string> kWhat = {
      {"deletionVectors", "deletion vectors"},
      {"columnMapping", "column mapping"},
      {"timestampNtz", "timestamp without time zone"},
      {"v2Checkpoint", "V2 checkpoints"},
      {"typeWidening", "type widening"},
      {"typeWidening-preview", "type widening (preview)"},
      {"variantType", "the variant type"},
      {"variantType-preview", "the variant type (preview)"},
      {"vacuumProtocolCheck", "the vacuum protocol check"},
      {"catalogManaged", "catalog-managed commits"},
      {"invariants", "column invariants"},
      {"checkConstraints", "CHECK constraints"},
      {"generatedColumns", "generated columns"},
      {"changeDataFeed", "the change data feed"},
      {"identityColumns", "identity columns"},
      {"rowTracking", "row tracking"},
      {"domainMetadata", "domain metadata"},
      {"clustering", "liquid clustering"},
      {"inCommitTimestamp", "in-commit timestamps"},
      {"allowColumnDefaults", "column defaults"},
  };
  auto it = kWhat.find(feature);
  return "'" + feature + "'" + (it == kWhat.end() ? "" : " (" + it->second + ")");
}

}  // namespace

Status CheckReadable(const Protocol& protocol, const Metadata& metadata) {
  const int32_t reader = protocol.min_reader_version;
  if (reader == 2) {
    return Status::Unsupported("table needs reader version 2 (column mapping), which finlake does not implement");
  }
  if (reader == 3) {
    if (protocol.min_writer_version != 7) {
      return Status::Corruption("protocol reader version 3 requires writer version 7, found " +
                                std::to_string(protocol.min_writer_version));
    }
    for (const std::string& feature : protocol.reader_features.value_or(std::vector<std::string>{})) {
      if (!SupportedReaderFeatures().count(feature)) {
        return Status::Unsupported("table needs reader feature " + Describe(feature) +
                                   ", which finlake does not implement");
      }
    }
  } else if (reader != 1) {
    return Status::Unsupported("table needs reader version " + std::to_string(reader) +
                               "; finlake reads versions 1 and 3 (with no unsupported features)");
  }
  auto mode = metadata.configuration.find("delta.columnMapping.mode");
  if (mode != metadata.configuration.end() && mode->second != "none") {
    return Status::Unsupported("table uses column mapping mode '" + mode->second +
                               "', which finlake does not implement");
  }
  return Status::Ok();
}

Status CheckWritable(const Protocol& protocol, const Metadata& metadata) {
  RETURN_IF_ERROR(CheckReadable(protocol, metadata));
  const int32_t writer = protocol.min_writer_version;
  if (writer == 7) {
    for (const std::string& feature : protocol.writer_features.value_or(std::vector<std::string>{})) {
      if (!SupportedWriterFeatures().count(feature)) {
        return Status::Unsupported("writes need writer feature " + Describe(feature) +
                                   ", which finlake does not implement");
      }
    }
  } else if (writer > 2) {
    static const char* kWhat[] = {"", "", "", "CHECK constraints", "the change data feed and generated columns",
                                  "column mapping", "identity columns"};
    return Status::Unsupported("writes need writer version " + std::to_string(writer) + " (" +
                               kWhat[writer < 7 ? writer : 0] +
                               "); finlake writes versions 1, 2 and 7 with supported features");
  }
  // Writer version 2 implies column invariants; refuse tables that declare any,
  // since finlake does not evaluate them.
  Schema schema;
  if (auto parsed = ParseSchema(metadata.schema_string); parsed.ok()) schema = *parsed;
  for (const StructField& field : schema.fields) {
    if (field.metadata.contains("delta.invariants")) {
      return Status::Unsupported("column '" + field.name +
                                 "' has a delta.invariants expression, which finlake does not evaluate; refusing to write");
    }
  }
  return Status::Ok();
}

}  // namespace finlake::delta
