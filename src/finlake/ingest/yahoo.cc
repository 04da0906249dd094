#include "finlake/ingest/yahoo.h"

#include <algorithm>
#include <set>
#include <cctype>

#include "finlake/core/limits.h"
#include "finlake/core/strings.h"

namespace finlake::ingest {

using nlohmann::json;

namespace {

constexpr int64_t kDay = 86400;

// Yahoo's intraday depth (research/market-apis.md 1.2): how far back an interval
// reaches and how much one request may span.
struct Depth {
  int64_t reach_s;
  int64_t window_s;
};

std::optional<Depth> DepthOf(const std::string& interval) {
  if (interval == "1m") return Depth{30 * kDay, 8 * kDay};
  if (interval == "2m" || interval == "5m" || interval == "15m" || interval == "30m" || interval == "90m") {
    return Depth{60 * kDay, 60 * kDay};
  }
  if (interval == "60m" || interval == "1h") return Depth{730 * kDay, 730 * kDay};
  return std::nullopt;
}

bool ValidInterval(const std::string& interval) {
  static const char* kIntervals[] = {"1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h",
                                     "1d", "5d", "1wk", "1mo", "3mo"};
  return std::find(std::begin(kIntervals), std::end(kIntervals), interval) != std::end(kIntervals);
}

// A short, printable excerpt of a body for messages.
std::string Excerpt(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, 80)) out += (c >= 32 && c < 127) ? c : ' ';
  return out + (body.size() > 80 ? "..." : "");
}


}  // namespace

std::string ChartRequest::Key() const {
  json key = {{"api", "chart"}, {"symbol", symbol}, {"interval", interval}};
  if (range) key["range"] = *range;
  else {
    key["period1"] = period1;
    key["period2"] = period2;
  }
  return key.dump();
}

Result<std::vector<ChartRequest>> YahooConnector::PlanWindows(const ChartRequest& request, int64_t now_s) {
  if (request.symbol.empty()) return Status::InvalidArgument("yahoo: empty symbol");
  if (!ValidInterval(request.interval)) {
    return Status::InvalidArgument("yahoo " + request.symbol + ": interval '" + request.interval +
                                   "' is not one of 1m,2m,5m,15m,30m,60m,90m,1h,1d,5d,1wk,1mo,3mo");
  }
  if (request.range) return std::vector<ChartRequest>{request};
  if (request.period2 <= request.period1) {
    return Status::InvalidArgument("yahoo " + request.symbol + ": the period is empty (period2 <= period1)");
  }
  std::optional<Depth> depth = DepthOf(request.interval);
  if (!depth) return std::vector<ChartRequest>{request};
  if (request.period1 < now_s - depth->reach_s) {
    return Status::InvalidArgument("yahoo " + request.symbol + ": " + request.interval +
                                   " bars reach back only " + std::to_string(depth->reach_s / kDay) +
                                   " days; the period starts earlier");
  }
  std::vector<ChartRequest> windows;
  for (int64_t start = request.period1; start < request.period2; start += depth->window_s) {
    ChartRequest window = request;
    window.period1 = start;
    window.period2 = std::min(request.period2, start + depth->window_s);
    windows.push_back(window);
  }
  return windows;
}

