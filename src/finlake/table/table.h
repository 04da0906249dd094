// Table: a Delta table whose data files DuckDB writes and reads. The public face of
// table/: create, append, overwrite, add columns, history, and the SQL that scans
// a snapshot.
//
// Thread-compatible: one Table per thread. Several processes may write one table
// at once; the Delta log's put-if-absent commit arbitrates.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "finlake/delta/delta_log.h"
#include "finlake/engine/engine.h"
#include "finlake/storage/storage.h"
#include "finlake/table/duck_checkpoint_codec.h"
#include "finlake/table/file_skipping.h"

namespace finlake::table {

// The table property choosing the Parquet encodings of the data files finlake
// writes (DuckDB's PARQUET_VERSION):
// - "v1", the default: PLAIN and PLAIN_DICTIONARY, which every reader reads.
// - "v2": DELTA_BINARY_PACKED for integers and timestamps without a dictionary,
//   RLE_DICTIONARY, DELTA_LENGTH_BYTE_ARRAY, BYTE_STREAM_SPLIT. Data pages stay V1,
//   as the Delta protocol asks. Timestamps in time order decode about 30% faster
//   (bench/README.md section 8), but a reader must know these encodings: Spark's
//   vectorized reader reads BYTE_STREAM_SPLIT only from SPARK-56894 (2026).
inline constexpr char kParquetVersionProperty[] = "finlake.parquet.version";

struct CreateSpec {
  delta::Schema schema;
  std::vector<std::string> partition_columns;
  std::map<std::string, std::string> properties;  // Delta table configuration.
  std::optional<std::string> name;
  std::optional<std::string> description;
};

struct WriteOptions {
  // Idempotent writes ("Transaction Identifiers"): a batch whose (app_id, version)
  // the table has already committed is skipped.
  std::optional<delta::Txn> txn;
  // More transaction identifiers committed with the write (a model records the
  // version of each input it consumed); unlike `txn`, they never skip a write.
  std::vector<delta::Txn> progress;
  // Overwrite only: a predicate over partition columns naming the partitions to
  // replace (Delta's replaceWhere). Unset: replace the whole table.
  std::optional<std::string> replace_where;
  // Columns of the source that the table lacks are added (nullable) first.
  bool add_new_columns = false;
};

struct WriteResult {
  int64_t version = -1;          // -1 when nothing was committed (skipped txn).
  int64_t rows_written = 0;
  int64_t files_added = 0;
  int64_t files_removed = 0;
  int64_t rows_deleted = 0;      // Delete and merge.
  int64_t rows_updated = 0;      // Merge: target rows replaced by a source row.
  int64_t rows_inserted = 0;     // Merge: source rows whose key the table lacked.
  int64_t files_scanned = 0;     // Merge: files whose rows were joined with the source.
  int64_t bytes_added = 0;
  int64_t bytes_removed = 0;     // Bytes of the files rewritten or removed.
  bool skipped = false;          // The txn was already committed.
};

struct MergeOptions {
  // The columns that identify a row: a source row replaces the table's rows with
  // equal values in all of them (null equals nothing), else it is inserted.
  std::vector<std::string> keys;
  // SQL over the source's columns: a source row for which it is true deletes the
  // rows it matches instead of replacing them (and is never inserted).
  std::optional<std::string> delete_when;
  bool add_new_columns = false;
  std::optional<delta::Txn> txn;
  std::vector<delta::Txn> progress;  // As WriteOptions::progress.
};

struct OptimizeOptions {
  // Files at least this large are left alone by bin-packing; written files are
  // about this large.
  int64_t target_file_bytes = int64_t{128} << 20;
  // SQL over partition columns limiting which partitions are compacted.
  std::string where;
  // ZORDER BY: every file of each admitted partition is rewritten in the order of
  // the interleaved bits of these columns' ranks, so that files cover small
  // ranges of all of them at once and file skipping works on each.
  std::vector<std::string> zorder;
  // SORT BY (instead of zorder): every file of each admitted partition is
  // rewritten sorted by these columns, the first most significant, so that files
  // cover small ranges of the first column (a query on it alone reads one or two
  // files; one on a later column alone reads nearly all).
  std::vector<std::string> sort_by;
  // Told before each partition is rewritten: "partition 3 of 40: 120 files, 4.1 MB".
  std::function<void(const std::string&)> progress;
};

class Table {
 public:
  // `storage` and `database` must outlive the table.
  [[nodiscard]] static Result<std::unique_ptr<Table>> Create(Storage* storage, engine::Database* database,
                                                             const std::string& root, const CreateSpec& spec);
  [[nodiscard]] static Result<std::unique_ptr<Table>> Open(Storage* storage, engine::Database* database,
                                                           const std::string& root);

