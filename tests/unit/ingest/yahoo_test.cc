#include "finlake/ingest/yahoo.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "testing/test_env.h"

namespace finlake::ingest {
namespace {

constexpr int64_t kDay = 86400;

TEST(YahooPlan, IntradayWindowsFollowTheDepthLimits) {
  const int64_t now = 1763600000;
  ChartRequest request{"AAPL", "1m", std::nullopt, now - 20 * kDay, now};
  auto windows = YahooConnector::PlanWindows(request, now);
  ASSERT_TRUE(windows.ok()) << windows.status().ToString();
  ASSERT_EQ(windows->size(), 3u) << "20 days of 1m bars is three requests of at most 8 days";
  EXPECT_EQ((*windows)[0].period2 - (*windows)[0].period1, 8 * kDay);
  EXPECT_EQ(windows->back().period2, now);
  request.period1 = now - 40 * kDay;
  auto too_deep = YahooConnector::PlanWindows(request, now);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.status().message().find("30 days"), std::string::npos);
  ChartRequest daily{"AAPL", "1d", std::nullopt, now - 3650 * kDay, now};
  EXPECT_EQ(YahooConnector::PlanWindows(daily, now)->size(), 1u);
  ChartRequest bad{"AAPL", "7d", std::string("5d"), 0, 0};
  EXPECT_FALSE(YahooConnector::PlanWindows(bad, now).ok());
}

TEST(YahooClassify, ErrorsAndShapes) {
  std::string message;
  int64_t bars = 0;
  EXPECT_EQ(YahooConnector::ClassifyChart(
                404, R"({"chart":{"result":null,"error":{"code":"Not Found","description":"No data found"}}})",
                &message, &bars),
            FetchStatus::kNotFound);
  EXPECT_EQ(YahooConnector::ClassifyChart(
                401, R"({"finance":{"result":null,"error":{"code":"Unauthorized","description":"Invalid Crumb"}}})",
                &message, &bars),
            FetchStatus::kUnauthorized);
  EXPECT_EQ(YahooConnector::ClassifyChart(200, "<html>Will be right back</html>", &message, &bars),
            FetchStatus::kMalformed);
  EXPECT_EQ(YahooConnector::ClassifyChart(
                200, R"({"chart":{"result":[{"meta":{},"indicators":{"quote":[{}]}}],"error":null}})", &message, &bars),
            FetchStatus::kEmpty);
  EXPECT_EQ(YahooConnector::ClassifyChart(
                200,
                R"({"chart":{"result":[{"timestamp":[1,2],"indicators":{"quote":[{"open":[1,null],"high":[1,null],"low":[1,null],"close":[1,null],"volume":[1,null]}]}}],"error":null}})",
                &message, &bars),
            FetchStatus::kOk);
  EXPECT_EQ(bars, 2) << "null bars are bars: silver decides what they mean";
}

std::string ReadFixture(const std::string& relative) {
  std::ifstream in(testing::SharedDir() + "/fixtures/yahoo/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(YahooClassify, RealCapturesAndEveryTruncationOfOne) {
  SKIP_WITHOUT_SHARED();
  std::string message;
  int64_t bars = 0;
  std::string body = ReadFixture("yfinance-rs/history_chart_AAPL.json");
  ASSERT_EQ(YahooConnector::ClassifyChart(200, body, &message, &bars), FetchStatus::kOk) << message;
  EXPECT_EQ(bars, 127);
  for (size_t length = 0; length < body.size(); length += 7) {
    FetchStatus status = YahooConnector::ClassifyChart(200, body.substr(0, length), &message, &bars);
    EXPECT_EQ(status, FetchStatus::kMalformed) << "a truncated body at " << length << " bytes";
  }
}

}  // namespace
}  // namespace finlake::ingest
