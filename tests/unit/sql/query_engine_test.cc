#include "finlake/sql/query_engine.h"

#include <gtest/gtest.h>

#include "testing/test_env.h"
#include "testing/test_lake.h"

namespace finlake::sql {
namespace {

using nlohmann::json;

class QueryEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lake_ = testing::NewLake(dir_.path() + "/lake");
    auto table = testing::CreatePlainTable(*lake_, "silver.prices", {{"symbol", "string"}, {"close", "double"}});
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    ASSERT_TRUE((*table)->Append("SELECT 'A' AS symbol, 1.0 AS close").ok());
    ASSERT_TRUE((*table)->Append("SELECT 'B' AS symbol, 2.0 AS close").ok());
    engine_ = std::move(QueryEngine::Create(lake_.get()).value());
  }

  // The first cell of a query that must succeed.
  std::string Cell(const std::string& sql) {
    auto result = One(sql);
    EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
    return result.ok() ? *result : "<error>";
  }

  Result<std::string> One(const std::string& sql) {
    ASSIGN_OR_RETURN(auto prepared, engine_->Prepare(sql));
    if (prepared.size() != 1) return Status::Internal("expected one statement");
    ASSIGN_OR_RETURN(auto result, engine_->Run(prepared[0]));
    return result->GetString(0, 0);
  }

  testing::ScratchDir dir_;
  std::unique_ptr<Lake> lake_;
  std::unique_ptr<QueryEngine> engine_;
};

TEST_F(QueryEngineTest, ResolvesTablesJoinsAndVersions) {
  EXPECT_EQ(Cell("SELECT count(*) FROM silver.prices"), "2");
  EXPECT_EQ(Cell("SELECT count(*) FROM silver.prices AT (VERSION => 1)"), "1");
  EXPECT_EQ(Cell("SELECT count(*) FROM silver.prices VERSION AS OF 1"), "1");
  // Two versions of one table side by side: the rows added since version 1.
  EXPECT_EQ(Cell("SELECT string_agg(now.symbol, ',') FROM silver.prices VERSION AS OF 2 now ANTI JOIN "
                 "silver.prices VERSION AS OF 1 AS was USING (symbol)"),
            "B");
  EXPECT_EQ(Cell("SELECT sum(a.close + b.close) FROM silver.prices a JOIN silver.prices AS b AT (VERSION => 1) USING (symbol)"),
            "2.0");
  EXPECT_EQ(Cell("WITH prices AS (SELECT 42 AS close) SELECT close FROM prices"), "42") << "a CTE shadows nothing";
  EXPECT_EQ(Cell("SELECT count(*) FROM (SELECT * FROM silver.prices WHERE close > 1)"), "1");
}

TEST_F(QueryEngineTest, AStatementThatDoesNotBindRunsItsFallback) {
  PreparedQuery query;
  query.sql = "SELECT no_such_column";
  auto refused = engine_->Run(query);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsBinderError(refused.status())) << refused.status().ToString();
  query.fallback_sql = "SELECT 42";
  auto ran = engine_->Run(query);
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_EQ((*ran)->GetString(0, 0), "42");
  ASSERT_TRUE(engine_->Bind(query).ok());
  EXPECT_EQ(query.sql, "SELECT 42");
  EXPECT_TRUE(query.fallback_sql.empty());
  // Other failures are not the fallback's: a conversion error fails as it is.
  PreparedQuery failing;
  failing.sql = "SELECT CAST('x' AS INTEGER)";
  failing.fallback_sql = "SELECT 42";
  EXPECT_FALSE(engine_->Run(failing).ok());
  // A calendar call on a lake column carries the plain rewrite as its fallback.
  auto calendar = engine_->Prepare("SELECT CAST(symbol AS VARCHAR), count(*) FROM silver.prices GROUP BY 1");
  ASSERT_TRUE(calendar.ok());
  EXPECT_TRUE((*calendar)[0].fallback_sql.empty()) << "no calendar call, no fallback";
}

TEST_F(QueryEngineTest, ColumnsMayBeQualifiedByNamespaceAndTable) {
  EXPECT_EQ(Cell("SELECT silver.prices.symbol FROM silver.prices WHERE silver.prices.close > 1"), "B");
  EXPECT_EQ(Cell("SELECT max(SILVER.Prices.close) FROM silver.prices"), "2.0");
  // In a correlated subquery, from the outer FROM.
  EXPECT_EQ(Cell("SELECT count(*) FROM silver.prices WHERE EXISTS (SELECT 1 FROM range(1) r "
                 "WHERE silver.prices.close = 2)"),
            "1");
  // An aliased table is named by its alias only, as in DuckDB.
  auto aliased = One("SELECT silver.prices.symbol FROM silver.prices AS p");
  EXPECT_FALSE(aliased.ok());
}

