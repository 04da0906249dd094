#include "finlake/pipeline/quality.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "finlake/delta/schema.h"
#include "testing/test_env.h"
#include "testing/test_lake.h"

namespace finlake::pipeline {
namespace {

using std::chrono::sys_days;
using namespace std::chrono_literals;

constexpr int64_t kNowMs = 1720000000000;  // 2024-07-03T09:46:40Z

sys_days Day(int y, unsigned m, unsigned d) {
  return sys_days(std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}});
}

class QualityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lake_ = testing::NewLake(dir_.path() + "/lake");
  }

  // Creates `name` with `columns` ("name TYPE" pairs) and appends `values` (a
  // VALUES list) when not empty.
  void MakeTable(const std::string& name, const std::vector<std::pair<std::string, std::string>>& columns,
                 const std::string& values) {
    table::CreateSpec spec;
    for (const auto& [column, type] : columns) {
      spec.schema.fields.push_back(
          delta::StructField{column, delta::FromDuckDbType(type, column).value(), true, nlohmann::json::object()});
    }
    auto created = lake_->CreateTable(name, spec, "test");
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    if (!values.empty()) Append(name, columns, values);
  }

  void Append(const std::string& name, const std::vector<std::pair<std::string, std::string>>& columns,
              const std::string& values) {
    std::vector<std::string> names, select;
    for (const auto& [column, type] : columns) {
      names.push_back(column);
      select.push_back("CAST(" + column + " AS " + type + ") AS " + column);
    }
    auto table = lake_->OpenTable(name).value();
    auto appended = table->Append("SELECT " + Join(select, ", ") + " FROM (VALUES " + values + ") AS t(" +
                                  Join(names, ", ") + ")");
    ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  }

  // silver.bars_1d, reduced to what the checks read.
  void MakeBars(const std::string& values) { MakeTable("silver.bars_1d", BarColumns(), values); }
  static std::vector<std::pair<std::string, std::string>> BarColumns() {
    return {{"symbol", "VARCHAR"}, {"session_date", "DATE"}, {"close", "DOUBLE"}, {"volume", "BIGINT"}};
  }

  std::vector<QualityCheck> Checks(const std::string& yaml) {
    auto checks = ParseQualityChecks(YAML::Load(yaml), "quality.yaml", "silver.bars_1d");
    EXPECT_TRUE(checks.ok()) << checks.status().ToString();
    return checks.ok() ? *checks : std::vector<QualityCheck>{};
  }

  std::vector<QualityResult> Run(const std::string& yaml, sys_days today = Day(2024, 7, 3),
                                 const std::string& table = "silver.bars_1d") {
    QualityContext context;
    context.today = today;
    context.now_ms = kNowMs;
    auto results = RunQualityChecks(lake_.get(), table, Checks(yaml), context);
    EXPECT_TRUE(results.ok()) << results.status().ToString();
    return results.ok() ? *results : std::vector<QualityResult>{};
  }

  QualityResult RunOne(const std::string& yaml, sys_days today = Day(2024, 7, 3)) {
    auto results = Run(yaml, today);
    EXPECT_EQ(results.size(), 1u);
    return results.empty() ? QualityResult{} : results[0];
  }

  std::string ParseError(const std::string& yaml) {
    auto config = ParseQualityYaml(yaml, "lake/pipelines/quality.yaml");
    EXPECT_FALSE(config.ok());
    return config.ok() ? "" : config.status().message();
  }

  testing::ScratchDir dir_;
  std::unique_ptr<sql::Lake> lake_;
};