FetchStatus YahooConnector::ClassifyChart(int32_t http_status, const std::string& body, std::string* message,
                                          int64_t* bars) {
  *bars = 0;
  json root = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    *message = "HTTP " + std::to_string(http_status) + ", body is not JSON: '" + Excerpt(body) + "'";
    return http_status >= 500 ? FetchStatus::kServerError : FetchStatus::kMalformed;
  }
  // {"chart":{"result":null,"error":{"code":"Not Found","description":"..."}}}, or
  // {"finance":{"error":{"code":"Unauthorized","description":"Invalid Crumb"}}}.
  const json* error = nullptr;
  for (const char* top : {"chart", "finance"}) {
    if (root.contains(top) && root[top].is_object() && root[top].contains("error") && root[top]["error"].is_object()) {
      error = &root[top]["error"];
    }
  }
  if (error != nullptr) {
    std::string code = error->value("code", "");
    *message = "HTTP " + std::to_string(http_status) + ", " + code + ": " + error->value("description", "");
    if (http_status == 401 || code == "Unauthorized") return FetchStatus::kUnauthorized;
    if (http_status == 404 || code == "Not Found") return FetchStatus::kNotFound;
    if (http_status >= 500) return FetchStatus::kServerError;
    return FetchStatus::kRejected;
  }
  if (http_status != 200) {
    *message = "HTTP " + std::to_string(http_status) + " without a chart error: '" + Excerpt(body) + "'";
    return http_status >= 500 ? FetchStatus::kServerError : FetchStatus::kRejected;
  }
  if (!root.contains("chart") || !root["chart"].is_object() || !root["chart"].contains("result") ||
      !root["chart"]["result"].is_array() || root["chart"]["result"].empty() ||
      !root["chart"]["result"][0].is_object()) {
    *message = "chart.result is missing or empty";
    return FetchStatus::kMalformed;
  }
  const json& result = root["chart"]["result"][0];
  if (!result.contains("timestamp")) return FetchStatus::kEmpty;  // A window without bars (weekend, holiday).
  const json& timestamps = result["timestamp"];
  if (!timestamps.is_array()) {
    *message = "chart.result[0].timestamp is not an array";
    return FetchStatus::kMalformed;
  }
  const json* quote = nullptr;
  if (result.contains("indicators") && result["indicators"].is_object() && result["indicators"].contains("quote") &&
      result["indicators"]["quote"].is_array() && !result["indicators"]["quote"].empty()) {
    quote = &result["indicators"]["quote"][0];
  }
  if (quote == nullptr || !quote->is_object()) {
    *message = "chart.result[0].indicators.quote is missing";
    return FetchStatus::kMalformed;
  }
  // The five OHLCV arrays run parallel to timestamp; elements may be null.
  for (const char* field : {"open", "high", "low", "close", "volume"}) {
    if (!quote->contains(field) || !(*quote)[field].is_array() || (*quote)[field].size() != timestamps.size()) {
      *message = std::string("indicators.quote[0].") + field + " is missing or not as long as timestamp (" +
                 std::to_string(timestamps.size()) + ")";
      return FetchStatus::kMalformed;
    }
  }
  *bars = static_cast<int64_t>(timestamps.size());
  return *bars == 0 ? FetchStatus::kEmpty : FetchStatus::kOk;
}

std::string YahooConnector::ChartUrl(const ChartRequest& window) const {
  std::string url = options_.base_url + "/v8/finance/chart/" + PercentEncodePath(window.symbol) +
                    "?interval=" + window.interval + "&events=div%2Csplits&includeAdjustedClose=true";
  if (window.range) url += "&range=" + *window.range;
  else url += "&period1=" + std::to_string(window.period1) + "&period2=" + std::to_string(window.period2);
  if (!crumb_.empty()) url += "&crumb=" + PercentEncodePath(crumb_);
  return url;
}

Status YahooConnector::RefreshCrumb() {
  crumb_.clear();
  // The cookie seed answers 404 but sets the session cookies the crumb needs.
  HttpRequest seed;
  seed.url = options_.cookie_url;
  seed.timeout_ms = options_.timeout_ms;
  auto seeded = http_->Send(seed);
  if (!seeded.ok()) return seeded.status().WithContext("yahoo: cookie handshake");
  HttpRequest crumb;
  crumb.url = options_.crumb_url;
  crumb.timeout_ms = options_.timeout_ms;
  ASSIGN_OR_RETURN(HttpResponse answer, http_->Send(crumb));
  std::string text = answer.body;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (answer.status != 200 || text.empty() || text.size() > 64 || text.find('<') != std::string::npos ||
      text.find(' ') != std::string::npos) {
    return Status::IOError("yahoo: crumb request answered HTTP " + std::to_string(answer.status) +
                           " without a crumb");
  }
  crumb_ = text;
  return Status::Ok();
}

FetchResult YahooConnector::FetchChart(const ChartRequest& request, const std::string& region,
                                       const std::string& logical_date) {
  FetchResult result;
  result.symbol = request.symbol;
  auto windows = PlanWindows(request, clock_->NowMillis() / 1000);
  if (!windows.ok()) {
    result.status = FetchStatus::kRejected;
    result.message = windows.status().message();
    return result;
  }
  if (options_.use_crumb && crumb_.empty()) {
    if (Status status = RefreshCrumb(); !status.ok()) {
      result.status = FetchStatus::kUnauthorized;
      result.message = status.message();
      return result;
    }
  }
  bool any_bars = false;
  for (const ChartRequest& window : *windows) {
    bool renewed = false;
    while (true) {
      HttpRequest http;
      http.url = ChartUrl(window);
      http.timeout_ms = options_.timeout_ms;
      auto response = http_->Send(http);
      ++result.requests;
      std::string where = "yahoo " + window.symbol + " " + window.Key();
      if (!response.ok()) {
        result.status = FetchStatus::kNetworkError;
        result.message = response.status().message();
        return result;
      }
      if (response->outcome == HttpOutcome::kQuotaExhausted || response->outcome == HttpOutcome::kRateLimited ||
          response->outcome == HttpOutcome::kNetworkError) {
        result.status = FetchStatusOf(response->outcome);
        result.message = where + ": " + HttpOutcomeName(response->outcome) + " (HTTP " +
                         std::to_string(response->status) + ")";
        return result;
      }
      std::string message;
      int64_t bars = 0;
      FetchStatus status = ClassifyChart(response->status, response->body, &message, &bars);
      if (status == FetchStatus::kUnauthorized && !renewed) {
        // An expired cookie or crumb: renew once, then give up (research 1.8).
        renewed = true;
        if (RefreshCrumb().ok()) continue;
      }
      if (status != FetchStatus::kOk && status != FetchStatus::kEmpty) {
        result.status = status;
        result.message = where + ": " + message;
        return result;
      }
      any_bars |= bars > 0;
      result.bars += bars;
      RawRecord record = RecordOf(window.symbol, window.Key(), region, logical_date, clock_->NowMillis(), *response);
      result.records.push_back(std::move(record));
      break;
    }
  }
  result.status = any_bars ? FetchStatus::kOk : FetchStatus::kEmpty;
  return result;
}

