// The state of a Delta table at one version (PROTOCOL.md "Action Reconciliation").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "finlake/delta/actions.h"
#include "finlake/delta/schema.h"

namespace finlake::delta {

struct Snapshot {
  int64_t version = -1;
  Protocol protocol;
  Metadata metadata;
  Schema schema;                       // Parsed from metadata.schema_string.
  std::vector<AddFile> files;          // Live files, sorted by path.
  std::vector<RemoveFile> tombstones;  // Sorted by path.
  std::map<std::string, Txn> txns;     // Latest txn per appId.
  std::vector<OtherAction> domain_metadata;
  std::optional<int64_t> checkpoint_version;  // The checkpoint the replay started from.
  int64_t commit_timestamp_ms = 0;     // commitInfo.timestamp of `version`, else the file's mtime.

  int64_t NumRecords() const;  // Sum of numRecords over files whose stats have it; -1 if any lacks it.
  // The table property, or `fallback`.
  std::string Property(const std::string& key, const std::string& fallback) const;
};

}  // namespace finlake::delta
