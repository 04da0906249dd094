#include "finlake/sql/time_travel.h"

#include <gtest/gtest.h>

namespace finlake::sql {
namespace {

std::string Rewritten(const std::string& sql) {
  auto out = RewriteTimeTravel(sql);
  EXPECT_TRUE(out.ok()) << sql << ": " << out.status().ToString();
  return out.ok() ? *out : "<error>";
}

std::string Error(const std::string& sql) {
  auto out = RewriteTimeTravel(sql);
  EXPECT_FALSE(out.ok()) << sql << " -> " << (out.ok() ? *out : "");
  return out.ok() ? "" : out.status().message();
}

TEST(TimeTravelTest, DeltaClausesBecomeDuckDbAtWithTheAliasInFront) {
  EXPECT_EQ(Rewritten("SELECT * FROM silver.t VERSION AS OF 3"), "SELECT * FROM silver.t AT (VERSION => 3)");
  EXPECT_EQ(Rewritten("SELECT * FROM silver.t version as of 3 x WHERE x.a > 1"),
            "SELECT * FROM silver.t AS x AT (VERSION => 3) WHERE x.a > 1");
  EXPECT_EQ(Rewritten("SELECT * FROM silver.t TIMESTAMP AS OF '2026-01-02 16:00:00' AS \"old\""),
            "SELECT * FROM silver.t AS \"old\" AT (TIMESTAMP => '2026-01-02 16:00:00')");
  // Two versions of one table in one query: a diff.
  EXPECT_EQ(Rewritten("SELECT * FROM s.t VERSION AS OF 1 a JOIN s.t VERSION AS OF 2 b USING (k)"),
            "SELECT * FROM s.t AS a AT (VERSION => 1) JOIN s.t AS b AT (VERSION => 2) USING (k)");
  // Keywords after the clause are not aliases.
  EXPECT_EQ(Rewritten("SELECT 1 FROM s.t VERSION AS OF 1\nJOIN s.u ON true"),
            "SELECT 1 FROM s.t AT (VERSION => 1)\nJOIN s.u ON true");
  EXPECT_EQ(Rewritten("SELECT 1 FROM \"s\".\"t\" VERSION /* c */ AS OF 7;"), "SELECT 1 FROM \"s\".\"t\" AT (VERSION => 7);");
}

TEST(TimeTravelTest, LiteralsCommentsAndOtherSqlAreLeftAlone) {
  for (const std::string sql : {
           "SELECT 'FROM t VERSION AS OF 3' AS s",
           "SELECT 1 -- FROM t VERSION AS OF 3",
           "SELECT /* t VERSION AS OF 3 */ 1",
           "SELECT $$t VERSION AS OF 3$$",
           "SELECT E'it''s \\' t VERSION AS OF 3'",
           "SELECT \"VERSION AS OF 3\" FROM t",
           "SELECT version AS of FROM t",
           "SELECT * FROM t AT (VERSION => 3)",
           "SELECT now()::TIMESTAMP AS of_day"}) {
    EXPECT_EQ(Rewritten(sql), sql);
  }
}

TEST(TimeTravelTest, BadClausesSayWhatWasExpected) {
  EXPECT_NE(Error("SELECT * FROM t VERSION AS OF 1.5").find("VERSION AS OF takes a non-negative integer literal"),
            std::string::npos);
  EXPECT_NE(Error("SELECT * FROM t VERSION AS OF -1").find("got '-'"), std::string::npos);
  EXPECT_NE(Error("SELECT * FROM t TIMESTAMP AS OF now()").find("TIMESTAMP AS OF takes a quoted timestamp"),
            std::string::npos);
  EXPECT_NE(Error("SELECT * FROM (SELECT 1) VERSION AS OF 2").find("must follow a table name"), std::string::npos);
}

}  // namespace
}  // namespace finlake::sql
