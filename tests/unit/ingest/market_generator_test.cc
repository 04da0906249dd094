#include "finlake/ingest/market_generator.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace finlake::ingest {
namespace {

using calendar::ParseDay;
using nlohmann::json;

MarketGenerator Nyse(uint64_t seed = 7) {
  return MarketGenerator(calendar::ExchangeCalendar::Builtin("XNYS").value(), seed);
}

int64_t Epoch(const std::string& day) { return std::chrono::sys_seconds(ParseDay(day).value()).time_since_epoch().count(); }

TEST(MarketGenerator, SameSeedSameMarketAndBarsOnlyOnSessions) {
  auto a = Nyse().Daily("SYN0001", ParseDay("2024-01-01").value(), ParseDay("2024-12-31").value());
  auto b = Nyse().Daily("SYN0001", ParseDay("2024-01-01").value(), ParseDay("2024-12-31").value());
  ASSERT_EQ(a.bars.size(), 252u) << "NYSE had 252 sessions in 2024";
  EXPECT_EQ(a.bars[100].close, b.bars[100].close);
  EXPECT_NE(a.bars[100].close, Nyse(8).Daily("SYN0001", a.bars[100].date, a.bars[100].date).bars[0].close);
  for (const auto& bar : a.bars) {
    EXPECT_LE(bar.low, std::min(bar.open, bar.close));
    EXPECT_GE(bar.high, std::max(bar.open, bar.close));
    EXPECT_GT(bar.volume, 0);
  }
  EXPECT_TRUE(Nyse().Daily("SYN0001", ParseDay("2024-07-04").value(), ParseDay("2024-07-04").value()).bars.empty());
}

TEST(MarketGenerator, EarlyClosesHaveShortSessions) {
  EXPECT_EQ(Nyse().Minutes("SYN0002", ParseDay("2024-11-29").value()).size(), 210u) << "09:30-13:00";
  EXPECT_EQ(Nyse().Minutes("SYN0002", ParseDay("2024-11-27").value()).size(), 390u);
  EXPECT_TRUE(Nyse().Minutes("SYN0002", ParseDay("2024-11-28").value()).empty()) << "Thanksgiving";
}

TEST(MarketGenerator, YahooViewIsSplitAdjustedAsOfTheRequest) {
  MarketGenerator generator = Nyse();
  // Find a symbol and a split in the walk.
  for (int i = 1; i <= 200; ++i) {
    std::string symbol = MarketGenerator::SymbolName(i);
    auto series = generator.Daily(symbol, ParseDay("2005-01-01").value(), ParseDay("2024-12-31").value());
    auto split = std::find_if(series.actions.begin(), series.actions.end(), [](const auto& a) { return a.split; });
    if (split == series.actions.end()) continue;
    std::string ex = calendar::FormatDay(split->ex_date);
    int64_t from = Epoch(ex) - 10 * 86400, to = Epoch(ex) - 86400;
    int status = 0;
    json before = json::parse(generator.YahooChart(symbol, "1d", from, to, Epoch(ex) - 86400, &status));
    json after = json::parse(generator.YahooChart(symbol, "1d", from, to, Epoch(ex) + 30 * 86400, &status));
    double close_before = before["chart"]["result"][0]["indicators"]["quote"][0]["close"].back();
    double close_after = after["chart"]["result"][0]["indicators"]["quote"][0]["close"].back();
    EXPECT_NEAR(close_before / close_after, split->ratio, 1e-9) << symbol << " split " << ex;
    EXPECT_TRUE(after["chart"]["result"][0]["events"].is_null() ||
                !after["chart"]["result"][0]["events"].contains("splits"))
        << "the split is after the window";
    return;
  }
  FAIL() << "no split in 200 symbols x 20 years";
}

TEST(MarketGenerator, AdjustedCloseAddsDividends) {
  MarketGenerator generator = Nyse();
  int status = 0;
  json answer = json::parse(generator.YahooChart("SYN0001", "1d", Epoch("2023-01-01"), Epoch("2024-01-01"),
                                                 Epoch("2024-06-01"), &status));
  const json& result = answer["chart"]["result"][0];
  ASSERT_TRUE(result["events"].contains("dividends")) << "SYN0001 pays dividends";
  double close = result["indicators"]["quote"][0]["close"][0];
  double adjusted = result["indicators"]["adjclose"][0]["adjclose"][0];
  EXPECT_LT(adjusted, close) << "dividends after the first bar lower its adjusted close";
}

}  // namespace
}  // namespace finlake::ingest
