// Corporate actions and price adjustment (adjustment.h).

#include "finlake/analytics/adjustment.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace finlake::analytics {
namespace {

using std::chrono::sys_days;

std::string DateText(sys_days day) {
  const std::chrono::year_month_day date(day);
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

std::string NumberText(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.10g", value);
  return text;
}

// One ex-date's worth of one kind of action: the product of its split ratios or
// the sum of its dividend amounts.
struct DatedValue {
  sys_days ex_date;
  double value;
};

// The actions sorted, checked, de-duplicated and folded per ex-date.
struct Schedule {
  std::vector<DatedValue> splits;     // ascending ex_date, one entry per date
  std::vector<DatedValue> dividends;  // ascending ex_date, one entry per date
};

bool SameAction(const CorporateAction& a, const CorporateAction& b) {
  if (a.ex_date != b.ex_date || a.kind != b.kind) return false;
  return a.kind == CorporateAction::kSplit ? a.split_ratio == b.split_ratio : a.cash_amount == b.cash_amount;
}

Result<Schedule> BuildSchedule(const char* function, std::span<const CorporateAction> actions) {
  for (size_t k = 0; k < actions.size(); ++k) {
    const CorporateAction& action = actions[k];
    if (action.kind == CorporateAction::kSplit) {
      if (!(action.split_ratio > 0.0) || !std::isfinite(action.split_ratio)) {
        return Status::InvalidArgument(std::string(function) + ": action " + std::to_string(k) + " (split on " +
                                       DateText(action.ex_date) + "): ratio " + NumberText(action.split_ratio) +
                                       " must be finite and positive");
      }
    } else if (action.kind == CorporateAction::kDividend) {
      if (!(action.cash_amount >= 0.0) || !std::isfinite(action.cash_amount)) {
        return Status::InvalidArgument(std::string(function) + ": action " + std::to_string(k) +
                                       " (dividend on " + DateText(action.ex_date) + "): amount " +
                                       NumberText(action.cash_amount) + " must be finite and not negative");
      }
    } else {
      return Status::InvalidArgument(std::string(function) + ": action " + std::to_string(k) + " has kind " +
                                     std::to_string(static_cast<int>(action.kind)) +
                                     ", neither kSplit nor kDividend");
    }
  }
  std::vector<CorporateAction> sorted(actions.begin(), actions.end());
  const auto value_of = [](const CorporateAction& a) {
    return a.kind == CorporateAction::kSplit ? a.split_ratio : a.cash_amount;
  };
  std::sort(sorted.begin(), sorted.end(), [&](const CorporateAction& a, const CorporateAction& b) {
    if (a.ex_date != b.ex_date) return a.ex_date < b.ex_date;
    if (a.kind != b.kind) return a.kind < b.kind;
    return value_of(a) < value_of(b);
  });
  // Exact duplicates are adjacent after the sort; they count once.
  sorted.erase(std::unique(sorted.begin(), sorted.end(), SameAction), sorted.end());

  Schedule schedule;
  for (const CorporateAction& action : sorted) {
    if (action.kind == CorporateAction::kSplit) {
      if (!schedule.splits.empty() && schedule.splits.back().ex_date == action.ex_date) {
        schedule.splits.back().value *= action.split_ratio;
      } else {
        schedule.splits.push_back({action.ex_date, action.split_ratio});
      }
    } else {
      if (!schedule.dividends.empty() && schedule.dividends.back().ex_date == action.ex_date) {
        schedule.dividends.back().value += action.cash_amount;
      } else {
        schedule.dividends.push_back({action.ex_date, action.cash_amount});
      }
    }
  }
  return schedule;
}

Status CheckDates(const char* function, std::span<const sys_days> dates) {
  for (size_t i = 1; i < dates.size(); ++i) {
    if (!(dates[i - 1] < dates[i])) {
      return Status::InvalidArgument(std::string(function) + ": date " + std::to_string(i) + " (" +
                                     DateText(dates[i]) + ") is not after date " + std::to_string(i - 1) + " (" +
                                     DateText(dates[i - 1]) + "); session dates must be strictly increasing");
    }
  }
  return Status::Ok();
}

Status CheckLength(const char* function, const char* name, size_t actual, size_t expected) {
  if (actual == expected) return Status::Ok();
  return Status::InvalidArgument(std::string(function) + ": " + name + " has " + std::to_string(actual) +
                                 " elements, dates has " + std::to_string(expected) +
                                 "; they must have the same length");
}

// ratio_after[i] = product of the ratios of the splits with ex_date > dates[i],
// by a backward sweep. Prices are divided by it and volumes multiplied, rather
// than both scaled by its inverse, so that a 3:1 split is exact to one rounding.
void FillSplitRatiosAfter(std::span<const sys_days> dates, const std::vector<DatedValue>& splits,
                          std::span<double> ratio_after) {
  double product = 1.0;
  size_t pending = splits.size();  // splits[pending..] have ex_date > the current bar
  for (size_t i = dates.size(); i-- > 0;) {
    while (pending > 0 && splits[pending - 1].ex_date > dates[i]) product *= splits[--pending].value;
    ratio_after[i] = product;
  }
}

bool UsableReferenceClose(double close) { return close > 0.0 && std::isfinite(close); }

// Fills dividend_factor from the schedule. Closes and amounts are put on the
// split-adjusted scale with the split ratios after them (`ratio_after` for the
// bars): the schedule holds no splits when they are on that scale already.
Status FillDividendFactors(const char* function, std::span<const sys_days> dates, std::span<const double> close,
                           const Schedule& schedule, std::span<const double> ratio_after,
                           std::span<double> dividend_factor) {
  const size_t n = dates.size();
  const std::vector<DatedValue>& dividends = schedule.dividends;
  const std::vector<DatedValue>& splits = schedule.splits;
  std::vector<double> ratio_from(splits.size() + 1, 1.0);  // product of splits[k..]
  for (size_t k = splits.size(); k-- > 0;) ratio_from[k] = ratio_from[k + 1] * splits[k].value;
  // (1 - D / C) per dividend date; 1 where no bar precedes it or none has a
  // usable close. Forward merge of bars and dividends, remembering the last
  // bar with a usable close.
  std::vector<double> keep(dividends.size(), 1.0);
  size_t bar = 0;
  size_t reference = n;  // n: no usable close seen yet
  for (size_t d = 0; d < dividends.size(); ++d) {
    const sys_days ex_date = dividends[d].ex_date;
    for (; bar < n && dates[bar] < ex_date; ++bar) {
      if (UsableReferenceClose(close[bar])) reference = bar;
    }
    if (reference == n || dividends[d].value == 0.0) continue;
    // D / C on the split-adjusted scale: (amount / ratio after e) / (close / ratio after the reference bar).
    // The amount is per share of the ex-date, so a split effective that day is not "after" it.
    const auto first_split_after =
        std::upper_bound(splits.begin(), splits.end(), ex_date,
                         [](sys_days day, const DatedValue& split) { return day < split.ex_date; });
    const double ratio_after_ex_date = ratio_from[static_cast<size_t>(first_split_after - splits.begin())];
    const double proportion =
        (dividends[d].value * ratio_after[reference]) / (close[reference] * ratio_after_ex_date);
    const double factor = 1.0 - proportion;
    if (!(factor > 0.0)) {
      return Status::InvalidArgument(std::string(function) + ": dividend " + NumberText(dividends[d].value) +
                                     " on " + DateText(ex_date) + " is not below the reference close " +
                                     NumberText(close[reference]) + " of bar " + std::to_string(reference) + " (" +
                                     DateText(dates[reference]) + "); the dividend factor must be positive");
    }
    assert(reference < bar && dates[reference] < ex_date);
    assert(factor <= 1.0);
    keep[d] = factor;
  }
  double keep_after = 1.0;
  size_t pending = dividends.size();  // dividends[pending..] have ex_date > the current bar
  for (size_t i = n; i-- > 0;) {
    while (pending > 0 && dividends[pending - 1].ex_date > dates[i]) keep_after *= keep[--pending];
    dividend_factor[i] = keep_after;
  }
  assert(n == 0 || pending == 0 || !(dividends[pending - 1].ex_date > dates[0]));
  return Status::Ok();
}

// The checks and both factor arrays of AdjustmentFactors, with the ratio
// after each bar in place of the split factor; errors name `function`.
Status ComputeFactors(const char* function, std::span<const sys_days> dates, std::span<const double> close,
                      std::span<const CorporateAction> actions, bool close_is_split_adjusted,
                      std::vector<double>* ratio_after, std::vector<double>* dividend_factor) {
  RETURN_IF_ERROR(CheckLength(function, "close", close.size(), dates.size()));
  RETURN_IF_ERROR(CheckDates(function, dates));
  Result<Schedule> schedule = BuildSchedule(function, actions);
  if (!schedule.ok()) return schedule.status();
  if (close_is_split_adjusted) schedule->splits.clear();
  ratio_after->assign(dates.size(), 1.0);
  dividend_factor->assign(dates.size(), 1.0);
  FillSplitRatiosAfter(dates, schedule->splits, *ratio_after);
  return FillDividendFactors(function, dates, close, *schedule, *ratio_after, *dividend_factor);
}

}  // namespace

Status SplitFactors(std::span<const sys_days> dates, std::span<const CorporateAction> actions,
                    std::span<double> split_factor) {
  constexpr const char* kFunction = "SplitFactors";
  RETURN_IF_ERROR(CheckLength(kFunction, "split_factor", split_factor.size(), dates.size()));
  RETURN_IF_ERROR(CheckDates(kFunction, dates));
  Result<Schedule> schedule = BuildSchedule(kFunction, actions);
  if (!schedule.ok()) return schedule.status();
  FillSplitRatiosAfter(dates, schedule->splits, split_factor);
  for (double& factor : split_factor) factor = 1.0 / factor;
  return Status::Ok();
}

Status AdjustmentFactors(std::span<const sys_days> dates, std::span<const double> close,
                         std::span<const CorporateAction> actions, bool close_is_split_adjusted,
                         std::span<double> split_factor, std::span<double> dividend_factor) {
  constexpr const char* kFunction = "AdjustmentFactors";
  RETURN_IF_ERROR(CheckLength(kFunction, "split_factor", split_factor.size(), dates.size()));
  RETURN_IF_ERROR(CheckLength(kFunction, "dividend_factor", dividend_factor.size(), dates.size()));
  // Computed into scratch so that the outputs stay untouched on error.
  std::vector<double> ratio_after;
  std::vector<double> dividends;
  RETURN_IF_ERROR(ComputeFactors(kFunction, dates, close, actions, close_is_split_adjusted, &ratio_after, &dividends));
  for (size_t i = 0; i < dates.size(); ++i) split_factor[i] = 1.0 / ratio_after[i];
  std::copy(dividends.begin(), dividends.end(), dividend_factor.begin());
  return Status::Ok();
}

Status BackAdjustedClose(std::span<const sys_days> dates, std::span<const double> close,
                         std::span<const CorporateAction> actions, bool close_is_split_adjusted,
                         std::span<double> adj_close) {
  constexpr const char* kFunction = "BackAdjustedClose";
  RETURN_IF_ERROR(CheckLength(kFunction, "adj_close", adj_close.size(), dates.size()));
  std::vector<double> ratio_after;
  std::vector<double> dividends;
  RETURN_IF_ERROR(ComputeFactors(kFunction, dates, close, actions, close_is_split_adjusted, &ratio_after, &dividends));
  for (size_t i = 0; i < dates.size(); ++i) adj_close[i] = close[i] / ratio_after[i] * dividends[i];
  return Status::Ok();
}

Status SplitAdjust(std::span<const sys_days> dates, std::span<const CorporateAction> actions,
                   std::span<double> open, std::span<double> high, std::span<double> low, std::span<double> close,
                   std::span<double> volume) {
  constexpr const char* kFunction = "SplitAdjust";
  const std::span<double> prices[] = {open, high, low, close};
  const char* const names[] = {"open", "high", "low", "close"};
  for (size_t k = 0; k < 4; ++k) {
    if (!prices[k].empty()) RETURN_IF_ERROR(CheckLength(kFunction, names[k], prices[k].size(), dates.size()));
  }
  if (!volume.empty()) RETURN_IF_ERROR(CheckLength(kFunction, "volume", volume.size(), dates.size()));
  RETURN_IF_ERROR(CheckDates(kFunction, dates));
  Result<Schedule> schedule = BuildSchedule(kFunction, actions);
  if (!schedule.ok()) return schedule.status();
  std::vector<double> ratio_after(dates.size());
  FillSplitRatiosAfter(dates, schedule->splits, ratio_after);
  for (const std::span<double>& price : prices) {
    for (size_t i = 0; i < price.size(); ++i) price[i] /= ratio_after[i];
  }
  for (size_t i = 0; i < volume.size(); ++i) volume[i] *= ratio_after[i];
  return Status::Ok();
}

}  // namespace finlake::analytics