TEST_F(QueryEngineTest, ALaterCommitIsSeenAndOlderVersionsStayAsTheyWere) {
  // The engine keeps the snapshots it loaded: a commit since must still show.
  EXPECT_EQ(Cell("SELECT count(*) FROM silver.prices"), "2");
  auto table = lake_->OpenTable("silver.prices");
  ASSERT_TRUE(table.ok());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE((*table)->Append("SELECT 'C' AS symbol, 3.0 AS close").ok());
  EXPECT_EQ(Cell("SELECT count(*) FROM silver.prices"), "8");
  auto prepared = engine_->Prepare("SELECT * FROM silver.prices WHERE symbol = 'C'");
  ASSERT_TRUE(prepared.ok());
  EXPECT_EQ((*prepared)[0].reads[0].version, 8);
  // More versions than the engine keeps, each still the rows it had.
  for (int version = 1; version <= 8; ++version) {
    EXPECT_EQ(Cell("SELECT count(*) FROM silver.prices AT (VERSION => " + std::to_string(version) + ")"),
              std::to_string(version));
  }
  EXPECT_EQ(Cell("SELECT count(*) FROM silver.prices VERSION AS OF 2 a JOIN silver.prices VERSION AS OF 8 b "
                 "USING (symbol)"),
            "2");
  // A table created after the engine: its folder joins the sandbox.
  table::CreateSpec spec;
  spec.schema.fields = {{"x", delta::DataType::Primitive("long"), true, json::object()}};
  auto created = lake_->CreateTable("gold.later", spec, "test");
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE((*created)->Append("SELECT 5::BIGINT AS x").ok());
  EXPECT_EQ(Cell("SELECT sum(x) FROM gold.later"), "5");
}

TEST_F(QueryEngineTest, ARepeatedStatementReusesItsRewriteUntilTheTableMoves) {
  const std::string latest = "SELECT count(*) FROM silver.prices WHERE close > 0";
  auto first = engine_->Prepare(latest + "; " + latest);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE((*first)[0].reused);
  EXPECT_TRUE((*first)[1].reused);
  EXPECT_EQ((*first)[1].sql, (*first)[0].sql);
  EXPECT_EQ(Cell(latest), "2");
  // A commit since: the statement is rewritten over the new snapshot.
  auto table = lake_->OpenTable("silver.prices");
  ASSERT_TRUE(table.ok());
  ASSERT_TRUE((*table)->Append("SELECT 'C' AS symbol, 3.0 AS close").ok());
  auto after = engine_->Prepare(latest);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE((*after)[0].reused);
  EXPECT_EQ((*after)[0].reads[0].version, 3);
  EXPECT_EQ(Cell(latest), "3");
  // Time travel is rewritten every time (a vacuum may take its files).
  const std::string pinned = "SELECT count(*) FROM silver.prices AT (VERSION => 1)";
  auto travelled = engine_->Prepare(pinned + "; " + pinned);
  ASSERT_TRUE(travelled.ok());
  EXPECT_FALSE((*travelled)[1].reused);
  // Statements that fail are not kept: the error comes again.
  EXPECT_FALSE(engine_->Prepare("SELECT * FROM silver.missing").ok());
  EXPECT_FALSE(engine_->Prepare("SELECT * FROM silver.missing").ok());
}

