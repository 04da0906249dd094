// Bronze -> silver for daily bars: what one raw payload says, as typed rows
// (DESIGN.md Contracts: silver.bars_1d, silver.corporate_actions,
// silver.symbols, silver.quarantine), and the rules a bar must pass.
//
// A parser reads one payload exactly as bronze stored it and returns every bar,
// corporate action and symbol fact in it. It never drops a row silently: a row
// it cannot type (a null close, a timestamp that is not a number) comes back in
// `rejected` with the rule it broke and the row as the vendor sent it.
//
// Prices keep the scale the vendor used (`split_adjusted_as_of` says which);
// pence-quoted listings (GBp, ZAc, ILA) are converted to the currency's unit.
// The silver job puts every row on one scale (silver_job.h).
//
// Thread-safe: the functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "finlake/core/status.h"

namespace finlake::pipeline {

using Day = std::chrono::sys_days;

struct DailyBar {
  std::string symbol;
  Day session_date;          // In the exchange's time zone.
  int64_t ts_ms = 0;         // The session's close, UTC.
  double open = 0, high = 0, low = 0, close = 0;
  std::optional<double> vendor_adj_close;  // Yahoo's adjclose, kept for checks.
  int64_t volume = 0;
  std::string currency, exchange, region, source;
  int64_t fetched_at_ms = 0;
  // False for a live bar: fetched before its session closed.
  bool complete = true;
  // Splits with an ex-date on or before this day are already applied to the
  // prices (Yahoo adjusts as of the fetch); nullopt: as traded (Alpha Vantage).
  std::optional<Day> split_adjusted_as_of;
};

struct CorporateAction {
  std::string symbol;
  Day ex_date;
  std::string kind;          // "split" or "dividend".
  double split_ratio = 1.0;  // New shares per old share (4:1 -> 4).
  double cash_amount = 0.0;  // Per share, on the scale split_adjusted_as_of says.
  std::string currency, source;
  std::optional<Day> split_adjusted_as_of;
};

struct SymbolInfo {
  std::string symbol, name, exchange, region, currency, asset_class;
  bool active = true;
};

// A row that broke a rule: silver.quarantine's rule, row and detail.
struct Rejected {
  std::string symbol;
  std::string rule;    // "high_ge_open_close", "close_not_null", ...
  nlohmann::json row;  // The row as the source sent it (or as parsed).
  std::string detail;  // Human-readable: which values broke the rule.
};

struct ParsedPayload {
  std::vector<DailyBar> bars;
  // 1-minute bars (silver.bars_1m): ts_ms is the bar's start, session_date its
  // local date; vwap and trade counts are not in these sources.
  std::vector<DailyBar> minute_bars;
  std::vector<CorporateAction> actions;
  std::optional<SymbolInfo> symbol;
  std::vector<Rejected> rejected;
};

// What the job knows about the payload from its bronze row.
struct PayloadContext {
  std::string source;       // "yahoo", "alphavantage", "generator", ...
  std::string symbol;       // The request's symbol.
  std::string region;       // Bronze partition value.
  int64_t fetched_at_ms = 0;
};

// A Yahoo v8 chart answer with a daily interval. Session dates come from the
// bar's timestamp in meta.exchangeTimezoneName; ts is the session close from
// the exchange calendar (NYSE for US listings), else meta's regular trading
// period's local close time on that date, else the end of the day for 24-hour
// markets. A chart that is not daily is InvalidArgument.
[[nodiscard]] Result<ParsedPayload> ParseYahooDaily(const std::string& payload, const PayloadContext& context);

// A Yahoo v8 chart answer with interval 1m: minute bars stamped at their start,
// complete once their minute is over (the last, live minute is held back).
[[nodiscard]] Result<ParsedPayload> ParseYahooMinutes(const std::string& payload, const PayloadContext& context);

// An Alpha Vantage TIME_SERIES_DAILY or TIME_SERIES_DAILY_ADJUSTED answer, JSON
// or CSV (`function` and `datatype` from the request key). Bars are as traded,
// stamped with the NYSE close; the adjusted variant's dividend amount and split
// coefficient become corporate actions.
[[nodiscard]] Result<ParsedPayload> ParseAlphaVantageDaily(const std::string& payload, const std::string& function,
                                                         const std::string& datatype, const PayloadContext& context);

// An Alpha Vantage TIME_SERIES_INTRADAY answer with interval 1min, requested as
// traded (adjusted=false), JSON or CSV: minute bars stamped at their start in
// UTC, session_date the local date, complete once their minute is over. Labels
// are local times that mark a minute's start, or its end in old captures (see
// LabelsMinuteEnds in the .cc).
[[nodiscard]] Result<ParsedPayload> ParseAlphaVantageMinutes(const std::string& payload, const std::string& datatype,
                                                           const PayloadContext& context);

// Pence-quoted currencies: GBp -> (GBP, 100), ZAc -> (ZAR, 100), ILA -> (ILS, 100);
// anything else -> (itself, 1).
std::pair<std::string, double> MajorCurrency(const std::string& currency);

// The validation rules every bar must pass, in order; the first broken rule
// wins. `today` is the newest session date allowed (not in the future).
struct ValidationOptions {
  Day today;
  // Exchange calendar check: false when the bar's date is not a session of its
  // exchange. Unset: every weekday is accepted.
  std::function<bool(const std::string& exchange, Day date)> is_session;
};
std::optional<Rejected> ValidateBar(const DailyBar& bar, const ValidationOptions& options);

// A bar as JSON for the quarantine's `row` column.
nlohmann::json BarJson(const DailyBar& bar);

std::string DayText(Day day);
[[nodiscard]] Result<Day> ParseDay(const std::string& text);

}  // namespace finlake::pipeline
