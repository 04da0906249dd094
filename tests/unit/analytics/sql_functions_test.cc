// The ta_* SQL functions (analytics/sql_functions.h), through engine::Database as
// every finlake connection gets them.
#include "finlake/analytics/sql_functions.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "analytics/indicator_test_util.h"
#include "finlake/analytics/indicators.h"
#include "finlake/engine/engine.h"

namespace finlake::analytics {
namespace {

using testing::ExpectSeriesNear;
using testing::kNaN;

class SqlFunctionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine::EngineOptions options;
    // More threads than this machine may have cores: the GROUP BY tests must run
    // with parallel partial aggregates whatever the host.
    options.threads = 4;
    auto database = engine::Database::Open(options);
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(database).value();
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok()) << connection.status().ToString();
    connection_ = std::move(connection).value();
  }

  // The first cell as text; "<error: ...>" when the query fails.
  std::string Cell(const std::string& sql) {
    // The C API's value accessors do not render nested types: cast in SQL.
    auto result = connection_->Query("SELECT COLUMNS(*)::VARCHAR FROM (" + sql + ")");
    if (!result.ok()) return "<error: " + result.status().message() + ">";
    if ((*result)->row_count() == 0) return "<no rows>";
    return (*result)->IsNull(0, 0) ? "NULL" : (*result)->GetString(0, 0);
  }

  std::string Error(const std::string& sql) {
    Status status = connection_->Execute(sql);
    EXPECT_FALSE(status.ok()) << sql;
    return status.message();
  }

  // Rows of (BIGINT key, DOUBLE[] series) with NULL elements as NaN, keyed by the
  // first column.
  std::map<int64_t, std::vector<double>> FetchSeries(const std::string& sql) {
    std::map<int64_t, std::vector<double>> out;
    auto result = connection_->Query(sql);
    EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
    if (!result.ok()) return out;
    while (duckdb_data_chunk chunk = duckdb_fetch_chunk(*(*result)->raw())) {
      idx_t rows = duckdb_data_chunk_get_size(chunk);
      auto* keys = static_cast<int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0)));
      duckdb_vector lists = duckdb_data_chunk_get_vector(chunk, 1);
      auto* entries = static_cast<duckdb_list_entry*>(duckdb_vector_get_data(lists));
      duckdb_vector child = duckdb_list_vector_get_child(lists);
      auto* values = static_cast<double*>(duckdb_vector_get_data(child));
      uint64_t* validity = duckdb_vector_get_validity(child);
      for (idx_t row = 0; row < rows; ++row) {
        std::vector<double>& series = out[keys[row]];
        for (idx_t i = 0; i < entries[row].length; ++i) {
          idx_t at = entries[row].offset + i;
          bool valid = validity == nullptr || duckdb_validity_row_is_valid(validity, at);
          series.push_back(valid ? values[at] : kNaN);
        }
      }
      duckdb_destroy_data_chunk(&chunk);
    }
    return out;
  }

  std::unique_ptr<engine::Database> database_;
  std::unique_ptr<engine::Connection> connection_;
};

TEST_F(SqlFunctionsTest, HandCheckedValuesWithNullWarmUp) {
  EXPECT_EQ(Cell("SELECT ta_sma([1, 2, 3, 4, 5], 3)"), "[NULL, NULL, 2.0, 3.0, 4.0]");
  // EMA(3): seeded with the SMA of the first three (2), then ema += 0.5 (x - ema).
  EXPECT_EQ(Cell("SELECT ta_ema([1, 2, 3, 4, 6], 3)"), "[NULL, NULL, 2.0, 3.0, 4.5]");
  EXPECT_EQ(Cell("SELECT ta_returns([100, 110, 99])"), "[NULL, 0.1, -0.1]");
  EXPECT_EQ(Cell("SELECT ta_log_returns([1, 1])"), "[NULL, 0.0]");
  EXPECT_EQ(Cell("SELECT ta_obv([1, 2, 2, 1], [10, 20, 30, 40])"), "[10.0, 30.0, 30.0, -10.0]");
  // RSI(2) at index 2: mean gain (1 + 0) / 2, mean loss (0 + 1) / 2 -> 50.
  EXPECT_EQ(Cell("SELECT ta_rsi([1, 2, 1], 2)"), "[NULL, NULL, 50.0]");
  // Volume z-score(2) of [1, 3]: mean 2, sample stddev sqrt(2) -> 1 / sqrt(2).
  EXPECT_EQ(Cell("SELECT round(ta_volume_z([1, 3], 2)[2], 12)"), "0.707106781187");
  // The warm-up is NULL, never NaN.
  EXPECT_EQ(Cell("SELECT [count(*) FILTER (v IS NULL), count(*) FILTER (isnan(v))] "
                 "FROM (SELECT unnest(ta_ema(range(1, 31)::DOUBLE[], 10)) AS v)"),
            "[9, 0]");
  EXPECT_EQ(Cell("SELECT ta_sma([], 3)"), "[]");
  EXPECT_EQ(Cell("SELECT ta_sma([1, 2], 3)"), "[NULL, NULL]");
}