TEST_F(QualityTest, ParsesTheDeclaredFormat) {
  auto config = ParseQualityYaml(R"(
silver.bars_1d:
  - {check: not_null, columns: [symbol, session_date, close], blocking: true}
  - {check: unique, columns: [symbol, session_date], blocking: true}
  - {check: accepted_range, column: close, min: 0, max: 1000000, blocking: false}
  - {check: freshness, date_column: session_date, key_column: symbol, calendar: XNYS, max_sessions_behind: 0,
     active_table: silver.symbols}
  - {check: row_count_change, max_change: 0.5}
gold.daily_features:
  - {check: accepted_range, column: rsi_14, max: 100, name: rsi_at_most_100}
)",
                                 "quality.yaml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->size(), 2u);
  const std::vector<QualityCheck>& bars = config->at("silver.bars_1d");
  ASSERT_EQ(bars.size(), 5u);
  EXPECT_EQ(bars[0].DisplayName(), "not_null(symbol, session_date, close)");
  EXPECT_TRUE(bars[0].blocking);
  EXPECT_EQ(bars[1].DisplayName(), "unique(symbol, session_date)");
  EXPECT_EQ(bars[2].DisplayName(), "accepted_range(close, 0..1000000)");
  EXPECT_FALSE(bars[2].blocking);
  EXPECT_EQ(bars[3].DisplayName(), "freshness(session_date by symbol, XNYS)");
  EXPECT_EQ(bars[3].active_table, "silver.symbols");
  EXPECT_EQ(bars[3].max_sessions_behind, 0);
  EXPECT_FALSE(bars[3].blocking);  // Not blocking unless declared.
  EXPECT_EQ(bars[4].DisplayName(), "row_count_change(0.5)");
  EXPECT_EQ(bars[4].origin, "quality.yaml: silver.bars_1d: check 5 (row_count_change)");
  const QualityCheck& rsi = config->at("gold.daily_features")[0];
  EXPECT_EQ(rsi.DisplayName(), "rsi_at_most_100");
  EXPECT_FALSE(rsi.min.has_value());
  EXPECT_EQ(*rsi.max, 100);
}

TEST_F(QualityTest, ParsesAModelHeadersChecks) {
  YAML::Node header = YAML::Load(R"(
name: gold.daily_features
checks:
  - {check: unique, columns: [symbol, session_date]}
)");
  auto checks = ParseQualityChecks(header["checks"], "pipelines/models/daily_features.sql", "gold.daily_features");
  ASSERT_TRUE(checks.ok()) << checks.status().ToString();
  ASSERT_EQ(checks->size(), 1u);
  EXPECT_EQ((*checks)[0].columns, (std::vector<std::string>{"symbol", "session_date"}));
  auto none = ParseQualityChecks(header["absent"], "x.sql", "gold.daily_features");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(QualityTest, YamlErrorsNameTheFileTableCheckAndRule) {
  EXPECT_EQ(ParseError("silver.bars_1d:\n  - {check: uniq, columns: [symbol]}\n"),
            "lake/pipelines/quality.yaml: silver.bars_1d: check 1: unknown check 'uniq' (known: not_null, unique, "
            "accepted_range, freshness, row_count_change)");
  EXPECT_EQ(ParseError("silver.bars_1d:\n  - {check: not_null, columns: [a]}\n  - {check: unique}\n"),
            "lake/pipelines/quality.yaml: silver.bars_1d: check 2 (unique): needs columns (a list of columns)");
  EXPECT_EQ(ParseError("silver.bars_1d:\n  - {check: accepted_range, column: close, min: cheap}\n"),
            "lake/pipelines/quality.yaml: silver.bars_1d: check 1 (accepted_range): min must be a number, got 'cheap'");
  EXPECT_EQ(ParseError("silver.bars_1d:\n  - {check: accepted_range, column: close}\n"),
            "lake/pipelines/quality.yaml: silver.bars_1d: check 1 (accepted_range): needs min, max or both");
  EXPECT_EQ(ParseError("silver.bars_1d:\n  - {check: accepted_range, column: close, min: 5, max: 1}\n"),
            "lake/pipelines/quality.yaml: silver.bars_1d: check 1 (accepted_range): min 5 is above max 1");
  EXPECT_EQ(ParseError("silver.bars_1d:\n  - {check: unique, columns: [a], colums: [b]}\n"),
            "lake/pipelines/quality.yaml: silver.bars_1d: check 1 (unique): unknown key 'colums' (allowed: name, "
            "blocking, columns)");
  EXPECT_EQ(ParseError("silver.bars_1d:\n  - {check: unique, columns: [a], blocking: maybe}\n"),
            "lake/pipelines/quality.yaml: silver.bars_1d: check 1 (unique): blocking must be true or false, got "
            "'maybe'");
  EXPECT_EQ(ParseError("silver.bars_1d:\n  - {check: freshness, max_sessions_behind: -1}\n"),
            "lake/pipelines/quality.yaml: silver.bars_1d: check 1 (freshness): max_sessions_behind must be 0-1000");
  EXPECT_EQ(ParseError("silver.bars_1d:\n  - {check: row_count_change, max_change: -0.1}\n"),
            "lake/pipelines/quality.yaml: silver.bars_1d: check 1 (row_count_change): max_change must be a fraction "
            ">= 0 (0.5 = 50%)");
  EXPECT_EQ(ParseError("silver.bars_1d: {check: unique}\n"),
            "lake/pipelines/quality.yaml: silver.bars_1d: checks must be a list ([{check: not_null, columns: "
            "[...]}, ...])");
  EXPECT_EQ(ParseError("silver.bars_1d:\n  - unique\n"),
            "lake/pipelines/quality.yaml: silver.bars_1d: check 1: a check is a mapping ({check: unique, columns: "
            "[...]})");
  EXPECT_EQ(ParseError("bars_1d:\n  - {check: unique, columns: [a]}\n"),
            "lake/pipelines/quality.yaml: 'bars_1d' is not a qualified table name (namespace.table)");
  EXPECT_EQ(ParseError("- just a list\n"),
            "lake/pipelines/quality.yaml: must be a mapping from table names to lists of checks");
  std::string syntax = ParseError("silver.bars_1d:\n  - {check: unique, columns: [a\n");
  EXPECT_EQ(syntax.rfind("lake/pipelines/quality.yaml: ", 0), 0u) << syntax;
}

TEST_F(QualityTest, LoadsTheLakesQualityFileAndTreatsAMissingOneAsEmpty) {
  std::string path = QualityConfigPath(lake_->dir());
  EXPECT_EQ(path, lake_->dir() + "/pipelines/quality.yaml");
  auto missing = LoadQualityConfig(path);
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_TRUE(missing->empty());
  std::filesystem::create_directories(lake_->dir() + "/pipelines");
  std::ofstream(path) << "silver.bars_1d:\n  - {check: unique, columns: [symbol, session_date]}\n";
  auto loaded = LoadQualityConfig(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->at("silver.bars_1d")[0].origin, path + ": silver.bars_1d: check 1 (unique)");
  std::ofstream(path) << "silver.bars_1d:\n  - {check: nope}\n";
  auto broken = LoadQualityConfig(path);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message().rfind(path + ": silver.bars_1d: check 1: unknown check 'nope'", 0), 0u)
      << broken.status().message();
}

