// The files connector: CSV, JSON lines and Parquet files dropped into an inbox
// folder land in a table, then move to `processed/` (or to `failed/` with a
// `<name>.reason.txt` saying why).
//
// A file is never lost or landed twice, also when finlake is killed halfway: each
// file's SHA-256 goes into its commit as a Delta txn (appId `file:<sha256>`), so a
// restart that finds the txn in the table only finishes the move. Files are moved
// with rename(), within the inbox's file system. Names starting with '.' or
// ending in .tmp/.part (files still being written) are left alone.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "finlake/sql/lake.h"

namespace finlake::ingest {

struct InboxOptions {
  std::string inbox;        // The folder watched.
  std::string table;        // namespace.table
  std::string format;       // csv, json or parquet; empty: from each file's extension.
  bool create = false;      // Create the table from the first file's columns when absent.
  bool add_new_columns = false;
};

struct InboxFileOutcome {
  std::string file;
  std::string outcome;      // "landed", "already_landed" (finished moving), "failed"
  std::string reason;       // For failed.
  int64_t rows = 0;
};

// `source_sql(path, table_schema_or_null)` turns a file into a DuckDB SELECT (the CLI's reader).
using FileReader = std::function<Result<std::string>(const std::string& path, const delta::Schema* schema)>;

// Processes every file now in the inbox, in name order.
[[nodiscard]] Result<std::vector<InboxFileOutcome>> ProcessInbox(sql::Lake& lake, const InboxOptions& options,
                                                                 const FileReader& reader);

}  // namespace finlake::ingest