TEST_F(QueryEngineTest, AFileWhoseRowGroupsCannotMatchIsNotScanned) {
  auto table = testing::CreatePlainTable(*lake_, "silver.groups",
                                         {{"symbol", "string"}, {"v", "long"}, {"ts", "timestamp"}});
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  // Two files of two row groups each (DuckDB's 122,880 rows): 'A' on Jan 1, then 'Z' on Jan 3. A file's
  // bounds in the log span both; each row group's in the footer only its own. (One candidate file
  // is left to DuckDB, which checks its row groups as it opens it.)
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE((*table)->Append("SELECT CASE WHEN i < 122880 THEN 'A' ELSE 'Z' END AS symbol, i AS v, "
                                 "TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_days(CASE WHEN i < 122880 THEN 0 ELSE 2 END) "
                                 "AS ts FROM range(130000) t(i)").ok());
  }
  auto snapshot = (*table)->Load();
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->files.size(), 2u);
  EXPECT_EQ(Cell("SELECT count(*) FROM silver.groups"), "260000");
  struct Case {
    std::string where, rows;
    int64_t files;
  };
  for (const Case& c : std::vector<Case>{
           {"symbol = 'M'", "0", 0},
           {"symbol = 'Z'", "14240", 2},
           {"ts >= TIMESTAMPTZ '2024-01-01 12:00:00+00' AND ts < TIMESTAMPTZ '2024-01-02 12:00:00+00'", "0", 0},
           {"symbol = 'A' AND ts > TIMESTAMPTZ '2024-01-02 00:00:00+00'", "0", 0},
           {"symbol = 'A' AND ts < TIMESTAMPTZ '2024-01-02 00:00:00+00'", "245760", 2},
           {"v BETWEEN 122000 AND 123000", "2002", 2},
           {"symbol IN ('B', 'Y')", "0", 0},
       }) {
    const std::string sql = "SELECT count(*) FROM silver.groups WHERE ";
    auto prepared = engine_->Prepare(sql + c.where);
    ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
    EXPECT_EQ((*prepared)[0].reads[0].files, c.files) << c.where;
    EXPECT_EQ(Cell(sql + c.where), c.rows) << c.where;
    EXPECT_EQ(Cell(sql + "(" + c.where + ") OR false"), c.rows) << c.where << ", unpruned";
  }
}

TEST_F(QueryEngineTest, RefusesWhatIsNotALakeSelect) {
  for (std::string sql : {"DELETE FROM silver.prices", "CREATE TABLE x (a INT)", "COPY (SELECT 1) TO '/tmp/x.csv'",
                          "SELECT * FROM read_parquet('/etc/passwd')", "SELECT * FROM prices", "SELECT * FROM silver.nope",
                          "SELECT * FROM silver.prices AT (VERSION => 9)", "SELEC 1"}) {
    auto result = One(sql);
    EXPECT_FALSE(result.ok()) << sql;
  }
  auto missing = One("SELECT * FROM silver.nope");
  EXPECT_NE(missing.status().message().find("silver.nope"), std::string::npos) << missing.status().message();
}

TEST_F(QueryEngineTest, SplitsStatementsOutsideLiteralsAndComments) {
  EXPECT_EQ(SplitStatements("SELECT ';' AS a; -- x;y\nSELECT 2; /* ; */ SELECT \"a;b\""),
            (std::vector<std::string>{"SELECT ';' AS a", " -- x;y\nSELECT 2", " /* ; */ SELECT \"a;b\""}));
  EXPECT_EQ(SplitStatements("SELECT $$a;b$$; SELECT E'\\';'; ;  -- only a comment"),
            (std::vector<std::string>{"SELECT $$a;b$$", " SELECT E'\\';'"}));
}

TEST_F(QueryEngineTest, ClassifiesByTheLeadingKeywordAndNamesTheCommandToUse) {
  EXPECT_EQ(LeadingKeyword("  /* c */ select 1"), "select");
  EXPECT_EQ(LeadingKeyword("(SELECT 1) UNION (SELECT 2)"), "select");
  EXPECT_EQ(LeadingKeyword("WITH a AS (DELETE FROM x), \"b\" AS MATERIALIZED (SELECT 1) INSERT INTO t SELECT 1"),
            "insert");
  EXPECT_EQ(LeadingKeyword("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r"), "select");
  EXPECT_EQ(LeadingKeyword("FROM silver.prices"), "from");
  EXPECT_EQ(LeadingKeyword("'text'"), "");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"INSERT INTO silver.prices VALUES ('C', 3)", "finlake import TABLE FILE"},
      {"update silver.prices SET close = 0", "finlake merge TABLE FILE --keys"},
      {"DELETE FROM silver.prices", "finlake delete TABLE --where"},
      {"CREATE TABLE x (a INT)", "finlake create-table"},
      {"DROP TABLE silver.prices", "only through finlake commands"},
      {"COPY (SELECT 1) TO '/tmp/x.csv'", "finlake sql --format"},
      {"DESCRIBE silver.prices", "finlake describe TABLE"},
      {"ATTACH '/tmp/x.db'", "cannot change the engine's settings"},
      {"SET threads = 1", "cannot change the engine's settings"},
      {"PRAGMA version", "cannot change the engine's settings"},
      {"WITH x AS (SELECT 1) DELETE FROM silver.prices", "finlake delete"},
      {"EXPLAIN DELETE FROM silver.prices", "finlake delete"},
  };
  for (const auto& [sql, needle] : cases) {
    auto result = One(sql);
    ASSERT_FALSE(result.ok()) << sql;
    EXPECT_NE(result.status().message().find(needle), std::string::npos) << sql << ": " << result.status().message();
    EXPECT_NE(result.status().message().find("runs only SELECT and EXPLAIN"), std::string::npos) << sql;
  }
  EXPECT_EQ(Cell("VALUES (7)"), "7");
  EXPECT_EQ(Cell("FROM silver.prices SELECT count(*)"), "2");
}

