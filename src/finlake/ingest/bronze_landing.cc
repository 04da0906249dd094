#include "finlake/ingest/bronze_landing.h"

#include <openssl/evp.h>

#include <fstream>
#include <set>

#include "finlake/core/scratch_dir.h"
#include "finlake/core/strings.h"

namespace finlake::ingest {

using nlohmann::json;

namespace {

// The raw table's columns, in DuckDB types (DESIGN.md: payload, source, request
// key, logical date, fetched_at, HTTP status and payload hash; partitioned by
// `date` and `region`).
constexpr const char* kColumns[][2] = {
    {"source", "VARCHAR"},       {"symbol", "VARCHAR"},         {"request_key", "VARCHAR"},
    {"date", "DATE"},            {"region", "VARCHAR"},         {"fetched_at", "TIMESTAMP WITH TIME ZONE"},
    {"http_status", "INTEGER"},  {"content_type", "VARCHAR"},   {"payload", "VARCHAR"},
    {"payload_encoding", "VARCHAR"}, {"payload_sha256", "VARCHAR"}, {"payload_bytes", "BIGINT"},
};

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(length));
  return out;
}

}  // namespace

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string BronzeLanding::TableName(const std::string& source) { return "bronze." + source + "_raw"; }

Result<std::unique_ptr<table::Table>> BronzeLanding::OpenOrCreate(const std::string& source) {
  auto table = lake_->OpenTable(TableName(source));
  if (table.ok() || table.status().code() != StatusCode::kNotFound) return table;
  table::CreateSpec spec;
  for (const auto& [name, type] : kColumns) {
    ASSIGN_OR_RETURN(delta::DataType delta_type, delta::FromDuckDbType(type, name));
    spec.schema.fields.push_back(delta::StructField{name, delta_type, true, json::object()});
  }
  spec.partition_columns = {"date", "region"};
  spec.description = "Responses from " + source + " as received";
  return lake_->CreateTable(TableName(source), spec, "finlake");
}

Result<LandResult> BronzeLanding::Land(const std::string& source, const std::vector<RawRecord>& records) {
  LandResult result;
  if (records.empty()) return result;
  ASSIGN_OR_RETURN(std::unique_ptr<table::Table> table, OpenOrCreate(source));
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, table->Load());

  // Which (request key, payload) pairs the table already holds.
  std::vector<std::string> hashes;
  for (const RawRecord& record : records) hashes.push_back(Sha256Hex(record.payload));
  std::set<std::pair<std::string, std::string>> stored;
  if (!snapshot.files.empty()) {
    std::vector<std::string> quoted;
    for (const std::string& hash : hashes) quoted.push_back(SqlQuote(hash));
    ASSIGN_OR_RETURN(std::string scan, table->ScanSql(snapshot));
    ASSIGN_OR_RETURN(auto connection, lake_->Connect());
    ASSIGN_OR_RETURN(auto existing, connection->Query("SELECT DISTINCT request_key, payload_sha256 FROM (" + scan +
                                                      ") WHERE payload_sha256 IN (" + Join(quoted, ", ") + ")"));
    for (int64_t row = 0; row < existing->row_count(); ++row) {
      stored.emplace(existing->GetString(0, row), existing->GetString(1, row));
    }
  }

  // New records go through a JSON-lines file: payloads of any size and content
  // stay exact (a body that is not UTF-8 is kept as base64, and says so).
  ScratchDir scratch("finlake-landing-");
  std::string lines_path = scratch.path() + "/records.json";
  {
    std::ofstream out(lines_path);
    for (size_t i = 0; i < records.size(); ++i) {
      const RawRecord& record = records[i];
      if (!stored.emplace(record.request_key, hashes[i]).second) {
        ++result.duplicates;
        continue;
      }
      bool utf8 = InvalidUtf8At(record.payload) == std::string_view::npos;  // As JSON and VARCHAR require.
      json row = {{"source", source},
                  {"symbol", record.symbol},
                  {"request_key", record.request_key},
                  {"date", record.logical_date},
                  {"region", record.region},
                  {"fetched_at_ms", record.fetched_at_ms},
                  {"http_status", record.http_status},
                  {"content_type", record.content_type},
                  {"payload", utf8 ? record.payload : Base64(record.payload)},
                  {"payload_encoding", utf8 ? "utf-8" : "base64"},
                  {"payload_sha256", hashes[i]},
                  {"payload_bytes", static_cast<int64_t>(record.payload.size())}};
      out << row.dump() << '\n';
      ++result.landed;
    }
    if (!out) return Status::IOError("cannot write " + lines_path);
  }
  if (result.landed == 0) return result;
  std::string source_sql =
      "SELECT source, symbol, request_key, CAST(date AS DATE) AS date, region, "
      "make_timestamptz(fetched_at_ms * 1000) AS fetched_at, http_status, content_type, payload, payload_encoding, "
      "payload_sha256, payload_bytes FROM read_json(" + SqlQuote(lines_path) +
      ", format='newline_delimited', maximum_object_size=1073741824, columns={source: 'VARCHAR', symbol: 'VARCHAR', "
      "request_key: 'VARCHAR', date: 'VARCHAR', region: 'VARCHAR', fetched_at_ms: 'BIGINT', http_status: 'INTEGER', "
      "content_type: 'VARCHAR', payload: 'VARCHAR', payload_encoding: 'VARCHAR', payload_sha256: 'VARCHAR', "
      "payload_bytes: 'BIGINT'})";
  ASSIGN_OR_RETURN(table::WriteResult written, table->Append(source_sql));
  result.version = written.version;
  return result;
}

}  // namespace finlake::ingest
