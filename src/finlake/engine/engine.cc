#include "finlake/engine/engine.h"

#include <cstring>
#include <set>

#include "finlake/analytics/sql_functions.h"
#include "finlake/core/strings.h"

namespace finlake::engine {

using nlohmann::json;

namespace {

// DuckDB appends "LINE 1: <the statement> ^" to errors. The statement is finlake's
// rewritten SQL, not what the user typed, so the snippet misleads: drop it.
Status EngineError(const char* error) {
  std::string message = error ? error : "DuckDB query failed";
  if (size_t line = message.find("\n\nLINE "); line != std::string::npos) message.resize(line);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return Status::InvalidArgument(message);
}

}  // namespace

std::string QueryResult::GetString(int64_t column, int64_t row) {
  if (duckdb_value_is_null(&result_, column, row)) return "";
  char* text = duckdb_value_varchar(&result_, column, row);
  std::string out = text == nullptr ? "" : text;
  duckdb_free(text);
  return out;
}

std::string QueryResult::GetBlob(int64_t column, int64_t row) {
  if (duckdb_value_is_null(&result_, column, row)) return "";
  duckdb_blob blob = duckdb_value_blob(&result_, column, row);
  std::string out(static_cast<const char*>(blob.data), blob.size);
  duckdb_free(blob.data);
  return out;
}

Status Connection::Execute(const std::string& sql) {
  duckdb_result result;
  duckdb_state state = duckdb_query(connection_, sql.c_str(), &result);
  Status status;
  if (state != DuckDBSuccess) {
    status = EngineError(duckdb_result_error(&result));
  }
  duckdb_destroy_result(&result);
  return status;
}

Result<std::unique_ptr<QueryResult>> Connection::Query(const std::string& sql) {
  duckdb_result result;
  if (duckdb_query(connection_, sql.c_str(), &result) != DuckDBSuccess) {
    Status status = EngineError(duckdb_result_error(&result));
    duckdb_destroy_result(&result);
    return status;
  }
  return std::make_unique<QueryResult>(result);
}

Result<duckdb_statement_type> Connection::StatementType(const std::string& sql) {
  ASSIGN_OR_RETURN(std::unique_ptr<PreparedStatement> prepared, Prepare(sql));
  return prepared->Type();
}

Result<std::unique_ptr<PreparedStatement>> Connection::Prepare(const std::string& sql) {
  duckdb_prepared_statement prepared;
  if (duckdb_prepare(connection_, sql.c_str(), &prepared) != DuckDBSuccess) {
    Status status = EngineError(duckdb_prepare_error(prepared));
    duckdb_destroy_prepare(&prepared);
    return status;
  }
  return std::make_unique<PreparedStatement>(prepared);
}

Result<std::unique_ptr<QueryResult>> PreparedStatement::Run(const std::vector<std::string>& parameters) {
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (duckdb_bind_varchar_length(statement_, i + 1, parameters[i].data(), parameters[i].size()) != DuckDBSuccess) {
      return Status::InvalidArgument("cannot bind parameter $" + std::to_string(i + 1));
    }
  }
  duckdb_result result;
  if (duckdb_execute_prepared(statement_, &result) != DuckDBSuccess) {
    Status status = EngineError(duckdb_result_error(&result));
    duckdb_destroy_result(&result);
    return status;
  }
  return std::make_unique<QueryResult>(result);
}

Result<int64_t> Connection::StatementCount(const std::string& sql) {
  duckdb_extracted_statements extracted;
  const idx_t count = duckdb_extract_statements(connection_, sql.c_str(), &extracted);
  Result<int64_t> result = static_cast<int64_t>(count);
  if (count == 0) {
    const char* error = duckdb_extract_statements_error(extracted);
    if (error != nullptr) result = EngineError(error);
  }
  duckdb_destroy_extracted(&extracted);
  return result;
}

namespace {

std::string ReadString(duckdb_vector vector, idx_t row) {
  auto* strings = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vector));
  duckdb_string_t value = strings[row];
  return std::string(duckdb_string_t_data(&value), duckdb_string_t_length(value));
}

