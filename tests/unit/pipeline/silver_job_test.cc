#include "finlake/pipeline/silver_job.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "finlake/ingest/bronze_landing.h"
#include "testing/test_env.h"
#include "testing/test_lake.h"

namespace finlake::pipeline {
namespace {

using json = nlohmann::json;

// 2020-01-02 .. 2020-01-10, NYSE sessions, 14:30Z opens (EST).
constexpr int64_t kJan2Open = 1577975400;
constexpr int64_t kDay = 86400;

struct Bar {
  int64_t stamp;
  double open, high, low, close;
  int64_t volume;
};

// A Yahoo v8 daily chart answer.
std::string Chart(const std::string& symbol, const std::vector<Bar>& bars, const json& events = json::object(),
                  const std::string& currency = "USD") {
  json ts = json::array(), o = json::array(), h = json::array(), l = json::array(), c = json::array(),
       v = json::array();
  for (const Bar& b : bars) {
    ts.push_back(b.stamp);
    o.push_back(b.open);
    h.push_back(b.high);
    l.push_back(b.low);
    c.push_back(b.close);
    v.push_back(b.volume);
  }
  json result = {{"meta",
                  {{"symbol", symbol},
                   {"currency", currency},
                   {"exchangeName", "NMS"},
                   {"instrumentType", "EQUITY"},
                   {"exchangeTimezoneName", "America/New_York"},
                   {"dataGranularity", "1d"}}},
                 {"timestamp", ts},
                 {"indicators", {{"quote", {{{"open", o}, {"high", h}, {"low", l}, {"close", c}, {"volume", v}}}}}}};
  if (!events.empty()) result["events"] = events;
  return json{{"chart", {{"result", {result}}, {"error", nullptr}}}}.dump();
}

class SilverJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lake_ = testing::NewLake(dir_.path() + "/lake");
  }

  void Land(const std::string& source, const std::string& symbol, const std::string& payload, int64_t fetched_at_s,
            const std::string& key = "") {
    ingest::RawRecord record;
    record.symbol = symbol;
    record.request_key = key.empty() ? json{{"api", "chart"}, {"symbol", symbol}, {"interval", "1d"},
                                            {"fetched", fetched_at_s}}.dump()
                                     : key;
    record.logical_date = "2020-01-02";
    record.region = "us";
    record.fetched_at_ms = fetched_at_s * 1000;
    record.http_status = 200;
    record.content_type = "application/json";
    record.payload = payload;
    ingest::BronzeLanding landing(lake_.get());
    auto landed = landing.Land(source, {record});
    ASSERT_TRUE(landed.ok()) << landed.status().ToString();
  }

  SilverResult Run(int64_t now_s = 1700000000) {
    SilverOptions options;
    options.now_ms = now_s * 1000;
    auto result = RunSilverBars(lake_.get(), options);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : SilverResult{};
  }

  std::vector<std::vector<std::string>> Rows(const std::string& table, const std::string& select,
                                             const std::string& rest = "ORDER BY ALL") {
    auto connection = lake_->Connect().value();
    auto t = lake_->OpenTable(table).value();
    auto scan = t->ScanSql(t->Load().value()).value();
    auto result = connection->Query("SELECT " + select + " FROM (" + scan + ") AS t " + rest).value();
    std::vector<std::vector<std::string>> rows;
    for (int64_t r = 0; r < result->row_count(); ++r) {
      std::vector<std::string> row;
      for (int64_t c = 0; c < result->column_count(); ++c) row.push_back(result->GetString(c, r));
      rows.push_back(row);
    }
    return rows;
  }

  int64_t Version(const std::string& table) { return lake_->OpenTable(table).value()->Load().value().version; }

  testing::ScratchDir dir_;
  std::unique_ptr<sql::Lake> lake_;
};

