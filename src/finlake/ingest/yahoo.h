// Yahoo Finance chart API connector (research/market-apis.md section 1): daily
// and intraday bars with events (dividends, splits) and adjusted close, windows
// split by Yahoo's per-interval depth limits, and the cookie + crumb handshake
// renewed once on 401. Payloads land in bronze as received; parsing them into
// bars is silver's job (pipeline/).
//
// Thread-compatible; the HttpClient it is given may be shared.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "finlake/core/clock.h"
#include "finlake/core/http_client.h"
#include "finlake/ingest/fetch_result.h"

namespace finlake::ingest {

struct YahooOptions {
  std::string base_url = "https://query2.finance.yahoo.com";  // Chart and quote API.
  std::string cookie_url = "https://fc.yahoo.com";            // Sets the session cookies (answers 404).
  std::string crumb_url = "https://query1.finance.yahoo.com/v1/test/getcrumb";
  // Append a crumb to every request (the chart API works without one).
  bool use_crumb = false;
  int64_t timeout_ms = 30000;  // Per request, retries apart.
};

// One chart request: period1/period2 (Unix seconds, period2 exclusive) or a range.
struct ChartRequest {
  std::string symbol;
  std::string interval = "1d";
  std::optional<std::string> range;  // 1d,5d,1mo,3mo,6mo,1y,2y,5y,10y,ytd,max
  int64_t period1 = 0;
  int64_t period2 = 0;

  // The canonical JSON bronze keeps as the request key (no crumb, no key).
  std::string Key() const;
};

class YahooConnector {
 public:
  YahooConnector(HttpClient* http, YahooOptions options, const Clock* clock = &SystemClock())
      : http_(http), options_(std::move(options)), clock_(clock) {}

  // Splits a period into the windows Yahoo serves: 1m at most 8 days a request and
  // only within the last 30 days; 2m-90m within the last 60 days; 1h/60m within the
  // last 730 days; daily and longer in one request. A period reaching beyond the
  // depth is Rejected, naming the limit.
  [[nodiscard]] static Result<std::vector<ChartRequest>> PlanWindows(const ChartRequest& request, int64_t now_s);

  // Fetches every window of `request`; one result for the symbol. Records carry the
  // given region and logical date.
  FetchResult FetchChart(const ChartRequest& request, const std::string& region, const std::string& logical_date);

  // The quote API (v7/finance/quote, which needs the cookie + crumb): one request
  // for up to limits::kYahooQuoteSymbolsMax symbols; one result per symbol (a
  // symbol missing from the answer is NotFound). The payload lands once, on the
  // first symbol found, with the batch in its request key.
  std::vector<FetchResult> FetchQuotes(const std::vector<std::string>& symbols, const std::string& region,
                                       const std::string& logical_date);

  // Reads a chart answer: Ok/Empty with its bar count, or the failure and why.
  static FetchStatus ClassifyChart(int32_t http_status, const std::string& body, std::string* message,
                                   int64_t* bars);

 private:
  std::string ChartUrl(const ChartRequest& window) const;
  [[nodiscard]] Status RefreshCrumb();

  HttpClient* http_;
  YahooOptions options_;
  const Clock* clock_;
  std::string crumb_;
};

}  // namespace finlake::ingest
