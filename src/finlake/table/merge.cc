// MERGE (upsert) on key columns: Table::Merge.
//
// 1. The source is conformed to the table's columns and held in a DuckDB temp
//    table (one row per key, checked).
// 2. Candidate files: file skipping with the source's key values (IN for partition
//    keys, BETWEEN min and max for the others).
// 3. Matched files: the candidates joined with the source on the keys.
// 4. The matched files are rewritten without the matched rows, together with the
//    source rows that are not deletes; with no match, the source rows are only
//    added. One commit removes the matched files and adds the new ones.
#include <set>

#include "finlake/core/clock.h"
#include "finlake/core/strings.h"
#include "finlake/delta/protocol_check.h"
#include "finlake/table/file_skipping.h"
#include "finlake/table/predicate.h"
#include "finlake/table/table.h"
#include "finlake/table/table_internal.h"

namespace finlake::table {

using nlohmann::json;
using delta::StructField;
using internal::ColumnList;
using internal::IsPartitionColumn;
using internal::RemoveOf;

namespace {

constexpr const char* kSourceTable = "__finlake_merge_source";
// A partition key with at most this many distinct source values is pruned with IN;
// beyond it, with BETWEEN its min and max.
constexpr int64_t kMergeInListMax = 1000;

// Drops the source temp table however Merge returns.
class SourceTableGuard {
 public:
  explicit SourceTableGuard(engine::Connection* connection) : connection_(connection) {}
  ~SourceTableGuard() { (void)connection_->Execute(std::string("DROP TABLE IF EXISTS ") + kSourceTable); }
  SourceTableGuard(const SourceTableGuard&) = delete;
  SourceTableGuard& operator=(const SourceTableGuard&) = delete;

 private:
  engine::Connection* connection_;
};

}  // namespace

Result<WriteResult> Table::Merge(const std::string& source_sql, const MergeOptions& options) {
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, log_.Load());
  RETURN_IF_ERROR(delta::CheckWritable(snapshot.protocol, snapshot.metadata).WithContext(root()));
  WriteResult result;
  result.version = snapshot.version;
  if (options.txn) {
    auto it = snapshot.txns.find(options.txn->app_id);
    if (it != snapshot.txns.end() && it->second.version >= options.txn->version) {
      result.skipped = true;
      return result;
    }
  }
  if (options.keys.empty()) return Status::InvalidArgument(root() + ": merge needs at least one key column (--on)");
  std::vector<std::string> keys;  // The table's spelling.
  for (const std::string& key : options.keys) {
    const StructField* field = snapshot.schema.Find(key);
    if (field == nullptr) {
      return Status::InvalidArgument(root() + ": merge key '" + key + "' is not in the table (columns: " +
                                     ColumnList(snapshot.schema) + ")");
    }
    if (field->type.IsNested()) {
      return Status::InvalidArgument(root() + ": merge key '" + key + "' has nested type " + field->type.Name());
    }
    keys.push_back(field->name);
  }
  // 1. The source, with a delete flag (computed over the source's own columns,
  // which may include flags the table lacks) and a row number.
  std::string delete_flag = "false";
  if (options.delete_when) {
    ASSIGN_OR_RETURN(std::string condition,
                     CheckedPredicate(*connection_, *options.delete_when, root() + ": merge delete-when predicate"));
    delete_flag = "coalesce(" + condition + ", false)";
  }
  std::string flagged = "SELECT *, " + delete_flag + " AS __finlake_delete FROM (" + source_sql + ") AS __raw";
  ConformRules rules;
  rules.add_new_columns = options.add_new_columns;
  rules.drop_unknown = options.delete_when.has_value();
  rules.carried = {"__finlake_delete"};
  auto conformed = ConformInput(&snapshot, flagged, rules);
  if (!conformed.ok()) {
    if (!options.delete_when) return conformed.status();
    return conformed.status().WithContext("merge source with delete-when '" + *options.delete_when + "'");
  }
  ConformedInput input = std::move(*conformed);
  SourceTableGuard guard(connection_.get());
  Status created = connection_->Execute(std::string("CREATE OR REPLACE TEMP TABLE ") + kSourceTable +
                                        " AS SELECT *, row_number() OVER () AS __finlake_row FROM (" +
                                        input.select_sql + ") AS s");
  if (!created.ok()) {
    return created.WithContext(root() + ": reading the merge source" +
                               (options.delete_when ? " (delete-when '" + *options.delete_when + "')" : ""));
  }
  std::vector<std::string> quoted_keys, key_equal, not_null;
  for (const std::string& key : keys) {
    quoted_keys.push_back(SqlIdentifier(key));
    key_equal.push_back("t." + SqlIdentifier(key) + " = s." + SqlIdentifier(key));
    not_null.push_back(SqlIdentifier(key) + " IS NOT NULL");
  }
  ASSIGN_OR_RETURN(auto duplicate,
                   connection_->Query("SELECT " + Join(quoted_keys, ", ") + ", count(*) FROM " + kSourceTable +
                                      " WHERE " + Join(not_null, " AND ") + " GROUP BY ALL HAVING count(*) > 1 LIMIT 1"));
  if (duplicate->row_count() > 0) {
    std::vector<std::string> values;
    for (size_t i = 0; i < keys.size(); ++i) values.push_back(keys[i] + "=" + duplicate->GetString(i, 0));
    return Status::InvalidArgument(root() + ": the merge source has " +
                                   std::to_string(duplicate->GetInt64(keys.size(), 0)) + " rows for key (" +
                                   Join(values, ", ") + "); a merge needs one source row per key");
  }
  ASSIGN_OR_RETURN(auto counts, connection_->Query(std::string("SELECT count(*), count(*) FILTER (WHERE NOT "
                                                               "__finlake_delete) FROM ") + kSourceTable));
  const int64_t source_rows = counts->GetInt64(0, 0), source_upserts = counts->GetInt64(1, 0);

