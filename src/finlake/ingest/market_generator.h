// The market generator: seeded synthetic daily and 1-minute bars for any symbol on
// an exchange calendar (no bars on holidays, short sessions on early closes),
// random-walk prices with volatility regimes and jumps, splits and dividends.
//
// Every symbol's history is a pure function of (seed, symbol): the walk starts at
// kOrigin and runs forward, so any window of any symbol is reproducible without
// state. Bars are kept as traded; Yahoo's view (OHLC split-adjusted as of the
// request, adjclose also dividend-adjusted, research/market-apis.md 1.3) and Alpha
// Vantage's (as traded) are rendered on demand in their real formats, so demos,
// tests and benchmarks run the real connector code against them.
//
// Thread-safe (const after construction).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "finlake/calendar/exchange_calendar.h"

namespace finlake::ingest {

struct GeneratedBar {
  calendar::Day date;
  int64_t ts = 0;  // Unix seconds: session open (daily) or bar start (intraday).
  double open = 0, high = 0, low = 0, close = 0;
  int64_t volume = 0;
};

struct GeneratedAction {
  calendar::Day ex_date;
  bool split = false;
  double ratio = 1;      // Splits: new shares per old share.
  double amount = 0;     // Dividends: cash per share, as traded.
};

struct GeneratedSeries {
  std::vector<GeneratedBar> bars;        // As traded, oldest first.
  std::vector<GeneratedAction> actions;  // Ex-dates in the window.
};

class MarketGenerator {
 public:
  MarketGenerator(calendar::ExchangeCalendar calendar, uint64_t seed)
      : calendar_(std::move(calendar)), seed_(seed) {}

  // "SYN0001", "SYN0002", ...: the generator's universe.
  static std::string SymbolName(int index);

  const calendar::ExchangeCalendar& calendar() const { return calendar_; }

  // Daily bars and actions with from <= date <= to.
  GeneratedSeries Daily(const std::string& symbol, calendar::Day from, calendar::Day to) const;
  // 1-minute bars of one session (empty when it is not a session).
  std::vector<GeneratedBar> Minutes(const std::string& symbol, calendar::Day session) const;

  // The Yahoo chart API answer for [period1, period2) (Unix seconds), as seen at
  // `now_s`; interval "1d" or "1m". An unknown interval gives Yahoo's 400 body.
  std::string YahooChart(const std::string& symbol, const std::string& interval, int64_t period1, int64_t period2,
                         int64_t now_s, int* http_status) const;
  // Alpha Vantage TIME_SERIES_DAILY (compact: the latest 100 sessions up to now).
  std::string AlphaVantageDaily(const std::string& symbol, bool full, int64_t now_s) const;

  static constexpr int kOriginYear = 2000;  // Walks start on the first session of this year.

 private:
  calendar::ExchangeCalendar calendar_;
  uint64_t seed_;
};

}  // namespace finlake::ingest
