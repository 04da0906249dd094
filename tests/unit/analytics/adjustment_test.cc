#include "finlake/analytics/adjustment.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "analytics/indicator_test_util.h"

namespace finlake::analytics {
namespace {

using std::chrono::sys_days;
using testing::ExpectSeriesNear;
using testing::kNaN;
using testing::RandomWalk;
using Action = CorporateAction;

sys_days Day(int y, unsigned m, unsigned d) {
  return sys_days(std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}});
}

// Mon 2024-03-04 .. Fri 2024-03-08 and Mon 2024-03-11.
const std::vector<sys_days> kWeek = {Day(2024, 3, 4), Day(2024, 3, 5), Day(2024, 3, 6),
                                     Day(2024, 3, 7), Day(2024, 3, 8), Day(2024, 3, 11)};

std::vector<double> Adjusted(std::span<const sys_days> dates, const std::vector<double>& close,
                             const std::vector<Action>& actions, bool close_is_split_adjusted) {
  std::vector<double> out(close.size(), -1.0);
  Status status = BackAdjustedClose(dates, close, actions, close_is_split_adjusted, out);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

std::vector<double> Dividend(std::span<const sys_days> dates, const std::vector<double>& close,
                             const std::vector<Action>& actions, bool close_is_split_adjusted) {
  std::vector<double> split(close.size()), dividend(close.size());
  Status status = AdjustmentFactors(dates, close, actions, close_is_split_adjusted, split, dividend);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return dividend;
}

// ---------------------------------------------------------------------------------
// Splits.

TEST(SplitFactorsTest, ApplyStrictlyBeforeTheExDate) {
  std::vector<double> factor(kWeek.size());
  ASSERT_TRUE(SplitFactors(kWeek, {{Action::Split(Day(2024, 3, 6), 4.0)}}, factor).ok());
  ExpectSeriesNear(factor, {0.25, 0.25, 1, 1, 1, 1}, 0);
  ASSERT_TRUE(SplitFactors(kWeek, {{Action::Split(Day(2024, 3, 5), 2.0), Action::Split(Day(2024, 3, 8), 3.0)}},
                           factor)
                  .ok());
  ExpectSeriesNear(factor, {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1, 1}, 1e-15);
}

TEST(SplitFactorsTest, SplitsOutsideTheSeriesAndReverseSplits) {
  std::vector<double> factor(kWeek.size());
  ASSERT_TRUE(SplitFactors(kWeek,
                           {{Action::Split(Day(2024, 3, 4), 5.0), Action::Split(Day(2020, 1, 2), 7.0),
                             Action::Split(Day(2024, 6, 10), 10.0), Action::Split(Day(2024, 3, 9), 0.1)}},
                           factor)
                  .ok());
  // The split on the first bar and the one before it change nothing; the 10:1
  // after the series end changes every bar, and the 1:10 reverse split on the
  // Saturday undoes it for the bars before.
  ExpectSeriesNear(factor, {1, 1, 1, 1, 1, 0.1}, 1e-15);
  ASSERT_TRUE(SplitFactors(kWeek, {{Action::Split(Day(2024, 3, 9), 0.1)}}, factor).ok());
  ExpectSeriesNear(factor, {10, 10, 10, 10, 10, 1}, 1e-15);
}

TEST(SplitAdjustTest, PricesDivideAndVolumeMultiplies) {
  std::vector<double> open = {90, 91, 30, 31, 32, 33};
  std::vector<double> high = {93, 94, 31, 32, 33, 34};
  std::vector<double> low = {89, 90, 29, 30, 31, kNaN};
  std::vector<double> close = {90, 93, 30.5, 31, 32, 33};
  std::vector<double> volume = {100, 200, 900, 600, 700, 800};
  ASSERT_TRUE(SplitAdjust(kWeek, {{Action::Split(Day(2024, 3, 6), 3.0)}}, open, high, low, close, volume).ok());
  ExpectSeriesNear(open, {30, 91.0 / 3, 30, 31, 32, 33}, 1e-15);
  ExpectSeriesNear(high, {31, 94.0 / 3, 31, 32, 33, 34}, 1e-15);
  ExpectSeriesNear(low, {89.0 / 3, 30, 29, 30, 31, kNaN}, 1e-15);
  EXPECT_EQ(close[0], 30.0) << "a 3:1 split divides exactly, to one rounding";
  EXPECT_EQ(close[1], 31.0);
  ExpectSeriesNear(volume, {300, 600, 900, 600, 700, 800}, 0);
}

TEST(SplitAdjustTest, EmptySpansAreSkippedAndWrongLengthsRefused) {
  std::vector<double> close = {8, 8, 2, 2, 2, 2};
  ASSERT_TRUE(SplitAdjust(kWeek, {{Action::Split(Day(2024, 3, 6), 4.0)}}, {}, {}, {}, close, {}).ok());
  ExpectSeriesNear(close, {2, 2, 2, 2, 2, 2}, 0);
  std::vector<double> short_volume = {1, 2};
  const Status status = SplitAdjust(kWeek, {}, {}, {}, {}, close, short_volume);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("volume has 2 elements"), std::string::npos) << status.message();
  EXPECT_EQ(short_volume, (std::vector<double>{1, 2})) << "outputs untouched on error";
}

