// Golden tests of adjustment.h against Yahoo's own `adjclose` in the real chart
// responses under ../shared/fixtures/yahoo (SOURCES.md there).
//
// A window's `events` only list the actions inside the window, but Yahoo's
// adjclose also carries every dividend from the window's end to the day of the
// fetch. So within one window adjclose = c x close x (our in-window factor),
// with c constant: c is the product of the later dividends' factors, and 1 when
// there are none. The tests check that c is constant to 1e-6 relative (the
// prices are float32 values, about 6e-8 relative each) and, where the fetch
// came before any later dividend, that c is 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "finlake/analytics/adjustment.h"
#include "testing/test_env.h"

namespace finlake::analytics {
namespace {

using std::chrono::sys_days;
using Action = CorporateAction;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Yahoo serves float32 prices (75.0875015258789): each carries up to 6e-8
// relative rounding, and a ratio of two adjcloses and two closes about 2.4e-7.
constexpr double kYahooTolerance = 1e-6;

sys_days Day(int y, unsigned m, unsigned d) {
  return sys_days(std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}});
}

struct Chart {
  std::string granularity;
  std::vector<sys_days> dates;
  std::vector<double> close;
  std::vector<double> adjclose;
  std::vector<Action> actions;
  std::vector<int64_t> dividend_keys;    // events.dividends keys, in the order of the dividends in `actions`
  std::vector<int64_t> dividend_stamps;  // their `date` fields
};

// The exchange's standard UTC offset. Daily bars are stamped at the session
// open (09:30 New York, 09:00 Berlin, 00:00 UTC) or, for the live bar, at the
// last trade, and dividend and split `date`s at the open of their ex-date; none
// is within an hour of local midnight, so a fixed offset (DST ignored) gives the
// exchange date of every stamp. GCC 12's <chrono> has no time-zone database.
int64_t StandardOffsetSeconds(const std::string& zone) {
  if (zone == "America/New_York") return -5 * 3600;
  if (zone == "Europe/Berlin") return 3600;
  if (zone == "UTC") return 0;
  ADD_FAILURE() << "no offset for time zone " << zone;
  return 0;
}

double Number(const nlohmann::json& value) { return value.is_null() ? kNaN : value.get<double>(); }

Chart LoadChart(const std::string& relative) {
  Chart chart;
  const std::string path = testing::SharedDir() + "/fixtures/yahoo/" + relative;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json body = nlohmann::json::parse(text.str());
  // node-yahoo-finance2 records wrap the body; yfinance-rs stores it raw.
  if (body.contains("response")) body = body["response"]["bodyJson"];
  const nlohmann::json& result = body["chart"]["result"][0];
  chart.granularity = result["meta"]["dataGranularity"].get<std::string>();
  const int64_t offset = StandardOffsetSeconds(result["meta"]["exchangeTimezoneName"].get<std::string>());
  const auto to_day = [&](int64_t stamp) {
    const std::chrono::sys_seconds local(std::chrono::seconds(stamp + offset));
    return sys_days(std::chrono::floor<std::chrono::days>(local));
  };
  const nlohmann::json& quote = result["indicators"]["quote"][0];
  const nlohmann::json& adjclose = result["indicators"]["adjclose"][0]["adjclose"];
  for (size_t i = 0; i < result["timestamp"].size(); ++i) {
    chart.dates.push_back(to_day(result["timestamp"][i].get<int64_t>()));
    chart.close.push_back(Number(quote["close"][i]));
    chart.adjclose.push_back(Number(adjclose[i]));
  }
  if (result.contains("events")) {
    const nlohmann::json& events = result["events"];
    if (events.contains("dividends")) {
      for (const auto& [key, dividend] : events["dividends"].items()) {
        chart.actions.push_back(
            Action::Dividend(to_day(dividend["date"].get<int64_t>()), dividend["amount"].get<double>()));
        chart.dividend_keys.push_back(std::stoll(key));
        chart.dividend_stamps.push_back(dividend["date"].get<int64_t>());
      }
    }
    if (events.contains("splits")) {
      for (const auto& [key, split] : events["splits"].items()) {
        chart.actions.push_back(Action::Split(to_day(split["date"].get<int64_t>()),
                                              split["numerator"].get<double>() / split["denominator"].get<double>()));
      }
    }
  }
  return chart;
}

