// Corporate actions and price adjustment: splits and cash dividends turned into
// per-bar multiplicative factors, the way CRSP and Yahoo's `adjclose` do it.
// A public header of the analytics module (README.md beside it, section
// "Corporate actions and adjustment").
//
// Scales. A price series is on one of two scales:
// - as traded: each bar in the shares of its own day (Alpha Vantage
//   TIME_SERIES_DAILY, exchange prints);
// - split-adjusted: every bar on the share scale after the latest split in
//   `actions` (Yahoo's chart open/high/low/close, which are back-adjusted for
//   every split up to the day of the fetch).
// Dividend amounts are on the scale of the closes they come with: as traded
// (per share of the ex-date, after any split effective that day) beside
// as-traded closes, split-adjusted beside split-adjusted closes (Yahoo's
// `events.dividends` amounts are on its fetch-time split scale, as its closes).
//
// Factors. For bar i on date d[i]:
// - split factor    = 1 / product of split_ratio over splits with ex_date > d[i]
//   (1 for every bar when the closes are already split-adjusted);
// - dividend factor = product over dividend ex-dates e > d[i] of
//   (1 - D(e) / C(e)), where D(e) is the sum of the cash dividends going ex on
//   e and C(e) the reference close: the close of the last bar before e whose
//   close is finite and positive, both on the split-adjusted scale.
//   adjusted close = close * split factor * dividend factor.
// An action applies to the bars strictly before its ex-date, whether or not
// the ex-date is itself a bar (a holiday or a gap in the series). A dividend
// whose ex-date is not after the first bar changes no bar and needs no
// reference close. C(e) is CRSP's and Yahoo's "previous close" only when the
// series holds the session just before e: for an ex-date after the last bar
// (a later dividend than the data) or after a gap, the last close available in
// the series stands in for it. A dividend with no finite positive close before
// it (only NaN, zero or negative closes) is left out (factor 1): no
// proportion can be formed, and the bars it would touch carry no usable price.
//
// Actions. They may come in any order (they are sorted by ex-date). Exact
// duplicates (same ex-date, kind and value) count once: they are what a merge
// of two feeds produces, while two distinct same-day dividends (a regular and a
// special one) both count, as one distribution of their sum. Splits on one day
// multiply.
//
// Errors are values (Status::InvalidArgument naming the function, the input and
// the rule): dates not strictly increasing, spans of different lengths, a split
// ratio that is not finite and positive, a dividend amount that is negative or
// not finite, and a dividend not below its reference close (a factor <= 0).
// Outputs are left untouched on error.
//
// Functions are pure and thread-safe; they allocate a sorted copy of the
// actions and up to two scratch doubles per bar. They take O(bars + actions x
// log(actions)) time. Outputs must not overlap inputs.
#pragma once

#include <chrono>
#include <span>

#include "finlake/core/status.h"

namespace finlake::analytics {

struct CorporateAction {
  enum Kind { kSplit, kDividend };

  std::chrono::sys_days ex_date;
  Kind kind = kDividend;
  // kSplit: new shares per old share: 4.0 for a 4:1 split, 0.1 for a 1:10
  // reverse split. Yahoo gives numerator / denominator.
  double split_ratio = 1.0;
  // kDividend: cash per share, on the scale of the closes (see above).
  double cash_amount = 0.0;

  static CorporateAction Split(std::chrono::sys_days ex_date, double ratio) {
    return {ex_date, kSplit, ratio, 0.0};
  }
  static CorporateAction Dividend(std::chrono::sys_days ex_date, double amount) {
    return {ex_date, kDividend, 1.0, amount};
  }
};

// split_factor[i] = 1 / product of the ratios of the splits with ex_date >
// dates[i]: multiply an as-traded price by it (and divide a volume by it) to put
// bar i on the scale after the latest split in `actions`. Dividends are ignored.
Status SplitFactors(std::span<const std::chrono::sys_days> dates, std::span<const CorporateAction> actions,
                    std::span<double> split_factor);

// Both factors of every bar (see the header comment). With
// close_is_split_adjusted the closes and dividend amounts are taken to be on the
// split-adjusted scale already, splits in `actions` are ignored and every split
// factor is 1; otherwise closes and amounts are as traded. In both cases
// close[i] * split_factor[i] * dividend_factor[i] is the adjusted close.
Status AdjustmentFactors(std::span<const std::chrono::sys_days> dates, std::span<const double> close,
                         std::span<const CorporateAction> actions, bool close_is_split_adjusted,
                         std::span<double> split_factor, std::span<double> dividend_factor);

// The split- and dividend-adjusted close on the latest split scale: Yahoo's
// `adjclose` from Yahoo's close and events (close_is_split_adjusted = true), or
// from as-traded closes with as-traded dividend amounts and the splits (false).
// A NaN close gives a NaN adjusted close; a zero or negative one is scaled like
// any other.
Status BackAdjustedClose(std::span<const std::chrono::sys_days> dates, std::span<const double> close,
                         std::span<const CorporateAction> actions, bool close_is_split_adjusted,
                         std::span<double> adj_close);

// Puts as-traded bars on the scale after the latest split in `actions`, in
// place: prices times the split factor, volume divided by it (so price x volume
// is unchanged). Dividends are ignored. Each of the five spans holds one value
// per date or is empty (then it is skipped).
Status SplitAdjust(std::span<const std::chrono::sys_days> dates, std::span<const CorporateAction> actions,
                   std::span<double> open, std::span<double> high, std::span<double> low, std::span<double> close,
                   std::span<double> volume);

}  // namespace finlake::analytics
