#include "finlake/ingest/alphavantage.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "finlake/core/strings.h"

namespace finlake::ingest {

using nlohmann::json;

namespace {

bool Contains(const std::string& text, const char* needle) {
  return ToLower(text).find(needle) != std::string::npos;
}

// The series key the answer must hold: "Time Series (Daily)", "Time Series (5min)",
// or "Global Quote".
std::string ExpectedKey(const AlphaVantageRequest& request) {
  if (request.function == "GLOBAL_QUOTE") return "Global Quote";
  if (request.function == "TIME_SERIES_INTRADAY") return "Time Series (" + request.interval + ")";
  return "Time Series (Daily)";
}

std::string Excerpt(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, 80)) out += (c >= 32 && c < 127) ? c : ' ';
  return out + (body.size() > 80 ? "..." : "");
}

int64_t NextUtcMidnightMs(int64_t now_ms) {
  const int64_t day_ms = 86400000;
  return (now_ms / day_ms + 1) * day_ms;
}

}  // namespace

std::string AlphaVantageRequest::Key() const {
  json key = {{"api", "alphavantage"}, {"function", function}, {"symbol", symbol}, {"datatype", datatype}};
  if (function != "GLOBAL_QUOTE") key["outputsize"] = outputsize;
  if (!interval.empty()) key["interval"] = interval;
  if (!month.empty()) key["month"] = month;
  // Intraday bars are fetched as traded and in regular hours: silver puts them
  // on its own split scale, as the daily ones.
  if (function == "TIME_SERIES_INTRADAY") {
    key["adjusted"] = false;
    key["extended_hours"] = false;
  }
  return key.dump();
}

std::string AlphaVantageConnector::KeyFromEnvironment() {
  for (const char* name : {"FINLAKE_ALPHAVANTAGE_KEY", "ALPHAVANTAGE_API_KEY"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return value;
  }
  return "";
}

Status AlphaVantageConnector::Validate(const AlphaVantageRequest& request) {
  static const char* kFunctions[] = {"TIME_SERIES_DAILY", "TIME_SERIES_DAILY_ADJUSTED", "TIME_SERIES_INTRADAY",
                                     "GLOBAL_QUOTE"};
  std::string where = "alphavantage " + request.symbol;
  if (request.symbol.empty()) return Status::InvalidArgument("alphavantage: empty symbol");
  if (std::find(std::begin(kFunctions), std::end(kFunctions), request.function) == std::end(kFunctions)) {
    return Status::InvalidArgument(where + ": function '" + request.function +
                                   "' is not TIME_SERIES_DAILY, TIME_SERIES_DAILY_ADJUSTED, TIME_SERIES_INTRADAY or GLOBAL_QUOTE");
  }
  if (request.datatype != "json" && request.datatype != "csv") {
    return Status::InvalidArgument(where + ": datatype must be json or csv");
  }
  if (request.outputsize != "compact" && request.outputsize != "full") {
    return Status::InvalidArgument(where + ": outputsize must be compact or full");
  }
  static const char* kIntervals[] = {"1min", "5min", "15min", "30min", "60min"};
  bool intraday = request.function == "TIME_SERIES_INTRADAY";
  bool known = std::find(std::begin(kIntervals), std::end(kIntervals), request.interval) != std::end(kIntervals);
  if (intraday != known || (!intraday && !request.interval.empty())) {
    return Status::InvalidArgument(where + ": interval (1min, 5min, 15min, 30min, 60min) goes with TIME_SERIES_INTRADAY only");
  }
  return Status::Ok();
}

FetchStatus AlphaVantageConnector::Classify(const AlphaVantageRequest& request, const std::string& body,
                                            std::string* message, int64_t* rows, bool* burst) {
  *rows = 0;
  *burst = false;
  size_t first = body.find_first_not_of(" \t\r\n\xef\xbb\xbf");
  // A CSV request still gets its errors as JSON: sniff the first byte.
  if (request.datatype == "csv" && first != std::string::npos && body[first] != '{') {
    size_t header_end = body.find('\n', first);
    std::string header = ToLower(body.substr(first, header_end == std::string::npos ? std::string::npos : header_end - first));
    while (!header.empty() && (header.back() == '\r' || header.back() == ' ')) header.pop_back();
    bool quote = request.function == "GLOBAL_QUOTE";
    if ((quote && header.rfind("symbol,", 0) != 0) || (!quote && header.rfind("timestamp,open,high,low,close", 0) != 0)) {
      *message = "CSV header is not Alpha Vantage's: '" + Excerpt(header) + "'";
      return FetchStatus::kMalformed;
    }
    for (const std::string& line : Split(header_end == std::string::npos ? "" : body.substr(header_end + 1), '\n')) {
      if (line.find_first_not_of(" \r") != std::string::npos) ++*rows;
    }
    return *rows == 0 ? FetchStatus::kEmpty : FetchStatus::kOk;
  }
  json root = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    *message = "body is not JSON: '" + Excerpt(body) + "'";
    return FetchStatus::kMalformed;
  }
  std::string expected = ExpectedKey(request);
  if (root.contains(expected)) {
    const json& series = root[expected];
    if (!series.is_object()) {
      *message = "'" + expected + "' is not an object";
      return FetchStatus::kMalformed;
    }
    if (request.function == "GLOBAL_QUOTE" && series.empty()) {
      *message = "Global Quote is empty: unknown symbol";
      return FetchStatus::kNotFound;
    }
    *rows = request.function == "GLOBAL_QUOTE" ? 1 : static_cast<int64_t>(series.size());
    return *rows == 0 ? FetchStatus::kEmpty : FetchStatus::kOk;
  }
  if (root.contains("Error Message")) {
    *message = "Error Message: " + root["Error Message"].dump();
    return Contains(*message, "apikey") ? FetchStatus::kUnauthorized : FetchStatus::kNotFound;
  }
  for (const char* key : {"Information", "Note"}) {
    if (!root.contains(key)) continue;
    std::string text = root[key].is_string() ? root[key].get<std::string>() : root[key].dump();
    *message = std::string(key) + ": " + text;
    // Order matters: the burst notice also mentions "25 requests per day", and the
    // legacy Note quotes both a per-minute and a per-day frequency.
    if (std::string(key) == "Note" || Contains(text, "spreading out") || Contains(text, "per second") ||
        Contains(text, "burst pattern")) {
      *burst = true;
      return FetchStatus::kRateLimited;
    }
    if (Contains(text, "per day")) return FetchStatus::kQuotaExhausted;
    if (Contains(text, "demo")) return FetchStatus::kUnauthorized;
    if (Contains(text, "premium")) return FetchStatus::kRejected;
    *burst = true;  // An unknown notice: treat it as transient.
    return FetchStatus::kRateLimited;
  }
  *message = "no '" + expected + "' in the answer (keys: ";
  for (auto it = root.begin(); it != root.end(); ++it) *message += (it == root.begin() ? "" : ", ") + it.key();
  *message += ")";
  return FetchStatus::kMalformed;
}