struct Consistency {
  double c_first = kNaN;  // adjclose / ours at the first bar
  double c_last = kNaN;   // and at the last
  double spread = kNaN;   // max / min - 1 of the ratio over the window
};

// The ratio adjclose / ours over the bars with a finite close.
Consistency Compare(const Chart& chart, std::span<const double> ours) {
  Consistency result;
  double low = std::numeric_limits<double>::infinity();
  double high = -low;
  for (size_t i = 0; i < ours.size(); ++i) {
    if (!std::isfinite(ours[i]) || !std::isfinite(chart.adjclose[i])) continue;
    const double ratio = chart.adjclose[i] / ours[i];
    if (std::isnan(result.c_first)) result.c_first = ratio;
    result.c_last = ratio;
    low = std::min(low, ratio);
    high = std::max(high, ratio);
  }
  result.spread = high / low - 1.0;
  return result;
}

Consistency CheckBackAdjustedClose(const std::string& fixture, const Chart& chart) {
  std::vector<double> ours(chart.close.size());
  const Status status = BackAdjustedClose(chart.dates, chart.close, chart.actions, true, ours);
  EXPECT_TRUE(status.ok()) << fixture << ": " << status.ToString();
  const Consistency result = Compare(chart, ours);
  // Printed so that the figures in README.md can be checked.
  std::printf("[ yahoo    ] %s: %zu bars, c = %.9f, max relative deviation %.2e\n", fixture.c_str(),
              chart.close.size(), result.c_last, result.spread);
  return result;
}

TEST(AdjustmentYahooTest, MsftDividendsMatchUpToTheLaterDividends) {
  SKIP_WITHOUT_SHARED();
  const Chart chart =
      LoadChart("node-yahoo-finance2/historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json");
  ASSERT_EQ(chart.close.size(), 252u);
  ASSERT_EQ(chart.actions.size(), 4u);
  const Consistency result = CheckBackAdjustedClose("MSFT 2021-02-01..2022-01-31", chart);
  EXPECT_LT(result.spread, kYahooTolerance);
  // Fetched 2025-02-22: c holds MSFT's dividends after the window.
  EXPECT_NEAR(result.c_last, 0.97277, 1e-5);
  // Without the in-window dividends the ratio steps at each ex-date: the test
  // above is not passing trivially.
  std::vector<double> unadjusted(chart.close);
  EXPECT_GT(Compare(chart, unadjusted).spread, 5e-3);
}

TEST(AdjustmentYahooTest, AaplSplitOnTheFirstBarAndADividend) {
  SKIP_WITHOUT_SHARED();
  const Chart chart = LoadChart("node-yahoo-finance2/chart-AAPL-2020-08-31-to-2020-11-07.json");
  ASSERT_EQ(chart.actions.size(), 2u);
  // The 4:1 split's ex-date is the first bar: it changes no bar, on either scale.
  EXPECT_EQ(chart.dates.front(), Day(2020, 8, 31));
  const Consistency result = CheckBackAdjustedClose("AAPL 2020-08-31..2020-11-06", chart);
  EXPECT_LT(result.spread, kYahooTolerance);
  EXPECT_NEAR(result.c_last, 0.976781, 1e-6) << "AAPL dividends after the window, to the 2025-02-20 fetch";
  std::vector<double> as_traded(chart.close.size());
  ASSERT_TRUE(BackAdjustedClose(chart.dates, chart.close, chart.actions, false, as_traded).ok());
  EXPECT_LT(Compare(chart, as_traded).spread, kYahooTolerance)
      << "no split after the first bar: as traded equals split-adjusted here";
}