TEST_F(SilverJobTest, OneRowPerSessionTheLatestCompleteFetchWinsAndLiveBarsWait) {
  int64_t open = kJan2Open, close_s = kJan2Open + 6 * 3600 + 1800;  // 16:00 ET.
  // During the session: a live bar stamped with the last trade time.
  Land("yahoo", "AAPL", Chart("AAPL", {{open + 3600, 74.0, 75.0, 73.5, 74.5, 1000}}), open + 3600);
  SilverResult live = Run(open + 3600);
  ASSERT_EQ(live.sources.size(), 1u);
  EXPECT_EQ(live.sources[0].held_back, 1);
  EXPECT_TRUE(Rows("silver.bars_1d", "symbol").empty());
  // After the close, and again the next day with a vendor correction.
  Land("yahoo", "AAPL", Chart("AAPL", {{open, 74.06, 75.15, 73.8, 75.09, 135480400}}), close_s + 60);
  Land("yahoo", "AAPL", Chart("AAPL", {{open, 74.06, 75.15, 73.8, 75.0875, 135480400}}), close_s + kDay);
  SilverResult done = Run(close_s + kDay + 60);
  EXPECT_EQ(done.sources[0].rows_inserted, 1);
  EXPECT_EQ(Rows("silver.bars_1d", "symbol, session_date::VARCHAR, ts::VARCHAR, close, adj_close, source"),
            (std::vector<std::vector<std::string>>{
                {"AAPL", "2020-01-02", "2020-01-02 21:00:00+00", "75.0875", "75.0875", "yahoo"}}));
  // Nothing new: nothing written.
  int64_t version = Version("silver.bars_1d");
  SilverResult again = Run(close_s + 2 * kDay);
  EXPECT_EQ(again.sources[0].payloads, 0);
  EXPECT_EQ(Version("silver.bars_1d"), version);
}

TEST_F(SilverJobTest, BrokenRowsAreQuarantinedWithTheirRule) {
  std::vector<Bar> bars = {
      {kJan2Open, 10, 11, 9, 10.5, 100},            // good
      {kJan2Open + kDay, 10, 10.2, 9, 10.5, 100},    // high below close
      {kJan2Open + 2 * kDay, 10, 11, 10.2, 10.5, 100},  // low above open
      {kJan2Open + 5 * kDay, -1, 11, 9, 10.5, 100},  // negative price (Tue Jan 7)
      {kJan2Open + 6 * kDay, 10, 11, 9, 10.5, -5},   // negative volume (Wed Jan 8)
      {kJan2Open + 3 * kDay, 10, 11, 9, 10.5, 100},  // Saturday
      {kJan2Open + 7 * kDay, 10, 40, 9, 35, 100},    // +233% with no action (Thu Jan 9)
  };
  Land("yahoo", "BAD", Chart("BAD", bars), kJan2Open + 30 * kDay);
  Land("yahoo", "WORSE", "{\"chart\": 7}", kJan2Open + 30 * kDay);
  SilverResult result = Run(kJan2Open + 31 * kDay);
  EXPECT_EQ(result.sources[0].payloads_unreadable, 1);
  EXPECT_EQ(Rows("silver.bars_1d", "session_date::VARCHAR"), (std::vector<std::vector<std::string>>{{"2020-01-02"}}));
  EXPECT_EQ(Rows("silver.quarantine", "symbol, rule, source, source_table"),
            (std::vector<std::vector<std::string>>{
                {"BAD", "high_ge_open_close", "yahoo", "bronze.yahoo_raw"},
                {"BAD", "jump_without_corporate_action", "yahoo", "bronze.yahoo_raw"},
                {"BAD", "low_le_open_close", "yahoo", "bronze.yahoo_raw"},
                {"BAD", "prices_positive", "yahoo", "bronze.yahoo_raw"},
                {"BAD", "session_of_exchange", "yahoo", "bronze.yahoo_raw"},
                {"BAD", "volume_non_negative", "yahoo", "bronze.yahoo_raw"},
                {"WORSE", "payload_parses", "yahoo", "bronze.yahoo_raw"}}));
  auto detail = Rows("silver.quarantine", "detail", "WHERE rule = 'high_ge_open_close'");
  EXPECT_EQ(detail[0][0], "high 10.2 is below max(open 10, close 10.5)");
  // The row as the source sent it, parsable JSON.
  auto row = json::parse(Rows("silver.quarantine", "row", "WHERE rule = 'volume_non_negative'")[0][0]);
  EXPECT_EQ(row["volume"], -5);
  // A rerun quarantines nothing twice.
  Run(kJan2Open + 32 * kDay);
  EXPECT_EQ(Rows("silver.quarantine", "count(*)", ""), (std::vector<std::vector<std::string>>{{"7"}}));
}

