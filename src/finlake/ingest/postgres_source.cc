#include "finlake/ingest/postgres_source.h"

#include <libpq-fe.h>

#include <fstream>
#include <memory>

#include "finlake/core/scratch_dir.h"
#include "finlake/core/strings.h"
#include "finlake/ingest/bronze_landing.h"

namespace finlake::ingest {

namespace {

struct ConnectionCloser {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Connection = std::unique_ptr<PGconn, ConnectionCloser>;
using PgResult = std::unique_ptr<PGresult, ResultClearer>;

// The DuckDB type that reads a PostgreSQL type's text form; built-in type OIDs
// from pg_type.dat. Anything else (json, uuid, arrays, ...) lands as text.
std::string DuckTypeOf(Oid oid) {
  switch (oid) {
    case 16: return "BOOLEAN";
    case 20: return "BIGINT";
    case 21: return "SMALLINT";
    case 23: return "INTEGER";
    case 700: return "FLOAT";
    case 701: return "DOUBLE";
    case 1700: return "DOUBLE";  // numeric without a declared scale; prices are DOUBLE (Contracts).
    case 1082: return "DATE";
    case 1114: return "TIMESTAMP";
    case 1184: return "TIMESTAMP WITH TIME ZONE";
    default: return "VARCHAR";
  }
}

Status PgError(PGconn* connection, const std::string& what) {
  std::string message = PQerrorMessage(connection);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return Status::InvalidArgument("postgres: " + what + ": " + message);
}

}  // namespace

Result<PostgresOffloadResult> OffloadPostgres(sql::Lake& lake, const PostgresOffloadOptions& options) {
  if (options.source_table.empty() == options.query.empty()) {
    return Status::InvalidArgument("postgres: give a source table or a query (one of them)");
  }
  Connection connection(PQconnectdb(options.conninfo.c_str()));
  if (PQstatus(connection.get()) != CONNECTION_OK) return PgError(connection.get(), "cannot connect");
  // Read in one snapshot: the rows and the new watermark agree.
  PgResult begin(PQexec(connection.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  if (PQresultStatus(begin.get()) != PGRES_COMMAND_OK) return PgError(connection.get(), "begin");

  std::string source = options.query.empty() ? "SELECT * FROM " + options.source_table : options.query;
  std::string app_id = "postgres:" + (options.query.empty() ? options.source_table : Sha256Hex(options.query).substr(0, 16));
  PostgresOffloadResult result;

  auto table = lake.OpenTable(options.target);
  std::optional<delta::Snapshot> snapshot;
  if (table.ok()) {
    ASSIGN_OR_RETURN(snapshot, (*table)->Load());
    if (auto it = snapshot->txns.find(app_id); it != snapshot->txns.end()) result.previous_watermark = it->second.version;
  } else if (table.status().code() != StatusCode::kNotFound || !options.create) {
    return table.status();
  }

  // Column names and types, from the query's description.
  PgResult described(PQprepare(connection.get(), "", ("SELECT * FROM (" + source + ") AS q LIMIT 0").c_str(), 0, nullptr));
  if (PQresultStatus(described.get()) != PGRES_COMMAND_OK) return PgError(connection.get(), "describe " + source);
  PgResult fields(PQdescribePrepared(connection.get(), ""));
  std::vector<std::pair<std::string, std::string>> columns;
  std::string watermark_type;
  for (int i = 0; i < PQnfields(fields.get()); ++i) {
    std::string name = PQfname(fields.get(), i);
    columns.emplace_back(name, DuckTypeOf(PQftype(fields.get(), i)));
    if (name == options.watermark) watermark_type = columns.back().second;
  }
  // The watermark in the txn version's integer form.
  std::string as_integer;
  if (!options.watermark.empty()) {
    std::string column = SqlIdentifier(options.watermark);
    if (watermark_type == "BIGINT" || watermark_type == "INTEGER" || watermark_type == "SMALLINT") {
      as_integer = column;
    } else if (watermark_type == "TIMESTAMP" || watermark_type == "TIMESTAMP WITH TIME ZONE") {
      as_integer = "(extract(epoch FROM " + column + ") * 1000000)::bigint";
    } else if (watermark_type == "DATE") {
      as_integer = "(" + column + " - DATE '1970-01-01')";
    } else {
      return Status::InvalidArgument("postgres: watermark column '" + options.watermark + "' of " + source +
                                     (watermark_type.empty() ? " does not exist" : " is not an integer, timestamp or date"));
    }
  }
  // Both bounds compare the watermark in its integer form, which PostgreSQL computes
  // exactly (extract(epoch) is numeric), so no row is skipped or read twice.
  std::string filtered = "SELECT * FROM (" + source + ") AS q";
  if (!options.watermark.empty() && result.previous_watermark) {
    filtered += " WHERE " + as_integer + " > " + std::to_string(*result.previous_watermark);
  }
  if (!options.watermark.empty()) {
    PgResult max(PQexec(connection.get(), ("SELECT max(" + as_integer + ") FROM (" + filtered + ") AS q").c_str()));
    if (PQresultStatus(max.get()) != PGRES_TUPLES_OK) return PgError(connection.get(), "watermark of " + source);
    if (PQgetisnull(max.get(), 0, 0)) return result;  // Nothing new.
    result.watermark = std::stoll(PQgetvalue(max.get(), 0, 0));
    filtered = "SELECT * FROM (" + filtered + ") AS q WHERE " + as_integer + " <= " + std::to_string(*result.watermark);
  }

  // COPY out as CSV into a scratch file, then DuckDB reads it with the columns' types.
  ScratchDir scratch("finlake-postgres-");
  std::string csv_path = scratch.path() + "/rows.csv";
  {
    std::ofstream out(csv_path, std::ios::binary);
    PgResult copy(PQexec(connection.get(), ("COPY (" + filtered + ") TO STDOUT WITH (FORMAT csv, HEADER true)").c_str()));
    if (PQresultStatus(copy.get()) != PGRES_COPY_OUT) return PgError(connection.get(), "copy " + source);
    char* buffer = nullptr;
    int length = 0;
    while ((length = PQgetCopyData(connection.get(), &buffer, 0)) > 0) {
      out.write(buffer, length);
      PQfreemem(buffer);
    }
    if (length == -2) return PgError(connection.get(), "copy " + source);
    PgResult done(PQgetResult(connection.get()));
    if (PQresultStatus(done.get()) != PGRES_COMMAND_OK) return PgError(connection.get(), "copy " + source);
    if (!out) return Status::IOError("cannot write " + csv_path);
  }
  std::vector<std::string> types;
  for (const auto& [name, type] : columns) types.push_back(SqlQuote(name) + ": " + SqlQuote(type));
  std::string select = "SELECT * FROM read_csv(" + SqlQuote(csv_path) +
                       ", header=true, auto_detect=false, quote='\"', escape='\"', columns={" + Join(types, ", ") + "})";

  if (!table.ok()) {
    table::CreateSpec spec;
    for (const auto& [name, type] : columns) {
      ASSIGN_OR_RETURN(delta::DataType delta_type, delta::FromDuckDbType(type, name));
      spec.schema.fields.push_back(delta::StructField{name, delta_type, true, nlohmann::json::object()});
    }
    spec.description = "Offloaded from PostgreSQL: " + source;
    ASSIGN_OR_RETURN(auto created, lake.CreateTable(options.target, spec, "finlake"));
    table = std::move(created);
  }
  table::WriteOptions write;
  if (result.watermark) write.txn = delta::Txn{app_id, *result.watermark, std::nullopt};
  ASSIGN_OR_RETURN(table::WriteResult written,
                   options.watermark.empty() ? (*table)->Overwrite(select, write) : (*table)->Append(select, write));
  result.rows = written.rows_written;
  result.version = written.version;
  return result;
}

}  // namespace finlake::ingest
