#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <vector>

#include "analytics/indicator_test_util.h"
#include "finlake/analytics/indicators.h"

namespace finlake::analytics {
namespace {

using testing::RandomWalk;

// Symbols of 0 to 300 bars, some shorter than the EMA's window.
std::vector<int64_t> RandomOffsets(size_t symbols, uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::uniform_int_distribution<int64_t> length(0, 300);
  std::vector<int64_t> offsets = {0};
  for (size_t s = 0; s < symbols; ++s) offsets.push_back(offsets.back() + length(generator));
  return offsets;
}

TEST(ForEachSymbolTest, ThreadsGiveTheSameResultAsOneSeriesAtATime) {
  const std::vector<int64_t> offsets = RandomOffsets(200, 1);
  const int64_t bars = offsets.back();
  const std::vector<double> close = RandomWalk(static_cast<size_t>(bars), 2);
  std::vector<double> expected(close.size());
  for (size_t s = 0; s + 1 < offsets.size(); ++s) {
    const size_t b = offsets[s], e = offsets[s + 1];
    ASSERT_TRUE(Ema(std::span(close).subspan(b, e - b), 20, std::span(expected).subspan(b, e - b)).ok());
  }
  for (int32_t threads : {1, 2, 3, 7}) {
    std::vector<double> out(close.size(), -1.0);
    std::atomic<int64_t> calls = 0;
    const Status status = ForEachSymbol(offsets, bars, threads, [&](int64_t b, int64_t e) {
      ++calls;
      return Ema(std::span(close).subspan(b, e - b), 20, std::span(out).subspan(b, e - b));
    });
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(calls.load(), 200);
    for (size_t i = 0; i < close.size(); ++i) {
      ASSERT_TRUE(out[i] == expected[i] || (std::isnan(out[i]) && std::isnan(expected[i]))) << threads << " " << i;
    }
  }
}

TEST(ForEachSymbolTest, ReportsTheLowestFailingSymbol) {
  const std::vector<int64_t> offsets = {0, 10, 20, 30, 40};
  const Status status = ForEachSymbol(offsets, 40, 4, [&](int64_t b, int64_t e) {
    return b >= 10 ? Status::InvalidArgument("no data") : Status::Ok();
  });
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("symbol 1 (bars 10..20): no data"), std::string::npos) << status.message();
}

TEST(ForEachSymbolTest, RejectsBadOffsetsAndThreadCounts) {
  const auto ok = [](int64_t, int64_t) { return Status::Ok(); };
  const std::vector<int64_t> decreasing = {0, 10, 5, 20};
  const std::vector<int64_t> good = {0, 10, 20};
  EXPECT_EQ(ForEachSymbol(decreasing, 20, 2, ok).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ForEachSymbol(good, 21, 2, ok).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ForEachSymbol({}, 0, 2, ok).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ForEachSymbol(good, 20, 0, ok).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ForEachSymbol(good, 20, 100000, ok).code(), StatusCode::kInvalidArgument);
  const std::vector<int64_t> no_symbols = {0};
  EXPECT_TRUE(ForEachSymbol(no_symbols, 0, 4, ok).ok());
}

}  // namespace
}  // namespace finlake::analytics