json CellToJson(duckdb_vector vector, duckdb_logical_type type, idx_t row) {
  uint64_t* validity = duckdb_vector_get_validity(vector);
  if (validity != nullptr && !duckdb_validity_row_is_valid(validity, row)) return nullptr;
  void* data = duckdb_vector_get_data(vector);
  switch (duckdb_get_type_id(type)) {
    case DUCKDB_TYPE_BOOLEAN: return static_cast<bool*>(data)[row];
    case DUCKDB_TYPE_TINYINT: return static_cast<int8_t*>(data)[row];
    case DUCKDB_TYPE_SMALLINT: return static_cast<int16_t*>(data)[row];
    case DUCKDB_TYPE_INTEGER: return static_cast<int32_t*>(data)[row];
    case DUCKDB_TYPE_BIGINT: return static_cast<int64_t*>(data)[row];
    case DUCKDB_TYPE_UTINYINT: return static_cast<uint8_t*>(data)[row];
    case DUCKDB_TYPE_USMALLINT: return static_cast<uint16_t*>(data)[row];
    case DUCKDB_TYPE_UINTEGER: return static_cast<uint32_t*>(data)[row];
    case DUCKDB_TYPE_UBIGINT: return static_cast<uint64_t*>(data)[row];
    case DUCKDB_TYPE_FLOAT: return static_cast<float*>(data)[row];
    case DUCKDB_TYPE_DOUBLE: return static_cast<double*>(data)[row];
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_BLOB: return ReadString(vector, row);
    case DUCKDB_TYPE_LIST: {
      auto* entries = static_cast<duckdb_list_entry*>(data);
      duckdb_vector child = duckdb_list_vector_get_child(vector);
      duckdb_logical_type child_type = duckdb_list_type_child_type(type);
      json out = json::array();
      for (idx_t i = 0; i < entries[row].length; ++i) {
        out.push_back(CellToJson(child, child_type, entries[row].offset + i));
      }
      duckdb_destroy_logical_type(&child_type);
      return out;
    }
    case DUCKDB_TYPE_MAP: {
      auto* entries = static_cast<duckdb_list_entry*>(data);
      duckdb_vector entries_vector = duckdb_list_vector_get_child(vector);
      duckdb_vector keys = duckdb_struct_vector_get_child(entries_vector, 0);
      duckdb_vector values = duckdb_struct_vector_get_child(entries_vector, 1);
      duckdb_logical_type key_type = duckdb_map_type_key_type(type);
      duckdb_logical_type value_type = duckdb_map_type_value_type(type);
      json out = json::object();
      for (idx_t i = 0; i < entries[row].length; ++i) {
        json key = CellToJson(keys, key_type, entries[row].offset + i);
        out[key.is_string() ? key.get<std::string>() : key.dump()] =
            CellToJson(values, value_type, entries[row].offset + i);
      }
      duckdb_destroy_logical_type(&key_type);
      duckdb_destroy_logical_type(&value_type);
      return out;
    }
    case DUCKDB_TYPE_STRUCT: {
      json out = json::object();
      idx_t children = duckdb_struct_type_child_count(type);
      for (idx_t i = 0; i < children; ++i) {
        char* name = duckdb_struct_type_child_name(type, i);
        duckdb_logical_type child_type = duckdb_struct_type_child_type(type, i);
        out[name] = CellToJson(duckdb_struct_vector_get_child(vector, i), child_type, row);
        duckdb_destroy_logical_type(&child_type);
        duckdb_free(name);
      }
      return out;
    }
    default:
      return "<unsupported type in QueryJson>";
  }
}

}  // namespace