  // 2. Candidate files, by the source's key values.
  std::vector<ColumnPredicate> predicates;
  bool may_match = !snapshot.files.empty();
  for (const std::string& key : keys) {
    if (!may_match) break;
    std::string column = SqlIdentifier(key);
    ASSIGN_OR_RETURN(auto range, connection_->Query("SELECT CAST(min(" + column + ") AS VARCHAR), CAST(max(" + column +
                                                    ") AS VARCHAR), count(DISTINCT " + column + ") FROM " +
                                                    kSourceTable));
    if (range->IsNull(0, 0)) {
      may_match = false;  // Every source key is null: null matches nothing.
      break;
    }
    const std::string type = snapshot.schema.Find(key)->type.Name();
    if (type == "binary" || type == "boolean") continue;  // No useful bounds.
    if (IsPartitionColumn(snapshot.metadata, key) && range->GetInt64(2, 0) <= kMergeInListMax) {
      ASSIGN_OR_RETURN(auto distinct, connection_->Query("SELECT DISTINCT CAST(" + column + " AS VARCHAR) FROM " +
                                                         kSourceTable + " WHERE " + column + " IS NOT NULL"));
      ColumnPredicate in{key, ColumnPredicate::Op::kIn, {}};
      for (int64_t row = 0; row < distinct->row_count(); ++row) in.values.push_back(distinct->GetString(0, row));
      predicates.push_back(std::move(in));
    } else {
      predicates.push_back({key, ColumnPredicate::Op::kBetween, {range->GetString(0, 0), range->GetString(1, 0)}});
    }
  }
  std::vector<size_t> candidates;
  if (may_match) {
    ASSIGN_OR_RETURN(candidates, SelectFiles(snapshot, predicates));
  }
  result.files_scanned = static_cast<int64_t>(candidates.size());

  // 3. Files that hold a matched key.
  std::vector<size_t> matched_files;
  int64_t matched_source_upserts = 0;
  if (!candidates.empty()) {
    ScanOptions scan_options;
    scan_options.files = candidates;
    scan_options.with_file_index = true;
    ASSIGN_OR_RETURN(std::string scan, ScanSql(snapshot, scan_options));
    std::set<int64_t> upserted_rows;
    auto rows = connection_->QueryJson(
        "SELECT __finlake_file, updated, deleted, rows FROM (SELECT t.__finlake_file, count(*) FILTER (WHERE NOT "
        "s.__finlake_delete) AS updated, count(*) FILTER (WHERE s.__finlake_delete) AS deleted, "
        "list(DISTINCT s.__finlake_row) FILTER (WHERE NOT s.__finlake_delete) AS rows FROM (" + scan + ") AS t JOIN " +
        kSourceTable + " AS s ON " + Join(key_equal, " AND ") + " GROUP BY 1) ORDER BY 1");
    if (!rows.ok()) return rows.status().WithContext(root() + ": joining the merge source on " + Join(keys, ", "));
    for (const auto& row : *rows) {
      matched_files.push_back(row[0].get<size_t>());
      result.rows_updated += row[1].get<int64_t>();
      result.rows_deleted += row[2].get<int64_t>();
      if (row[3].is_array()) {
        for (const auto& id : row[3]) upserted_rows.insert(id.get<int64_t>());
      }
    }
    matched_source_upserts = static_cast<int64_t>(upserted_rows.size());
  }
  result.rows_inserted = source_upserts - matched_source_upserts;
  if (!matched_files.empty() && snapshot.Property("delta.appendOnly", "false") == "true") {
    return Status::InvalidArgument(root() + ": table is append-only (delta.appendOnly=true); this merge would change " +
                                   std::to_string(result.rows_updated + result.rows_deleted) + " rows");
  }
  if (matched_files.empty() && source_upserts == 0 && !input.new_metadata) return result;  // Nothing to do.