  const std::string& root() const { return log_.table_root(); }
  delta::DeltaLog& log() { return log_; }

  [[nodiscard]] Result<delta::Snapshot> Load(std::optional<int64_t> version = std::nullopt) const {
    return log_.Load(version);
  }

  // Appends the rows of a DuckDB SELECT. Columns match by name (case-insensitive);
  // table columns missing from the source are null; types must convert safely.
  [[nodiscard]] Result<WriteResult> Append(const std::string& source_sql, const WriteOptions& options = {});
  // Replaces the table's rows (or the partitions options.replace_where names) with
  // the rows of a DuckDB SELECT.
  [[nodiscard]] Result<WriteResult> Overwrite(const std::string& source_sql, const WriteOptions& options = {});
  // Adds nullable columns at the end of the schema (schema evolution).
  [[nodiscard]] Result<WriteResult> AddColumns(const std::vector<delta::StructField>& columns);
  // Sets and removes table properties in one metaData commit (Delta's SET / UNSET
  // TBLPROPERTIES; no file is rewritten: finlake.parquet.version applies to the
  // files written after it). Refuses a property finlake does not write (a delta.
  // key that turns on a table feature, an unknown finlake. key) and an unset key
  // the table lacks.
  [[nodiscard]] Result<WriteResult> SetProperties(const std::map<std::string, std::string>& set,
                                                  const std::vector<std::string>& unset);

  // A DuckDB SELECT that returns the snapshot's rows with the table's column names
  // and types; partition values come from the log, never from directory names.
  [[nodiscard]] Result<std::string> ScanSql(const delta::Snapshot& snapshot) { return ScanSql(snapshot, {}); }

  struct ScanOptions {
    std::optional<std::vector<size_t>> files;  // Indexes into snapshot.files; all when unset.
    bool with_file_index = false;              // Adds __finlake_file: the row's file index.
  };
  [[nodiscard]] Result<std::string> ScanSql(const delta::Snapshot& snapshot, const ScanOptions& options);

  // Each data file's Parquet row groups as Delta-style stats JSON (numRecords,
  // minValues, maxValues, nullCount of its primitive top-level columns), by path.
  using RowGroupStats = std::map<std::string, std::vector<nlohmann::json>>;
  // Of `candidates` (indexes into snapshot.files, in order), those with a row
  // group whose footer statistics may match every predicate: finer than the log's
  // per-file bounds (a Z-ordered file whose range covers a query's box may hold
  // no row of it). Footers are read once per file into `footers`. An error leaves
  // the caller to scan every candidate.
  [[nodiscard]] Result<std::vector<size_t>> SelectByRowGroups(const delta::Snapshot& snapshot,
                                                              const std::vector<ColumnPredicate>& predicates,
                                                              const std::vector<size_t>& candidates,
                                                              RowGroupStats* footers);

  // Deletes the rows matching `predicate` (DuckDB SQL over the table's columns),
  // rewriting only the files that hold such rows. Nothing is committed when no row
  // matches.
  [[nodiscard]] Result<WriteResult> Delete(const std::string& predicate);

  // Makes the table what it was at `version` again, as a new commit (RESTORE):
  // files live then and gone now are re-added, files added since are removed, and
  // the old metadata comes back. Fails, naming a file, when VACUUM has deleted a
  // file the old version needs.
  [[nodiscard]] Result<WriteResult> Restore(int64_t version);

  // Compaction (OPTIMIZE): in each partition with more than one file smaller than
  // the target, those files are rewritten into as few as possible (with zorder:
  // every file of the partition, in Z-order), and the commit says dataChange=false,
  // so concurrent appends do not conflict with it and streaming readers skip it.
  [[nodiscard]] Result<WriteResult> Optimize(const OptimizeOptions& options);

  // Upsert (MERGE): source rows replace the rows with the same key, delete them
  // (options.delete_when), or are inserted. Only files holding a matched key are
  // rewritten; they are found by partition values and min/max stats of the keys,
  // then a join. A merge that matches nothing commits only adds. The source must
  // have one row per key. The source is held by DuckDB, which spills past its
  // memory limit; the table is streamed file by file, so memory does not grow
  // with the table.
  [[nodiscard]] Result<WriteResult> Merge(const std::string& source_sql, const MergeOptions& options);

