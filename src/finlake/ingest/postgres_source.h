// PostgreSQL offload (libpq): a table or a query copied into a lake table, all at
// once or incrementally by a watermark column (an integer, timestamp or date that
// only grows, such as updated_at or an id).
//
// Exactly once: the rows of a batch and the batch's new watermark land in one
// Delta commit — the watermark is the version of the commit's txn (appId
// `postgres:<source>`), as microseconds for timestamps and days for dates — so a
// re-run continues after the last committed watermark and a crash loses or
// doubles nothing. Rows that arrive later with a watermark not above the last one
// are not seen: use a column the source stamps at commit (as every watermark
// offload does).
#pragma once

#include <optional>
#include <string>

#include "finlake/sql/lake.h"

namespace finlake::ingest {

struct PostgresOffloadOptions {
  std::string conninfo;              // libpq: "host=127.0.0.1 port=5432 dbname=shop user=..."
  std::string source_table;          // schema.table (or use query)
  std::string query;                 // A SELECT, instead of a table.
  std::string target;                // namespace.table in the lake.
  std::string watermark;             // Column for incremental offloads; empty: a full copy (overwrite).
  bool create = false;               // Create the target from the source's columns.
};

struct PostgresOffloadResult {
  int64_t rows = 0;
  int64_t version = -1;                   // Lake version written; -1 when nothing was new.
  std::optional<int64_t> previous_watermark;
  std::optional<int64_t> watermark;       // The committed watermark (as stored in the txn).
};

[[nodiscard]] Result<PostgresOffloadResult> OffloadPostgres(sql::Lake& lake, const PostgresOffloadOptions& options);

}  // namespace finlake::ingest