TEST_F(SilverJobTest, ASplitFoundLaterRescalesTheStoredHistory) {
  // Fetched on Jan 3 (before the split): as traded, ~400.
  Land("yahoo", "SPL", Chart("SPL", {{kJan2Open, 400, 410, 390, 404, 1000}, {kJan2Open + kDay, 404, 412, 400, 408, 1000}}),
       kJan2Open + kDay + 8 * 3600);
  Run(kJan2Open + kDay + 9 * 3600);
  // Fetched on Jan 8: a 4:1 split on Jan 6 and a dividend on Jan 7; Yahoo's prices
  // are split-adjusted as of the fetch, the old sessions included.
  json events = {{"splits", {{std::to_string(kJan2Open + 4 * kDay),
                              {{"date", kJan2Open + 4 * kDay}, {"numerator", 4}, {"denominator", 1}, {"splitRatio", "4:1"}}}}},
                 {"dividends", {{std::to_string(kJan2Open + 5 * kDay), {{"amount", 0.5}, {"date", kJan2Open + 5 * kDay}}}}}};
  Land("yahoo", "SPL", Chart("SPL", {{kJan2Open + 4 * kDay, 102, 104, 100, 103, 4000},
                                   {kJan2Open + 5 * kDay, 103, 105, 101, 104, 4000}},
                             events),
       kJan2Open + 6 * kDay + 8 * 3600);
  Run(kJan2Open + 6 * kDay + 9 * 3600);
  auto rows = Rows("silver.bars_1d", "session_date::VARCHAR, open, close, volume, round(adj_close, 9)");
  // Old rows divided by 4 (volume times 4); adj_close: dividends before Jan 7
  // scaled by 1 - 0.5 / 103 (the close of Jan 6).
  double f = 1 - 0.5 / 103;
  auto text = [](double v) {
    std::ostringstream out;
    out.precision(9);
    out << std::fixed << v;
    std::string s = out.str();
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
  };
  EXPECT_EQ(rows, (std::vector<std::vector<std::string>>{
                      {"2020-01-02", "100.0", "101.0", "4000", text(101 * f)},
                      {"2020-01-03", "101.0", "102.0", "4000", text(102 * f)},
                      {"2020-01-06", "102.0", "103.0", "4000", text(103 * f)},
                      {"2020-01-07", "103.0", "104.0", "4000", "104.0"}}));
  EXPECT_EQ(Rows("silver.corporate_actions", "ex_date::VARCHAR, kind, split_ratio, cash_amount"),
            (std::vector<std::vector<std::string>>{{"2020-01-06", "split", "4.0", "0.0"},
                                                   {"2020-01-07", "dividend", "1.0", "0.5"}}));
}

