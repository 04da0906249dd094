#include "finlake/table/table.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "finlake/core/clock.h"
#include "finlake/core/limits.h"
#include "finlake/core/strings.h"
#include "finlake/core/writeback.h"
#include "finlake/delta/protocol_check.h"
#include "finlake/table/predicate.h"
#include "finlake/table/table_internal.h"

namespace finlake::table {

using nlohmann::json;
using delta::DataType;
using delta::Schema;
using delta::StructField;
using internal::ColumnList;
using internal::IsPartitionColumn;
using internal::RemoveOf;
using internal::SameName;

namespace {

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

// The data columns (lower-cased) that some file among `chosen` certainly holds: its
// stats show a value for them (a min or max, or fewer nulls than rows). A writer
// cannot have seen a value in a column the file lacks; a null count alone proves
// nothing, since a writer may report all-null for a column it did not write.
// Reads one file's stats for the columns they prove present, as SAX events:
// planning a scan of thousands of files must not build a JSON document per file.
class ColumnProofSax : public nlohmann::json_sax<json> {
 public:
  ColumnProofSax(const std::set<std::string>& wanted, std::set<std::string>& proven)
      : wanted_(wanted), proven_(proven) {}

  // After a successful parse: the columns with fewer nulls than rows.
  void Finish() {
    if (records_ < 0) return;
    for (const auto& [name, nulls] : null_counts_) {
      if (nulls < records_) Prove(name);
    }
  }

