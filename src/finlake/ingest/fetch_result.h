// What fetching one symbol from a source came to: every failure mode of every
// connector ends in one of these, per symbol, with a message naming the symbol,
// the request and the rule.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "finlake/core/http_client.h"
#include "finlake/ingest/bronze_landing.h"

namespace finlake::ingest {

enum class FetchStatus {
  kOk,              // Data, to land.
  kEmpty,           // A valid answer with no bars (holiday, weekend window): landed, not an error.
  kNotFound,        // Unknown or delisted symbol: permanent.
  kRejected,        // The vendor refused the request (bad interval, range beyond its depth): permanent.
  kMalformed,       // The body is not what the API returns (truncated, HTML, wrong shape).
  kUnauthorized,    // Credentials (API key, cookie/crumb) refused after renewal.
  kRateLimited,     // Throttled after every retry.
  kQuotaExhausted,  // The day's quota is spent: the rest of the universe waits for tomorrow.
  kNetworkError,    // No complete answer after retries.
  kServerError,     // 5xx after retries.
};

const char* FetchStatusName(FetchStatus status);

struct FetchResult {
  std::string symbol;
  FetchStatus status = FetchStatus::kOk;
  std::string message;           // Empty when ok.
  int64_t bars = 0;              // Bars (rows) in the landed payloads.
  int32_t requests = 0;          // HTTP requests sent for this symbol.
  std::vector<RawRecord> records;  // What to land (ok and empty answers).
  bool ok() const { return status == FetchStatus::kOk || status == FetchStatus::kEmpty; }
};

// The per-symbol status of a request the HTTP client gave up on (after retries).
FetchStatus FetchStatusOf(HttpOutcome outcome);

// The bronze record of an answer, as received.
RawRecord RecordOf(const std::string& symbol, const std::string& request_key, const std::string& region,
                   const std::string& logical_date, int64_t fetched_at_ms, const HttpResponse& response);

}  // namespace finlake::ingest