TEST_F(SqlFunctionsTest, NullElementIsAGapAndNullArgumentsGiveNull) {
  // The gap at index 1 is NULL, and SMA(2) starts again after it.
  EXPECT_EQ(Cell("SELECT ta_sma([1, NULL, 3, 4, 5], 2)"), "[NULL, NULL, NULL, 3.5, 4.5]");
  EXPECT_EQ(Cell("SELECT ta_sma(NULL::DOUBLE[], 2)"), "NULL");
  EXPECT_EQ(Cell("SELECT ta_sma([1, 2], NULL)"), "NULL");
  EXPECT_EQ(Cell("SELECT ta_sma(l, p) FROM (VALUES ([1.0, 2.0], 1), (NULL, 1), ([3.0], NULL)) v(l, p)"),
            "[1.0, 2.0]");
  EXPECT_EQ(Cell("SELECT count(*) FROM (SELECT ta_sma(l, p) AS r FROM (VALUES ([1.0, 2.0], 1), (NULL, 1), "
                 "([3.0], NULL)) v(l, p)) WHERE r IS NULL"),
            "2");
}

TEST_F(SqlFunctionsTest, IntegerListsAreCastAndParametersHaveDefaults) {
  EXPECT_EQ(Cell("SELECT ta_obv([1, 2]::BIGINT[], [10, 20]::BIGINT[])"), "[10.0, 30.0]");
  EXPECT_EQ(Cell("SELECT ta_sma([1.5, 2.5]::DECIMAL(4, 1)[], 2)"), "[NULL, 2.0]");
  EXPECT_EQ(Cell("SELECT typeof(ta_macd([1.0]))"), "STRUCT(macd DOUBLE, signal DOUBLE, hist DOUBLE)[]");
  EXPECT_EQ(Cell("SELECT typeof(ta_bbands([1.0], 2))"), "STRUCT(upper DOUBLE, middle DOUBLE, lower DOUBLE)[]");
  // BBANDS(2, k = 2) of [1, 3]: middle 2, population stddev 1.
  EXPECT_EQ(Cell("SELECT ta_bbands([1, 3], 2)[2]"), "{'upper': 4.0, 'middle': 2.0, 'lower': 0.0}");
  EXPECT_EQ(Cell("SELECT ta_bbands([1, 3], 2, 1.5)[2]"), "{'upper': 3.5, 'middle': 2.0, 'lower': 0.5}");
  EXPECT_EQ(Cell("SELECT ta_bbands([1, 3], 2)[1]"), "{'upper': NULL, 'middle': NULL, 'lower': NULL}");
  // Annualised with 252 unless told otherwise.
  EXPECT_EQ(Cell("SELECT ta_volatility([1, 2, 4, 8], 2)[4] = ta_volatility([1, 2, 4, 8], 2, 252)[4]"), "true");
  EXPECT_EQ(Cell("SELECT ta_volatility([1, 2, 4, 8], 2)[4]"), "0.0");
}

