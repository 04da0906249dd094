#include "finlake/sql/utc_calendar.h"

#include <gtest/gtest.h>

#include "finlake/sql/query_engine.h"
#include "testing/test_env.h"
#include "testing/test_lake.h"

namespace finlake::sql {
namespace {

using nlohmann::json;

// The fast path must give what DuckDB's ICU functions give in UTC, for every
// call it rewrites: each expression is computed over a lake table's timestamp
// column directly (rewritten) and through a subquery, where the column is no
// longer a lake column and the call runs as typed.
class UtcCalendarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lake_ = testing::NewLake(dir_.path() + "/lake");
    auto table = testing::CreatePlainTable(*lake_, "silver.times", {{"ts", "timestamp"}, {"label", "string"}});
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    // Instants around the edges calendars get wrong: before 1970, leap days, year,
    // month and week boundaries, microseconds, nulls; and 2,000 pseudo-random ones.
    ASSERT_TRUE((*table)
                    ->Append("SELECT ts::TIMESTAMPTZ AS ts, 'edge' AS label FROM (VALUES "
                             "('1969-12-31 23:59:59.999999+00'), ('1900-02-28 12:00:00+00'), "
                             "('2024-02-29 23:59:59.999999+00'), ('2024-12-31 23:59:59+00'), "
                             "('2025-01-01 00:00:00+00'), ('2021-01-03 10:30:00.5+00'), "
                             "('1582-10-15 00:00:00+00'), (NULL)) t(ts)")
                    .ok());
    ASSERT_TRUE((*table)
                    ->Append("SELECT make_timestamptz((hash(i) % 4000000000000000)::BIGINT - 1000000000000000) "
                             "AS ts, 'random' AS label FROM range(2000) t(i)")
                    .ok());
    engine_ = std::move(QueryEngine::Create(lake_.get()).value());
  }

  // The query's rows as text, and its rewritten SQL.
  std::pair<std::string, std::string> Rows(const std::string& sql) {
    auto prepared = engine_->Prepare(sql);
    EXPECT_TRUE(prepared.ok()) << sql << ": " << prepared.status().ToString();
    if (!prepared.ok()) return {};
    auto result = engine_->Run((*prepared)[0]);
    EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
    if (!result.ok()) return {};
    std::string text;
    for (int64_t r = 0; r < (*result)->row_count(); ++r) {
      for (int64_t c = 0; c < (*result)->column_count(); ++c) text += (*result)->GetString(c, r) + "|";
      text += "\n";
    }
    return {text, (*prepared)[0].sql};
  }

  testing::ScratchDir dir_;
  std::unique_ptr<Lake> lake_;
  std::unique_ptr<QueryEngine> engine_;
};

TEST_F(UtcCalendarTest, RewrittenCallsGiveWhatIcuGivesInUtc) {
  const std::vector<std::string> expressions = {
      "CAST(ts AS DATE)", "ts::DATE", "year(ts)", "month(ts)", "day(ts)", "hour(ts)", "minute(ts)", "second(ts)",
      "microsecond(ts)", "dayofweek(ts)", "dayofyear(ts)", "isoyear(ts)", "yearweek(ts)", "quarter(ts)",
      "extract(hour FROM ts)", "date_part('week', ts)", "date_part('isodow', ts)",
      "date_trunc('minute', ts)", "date_trunc('day', ts)", "date_trunc('week', ts)", "date_trunc('month', ts)",
      "date_trunc('quarter', ts)", "date_trunc('year', ts)", "time_bucket(INTERVAL '5 minutes', ts)",
      "time_bucket(INTERVAL '1 day', ts)", "time_bucket(INTERVAL '7 days', ts)",
      "time_bucket(INTERVAL '1 month', ts)", "typeof(date_trunc('hour', ts))",
      // Fixed-width grids in integer arithmetic, with and without an offset from the epoch.
      "date_trunc('hour', ts)", "date_trunc('second', ts)", "date_trunc('milliseconds', ts)",
      "date_trunc('us', ts)", "date_trunc('m', ts)", "time_bucket(INTERVAL '1 minute', ts)",
      "time_bucket(INTERVAL '7 minutes', ts)", "time_bucket(INTERVAL '26 hours', ts)",
      "time_bucket(INTERVAL '2 weeks 3 days', ts)", "time_bucket(INTERVAL '1 hour 30 minutes 250 ms', ts)",
      "time_bucket('13 seconds'::INTERVAL, ts)", "typeof(time_bucket(INTERVAL '1 minute', ts))",
      // Not a fixed grid: the TIMESTAMP path.
      "time_bucket(INTERVAL '1 year', ts)", "time_bucket(INTERVAL '1.5 hours', ts)",
      "time_bucket(INTERVAL '00:05:00', ts)"};
  for (const std::string& expression : expressions) {
    const std::string select = "SELECT label, ts::VARCHAR, (" + expression + ")::VARCHAR AS v FROM ";
    auto [fast, fast_sql] = Rows(select + "silver.times ORDER BY ALL");
    auto [plain, plain_sql] = Rows(select + "(SELECT * FROM silver.times) AS s ORDER BY ALL");
    EXPECT_NE(fast_sql.find("epoch_us("), std::string::npos) << expression << " was not rewritten";
    EXPECT_EQ(plain_sql.find("epoch_us("), std::string::npos) << expression;
    EXPECT_EQ(fast, plain) << expression;
    EXPECT_GT(fast.size(), 2000u * 10) << expression;
  }
}