TEST_F(QualityTest, NotNullCountsRowsWithANullInAnyColumn) {
  MakeBars("('AAPL', '2024-07-01', 10.0, 100), ('AAPL', '2024-07-02', NULL, 100), "
           "(NULL, '2024-07-02', NULL, 100), ('MSFT', '2024-07-02', 20.0, NULL)");
  QualityResult failing = RunOne("[{check: not_null, columns: [symbol, session_date, close], blocking: true}]");
  EXPECT_EQ(failing.status, QualityStatus::kFail);
  EXPECT_EQ(failing.observed, 2);
  EXPECT_EQ(failing.detail, "2 of 4 rows have a null: symbol 1, close 2");
  EXPECT_EQ(failing.check, "not_null(symbol, session_date, close)");
  EXPECT_EQ(failing.table, "silver.bars_1d");
  EXPECT_EQ(failing.table_version, 1);
  EXPECT_EQ(failing.checked_at_ms, kNowMs);
  EXPECT_TRUE(failing.blocking);

  QualityResult passing = RunOne("[{check: not_null, columns: [session_date]}]");
  EXPECT_EQ(passing.status, QualityStatus::kPass);
  EXPECT_EQ(passing.observed, 0);
  EXPECT_EQ(passing.detail, "no nulls in 4 rows");
}

TEST_F(QualityTest, UniqueCountsDuplicateKeysAndQuotesAFew) {
  MakeBars("('AAPL', '2024-01-02', 10.0, 1), ('AAPL', '2024-01-02', 10.5, 1), ('AAPL', '2024-01-03', 11.0, 1), "
           "('MSFT', '2024-01-02', 20.0, 1), ('MSFT', '2024-01-02', 20.0, 1), ('MSFT', '2024-01-02', 20.0, 1), "
           "('IBM', '2024-01-04', 30.0, 1), ('IBM', '2024-01-04', 30.0, 1)");
  QualityResult failing = RunOne("[{check: unique, columns: [symbol, session_date], blocking: true}]");
  EXPECT_EQ(failing.status, QualityStatus::kFail);
  EXPECT_EQ(failing.observed, 3);
  // The most repeated key first, then by key.
  EXPECT_EQ(failing.detail,
            "3 duplicate keys, e.g. (MSFT, 2024-01-02), (AAPL, 2024-01-02), (IBM, 2024-01-04) (7 rows hold them)");

  QualityResult wider = RunOne("[{check: unique, columns: [symbol, session_date, close]}]");
  EXPECT_EQ(wider.status, QualityStatus::kFail);  // MSFT's and IBM's rows are identical.
  EXPECT_EQ(wider.observed, 2);
  QualityResult by_close = RunOne("[{check: unique, columns: [close, symbol, session_date, volume]}]");
  EXPECT_EQ(by_close.observed, 2);
}