std::vector<FetchResult> YahooConnector::FetchQuotes(const std::vector<std::string>& symbols, const std::string& region,
                                                     const std::string& logical_date) {
  std::vector<FetchResult> results;
  for (size_t start = 0; start < symbols.size(); start += limits::kYahooQuoteSymbolsMax) {
    std::vector<std::string> batch(symbols.begin() + static_cast<std::ptrdiff_t>(start),
                                   symbols.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                         symbols.size(), start + limits::kYahooQuoteSymbolsMax)));
    std::vector<FetchResult> batch_results(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) batch_results[i].symbol = batch[i];
    auto fail_all = [&](FetchStatus status, const std::string& message) {
      for (FetchResult& result : batch_results) {
        result.status = status;
        result.message = "yahoo quote " + result.symbol + ": " + message;
      }
    };
    std::vector<std::string> encoded;
    for (const std::string& symbol : batch) encoded.push_back(PercentEncodePath(symbol));
    json key = {{"api", "quote"}, {"symbols", batch}};
    bool renewed = false;
    while (true) {
      if (crumb_.empty()) {
        if (Status status = RefreshCrumb(); !status.ok()) {
          fail_all(FetchStatus::kUnauthorized, status.message());
          break;
        }
      }
      HttpRequest http;
      http.url = options_.base_url + "/v7/finance/quote?symbols=" + Join(encoded, "%2C") +
                 "&formatted=false&lang=en-US&region=US&crumb=" + PercentEncodePath(crumb_);
      http.timeout_ms = options_.timeout_ms;
      auto response = http_->Send(http);
      if (!response.ok()) {
        fail_all(FetchStatus::kNetworkError, response.status().message());
        break;
      }
      batch_results[0].requests++;
      if (response->status == 401 && !renewed) {
        renewed = true;
        crumb_.clear();
        continue;
      }
      if (response->outcome != HttpOutcome::kOk) {
        fail_all(response->status == 401 ? FetchStatus::kUnauthorized : FetchStatusOf(response->outcome),
                 std::string(HttpOutcomeName(response->outcome)) + " (HTTP " + std::to_string(response->status) + ")");
        break;
      }
      json root = json::parse(response->body, nullptr, false);
      if (root.is_discarded() || !root.contains("quoteResponse") || !root["quoteResponse"].is_object() ||
          !root["quoteResponse"].contains("result") || !root["quoteResponse"]["result"].is_array()) {
        fail_all(FetchStatus::kMalformed, "not a quoteResponse: '" + response->body.substr(0, 80) + "'");
        break;
      }
      std::set<std::string> found;
      for (const json& quote : root["quoteResponse"]["result"]) {
        if (quote.is_object() && quote.contains("symbol") && quote["symbol"].is_string()) {
          found.insert(quote["symbol"].get<std::string>());
        }
      }
      bool landed = false;
      for (FetchResult& result : batch_results) {
        if (!found.count(result.symbol)) {
          result.status = FetchStatus::kNotFound;
          result.message = "yahoo quote " + result.symbol + ": not in the answer (unknown symbol)";
          continue;
        }
        result.status = FetchStatus::kOk;
        result.bars = 1;
        if (!landed) {
          result.records.push_back(RecordOf(result.symbol, key.dump(), region, logical_date, clock_->NowMillis(), *response));
          landed = true;
        }
      }
      break;
    }
    for (FetchResult& result : batch_results) results.push_back(std::move(result));
  }
  return results;
}

}  // namespace finlake::ingest