TEST_F(QueryEngineTest, WhereConjunctsPruneFilesWithoutChangingResults) {
  table::CreateSpec spec;
  spec.schema.fields = {{"part", delta::DataType::Primitive("long"), true, json::object()},
                        {"v", delta::DataType::Primitive("double"), true, json::object()},
                        {"s", delta::DataType::Primitive("string"), true, json::object()},
                        {"d", delta::DataType::Primitive("date"), true, json::object()}};
  auto created = lake_->CreateTable("silver.parts", spec, "test");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  // Eight files, each a range of part, v, d; s shares a 40-character prefix (past
  // the 32 characters other writers keep of a string bound).
  for (int f = 0; f < 8; ++f) {
    std::string select = "SELECT " + std::to_string(f) + "::BIGINT AS part, (i + " + std::to_string(f * 100) +
                         ".5)::DOUBLE AS v, repeat('x', 40) || '" + std::to_string(f) +
                         "' || (i % 7) AS s, (DATE '2024-01-01' + " + std::to_string(f * 10) +
                         " + (i % 10)::INTEGER)::DATE AS d FROM range(100) t(i)";
    auto appended = (*created)->Append(select);
    ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  }
  const std::string prefix = "'" + std::string(40, 'x');
  const std::vector<std::string> predicates = {
      "part = 3", "part IN (1, 6)", "v < 150", "v >= 699.5", "350 > v", "v BETWEEN 210 AND 420",
      "s = " + prefix + "42'", "s > " + prefix + "6'", "d >= DATE '2024-02-15'", "d < '2024-01-05'",
      "d BETWEEN DATE '2024-01-20' AND DATE '2024-01-25' AND part > 1", "part = 2 AND v > 1000",
      "part = '3'", "s = 42", "p.part = 5"};
  int pruned = 0;
  for (const std::string& predicate : predicates) {
    for (const std::string& from : {std::string("silver.parts"), std::string("silver.parts AS p")}) {
      if (predicate.rfind("p.", 0) == 0 && from == "silver.parts") continue;
      const std::string query = "SELECT count(*), coalesce(sum(hash(s, v)), 0) FROM " + from + " WHERE ";
      auto with = engine_->Prepare(query + predicate);
      ASSERT_TRUE(with.ok()) << predicate << ": " << with.status().ToString();
      // OR false hides the conjuncts from pruning: the same query, every file read.
      auto without = engine_->Prepare(query + "(" + predicate + ") OR false");
      ASSERT_TRUE(without.ok());
      EXPECT_EQ((*without)[0].reads[0].files, 8);
      auto a = engine_->Run((*with)[0]);
      auto b = engine_->Run((*without)[0]);
      if (!b.ok()) {
        EXPECT_FALSE(a.ok()) << predicate;  // Both fail the same way (e.g. a bad cast).
        continue;
      }
      ASSERT_TRUE(a.ok()) << predicate << ": " << a.status().ToString();
      EXPECT_EQ((*a)->GetString(0, 0) + "/" + (*a)->GetString(1, 0), (*b)->GetString(0, 0) + "/" + (*b)->GetString(1, 0))
          << predicate << " (" << (*with)[0].reads[0].files << " of 8 files)";
      EXPECT_EQ((*with)[0].reads[0].files_total, 8);
      pruned += (*with)[0].reads[0].files < 8 ? 1 : 0;
    }
  }
  EXPECT_GE(pruned, 10);  // Most of these predicates rule files out.
}

}  // namespace
}  // namespace finlake::sql
