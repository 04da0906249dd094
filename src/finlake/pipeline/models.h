// Declarative models (issue 5): each transform is one file in <lake>/pipelines/,
// a YAML header in a comment, then one SELECT over lake tables:
//
//   /*---
//   output: gold.weekly_bars
//   description: Weekly bars on the exchange calendar
//   inputs: [silver.bars_1d]
//   keys: [symbol, week_start]
//   mode: incremental            # or full
//   incremental_key: symbol      # incremental: which input column scopes a change
//   partition_by: []
//   checks:                      # quality checks of the output (quality.h)
//     - {check: unique, columns: [symbol, week_start], blocking: true}
//   ---*/
//   SELECT ... FROM silver.bars_1d ...
//
// A model remembers the version of each input it consumed (a Delta transaction
// identifier per input, "finlake.<output>:<input>", in the output's own commits)
// and runs only when an input moved. Mode full recomputes the whole result and
// rewrites the output only when some row differs. Mode incremental recomputes
// only the rows whose `incremental_key` value appears in the input files added
// since the consumed versions (DuckDB pushes that filter into the scans), and
// MERGEs only the rows that differ on `keys`; the result is what a full run
// would give, as long as an output row depends only on input rows with the same
// key value (per-symbol models). A model with no new input data writes nothing.
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "finlake/engine/engine.h"
#include "finlake/sql/lake.h"

namespace finlake::pipeline {

struct ModelSpec {
  std::string file;                 // Where it was read from.
  std::string output;               // Qualified table name.
  std::string description;
  std::vector<std::string> inputs;  // Qualified table names.
  std::vector<std::string> keys;
  std::string mode = "full";        // "full" or "incremental".
  std::string incremental_key;
  std::vector<std::string> partition_by;
  YAML::Node checks;                // The header's `checks:` list (may be null).
  std::string sql;                  // The SELECT after the header.
};

// Reads one model file; errors name the file and the header field.
[[nodiscard]] Result<ModelSpec> ParseModel(const std::string& file, const std::string& text);

// The *.sql models of a folder, ordered so that every model comes after the
// models producing its inputs (a cycle or two models with one output is an error).
[[nodiscard]] Result<std::vector<ModelSpec>> LoadModels(const std::string& dir);

// The default models shipped with finlake (the repository's pipelines/ folder,
// built into the binary): file name -> text.
const std::map<std::string, std::string>& DefaultPipelineFiles();

// Writes the default files into `dir` when it does not exist yet.
[[nodiscard]] Status InstallDefaultPipelines(const std::string& dir);

struct ModelRunResult {
  std::string output;
  bool ran = false;                        // False: no input moved.
  std::map<std::string, int64_t> inputs;   // Input -> version read.
  int64_t changed_keys = -1;               // Incremental: key values recomputed; -1: all.
  int64_t rows_inserted = 0, rows_updated = 0, rows_deleted = 0;
  int64_t version = -1;                    // Output version written, -1 if none.
};

[[nodiscard]] Result<ModelRunResult> RunModel(sql::Lake* lake, const ModelSpec& model, bool full_rebuild);

// Writes `select_sql`'s rows into `table` where they differ from the table's
// rows with the same `keys` (inserting new keys), through a staging table in the
// lake's in-memory database; nothing is committed when no row differs. With
// `replace_all`, the table's rows are replaced by exactly the result (rows
// missing from it are deleted) when anything differs.
struct ChangedRowsResult {
  int64_t rows_inserted = 0, rows_updated = 0, rows_deleted = 0;
  int64_t version = -1;
};
[[nodiscard]] Result<ChangedRowsResult> WriteChangedRows(sql::Lake* lake, engine::Connection& connection,
                                                         const std::string& table, const std::string& select_sql,
                                                         const std::vector<std::string>& keys, bool replace_all,
                                                         const std::vector<delta::Txn>& progress);

// The indices of `now`'s files that were not live at version `since` (the files
// added since, rewritten ones included); every file when `since` < 0, nullopt
// when that version can no longer be loaded (its log was cleaned up).
[[nodiscard]] std::optional<std::vector<size_t>> FilesAddedSince(const table::Table& table, const delta::Snapshot& now,
                                                                 int64_t since);

// A SELECT over `columns` of the rows of `table` that changed between version
// `since` and `now`. Exact: the rows of the files added since that no removed
// file held identically (new or changed rows), and the rows of the removed files
// that no added file holds (rows deleted or changed, as they were); a file
// rewritten around one changed row (a MERGE, a compaction) yields that row only.
// It reads every column of those files and is a set difference (EXCEPT, three
// times faster than EXCEPT ALL on 1.26M rows: of two identical rows, losing one
// is not seen; keyed tables have none). Not exact: every row of the added and
// the removed files, reading only `columns` (a superset: pass the key alone).
// Every row of `now` when `since` < 0; nullopt when `since` can no longer be
// loaded or lacks one of `columns`. The SELECT reads the removed files, so it
// fails if VACUUM has deleted them; callers then recompute everything.
[[nodiscard]] Result<std::optional<std::string>> ChangedRowsSql(table::Table& table, const delta::Snapshot& now,
                                                                int64_t since, const std::vector<std::string>& columns,
                                                                bool exact);

// Auto-compaction after a model writes (silver and gold must not grow a small
// file per session): when `table` holds at least `small_files_min` files smaller
// than a quarter of `target_file_bytes`, they are bin-packed (OPTIMIZE,
// dataChange=false). Returns the files compacted (0: nothing to do).
[[nodiscard]] Result<int64_t> AutoCompact(sql::Lake* lake, const std::string& table, int64_t small_files_min = 16,
                                          int64_t target_file_bytes = int64_t{128} << 20);

}  // namespace finlake::pipeline
