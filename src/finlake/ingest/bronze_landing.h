// Bronze landing: what a source returned, stored as received (DESIGN.md "Finance
// data model"), so anything downstream can be rebuilt from it.
//
// Each source lands in `bronze.<source>_raw`, partitioned by the logical date and
// the region. A record whose payload (by SHA-256) the table already holds for the
// same request key is not stored again: re-fetching an identical payload adds
// nothing. Request keys never carry API keys or crumbs: connectors build them
// from the symbol, interval and range only.
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "finlake/sql/lake.h"

namespace finlake::ingest {

struct RawRecord {
  std::string symbol;
  std::string request_key;   // Canonical JSON of the request, without secrets.
  std::string logical_date;  // YYYY-MM-DD: the session the data is for (partition `date`).
  std::string region;        // Partition `region` ("us", "eu", ...).
  int64_t fetched_at_ms = 0;
  int32_t http_status = 0;
  std::string content_type;
  std::string payload;       // The body, byte for byte.
};

struct LandResult {
  int64_t landed = 0;       // Records stored.
  int64_t duplicates = 0;   // Records whose payload was already stored for their key.
  int64_t version = -1;     // The table version written, -1 when nothing was.
};

// The hex SHA-256 of a payload.
std::string Sha256Hex(const std::string& bytes);

class BronzeLanding {
 public:
  explicit BronzeLanding(sql::Lake* lake) : lake_(lake) {}

  // `bronze.<source>_raw`, created on first use.
  static std::string TableName(const std::string& source);
  [[nodiscard]] Result<LandResult> Land(const std::string& source, const std::vector<RawRecord>& records);

 private:
  [[nodiscard]] Result<std::unique_ptr<table::Table>> OpenOrCreate(const std::string& source);

  sql::Lake* lake_;
};

}  // namespace finlake::ingest