FetchResult AlphaVantageConnector::Fetch(const AlphaVantageRequest& request, const std::string& region,
                                         const std::string& logical_date) {
  FetchResult result;
  result.symbol = request.symbol;
  if (Status valid = Validate(request); !valid.ok()) {
    result.status = FetchStatus::kRejected;
    result.message = valid.message();
    return result;
  }
  if (options_.api_key.empty()) {
    result.status = FetchStatus::kUnauthorized;
    result.message = "alphavantage: no API key (set FINLAKE_ALPHAVANTAGE_KEY)";
    return result;
  }
  std::string url = options_.base_url + "/query?function=" + request.function +
                    "&symbol=" + PercentEncodePath(request.symbol) + "&datatype=" + request.datatype;
  if (request.function != "GLOBAL_QUOTE") url += "&outputsize=" + request.outputsize;
  if (!request.interval.empty()) url += "&interval=" + request.interval;
  if (!request.month.empty()) url += "&month=" + request.month;
  if (request.function == "TIME_SERIES_INTRADAY") url += "&adjusted=false&extended_hours=false";
  url += "&apikey=" + PercentEncodePath(options_.api_key);
  std::string where = "alphavantage " + request.symbol + " " + request.Key();
  for (int burst_try = 0;; ++burst_try) {
    HttpRequest http;
    http.url = url;
    http.timeout_ms = options_.timeout_ms;
    auto response = http_->Send(http);
    ++result.requests;
    if (!response.ok()) {
      result.status = FetchStatus::kNetworkError;
      result.message = response.status().message();
      return result;
    }
    if (response->outcome != HttpOutcome::kOk) {
      result.status = FetchStatusOf(response->outcome);
      result.message = where + ": " + HttpOutcomeName(response->outcome) + " (HTTP " +
                       std::to_string(response->status) + ")";
      return result;
    }
    std::string message;
    int64_t rows = 0;
    bool burst = false;
    FetchStatus status = Classify(request, response->body, &message, &rows, &burst);
    if (status == FetchStatus::kQuotaExhausted) {
      // Free keys reset daily; refuse the rest of the universe until UTC midnight.
      http_->ReportQuotaExhausted(NextUtcMidnightMs(clock_->NowMillis()));
    }
    if (burst && burst_try < options_.burst_retries_max) {
      sleeper_->SleepForMillis(options_.burst_wait_ms * (burst_try + 1));
      continue;
    }
    if (status != FetchStatus::kOk && status != FetchStatus::kEmpty) {
      result.status = status;
      result.message = where + ": " + message;
      return result;
    }
    result.status = status;
    result.bars = rows;
    RawRecord record = RecordOf(request.symbol, request.Key(), region, logical_date, clock_->NowMillis(), *response);
    result.records.push_back(std::move(record));
    return result;
  }
}

}  // namespace finlake::ingest
