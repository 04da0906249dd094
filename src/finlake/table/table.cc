#include "finlake/table/table.h"

#include <functional>
#include <map>
#include <set>

#include "finlake/core/clock.h"
#include "finlake/core/limits.h"
#include "finlake/core/strings.h"
#include "finlake/delta/protocol_check.h"

namespace finlake::table {

using nlohmann::json;
using delta::DataType;
using delta::Schema;
using delta::StructField;

namespace {

bool SameName(const std::string& a, const std::string& b) { return ToLower(a) == ToLower(b); }

bool IsPartitionColumn(const delta::Metadata& metadata, const std::string& name) {
  for (const std::string& column : metadata.partition_columns) {
    if (SameName(column, name)) return true;
  }
  return false;
}

// Integer and float widenings that never lose a value.
bool WidensTo(const DataType& from, const DataType& to) {
  if (from == to) return true;
  static const std::vector<std::string> kIntegers = {"byte", "short", "integer", "long"};
  auto rank = [](const std::string& name) {
    for (size_t i = 0; i < kIntegers.size(); ++i) {
      if (kIntegers[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  if (from.kind == DataType::Kind::kDecimal) {
    // SQL literals such as 185.25 are decimals: they go into a double column when
    // every digit survives, and into a decimal with room for both parts.
    if (to.kind == DataType::Kind::kPrimitive) return to.primitive == "double" && from.precision <= 15;
    return to.kind == DataType::Kind::kDecimal && to.scale >= from.scale &&
           to.precision - to.scale >= from.precision - from.scale;
  }
  if (from.kind != DataType::Kind::kPrimitive) return false;
  if (to.kind == DataType::Kind::kPrimitive) {
    int a = rank(from.primitive), b = rank(to.primitive);
    if (a >= 0 && b >= 0) return a <= b;
    if (from.primitive == "float" && to.primitive == "double") return true;
    if ((a >= 0 && a <= 2) && to.primitive == "double") return true;
  }
  if (to.kind == DataType::Kind::kDecimal && from.kind == DataType::Kind::kPrimitive) {
    static const int kDigits[] = {3, 5, 10, 19};
    int a = rank(from.primitive);
    return a >= 0 && to.precision - to.scale >= kDigits[a];
  }
  return false;
}

std::string ColumnList(const Schema& schema) {
  std::vector<std::string> names;
  for (const StructField& field : schema.fields) names.push_back(field.name);
  return Join(names, ", ");
}

// Partition values are kept in Delta's text forms ("Partition Value Serialization");
// DuckDB prints TIMESTAMPTZ as "2024-01-01 00:00:00+00", which becomes ISO-8601 UTC.
std::optional<std::string> PartitionText(const DataType& type, const json& value) {
  if (value.is_null()) return std::nullopt;
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  if (type.kind == DataType::Kind::kPrimitive && type.primitive == "timestamp") {
    // "YYYY-MM-DD HH:MM:SS[.ffffff]+00" -> "YYYY-MM-DDTHH:MM:SS.ffffffZ".
    std::string core = text.substr(0, text.find_first_of("+", 19));
    std::string date = core.substr(0, 10), time = core.size() > 11 ? core.substr(11) : "00:00:00";
    std::string fraction = "000000";
    if (size_t dot = time.find('.'); dot != std::string::npos) {
      fraction = time.substr(dot + 1);
      fraction.resize(6, '0');
      time = time.substr(0, dot);
    }
    return date + "T" + time + "." + fraction + "Z";
  }
  return text;
}

// The remove action that retires a live file ("Add File and Remove File"), with
// the extended metadata readers use to skip it without the add.
delta::RemoveFile RemoveOf(const delta::AddFile& file, int64_t now_ms, bool data_change) {
  delta::RemoveFile remove;
  remove.path = file.path;
  remove.deletion_timestamp = now_ms;
  remove.data_change = data_change;
  remove.extended_file_metadata = true;
  remove.partition_values = file.partition_values;
  remove.size = file.size;
  return remove;
}

Status ValidateSpec(const CreateSpec& spec) {
  if (spec.schema.fields.empty()) return Status::InvalidArgument("a table needs at least one column");
  std::set<std::string> seen;
  for (const StructField& field : spec.schema.fields) {
    if (field.name.empty()) return Status::InvalidArgument("a column name is empty");
    if (!seen.insert(ToLower(field.name)).second) {
      return Status::InvalidArgument("column '" + field.name + "' appears twice (names are unique ignoring case)");
    }
  }
  for (const std::string& column : spec.partition_columns) {
    const StructField* field = spec.schema.Find(column);
    if (field == nullptr) {
      return Status::InvalidArgument("partition column '" + column + "' is not in the schema (" +
                                     ColumnList(spec.schema) + ")");
    }
    if (field->type.IsNested() || field->type.Name() == "binary" || field->type.Name() == "float" ||
        field->type.Name() == "double") {
      return Status::InvalidArgument("partition column '" + column + "' has type " + field->type.Name() +
                                     "; partition by a string, integer, date, timestamp, boolean or decimal column");
    }
  }
  if (spec.partition_columns.size() >= spec.schema.fields.size()) {
    return Status::InvalidArgument("every column is a partition column; a table needs at least one data column");
  }
  return Status::Ok();
}

}  // namespace

Table::Table(Storage* storage, engine::Database* database, std::unique_ptr<DuckCheckpointCodec> codec,
             std::unique_ptr<engine::Connection> connection, const std::string& root)
    : storage_(storage),
      database_(database),
      codec_(std::move(codec)),
      connection_(std::move(connection)),
      log_(storage, root, codec_.get()) {}

Result<std::unique_ptr<Table>> Table::Open(Storage* storage, engine::Database* database, const std::string& root) {
  auto codec = std::make_unique<DuckCheckpointCodec>(database);
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Connection> connection, database->Connect());
  std::unique_ptr<Table> table(new Table(storage, database, std::move(codec), std::move(connection), root));
  if (!table->log_.Exists()) return Status::NotFound("no Delta table at " + root);
  return table;
}

Result<std::unique_ptr<Table>> Table::Create(Storage* storage, engine::Database* database, const std::string& root,
                                             const CreateSpec& spec) {
  RETURN_IF_ERROR(ValidateSpec(spec));
  auto codec = std::make_unique<DuckCheckpointCodec>(database);
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Connection> connection, database->Connect());
  std::unique_ptr<Table> table(new Table(storage, database, std::move(codec), std::move(connection), root));
  RETURN_IF_ERROR(storage->MakeDirs(root));
  delta::Metadata metadata;
  metadata.id = NewUuid();
  metadata.name = spec.name;
  metadata.description = spec.description;
  metadata.schema_string = delta::SerializeSchema(spec.schema);
  metadata.partition_columns = spec.partition_columns;
  metadata.configuration = spec.properties;
  metadata.created_time = SystemClock().NowMillis();
  delta::Protocol protocol;  // (1, 2): what every Delta reader reads.
  delta::CommitOptions options;
  options.operation = "CREATE TABLE";
  options.operation_parameters = {{"partitionBy", json(spec.partition_columns).dump()},
                                  {"isManaged", "false"}};
  ASSIGN_OR_RETURN(delta::CommitResult committed,
                   table->log_.Commit(-1, {protocol, metadata}, options));
  (void)committed;
  return table;
}

Result<WriteResult> Table::Append(const std::string& source_sql, const WriteOptions& options) {
  return Write(source_sql, options, /*overwrite=*/false);
}

Result<WriteResult> Table::Overwrite(const std::string& source_sql, const WriteOptions& options) {
  return Write(source_sql, options, /*overwrite=*/true);
}

Result<WriteResult> Table::Delete(const std::string& predicate) {
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, log_.Load());
  RETURN_IF_ERROR(delta::CheckWritable(snapshot.protocol, snapshot.metadata).WithContext(root()));
  if (snapshot.Property("delta.appendOnly", "false") == "true") {
    return Status::InvalidArgument(root() + ": table is append-only (delta.appendOnly=true); delete refused");
  }
  WriteResult result;
  result.version = snapshot.version;
  if (snapshot.files.empty()) return result;
  // Which files hold matching rows, and how many.
  ScanOptions counting;
  counting.with_file_index = true;
  ASSIGN_OR_RETURN(std::string scan, ScanSql(snapshot, counting));
  auto matched = connection_->Query("SELECT __finlake_file, count(*) FROM (" + scan + ") AS t WHERE coalesce((" +
                                    predicate + "), false) GROUP BY 1 ORDER BY 1");
  if (!matched.ok()) return matched.status().WithContext(root() + ": delete predicate '" + predicate + "'");
  std::vector<size_t> affected;
  int64_t deleted = 0;
  for (int64_t row = 0; row < (*matched)->row_count(); ++row) {
    affected.push_back(static_cast<size_t>((*matched)->GetInt64(0, row)));
    deleted += (*matched)->GetInt64(1, row);
  }
  if (affected.empty()) return result;  // Nothing matches: no commit.

  // Rewrite the affected files without the matching rows; the rest stay as they are.
  ScanOptions rewrite;
  rewrite.files = affected;
  ASSIGN_OR_RETURN(std::string kept_scan, ScanSql(snapshot, rewrite));
  std::string kept = "SELECT * FROM (" + kept_scan + ") AS t WHERE NOT coalesce((" + predicate + "), false)";
  int64_t rows_kept = 0;
  ASSIGN_OR_RETURN(std::vector<delta::AddFile> added, WriteDataFiles(snapshot, kept, &rows_kept));
  std::vector<delta::Action> actions;
  int64_t now = SystemClock().NowMillis();
  for (size_t index : affected) {
    const delta::AddFile& file = snapshot.files[index];
    delta::RemoveFile remove = RemoveOf(file, now, /*data_change=*/true);
    actions.push_back(std::move(remove));
  }
  for (delta::AddFile& add : added) actions.push_back(std::move(add));
  delta::CommitOptions commit;
  commit.operation = "DELETE";
  commit.operation_parameters = {{"predicate", json::array({predicate}).dump()}};
  commit.operation_metrics = {{"numDeletedRows", std::to_string(deleted)},
                              {"numRemovedFiles", std::to_string(affected.size())},
                              {"numAddedFiles", std::to_string(added.size())},
                              {"numCopiedRows", std::to_string(rows_kept)}};
  result.files_added = static_cast<int64_t>(added.size());
  result.files_removed = static_cast<int64_t>(affected.size());
  result.rows_written = rows_kept;
  result.rows_deleted = deleted;
  ASSIGN_OR_RETURN(delta::CommitResult committed, log_.Commit(snapshot.version, std::move(actions), commit));
  result.version = committed.version;
  return result;
}

Result<WriteResult> Table::Restore(int64_t version) {
  ASSIGN_OR_RETURN(delta::Snapshot current, log_.Load());
  RETURN_IF_ERROR(delta::CheckWritable(current.protocol, current.metadata).WithContext(root()));
  if (version >= current.version) {
    return Status::InvalidArgument(root() + ": restore needs a version before the latest (" +
                                   std::to_string(current.version) + "), got " + std::to_string(version));
  }
  ASSIGN_OR_RETURN(delta::Snapshot target, log_.Load(version));
  std::set<std::string> now_paths, then_paths;
  for (const auto& file : current.files) now_paths.insert(file.path);
  for (const auto& file : target.files) then_paths.insert(file.path);
  std::vector<delta::Action> actions;
  if (target.metadata.schema_string != current.metadata.schema_string ||
      target.metadata.partition_columns != current.metadata.partition_columns ||
      target.metadata.configuration != current.metadata.configuration) {
    actions.push_back(target.metadata);
  }
  WriteResult result;
  int64_t now = SystemClock().NowMillis();
  for (const auto& file : current.files) {
    if (then_paths.count(file.path)) continue;
    delta::RemoveFile remove = RemoveOf(file, now, /*data_change=*/true);
    actions.push_back(std::move(remove));
    ++result.files_removed;
  }
  std::optional<std::string> local_root = storage_->LocalPath(root());
  for (const auto& file : target.files) {
    if (now_paths.count(file.path)) continue;
    std::string path = StartsWith(file.path, "/") || !local_root ? file.path : *local_root + "/" + file.path;
    if (!storage_->Exists(path)) {
      return Status::NotFound(root() + ": cannot restore version " + std::to_string(version) + ": data file " +
                              file.path + " is gone (vacuumed)");
    }
    delta::AddFile add = file;
    add.data_change = true;
    add.modification_time = now;
    actions.push_back(std::move(add));
    ++result.files_added;
  }
  result.version = current.version;
  if (actions.empty()) return result;
  delta::CommitOptions commit;
  commit.operation = "RESTORE";
  commit.operation_parameters = {{"version", version}};
  commit.operation_metrics = {{"numRestoredFiles", std::to_string(result.files_added)},
                              {"numRemovedFiles", std::to_string(result.files_removed)}};
  ASSIGN_OR_RETURN(delta::CommitResult committed, log_.Commit(current.version, std::move(actions), commit));
  result.version = committed.version;
  return result;
}

Result<WriteResult> Table::Optimize(int64_t target_file_bytes, const std::string& where) {
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, log_.Load());
  RETURN_IF_ERROR(delta::CheckWritable(snapshot.protocol, snapshot.metadata).WithContext(root()));
  WriteResult result;
  result.version = snapshot.version;
  // Candidate files: small ones, in partitions `where` admits.
  std::set<size_t> admitted;
  if (!where.empty() && !snapshot.files.empty()) {
    ScanOptions options;
    options.with_file_index = true;
    ASSIGN_OR_RETURN(std::string scan, ScanSql(snapshot, options));
    auto matched = connection_->Query("SELECT DISTINCT __finlake_file FROM (" + scan + ") AS t WHERE " + where);
    if (!matched.ok()) return matched.status().WithContext(root() + ": optimize --where '" + where + "'");
    for (int64_t row = 0; row < (*matched)->row_count(); ++row) admitted.insert(static_cast<size_t>((*matched)->GetInt64(0, row)));
  }
  std::map<std::string, std::vector<size_t>> by_partition;
  for (size_t i = 0; i < snapshot.files.size(); ++i) {
    const delta::AddFile& file = snapshot.files[i];
    if (file.size >= target_file_bytes || (!where.empty() && !admitted.count(i))) continue;
    std::string key;
    for (const auto& [column, value] : file.partition_values) key += column + "=" + value.value_or("\x01null") + "\x1f";
    by_partition[key].push_back(i);
  }
  std::vector<size_t> rewrite;
  for (const auto& [key, files] : by_partition) {
    if (files.size() > 1) rewrite.insert(rewrite.end(), files.begin(), files.end());
  }
  if (rewrite.empty()) return result;  // Already compact.
  ScanOptions options;
  options.files = rewrite;
  ASSIGN_OR_RETURN(std::string scan, ScanSql(snapshot, options));
  int64_t rows = 0;
  ASSIGN_OR_RETURN(std::vector<delta::AddFile> added, WriteDataFiles(snapshot, scan, &rows));
  std::vector<delta::Action> actions;
  int64_t now = SystemClock().NowMillis(), bytes = 0;
  for (size_t index : rewrite) {
    const delta::AddFile& file = snapshot.files[index];
    // The same rows, rearranged: dataChange=false ("Add File and Remove File").
    delta::RemoveFile remove = RemoveOf(file, now, /*data_change=*/false);
    bytes += file.size;
    actions.push_back(std::move(remove));
  }
  for (delta::AddFile& add : added) {
    add.data_change = false;
    actions.push_back(std::move(add));
  }
  delta::CommitOptions commit;
  commit.operation = "OPTIMIZE";
  commit.operation_parameters = {{"predicate", where.empty() ? "[]" : json::array({where}).dump()},
                                 {"targetSize", std::to_string(target_file_bytes)}};
  commit.operation_metrics = {{"numRemovedFiles", std::to_string(rewrite.size())},
                              {"numAddedFiles", std::to_string(added.size())},
                              {"numRemovedBytes", std::to_string(bytes)}};
  result.files_added = static_cast<int64_t>(added.size());
  result.files_removed = static_cast<int64_t>(rewrite.size());
  result.rows_written = rows;
  ASSIGN_OR_RETURN(delta::CommitResult committed, log_.Commit(snapshot.version, std::move(actions), commit));
  result.version = committed.version;
  return result;
}

Result<Table::VacuumResult> Table::Vacuum(std::optional<int64_t> retention_hours, bool dry_run, bool force) {
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, log_.Load());
  RETURN_IF_ERROR(delta::CheckWritable(snapshot.protocol, snapshot.metadata).WithContext(root()));
  const int64_t hour_ms = 3600 * 1000;
  int64_t table_retention_ms = 7 * 24 * hour_ms;
  std::string configured = snapshot.Property("delta.deletedFileRetentionDuration", "");
  if (!configured.empty()) {
    // "interval 7 days", "interval 1 week", "interval 168 hours".
    std::vector<std::string> words;
    for (const std::string& word : Split(ToLower(configured), ' ')) {
      if (!word.empty() && word != "interval") words.push_back(word);
    }
    if (words.size() == 2) {
      int64_t amount = std::atoll(words[0].c_str());
      std::string unit = words[1];
      if (EndsWith(unit, "s")) unit.pop_back();
      int64_t unit_ms = unit == "week" ? 7 * 24 * hour_ms : unit == "day" ? 24 * hour_ms : unit == "hour" ? hour_ms
                        : unit == "minute" ? 60000 : 0;
      if (unit_ms > 0) table_retention_ms = amount * unit_ms;
    }
  }
  int64_t retention_ms = retention_hours ? *retention_hours * hour_ms : table_retention_ms;
  if (retention_ms < table_retention_ms && !force) {
    return Status::InvalidArgument(root() + ": a retention of " + std::to_string(retention_ms / hour_ms) +
                                   " hours is below the table's (" + std::to_string(table_retention_ms / hour_ms) +
                                   " hours): readers of older versions would lose files; pass --force to do it anyway");
  }
  int64_t now = SystemClock().NowMillis();
  std::set<std::string> keep;
  for (const auto& file : snapshot.files) keep.insert(file.path);
  for (const auto& tombstone : snapshot.tombstones) {
    if (!tombstone.deletion_timestamp || now - *tombstone.deletion_timestamp < retention_ms) keep.insert(tombstone.path);
  }
  std::optional<std::string> local_root = storage_->LocalPath(root());
  if (!local_root) return Status::Unsupported(root() + ": vacuum needs a storage with local paths");
  VacuumResult result;
  result.retention_hours = retention_ms / hour_ms;
  std::vector<std::string> empty_dirs;
  // Walk the table's folders: data files may sit in the root or any partition
  // folder; folders starting with '_' or '.' (the log, staging) are not data.
  std::function<Status(const std::string&, const std::string&)> walk = [&](const std::string& dir,
                                                                            const std::string& relative) -> Status {
    ASSIGN_OR_RETURN(std::vector<FileInfo> entries, storage_->List(dir));
    for (const FileInfo& entry : entries) {
      std::string rel = relative.empty() ? entry.name : relative + "/" + entry.name;
      bool hidden = entry.name[0] == '.' || (entry.name[0] == '_' && entry.name.find('=') == std::string::npos);
      if (hidden) continue;
      std::string path = dir + "/" + entry.name;
      if (entry.is_directory) {
        RETURN_IF_ERROR(walk(path, rel));
        empty_dirs.push_back(path);
        continue;
      }
      if (keep.count(rel)) continue;
      ASSIGN_OR_RETURN(FileInfo info, storage_->Stat(path));
      if (now - info.modified_ms < std::max(retention_ms, limits::kVacuumInFlightGraceMs)) continue;
      result.deleted.push_back(rel);
      result.bytes += info.size_bytes;
      if (!dry_run) RETURN_IF_ERROR(storage_->Delete(path));
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(walk(*local_root, ""));
  if (!dry_run) {
    // Partition folders left empty go too (deepest first); a non-empty one stays.
    for (auto it = empty_dirs.rbegin(); it != empty_dirs.rend(); ++it) (void)storage_->Delete(*it);
  }
  return result;
}

Result<WriteResult> Table::AddColumns(const std::vector<StructField>& columns) {
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, log_.Load());
  RETURN_IF_ERROR(delta::CheckWritable(snapshot.protocol, snapshot.metadata).WithContext(root()));
  Schema schema = snapshot.schema;
  for (StructField column : columns) {
    if (schema.Find(column.name) != nullptr) {
      return Status::InvalidArgument(root() + ": column '" + column.name + "' already exists");
    }
    column.nullable = true;  // Old files lack it, so it must allow null.
    schema.fields.push_back(std::move(column));
  }
  delta::Metadata metadata = snapshot.metadata;
  metadata.schema_string = delta::SerializeSchema(schema);
  delta::CommitOptions options;
  options.operation = "ADD COLUMNS";
  ASSIGN_OR_RETURN(delta::CommitResult committed, log_.Commit(snapshot.version, {metadata}, options));
  WriteResult result;
  result.version = committed.version;
  return result;
}

Result<WriteResult> Table::Write(const std::string& source_sql, const WriteOptions& options, bool overwrite) {
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, log_.Load());
  RETURN_IF_ERROR(delta::CheckWritable(snapshot.protocol, snapshot.metadata).WithContext(root()));
  if (overwrite && snapshot.Property("delta.appendOnly", "false") == "true") {
    return Status::InvalidArgument(root() + ": table is append-only (delta.appendOnly=true); overwrite refused");
  }
  WriteResult result;
  if (options.txn) {
    auto it = snapshot.txns.find(options.txn->app_id);
    if (it != snapshot.txns.end() && it->second.version >= options.txn->version) {
      result.skipped = true;
      return result;
    }
  }
  auto described = connection_->Describe(source_sql);
  if (!described.ok()) return described.status().WithContext("reading the input");