TEST_F(UtcCalendarTest, FixedWidthGridsUseIntegerArithmetic) {
  for (const char* grid : {"date_trunc('minute', ts)", "date_trunc('week', ts)",
                                  "time_bucket(INTERVAL '5 minutes', ts)", "time_bucket(INTERVAL '26 hours', ts)"}) {
    auto [rows, sql] = Rows(std::string("SELECT ") + grid + " FROM silver.times");
    EXPECT_NE(sql.find("CASE "), std::string::npos) << grid << ": " << sql;
    EXPECT_EQ(sql.find("make_timestamp("), std::string::npos) << grid << ": " << sql;
  }
  for (const char* calendar : {"date_trunc('month', ts)", "time_bucket(INTERVAL '1 month', ts)",
                                      "time_bucket(INTERVAL '2 hours 1 month', ts)", "time_bucket(INTERVAL '-5 minutes', ts)",
                                      "time_bucket(INTERVAL '0 minutes', ts)", "time_bucket(INTERVAL '500 days', ts)", "time_bucket(INTERVAL '1 day 2 hours', ts)"}) {
    auto prepared = engine_->Prepare(std::string("SELECT ") + calendar + " FROM silver.times");
    ASSERT_TRUE(prepared.ok()) << calendar << ": " << prepared.status().ToString();
    EXPECT_EQ((*prepared)[0].sql.find("CASE "), std::string::npos) << calendar << ": " << (*prepared)[0].sql;
  }
}

TEST_F(UtcCalendarTest, TheFastPathCarriesThePlainRewriteAsItsFallback) {
  auto prepared = engine_->Prepare("SELECT CAST(ts AS DATE) AS d, count(*) FROM silver.times GROUP BY d");
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  const PreparedQuery& query = (*prepared)[0];
  EXPECT_NE(query.sql.find("epoch_us("), std::string::npos) << query.sql;
  ASSERT_FALSE(query.fallback_sql.empty());
  EXPECT_EQ(query.fallback_sql.find("epoch_us("), std::string::npos) << query.fallback_sql;
  auto fast = engine_->Run(query);
  PreparedQuery plain;
  plain.sql = query.fallback_sql;
  auto slow = engine_->Run(plain);
  ASSERT_TRUE(fast.ok() && slow.ok());
  EXPECT_EQ((*fast)->row_count(), (*slow)->row_count());
}

TEST_F(UtcCalendarTest, KeepsNamesAndLeavesOtherCallsAlone) {
  // An unaliased expression keeps the column name it has as typed.
  auto prepared = engine_->Prepare("SELECT CAST(ts AS DATE), date_trunc('day', ts) AS d FROM silver.times");
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  auto columns = engine_->connection().Describe((*prepared)[0].sql);
  ASSERT_TRUE(columns.ok());
  EXPECT_EQ((*columns)[0].first, "CAST(ts AS DATE)");
  EXPECT_EQ((*columns)[1], std::make_pair(std::string("d"), std::string("TIMESTAMP WITH TIME ZONE")));
  // Zones, other arities and other columns are not the fast path's.
  for (const std::string& sql :
       {std::string("SELECT date_part('timezone', ts) FROM silver.times"),
        std::string("SELECT time_bucket(INTERVAL '1 hour', ts, TIMESTAMPTZ '2000-01-01 00:30:00+00') FROM silver.times"),
        std::string("SELECT CAST(label AS DATE) FROM silver.times WHERE false"),
        std::string("SELECT CAST(ts AS DATE) FROM silver.times, range(1) r WHERE false")}) {
    auto query = engine_->Prepare(sql);
    ASSERT_TRUE(query.ok()) << sql << ": " << query.status().ToString();
    EXPECT_EQ((*query)[0].sql.find("epoch_us("), std::string::npos) << sql;
  }
  // Qualified by alias in a join: rewritten.
  auto joined = engine_->Prepare("SELECT CAST(a.ts AS DATE) FROM silver.times a JOIN silver.times b USING (ts)");
  ASSERT_TRUE(joined.ok());
  EXPECT_NE((*joined)[0].sql.find("epoch_us(a.ts)"), std::string::npos) << (*joined)[0].sql;
}

TEST(UtcCalendarCallTest, RewritesOnlyPlainCallsOnAcceptedColumns) {
  auto column = json::parse(R"({"class":"COLUMN_REF","type":"COLUMN_REF","alias":"","column_names":["ts"]})");
  auto accept = [](const json&) { return true; };
  auto refuse = [](const json&) { return false; };
  json cast = {{"class", "CAST"}, {"type", "OPERATOR_CAST"}, {"alias", "d"}, {"child", column},
               {"cast_type", {{"id", "DATE"}, {"type_info", nullptr}}}, {"try_cast", false}};
  json untouched = cast;
  EXPECT_FALSE(RewriteUtcCalendarCall(untouched, refuse));
  EXPECT_EQ(untouched, cast);
  EXPECT_TRUE(RewriteUtcCalendarCall(cast, accept));
  EXPECT_EQ(cast["child"]["function_name"], "make_timestamp");
  EXPECT_EQ(cast["alias"], "d");
  json sum = {{"class", "FUNCTION"}, {"function_name", "sum"}, {"schema", ""}, {"catalog", ""},
              {"children", json::array({column})}, {"filter", nullptr}, {"distinct", false}};
  EXPECT_FALSE(RewriteUtcCalendarCall(sum, accept));
}

}  // namespace
}  // namespace finlake::sql