Result<std::vector<std::vector<json>>> Connection::QueryJson(const std::string& sql,
                                                            std::vector<std::string>* column_names) {
  ASSIGN_OR_RETURN(std::unique_ptr<QueryResult> result, Query(sql));
  if (column_names != nullptr) {
    column_names->clear();
    for (int64_t c = 0; c < result->column_count(); ++c) column_names->push_back(result->column_name(c));
  }
  std::vector<std::vector<json>> rows;
  while (true) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(*result->raw());
    if (chunk == nullptr) break;
    idx_t size = duckdb_data_chunk_get_size(chunk);
    idx_t columns = duckdb_data_chunk_get_column_count(chunk);
    for (idx_t row = 0; row < size; ++row) {
      std::vector<json> cells;
      for (idx_t column = 0; column < columns; ++column) {
        duckdb_vector vector = duckdb_data_chunk_get_vector(chunk, column);
        duckdb_logical_type type = duckdb_vector_get_column_type(vector);
        cells.push_back(CellToJson(vector, type, row));
        duckdb_destroy_logical_type(&type);
      }
      rows.push_back(std::move(cells));
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  return rows;
}

Result<std::vector<std::pair<std::string, std::string>>> Connection::Describe(const std::string& sql) {
  ASSIGN_OR_RETURN(std::unique_ptr<QueryResult> result, Query("DESCRIBE " + sql));
  std::vector<std::pair<std::string, std::string>> columns;
  for (int64_t row = 0; row < result->row_count(); ++row) {
    columns.emplace_back(result->GetString(0, row), result->GetString(1, row));
  }
  return columns;
}

Result<std::unique_ptr<Database>> Database::Open(const EngineOptions& options) {
  duckdb_config config;
  if (duckdb_create_config(&config) != DuckDBSuccess) return Status::Internal("duckdb_create_config failed");
  auto set = [&](const char* name, const std::string& value) -> Status {
    if (duckdb_set_config(config, name, value.c_str()) == DuckDBSuccess) return Status::Ok();
    return Status::InvalidArgument(std::string("invalid DuckDB setting ") + name + " = '" + value + "'");
  };
  Status configured = set("autoinstall_known_extensions", "false");
  if (configured.ok()) configured = set("autoload_known_extensions", "false");
  if (configured.ok() && options.threads > 0) configured = set("threads", std::to_string(options.threads));
  if (configured.ok() && !options.memory_limit.empty()) configured = set("memory_limit", options.memory_limit);
  if (configured.ok() && !options.temp_directory.empty()) configured = set("temp_directory", options.temp_directory);
  if (!configured.ok()) {
    duckdb_destroy_config(&config);
    return configured;
  }
  duckdb_database database;
  char* error = nullptr;
  if (duckdb_open_ext(nullptr, &database, config, &error) != DuckDBSuccess) {
    std::string message = error ? error : "unknown error";
    duckdb_free(error);
    duckdb_destroy_config(&config);
    // A memory_limit DuckDB cannot parse fails here, not in duckdb_set_config.
    return Status::InvalidArgument("cannot open DuckDB: " + message);
  }
  duckdb_destroy_config(&config);
  std::unique_ptr<Database> opened(new Database(database));
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> setup, opened->Connect());
  // Defaults for every later connection. TimeZone: literals without a zone mean
  // UTC whatever $TZ is. The metadata cache: Delta data files never change once
  // written, so a footer read to plan a scan is reused when the scan runs.
  RETURN_IF_ERROR(setup->Execute("SET GLOBAL TimeZone = 'UTC'"));
  RETURN_IF_ERROR(setup->Execute("SET GLOBAL parquet_metadata_cache = true"));
  // The ta_* indicator functions go into the system catalog, which every later
  // connection (the CLI's, a lake's) shares.
  RETURN_IF_ERROR(analytics::RegisterIndicatorFunctions(setup->raw()));
  if (options.sandbox) {
    // DuckDB takes the allowed files only once running, and only before
    // external access is switched off; the lock then freezes every setting.
    auto list = [](const std::vector<std::string>& items) {
      return "[" + SqlQuoteList(std::set<std::string>(items.begin(), items.end())) + "]";
    };
    RETURN_IF_ERROR(setup->Execute("SET allowed_directories = " + list(options.sandbox->directories)));
    RETURN_IF_ERROR(setup->Execute("SET allowed_paths = " + list(options.sandbox->paths)));
    RETURN_IF_ERROR(setup->Execute("SET enable_external_access = false"));
    RETURN_IF_ERROR(setup->Execute("SET lock_configuration = true"));
  }
  return opened;
}

Result<std::unique_ptr<Connection>> Database::Connect() {
  duckdb_connection connection;
  if (duckdb_connect(database_, &connection) != DuckDBSuccess) {
    return Status::Internal("cannot connect to DuckDB");
  }
  return std::make_unique<Connection>(connection);
}

const std::set<std::string>& UnsafeScalarFunctions() {
  static const std::set<std::string> kNames = {"current_query",        "format_type",    "get_block_size",
                                               "json_execute_serialized_sql", "json_serialize_plan",
                                               "pg_get_constraintdef", "pg_get_viewdef"};
  return kNames;
}

const std::set<std::string>& VolatileFunctions() {
  static const std::set<std::string> kNames = {
      "current_connection_id", "current_query", "current_query_id", "current_transaction_id", "currval",
      "error",                 "gen_random_uuid", "nextval",        "random",                 "setseed",
      "stats",                 "uuid",            "uuidv4",         "uuidv7",                 "write_log"};
  return kNames;
}

}  // namespace finlake::engine
