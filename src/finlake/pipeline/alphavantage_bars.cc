// Alpha Vantage daily and 1-minute series (research/market-apis.md section 2) ->
// daily and minute bars.
#include <cmath>
#include <cstdio>
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
  std::string information;  // Meta "1. Information" (JSON only).
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
      if (FieldName(key) == "Information") series.information = value.get<std::string>();
    }
  }
  const json* table = nullptr;
  for (const auto& [key, value] : body.items()) {
    if (key.rfind("Time Series", 0) == 0 && value.is_object()) table = &value;
  }
  if (table == nullptr) {
    return Status::InvalidArgument("alphavantage payload for " + context.symbol + " has no 'Time Series (...)' object");
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

// The series' time zone ("US/Eastern" is America/New_York).
Result<const date::time_zone*> ZoneOf(const Series& series) {
  std::string name = series.zone == "US/Eastern" ? "America/New_York" : series.zone;
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return Status::InvalidArgument("alphavantage payload for " + series.symbol + ": unknown time zone '" +
                                   series.zone + "'");
  }
}

Result<Series> ReadSeries(const std::string& payload, const std::string& datatype, const PayloadContext& context) {
  return datatype == "csv" ? ReadCsv(payload, context) : ReadJson(payload, context);
}

// A row as the vendor sent it, for the quarantine.
json RawRow(const std::string& timestamp, const Fields& fields) {
  json raw = {{"timestamp", timestamp}};
  for (const auto& [k, v] : fields) raw[k] = v;
  return raw;
}

// "YYYY-MM-DD HH:MM:SS" as a local time.
std::optional<date::local_seconds> ParseLocalTime(const std::string& text) {
  if (text.size() != 19 || text[10] != ' ') return std::nullopt;
  auto day = ParseDay(text.substr(0, 10));
  int hours = 0, minutes = 0, seconds = 0;
  char tail = 0;
  if (!day.ok() || std::sscanf(text.c_str() + 11, "%2d:%2d:%2d%c", &hours, &minutes, &seconds, &tail) != 3 ||
      hours > 23 || minutes > 59 || seconds > 59) {
    return std::nullopt;
  }
  return date::local_seconds{std::chrono::duration_cast<std::chrono::seconds>(day->time_since_epoch())} +
         std::chrono::hours{hours} + std::chrono::minutes{minutes} + std::chrono::seconds{seconds};
}

// Whether the series labels each minute by its end (09:31 .. 16:00, the 2017-era
// API) rather than its start (09:30 .. 15:59, or 04:00 .. 19:59 with extended
// hours). The research notes both in real captures and warn against assuming
// either: the old API says so in its Information text ("Intraday (1min) prices
// and volumes", without "open, high, low, close"); otherwise a 16:00 or 20:00
// label with no 09:30 or 04:00 label is an end label.
bool LabelsMinuteEnds(const Series& series) {
  if (!series.information.empty() && series.information.find("open, high, low, close") == std::string::npos) {
    return true;
  }
  bool end_only = false, start_only = false;
  for (const auto& [timestamp, fields] : series.rows) {
    std::string time = timestamp.size() == 19 ? timestamp.substr(11) : "";
    end_only = end_only || time == "16:00:00" || time == "20:00:00";
    start_only = start_only || time == "09:30:00" || time == "04:00:00";
  }
  return end_only && !start_only;
}

// A bar of either series with the vendor's values (prices as traded, USD); the
// caller sets its session, time stamp and completeness.
DailyBar VendorBar(const std::string& symbol, double open, double high, double low, double close,
                   std::optional<double> volume, bool us, const PayloadContext& context) {
  DailyBar bar;
  bar.symbol = symbol;
  bar.open = open;
  bar.high = high;
  bar.low = low;
  bar.close = close;
  bar.volume = volume ? static_cast<int64_t>(std::llround(*volume)) : 0;
  bar.currency = "USD";
  bar.exchange = us ? "XNYS" : "";
  bar.region = context.region;
  bar.source = context.source;
  bar.fetched_at_ms = context.fetched_at_ms;
  return bar;
}

}  // namespace

Result<ParsedPayload> ParseAlphaVantageMinutes(const std::string& payload, const std::string& datatype,
                                               const PayloadContext& context) {
  ASSIGN_OR_RETURN(Series series, ReadSeries(payload, datatype, context));
  ASSIGN_OR_RETURN(const date::time_zone* zone, ZoneOf(series));
  const bool us = zone->name() == "America/New_York";
  const std::chrono::seconds label_shift{LabelsMinuteEnds(series) ? 60 : 0};
  ParsedPayload parsed;
  for (auto& [timestamp, fields] : series.rows) {
    std::optional<date::local_seconds> label = ParseLocalTime(timestamp);
    if (!label) {
      parsed.rejected.push_back(
          {series.symbol, "timestamp_valid", RawRow(timestamp, fields), "'" + timestamp + "' is not YYYY-MM-DD HH:MM:SS"});
      continue;
    }
    auto open = ParseNumber(fields["open"]), high = ParseNumber(fields["high"]), low = ParseNumber(fields["low"]),
         close = ParseNumber(fields["close"]), volume = ParseNumber(fields["volume"]);
    if (!open || !high || !low || !close) {
      parsed.rejected.push_back(
          {series.symbol, "prices_not_null", RawRow(timestamp, fields), "a price is missing or not a number"});
      continue;
    }
    const date::local_seconds start = *label - label_shift;
    DailyBar bar = VendorBar(series.symbol, *open, *high, *low, *close, volume, us, context);
    bar.session_date = Day{date::floor<date::days>(start).time_since_epoch()};
    bar.ts_ms = zone->to_sys(start, date::choose::earliest).time_since_epoch().count() * 1000;
    bar.complete = context.fetched_at_ms >= bar.ts_ms + 60000;  // Its minute is over.
    parsed.minute_bars.push_back(std::move(bar));
  }
  parsed.symbol = SymbolInfo{series.symbol, "", us ? "XNYS" : "", context.region, "USD", "EQUITY", true};
  return parsed;
}

Result<ParsedPayload> ParseAlphaVantageDaily(const std::string& payload, const std::string& function,
                                             const std::string& datatype, const PayloadContext& context) {
  if (function != "TIME_SERIES_DAILY" && function != "TIME_SERIES_DAILY_ADJUSTED") {
    return Status::InvalidArgument("alphavantage " + function + " is not a daily series");
  }
  ASSIGN_OR_RETURN(Series series, ReadSeries(payload, datatype, context));
  ASSIGN_OR_RETURN(const date::time_zone* zone, ZoneOf(series));
  auto nyse = calendar::ExchangeCalendar::Builtin("XNYS");
  bool us = zone->name() == "America/New_York" && nyse.ok();

  ParsedPayload parsed;
  for (auto& [day_text, fields] : series.rows) {
    json raw = RawRow(day_text, fields);
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
    DailyBar bar = VendorBar(series.symbol, *open, *high, *low, *close, volume, us, context);
    bar.session_date = *day;
    std::optional<calendar::Session> session = us ? nyse->SessionOn(*day) : std::nullopt;
    if (session) {
      bar.ts_ms = session->close.time_since_epoch().count() * 1000;
    } else {
      date::local_seconds midnight{std::chrono::duration_cast<std::chrono::seconds>(day->time_since_epoch())};
      bar.ts_ms = zone->to_sys(midnight + std::chrono::days{1}, date::choose::earliest).time_since_epoch().count() * 1000;
    }
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