// ---------------------------------------------------------------------------------
// Dividends.

TEST(DividendFactorsTest, ComparedWithTheCloseOfTheSessionBefore) {
  const std::vector<double> close = {10, 20, 19, 25, 26, 27};
  // Ex-date Wednesday: the reference close is Tuesday's 20.
  ExpectSeriesNear(Dividend(kWeek, close, {Action::Dividend(Day(2024, 3, 6), 1.0)}, true),
                   {0.95, 0.95, 1, 1, 1, 1}, 1e-15);
  // Two dividends compound.
  ExpectSeriesNear(
      Dividend(kWeek, close,
               {Action::Dividend(Day(2024, 3, 6), 1.0), Action::Dividend(Day(2024, 3, 8), 0.5)}, true),
      {0.95 * 0.98, 0.95 * 0.98, 0.98, 0.98, 1, 1}, 1e-15);
  ExpectSeriesNear(Adjusted(kWeek, close, {Action::Dividend(Day(2024, 3, 6), 1.0)}, true),
                   {9.5, 19, 19, 25, 26, 27}, 1e-15);
}

TEST(DividendFactorsTest, ExDateOnAHolidayAppliesToTheBarsBefore) {
  const std::vector<sys_days> dates = {Day(2024, 12, 23), Day(2024, 12, 24), Day(2024, 12, 26)};
  ExpectSeriesNear(Dividend(dates, {50, 40, 41}, {Action::Dividend(Day(2024, 12, 25), 2.0)}, true),
                   {0.95, 0.95, 1}, 1e-15);
}

TEST(DividendFactorsTest, SameDayDividendsAreOneDistributionAndDuplicatesCountOnce) {
  const std::vector<double> close = {10, 20, 19, 25, 26, 27};
  const Action regular = Action::Dividend(Day(2024, 3, 6), 0.5);
  const Action special = Action::Dividend(Day(2024, 3, 6), 1.5);
  ExpectSeriesNear(Dividend(kWeek, close, {regular, special}, true), {0.9, 0.9, 1, 1, 1, 1}, 1e-15);
  ExpectSeriesNear(Dividend(kWeek, close, {regular, regular, special, regular}, true), {0.9, 0.9, 1, 1, 1, 1},
                   1e-15);
  const Action split = Action::Split(Day(2024, 3, 6), 2.0);
  std::vector<double> factor(kWeek.size());
  ASSERT_TRUE(SplitFactors(kWeek, {{split, split}}, factor).ok());
  ExpectSeriesNear(factor, {0.5, 0.5, 1, 1, 1, 1}, 0);
}

TEST(DividendFactorsTest, UnsortedActionsAreSorted) {
  const std::vector<double> close = {10, 20, 19, 25, 26, 27};
  const std::vector<Action> sorted = {Action::Split(Day(2024, 3, 5), 2.0), Action::Dividend(Day(2024, 3, 6), 1.0),
                                      Action::Dividend(Day(2024, 3, 8), 0.5), Action::Split(Day(2024, 3, 11), 4.0)};
  const std::vector<Action> shuffled = {sorted[3], sorted[1], sorted[0], sorted[2]};
  EXPECT_EQ(Adjusted(kWeek, close, shuffled, false), Adjusted(kWeek, close, sorted, false));
  EXPECT_EQ(Adjusted(kWeek, close, shuffled, true), Adjusted(kWeek, close, sorted, true));
}