  // New columns of the input: refused, or added nullable in the same commit.
  std::optional<delta::Metadata> new_metadata;
  for (const auto& [name, duck_type] : *described) {
    if (snapshot.schema.Find(name) != nullptr) continue;
    if (!options.add_new_columns) {
      return Status::InvalidArgument(root() + ": input column '" + name + "' is not in the table (columns: " +
                                     ColumnList(snapshot.schema) + "); add it with schema evolution (--add-columns)");
    }
    ASSIGN_OR_RETURN(DataType type, delta::FromDuckDbType(duck_type, name));
    snapshot.schema.fields.push_back(StructField{name, type, true, json::object()});
    if (!new_metadata) new_metadata = snapshot.metadata;
  }
  if (new_metadata) {
    new_metadata->schema_string = delta::SerializeSchema(snapshot.schema);
    snapshot.metadata = *new_metadata;
  }

  // The SELECT that gives exactly the table's columns, in order, with its types.
  std::vector<std::string> select;
  for (const StructField& field : snapshot.schema.fields) {
    const std::pair<std::string, std::string>* source = nullptr;
    for (const auto& column : *described) {
      if (SameName(column.first, field.name)) source = &column;
    }
    std::string target_type = delta::ToDuckDbType(field.type);
    if (source == nullptr) {
      if (!field.nullable) {
        return Status::InvalidArgument(root() + ": input lacks column '" + field.name + "', which is not nullable");
      }
      select.push_back("CAST(NULL AS " + target_type + ") AS " + SqlIdentifier(field.name));
      continue;
    }
    ASSIGN_OR_RETURN(DataType source_type, delta::FromDuckDbType(source->second, source->first));
    if (!WidensTo(source_type, field.type)) {
      return Status::InvalidArgument(root() + ": input column '" + source->first + "' has type " + source->second +
                                     " (Delta " + source_type.Name() + "), which does not convert safely to the table's " +
                                     field.type.Name() + "; cast it in the input");
    }
    select.push_back("CAST(" + SqlIdentifier(source->first) + " AS " + target_type + ") AS " +
                     SqlIdentifier(field.name));
  }
  std::string select_sql = "SELECT " + Join(select, ", ") + " FROM (" + source_sql + ") AS __input";

