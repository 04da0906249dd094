#include "finlake/table/predicate.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "finlake/table/table.h"
#include "testing/test_env.h"

namespace finlake::table {
namespace {

using nlohmann::json;

class PredicateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = std::move(engine::Database::Open().value());
    connection_ = std::move(database_->Connect().value());
  }

  Status Check(const std::string& predicate) {
    return CheckedPredicate(*connection_, predicate, "test predicate").status();
  }

  std::unique_ptr<engine::Database> database_;
  std::unique_ptr<engine::Connection> connection_;
};

TEST_F(PredicateTest, ExpressionsOverColumnsPass) {
  for (const char* predicate :
       {"symbol = 'X'", "v IN (1, 4)", "d < DATE '2020-01-01' AND (v > 3 OR v IS NULL)", "true",
        "symbol LIKE 'A%' -- a trailing comment", "/* leading */ v BETWEEN 1 AND 2", "list_contains([1, 2], v)",
        "CASE WHEN v > 1 THEN true ELSE false END", "symbol = ';'", "symbol = ') LIMIT 1 --'",
        "list_filter([1, 2, 3], x -> x > v) = []", "d < current_date - INTERVAL 30 DAY"}) {
    auto checked = CheckedPredicate(*connection_, predicate, "test predicate");
    ASSERT_TRUE(checked.ok()) << predicate << ": " << checked.status().ToString();
    EXPECT_EQ(*checked, "(" + std::string(predicate) + "\n)");
  }
}

TEST_F(PredicateTest, EverythingButOneExpressionIsRefusedWithTheRule) {
  struct Probe {
    const char* predicate;
    const char* rule;
  };
  for (const Probe& probe : std::vector<Probe>{
           {"", "empty"},
           {"  \n", "empty"},
           {"v = 1; COPY (SELECT 1) TO '/tmp/finlake_probe.csv'", "parses"},
           {"v = 1); COPY (SELECT 1) TO '/tmp/finlake_probe.csv'; SELECT (1", "one expression"},
           {"v = 1); SELECT (1", "one expression"},
           {"v = 1); DROP TABLE x; SELECT (1", "one expression"},
           {"v = 1) LIMIT 1 --", "parses"},
           {"v = 1 LIMIT 1", "parses"},
           {"v = 1) LIMIT (1", "one expression"},
           {"v = 1) ORDER BY (v", "one expression"},
           {"v = 1) GROUP BY (v", "one expression"},
           {"v = 1) QUALIFY (true", "one expression"},
           {"v = 1) UNION SELECT * FROM read_csv('/etc/passwd') WHERE (true", "one expression"},
           {"v = 1) UNION (SELECT 1", "one expression"},
           {"v IN (SELECT * FROM read_csv('/etc/passwd'))", "subquery"},
           {"EXISTS (SELECT 1 FROM glob('/*'))", "subquery"},
           {"(SELECT count(*) FROM query('SELECT 1')) > 0", "subquery"},
           {"v = (SELECT max(v) FROM '/tmp/lake/t/part-0.parquet')", "subquery"},
           {"v = $1", "parameter"},
           {"v = ?", "parameter"},
           {"v = 1 /* unclosed", "parses"},
           {"v =", "parses"},
           {"v = 99) WINDOW w AS (", "where it is spliced"},
           {"random() < 0.5", "random() is not allowed: it gives another answer"},
           {"v > 0 AND gen_random_uuid() IS NOT NULL", "gen_random_uuid()"},
           {"nextval('s') > 0", "nextval()"},
           {"__finlake_file = 0", "names starting with __finlake_"},
       }) {
    Status status = Check(probe.predicate);
    ASSERT_FALSE(status.ok()) << "accepted: " << probe.predicate;
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
    EXPECT_NE(status.message().find(probe.rule), std::string::npos) << probe.predicate << ": " << status.message();
    EXPECT_NE(status.message().find("test predicate"), std::string::npos) << status.message();
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/finlake_probe.csv"));
}

// Every entry point of the table that takes a predicate refuses a hostile one
// before anything runs, and the table keeps its version and rows.
class TablePredicateTest : public PredicateTest {
 protected:
  void SetUp() override {
    PredicateTest::SetUp();
    storage_ = NewLocalStorage();
    CreateSpec spec;
    spec.schema.fields.push_back({"d", delta::DataType::Primitive("date"), true, json::object()});
    spec.schema.fields.push_back({"v", delta::DataType::Primitive("long"), true, json::object()});
    spec.partition_columns = {"d"};
    table_ = std::move(Table::Create(storage_.get(), database_.get(), dir_.path() + "/t", spec).value());
    ASSERT_TRUE(table_->Append("SELECT DATE '2024-01-01' + (i % 3)::INTEGER AS d, i AS v FROM range(9) t(i)").ok());
    secret_ = dir_.path() + "/secret.csv";
    std::ofstream(secret_) << "v\n1\n";
  }

  void ExpectRefusedAndUnchanged(const Status& status, const std::string& what) {
    ASSERT_FALSE(status.ok()) << what;
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
    EXPECT_NE(status.message().find(what), std::string::npos) << status.message();
    auto snapshot = table_->Load();
    ASSERT_TRUE(snapshot.ok());
    EXPECT_EQ(snapshot->version, 1);
    auto scan = table_->ScanSql(*snapshot);
    auto count = connection_->Query("SELECT count(*) FROM (" + *scan + ")");
    EXPECT_EQ((*count)->GetInt64(0, 0), 9);
  }

  testing::ScratchDir dir_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<Table> table_;
  std::string secret_;
};

TEST_F(TablePredicateTest, DeleteReplaceWhereOptimizeAndMergeRefuseSubqueries) {
  std::string reads_file = "v IN (SELECT v FROM read_csv('" + secret_ + "'))";
  ExpectRefusedAndUnchanged(table_->Delete(reads_file).status(), "delete predicate");
  ExpectRefusedAndUnchanged(table_->Delete("true); SELECT (1").status(), "delete predicate");

  WriteOptions overwrite;
  overwrite.replace_where = "d IN (SELECT DATE '2024-01-01' FROM glob('/*'))";
  ExpectRefusedAndUnchanged(table_->Overwrite("SELECT DATE '2024-01-01' AS d, 100::BIGINT AS v", overwrite).status(),
                            "replace-where predicate");

  OptimizeOptions optimize;
  optimize.where = "d = DATE '2024-01-01' UNION SELECT 0";
  ExpectRefusedAndUnchanged(table_->Optimize(optimize).status(), "optimize where-predicate");

  MergeOptions merge;
  merge.keys = {"d", "v"};
  merge.delete_when = "v = (SELECT count(*) FROM read_csv('" + secret_ + "'))";
  ExpectRefusedAndUnchanged(table_->Merge("SELECT DATE '2024-01-01' AS d, 0::BIGINT AS v", merge).status(),
                            "merge delete-when predicate");
}

TEST_F(TablePredicateTest, ACheckedPredicateStillDeletes) {
  auto deleted = table_->Delete("v >= 7 -- the last two rows");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->rows_deleted, 2);
}

}  // namespace
}  // namespace finlake::table