TEST(DividendFactorsTest, AsTradedAmountsAndClosesMeetOnTheSplitAdjustedScale) {
  // As traded: 100 before a 4:1 split on Thursday, 25 after. A dividend of 2
  // per old share going ex on Tuesday is 2 / 100 of Monday's close.
  const std::vector<double> close = {100, 98, 99, 25, 25.5, 26};
  const std::vector<Action> actions = {Action::Dividend(Day(2024, 3, 5), 2.0), Action::Split(Day(2024, 3, 7), 4.0)};
  std::vector<double> split(close.size()), dividend(close.size());
  ASSERT_TRUE(AdjustmentFactors(kWeek, close, actions, false, split, dividend).ok());
  ExpectSeriesNear(split, {0.25, 0.25, 0.25, 1, 1, 1}, 0);
  ExpectSeriesNear(dividend, {0.98, 1, 1, 1, 1, 1}, 1e-15);
  ExpectSeriesNear(Adjusted(kWeek, close, actions, false), {24.5, 24.5, 24.75, 25, 25.5, 26}, 1e-15);
  // The same series split-adjusted (Yahoo's view): the amount is 0.5 per new share.
  const std::vector<double> yahoo_close = {25, 24.5, 24.75, 25, 25.5, 26};
  const std::vector<Action> yahoo_actions = {Action::Dividend(Day(2024, 3, 5), 0.5),
                                             Action::Split(Day(2024, 3, 7), 4.0)};
  ASSERT_TRUE(AdjustmentFactors(kWeek, yahoo_close, yahoo_actions, true, split, dividend).ok());
  // Splits are ignored when the closes are split-adjusted.
  ExpectSeriesNear(split, {1, 1, 1, 1, 1, 1}, 0);
  ExpectSeriesNear(dividend, {0.98, 1, 1, 1, 1, 1}, 1e-15);
}

TEST(DividendFactorsTest, DividendOnTheDayOfASplitIsPerNewShare) {
  // 4:1 split and 0.5 per (new) share both effective Wednesday; Tuesday closed
  // at 100 as traded, 25 on the new scale: the factor is 1 - 0.5 / 25.
  const std::vector<double> close = {100, 100, 25.5, 26, 26, 26};
  const std::vector<Action> actions = {Action::Split(Day(2024, 3, 6), 4.0), Action::Dividend(Day(2024, 3, 6), 0.5)};
  ExpectSeriesNear(Adjusted(kWeek, close, actions, false), {24.5, 24.5, 25.5, 26, 26, 26}, 1e-15);
}

TEST(DividendFactorsTest, DividendsOutsideTheSeries) {
  const std::vector<double> close = {10, 20, 19, 25, 26, 40};
  // Ex-date on or before the first bar: no bar precedes it, nothing changes.
  ExpectSeriesNear(Dividend(kWeek, close,
                            {Action::Dividend(Day(2024, 3, 4), 1.0), Action::Dividend(Day(2023, 1, 3), 1.0)}, true),
                   {1, 1, 1, 1, 1, 1}, 0);
  // Ex-date after the last bar: the last close stands in for the session before it.
  ExpectSeriesNear(Dividend(kWeek, close, {Action::Dividend(Day(2024, 4, 2), 2.0)}, true),
                   {0.95, 0.95, 0.95, 0.95, 0.95, 0.95}, 1e-15);
}