TEST_F(QualityTest, UniquePassesOnDistinctKeys) {
  MakeBars("('AAPL', '2024-01-02', 10.0, 1), ('AAPL', '2024-01-03', 10.5, 1), ('MSFT', '2024-01-02', 20.0, 1)");
  QualityResult result = RunOne("[{check: unique, columns: [symbol, session_date]}]");
  EXPECT_EQ(result.status, QualityStatus::kPass);
  EXPECT_EQ(result.observed, 0);
  EXPECT_EQ(result.detail, "no duplicate keys");
}

TEST_F(QualityTest, AcceptedRangeCountsValuesOutsideEitherBound) {
  MakeBars("('A', '2024-01-02', -1.0, 10), ('B', '2024-01-02', 5.0, 20), ('C', '2024-01-02', 2000000.0, 30), "
           "('D', '2024-01-02', NULL, 40), ('E', '2024-01-02', 1000000.0, -5)");
  QualityResult both = RunOne("[{check: accepted_range, column: close, min: 0, max: 1000000}]");
  EXPECT_EQ(both.status, QualityStatus::kFail);
  EXPECT_EQ(both.observed, 2);
  EXPECT_EQ(both.check, "accepted_range(close, 0..1000000)");
  EXPECT_EQ(both.detail, "2 of 5 rows have close outside [0, 1000000]: lowest -1.0, highest 2000000.0");

  QualityResult lower = RunOne("[{check: accepted_range, column: volume, min: 0}]");
  EXPECT_EQ(lower.status, QualityStatus::kFail);
  EXPECT_EQ(lower.observed, 1);
  EXPECT_EQ(lower.check, "accepted_range(volume, 0..)");
  EXPECT_EQ(lower.detail, "1 of 5 rows have volume outside [0, inf]: lowest -5, highest -5");

  QualityResult upper = RunOne("[{check: accepted_range, column: close, max: 2000000}]");
  EXPECT_EQ(upper.status, QualityStatus::kPass);
  EXPECT_EQ(upper.detail, "all 5 rows within [-inf, 2000000]");
}

TEST_F(QualityTest, ChecksNamingMissingOrMistypedColumnsAreErrors) {
  MakeBars("('A', '2024-01-02', 1.0, 10)");
  auto results = Run(R"(
- {check: not_null, columns: [symbol, nope], blocking: true}
- {check: accepted_range, column: symbol, min: 0}
- {check: freshness, date_column: close}
- {check: unique, columns: [SYMBOL]}
)");
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].status, QualityStatus::kError);
  EXPECT_EQ(results[0].detail,
            "quality.yaml: silver.bars_1d: check 1 (not_null): column 'nope' is not in silver.bars_1d (columns: "
            "symbol, session_date, close, volume)");
  EXPECT_EQ(results[1].detail,
            "quality.yaml: silver.bars_1d: check 2 (accepted_range): column 'symbol' of silver.bars_1d is string, "
            "not a number");
  EXPECT_EQ(results[2].detail,
            "quality.yaml: silver.bars_1d: check 3 (freshness): date_column 'close' of silver.bars_1d is double, not "
            "a date (the exchange's session date)");
  EXPECT_EQ(results[3].status, QualityStatus::kPass);  // Column names match as Delta's: case-insensitively.

  Status validated = ValidateQualityChecks(lake_.get(), "silver.bars_1d",
                                           Checks("[{check: not_null, columns: [symbol, nope]}]"));
  EXPECT_EQ(validated.message(), results[0].detail);
  EXPECT_TRUE(ValidateQualityChecks(lake_.get(), "silver.bars_1d", Checks("[{check: unique, columns: [symbol]}]"))
                  .ok());

  std::string why;
  EXPECT_TRUE(AnyBlockingFailure(results, &why));
  EXPECT_EQ(why, "silver.bars_1d: blocking check not_null(symbol, nope) could not run: " + results[0].detail);
}