TEST_F(SilverJobTest, HolidaysAreNotSessionsAndEarlyClosesStampTheirOwnClose) {
  // 2020-11-26 Thanksgiving (closed); 2020-11-27 closes at 13:00 ET = 18:00Z.
  constexpr int64_t kNov25Open = 1606314600;  // 09:30 EST.
  Land("yahoo", "HOL", Chart("HOL", {{kNov25Open, 10, 11, 9, 10.5, 100},
                                     {kNov25Open + kDay, 10.5, 11, 10, 10.6, 100},
                                     {kNov25Open + 2 * kDay, 10.6, 11, 10, 10.7, 100}}),
       kNov25Open + 5 * kDay);
  Run(kNov25Open + 5 * kDay);
  EXPECT_EQ(Rows("silver.bars_1d", "session_date::VARCHAR, ts::VARCHAR"),
            (std::vector<std::vector<std::string>>{{"2020-11-25", "2020-11-25 21:00:00+00"},
                                                   {"2020-11-27", "2020-11-27 18:00:00+00"}}));
  EXPECT_EQ(Rows("silver.quarantine", "rule, detail"),
            (std::vector<std::vector<std::string>>{{"session_of_exchange", "2020-11-26 is not a session of XNAS"}}));
}

TEST_F(SilverJobTest, PenceAreConvertedAndSourcePrecedenceDecides) {
  Land("yahoo", "TSCO.L", Chart("TSCO.L", {{kJan2Open, 250, 260, 245, 255, 100}}, json::object(), "GBp"),
       kJan2Open + 2 * kDay);
  std::string av = json{{"Meta Data", {{"2. Symbol", "TSCO.L"}, {"5. Time Zone", "US/Eastern"}}},
                        {"Time Series (Daily)",
                         {{"2020-01-02", {{"1. open", "2.6"}, {"2. high", "2.7"}, {"3. low", "2.5"},
                                          {"4. close", "2.65"}, {"5. volume", "100"}}},
                          {"2020-01-03", {{"1. open", "2.65"}, {"2. high", "2.7"}, {"3. low", "2.6"},
                                          {"4. close", "2.66"}, {"5. volume", "90"}}}}}}
                       .dump();
  Land("alphavantage", "TSCO.L", av, kJan2Open + 3 * kDay,
       json{{"api", "alphavantage"}, {"function", "TIME_SERIES_DAILY"}, {"symbol", "TSCO.L"}, {"datatype", "json"}}.dump());
  Run(kJan2Open + 4 * kDay);
  EXPECT_EQ(Rows("silver.bars_1d", "session_date::VARCHAR, close, currency, source"),
            (std::vector<std::vector<std::string>>{{"2020-01-02", "2.55", "GBP", "yahoo"},
                                                   {"2020-01-03", "2.66", "USD", "alphavantage"}}));
}

TEST_F(SilverJobTest, MinuteBarsLandInBars1mTheLiveMinuteWaitsAndALaterSplitRescalesThem) {
  auto minutes_chart = [](const std::string& symbol, int64_t first, int count, double price, const json& events) {
    std::vector<Bar> bars;
    for (int i = 0; i < count; ++i) bars.push_back({first + 60 * i, price, price + 1, price - 1, price + 0.5, 100});
    json body = json::parse(Chart(symbol, bars, events));
    body["chart"]["result"][0]["meta"]["dataGranularity"] = "1m";
    return body.dump();
  };
  auto key = [](int64_t fetched) {
    return json{{"api", "chart"}, {"symbol", "MIN"}, {"interval", "1m"}, {"fetched", fetched}}.dump();
  };
  // Fetched during the 3rd minute of Jan 2: the third bar is still live.
  Land("yahoo", "MIN", minutes_chart("MIN", kJan2Open, 3, 400, json::object()), kJan2Open + 150, key(kJan2Open + 150));
  SilverResult first = Run(kJan2Open + 200);
  EXPECT_EQ(first.sources[0].minute_bars, 3);
  EXPECT_EQ(first.sources[0].held_back, 1);
  EXPECT_EQ(Rows("silver.bars_1m", "ts::VARCHAR, session_date::VARCHAR, close, volume"),
            (std::vector<std::vector<std::string>>{{"2020-01-02 14:30:00+00", "2020-01-02", "400.5", "100"},
                                                   {"2020-01-02 14:31:00+00", "2020-01-02", "400.5", "100"}}));
  // Jan 8: a 2:1 split on Jan 6 appears; the stored minutes halve, volume doubles.
  json events = {{"splits", {{std::to_string(kJan2Open + 4 * kDay),
                              {{"date", kJan2Open + 4 * kDay}, {"numerator", 2}, {"denominator", 1}}}}}};
  Land("yahoo", "MIN", minutes_chart("MIN", kJan2Open + 6 * kDay, 2, 210, events), kJan2Open + 6 * kDay + 3600,
       key(kJan2Open + 6 * kDay + 3600));
  Run(kJan2Open + 6 * kDay + 7200);
  EXPECT_EQ(Rows("silver.bars_1m", "ts::VARCHAR, close, volume"),
            (std::vector<std::vector<std::string>>{{"2020-01-02 14:30:00+00", "200.25", "200"},
                                                   {"2020-01-02 14:31:00+00", "200.25", "200"},
                                                   {"2020-01-08 14:30:00+00", "210.5", "100"},
                                                   {"2020-01-08 14:31:00+00", "210.5", "100"}}));
}