TEST(AdjustmentYahooTest, AaplSixMonthsNeedsNoLaterDividend) {
  SKIP_WITHOUT_SHARED();
  const Chart chart = LoadChart("yfinance-rs/history_chart_AAPL.json");
  ASSERT_EQ(chart.close.size(), 127u);
  const Consistency result = CheckBackAdjustedClose("AAPL 6mo to 2025-10-29 (live bar)", chart);
  EXPECT_LT(result.spread, kYahooTolerance);
  // The fetch (2025-10-29) came before AAPL's next ex-date, so c is 1: Yahoo's
  // adjclose is exactly the in-window computation, live bar included.
  EXPECT_NEAR(result.c_first, 1.0, kYahooTolerance);
  EXPECT_EQ(chart.adjclose.back(), chart.close.back());
}

TEST(AdjustmentYahooTest, WindowsWithoutEventsHaveAConstantRatio) {
  SKIP_WITHOUT_SHARED();
  struct Case {
    const char* file;
    double c;  // expected adjclose / close
  };
  const Case cases[] = {
      // One bar, fetched 2025-02-20: c is AAPL's dividends 2020-02-07..2025-02-10.
      {"node-yahoo-finance2/chart-AAPL-2020-01-01-to-2020-01-03.json", 0.968418},
      {"node-yahoo-finance2/chart-BTC-USD-2020-01-01-to-2020-01-03.json", 1.0},  // no dividends ever
      {"yfinance-rs/history_chart_GS2C.DE.json", 1.0},                           // 5d window, live bar last
  };
  for (const Case& c : cases) {
    const Chart chart = LoadChart(c.file);
    ASSERT_TRUE(chart.actions.empty()) << c.file;
    const Consistency result = CheckBackAdjustedClose(c.file, chart);
    EXPECT_LT(result.spread, kYahooTolerance) << c.file;
    EXPECT_NEAR(result.c_last, c.c, 1e-6) << c.file;
  }
}

// NVDA's four 2021 dividends, which the fixture does not carry: its request
// asked for events=split only. Paid $0.16, $0.16 (before the 4:1 split of
// 2021-07-20) and $0.04, $0.04 (after); NVDA split 10:1 again on 2024-06-10.
const sys_days kNvdaDividendDates[] = {Day(2021, 3, 9), Day(2021, 6, 9), Day(2021, 8, 31), Day(2021, 12, 1)};
const double kNvdaDividendsAsPaid[] = {0.16, 0.16, 0.04, 0.04};
const sys_days kNvdaSplit2021 = Day(2021, 7, 20);
const sys_days kNvdaSplit2024 = Day(2024, 6, 10);

TEST(AdjustmentYahooTest, NvdaAdjcloseCarriesDividendsTheResponseOmits) {
  SKIP_WITHOUT_SHARED();
  Chart chart = LoadChart("node-yahoo-finance2/historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json");
  ASSERT_EQ(chart.close.size(), 252u);
  ASSERT_EQ(chart.actions.size(), 1u);
  EXPECT_EQ(chart.actions[0].ex_date, kNvdaSplit2021);
  EXPECT_EQ(chart.actions[0].split_ratio, 4.0);
  // With the response's events only, the ratio steps at the four ex-dates.
  std::vector<double> ours(chart.close.size());
  ASSERT_TRUE(BackAdjustedClose(chart.dates, chart.close, chart.actions, true, ours).ok());
  EXPECT_GT(Compare(chart, ours).spread, 8e-4);
  // With them, on Yahoo's fetch scale (0.16 / 40 = 0.04 / 10 = 0.004), it is constant.
  for (const sys_days date : kNvdaDividendDates) chart.actions.push_back(Action::Dividend(date, 0.004));
  const Consistency result = CheckBackAdjustedClose("NVDA 2021-02-01..2022-01-28 (+4 dividends)", chart);
  EXPECT_LT(result.spread, kYahooTolerance);
  EXPECT_NEAR(result.c_last, 0.998340, 1e-6) << "NVDA dividends after the window, to the 2025-02-22 fetch";
}