TEST_F(QualityTest, AMissingTableMakesEveryCheckAnError) {
  auto results = Run("[{check: unique, columns: [symbol]}, {check: row_count_change, blocking: true}]",
                     Day(2024, 7, 3), "silver.absent");
  ASSERT_EQ(results.size(), 2u);
  for (const QualityResult& result : results) {
    EXPECT_EQ(result.status, QualityStatus::kError);
    EXPECT_EQ(result.table_version, -1);
    EXPECT_NE(result.detail.find("cannot read silver.absent: "), std::string::npos) << result.detail;
  }
  std::string why;
  EXPECT_TRUE(AnyBlockingFailure(results, &why));
  EXPECT_EQ(why.rfind("silver.absent: blocking check row_count_change(0.5) could not run: cannot read silver.absent",
                      0),
            0u)
      << why;
  EXPECT_FALSE(AnyBlockingFailure({results[0]}, &why));  // Not blocking: reported, stops nothing.
  EXPECT_EQ(why, "");
}

TEST_F(QualityTest, BlockingFailureMessageNamesTableCheckAndExamples) {
  MakeBars("('AAPL', '2024-01-02', 10.0, 1), ('AAPL', '2024-01-02', 10.5, 1), ('MSFT', '2024-01-03', 1.0, 1)");
  auto results = Run(R"(
- {check: unique, columns: [symbol, session_date], blocking: true}
- {check: accepted_range, column: close, min: 5}
- {check: not_null, columns: [symbol], blocking: true}
)");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[1].status, QualityStatus::kFail);
  std::string why;
  EXPECT_TRUE(AnyBlockingFailure(results, &why));
  EXPECT_EQ(why,
            "silver.bars_1d: blocking check unique(symbol, session_date) failed: 1 duplicate key, e.g. (AAPL, "
            "2024-01-02) (2 rows hold them)");
  EXPECT_FALSE(AnyBlockingFailure({results[1], results[2]}, nullptr));
}

// NYSE around Independence Day 2024: Wed 07-03 is a session (early close),
// Thu 07-04 a holiday, Fri 07-05 a session, Mon 07-08 the next one.
class FreshnessTest : public QualityTest {
 protected:
  void SetUp() override {
    QualityTest::SetUp();
    MakeBars("('AAPL', '2024-07-02', 1.0, 1), ('AAPL', '2024-07-03', 1.0, 1), ('AAPL', '2024-07-05', 1.0, 1), "
             "('MSFT', '2024-07-02', 1.0, 1), ('MSFT', '2024-07-03', 1.0, 1), "
             "('IBM', '2024-06-28', 1.0, 1)");
  }
};

TEST_F(FreshnessTest, AHolidayIsNotLateness) {
  // On the holiday the last session is 07-03, which every symbol but IBM has.
  QualityResult on_holiday = RunOne("[{check: freshness}]", Day(2024, 7, 4));
  EXPECT_EQ(on_holiday.status, QualityStatus::kFail);
  EXPECT_EQ(on_holiday.observed, 1);
  EXPECT_EQ(on_holiday.detail,
            "1 of 3 keys (symbol) stale: expected session 2024-07-03 (XNYS); e.g. IBM (last 2024-06-28)");
  // On 07-05 that session itself is expected: MSFT is one session behind.
  QualityResult next_day = RunOne("[{check: freshness}]", Day(2024, 7, 5));
  EXPECT_EQ(next_day.observed, 2);
  EXPECT_EQ(next_day.detail,
            "2 of 3 keys (symbol) stale: expected session 2024-07-05 (XNYS); e.g. IBM (last 2024-06-28), MSFT "
            "(last 2024-07-03)");
  // One session of lag allowed: 07-03 is one session before 07-05, across the holiday.
  QualityResult lagging = RunOne("[{check: freshness, max_sessions_behind: 1}]", Day(2024, 7, 5));
  EXPECT_EQ(lagging.observed, 1);
  EXPECT_EQ(lagging.detail,
            "1 of 3 keys (symbol) stale: expected session 2024-07-05 (XNYS), at most 1 session behind (from "
            "2024-07-03); e.g. IBM (last 2024-06-28)");
}

