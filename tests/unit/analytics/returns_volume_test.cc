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

TEST(ReturnsTest, SimpleAndLogReturns) {
  const std::vector<double> price = {100, 110, 99, 0, 5, -1, 2};
  std::vector<double> simple(price.size()), log_returns(price.size());
  ASSERT_TRUE(SimpleReturns(price, simple).ok());
  ASSERT_TRUE(LogReturns(price, log_returns).ok());
  ExpectSeriesNear(simple, {kNaN, 0.1, -0.1, -1, kNaN, -1.2, -3});
  ExpectSeriesNear(log_returns, {kNaN, std::log(1.1), std::log(0.9), kNaN, kNaN, kNaN, kNaN});
}

TEST(ReturnsTest, GapsAndEmptySeries) {
  std::vector<double> out(4);
  ASSERT_TRUE(SimpleReturns({{kNaN, 2, 3, 6}}, out).ok());
  ExpectSeriesNear(out, {kNaN, kNaN, 0.5, 1});
  ASSERT_TRUE(SimpleReturns({}, {}).ok());
  std::vector<double> short_out(3);
  EXPECT_EQ(LogReturns({{1, 2, 3, 4}}, short_out).code(), StatusCode::kInvalidArgument);
}

TEST(RollingVolatilityTest, AnnualisedSampleDeviationOfLogReturns) {
  const std::vector<double> price = {100, 101, 99, 102, 102};
  std::vector<double> out(price.size());
  ASSERT_TRUE(RollingVolatility(price, 2, out, 252).ok());
  const auto vol = [](double a, double b) {
    const double mean = (a + b) / 2;
    return std::sqrt(((a - mean) * (a - mean) + (b - mean) * (b - mean)) / 1.0) * std::sqrt(252.0);
  };
  const double r1 = std::log(1.01), r2 = std::log(99.0 / 101), r3 = std::log(102.0 / 99), r4 = 0.0;
  ExpectSeriesNear(out, {kNaN, kNaN, vol(r1, r2), vol(r2, r3), vol(r3, r4)});
}

TEST(RollingVolatilityTest, MatchesDirectComputationAndRestartsAtGaps) {
  std::vector<double> price = RandomWalk(5000, 23);
  price[2500] = kNaN;
  std::vector<double> out(price.size());
  ASSERT_TRUE(RollingVolatility(price, 20, out).ok());
  for (size_t i = 0; i < price.size(); ++i) {
    const bool warm = (i >= 20 && i < 2500) || i >= 2501 + 20;
    if (!warm) {
      ASSERT_TRUE(std::isnan(out[i])) << i;
      continue;
    }
    double mean = 0.0;
    for (size_t j = i - 19; j <= i; ++j) mean += std::log(price[j] / price[j - 1]);
    mean /= 20;
    double variance = 0.0;
    for (size_t j = i - 19; j <= i; ++j) {
      const double r = std::log(price[j] / price[j - 1]);
      variance += (r - mean) * (r - mean);
    }
    ASSERT_NEAR(out[i], std::sqrt(variance / 19) * std::sqrt(252.0), 1e-11) << i;
  }
  EXPECT_EQ(RollingVolatility(price, 1, out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RollingVolatility(price, 20, out, 0.0).code(), StatusCode::kInvalidArgument);
}

TEST(ObvTest, AddsOnUpTakesOnDownKeepsOnFlat) {
  std::vector<double> out(5);
  ASSERT_TRUE(Obv({{1, 2, 2, 1, 3}}, {{10, 20, 30, 40, 50}}, out).ok());
  ExpectSeriesNear(out, {10, 30, 30, -10, 40});
  ASSERT_TRUE(Obv({{1, 2, kNaN, 1, 3}}, {{10, 20, 30, 40, 50}}, out).ok());
  ExpectSeriesNear(out, {10, 30, kNaN, 40, 90});
  std::vector<double> short_volume(4);
  EXPECT_EQ(Obv({{1, 2, 2, 1, 3}}, short_volume, out).code(), StatusCode::kInvalidArgument);
}

TEST(VwapTest, CumulatesPerSessionAndSkipsBadBars) {
  const std::vector<double> high = {11, 12, 13, 20, 22, 21}, low = {9, 10, 11, 18, 20, 19},
                            close = {10, 11, 12, 19, 21, 20}, volume = {100, 300, 0, 0, 10, 30};
  const std::vector<int64_t> sessions = {1, 1, 1, 2, 2, 2};
  std::vector<double> out(6);
  ASSERT_TRUE(Vwap(high, low, close, volume, sessions, out).ok());
  ExpectSeriesNear(out, {10, (1000 + 3300) / 400.0, (1000 + 3300) / 400.0, kNaN, 21, (210 + 600) / 40.0});
  ASSERT_TRUE(Vwap(high, low, close, volume, {}, out).ok());
  EXPECT_NEAR(out[5], (1000 + 3300 + 210 + 600) / 440.0, 1e-12);
  std::vector<double> gap_close = close;
  gap_close[1] = kNaN;
  ASSERT_TRUE(Vwap(high, low, gap_close, volume, sessions, out).ok());
  ExpectSeriesNear(out, {10, kNaN, 10, kNaN, 21, (210 + 600) / 40.0});
  const std::vector<int64_t> short_sessions = {1, 1};
  EXPECT_EQ(Vwap(high, low, close, volume, short_sessions, out).code(), StatusCode::kInvalidArgument);
}

TEST(VolumeZScoreTest, UsesTheSampleDeviationOfTheWindowIncludingTheBar) {
  std::vector<double> out(6);
  ASSERT_TRUE(VolumeZScore({{1, 2, 3, 3, 3, 9}}, 3, out).ok());
  // Window {3, 3, 9}: mean 5, sample variance (4 + 4 + 16) / 2 = 12.
  ExpectSeriesNear(out, {kNaN, kNaN, 1, (3 - 8.0 / 3) / std::sqrt(1.0 / 3), 0, 4 / std::sqrt(12.0)});
  ASSERT_TRUE(VolumeZScore({{1, kNaN, 3, 4, 5, 5}}, 2, out).ok());
  // Windows {3, 4} and {4, 5}: sample deviation sqrt(0.5), z = 0.5 / sqrt(0.5).
  ExpectSeriesNear(out, {kNaN, kNaN, kNaN, std::sqrt(0.5), std::sqrt(0.5), 0});
  EXPECT_EQ(VolumeZScore({{1, 2, 3, 4, 5, 6}}, 1, out).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace finlake::analytics
