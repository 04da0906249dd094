// Helpers for the analytics tests: NaN-aware comparisons and a seeded random walk.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace finlake::analytics::testing {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Every element equal within `tolerance` relative to max(|expected|, 1); NaN only
// where NaN is expected.
inline void ExpectSeriesNear(const std::vector<double>& actual, const std::vector<double>& expected,
                             double tolerance = 1e-12) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(actual[i])) << "index " << i << ": expected NaN, got " << actual[i];
    } else {
      EXPECT_NEAR(actual[i], expected[i], tolerance * std::max(1.0, std::fabs(expected[i]))) << "index " << i;
    }
  }
}

// A geometric random walk around 100 with 1% steps.
inline std::vector<double> RandomWalk(size_t n, uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<double> step(0.0, 0.01);
  std::vector<double> prices(n);
  double log_price = std::log(100.0);
  for (double& price : prices) {
    log_price += step(generator);
    price = std::exp(log_price);
  }
  return prices;
}

}  // namespace finlake::analytics::testing