TEST_F(SqlFunctionsTest, MatchesTheKernelsDirectly) {
  std::vector<double> close = testing::RandomWalk(300, 7);
  std::vector<double> high(close.size()), low(close.size()), volume(close.size());
  std::string close_sql = "[", high_sql = "[", low_sql = "[", volume_sql = "[";
  for (size_t i = 0; i < close.size(); ++i) {
    high[i] = close[i] * 1.01;
    low[i] = close[i] * 0.98;
    volume[i] = 1000.0 + static_cast<double>((i * 7919) % 500);
    auto add = [&](std::string& text, double value) {
      char buffer[40];
      std::snprintf(buffer, sizeof(buffer), "%.17g", value);
      text += (i ? ", " : "") + std::string(buffer);
    };
    add(close_sql, close[i]);
    add(high_sql, high[i]);
    add(low_sql, low[i]);
    add(volume_sql, volume[i]);
  }
  for (std::string* text : {&close_sql, &high_sql, &low_sql, &volume_sql}) *text += "]::DOUBLE[]";

  std::vector<double> expected(close.size()), signal(close.size()), histogram(close.size());
  auto check = [&](const std::string& call) {
    auto rows = FetchSeries("SELECT 0::BIGINT, " + call);
    ASSERT_EQ(rows.size(), 1u) << call;
    ExpectSeriesNear(rows[0], expected, 0.0);
  };
  ASSERT_TRUE(Ema(close, 20, expected).ok());
  check("ta_ema(" + close_sql + ", 20)");
  ASSERT_TRUE(Rsi(close, 14, expected).ok());
  check("ta_rsi(" + close_sql + ", 14)");
  ASSERT_TRUE(RollingVolatility(close, 21, expected).ok());
  check("ta_volatility(" + close_sql + ", 21)");
  ASSERT_TRUE(Atr(high, low, close, 14, expected).ok());
  check("ta_atr(" + high_sql + ", " + low_sql + ", " + close_sql + ", 14)");
  ASSERT_TRUE(VolumeZScore(volume, 20, expected).ok());
  check("ta_volume_z(" + volume_sql + ", 20)");
  std::vector<double> line(close.size());
  ASSERT_TRUE(Macd(close, MacdOptions{5, 13, 4}, line, signal, histogram).ok());
  expected = histogram;
  check("[e.hist FOR e IN ta_macd(" + close_sql + ", 5, 13, 4)]");
  expected = signal;
  check("[e.signal FOR e IN ta_macd(" + close_sql + ", 5, 13, 4)]");
}

TEST_F(SqlFunctionsTest, ListOrderByFeedsShuffledRowsInOrder) {
  // Rows arrive in an order unrelated to t; list(x ORDER BY t) must sort them.
  ASSERT_TRUE(connection_->Execute("CREATE TABLE shuffled AS SELECT (i * 37) % 500 AS t, "
                                   "100 + ((i * 37) % 500) * 0.5 + ((i * 37) % 500 % 7) AS x "
                                   "FROM range(500) r(i) ORDER BY hash(i)")
                  .ok());
  std::vector<double> sorted(500);
  for (int t = 0; t < 500; ++t) sorted[t] = 100 + t * 0.5 + (t % 7);
  std::vector<double> expected(500);
  ASSERT_TRUE(Ema(sorted, 10, expected).ok());
  auto rows = FetchSeries("SELECT 0::BIGINT, ta_ema(list(x ORDER BY t), 10) FROM shuffled");
  ASSERT_EQ(rows.size(), 1u);
  ExpectSeriesNear(rows[0], expected, 0.0);
}

