#include "finlake/pipeline/stage_table.h"

#include <algorithm>
#include <cmath>

#include "finlake/core/strings.h"
#include "finlake/delta/schema.h"

namespace finlake::pipeline {
namespace {

constexpr const char* kTimestamp = "TIMESTAMP WITH TIME ZONE";

std::string NewStageName() {
  std::string name = "__finlake_stage_" + NewUuid();
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

}  // namespace

Status EnsureTable(sql::Lake* lake, const std::string& name, const Columns& columns, const std::string& description,
                   const std::vector<std::string>& partition_columns) {
  auto table = lake->OpenTable(name);
  if (table.ok()) return Status::Ok();
  if (table.status().code() != StatusCode::kNotFound) return table.status();
  table::CreateSpec spec;
  for (const auto& [column, type] : columns) {
    ASSIGN_OR_RETURN(delta::DataType delta_type, delta::FromDuckDbType(type, column));
    spec.schema.fields.push_back(delta::StructField{column, delta_type, true, nlohmann::json::object()});
  }
  spec.partition_columns = partition_columns;
  spec.description = description;
  return lake->CreateTable(name, spec, "finlake").status();
}

Result<std::unique_ptr<StageTable>> StageTable::Create(engine::Connection& connection, const Columns& columns) {
  std::unique_ptr<StageTable> stage(new StageTable(connection, NewStageName(), columns));
  std::vector<std::string> defs;
  for (const auto& [name, type] : columns) defs.push_back(SqlIdentifier(name) + " " + (type == kTimestamp ? "BIGINT" : type));
  RETURN_IF_ERROR(connection.Execute("CREATE TABLE " + stage->name_ + " (" + Join(defs, ", ") + ")"));
  if (duckdb_appender_create(connection.raw(), nullptr, stage->name_.c_str(), &stage->appender_) == DuckDBError) {
    return Status::Internal("staging " + stage->name_ + ": " + duckdb_appender_error(stage->appender_));
  }
  return stage;
}

Result<std::unique_ptr<StageTable>> StageTable::CreateAs(engine::Connection& connection, const std::string& select_sql) {
  std::unique_ptr<StageTable> stage(new StageTable(connection, NewStageName(), {}));
  RETURN_IF_ERROR(connection.Execute("CREATE TABLE " + stage->name_ + " AS " + select_sql));
  return stage;
}

StageTable::~StageTable() {
  if (appender_ != nullptr) duckdb_appender_destroy(&appender_);
  (void)connection_.Execute("DROP TABLE IF EXISTS " + name_);
}

void StageTable::Check(duckdb_state state) {
  if (state == DuckDBError) failed_ = true;
}

void StageTable::Varchar(std::string_view value) {
  Check(duckdb_append_varchar_length(appender_, value.data(), value.size()));
}
void StageTable::Double(double value) {
  Check(std::isfinite(value) ? duckdb_append_double(appender_, value) : duckdb_append_null(appender_));
}
void StageTable::Int64(int64_t value) { Check(duckdb_append_int64(appender_, value)); }
void StageTable::Date(int32_t days) { Check(duckdb_append_date(appender_, duckdb_date{days})); }
void StageTable::Bool(bool value) { Check(duckdb_append_bool(appender_, value)); }
void StageTable::Blob(std::string_view bytes) {
  Check(duckdb_append_blob(appender_, bytes.data(), static_cast<idx_t>(bytes.size())));
}
void StageTable::Null() { Check(duckdb_append_null(appender_)); }

Status StageTable::EndRow() {
  if (!failed_) Check(duckdb_appender_end_row(appender_));
  if (failed_) return Status::Internal("staging " + name_ + ": " + duckdb_appender_error(appender_));
  ++rows_;
  return Status::Ok();
}

Status StageTable::AddJson(const nlohmann::json& row) {
  for (const auto& [name, type] : columns_) {
    auto it = row.find(name);
    if (it == row.end() || it->is_null()) {
      Null();
    } else if (type == "VARCHAR") {
      Varchar(it->is_string() ? it->get_ref<const std::string&>() : it->dump());
    } else if (type == "DOUBLE") {
      Double(it->get<double>());
    } else if (type == "BIGINT" || type == "INTEGER" || type == kTimestamp) {
      Int64(it->get<int64_t>());
    } else if (type == "BOOLEAN") {
      Bool(it->get<bool>());
    } else if (type == "DATE") {
      // "YYYY-MM-DD" through the appender's VARCHAR -> DATE cast.
      Varchar(it->get_ref<const std::string&>());
    } else {
      return Status::Internal("staging " + name_ + ": no JSON conversion for " + type);
    }
  }
  return EndRow();
}

Result<std::string> StageTable::Select() {
  if (appender_ != nullptr && duckdb_appender_flush(appender_) == DuckDBError) {
    return Status::Internal("staging " + name_ + ": " + duckdb_appender_error(appender_));
  }
  if (columns_.empty()) return "SELECT * FROM " + name_;
  std::vector<std::string> select;
  for (const auto& [name, type] : columns_) {
    std::string id = SqlIdentifier(name);
    select.push_back(type == kTimestamp ? "make_timestamptz(" + id + " * 1000) AS " + id : id);
  }
  return "SELECT " + Join(select, ", ") + " FROM " + name_;
}

}  // namespace finlake::pipeline
