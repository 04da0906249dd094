#include "finlake/ingest/fetch_result.h"

namespace finlake::ingest {

const char* FetchStatusName(FetchStatus status) {
  switch (status) {
    case FetchStatus::kOk: return "ok";
    case FetchStatus::kEmpty: return "empty";
    case FetchStatus::kNotFound: return "not_found";
    case FetchStatus::kRejected: return "rejected";
    case FetchStatus::kMalformed: return "malformed";
    case FetchStatus::kUnauthorized: return "unauthorized";
    case FetchStatus::kRateLimited: return "rate_limited";
    case FetchStatus::kQuotaExhausted: return "quota_exhausted";
    case FetchStatus::kNetworkError: return "network_error";
    case FetchStatus::kServerError: return "server_error";
  }
  return "unknown";
}

FetchStatus FetchStatusOf(HttpOutcome outcome) {
  switch (outcome) {
    case HttpOutcome::kRateLimited: return FetchStatus::kRateLimited;
    case HttpOutcome::kQuotaExhausted: return FetchStatus::kQuotaExhausted;
    case HttpOutcome::kServerError: return FetchStatus::kServerError;
    case HttpOutcome::kNetworkError: return FetchStatus::kNetworkError;
    case HttpOutcome::kOk:
    case HttpOutcome::kClientError: return FetchStatus::kRejected;
  }
  return FetchStatus::kRejected;
}

RawRecord RecordOf(const std::string& symbol, const std::string& request_key, const std::string& region,
                   const std::string& logical_date, int64_t fetched_at_ms, const HttpResponse& response) {
  RawRecord record;
  record.symbol = symbol;
  record.request_key = request_key;
  record.logical_date = logical_date;
  record.region = region;
  record.fetched_at_ms = fetched_at_ms;
  record.http_status = response.status;
  record.content_type = std::string(response.headers.Get("content-type").value_or(""));
  record.payload = response.body;
  return record;
}

}  // namespace finlake::ingest
