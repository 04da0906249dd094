// The named rules a daily bar must pass before it reaches silver.
#include <cmath>
#include <cstdio>

#include <date/date.h>

#include "finlake/pipeline/daily_bars.h"

namespace finlake::pipeline {

std::string DayText(Day day) { return date::format("%F", day); }

Result<Day> ParseDay(const std::string& text) {
  int y = 0;
  unsigned m = 0, d = 0;
  char tail = 0;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3) {
    return Status::InvalidArgument("'" + text + "' is not a date (YYYY-MM-DD)");
  }
  date::year_month_day ymd{date::year{y}, date::month{m}, date::day{d}};
  if (!ymd.ok()) return Status::InvalidArgument("'" + text + "' is not a calendar date");
  return Day{date::sys_days{ymd}.time_since_epoch()};
}

nlohmann::json BarJson(const DailyBar& bar) {
  nlohmann::json row = {{"symbol", bar.symbol},   {"session_date", DayText(bar.session_date)},
                        {"open", bar.open},       {"high", bar.high},
                        {"low", bar.low},         {"close", bar.close},
                        {"volume", bar.volume},   {"currency", bar.currency},
                        {"exchange", bar.exchange}, {"source", bar.source},
                        {"fetched_at_ms", bar.fetched_at_ms}};
  if (bar.vendor_adj_close) row["vendor_adj_close"] = *bar.vendor_adj_close;
  return row;
}

std::optional<Rejected> ValidateBar(const DailyBar& bar, const ValidationOptions& options) {
  auto reject = [&](const char* rule, const std::string& detail) {
    return Rejected{bar.symbol, rule, BarJson(bar), detail};
  };
  auto text = [](double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.10g", v);
    return std::string(buffer);
  };
  if (bar.symbol.empty()) return reject("keys_not_null", "the symbol is empty");
  for (double price : {bar.open, bar.high, bar.low, bar.close}) {
    if (!(price > 0) || !std::isfinite(price)) {
      return reject("prices_positive", "open " + text(bar.open) + ", high " + text(bar.high) + ", low " +
                                           text(bar.low) + ", close " + text(bar.close) + ": every price must be > 0");
    }
  }
  // Vendors round: a relative slack of 1e-9 keeps equal float artefacts equal.
  const double slack = 1e-9;
  if (bar.high < std::max(bar.open, bar.close) * (1 - slack)) {
    return reject("high_ge_open_close", "high " + text(bar.high) + " is below max(open " + text(bar.open) +
                                            ", close " + text(bar.close) + ")");
  }
  if (bar.low > std::min(bar.open, bar.close) * (1 + slack)) {
    return reject("low_le_open_close", "low " + text(bar.low) + " is above min(open " + text(bar.open) +
                                           ", close " + text(bar.close) + ")");
  }
  if (bar.volume < 0) return reject("volume_non_negative", "volume " + std::to_string(bar.volume) + " is negative");
  if (bar.session_date > options.today) {
    return reject("not_in_future", "session " + DayText(bar.session_date) + " is after today, " +
                                       DayText(options.today));
  }
  if (options.is_session && !options.is_session(bar.exchange, bar.session_date)) {
    return reject("session_of_exchange", DayText(bar.session_date) + " is not a session of " +
                                             (bar.exchange.empty() ? std::string("the exchange") : bar.exchange));
  }
  return std::nullopt;
}

}  // namespace finlake::pipeline
