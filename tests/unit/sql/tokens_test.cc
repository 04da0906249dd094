#include "finlake/sql/tokens.h"

#include <gtest/gtest.h>

namespace finlake::sql {
namespace {

TEST(TokensTest, WithNestingCountsEnclosingWithsOnly) {
  EXPECT_EQ(WithNesting("SELECT 1"), 0);
  EXPECT_EQ(WithNesting("WITH a AS (SELECT 1), b AS (SELECT 2) SELECT * FROM a, b"), 1);
  EXPECT_EQ(WithNesting("WITH a AS (WITH b AS (SELECT 1) SELECT * FROM b) SELECT * FROM a"), 2);
  // Side by side (UNION branches, two subqueries) is not nesting.
  EXPECT_EQ(WithNesting("(WITH a AS (SELECT 1) SELECT * FROM a) UNION ALL (WITH b AS (SELECT 2) SELECT * FROM b)"), 1);
  EXPECT_EQ(WithNesting("WITH a AS (SELECT 1) SELECT (WITH b AS (SELECT 2) SELECT * FROM b), "
                        "(WITH c AS (SELECT 3) SELECT * FROM c) FROM a"), 2);
  // Words in literals, quoted names and comments are not keywords.
  EXPECT_EQ(WithNesting("SELECT 'with (with (with' AS \"with\" -- with (\n"), 0);
}

TEST(TokensTest, CountCtesCountsDeclarationsAndMaterializedOnes) {
  CteCount none = CountCtes("SELECT CAST(x AS INTEGER) AS y FROM t AS u");
  EXPECT_EQ(none.total, 0);
  CteCount three = CountCtes("WITH a AS (SELECT 1), b AS MATERIALIZED (SELECT 2), c AS NOT MATERIALIZED (SELECT 3) "
                             "SELECT * FROM a, b, c");
  EXPECT_EQ(three.total, 3);
  EXPECT_EQ(three.materialized, 1);
  EXPECT_EQ(CountCtes("SELECT 'a AS (' AS s").total, 0);
}

}  // namespace
}  // namespace finlake::sql