  bool null() override { return Value(false, std::nullopt); }
  bool boolean(bool) override { return Value(true, std::nullopt); }
  bool number_integer(number_integer_t v) override { return Value(true, static_cast<int64_t>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Value(true, static_cast<int64_t>(v)); }
  bool number_float(number_float_t, const string_t&) override { return Value(true, std::nullopt); }
  bool string(string_t&) override { return Value(true, std::nullopt); }
  bool binary(binary_t&) override { return Value(true, std::nullopt); }
  bool start_object(std::size_t) override {
    if (depth_ == 2) Value(true, std::nullopt);  // A struct column's bound: a value.
    ++depth_;
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 2) Value(true, std::nullopt);
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool key(string_t& name) override {
    if (depth_ == 1) top_ = name;
    if (depth_ == 2) column_ = name;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  bool Value(bool present, std::optional<int64_t> integer) {
    if (depth_ == 1 && top_ == "numRecords" && integer) records_ = *integer;
    if (depth_ != 2) return true;
    if ((top_ == "minValues" || top_ == "maxValues") && present) Prove(column_);
    if (top_ == "nullCount" && integer) null_counts_[column_] = *integer;
    return true;
  }
  void Prove(const std::string& name) {
    std::string lower = ToLower(name);
    if (wanted_.count(lower)) proven_.insert(lower);
  }

  const std::set<std::string>& wanted_;
  std::set<std::string>& proven_;
  int depth_ = 0;
  std::string top_, column_;
  int64_t records_ = -1;
  std::map<std::string, int64_t> null_counts_;
};

// Adds to `proven` the wanted columns one file's stats show a value for.
void ProveColumnsOfFile(const delta::AddFile& file, const std::set<std::string>& wanted,
                        std::set<std::string>& proven) {
  if (!file.stats) return;
  std::set<std::string> found;
  ColumnProofSax sax(wanted, found);
  if (!json::sax_parse(*file.stats, &sax)) return;  // Unreadable stats prove nothing.
  sax.Finish();
  proven.insert(found.begin(), found.end());
}

std::set<std::string> DataColumns(const delta::Snapshot& snapshot) {
  std::set<std::string> wanted;
  for (const StructField& field : snapshot.schema.fields) {
    if (!IsPartitionColumn(snapshot.metadata, field.name)) wanted.insert(ToLower(field.name));
  }
  return wanted;
}

std::set<std::string> ColumnsProvenByStats(const delta::Snapshot& snapshot, const std::vector<size_t>& chosen) {
  std::set<std::string> wanted = DataColumns(snapshot), proven;
  for (size_t index : chosen) {
    if (proven.size() == wanted.size()) break;
    ProveColumnsOfFile(snapshot.files[index], wanted, proven);
  }
  return proven;
}

// Whether the stats of every file among `chosen` prove that it holds every data
// column: then the files need no name-based union of their schemas.
bool EveryFileHoldsEveryColumn(const delta::Snapshot& snapshot, const std::vector<size_t>& chosen) {
  std::set<std::string> wanted = DataColumns(snapshot);
  for (size_t index : chosen) {
    std::set<std::string> proven;
    ProveColumnsOfFile(snapshot.files[index], wanted, proven);
    if (proven.size() != wanted.size()) return false;
  }
  return true;
}

// The COPY options every data file is written with: the codec of
// delta.parquet.compression.codec (zstd by default, as the Delta protocol asks)
// and the encodings of kParquetVersionProperty.
Result<std::string> DataFileFormat(const std::map<std::string, std::string>& properties) {
  auto it = properties.find(kParquetVersionProperty);
  const std::string version = it == properties.end() ? "v1" : ToLower(it->second);
  if (version != "v1" && version != "v2") {
    return Status::InvalidArgument(std::string("table property ") + kParquetVersionProperty + " is '" + it->second +
                                   "'; it must be v1 (the default) or v2");
  }
  static const std::set<std::string> kCodecs = {"zstd", "snappy", "gzip", "lz4", "lz4_raw", "brotli", "uncompressed"};
  auto codec_it = properties.find("delta.parquet.compression.codec");
  const std::string codec = codec_it == properties.end() ? "zstd" : ToLower(codec_it->second);
  if (!kCodecs.contains(codec)) {
    return Status::InvalidArgument("table property delta.parquet.compression.codec is '" + codec_it->second +
                                   "'; it must be one of " +
                                   Join(kCodecs, ", "));
  }
  return "FORMAT parquet, COMPRESSION " + codec + (version == "v2" ? ", PARQUET_VERSION V2" : "");
}

// Table properties finlake may write (fail closed): any key outside the delta.
// and finlake. namespaces (the user's own), the delta. keys that need no table
// feature beyond writer version 2, and finlake's own. A delta. key that turns a
// feature on (change data feed, deletion vectors, column mapping, CHECK
// constraints, ...) needs a protocol finlake does not write.
Status ValidateProperties(const std::map<std::string, std::string>& properties) {
  static const std::set<std::string> kDeltaKeys = {
      "delta.appendOnly", "delta.logRetentionDuration", "delta.deletedFileRetentionDuration",
      "delta.checkpointInterval", "delta.dataSkippingNumIndexedCols", "delta.dataSkippingStatsColumns",
      "delta.setTransactionRetentionDuration", "delta.parquet.compression.codec", "delta.targetFileSize",
      "delta.isolationLevel", "delta.randomizeFilePrefixes", "delta.enableExpiredLogCleanup"};
  static const std::set<std::string> kFinlakeKeys = {kParquetVersionProperty};
  for (const auto& [key, value] : properties) {
    const std::string lower = ToLower(key);
    if (StartsWith(lower, "delta.") && !kDeltaKeys.contains(key)) {
      return Status::InvalidArgument("table property " + key +
                                     " is not one finlake writes: it may turn on a Delta table feature (a protocol "
                                     "finlake does not write); the delta. properties it writes are " +
                                     Join(kDeltaKeys, ", "));
    }
    if (StartsWith(lower, "finlake.") && !kFinlakeKeys.contains(key)) {
      return Status::InvalidArgument("table property " + key + " is not a finlake property (known: " +
                                     Join(kFinlakeKeys, ", ") +
                                     ")");
    }
    if (key == "delta.appendOnly" && value != "true" && value != "false") {
      return Status::InvalidArgument("table property delta.appendOnly is '" + value + "'; it must be true or false");
    }
  }
  return DataFileFormat(properties).status();
}

Status ValidateSpec(const CreateSpec& spec) {
  RETURN_IF_ERROR(ValidateProperties(spec.properties));
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

Result<WriteResult> Table::SetProperties(const std::map<std::string, std::string>& set,
                                         const std::vector<std::string>& unset) {
  // Only the keys set are checked: a table another engine wrote may hold delta.
  // keys finlake does not write, and CheckWritable has judged those.
  RETURN_IF_ERROR(ValidateProperties(set).WithContext(root()));
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, log_.Load());
  RETURN_IF_ERROR(delta::CheckWritable(snapshot.protocol, snapshot.metadata).WithContext(root()));
  delta::Metadata metadata = snapshot.metadata;
  for (const std::string& key : unset) {
    if (set.contains(key)) return Status::InvalidArgument("property " + key + " is both set and unset");
    if (metadata.configuration.erase(key) == 0) {
      return Status::NotFound(root() + ": the table has no property " + key + " to unset");
    }
  }
  for (const auto& [key, value] : set) metadata.configuration[key] = value;
  delta::CommitOptions options;
  options.operation = set.empty() ? "UNSET TBLPROPERTIES" : "SET TBLPROPERTIES";
  json keys = json::array();
  for (const auto& [key, value] : set) keys.push_back(key);
  for (const std::string& key : unset) keys.push_back(key);
  options.operation_parameters = {{"properties", keys.dump()}};
  options.read_set = delta::ReadSet{};  // Reads no rows: only a concurrent metadata change conflicts.
  ASSIGN_OR_RETURN(delta::CommitResult committed, log_.Commit(snapshot.version, {metadata}, options));
  WriteResult result;
  result.version = committed.version;
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
  options.read_set = delta::ReadSet{};  // Reads no rows: only a concurrent schema change conflicts.
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
  ConformRules rules;
  rules.add_new_columns = options.add_new_columns;
  ASSIGN_OR_RETURN(ConformedInput input, ConformInput(&snapshot, source_sql, rules));
  const std::optional<delta::Metadata>& new_metadata = input.new_metadata;
  const std::string& select_sql = input.select_sql;
  std::vector<delta::Action> actions;
  if (new_metadata) actions.push_back(*new_metadata);
  // What this write read: nothing for an append; the replaced partitions or the
  // whole table for an overwrite.
  delta::ReadSet read;
  std::string replaced_condition;
  if (overwrite && options.replace_where) {
    ASSIGN_OR_RETURN(replaced_condition,
                     CheckedPredicate(*connection_, *options.replace_where, root() + ": replace-where predicate"));
    read.appended_rows_read = [this, &snapshot, &replaced_condition](const std::vector<delta::AddFile>& files) {
      return AnyRowMatches(snapshot, files, replaced_condition);
    };
  } else if (overwrite) {
    read.whole_table = true;
  }
  if (overwrite) {
    std::vector<const delta::AddFile*> replaced;
    if (options.replace_where) {
      // Every new row must fall inside the replaced partitions.
      ASSIGN_OR_RETURN(auto outside, connection_->Query("SELECT count(*) FROM (" + select_sql + ") WHERE NOT coalesce(" +
                                                        replaced_condition + ", false)"));
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
                                          Join(columns, ", ") + ") WHERE " + replaced_condition);
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
    for (const delta::AddFile* file : replaced) read.files.insert(file->path);
  }

  ASSIGN_OR_RETURN(std::vector<delta::AddFile> added, WriteDataFiles(snapshot, select_sql, &result.rows_written));
  result.files_added = static_cast<int64_t>(added.size());
  for (delta::AddFile& add : added) actions.push_back(std::move(add));
  if (options.txn) {
    delta::Txn txn = *options.txn;
    txn.last_updated = SystemClock().NowMillis();
    actions.push_back(txn);
  }
  for (delta::Txn txn : options.progress) {
    txn.last_updated = SystemClock().NowMillis();
    actions.push_back(std::move(txn));
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
  commit.read_set = std::move(read);
  ASSIGN_OR_RETURN(delta::CommitResult committed, log_.Commit(snapshot.version, std::move(actions), commit));
  result.version = committed.version;
  return result;
}

Result<Table::ConformedInput> Table::ConformInput(delta::Snapshot* snapshot, const std::string& source_sql,
                                                 const ConformRules& rules) {
  auto described = connection_->Describe(source_sql);
  if (!described.ok()) return described.status().WithContext("reading the input");

  ConformedInput input;
  // New columns of the input: refused, or added nullable in the same commit.
  auto carried = [&rules](const std::string& name) {
    return std::find(rules.carried.begin(), rules.carried.end(), name) != rules.carried.end();
  };
  for (const auto& [name, duck_type] : *described) {
    if (snapshot->schema.Find(name) != nullptr || carried(name)) continue;
    if (!rules.add_new_columns && rules.drop_unknown) continue;
    if (!rules.add_new_columns) {
      return Status::InvalidArgument(root() + ": input column '" + name + "' is not in the table (columns: " +
                                     ColumnList(snapshot->schema) + "); add it with schema evolution (--add-columns)");
    }
    ASSIGN_OR_RETURN(DataType type, delta::FromDuckDbType(duck_type, name));
    snapshot->schema.fields.push_back(StructField{name, type, true, json::object()});
    if (!input.new_metadata) input.new_metadata = snapshot->metadata;
  }
  if (input.new_metadata) {
    input.new_metadata->schema_string = delta::SerializeSchema(snapshot->schema);
    snapshot->metadata = *input.new_metadata;
  }

  // The SELECT that gives exactly the table's columns, in order, with its types.
  std::vector<std::string> select;
  for (const StructField& field : snapshot->schema.fields) {
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
  for (const std::string& name : rules.carried) select.push_back(SqlIdentifier(name));
  input.select_sql = "SELECT " + Join(select, ", ") + " FROM (" + source_sql + ") AS __input";

  return input;
}

Result<bool> Table::AnyRowMatches(const delta::Snapshot& snapshot, const std::vector<delta::AddFile>& files,
                                  const std::string& condition) {
  delta::Snapshot added = snapshot;
  added.files = files;
  ASSIGN_OR_RETURN(std::string scan, ScanSql(added));
  auto matched = connection_->Query("SELECT count(*) FROM (SELECT 1 FROM (" + scan + ") AS t WHERE coalesce(" +
                                    condition + ", false) LIMIT 1)");
  if (!matched.ok()) return matched.status().WithContext(root() + ": checking files of a concurrent commit");
  return (*matched)->GetInt64(0, 0) > 0;
}

Result<std::vector<delta::AddFile>> Table::WritePartitionFiles(const delta::Snapshot& snapshot,
                                                               const delta::AddFile& partition_of,
                                                               const std::string& select_sql, int64_t file_bytes,
                                                               std::optional<int64_t> file_rows,
                                                               int64_t* rows_written, FileLayout layout) {
  std::optional<std::string> local_root = storage_->LocalPath(root());
  if (!local_root) return Status::Unsupported(root() + ": DuckDB writes need a storage with local paths");
  // The partition's folder is the one its files already live in.
  size_t slash = partition_of.path.rfind('/');
  std::string folder = slash == std::string::npos || StartsWith(partition_of.path, "/") ? ""
                                                                                        : partition_of.path.substr(0, slash);
  std::string dir = folder.empty() ? *local_root : *local_root + "/" + folder;
  RETURN_IF_ERROR(storage_->MakeDirs(dir));
  // Files part-<uuid>-0, -1, ...: unique, and predictable for the writeback starter.
  std::string stem = "part-" + NewUuid() + "-";
  ASSIGN_OR_RETURN(std::string format, DataFileFormat(snapshot.metadata.configuration));
  format += ", RETURN_STATS";
  // Row groups. DuckDB starts a new file only between row groups: files smaller
  // than its default row group (122,880 rows) need smaller ones to come out near
  // the target size. A clustered file's row groups each cover a narrower range of
  // its keys, so a selective query decodes only the groups it cannot skip: on W4's
  // 100M-row Z-ordered table (242 files of 5 MB, about 376,000 rows each),
  // 61,440-row groups took symbol + hour from 4.3 to 3.0 ms, a symbol from 30 to
  // 25 ms and an hour of all symbols from 86 to 57 ms, for full scans 3-5% slower.
  if (file_rows) {
    int64_t group_rows = limits::kParquetRowGroupRowsDefault;
    if (layout != FileLayout::kPacked) group_rows = *file_rows / limits::kClusteredRowGroupsPerFile;
    if (*file_rows < limits::kParquetRowGroupRowsDefault) group_rows = std::min(group_rows, *file_rows / 2);
    if (group_rows < limits::kParquetRowGroupRowsDefault) {
      format += ", ROW_GROUP_SIZE " + std::to_string(std::max(group_rows, limits::kParquetRowGroupRowsMin));
    }
  }
  Result<std::vector<std::vector<json>>> rows = Status::Internal("unset");
  if (layout == FileLayout::kSorted && file_rows && *file_rows > 0) {
    // DuckDB's COPY rotating files by FILE_SIZE_BYTES loses the order across
    // files: now and then a row group from another thread's stretch of the
    // sorted rows lands in a file, and its min/max spans most of the table. So
    // the ordered rows are held in a temporary table (in insertion order, spilled
    // past the memory limit) and each file is a COPY of its own stretch of rowids.
    const std::string held = "__finlake_ordered_" + NewUuid().substr(0, 8);
    RETURN_IF_ERROR(connection_->Execute("CREATE TEMP TABLE " + held + " AS " + select_sql)
                        .WithContext(root() + ": ordering rows"));
    auto stretches = [&]() -> Result<std::vector<std::vector<json>>> {
      ASSIGN_OR_RETURN(auto count, connection_->Query("SELECT count(*) FROM " + held));
      std::vector<std::vector<json>> written;
      WritebackStarter writeback(dir, stem);
      for (int64_t start = 0, i = 0; start < count->GetInt64(0, 0); start += *file_rows, ++i) {
        ASSIGN_OR_RETURN(auto file, connection_->QueryJson("COPY (SELECT * FROM " + held + " WHERE rowid >= " +
                                                           std::to_string(start) + " AND rowid < " +
                                                           std::to_string(start + *file_rows) + ") TO " +
                                                           SqlQuote(dir + "/" + stem + std::to_string(i) + ".parquet") +
                                                           " (" + format + ")"));
        written.insert(written.end(), file.begin(), file.end());
      }
      return written;
    };
    rows = stretches();
    (void)connection_->Execute("DROP TABLE IF EXISTS " + held);
  } else {
    WritebackStarter writeback(dir, stem);
    rows = connection_->QueryJson("COPY (" + select_sql + ") TO " + SqlQuote(dir) + " (" + format +
                                  ", OVERWRITE_OR_IGNORE, FILENAME_PATTERN '" + stem + "{i}', FILE_SIZE_BYTES " +
                                  std::to_string(file_bytes) + ")");
  }
  if (!rows.ok()) return rows.status().WithContext(root() + ": writing data files");
  return AddsOfWrittenFiles(snapshot, *rows, dir, &partition_of.partition_values, rows_written);
}

Result<std::vector<delta::AddFile>> Table::WriteDataFiles(const delta::Snapshot& snapshot,
                                                          const std::string& select_sql, int64_t* rows_written) {
  ASSIGN_OR_RETURN(std::string options, DataFileFormat(snapshot.metadata.configuration));
  options += ", RETURN_STATS, OVERWRITE_OR_IGNORE";
  std::string stem = "part-" + NewUuid() + "-";
  bool partitioned = !snapshot.metadata.partition_columns.empty();
  if (!partitioned) {
    // Directory mode: one file per 512 MB, named for the writeback starter.
    options += ", FILE_SIZE_BYTES '512MB', FILENAME_PATTERN '" + stem + "{i}'";
  } else {
    options += ", FILENAME_PATTERN 'part-{uuid}'";
    std::vector<std::string> partition;
    for (const std::string& column : snapshot.metadata.partition_columns) partition.push_back(SqlIdentifier(column));
    options += ", PARTITION_BY (" + Join(partition, ", ") + ")";
  }
  std::optional<std::string> local_root = storage_->LocalPath(root());
  if (!local_root) return Status::Unsupported(root() + ": DuckDB writes need a storage with local paths");
  Result<std::vector<std::vector<json>>> rows = Status::Internal("unset");
  {
    std::optional<WritebackStarter> writeback;
    if (!partitioned) writeback.emplace(*local_root, stem);
    rows = connection_->QueryJson("COPY (" + select_sql + ") TO " + SqlQuote(*local_root) + " (" + options + ")");
  }
  if (!rows.ok()) return rows.status().WithContext(root() + ": writing data files");
  return AddsOfWrittenFiles(snapshot, *rows, *local_root, nullptr, rows_written);
}

Result<std::vector<delta::AddFile>> Table::AddsOfWrittenFiles(const delta::Snapshot& snapshot,
                                                              const std::vector<std::vector<json>>& rows,
                                                              const std::string& dir,
                                                              const delta::PartitionValues* partition_values,
                                                              int64_t* rows_written) {
  std::optional<std::string> local_root = storage_->LocalPath(root());
  if (!local_root) return Status::Unsupported(root() + ": DuckDB writes need a storage with local paths");
  std::vector<delta::AddFile> added;
  *rows_written = 0;
  int64_t now = SystemClock().NowMillis();
  for (const auto& row : rows) {
    // filename, count, file_size_bytes, footer_size_bytes, column_statistics, partition_keys
    std::string file = row[0].get<std::string>();
    if (!StartsWith(file, dir + "/")) return Status::Internal("DuckDB wrote " + file + " outside " + dir);
    int64_t count = row[1].get<int64_t>();
    if (count == 0) {
      // DuckDB may leave an empty file when it rotates files by size: it holds
      // nothing, so it is not added to the table.
      RETURN_IF_ERROR(storage_->Delete(file));
      continue;
    }
    delta::AddFile add;
    add.path = file.substr(local_root->size() + 1);
    add.size = row[2].get<int64_t>();
    add.modification_time = now;
    add.data_change = true;
    if (partition_values != nullptr) {
      add.partition_values = *partition_values;
    } else {
      for (const std::string& column : snapshot.metadata.partition_columns) {
        json value = row[5].is_object() && row[5].contains(column) ? row[5][column] : json();
        add.partition_values[column] = PartitionText(snapshot.schema.Find(column)->type, value);
      }
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

bool Table::FileHasTableTypes(const delta::Snapshot& snapshot, const std::string& path) {
  auto described = connection_->Describe("SELECT * FROM read_parquet(" + SqlQuote(path) + ")");
  if (!described.ok()) return false;
  std::map<std::string, std::string> types;
  for (const auto& [name, type] : *described) types[ToLower(name)] = type;
  for (const StructField& field : snapshot.schema.fields) {
    if (field.type.IsNested()) return false;
    if (IsPartitionColumn(snapshot.metadata, field.name)) continue;
    auto it = types.find(ToLower(field.name));
    if (it == types.end()) return false;
    std::string expected = delta::ToDuckDbType(field.type);
    bool both_timestamps = StartsWith(it->second, "TIMESTAMP") && StartsWith(expected, "TIMESTAMP");
    if (it->second != expected && !both_timestamps) return false;
  }
  return true;
}

Result<std::string> Table::DataFilePath(const delta::AddFile& file, const std::string& local_root) {
  if (StartsWith(file.path, "file:")) {
    // An absolute URI: file:///abs/path or file:/abs/path.
    std::string rest = file.path.substr(5);
    while (StartsWith(rest, "//")) rest = rest.substr(1);
    return rest;
  }
  if (file.path.find("://") != std::string::npos) {
    return Status::Unsupported(root() + ": data file " + file.path + " is on a remote store finlake cannot read yet");
  }
  return StartsWith(file.path, "/") ? file.path : local_root + "/" + file.path;
}

Result<std::vector<size_t>> Table::SelectByRowGroups(const delta::Snapshot& snapshot,
                                                     const std::vector<ColumnPredicate>& predicates,
                                                     const std::vector<size_t>& candidates, RowGroupStats* footers) {
  std::optional<std::string> local_root = storage_->LocalPath(root());
  if (!local_root) return Status::Unsupported(root() + ": DuckDB reads need a storage with local paths");
  std::vector<std::string> paths, unread;
  for (size_t index : candidates) {
    ASSIGN_OR_RETURN(std::string path, DataFilePath(snapshot.files[index], *local_root));
    if (!footers->count(path) && (unread.empty() || unread.back() != path)) unread.push_back(path);
    paths.push_back(std::move(path));
  }
  if (!unread.empty()) {
    // The column types whose footer bounds DuckDB renders as file_skipping parses
    // them: numbers, text, dates and timestamps (not decimals, binary, booleans).
    std::set<std::string> comparable;
    for (const StructField& field : snapshot.schema.fields) {
      static const std::set<std::string> kTypes = {"long",   "integer", "short", "byte",     "double",
                                                   "float",  "string",  "date",  "timestamp", "timestamp_ntz"};
      if (field.type.kind == delta::DataType::Kind::kPrimitive && kTypes.count(field.type.primitive)) {
        comparable.insert(field.name);
      }
    }
    std::vector<std::string> quoted;
    for (const std::string& path : unread) quoted.push_back(SqlQuote(path));
    ASSIGN_OR_RETURN(auto rows, connection_->Query(
                                    "SELECT file_name, row_group_id, row_group_num_rows, path_in_schema, type, "
                                    "stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata([" +
                                    Join(quoted, ", ") + "]) ORDER BY file_name, row_group_id"));
    RowGroupStats read;
    for (int64_t r = 0; r < rows->row_count(); ++r) {
      const std::string file = rows->GetString(0, r);
      if (std::find(unread.begin(), unread.end(), file) == unread.end()) {
        return Status::Internal(root() + ": parquet_metadata named a file it was not asked for: " + file);
      }
      std::vector<json>& groups = read[file];
      const auto group = static_cast<size_t>(rows->GetInt64(1, r));
      while (groups.size() <= group) groups.push_back({{"minValues", json::object()}, {"maxValues", json::object()},
                                                       {"nullCount", json::object()}});
      json& stats = groups[group];
      stats["numRecords"] = rows->GetInt64(2, r);
      const std::string column = rows->GetString(3, r);
      if (!comparable.count(column) || rows->GetString(4, r) == "INT96") continue;
      // Bounds that do not order as text parses (NaN, infinities, dates before
      // year 1000 or BC) are left out: that side is unbounded.
      const std::string& type = snapshot.schema.Find(column)->type.primitive;
      const bool real = type == "double" || type == "float";
      const bool calendar = type == "date" || StartsWith(type, "timestamp");
      auto usable = [&](const std::string& text) {
        if (real) {
          std::string lower = ToLower(text);
          return lower.find("nan") == std::string::npos && lower.find("inf") == std::string::npos;
        }
        if (calendar) {
          return text.size() >= 10 && text[4] == '-' && text.find("BC") == std::string::npos &&
                 std::isdigit(static_cast<unsigned char>(text[0])) && text[0] != '0';
        }
        return true;
      };
      if (!rows->IsNull(5, r) && usable(rows->GetString(5, r))) stats["minValues"][column] = rows->GetString(5, r);
      if (!rows->IsNull(6, r) && usable(rows->GetString(6, r))) stats["maxValues"][column] = rows->GetString(6, r);
      if (!rows->IsNull(7, r)) stats["nullCount"][column] = rows->GetInt64(7, r);
    }
    for (auto& [path, groups] : read) (*footers)[path] = std::move(groups);
  }
  // One pseudo-file per row group, with its file's partition values.
  delta::Snapshot groups;
  groups.schema = snapshot.schema;
  groups.metadata = snapshot.metadata;
  std::vector<size_t> owner;
  std::set<size_t> kept;
  for (size_t i = 0; i < candidates.size(); ++i) {
    // No row group read (an empty file, or a name DuckDB spelled otherwise): kept.
    if ((*footers)[paths[i]].empty()) kept.insert(i);
    for (const json& stats : (*footers)[paths[i]]) {
      delta::AddFile group = snapshot.files[candidates[i]];
      group.stats = stats.dump();
      groups.files.push_back(std::move(group));
      owner.push_back(i);
    }
  }
  ASSIGN_OR_RETURN(std::vector<size_t> kept_groups, SelectFiles(groups, predicates));
  for (size_t group : kept_groups) kept.insert(owner[group]);
  std::vector<size_t> selected;
  for (size_t i : kept) selected.push_back(candidates[i]);
  return selected;
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
    ASSIGN_OR_RETURN(std::string path, DataFilePath(snapshot.files[index], *local_root));
    paths.push_back(std::move(path));
  }
  std::vector<std::string> quoted;
  for (const std::string& path : paths) quoted.push_back(SqlQuote(path));
  // The VALUES table joins each file to its partition values (and index) by name.
  bool joined = !snapshot.metadata.partition_columns.empty() || options.with_file_index;
  // DuckDB binds a multi-file scan to the first file's schema and maps the
  // others' columns to it by name; union_by_name instead reads every footer
  // before the scan starts (0.6 s of CPU for 10,000 files). That pass is only
  // skipped when it cannot matter: the stats prove that every file holds every
  // column, and the first file's types are the table's own, so later files only
  // ever cast to the table's types.
  bool uniform = chosen.size() > 1 && EveryFileHoldsEveryColumn(snapshot, chosen) &&
                 FileHasTableTypes(snapshot, paths[0]);
  // One file has nothing to unite.
  const bool union_by_name = !uniform && chosen.size() > 1;
  std::string scan = "read_parquet([" + Join(quoted, ", ") + "]" + (joined ? ", filename=true" : "") +
                     ", hive_partitioning=false" + (union_by_name ? ", union_by_name=true" : "") + ")";
  // Which data columns the files hold: a column added later is null in older
  // files, and one no file holds must not be named in the scan. The files' stats
  // usually prove every column present; otherwise DuckDB reads every footer.
  std::set<std::string> present = uniform ? DataColumns(snapshot) : ColumnsProvenByStats(snapshot, chosen);
  bool all_proven = true;
  for (const StructField& field : snapshot.schema.fields) {
    if (!IsPartitionColumn(snapshot.metadata, field.name) && !present.count(ToLower(field.name))) all_proven = false;
  }
  if (!all_proven) {
    auto described = connection_->Describe("SELECT * FROM " + scan);
    if (!described.ok()) return described.status().WithContext(root() + ": reading data files of version " +
                                                               std::to_string(snapshot.version));
    present.clear();
    for (const auto& [name, type] : *described) present.insert(ToLower(name));
  }

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