  std::vector<delta::Action> actions;
  if (new_metadata) actions.push_back(*new_metadata);
  if (overwrite) {
    std::vector<const delta::AddFile*> replaced;
    if (options.replace_where) {
      // Every new row must fall inside the replaced partitions.
      ASSIGN_OR_RETURN(auto outside, connection_->Query("SELECT count(*) FROM (" + select_sql + ") WHERE NOT coalesce((" +
                                                        *options.replace_where + "), false)"));
      if (outside->GetInt64(0, 0) > 0) {
        return Status::InvalidArgument(root() + ": " + std::to_string(outside->GetInt64(0, 0)) +
                                       " input rows fall outside the replaced partitions (" + *options.replace_where + ")");
      }
      if (!snapshot.files.empty()) {
        std::vector<std::string> rows, columns = {"__index"};
        for (const std::string& column : snapshot.metadata.partition_columns) columns.push_back(SqlIdentifier(column));
        for (size_t i = 0; i < snapshot.files.size(); ++i) {
          std::vector<std::string> values = {std::to_string(i)};
          for (const std::string& column : snapshot.metadata.partition_columns) {
            auto it = snapshot.files[i].partition_values.find(column);
            bool null = it == snapshot.files[i].partition_values.end() || !it->second;
            values.push_back(null ? "NULL" : "CAST(" + SqlQuote(*it->second) + " AS " +
                                                 delta::ToDuckDbType(snapshot.schema.Find(column)->type) + ")");
          }
          rows.push_back("(" + Join(values, ", ") + ")");
        }
        auto matched = connection_->Query("SELECT __index FROM (VALUES " + Join(rows, ", ") + ") AS p(" +
                                          Join(columns, ", ") + ") WHERE " + *options.replace_where);
        if (!matched.ok()) {
          return matched.status().WithContext(root() + ": replace-where must name partition columns only (" +
                                              Join(snapshot.metadata.partition_columns, ", ") + ")");
        }
        for (int64_t row = 0; row < (*matched)->row_count(); ++row) {
          replaced.push_back(&snapshot.files[static_cast<size_t>((*matched)->GetInt64(0, row))]);
        }
      }
    } else {
      for (const delta::AddFile& file : snapshot.files) replaced.push_back(&file);
    }
    int64_t now = SystemClock().NowMillis();
    for (const delta::AddFile* file : replaced) {
      delta::RemoveFile remove = RemoveOf(*file, now, /*data_change=*/true);
      actions.push_back(std::move(remove));
    }
    result.files_removed = static_cast<int64_t>(replaced.size());
  }

