// Yahoo v8 chart payloads (research/market-apis.md section 1) -> daily bars.
#include <cmath>
#include <map>
#include <unordered_map>

#include <date/tz.h>

#include "finlake/calendar/exchange_calendar.h"
#include "finlake/pipeline/daily_bars.h"

namespace finlake::pipeline {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;

// Yahoo exchange codes of US listings: their sessions are NYSE's.
bool IsUsExchange(const std::string& code) {
  static const char* kCodes[] = {"NMS", "NGM", "NCM", "NAS", "NYQ", "NYS", "PCX", "ASE", "BTS", "PNK", "NIM", "OQB"};
  for (const char* c : kCodes) {
    if (code == c) return true;
  }
  return false;
}

// The market identifier (ISO 10383) of Yahoo's code where it is well known.
std::string ExchangeMic(const std::string& code) {
  static const std::map<std::string, std::string> kMic = {
      {"NMS", "XNAS"}, {"NGM", "XNAS"}, {"NCM", "XNAS"}, {"NAS", "XNAS"}, {"NYQ", "XNYS"}, {"NYS", "XNYS"},
      {"PCX", "ARCX"}, {"ASE", "XASE"}, {"BTS", "BATS"}, {"GER", "XETR"}, {"LSE", "XLON"}, {"PAR", "XPAR"},
      {"AMS", "XAMS"}, {"TOR", "XTSE"}, {"JPX", "XJPX"}, {"HKG", "XHKG"}, {"JNB", "XJSE"}, {"TLV", "XTAE"}};
  auto it = kMic.find(code);
  return it == kMic.end() ? code : it->second;
}

std::optional<double> Number(const json& array, size_t i) {
  if (!array.is_array() || i >= array.size() || !array[i].is_number()) return std::nullopt;
  double v = array[i].get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

const calendar::ExchangeCalendar* Nyse() {
  static const auto* calendar = [] {
    auto built = calendar::ExchangeCalendar::Builtin("XNYS");
    return built.ok() ? new calendar::ExchangeCalendar(std::move(*built)) : nullptr;
  }();
  return calendar;
}

// How the session close of a date is found for one chart.
struct CloseRule {
  const date::time_zone* zone = nullptr;
  bool us = false;                  // NYSE calendar.
  bool all_day = false;             // 24-hour market: the close is the next midnight.
  std::optional<seconds> local_close;  // Time of day of the regular close.

  int64_t CloseMs(Day day) const {
    if (us && Nyse() != nullptr) {
      // NYSE's holiday rules are evaluated per call; a day's close never changes.
      thread_local std::unordered_map<int64_t, std::optional<int64_t>> closes;
      auto [it, fresh] = closes.try_emplace(day.time_since_epoch().count());
      if (fresh) {
        if (auto session = Nyse()->SessionOn(day)) it->second = session->close.time_since_epoch().count() * 1000;
      }
      if (it->second) return *it->second;
    }
    date::local_seconds local{std::chrono::duration_cast<seconds>(day.time_since_epoch())};
    if (all_day || !local_close) {
      local += std::chrono::days{1};
    } else {
      local += *local_close;
    }
    return zone->to_sys(local, date::choose::earliest).time_since_epoch().count() * 1000;
  }
};

}  // namespace

std::pair<std::string, double> MajorCurrency(const std::string& currency) {
  if (currency == "GBp" || currency == "GBX") return {"GBP", 100.0};
  if (currency == "ZAc") return {"ZAR", 100.0};
  if (currency == "ILA") return {"ILS", 100.0};
  return {currency, 1.0};
}

namespace {

Result<ParsedPayload> ParseYahooChart(const std::string& payload, const PayloadContext& context, bool minutes) {
  json body = json::parse(payload, nullptr, false);
  if (body.is_discarded()) return Status::InvalidArgument("yahoo payload for " + context.symbol + " is not JSON");
  if (!body.is_object() || !body.contains("chart") || !body["chart"].is_object()) {
    return Status::InvalidArgument("yahoo payload for " + context.symbol + " has no 'chart' object");
  }
  const json& chart = body["chart"];
  if (chart.contains("error") && !chart["error"].is_null()) {
    return Status::InvalidArgument("yahoo payload for " + context.symbol + " is an error: " + chart["error"].dump());
  }
  if (!chart.contains("result") || !chart["result"].is_array() || chart["result"].empty() ||
      !chart["result"][0].is_object()) {
    return Status::InvalidArgument("yahoo payload for " + context.symbol + " has no chart.result[0]");
  }
  const json& result = chart["result"][0];
  const json meta = result.value("meta", json::object());
  std::string granularity = meta.value("dataGranularity", minutes ? "1m" : "1d");
  if (granularity != (minutes ? "1m" : "1d")) {
    return Status::InvalidArgument("yahoo payload for " + context.symbol + " has dataGranularity '" + granularity +
                                   "', not " + (minutes ? "1-minute" : "daily") + " bars");
  }
  std::string symbol = meta.value("symbol", context.symbol);
  std::string zone_name = meta.value("exchangeTimezoneName", "America/New_York");
  CloseRule rule;
  try {
    rule.zone = date::locate_zone(zone_name);
  } catch (const std::exception&) {
    return Status::InvalidArgument("yahoo payload for " + symbol + ": unknown exchangeTimezoneName '" + zone_name + "'");
  }
  std::string exchange_code = meta.value("exchangeName", "");
  std::string instrument = meta.value("instrumentType", "");
  rule.us = IsUsExchange(exchange_code) && zone_name == "America/New_York";
  if (meta.contains("currentTradingPeriod") && meta["currentTradingPeriod"].contains("regular")) {
    const json& regular = meta["currentTradingPeriod"]["regular"];
    if (regular.value("start", json()).is_number_integer() && regular.value("end", json()).is_number_integer()) {
      int64_t start = regular["start"].get<int64_t>(), end = regular["end"].get<int64_t>();
      if (end - start >= 23 * 3600) {
        rule.all_day = true;
      } else if (end > start) {
        auto local = rule.zone->to_local(date::sys_seconds{seconds{end}});
        rule.local_close = local - date::floor<date::days>(local);
      }
    }
  }
  if (instrument == "CRYPTOCURRENCY") rule.all_day = true;
  auto [currency, divisor] = MajorCurrency(meta.value("currency", ""));
  std::string exchange = ExchangeMic(exchange_code);
  Day fetch_day{date::floor<date::days>(rule.zone->to_local(date::sys_seconds{seconds{context.fetched_at_ms / 1000}}))
                    .time_since_epoch()};

  ParsedPayload parsed;
  SymbolInfo info;
  info.symbol = symbol;
  info.name = meta.value("longName", meta.value("shortName", ""));
  info.exchange = exchange;
  info.region = context.region;
  info.currency = currency;
  info.asset_class = instrument;
  parsed.symbol = info;

  const json timestamps = result.value("timestamp", json::array());
  const json indicators = result.value("indicators", json::object());
  const json quote = indicators.contains("quote") && indicators["quote"].is_array() && !indicators["quote"].empty()
                         ? indicators["quote"][0]
                         : json::object();
  const json adjclose = indicators.contains("adjclose") && indicators["adjclose"].is_array() &&
                                !indicators["adjclose"].empty() && indicators["adjclose"][0].is_object()
                            ? indicators["adjclose"][0].value("adjclose", json())
                            : json();
  if (!timestamps.is_array()) return Status::InvalidArgument("yahoo payload for " + symbol + ": 'timestamp' is not an array");
  for (const char* field : {"open", "high", "low", "close", "volume"}) {
    if (quote.contains(field) && quote[field].is_array() && quote[field].size() != timestamps.size()) {
      return Status::InvalidArgument("yahoo payload for " + symbol + ": indicators.quote[0]." + field + " has " +
                                     std::to_string(quote[field].size()) + " values for " +
                                     std::to_string(timestamps.size()) + " timestamps");
    }
  }
  auto column = [&](const char* name) { return quote.value(name, json()); };
  const json opens = column("open"), highs = column("high"), lows = column("low"), closes = column("close"),
             volumes = column("volume");
  for (size_t i = 0; i < timestamps.size(); ++i) {
    // The row as the vendor sent it, for the quarantine.
    auto raw = [&] {
      return json{{"timestamp", timestamps[i]},
                  {"open", opens.is_array() ? opens[i] : json()},
                  {"high", highs.is_array() ? highs[i] : json()},
                  {"low", lows.is_array() ? lows[i] : json()},
                  {"close", closes.is_array() ? closes[i] : json()},
                  {"volume", volumes.is_array() ? volumes[i] : json()}};
    };
    if (!timestamps[i].is_number_integer()) {
      parsed.rejected.push_back({symbol, "timestamp_valid", raw(), "timestamp is not an integer"});
      continue;
    }
    auto open = Number(opens, i), high = Number(highs, i), low = Number(lows, i), close = Number(closes, i);
    if (!open && !high && !low && !close) {
      // A day without trades (a halt): Yahoo sends nulls for every field.
      parsed.rejected.push_back({symbol, "prices_not_null", raw(), "open, high, low and close are all null"});
      continue;
    }
    if (!open || !high || !low || !close) {
      parsed.rejected.push_back({symbol, "prices_not_null", raw(), "a price is null"});
      continue;
    }
    int64_t stamp = timestamps[i].get<int64_t>();
    DailyBar bar;
    bar.symbol = symbol;
    auto local = rule.zone->to_local(date::sys_seconds{seconds{stamp}});
    bar.session_date = Day{date::floor<date::days>(local).time_since_epoch()};
    bar.ts_ms = minutes ? stamp * 1000 : rule.CloseMs(bar.session_date);
    bar.open = *open / divisor;
    bar.high = *high / divisor;
    bar.low = *low / divisor;
    bar.close = *close / divisor;
    if (auto adj = Number(adjclose, i)) bar.vendor_adj_close = *adj / divisor;
    auto volume = Number(volumes, i);
    bar.volume = volume ? static_cast<int64_t>(std::llround(*volume)) : 0;
    bar.currency = currency;
    bar.exchange = exchange;
    bar.region = context.region;
    bar.source = context.source;
    bar.fetched_at_ms = context.fetched_at_ms;
    // A minute bar is complete once its minute is over.
    bar.complete = context.fetched_at_ms >= bar.ts_ms + (minutes ? 60000 : 0);
    bar.split_adjusted_as_of = fetch_day;
    (minutes ? parsed.minute_bars : parsed.bars).push_back(std::move(bar));
  }

  const json events = result.value("events", json::object());
  auto event_day = [&](const json& event, const std::string& key) -> std::optional<Day> {
    int64_t stamp = 0;
    if (event.contains("date") && event["date"].is_number_integer()) {
      stamp = event["date"].get<int64_t>();
    } else {
      try {
        stamp = std::stoll(key);
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
    auto local = rule.zone->to_local(date::sys_seconds{seconds{stamp}});
    return Day{date::floor<date::days>(local).time_since_epoch()};
  };
  if (events.contains("splits") && events["splits"].is_object()) {
    for (const auto& [key, split] : events["splits"].items()) {
      auto day = event_day(split, key);
      double numerator = split.value("numerator", 0.0), denominator = split.value("denominator", 0.0);
      if (!day || !(numerator > 0) || !(denominator > 0)) {
        parsed.rejected.push_back({symbol, "split_valid", split, "a split needs a date and positive numerator and "
                                                                  "denominator"});
        continue;
      }
      parsed.actions.push_back({symbol, *day, "split", numerator / denominator, 0.0, currency, context.source,
                                fetch_day});
    }
  }
  if (events.contains("dividends") && events["dividends"].is_object()) {
    for (const auto& [key, dividend] : events["dividends"].items()) {
      auto day = event_day(dividend, key);
      double amount = dividend.value("amount", -1.0);
      if (!day || !(amount > 0)) {
        parsed.rejected.push_back({symbol, "dividend_valid", dividend, "a dividend needs a date and a positive amount"});
        continue;
      }
      auto [dividend_currency, dividend_divisor] = MajorCurrency(dividend.value("currency", meta.value("currency", "")));
      parsed.actions.push_back({symbol, *day, "dividend", 1.0, amount / dividend_divisor, dividend_currency,
                                context.source, fetch_day});
    }
  }
  return parsed;
}

}  // namespace

Result<ParsedPayload> ParseYahooDaily(const std::string& payload, const PayloadContext& context) {
  return ParseYahooChart(payload, context, /*minutes=*/false);
}

Result<ParsedPayload> ParseYahooMinutes(const std::string& payload, const PayloadContext& context) {
  return ParseYahooChart(payload, context, /*minutes=*/true);
}

}  // namespace finlake::pipeline