TEST_F(SqlFunctionsTest, GroupByOverManyGroupsMatchesTheKernelPerGroup) {
  // 5,000 groups x 2,000 rows; within a group ts is a permutation of 0..1999
  // (7 is coprime to 2000), so the scan order is not the series order, and four
  // threads build partial aggregates that DuckDB merges.
  constexpr int64_t kGroups = 5000;
  constexpr int64_t kRows = 2000;
  ASSERT_TRUE(connection_->Execute("CREATE TABLE bars AS SELECT g, (t * 7) % 2000 AS ts, "
                                   "100 + ((g * 7919 + ((t * 7) % 2000) * 104729) % 1000) / 10.0 AS close "
                                   "FROM range(5000) a(g), range(2000) b(t)")
                  .ok());
  auto rows = FetchSeries("SELECT g, ta_ema(list(close ORDER BY ts), 20) FROM bars GROUP BY g");
  ASSERT_EQ(static_cast<int64_t>(rows.size()), kGroups);
  std::vector<double> series(kRows), expected(kRows);
  int64_t mismatched_groups = 0;
  for (int64_t g = 0; g < kGroups; ++g) {
    for (int64_t ts = 0; ts < kRows; ++ts) {
      series[ts] = 100 + static_cast<double>((g * 7919 + ts * 104729) % 1000) / 10.0;
    }
    ASSERT_TRUE(Ema(series, 20, expected).ok());
    const std::vector<double>& actual = rows[g];
    bool same = actual.size() == expected.size();
    for (size_t i = 0; same && i < expected.size(); ++i) {
      same = std::isnan(expected[i]) ? std::isnan(actual[i]) : actual[i] == expected[i];
    }
    if (!same) ++mismatched_groups;
  }
  EXPECT_EQ(mismatched_groups, 0);
}

TEST_F(SqlFunctionsTest, AggregateFormsOrderByTheirKeyArgument) {
  // Rows in hash order; ta_*_agg(x, t, ...) equals the list form over list(x ORDER BY t).
  ASSERT_TRUE(connection_->Execute("CREATE TABLE rows AS SELECT i % 3 AS g, i AS t, 100 + (i * 37 % 101) / 10.0 AS c, "
                                   "101 + (i * 37 % 101) / 10.0 AS h, 99 + (i * 37 % 101) / 10.0 AS l, "
                                   "(1000 + i * 13 % 97)::DOUBLE AS v FROM range(300) r(i) ORDER BY hash(i)")
                  .ok());
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"ta_ema_agg(c, t, 5)", "ta_ema(list(c ORDER BY t), 5)"},
      {"ta_sma_agg(c, t, 4)", "ta_sma(list(c ORDER BY t), 4)"},
      {"ta_returns_agg(c, t)", "ta_returns(list(c ORDER BY t))"},
      {"ta_volatility_agg(c, t, 10, 365.0)", "ta_volatility(list(c ORDER BY t), 10, 365.0)"},
      {"ta_macd_agg(c, t)", "ta_macd(list(c ORDER BY t))"},
      {"ta_macd_agg(c, t, 3, 6, 4)", "ta_macd(list(c ORDER BY t), 3, 6, 4)"},
      {"ta_bbands_agg(c, t, 10)", "ta_bbands(list(c ORDER BY t), 10)"},
      {"ta_atr_agg(h, l, c, t, 14)", "ta_atr(list(h ORDER BY t), list(l ORDER BY t), list(c ORDER BY t), 14)"},
      {"ta_obv_agg(c, v, t)", "ta_obv(list(c ORDER BY t), list(v ORDER BY t))"},
      {"ta_volume_z_agg(v, t, 20)", "ta_volume_z(list(v ORDER BY t), 20)"},
  };
  for (const auto& [aggregate, list_form] : pairs) {
    EXPECT_EQ(Cell("SELECT count(*) FROM (SELECT g, " + aggregate + " AS a, " + list_form +
                   " AS b FROM rows GROUP BY g) WHERE a IS NOT DISTINCT FROM b AND len(a) = 100"),
              "3")
        << aggregate;
  }
  // Rows with equal keys keep their series aligned: one list of structs feeds all three.
  EXPECT_EQ(Cell("SELECT ta_atr_agg(h, l, c, 0, 1)[2] FROM (VALUES (12.0, 8.0, 10.0), (30.0, 28.0, 29.0)) v(h, l, c)"),
            Cell("SELECT ta_atr([12.0, 30.0], [8.0, 28.0], [10.0, 29.0], 1)[2]"));
  // A macro cannot be a window function, nor take ORDER BY: a clear binder error.
  const std::string window_error = Error("SELECT ta_ema_agg(c, t, 5) OVER (PARTITION BY g) FROM rows");
  EXPECT_NE(window_error.find("ta_ema is not an aggregate function"), std::string::npos) << window_error;
  EXPECT_NE(Error("SELECT ta_ema_agg(c, t, 5 ORDER BY t) FROM rows").find("only applicable to aggregate"),
            std::string::npos);
}