  ASSIGN_OR_RETURN(std::vector<delta::AddFile> added, WriteDataFiles(snapshot, select_sql, &result.rows_written));
  result.files_added = static_cast<int64_t>(added.size());
  for (delta::AddFile& add : added) actions.push_back(std::move(add));
  if (options.txn) {
    delta::Txn txn = *options.txn;
    txn.last_updated = SystemClock().NowMillis();
    actions.push_back(txn);
  }
  if (actions.empty()) {
    result.version = snapshot.version;  // Nothing to commit: an empty append.
    return result;
  }
  delta::CommitOptions commit;
  commit.operation = "WRITE";
  commit.operation_parameters = {{"mode", overwrite ? "Overwrite" : "Append"}};
  if (options.replace_where) commit.operation_parameters["predicate"] = *options.replace_where;
  commit.operation_metrics = {{"numFiles", std::to_string(result.files_added)},
                              {"numOutputRows", std::to_string(result.rows_written)},
                              {"numRemovedFiles", std::to_string(result.files_removed)}};
  commit.blind_append = !overwrite && !new_metadata;
  ASSIGN_OR_RETURN(delta::CommitResult committed, log_.Commit(snapshot.version, std::move(actions), commit));
  result.version = committed.version;
  return result;
}

Result<std::vector<delta::AddFile>> Table::WriteDataFiles(const delta::Snapshot& snapshot,
                                                          const std::string& select_sql, int64_t* rows_written) {
  std::vector<std::string> data_columns;
  for (const StructField& field : snapshot.schema.fields) {
    if (!IsPartitionColumn(snapshot.metadata, field.name)) data_columns.push_back(SqlIdentifier(field.name));
  }
  std::string options = "FORMAT parquet, COMPRESSION zstd, RETURN_STATS, OVERWRITE_OR_IGNORE, FILENAME_PATTERN 'part-{uuid}'";
  if (snapshot.metadata.partition_columns.empty()) {
    options += ", FILE_SIZE_BYTES '512MB'";  // Directory mode: one file per 512 MB.
  } else {
    std::vector<std::string> partition;
    for (const std::string& column : snapshot.metadata.partition_columns) partition.push_back(SqlIdentifier(column));
    options += ", PARTITION_BY (" + Join(partition, ", ") + ")";
  }
  std::optional<std::string> local_root = storage_->LocalPath(root());
  if (!local_root) return Status::Unsupported(root() + ": DuckDB writes need a storage with local paths");
  auto rows = connection_->QueryJson("COPY (" + select_sql + ") TO " + SqlQuote(*local_root) + " (" + options + ")");
  if (!rows.ok()) return rows.status().WithContext(root() + ": writing data files");

  std::vector<delta::AddFile> added;
  *rows_written = 0;
  int64_t now = SystemClock().NowMillis();
  for (const auto& row : *rows) {
    // filename, count, file_size_bytes, footer_size_bytes, column_statistics, partition_keys
    std::string file = row[0].get<std::string>();
    if (!StartsWith(file, *local_root + "/")) {
      return Status::Internal("DuckDB wrote " + file + " outside the table root " + *local_root);
    }
    int64_t count = row[1].get<int64_t>();
    delta::AddFile add;
    add.path = file.substr(local_root->size() + 1);
    add.size = row[2].get<int64_t>();
    add.modification_time = now;
    add.data_change = true;
    for (const std::string& column : snapshot.metadata.partition_columns) {
      json value = row[5].is_object() && row[5].contains(column) ? row[5][column] : json();
      add.partition_values[column] = PartitionText(snapshot.schema.Find(column)->type, value);
    }
    add.stats = DeltaStatsJson(snapshot.schema, snapshot.metadata.partition_columns, count, row[4]);
    RETURN_IF_ERROR(CheckWrittenFile(snapshot, file));
    RETURN_IF_ERROR(storage_->Sync(file));
    *rows_written += count;
    added.push_back(std::move(add));
  }
  storage_->ReachedCrashPoint(CrashPoint::kDataFileWritten);
  return added;
}