TEST(AdjustmentYahooTest, NvdaAsTradedRoundTrip) {
  SKIP_WITHOUT_SHARED();
  const Chart chart =
      LoadChart("node-yahoo-finance2/historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json");
  // Undo Yahoo's split adjustment: the as-traded close of 2021 is 40 times
  // Yahoo's before the 2021 split and 10 times after it.
  std::vector<Action> actions = {Action::Split(kNvdaSplit2021, 4.0), Action::Split(kNvdaSplit2024, 10.0)};
  for (size_t k = 0; k < 4; ++k) actions.push_back(Action::Dividend(kNvdaDividendDates[k], kNvdaDividendsAsPaid[k]));
  std::vector<double> traded(chart.close.size());
  for (size_t i = 0; i < traded.size(); ++i) {
    traded[i] = chart.close[i] * (chart.dates[i] < kNvdaSplit2021 ? 40.0 : 10.0);
  }
  // A 2021-07-19 close near $750, as traded (Yahoo: 18.78).
  EXPECT_NEAR(traded[116], 751.19, 0.01);
  std::vector<double> split_adjusted = traded;
  ASSERT_TRUE(SplitAdjust(chart.dates, actions, {}, {}, {}, split_adjusted, {}).ok());
  for (size_t i = 0; i < traded.size(); ++i) ASSERT_NEAR(split_adjusted[i], chart.close[i], 1e-15 * traded[i]);
  std::vector<double> ours(traded.size());
  ASSERT_TRUE(BackAdjustedClose(chart.dates, traded, actions, false, ours).ok());
  const Consistency result = Compare(chart, ours);
  std::printf("[ yahoo    ] NVDA as traded: c = %.9f, max relative deviation %.2e\n", result.c_last, result.spread);
  EXPECT_LT(result.spread, kYahooTolerance);
  EXPECT_NEAR(result.c_last, 0.998340, 1e-6);
}

TEST(AdjustmentYahooTest, VfinxQuarterlyBarsAreNotUsable) {
  SKIP_WITHOUT_SHARED();
  const Chart chart = LoadChart("yfinance-rs/history_chart_VFINX.json");
  // range=max coarsens to quarterly bars stamped at the quarter's start: an
  // ex-date inside a quarter is neither before nor after its bar, and the
  // close before an ex-date is not in the series. No exact check exists.
  EXPECT_EQ(chart.granularity, "3mo");
  ASSERT_EQ(chart.close.size(), 164u);
  // And the dividends themselves are garbled: the 164 keys are the 164 bar
  // stamps (1985-01 .. 2025-10) while the `date` fields run 1980-06-27 ..
  // 2020-09-28 and then 2025-09-29; not one falls in its key's quarter.
  ASSERT_EQ(chart.dividend_keys.size(), 164u);
  int64_t inside_own_quarter = 0;
  for (size_t k = 0; k < chart.dividend_keys.size(); ++k) {
    const int64_t start = chart.dividend_keys[k];
    inside_own_quarter += chart.dividend_stamps[k] >= start && chart.dividend_stamps[k] < start + 92 * 86400;
  }
  EXPECT_EQ(inside_own_quarter, 0);
  // What does hold: adjclose / close never falls over time (a dividend only
  // lowers the bars before it) and is 1 at the last bar (no dividend between
  // 2025-09-29 and the 2025-10-29 fetch).
  for (size_t i = 1; i < chart.close.size(); ++i) {
    EXPECT_LE(chart.adjclose[i - 1] / chart.close[i - 1], chart.adjclose[i] / chart.close[i] * (1 + 1e-7)) << i;
  }
  EXPECT_EQ(chart.adjclose.back(), chart.close.back());
  EXPECT_NEAR(chart.adjclose.front() / chart.close.front(), 0.394268, 1e-6) << "40 years of reinvested dividends";
}

}  // namespace
}  // namespace finlake::analytics