TEST_F(SqlFunctionsTest, UnnestGivesOneRowPerBar) {
  ASSERT_TRUE(connection_->Execute("CREATE TABLE prices AS SELECT * FROM (VALUES ('A', 3, 4.0), ('A', 1, 2.0), "
                                   "('A', 2, 3.0), ('B', 1, 10.0), ('B', 2, 20.0)) v(symbol, t, close)")
                  .ok());
  // Straight in a GROUP BY query.
  EXPECT_EQ(Cell("SELECT list(v ORDER BY v NULLS FIRST) FROM (SELECT symbol, "
                 "unnest(ta_sma(list(close ORDER BY t), 2)) AS v FROM prices GROUP BY symbol)"),
            "[NULL, NULL, 2.5, 3.5, 15.0]");
  // Two lists unnested side by side stay aligned: the bar key beside its value.
  EXPECT_EQ(Cell("SELECT string_agg(symbol || t || '=' || coalesce(v::VARCHAR, 'NULL'), ' ' ORDER BY symbol, t) "
                 "FROM (SELECT symbol, unnest(ts) AS t, unnest(sma) AS v FROM (SELECT symbol, "
                 "list(t ORDER BY t) AS ts, ta_sma(list(close ORDER BY t), 2) AS sma FROM prices GROUP BY symbol))"),
            "A1=NULL A2=2.5 A3=3.5 B1=NULL B2=15.0");
  // Struct results unnest into columns.
  EXPECT_EQ(Cell("SELECT list(middle) FROM (SELECT unnest(ta_bbands(list(close ORDER BY t), 2, 2), recursive := true) "
                 "FROM prices WHERE symbol = 'A')"),
            "[NULL, 2.5, 3.5]");
}

TEST_F(SqlFunctionsTest, ErrorsNameTheFunctionAndTheRule) {
  EXPECT_NE(Error("SELECT ta_sma([1.0, 2.0], 0)").find("ta_sma: period 0 is below the minimum 1"), std::string::npos);
  EXPECT_NE(Error("SELECT ta_volatility([1.0, 2.0], 1)").find("ta_volatility: period 1 is below the minimum 2"),
            std::string::npos);
  EXPECT_NE(Error("SELECT ta_volume_z([1.0], -3)").find("ta_volume_z: period -3 is below the minimum 2"),
            std::string::npos);
  EXPECT_NE(Error("SELECT ta_macd([1.0], 26, 12, 9)").find("ta_macd: fast_period 26"), std::string::npos);
  EXPECT_NE(Error("SELECT ta_ema([1.0], 2000000000)").find("ta_ema: period 2000000000 is above the maximum 1000000"),
            std::string::npos);
  EXPECT_NE(Error("SELECT ta_atr([1.0, 2.0], [1.0], [1.0, 2.0], 3)")
                .find("ta_atr: list 2 has 1 elements, list 1 has 2; all lists must have the same length"),
            std::string::npos);
  EXPECT_NE(Error("SELECT ta_bbands([1.0], 2, 'nan'::DOUBLE)").find("ta_bbands: deviations_up and deviations_down"),
            std::string::npos);
  // A period that is bad on one row only fails the query.
  EXPECT_NE(Error("SELECT ta_sma(l, p) FROM (VALUES ([1.0], 2), ([1.0], 0)) v(l, p)").find("ta_sma: period 0"),
            std::string::npos);
}

TEST_F(SqlFunctionsTest, EveryConnectionOfTheDatabaseHasThem) {
  auto second = database_->Connect();
  ASSERT_TRUE(second.ok());
  auto result = (*second)->Query("SELECT ta_sma([2.0, 4.0], 2)[2]");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ((*result)->GetString(0, 0), "3.0");
}

}  // namespace
}  // namespace finlake::analytics