TEST_F(SilverJobTest, AlphaVantageMinutesAsTradedLandInBars1mAtTheirStart) {
  auto key = [](const std::string& datatype, bool adjusted) {
    json k = {{"api", "alphavantage"}, {"function", "TIME_SERIES_INTRADAY"}, {"symbol", "IBM"}, {"interval", "1min"},
              {"datatype", datatype}, {"outputsize", "compact"}, {"extended_hours", false}};
    if (!adjusted) k["adjusted"] = false;
    return k.dump();
  };
  // Today's labels are minute starts (09:30 .. 15:59, EST = UTC-5 in January).
  std::string body = R"json({"Meta Data": {"1. Information": "Intraday (1min) open, high, low, close prices and volume",
      "2. Symbol": "IBM", "3. Last Refreshed": "2020-01-02 09:32:00", "4. Interval": "1min",
      "5. Output Size": "Compact", "6. Time Zone": "US/Eastern"},
    "Time Series (1min)": {
      "2020-01-02 09:32:00": {"1. open": "10.0", "2. high": "10.5", "3. low": "9.5", "4. close": "10.2", "5. volume": "30"},
      "2020-01-02 09:31:00": {"1. open": "10.0", "2. high": "10.5", "3. low": "9.5", "4. close": "10.1", "5. volume": "20"},
      "2020-01-02 09:30:00": {"1. open": "10.0", "2. high": "10.5", "3. low": "9.5", "4. close": "10.0", "5. volume": "10"},
      "2020-01-02 09:29:00": {"1. open": "x", "2. high": "10.5", "3. low": "9.5", "4. close": "10.0", "5. volume": "10"}}})json";
  // Fetched 09:32:30: the 09:32 minute is live. The malformed row is quarantined.
  Land("alphavantage", "IBM", body, kJan2Open + 150, key("json", false));
  // The API's default, dividend-adjusted minutes are not silver's scale: skipped.
  Land("alphavantage", "IBM", body, kJan2Open + 160, key("json", true));
  SilverResult result = Run(kJan2Open + 200);
  EXPECT_EQ(result.sources[0].minute_bars, 3);
  EXPECT_EQ(result.sources[0].held_back, 1);
  EXPECT_EQ(result.sources[0].quarantined, 1);
  EXPECT_EQ(result.sources[0].payloads_skipped, 1);
  EXPECT_EQ(Rows("silver.bars_1m", "ts::VARCHAR, session_date::VARCHAR, close, volume, source"),
            (std::vector<std::vector<std::string>>{{"2020-01-02 14:30:00+00", "2020-01-02", "10.0", "10", "alphavantage"},
                                                   {"2020-01-02 14:31:00+00", "2020-01-02", "10.1", "20", "alphavantage"}}));
  EXPECT_EQ(Rows("silver.quarantine", "rule"), (std::vector<std::vector<std::string>>{{"prices_not_null"}}));
  // A CSV whose labels are minute ends (16:00 present, 09:30 absent): 16:00 is the
  // 15:59 minute.
  Land("alphavantage", "IBM",
       "timestamp,open,high,low,close,volume\r\n2020-01-03 16:00:00,11,11.5,10.5,11.25,5\r\n"
       "2020-01-03 15:59:00,11,11.5,10.5,11,5\r\n",
       kJan2Open + kDay + 8 * 3600, key("csv", false));
  Run(kJan2Open + kDay + 8 * 3600 + 60);
  EXPECT_EQ(Rows("silver.bars_1m", "ts::VARCHAR, close", "WHERE session_date = DATE '2020-01-03' ORDER BY ts"),
            (std::vector<std::vector<std::string>>{{"2020-01-03 20:58:00+00", "11.0"}, {"2020-01-03 20:59:00+00", "11.25"}}));
}