TEST(DividendFactorsTest, GapsAndUnusableClosesBeforeTheExDate) {
  // A NaN close is a gap: the reference is the last finite positive close.
  ExpectSeriesNear(Adjusted(kWeek, {10, kNaN, 0, 12, 13, 14}, {Action::Dividend(Day(2024, 3, 7), 1.0)}, true),
                   {9, kNaN, 0, 12, 13, 14}, 1e-15);
  // No finite positive close before the ex-date: the dividend is left out.
  ExpectSeriesNear(Dividend(kWeek, {kNaN, 0, -5, 10, 11, 12}, {Action::Dividend(Day(2024, 3, 7), 1.0)}, true),
                   {1, 1, 1, 1, 1, 1}, 0);
  ExpectSeriesNear(Adjusted(kWeek, {kNaN, 0, -5, 10, 11, 12}, {Action::Dividend(Day(2024, 3, 8), 1.0)}, true),
                   {kNaN, 0, -4.5, 9, 11, 12}, 1e-15);
  // A zero dividend changes nothing.
  ExpectSeriesNear(Dividend(kWeek, {1, 2, 3, 4, 5, 6}, {Action::Dividend(Day(2024, 3, 7), 0.0)}, true),
                   {1, 1, 1, 1, 1, 1}, 0);
}