  struct VacuumResult {
    std::vector<std::string> deleted;  // Paths relative to the table root (or that would be, with dry_run).
    int64_t bytes = 0;
    int64_t retention_hours = 0;
  };
  // Deletes data files no version within the retention needs: neither live nor
  // removed less than `retention_hours` ago (default: the table's
  // delta.deletedFileRetentionDuration, else 7 days), and not modified within
  // limits::kVacuumInFlightGraceMs (an uncommitted writer's files). A retention
  // below the table's is refused unless `force`. `_delta_log` and hidden folders
  // are never touched.
  [[nodiscard]] Result<VacuumResult> Vacuum(std::optional<int64_t> retention_hours, bool dry_run, bool force);

 private:
  Table(Storage* storage, engine::Database* database, std::unique_ptr<DuckCheckpointCodec> codec,
        std::unique_ptr<engine::Connection> connection, const std::string& root);

  [[nodiscard]] Result<WriteResult> Write(const std::string& source_sql, const WriteOptions& options,
                                          bool overwrite);
  // The SELECT over `source_sql` that yields exactly the table's columns, in order,
  // with its types, then the `carried` source columns unchanged. With
  // add_new_columns, source columns the table lacks are added to snapshot->schema
  // and metadata, and the new metadata is returned too; else they are refused,
  // or dropped with drop_unknown.
  struct ConformedInput {
    std::string select_sql;
    std::optional<delta::Metadata> new_metadata;
  };
  struct ConformRules {
    bool add_new_columns = false;
    bool drop_unknown = false;
    std::vector<std::string> carried;
  };
  [[nodiscard]] Result<ConformedInput> ConformInput(delta::Snapshot* snapshot, const std::string& source_sql,
                                                    const ConformRules& rules);
  // Whether any row of `files` (added by a concurrent commit) satisfies
  // `condition` (a predicate over the table's columns, as CheckedPredicate
  // returns it): the conflict check of a transaction that read the rows matching it.
  [[nodiscard]] Result<bool> AnyRowMatches(const delta::Snapshot& snapshot, const std::vector<delta::AddFile>& files,
                                           const std::string& condition);
  // How WritePartitionFiles lays out the rows of its SELECT.
  enum class FileLayout {
    kPacked,     // Any order (bin-packing).
    kClustered,  // The SELECT's order, files rotated by size, which keeps it only roughly (Z-order).
    kSorted,     // With file_rows: file i holds exactly rows i * file_rows ... of the order (sort-by).
  };
  // Writes the rows of `select_sql` (the table's data columns only) as files of
  // about `file_bytes` (about `file_rows`, when known) each, into the folder of
  // one partition. Clustered and sorted files get about kClusteredRowGroupsPerFile
  // row groups each, which DuckDB skips inside a file by their min/max.
  [[nodiscard]] Result<std::vector<delta::AddFile>> WritePartitionFiles(
      const delta::Snapshot& snapshot, const delta::AddFile& partition_of, const std::string& select_sql,
      int64_t file_bytes, std::optional<int64_t> file_rows, int64_t* rows_written, FileLayout layout);
  [[nodiscard]] Result<std::vector<delta::AddFile>> WriteDataFiles(const delta::Snapshot& snapshot,
                                                                   const std::string& select_sql,
                                                                   int64_t* rows_written);
  // The add actions for the files a DuckDB COPY ... RETURN_STATS wrote under
  // `dir` (its result rows): partition values from `partition_values`, else from
  // the rows; each file checked against the table's schema and fsynced; empty
  // files deleted.
  [[nodiscard]] Result<std::vector<delta::AddFile>> AddsOfWrittenFiles(
      const delta::Snapshot& snapshot, const std::vector<std::vector<nlohmann::json>>& rows, const std::string& dir,
      const delta::PartitionValues* partition_values, int64_t* rows_written);
  [[nodiscard]] Status CheckWrittenFile(const delta::Snapshot& snapshot, const std::string& path);
  // Whether the data file at `path` holds every data column of the table with the
  // DuckDB type of its Delta type (a timestamp with or without zone). False for
  // tables with nested columns and for any file DuckDB cannot describe.
  bool FileHasTableTypes(const delta::Snapshot& snapshot, const std::string& path);
  // The local path DuckDB reads `file` at (`local_root`: the table's folder).
  [[nodiscard]] Result<std::string> DataFilePath(const delta::AddFile& file, const std::string& local_root);

  Storage* storage_;
  engine::Database* database_;
  std::unique_ptr<DuckCheckpointCodec> codec_;
  std::unique_ptr<engine::Connection> connection_;
  delta::DeltaLog log_;
};

// Converts the per-column statistics DuckDB returns for a written file
// (COPY ... RETURN_STATS) into Delta's stats JSON ("Per-file Statistics").
std::string DeltaStatsJson(const delta::Schema& schema, const std::vector<std::string>& partition_columns,
                           int64_t num_records, const nlohmann::json& column_statistics);

}  // namespace finlake::table