TEST_F(FreshnessTest, AWeekendIsNotLateness) {
  // Sunday and the Monday morning after: Friday's bar is the latest there can be.
  QualityResult sunday = RunOne("[{check: freshness, max_sessions_behind: 0}]", Day(2024, 7, 7));
  EXPECT_NE(sunday.detail.find("expected session 2024-07-05 (XNYS);"), std::string::npos) << sunday.detail;
  EXPECT_EQ(sunday.observed, 2);  // IBM and MSFT; AAPL has Friday.
  QualityResult monday = RunOne("[{check: freshness, max_sessions_behind: 1}]", Day(2024, 7, 8));
  EXPECT_EQ(monday.observed, 2);  // Friday is one session behind Monday, though three days.
  EXPECT_NE(monday.detail.find("IBM (last 2024-06-28), MSFT (last 2024-07-03)"), std::string::npos)
      << monday.detail;
  QualityResult generous = RunOne("[{check: freshness, max_sessions_behind: 2}]", Day(2024, 7, 8));
  EXPECT_EQ(generous.observed, 1);
}

TEST_F(FreshnessTest, OnlyActiveSymbolsCountAndMissingOnesAreStale) {
  MakeTable("silver.symbols", {{"symbol", "VARCHAR"}, {"active", "BOOLEAN"}},
            "('AAPL', true), ('MSFT', true), ('TSLA', true), ('IBM', false)");
  QualityResult result = RunOne(
      "[{check: freshness, date_column: session_date, key_column: symbol, calendar: XNYS, "
      "active_table: silver.symbols, blocking: true}]",
      Day(2024, 7, 5));
  EXPECT_EQ(result.status, QualityStatus::kFail);
  EXPECT_EQ(result.observed, 2);
  EXPECT_EQ(result.detail,
            "2 of 3 active keys (symbol in silver.symbols) stale: expected session 2024-07-05 (XNYS); e.g. TSLA "
            "(no rows), MSFT (last 2024-07-03)");

  QualityResult fresh = RunOne("[{check: freshness, active_table: silver.symbols}]", Day(2024, 7, 3));
  EXPECT_EQ(fresh.observed, 1);  // TSLA has no rows at all.

  QualityResult missing = RunOne("[{check: freshness, active_table: silver.nothing}]", Day(2024, 7, 3));
  EXPECT_EQ(missing.status, QualityStatus::kError);
  QualityResult calendar = RunOne("[{check: freshness, calendar: XMARS}]", Day(2024, 7, 3));
  EXPECT_EQ(calendar.status, QualityStatus::kError);
  EXPECT_EQ(calendar.detail.rfind("quality.yaml: silver.bars_1d: check 1 (freshness): calendar: ", 0), 0u)
      << calendar.detail;
}

TEST_F(FreshnessTest, PassesWhenEverySymbolHasTheLastSession) {
  // 06-28 is four sessions before 07-05: 07-01, 07-02 and 07-03 lie between.
  QualityResult result = RunOne("[{check: freshness, max_sessions_behind: 4}]", Day(2024, 7, 5));
  EXPECT_EQ(result.status, QualityStatus::kPass);
  EXPECT_EQ(result.detail,
            "all 3 keys (symbol) fresh: expected session 2024-07-05 (XNYS), at most 4 sessions behind (from "
            "2024-06-28)");
}