TEST_F(SilverJobTest, RealAlphaVantageIntradayFixtureOfTheOldApiLabelsMinuteEnds) {
  SKIP_WITHOUT_SHARED();
  std::ifstream in(testing::SharedDir() + "/fixtures/alphavantage/RomelTorres-alpha_vantage/mock_time_series.json");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  Land("alphavantage", "MSFT", text.str(), 1513630000,  // 2017-12-18 20:46Z, after the close.
       json{{"api", "alphavantage"}, {"function", "TIME_SERIES_INTRADAY"}, {"symbol", "MSFT"}, {"interval", "1min"},
            {"datatype", "json"}, {"adjusted", false}}.dump());
  SilverResult result = Run(1513630000 + 60);
  EXPECT_EQ(result.sources[0].minute_bars, 100);
  EXPECT_EQ(result.sources[0].quarantined, 0);
  // "Intraday (1min) prices and volumes" (2017): 13:17 .. 14:56 EST labels end
  // their minute, so the first bar starts 13:16 EST = 18:16Z.
  EXPECT_EQ(Rows("silver.bars_1m", "count(*), min(ts)::VARCHAR, max(ts)::VARCHAR", ""),
            (std::vector<std::vector<std::string>>{{"100", "2017-12-18 18:16:00+00", "2017-12-18 19:55:00+00"}}));
}

TEST_F(SilverJobTest, RealYahooFixturesBecomeSessionsWithYahoosAdjustedClose) {
  SKIP_WITHOUT_SHARED();
  std::string path = testing::SharedDir() +
                     "/fixtures/yahoo/node-yahoo-finance2/historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  json wrapper = json::parse(text.str());
  std::string body = wrapper["response"]["bodyJson"].dump();
  Land("yahoo", "MSFT", body, 1739700000);  // Recorded 2025-02-16.
  SilverResult result = Run(1739700000 + 60);
  EXPECT_EQ(result.sources[0].quarantined, 0);
  auto rows = Rows("silver.bars_1d", "count(*), min(session_date)::VARCHAR, max(session_date)::VARCHAR", "");
  EXPECT_EQ(rows, (std::vector<std::vector<std::string>>{{"252", "2021-02-01", "2022-01-28"}}));
  // Yahoo's adjclose also holds the dividends after the window (to 2025), a
  // constant factor here: finlake's adj_close / Yahoo's is the same every day.
  json adj = wrapper["response"]["bodyJson"]["chart"]["result"][0]["indicators"]["adjclose"][0]["adjclose"];
  auto ours = Rows("silver.bars_1d", "adj_close", "ORDER BY session_date");
  ASSERT_EQ(ours.size(), adj.size());
  double first = std::stod(ours[0][0]) / adj[0].get<double>();
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_NEAR(std::stod(ours[i][0]) / adj[i].get<double>() / first, 1.0, 1e-6) << "bar " << i;
  }
}

}  // namespace
}  // namespace finlake::pipeline
