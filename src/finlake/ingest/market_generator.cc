#include "finlake/ingest/market_generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include <nlohmann/json.hpp>

namespace finlake::ingest {

using calendar::Day;
using nlohmann::json;

namespace {

// splitmix64: a counter-based generator, so draw k of day d of a symbol needs no state.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class Draws {
 public:
  Draws(uint64_t seed, const std::string& symbol) : state_(Mix(seed ^ std::hash<std::string>{}(symbol))) {}
  double Uniform() { return static_cast<double>(Mix(state_++) >> 11) * (1.0 / 9007199254740992.0); }
  double Normal() {
    double u1 = std::max(Uniform(), 1e-300), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

// Volatility regimes (daily sigma) and their persistence: calm, normal, stressed.
constexpr double kSigma[] = {0.009, 0.016, 0.035};
constexpr double kStay[] = {0.985, 0.975, 0.94};
constexpr double kJumpProbability = 0.012;
constexpr double kJumpSigma = 0.07;

struct Walk {
  std::vector<GeneratedBar> bars;
  std::vector<GeneratedAction> actions;
};

// The whole as-traded history of a symbol from the origin to `to`.
Walk RunWalk(const calendar::ExchangeCalendar& cal, uint64_t seed, const std::string& symbol, Day to) {
  Walk walk;
  Draws draw(seed, symbol);
  double price = 20.0 + 180.0 * draw.Uniform();
  double drift = 0.0002 + 0.0004 * draw.Normal();
  double base_volume = 2e5 * std::exp(2.5 * draw.Uniform());
  bool pays_dividends = draw.Uniform() < 0.6;
  double yield = 0.005 + 0.03 * draw.Uniform();
  int regime = 1;
  int sessions_since_split = 1000, sessions_since_dividend = static_cast<int>(63 * draw.Uniform());
  Day first = Day(std::chrono::year_month_day{std::chrono::year{MarketGenerator::kOriginYear},
                                              std::chrono::January, std::chrono::day{1}});
  for (Day day = first; day <= to; day += std::chrono::days{1}) {
    auto session = cal.SessionOn(day);
    if (!session) continue;
    if (draw.Uniform() > kStay[regime]) regime = draw.Uniform() < 0.5 ? (regime + 1) % 3 : (regime + 2) % 3;
    double sigma = kSigma[regime];
    // Corporate actions take effect at the open of their ex-date.
    ++sessions_since_split;
    ++sessions_since_dividend;
    if (price > 400 && sessions_since_split > 250 && draw.Uniform() < 0.02) {
      double ratio = price > 1200 ? 4 : (price > 700 ? 3 : 2);
      walk.actions.push_back(GeneratedAction{day, true, ratio, 0});
      price /= ratio;
      base_volume *= ratio;
      sessions_since_split = 0;
    }
    if (pays_dividends && sessions_since_dividend >= 63) {
      double amount = std::round(price * yield / 4 * 100) / 100;
      if (amount > 0) {
        walk.actions.push_back(GeneratedAction{day, false, 1, amount});
        price -= amount;
      }
      sessions_since_dividend = 0;
    }
    double jump = draw.Uniform() < kJumpProbability ? kJumpSigma * draw.Normal() : 0;
    double open = price * std::exp(0.3 * sigma * draw.Normal());
    double close = price * std::exp(drift + sigma * draw.Normal() + jump);
    double high = std::max(open, close) * std::exp(std::abs(draw.Normal()) * sigma * 0.5);
    double low = std::min(open, close) * std::exp(-std::abs(draw.Normal()) * sigma * 0.5);
    double session_share = session->early_close ? 0.55 : 1.0;
    int64_t volume = static_cast<int64_t>(base_volume * session_share * std::exp(0.35 * draw.Normal()) *
                                          (1 + 2 * std::abs(close / price - 1) / sigma));
    auto cents = [](double v) { return std::round(v * 10000) / 10000; };
    walk.bars.push_back(GeneratedBar{day, session->open.time_since_epoch().count(), cents(open), cents(high),
                                     cents(low), cents(close), volume});
    price = close;
  }
  return walk;
}

}  // namespace

std::string MarketGenerator::SymbolName(int index) {
  char name[16];
  std::snprintf(name, sizeof(name), "SYN%04d", index);
  return name;
}

GeneratedSeries MarketGenerator::Daily(const std::string& symbol, Day from, Day to) const {
  Walk walk = RunWalk(calendar_, seed_, symbol, to);
  GeneratedSeries series;
  for (const GeneratedBar& bar : walk.bars) {
    if (bar.date >= from) series.bars.push_back(bar);
  }
  for (const GeneratedAction& action : walk.actions) {
    if (action.ex_date >= from) series.actions.push_back(action);
  }
  return series;
}

std::vector<GeneratedBar> MarketGenerator::Minutes(const std::string& symbol, Day session_day) const {
  std::vector<GeneratedBar> minutes;
  auto session = calendar_.SessionOn(session_day);
  if (!session) return minutes;
  GeneratedSeries day = Daily(symbol, session_day, session_day);
  if (day.bars.empty()) return minutes;
  const GeneratedBar& bar = day.bars.back();
  int64_t count = (session->close - session->open).count() / 60;
  // A Brownian bridge from the open to the close, kept inside the day's range.
  Draws draw(seed_ ^ 0x5eed, symbol + calendar::FormatDay(session_day));
  std::vector<double> path(static_cast<size_t>(count) + 1);
  path[0] = 0;
  for (int64_t i = 1; i <= count; ++i) path[static_cast<size_t>(i)] = path[static_cast<size_t>(i - 1)] + draw.Normal();
  double span = std::log(bar.close / bar.open);
  double top = std::log(bar.high / bar.open), bottom = std::log(bar.low / bar.open);
  double scale = std::max(1e-9, (top - bottom) / (6.0 * std::sqrt(static_cast<double>(count))));
  auto at = [&](int64_t i) {
    double t = static_cast<double>(i) / static_cast<double>(count);
    double x = (path[static_cast<size_t>(i)] - t * path.back()) * scale + t * span;
    return bar.open * std::exp(std::clamp(x, bottom, top));
  };
  for (int64_t i = 0; i < count; ++i) {
    double open = at(i), close = at(i + 1);
    double wiggle = std::abs(draw.Normal()) * scale * 0.3;
    GeneratedBar minute;
    minute.date = session_day;
    minute.ts = session->open.time_since_epoch().count() + 60 * i;
    minute.open = std::round(open * 10000) / 10000;
    minute.close = std::round(close * 10000) / 10000;
    minute.high = std::round(std::min(bar.high, std::max(open, close) * std::exp(wiggle)) * 10000) / 10000;
    minute.low = std::round(std::max(bar.low, std::min(open, close) * std::exp(-wiggle)) * 10000) / 10000;
    // U-shaped intraday volume: heavy at the open and the close.
    double u = static_cast<double>(i) / static_cast<double>(count);
    minute.volume = static_cast<int64_t>(static_cast<double>(bar.volume) / static_cast<double>(count) *
                                         (0.6 + 2.4 * (u - 0.5) * (u - 0.5) * 4) * std::exp(0.3 * draw.Normal()));
    minutes.push_back(minute);
  }
  return minutes;
}

std::string MarketGenerator::YahooChart(const std::string& symbol, const std::string& interval, int64_t period1,
                                        int64_t period2, int64_t now_s, int* http_status) const {
  *http_status = 200;
  if (interval != "1d" && interval != "1m") {
    *http_status = 400;
    return json{{"chart", {{"result", nullptr},
                           {"error", {{"code", "Bad Request"},
                                      {"description", "Invalid input - interval=" + interval +
                                                          " is not supported by the generator (1d, 1m)"}}}}}}
        .dump();
  }
  Day now_day = calendar_.LocalDay(calendar::Instant(std::chrono::seconds(now_s)));
  Day from = calendar_.LocalDay(calendar::Instant(std::chrono::seconds(period1)));
  Day to = std::min(now_day, calendar_.LocalDay(calendar::Instant(std::chrono::seconds(std::max(period1, period2 - 1)))));
  GeneratedSeries series = Daily(symbol, from, now_day);
  // Yahoo's view: prices divided by every split up to now that came after the bar,
  // adjclose also scaled by each later dividend (1 - amount / previous close).
  std::vector<double> split_factor(series.bars.size(), 1.0), dividend_factor(series.bars.size(), 1.0);
  for (const GeneratedAction& action : series.actions) {
    size_t before_ex = 0;  // Bars [0, before_ex) precede the ex-date.
    while (before_ex < series.bars.size() && series.bars[before_ex].date < action.ex_date) ++before_ex;
    if (before_ex == 0) continue;
    double factor = action.split ? action.ratio : 1 - action.amount / series.bars[before_ex - 1].close;
    for (size_t i = 0; i < before_ex; ++i) (action.split ? split_factor[i] : dividend_factor[i]) *= factor;
  }
  json timestamps = json::array(), opens = json::array(), highs = json::array(), lows = json::array(),
       closes = json::array(), volumes = json::array(), adjcloses = json::array();
  json dividends = json::object(), splits = json::object();
  auto emit = [&](const GeneratedBar& bar, double factor, double adjust) {
    timestamps.push_back(bar.ts);
    opens.push_back(bar.open / factor);
    highs.push_back(bar.high / factor);
    lows.push_back(bar.low / factor);
    closes.push_back(bar.close / factor);
    volumes.push_back(static_cast<int64_t>(static_cast<double>(bar.volume) * factor));
    adjcloses.push_back(bar.close / factor * adjust);
  };
  for (size_t i = 0; i < series.bars.size(); ++i) {
    const GeneratedBar& bar = series.bars[i];
    if (bar.date > to) break;
    if (interval == "1d") {
      emit(bar, split_factor[i], dividend_factor[i]);
    } else {
      for (const GeneratedBar& minute : Minutes(symbol, bar.date)) {
        if (minute.ts >= period1 && minute.ts < period2) emit(minute, split_factor[i], 1.0);
      }
    }
  }
  for (const GeneratedAction& action : series.actions) {
    if (action.ex_date > to) continue;
    auto session = calendar_.SessionOn(action.ex_date);
    if (!session) continue;
    std::string key = std::to_string(session->open.time_since_epoch().count());
    int64_t date = session->open.time_since_epoch().count();
    if (action.split) {
      char ratio[32];
      std::snprintf(ratio, sizeof(ratio), "%g:1", action.ratio);
      splits[key] = {{"date", date}, {"numerator", action.ratio}, {"denominator", 1}, {"splitRatio", ratio}};
    } else {
      // Yahoo's dividend amounts are on the split scale of the request, like its prices.
      double scale = 1.0;
      for (const GeneratedAction& split : series.actions) {
        if (split.split && split.ex_date > action.ex_date) scale *= split.ratio;
      }
      dividends[key] = {{"amount", action.amount / scale}, {"date", date}};
    }
  }
  int64_t last_close_s = period2;
  for (size_t i = series.bars.size(); i-- > 0;) {
    if (series.bars[i].date > to) continue;
    if (auto session = calendar_.SessionOn(series.bars[i].date)) last_close_s = session->close.time_since_epoch().count();
    break;
  }
  const auto& spec = calendar_.spec();
  json meta = {{"currency", "USD"},
               {"symbol", symbol},
               {"exchangeName", "NYQ"},
               {"fullExchangeName", spec.name},
               {"instrumentType", "EQUITY"},
               {"exchangeTimezoneName", spec.time_zone},
               // The last trade time: the close of the window's last session, so an
               // answer about the past is the same whichever day it is asked.
               {"regularMarketTime", last_close_s},
               {"dataGranularity", interval},
               {"range", ""}};
  json result = {{"meta", meta}};
  json indicators = {{"quote", json::array({json::object()})}};
  if (!timestamps.empty()) {
    result["timestamp"] = timestamps;
    indicators["quote"][0] = {{"open", opens}, {"high", highs}, {"low", lows}, {"close", closes}, {"volume", volumes}};
    if (interval == "1d") indicators["adjclose"] = json::array({{{"adjclose", adjcloses}}});
  }
  result["indicators"] = indicators;
  json events = json::object();
  if (!dividends.empty()) events["dividends"] = dividends;
  if (!splits.empty()) events["splits"] = splits;
  if (!events.empty()) result["events"] = events;
  return json{{"chart", {{"result", json::array({result})}, {"error", nullptr}}}}.dump();
}

std::string MarketGenerator::AlphaVantageDaily(const std::string& symbol, bool full, int64_t now_s) const {
  Day now_day = calendar_.LocalDay(calendar::Instant(std::chrono::seconds(now_s)));
  Day from = full ? Day(std::chrono::year_month_day{std::chrono::year{kOriginYear}, std::chrono::January,
                                                   std::chrono::day{1}})
                  : now_day - std::chrono::days(160);
  GeneratedSeries series = Daily(symbol, from, now_day);
  json rows = json::object();
  size_t start = full || series.bars.size() <= 100 ? 0 : series.bars.size() - 100;
  char text[32];
  for (size_t i = start; i < series.bars.size(); ++i) {
    const GeneratedBar& bar = series.bars[i];
    json row;
    std::snprintf(text, sizeof(text), "%.4f", bar.open);
    row["1. open"] = text;
    std::snprintf(text, sizeof(text), "%.4f", bar.high);
    row["2. high"] = text;
    std::snprintf(text, sizeof(text), "%.4f", bar.low);
    row["3. low"] = text;
    std::snprintf(text, sizeof(text), "%.4f", bar.close);
    row["4. close"] = text;
    row["5. volume"] = std::to_string(bar.volume);
    rows[calendar::FormatDay(bar.date)] = row;
  }
  json meta = {{"1. Information", "Daily Prices (open, high, low, close) and Volumes"},
               {"2. Symbol", symbol},
               {"3. Last Refreshed", series.bars.empty() ? "" : calendar::FormatDay(series.bars.back().date)},
               {"4. Output Size", full ? "Full size" : "Compact"},
               {"5. Time Zone", "US/Eastern"}};
  return json{{"Meta Data", meta}, {"Time Series (Daily)", rows}}.dump();
}

}  // namespace finlake::ingest