TEST_F(QualityTest, RowCountChangeComparesWithThePreviousVersion) {
  MakeBars("");
  const std::string check = "[{check: row_count_change, max_change: 0.5, blocking: true}]";
  QualityResult first = RunOne(check);
  EXPECT_EQ(first.status, QualityStatus::kPass);
  EXPECT_EQ(first.detail, "no previous version");

  Append("silver.bars_1d", BarColumns(),
         "('A', '2024-01-02', 1.0, 1), ('B', '2024-01-02', 1.0, 1), ('C', '2024-01-02', 1.0, 1), "
         "('D', '2024-01-02', 1.0, 1)");
  QualityResult from_empty = RunOne(check);
  EXPECT_EQ(from_empty.status, QualityStatus::kPass);
  EXPECT_EQ(from_empty.observed, 4);
  EXPECT_EQ(from_empty.detail, "0 rows at version 0, 4 at 1: no baseline");

  Append("silver.bars_1d", BarColumns(), "('E', '2024-01-02', 1.0, 1), ('F', '2024-01-02', 1.0, 1)");
  QualityResult half = RunOne(check);
  EXPECT_EQ(half.status, QualityStatus::kPass);
  EXPECT_EQ(half.detail, "4 rows at version 1, 6 at 2 (+50.0%, within ±50.0%)");

  Append("silver.bars_1d", BarColumns(), "('G', '2024-01-02', 1.0, 1), ('H', '2024-01-02', 1.0, 1), "
                                         "('I', '2024-01-02', 1.0, 1), ('J', '2024-01-02', 1.0, 1)");
  QualityResult jump = RunOne(check);
  EXPECT_EQ(jump.status, QualityStatus::kFail);
  EXPECT_EQ(jump.observed, 4);
  EXPECT_EQ(jump.table_version, 3);
  EXPECT_EQ(jump.detail, "6 rows at version 2, 10 at 3 (+66.7%, beyond ±50.0%)");

  auto table = lake_->OpenTable("silver.bars_1d").value();
  ASSERT_TRUE(table->Delete("symbol <> 'A'").ok());
  QualityResult drop = RunOne(check);
  EXPECT_EQ(drop.status, QualityStatus::kFail);
  EXPECT_EQ(drop.observed, -9);
  EXPECT_EQ(drop.detail, "10 rows at version 3, 1 at 4 (-90.0%, beyond ±50.0%)");
  std::string why;
  EXPECT_TRUE(AnyBlockingFailure({drop}, &why));
  EXPECT_EQ(why, "silver.bars_1d: blocking check row_count_change(0.5) failed: " + drop.detail);
}

TEST_F(QualityTest, ResultsAreAppendedToSystemQualityResults) {
  MakeBars("('AAPL', '2024-01-02', 10.0, 1), ('AAPL', '2024-01-02', 10.5, 1)");
  auto results = Run(R"(
- {check: unique, columns: [symbol, session_date], blocking: true}
- {check: not_null, columns: [close]}
- {check: not_null, columns: [missing]}
)");
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(WriteQualityResults(lake_.get(), {}).ok());
  EXPECT_EQ(lake_->OpenTable(kQualityResultsTable).status().code(), StatusCode::kNotFound);
  Status written = WriteQualityResults(lake_.get(), results);
  ASSERT_TRUE(written.ok()) << written.ToString();
  written = WriteQualityResults(lake_.get(), {results[0]});
  ASSERT_TRUE(written.ok()) << written.ToString();

  auto table = lake_->OpenTable(kQualityResultsTable).value();
  auto snapshot = table->Load().value();
  std::vector<std::string> types;
  for (const delta::StructField& field : snapshot.schema.fields) types.push_back(field.name + " " + field.type.Name());
  EXPECT_EQ(Join(types, ", "),
            "table_name string, table_version long, check_name string, kind string, status string, blocking "
            "boolean, observed long, detail string, checked_at timestamp");
  auto connection = lake_->Connect().value();
  auto rows = connection
                  ->QueryJson("SELECT table_name, table_version, check_name, kind, status, blocking, observed, "
                              "detail, CAST(checked_at AS VARCHAR) FROM (" +
                              table->ScanSql(snapshot).value() + ") ORDER BY check_name, status")
                  .value();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0][2], "not_null(close)");
  EXPECT_EQ(rows[0][4], "pass");
  EXPECT_EQ(rows[0][5], false);
  EXPECT_EQ(rows[1][2], "not_null(missing)");
  EXPECT_EQ(rows[1][4], "error");
  EXPECT_EQ(rows[1][7], results[2].detail);
  for (int r : {2, 3}) {
    EXPECT_EQ(rows[r][0], "silver.bars_1d");
    EXPECT_EQ(rows[r][1], 1);
    EXPECT_EQ(rows[r][2], "unique(symbol, session_date)");
    EXPECT_EQ(rows[r][3], "unique");
    EXPECT_EQ(rows[r][4], "fail");
    EXPECT_EQ(rows[r][5], true);
    EXPECT_EQ(rows[r][6], 1);
    EXPECT_EQ(rows[r][7], "1 duplicate key, e.g. (AAPL, 2024-01-02) (2 rows hold them)");
    EXPECT_EQ(rows[r][8], "2024-07-03 09:46:40+00");
  }
}

}  // namespace
}  // namespace finlake::pipeline
