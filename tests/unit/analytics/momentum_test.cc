#include <gtest/gtest.h>

#include <vector>

#include "analytics/indicator_test_util.h"
#include "finlake/analytics/indicators.h"

namespace finlake::analytics {
namespace {

using testing::ExpectSeriesNear;
using testing::kNaN;
using testing::RandomWalk;

std::vector<double> RunRsi(const std::vector<double>& in, int32_t period) {
  std::vector<double> out(in.size(), -1.0);
  EXPECT_TRUE(Rsi(in, period, out).ok());
  return out;
}

// TA-Lib's RSI loop as written there: multiply by period - 1, add, divide.
std::vector<double> ReferenceRsi(const std::vector<double>& in, int32_t period) {
  std::vector<double> out(in.size(), kNaN);
  const size_t p = static_cast<size_t>(period);
  if (in.size() <= p) return out;
  double gain = 0.0, loss = 0.0;
  for (size_t i = 1; i <= p; ++i) {
    const double change = in[i] - in[i - 1];
    if (change < 0) loss -= change; else gain += change;
  }
  gain /= period;
  loss /= period;
  out[p] = 100.0 * gain / (gain + loss);
  for (size_t i = p + 1; i < in.size(); ++i) {
    const double change = in[i] - in[i - 1];
    gain *= period - 1;
    loss *= period - 1;
    if (change < 0) loss -= change; else gain += change;
    gain /= period;
    loss /= period;
    out[i] = 100.0 * gain / (gain + loss);
  }
  return out;
}

TEST(RsiTest, WorkedExampleWithWilderSmoothing) {
  // Changes +1, -1, +2, 0, -1, +1, +1: seed gain 0.5, loss 0.5 at index 2.
  ExpectSeriesNear(RunRsi({1, 2, 1, 3, 3, 2, 3, 4}, 2),
                   {kNaN, kNaN, 50, 100 * 1.25 / 1.5, 100 * 0.625 / 0.75, 100 * 0.3125 / 0.875,
                    100 * 0.65625 / 0.9375, 100 * 0.828125 / 0.96875});
}

TEST(RsiTest, MatchesTheTaLibLoopOnAWalk) {
  const std::vector<double> in = RandomWalk(10003, 17);
  for (int32_t period : {1, 2, 14, 50}) ExpectSeriesNear(RunRsi(in, period), ReferenceRsi(in, period), 1e-11);
}

TEST(RsiTest, FlatSeriesIsZeroAndRisingSeriesIsHundred) {
  const std::vector<double> flat = RunRsi(std::vector<double>(30, 5.0), 14);
  const std::vector<double> rising = RunRsi({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 3);
  for (size_t i = 0; i < 14; ++i) EXPECT_TRUE(std::isnan(flat[i]));
  for (size_t i = 14; i < flat.size(); ++i) EXPECT_EQ(flat[i], 0.0);
  for (size_t i = 3; i < rising.size(); ++i) EXPECT_DOUBLE_EQ(rising[i], 100.0);
}

TEST(RsiTest, ShortSeriesGapsAndBadPeriods) {
  ExpectSeriesNear(RunRsi({1, 2, 3}, 3), {kNaN, kNaN, kNaN});
  ExpectSeriesNear(RunRsi({kNaN, 1, 2, 1, 3, 3}, 2), {kNaN, kNaN, kNaN, 50, 100 * 1.25 / 1.5, 100 * 0.625 / 0.75});
  std::vector<double> out(3);
  EXPECT_EQ(Rsi({{1, 2, 3}}, 0, out).code(), StatusCode::kInvalidArgument);
}

TEST(AtrTest, FirstTrueRangeIsAtBarOne) {
  const std::vector<double> high = {10, 11, 12, 11}, low = {9, 10, 10, 9}, close = {9.5, 10.5, 11, 10};
  std::vector<double> out(4);
  ASSERT_TRUE(Atr(high, low, close, 2, out).ok());
  // TR[1] = 11 - 9.5, TR[2] = 12 - 10, TR[3] = 11 - 9.
  ExpectSeriesNear(out, {kNaN, kNaN, 1.75, 1.875});
  ASSERT_TRUE(Atr(high, low, close, 1, out).ok());
  ExpectSeriesNear(out, {kNaN, 1.5, 2, 2});
}

TEST(AtrTest, ShortSeriesGapAndBadArguments) {
  const std::vector<double> high = {10, 11, kNaN, 12, 11, 13}, low = {9, 10, 9, 10, 9, 11},
                            close = {9.5, 10.5, 9.5, 11, 10, 12};
  std::vector<double> out(6);
  ASSERT_TRUE(Atr(high, low, close, 2, out).ok());
  // The gap at bar 2 restarts at bar 3: TR from bar 4 (2), bar 5 (3).
  ExpectSeriesNear(out, {kNaN, kNaN, kNaN, kNaN, kNaN, 2.5});
  std::vector<double> short_low(5);
  EXPECT_EQ(Atr(high, short_low, close, 2, out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Atr(high, low, close, 0, out).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace finlake::analytics