  // 4. New files: the matched files' unmatched rows, then the source's upserts.
  std::vector<std::string> columns;
  for (const StructField& field : snapshot.schema.fields) columns.push_back(SqlIdentifier(field.name));
  std::string upserts = "SELECT " + Join(columns, ", ") + " FROM " + kSourceTable + " WHERE NOT __finlake_delete";
  std::string rows_sql = upserts;
  if (!matched_files.empty()) {
    ScanOptions scan_options;
    scan_options.files = matched_files;
    ASSIGN_OR_RETURN(std::string scan, ScanSql(snapshot, scan_options));
    rows_sql = "SELECT " + Join(columns, ", ") + " FROM (" + scan + ") AS t WHERE NOT EXISTS (SELECT 1 FROM " +
               kSourceTable + " AS s WHERE " + Join(key_equal, " AND ") + ") UNION ALL " + upserts;
  }
  std::vector<delta::Action> actions;
  if (input.new_metadata) actions.push_back(*input.new_metadata);
  delta::ReadSet read;
  int64_t now = SystemClock().NowMillis();
  for (size_t index : matched_files) {
    const delta::AddFile& file = snapshot.files[index];
    actions.push_back(RemoveOf(file, now, /*data_change=*/true));
    read.files.insert(file.path);
    result.bytes_removed += file.size;
  }
  std::vector<delta::AddFile> added;
  if (matched_files.empty() && source_upserts == 0) {
    // Only a schema change: nothing to write.
  } else {
    ASSIGN_OR_RETURN(added, WriteDataFiles(snapshot, rows_sql, &result.rows_written));
  }
  result.files_removed = static_cast<int64_t>(matched_files.size());
  result.files_added = static_cast<int64_t>(added.size());
  for (delta::AddFile& add : added) {
    result.bytes_added += add.size;
    actions.push_back(std::move(add));
  }
  if (options.txn) {
    delta::Txn txn = *options.txn;
    txn.last_updated = now;
    actions.push_back(txn);
  }
  for (delta::Txn txn : options.progress) {
    txn.last_updated = now;
    actions.push_back(std::move(txn));
  }
  // A concurrent writer that added a row with one of the source's keys would be
  // missed (an update) or duplicated (an insert): that is the merge's conflict.
  read.appended_rows_read = [this, &snapshot, &key_equal](const std::vector<delta::AddFile>& files) {
    return AnyRowMatches(snapshot, files,
                         std::string("EXISTS (SELECT 1 FROM ") + kSourceTable + " AS s WHERE " +
                             Join(key_equal, " AND ") + ")");
  };
  delta::CommitOptions commit;
  commit.operation = "MERGE";
  std::vector<std::string> on;
  for (const std::string& key : keys) on.push_back("t." + key + " = s." + key);
  commit.operation_parameters = {{"predicate", Join(on, " AND ")},
                                 {"matchedPredicates", options.delete_when
                                                           ? json::array({{{"actionType", "delete"}, {"predicate", *options.delete_when}},
                                                                          {{"actionType", "update"}}}).dump()
                                                           : json::array({{{"actionType", "update"}}}).dump()},
                                 {"notMatchedPredicates", json::array({{{"actionType", "insert"}}}).dump()}};
  commit.operation_metrics = {{"numSourceRows", std::to_string(source_rows)},
                              {"numTargetRowsInserted", std::to_string(result.rows_inserted)},
                              {"numTargetRowsUpdated", std::to_string(result.rows_updated)},
                              {"numTargetRowsDeleted", std::to_string(result.rows_deleted)},
                              {"numTargetRowsCopied", std::to_string(result.rows_written - source_upserts)},
                              {"numTargetFilesAdded", std::to_string(result.files_added)},
                              {"numTargetFilesRemoved", std::to_string(result.files_removed)},
                              {"numTargetBytesAdded", std::to_string(result.bytes_added)},
                              {"numTargetBytesRemoved", std::to_string(result.bytes_removed)}};
  commit.read_set = std::move(read);
  commit.checkpoint_after = !matched_files.empty();
  ASSIGN_OR_RETURN(delta::CommitResult committed, log_.Commit(snapshot.version, std::move(actions), commit));
  result.version = committed.version;
  return result;
}

}  // namespace finlake::table