Status Table::CheckWrittenFile(const delta::Snapshot& snapshot, const std::string& path) {
  ASSIGN_OR_RETURN(auto result, connection_->Query("SELECT name, type, converted_type, num_children, logical_type "
                                                   "FROM parquet_schema(" + SqlQuote(path) + ")"));
  // Walk the flattened schema to find the top-level fields and their leaf types.
  std::map<std::string, std::pair<std::string, std::string>> top;  // name -> (physical type, logical)
  std::vector<int64_t> remaining;  // Children left per open group.
  for (int64_t row = 0; row < result->row_count(); ++row) {
    int64_t children = result->IsNull(3, row) ? 0 : result->GetInt64(3, row);
    if (row == 0) {
      remaining.push_back(children);
      continue;
    }
    if (remaining.size() == 1) {
      top[ToLower(result->GetString(0, row))] = {result->GetString(1, row), result->GetString(4, row)};
    }
    remaining.back()--;
    if (children > 0) remaining.push_back(children);
    while (remaining.size() > 1 && remaining.back() == 0) remaining.pop_back();
  }
  for (const StructField& field : snapshot.schema.fields) {
    if (IsPartitionColumn(snapshot.metadata, field.name)) continue;
    auto it = top.find(ToLower(field.name));
    if (it == top.end()) {
      return Status::Internal(path + ": written Parquet file lacks column '" + field.name + "'");
    }
    const auto& [physical, logical] = it->second;
    std::string expected;
    if (field.type.kind == DataType::Kind::kPrimitive) {
      const std::string& p = field.type.primitive;
      if (p == "long" || p == "timestamp") expected = "INT64";
      else if (p == "integer" || p == "short" || p == "byte" || p == "date") expected = "INT32";
      else if (p == "double") expected = "DOUBLE";
      else if (p == "float") expected = "FLOAT";
      else if (p == "boolean") expected = "BOOLEAN";
      else if (p == "string" || p == "binary") expected = "BYTE_ARRAY";
      if (p == "timestamp" && logical.find("isAdjustedToUTC=1") == std::string::npos) {
        return Status::Internal(path + ": column '" + field.name + "' was written without isAdjustedToUTC");
      }
    }
    if (!expected.empty() && physical != expected) {
      return Status::Internal(path + ": column '" + field.name + "' was written as Parquet " + physical +
                              ", expected " + expected + " for Delta " + field.type.Name());
    }
  }
  if (top.size() != snapshot.schema.fields.size() - snapshot.metadata.partition_columns.size()) {
    return Status::Internal(path + ": written Parquet file has " + std::to_string(top.size()) +
                            " columns, the table schema expects " +
                            std::to_string(snapshot.schema.fields.size() - snapshot.metadata.partition_columns.size()));
  }
  return Status::Ok();
}

