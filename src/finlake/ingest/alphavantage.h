// Alpha Vantage connector (research/market-apis.md section 2): TIME_SERIES_DAILY,
// TIME_SERIES_DAILY_ADJUSTED, TIME_SERIES_INTRADAY and GLOBAL_QUOTE, as JSON or
// CSV. Every answer is HTTP 200, errors included, so the body decides: the
// expected series is data; "Error Message" is permanent; "Note" and the burst
// "Information" are rate limits, retried later; the daily-quota "Information"
// stops the source for the day. None of these bodies is ever stored as data.
//
// The API key comes from the environment (FINLAKE_ALPHAVANTAGE_KEY, else
// ALPHAVANTAGE_API_KEY) and never reaches a request key, a table or a message.
#pragma once

#include <optional>
#include <string>

#include "finlake/core/clock.h"
#include "finlake/core/http_client.h"
#include "finlake/core/sleeper.h"
#include "finlake/ingest/fetch_result.h"

namespace finlake::ingest {

struct AlphaVantageOptions {
  std::string base_url = "https://www.alphavantage.co";
  std::string api_key;
  int64_t timeout_ms = 30000;
  // Burst notices ("1 request per second") are retried after this wait, this often.
  int64_t burst_wait_ms = 1500;
  int burst_retries_max = 3;
};

struct AlphaVantageRequest {
  std::string symbol;
  std::string function = "TIME_SERIES_DAILY";
  std::string outputsize = "compact";  // compact or full (full is premium for daily on free keys).
  std::string interval;                // TIME_SERIES_INTRADAY: 1min, 5min, 15min, 30min, 60min.
  std::string datatype = "json";       // json or csv.
  std::string month;                   // TIME_SERIES_INTRADAY: YYYY-MM (optional).

  std::string Key() const;  // The canonical JSON bronze keeps (no API key).
};

class AlphaVantageConnector {
 public:
  AlphaVantageConnector(HttpClient* http, AlphaVantageOptions options, const Clock* clock = &SystemClock(),
                        Sleeper* sleeper = &SystemSleeper())
      : http_(http), options_(std::move(options)), clock_(clock), sleeper_(sleeper) {}

  // The key from the environment, or empty.
  static std::string KeyFromEnvironment();

  [[nodiscard]] static Status Validate(const AlphaVantageRequest& request);
  FetchResult Fetch(const AlphaVantageRequest& request, const std::string& region, const std::string& logical_date);

  // Reads a body: Ok/Empty with its row count, or the failure and why. For a
  // daily-quota answer, *quota is set.
  static FetchStatus Classify(const AlphaVantageRequest& request, const std::string& body, std::string* message,
                              int64_t* rows, bool* burst);

 private:
  HttpClient* http_;
  AlphaVantageOptions options_;
  const Clock* clock_;
  Sleeper* sleeper_;
};

}  // namespace finlake::ingest
