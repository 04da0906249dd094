// Alpha Vantage daily series (research/market-apis.md section 2) -> daily bars.
#include <cmath>
#include <sstream>

#include <date/tz.h>

#include "finlake/calendar/exchange_calendar.h"
#include "finlake/core/strings.h"
#include "finlake/pipeline/daily_bars.h"

namespace finlake::pipeline {
namespace {

using json = nlohmann::json;

std::optional<double> ParseNumber(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(value)) return std::nullopt;
  return value;
}

// One row of either format, by field name: open, high, low, close, volume,
// adjusted_close, dividend_amount, split_coefficient.
using Fields = std::map<std::string, std::string>;

struct Series {
  std::string symbol, zone = "US/Eastern";
  std::vector<std::pair<std::string, Fields>> rows;  // (YYYY-MM-DD, fields)
};

// "1. open" -> "open", "5. adjusted close" -> "adjusted_close".
std::string FieldName(const std::string& key) {
  size_t space = key.find(". ");
  std::string name = space == std::string::npos ? key : key.substr(space + 2);
  for (char& c : name) c = c == ' ' ? '_' : c;
  return name;
}

Result<Series> ReadJson(const std::string& payload, const PayloadContext& context) {
  json body = json::parse(payload, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return Status::InvalidArgument("alphavantage payload for " + context.symbol + " is not a JSON object");
  }
  Series series;
  series.symbol = context.symbol;
  if (body.contains("Meta Data") && body["Meta Data"].is_object()) {
    for (const auto& [key, value] : body["Meta Data"].items()) {
      if (!value.is_string()) continue;
      if (FieldName(key) == "Symbol") series.symbol = value.get<std::string>();
      if (FieldName(key) == "Time_Zone") series.zone = value.get<std::string>();
    }
  }
  const json* table = nullptr;
  for (const auto& [key, value] : body.items()) {
    if (key.rfind("Time Series", 0) == 0 && value.is_object()) table = &value;
  }
  if (table == nullptr) {
    return Status::InvalidArgument("alphavantage payload for " + context.symbol + " has no 'Time Series (Daily)' object");
  }
  for (const auto& [day, row] : table->items()) {
    Fields fields;
    if (row.is_object()) {
      for (const auto& [key, value] : row.items()) fields[FieldName(key)] = value.is_string() ? value.get<std::string>() : value.dump();
    }
    series.rows.emplace_back(day, std::move(fields));
  }
  return series;
}

Result<Series> ReadCsv(const std::string& payload, const PayloadContext& context) {
  std::istringstream in(payload);
  std::string line;
  std::vector<std::string> header;
  Series series;
  series.symbol = context.symbol;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cells = Split(line, ',');
    if (header.empty()) {
      header = cells;
      if (header.empty() || header[0] != "timestamp") {
        return Status::InvalidArgument("alphavantage CSV for " + context.symbol + " does not start with a "
                                       "'timestamp,...' header: " + line.substr(0, 80));
      }
      continue;
    }
    Fields fields;
    for (size_t i = 1; i < header.size(); ++i) fields[header[i]] = i < cells.size() ? cells[i] : "";
    series.rows.emplace_back(cells[0], std::move(fields));
  }
  if (header.empty()) return Status::InvalidArgument("alphavantage CSV for " + context.symbol + " is empty");
  return series;
}

}  // namespace

Result<ParsedPayload> ParseAlphaVantageDaily(const std::string& payload, const std::string& function,
                                             const std::string& datatype, const PayloadContext& context) {
  if (function != "TIME_SERIES_DAILY" && function != "TIME_SERIES_DAILY_ADJUSTED") {
    return Status::InvalidArgument("alphavantage " + function + " is not a daily series");
  }
  Result<Series> read = datatype == "csv" ? ReadCsv(payload, context) : ReadJson(payload, context);
  if (!read.ok()) return read.status();
  Series& series = *read;
  const date::time_zone* zone = nullptr;
  std::string zone_name = series.zone == "US/Eastern" ? "America/New_York" : series.zone;
  try {
    zone = date::locate_zone(zone_name);
  } catch (const std::exception&) {
    return Status::InvalidArgument("alphavantage payload for " + series.symbol + ": unknown time zone '" +
                                   series.zone + "'");
  }
  auto nyse = calendar::ExchangeCalendar::Builtin("XNYS");
  bool us = zone_name == "America/New_York" && nyse.ok();

  ParsedPayload parsed;
  for (auto& [day_text, fields] : series.rows) {
    json raw = {{"timestamp", day_text}};
    for (const auto& [k, v] : fields) raw[k] = v;
    auto day = ParseDay(day_text);
    if (!day.ok()) {
      parsed.rejected.push_back({series.symbol, "session_date_valid", raw, "'" + day_text + "' is not YYYY-MM-DD"});
      continue;
    }
    auto open = ParseNumber(fields["open"]), high = ParseNumber(fields["high"]), low = ParseNumber(fields["low"]),
         close = ParseNumber(fields["close"]), volume = ParseNumber(fields["volume"]);
    if (!open || !high || !low || !close) {
      parsed.rejected.push_back({series.symbol, "prices_not_null", raw, "a price is missing or not a number"});
      continue;
    }
    DailyBar bar;
    bar.symbol = series.symbol;
    bar.session_date = *day;
    std::optional<calendar::Session> session = us ? nyse->SessionOn(*day) : std::nullopt;
    if (session) {
      bar.ts_ms = session->close.time_since_epoch().count() * 1000;
    } else {
      date::local_seconds midnight{std::chrono::duration_cast<std::chrono::seconds>(day->time_since_epoch())};
      bar.ts_ms = zone->to_sys(midnight + std::chrono::days{1}, date::choose::earliest).time_since_epoch().count() * 1000;
    }
    bar.open = *open;
    bar.high = *high;
    bar.low = *low;
    bar.close = *close;
    bar.volume = volume ? static_cast<int64_t>(std::llround(*volume)) : 0;
    bar.currency = "USD";
    bar.exchange = us ? "XNYS" : "";
    bar.region = context.region;
    bar.source = context.source;
    bar.fetched_at_ms = context.fetched_at_ms;
    bar.complete = context.fetched_at_ms >= bar.ts_ms;
    parsed.bars.push_back(bar);
    if (auto dividend = ParseNumber(fields["dividend_amount"]); dividend && *dividend > 0) {
      parsed.actions.push_back({series.symbol, *day, "dividend", 1.0, *dividend, "USD", context.source, std::nullopt});
    }
    if (auto split = ParseNumber(fields["split_coefficient"]); split && *split > 0 && *split != 1.0) {
      parsed.actions.push_back({series.symbol, *day, "split", *split, 0.0, "USD", context.source, std::nullopt});
    }
  }
  parsed.symbol = SymbolInfo{series.symbol, "", us ? "XNYS" : "", context.region, "USD", "EQUITY", true};
  return parsed;
}

}  // namespace finlake::pipeline
