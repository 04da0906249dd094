#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "analytics/indicator_test_util.h"
#include "finlake/analytics/indicators.h"

namespace finlake::analytics {
namespace {

using testing::ExpectSeriesNear;
using testing::kNaN;
using testing::RandomWalk;

std::vector<double> RunSma(const std::vector<double>& in, int32_t period) {
  std::vector<double> out(in.size(), -1.0);
  EXPECT_TRUE(Sma(in, period, out).ok());
  return out;
}

std::vector<double> RunEma(const std::vector<double>& in, int32_t period) {
  std::vector<double> out(in.size(), -1.0);
  EXPECT_TRUE(Ema(in, period, out).ok());
  return out;
}

// TA-Lib's EMA written out step by step: seed with the SMA, then e += k * (x - e).
std::vector<double> ReferenceEma(const std::vector<double>& in, size_t begin, int32_t period) {
  std::vector<double> out(in.size(), kNaN);
  const size_t p = static_cast<size_t>(period);
  if (in.size() < begin + p) return out;
  double ema = 0.0;
  for (size_t i = begin; i < begin + p; ++i) ema += in[i];
  ema /= period;
  out[begin + p - 1] = ema;
  const double k = 2.0 / (period + 1.0);
  for (size_t i = begin + p; i < in.size(); ++i) {
    ema = (in[i] - ema) * k + ema;
    out[i] = ema;
  }
  return out;
}

TEST(SmaTest, AveragesTheWindowEndingAtEachBar) {
  ExpectSeriesNear(RunSma({1, 2, 3, 4, 5}, 3), {kNaN, kNaN, 2, 3, 4});
}

TEST(SmaTest, PeriodOneCopiesTheInput) { ExpectSeriesNear(RunSma({3, 1, 4, 1, 5}, 1), {3, 1, 4, 1, 5}); }

TEST(SmaTest, SeriesShorterThanTheWindowIsAllNaN) {
  ExpectSeriesNear(RunSma({1, 2}, 3), {kNaN, kNaN});
  ExpectSeriesNear(RunSma({}, 3), {});
}

TEST(SmaTest, ConstantSeriesGivesExactlyTheConstant) {
  const std::vector<double> in(3000, 100.1);
  const std::vector<double> out = RunSma(in, 20);
  for (size_t i = 19; i < in.size(); ++i) ASSERT_EQ(out[i], 100.1) << i;
}

TEST(SmaTest, GapRestartsTheWindow) {
  ExpectSeriesNear(RunSma({1, 2, kNaN, 4, 5, 6}, 2), {kNaN, 1.5, kNaN, kNaN, 4.5, 5.5});
  ExpectSeriesNear(RunSma({kNaN, kNaN, 1, 3, INFINITY, 5}, 2), {kNaN, kNaN, kNaN, 2, kNaN, kNaN});
}

TEST(SmaTest, MatchesDirectSumsAcrossReseedBlocks) {
  const std::vector<double> in = RandomWalk(20000, 7);
  for (int32_t period : {2, 20, 100, 200}) {
    std::vector<double> expected(in.size(), kNaN);
    for (size_t i = period - 1; i < in.size(); ++i) {
      double sum = 0.0;
      for (size_t j = i + 1 - period; j <= i; ++j) sum += in[j];
      expected[i] = sum / period;
    }
    ExpectSeriesNear(RunSma(in, period), expected, 1e-13);
  }
}

TEST(EmaTest, SeedsWithTheSmaThenSmooths) {
  ExpectSeriesNear(RunEma({1, 2, 3, 10, 2, 7, 3, 3}, 3), {kNaN, kNaN, 2, 6, 4, 5.5, 4.25, 3.625});
}

TEST(EmaTest, MatchesTheStepByStepFormOnAWalk) {
  const std::vector<double> in = RandomWalk(10001, 3);
  for (int32_t period : {1, 2, 5, 20, 200}) ExpectSeriesNear(RunEma(in, period), ReferenceEma(in, 0, period), 1e-13);
}

TEST(EmaTest, PeriodOneCopiesAndShortSeriesIsNaN) {
  ExpectSeriesNear(RunEma({3, 1, 4, 1, 5, 9}, 1), {3, 1, 4, 1, 5, 9});
  ExpectSeriesNear(RunEma({1, 2}, 3), {kNaN, kNaN});
}

TEST(EmaTest, GapRestartsTheWarmUp) {
  std::vector<double> in = RandomWalk(40, 5);
  in[17] = kNaN;
  std::vector<double> expected = ReferenceEma(in, 0, 5);
  const std::vector<double> after = ReferenceEma(in, 18, 5);
  for (size_t i = 17; i < in.size(); ++i) expected[i] = after[i];
  ExpectSeriesNear(RunEma(in, 5), expected, 1e-13);
}

TEST(MacdTest, FollowsTaLibSeedingAndAlignment) {
  // fast 2, slow 3, signal 2: both EMAs seeded at index 2 (fast: mean of x[1..2]),
  // signal seeded at index 3; worked by hand in fractions.
  const std::vector<double> in = {1, 3, 2, 6, 4};
  std::vector<double> line(5), signal(5), histogram(5);
  ASSERT_TRUE(Macd(in, {2, 3, 2}, line, signal, histogram).ok());
  ExpectSeriesNear(line, {kNaN, kNaN, kNaN, 5.0 / 6.0, 5.0 / 18.0});
  ExpectSeriesNear(signal, {kNaN, kNaN, kNaN, 2.0 / 3.0, 11.0 / 27.0});
  ExpectSeriesNear(histogram, {kNaN, kNaN, kNaN, 1.0 / 6.0, -7.0 / 54.0});
}

TEST(MacdTest, MatchesThreeReferenceEmasOnAWalk) {
  const std::vector<double> in = RandomWalk(5003, 11);
  std::vector<double> line(in.size()), signal(in.size()), histogram(in.size());
  ASSERT_TRUE(Macd(in, {}, line, signal, histogram).ok());
  const std::vector<double> slow = ReferenceEma(in, 0, 26);
  const std::vector<double> fast = ReferenceEma(in, 25 - 11, 12);
  std::vector<double> reference_line(in.size(), kNaN);
  for (size_t i = 25; i < in.size(); ++i) reference_line[i] = fast[i] - slow[i];
  const std::vector<double> reference_signal = ReferenceEma(reference_line, 25, 9);
  ASSERT_EQ(MacdLookback({}), 33);
  for (size_t i = 0; i < in.size(); ++i) {
    if (i < 33) {
      ASSERT_TRUE(std::isnan(line[i]) && std::isnan(signal[i]) && std::isnan(histogram[i])) << i;
      continue;
    }
    // The line is a difference of two ~100 prices: compare on the price scale.
    ASSERT_NEAR(line[i], reference_line[i], 1e-12 * 100) << i;
    ASSERT_NEAR(signal[i], reference_signal[i], 1e-12 * 100) << i;
    ASSERT_NEAR(histogram[i], reference_line[i] - reference_signal[i], 1e-12 * 100) << i;
  }
}

TEST(MacdTest, RejectsBadPeriods) {
  std::vector<double> in(50, 1.0), a(50), b(50), c(50);
  EXPECT_EQ(Macd(in, {26, 12, 9}, a, b, c).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Macd(in, {0, 26, 9}, a, b, c).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Macd(in, {12, 26, 0}, a, b, c).code(), StatusCode::kInvalidArgument);
  std::vector<double> short_output(49);
  EXPECT_EQ(Macd(in, {}, a, short_output, c).code(), StatusCode::kInvalidArgument);
}

TEST(BollingerBandsTest, UsesThePopulationDeviation) {
  std::vector<double> upper(5), middle(5), lower(5);
  ASSERT_TRUE(BollingerBands({{1, 2, 3, 4, 6}}, {3, 2.0, 1.0}, upper, middle, lower).ok());
  const double deviation = std::sqrt(2.0 / 3.0);
  const double last_mean = 13.0 / 3.0;
  const double last_deviation = std::sqrt(
      ((3 - last_mean) * (3 - last_mean) + (4 - last_mean) * (4 - last_mean) + (6 - last_mean) * (6 - last_mean)) /
      3.0);
  ExpectSeriesNear(middle, {kNaN, kNaN, 2, 3, last_mean});
  ExpectSeriesNear(upper, {kNaN, kNaN, 2 + 2 * deviation, 3 + 2 * deviation, last_mean + 2 * last_deviation});
  ExpectSeriesNear(lower, {kNaN, kNaN, 2 - deviation, 3 - deviation, last_mean - last_deviation});
}

TEST(BollingerBandsTest, ConstantSeriesHasZeroWidth) {
  const std::vector<double> in(2000, 42.7);
  std::vector<double> upper(in.size()), middle(in.size()), lower(in.size());
  ASSERT_TRUE(BollingerBands(in, {}, upper, middle, lower).ok());
  for (size_t i = 19; i < in.size(); ++i) {
    ASSERT_EQ(upper[i], 42.7);
    ASSERT_EQ(middle[i], 42.7);
    ASSERT_EQ(lower[i], 42.7);
  }
}

TEST(BollingerBandsTest, MatchesDirectMomentsOnALongWalk) {
  const std::vector<double> in = RandomWalk(30000, 13);
  std::vector<double> upper(in.size()), middle(in.size()), lower(in.size());
  ASSERT_TRUE(BollingerBands(in, {20, 2.0, 2.0}, upper, middle, lower).ok());
  for (size_t i = 19; i < in.size(); ++i) {
    double mean = 0.0;
    for (size_t j = i - 19; j <= i; ++j) mean += in[j];
    mean /= 20;
    double variance = 0.0;
    for (size_t j = i - 19; j <= i; ++j) variance += (in[j] - mean) * (in[j] - mean);
    const double deviation = std::sqrt(variance / 20);
    ASSERT_NEAR(middle[i], mean, 1e-12 * mean) << i;
    ASSERT_NEAR(upper[i], mean + 2 * deviation, 1e-12 * mean) << i;
    ASSERT_NEAR(lower[i], mean - 2 * deviation, 1e-12 * mean) << i;
  }
}

TEST(BollingerBandsTest, GapMakesEveryWindowHoldingItNaN) {
  std::vector<double> in = {1, 2, 3, 4, 5, 6, 7};
  in[3] = kNaN;
  std::vector<double> upper(7), middle(7), lower(7);
  ASSERT_TRUE(BollingerBands(in, {2, 1.0, 1.0}, upper, middle, lower).ok());
  ExpectSeriesNear(middle, {kNaN, 1.5, 2.5, kNaN, kNaN, 5.5, 6.5});
  ExpectSeriesNear(upper, {kNaN, 2, 3, kNaN, kNaN, 6, 7});
}

TEST(MovingAverageArgumentsTest, RejectBadPeriodsAndLengths) {
  std::vector<double> in(10, 1.0), out(10), short_out(9);
  EXPECT_EQ(Sma(in, 0, out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ema(in, -3, out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Sma(in, 3, short_out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BollingerBands(in, {0, 2, 2}, out, out, out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BollingerBands(in, {5, NAN, 2}, out, out, out).code(), StatusCode::kInvalidArgument);
  const Status status = Sma(in, 0, out);
  EXPECT_NE(status.message().find("Sma: period 0 is below the minimum 1"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace finlake::analytics