TEST(AdjustmentErrorsTest, NameTheInputAndTheRule) {
  const std::vector<double> close = {10, 20, 19, 25, 26, 27};
  std::vector<double> out(close.size(), -1.0);
  const auto message = [&](const std::vector<sys_days>& dates, const std::vector<double>& c,
                           const std::vector<Action>& actions) {
    Status status = BackAdjustedClose(dates, c, actions, false, out);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    return status.message();
  };
  std::vector<sys_days> repeated = kWeek;
  repeated[3] = repeated[2];
  EXPECT_EQ(message(repeated, close, {}),
            "BackAdjustedClose: date 3 (2024-03-06) is not after date 2 (2024-03-06); session dates must be "
            "strictly increasing");
  EXPECT_EQ(message(kWeek, {1, 2}, {}),
            "BackAdjustedClose: close has 2 elements, dates has 6; they must have the same length");
  EXPECT_EQ(message(kWeek, close, {Action::Dividend(Day(2024, 3, 6), 1.0), Action::Split(Day(2024, 3, 8), 0.0)}),
            "BackAdjustedClose: action 1 (split on 2024-03-08): ratio 0 must be finite and positive");
  EXPECT_NE(message(kWeek, close, {Action::Split(Day(2024, 3, 8), kNaN)}).find("ratio nan"), std::string::npos);
  EXPECT_NE(message(kWeek, close, {Action::Split(Day(2024, 3, 8), -2.0)}).find("finite and positive"),
            std::string::npos);
  EXPECT_EQ(message(kWeek, close, {Action::Dividend(Day(2024, 3, 6), -1.0)}),
            "BackAdjustedClose: action 0 (dividend on 2024-03-06): amount -1 must be finite and not negative");
  EXPECT_NE(message(kWeek, close, {Action::Dividend(Day(2024, 3, 6), kNaN)}).find("not negative"), std::string::npos);
  EXPECT_EQ(message(kWeek, close, {Action::Dividend(Day(2024, 3, 6), 20.0)}),
            "BackAdjustedClose: dividend 20 on 2024-03-06 is not below the reference close 20 of bar 1 "
            "(2024-03-05); the dividend factor must be positive");
  EXPECT_EQ(out, std::vector<double>(close.size(), -1.0)) << "outputs untouched on error";
  std::vector<double> split(close.size(), -1.0), dividend(close.size(), -1.0);
  EXPECT_FALSE(AdjustmentFactors(kWeek, close, {{Action::Dividend(Day(2024, 3, 6), 30.0)}}, true, split, dividend)
                   .ok());
  EXPECT_EQ(split, std::vector<double>(close.size(), -1.0));
  EXPECT_EQ(dividend, std::vector<double>(close.size(), -1.0));
  std::vector<double> short_factor(2);
  EXPECT_EQ(SplitFactors(kWeek, {}, short_factor).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(BackAdjustedClose({}, {}, {{Action::Dividend(Day(2024, 3, 6), 1.0)}}, true, {}).ok());
}

// ---------------------------------------------------------------------------------
// Randomised: the module against a naive O(bars x actions) reading of the rules
// of adjustment.h, written without sorting, merging or sweeps.

struct NaiveResult {
  std::vector<double> split;
  std::vector<double> dividend;
};

NaiveResult NaiveFactors(const std::vector<sys_days>& dates, const std::vector<double>& close,
                         const std::vector<Action>& actions, bool close_is_split_adjusted) {
  const size_t n = dates.size();
  // Exact duplicates count once: keep an action only if no identical one comes before it.
  std::vector<Action> distinct;
  for (size_t k = 0; k < actions.size(); ++k) {
    bool seen = false;
    for (size_t j = 0; j < k; ++j) {
      seen |= actions[j].ex_date == actions[k].ex_date && actions[j].kind == actions[k].kind &&
              actions[j].split_ratio == actions[k].split_ratio && actions[j].cash_amount == actions[k].cash_amount;
    }
    if (!seen) distinct.push_back(actions[k]);
  }
  const auto ratio_after = [&](sys_days day) {
    double product = 1.0;
    if (close_is_split_adjusted) return product;
    for (const Action& a : distinct) {
      if (a.kind == Action::kSplit && a.ex_date > day) product *= a.split_ratio;
    }
    return product;
  };
  NaiveResult result{std::vector<double>(n, 1.0), std::vector<double>(n, 1.0)};
  for (size_t i = 0; i < n; ++i) {
    result.split[i] = 1.0 / ratio_after(dates[i]);
    std::vector<sys_days> done;
    for (const Action& a : distinct) {
      if (a.kind != Action::kDividend || !(a.ex_date > dates[i])) continue;
      bool already = false;
      for (sys_days d : done) already |= d == a.ex_date;
      if (already) continue;
      done.push_back(a.ex_date);
      double amount = 0.0;
      for (const Action& b : distinct) {
        if (b.kind == Action::kDividend && b.ex_date == a.ex_date) amount += b.cash_amount;
      }
      int64_t reference = -1;
      for (size_t r = 0; r < n; ++r) {
        if (dates[r] < a.ex_date && close[r] > 0.0 && std::isfinite(close[r])) reference = static_cast<int64_t>(r);
      }
      if (reference < 0) continue;
      const double adjusted_amount = amount / ratio_after(a.ex_date);
      const double adjusted_close = close[reference] / ratio_after(dates[reference]);
      result.dividend[i] *= 1.0 - adjusted_amount / adjusted_close;
    }
  }
  return result;
}

// The product of the ratios of the splits in `actions` with ex_date > day.
double NaiveRatioAfter(const std::vector<Action>& actions, sys_days day) {
  double product = 1.0;
  for (const Action& a : actions) {
    if (a.kind == Action::kSplit && a.ex_date > day) product *= a.split_ratio;
  }
  return product;
}

// One random series seen both ways: as traded (prices and amounts in the shares
// of their day) and split-adjusted (Yahoo's view, on the scale after the last
// split). The splits are the same in both.
struct RandomCase {
  std::vector<sys_days> dates;
  std::vector<double> split_close;
  std::vector<Action> split_actions;
  std::vector<double> traded_close;
  std::vector<Action> traded_actions;
};

// A random walk on weekdays with a few missing sessions, NaN and zero closes,
// and splits and dividends on random days (weekends, outside the series,
// several per day, exact duplicates). Dividends are 0.1% to 3% of a price near 100
// on the split-adjusted scale.
RandomCase MakeRandomCase(uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> length(1, 300);
  const size_t n = static_cast<size_t>(length(random));
  RandomCase c;
  c.split_close = RandomWalk(n, seed * 7 + 1);
  sys_days day = Day(2000, 1, 3) + std::chrono::days(static_cast<int>(random() % 4000));
  for (size_t i = 0; i < n; ++i) {
    do {
      day += std::chrono::days(1 + static_cast<int>(random() % 20 == 0));
    } while (std::chrono::weekday(day) == std::chrono::Saturday || std::chrono::weekday(day) == std::chrono::Sunday);
    c.dates.push_back(day);
    if (random() % 40 == 0) c.split_close[i] = kNaN;
    if (random() % 200 == 0) c.split_close[i] = 0.0;
  }
  const int span_days = static_cast<int>((c.dates.back() - c.dates.front()).count());
  const int actions = static_cast<int>(random() % 12);
  const double ratios[] = {2.0, 3.0, 4.0, 1.5, 10.0, 0.1, 0.5, 7.0};
  const auto add_distinct = [&](const Action& action) {
    for (const Action& a : c.split_actions) {
      if (a.ex_date == action.ex_date && a.kind == action.kind && a.split_ratio == action.split_ratio &&
          a.cash_amount == action.cash_amount) {
        return;
      }
    }
    c.split_actions.push_back(action);
  };
  for (int k = 0; k < actions; ++k) {
    const sys_days ex_date = c.dates.front() + std::chrono::days(static_cast<int>(random() % (span_days + 21)) - 10);
    if (random() % 3 == 0) {
      add_distinct(Action::Split(ex_date, ratios[random() % 8]));
    } else {
      add_distinct(Action::Dividend(ex_date, 0.1 + static_cast<double>(random() % 290) / 100.0));
    }
    if (random() % 6 == 0) add_distinct(Action::Dividend(ex_date, 0.25));
  }
  c.traded_close = c.split_close;
  for (size_t i = 0; i < n; ++i) c.traded_close[i] *= NaiveRatioAfter(c.split_actions, c.dates[i]);
  c.traded_actions = c.split_actions;
  for (Action& a : c.traded_actions) {
    if (a.kind == Action::kDividend) a.cash_amount *= NaiveRatioAfter(c.split_actions, a.ex_date);
  }
  // Exact duplicates, which must count once.
  const size_t distinct = c.split_actions.size();
  for (size_t k = 0; k < distinct; ++k) {
    if (random() % 5 != 0) continue;
    c.split_actions.push_back(c.split_actions[k]);
    c.traded_actions.push_back(c.traded_actions[k]);
  }
  return c;
}

TEST(AdjustmentRandomTest, MatchesANaiveReimplementation) {
  int64_t adjusted_bars = 0;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    const RandomCase c = MakeRandomCase(seed);
    for (bool split_adjusted : {false, true}) {
      const std::vector<double>& close = split_adjusted ? c.split_close : c.traded_close;
      const std::vector<Action>& actions = split_adjusted ? c.split_actions : c.traded_actions;
      const NaiveResult expected = NaiveFactors(c.dates, close, actions, split_adjusted);
      std::vector<double> split(close.size()), dividend(close.size()), adjusted(close.size());
      const Status status = AdjustmentFactors(c.dates, close, actions, split_adjusted, split, dividend);
      ASSERT_TRUE(status.ok()) << "seed " << seed << ": " << status.ToString();
      ASSERT_TRUE(BackAdjustedClose(c.dates, close, actions, split_adjusted, adjusted).ok());
      SCOPED_TRACE("seed " + std::to_string(seed) + (split_adjusted ? " split-adjusted" : " as traded"));
      ExpectSeriesNear(split, expected.split, 1e-13);
      ExpectSeriesNear(dividend, expected.dividend, 1e-13);
      std::vector<double> expected_adjusted(close.size());
      for (size_t i = 0; i < close.size(); ++i) {
        expected_adjusted[i] = close[i] * expected.split[i] * expected.dividend[i];
      }
      ExpectSeriesNear(adjusted, expected_adjusted, 1e-12);
      for (double f : dividend) adjusted_bars += f != 1.0;
    }
  }
  EXPECT_GT(adjusted_bars, 10000) << "the random cases must exercise dividends";
}

TEST(AdjustmentRandomTest, AsTradedAndSplitAdjustedViewsAgree) {
  // Adjusting as-traded data, and adjusting the same data already on the split
  // scale (what Yahoo serves) with close_is_split_adjusted, give one answer; and
  // SplitAdjust takes the as-traded closes to the split scale.
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const RandomCase c = MakeRandomCase(seed);
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<double> close = c.traded_close;
    ASSERT_TRUE(SplitAdjust(c.dates, c.traded_actions, {}, {}, {}, close, {}).ok());
    {
      SCOPED_TRACE("SplitAdjust");
      ExpectSeriesNear(close, c.split_close, 1e-14);
    }
    ExpectSeriesNear(Adjusted(c.dates, c.split_close, c.split_actions, true),
                     Adjusted(c.dates, c.traded_close, c.traded_actions, false), 1e-12);
  }
}

}  // namespace
}  // namespace finlake::analytics