Result<std::string> Table::ScanSql(const delta::Snapshot& snapshot, const ScanOptions& options) {
  std::optional<std::string> local_root = storage_->LocalPath(root());
  if (!local_root) return Status::Unsupported(root() + ": DuckDB reads need a storage with local paths");
  std::vector<std::string> select;
  std::vector<size_t> chosen;
  if (options.files) {
    chosen = *options.files;
  } else {
    for (size_t i = 0; i < snapshot.files.size(); ++i) chosen.push_back(i);
  }
  if (chosen.empty()) {
    for (const StructField& field : snapshot.schema.fields) {
      select.push_back("CAST(NULL AS " + delta::ToDuckDbType(field.type) + ") AS " + SqlIdentifier(field.name));
    }
    if (options.with_file_index) select.push_back("CAST(NULL AS BIGINT) AS __finlake_file");
    return "SELECT " + Join(select, ", ") + " WHERE false";
  }
  std::vector<std::string> paths;
  for (size_t index : chosen) {
    const delta::AddFile& file = snapshot.files[index];
    if (StartsWith(file.path, "file:")) {
      // An absolute URI: file:///abs/path or file:/abs/path.
      std::string rest = file.path.substr(5);
      while (StartsWith(rest, "//")) rest = rest.substr(1);
      paths.push_back(rest);
    } else if (file.path.find("://") != std::string::npos) {
      return Status::Unsupported(root() + ": data file " + file.path + " is on a remote store finlake cannot read yet");
    } else if (StartsWith(file.path, "/")) {
      paths.push_back(file.path);
    } else {
      paths.push_back(*local_root + "/" + file.path);
    }
  }
  std::vector<std::string> quoted;
  for (const std::string& path : paths) quoted.push_back(SqlQuote(path));
  std::string scan = "read_parquet([" + Join(quoted, ", ") + "], filename=true, hive_partitioning=false, union_by_name=true)";
  // Which data columns the files hold: a column added later is null in older files.
  auto described = connection_->Describe("SELECT * FROM " + scan);
  if (!described.ok()) return described.status().WithContext(root() + ": reading data files of version " +
                                                             std::to_string(snapshot.version));
  std::set<std::string> present;
  for (const auto& [name, type] : *described) present.insert(ToLower(name));

  // The VALUES table joins each file to its partition values (and index).
  bool joined = !snapshot.metadata.partition_columns.empty() || options.with_file_index;
  for (const StructField& field : snapshot.schema.fields) {
    std::string type = delta::ToDuckDbType(field.type);
    std::string name = SqlIdentifier(field.name);
    if (IsPartitionColumn(snapshot.metadata, field.name)) {
      // Binary partition values are text in the log; encode() keeps their UTF-8 bytes.
      std::string value = field.type.primitive == "binary" ? "encode(p." + name + ")" : "p." + name;
      select.push_back("CAST(" + value + " AS " + type + ") AS " + name);
    } else if (field.type.primitive == "void" || !present.count(ToLower(field.name))) {
      select.push_back("CAST(NULL AS " + type + ") AS " + name);
    } else if (field.type.IsNested()) {
      select.push_back("f." + name);
    } else {
      select.push_back("CAST(f." + name + " AS " + type + ") AS " + name);
    }
  }
  if (options.with_file_index) select.push_back("p.__finlake_file");
  std::string sql = "SELECT " + Join(select, ", ") + " FROM " + scan + " AS f";
  if (joined) {
    std::vector<std::string> rows;
    for (size_t n = 0; n < chosen.size(); ++n) {
      const delta::AddFile& file = snapshot.files[chosen[n]];
      std::vector<std::string> values = {SqlQuote(paths[n]), std::to_string(chosen[n])};
      for (const std::string& column : snapshot.metadata.partition_columns) {
        auto it = file.partition_values.find(column);
        if (it == file.partition_values.end()) {
          // Partition keys may differ in case from partitionColumns in old logs.
          for (auto candidate = file.partition_values.begin(); candidate != file.partition_values.end(); ++candidate) {
            if (SameName(candidate->first, column)) it = candidate;
          }
        }
        // The empty string means null for every type ("Partition Value Serialization").
        bool null = it == file.partition_values.end() || !it->second || it->second->empty();
        values.push_back(null ? "NULL" : SqlQuote(*it->second));
      }
      rows.push_back("(" + Join(values, ", ") + ")");
    }
    std::vector<std::string> columns = {"__file", "__finlake_file"};
    for (const std::string& column : snapshot.metadata.partition_columns) columns.push_back(SqlIdentifier(column));
    sql += " JOIN (VALUES " + Join(rows, ", ") + ") AS p(" + Join(columns, ", ") + ") ON f.filename = p.__file";
  }
  return sql;
}

}  // namespace finlake::table
