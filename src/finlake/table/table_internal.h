// Helpers shared by the files of table/ (not part of its public face).
#pragma once

#include <string>
#include <vector>

#include "finlake/core/strings.h"
#include "finlake/delta/actions.h"
#include "finlake/delta/schema.h"

namespace finlake::table::internal {

inline bool SameName(const std::string& a, const std::string& b) { return ToLower(a) == ToLower(b); }

inline bool IsPartitionColumn(const delta::Metadata& metadata, const std::string& name) {
  for (const std::string& column : metadata.partition_columns) {
    if (SameName(column, name)) return true;
  }
  return false;
}

inline std::string ColumnList(const delta::Schema& schema) {
  std::vector<std::string> names;
  for (const delta::StructField& field : schema.fields) names.push_back(field.name);
  return Join(names, ", ");
}

// The remove action that retires a live file ("Add File and Remove File"), with
// the extended metadata readers use to skip it without the add.
inline delta::RemoveFile RemoveOf(const delta::AddFile& file, int64_t now_ms, bool data_change) {
  delta::RemoveFile remove;
  remove.path = file.path;
  remove.deletion_timestamp = now_ms;
  remove.data_change = data_change;
  remove.extended_file_metadata = true;
  remove.partition_values = file.partition_values;
  remove.size = file.size;
  return remove;
}

}  // namespace finlake::table::internal
