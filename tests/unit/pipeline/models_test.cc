#include "finlake/pipeline/models.h"

#include <gtest/gtest.h>

#include <fstream>

#include "testing/test_env.h"
#include "testing/test_lake.h"

namespace finlake::pipeline {
namespace {

const char* kModel = R"(/*---
output: gold.t
inputs: [silver.x]
keys: [k]
mode: incremental
incremental_key: k
---*/
SELECT k, sum(v) AS v FROM silver.x GROUP BY k;
)";

TEST(ParseModelTest, ReadsTheHeaderAndTheSelect) {
  auto model = ParseModel("m.sql", kModel);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(model->output, "gold.t");
  EXPECT_EQ(model->inputs, std::vector<std::string>{"silver.x"});
  EXPECT_EQ(model->keys, std::vector<std::string>{"k"});
  EXPECT_EQ(model->mode, "incremental");
  EXPECT_EQ(model->sql, "SELECT k, sum(v) AS v FROM silver.x GROUP BY k");
}

TEST(ParseModelTest, NamesTheFileAndTheRule) {
  std::string text = kModel;
  auto without_key = ParseModel("m.sql", text.replace(text.find("incremental_key: k\n"), 19, ""));
  EXPECT_EQ(without_key.status().message(), "m.sql: mode incremental needs incremental_key (e.g. symbol)");
  EXPECT_EQ(ParseModel("m.sql", "SELECT 1").status().message(),
            "m.sql: a model starts with a YAML header between /*--- and ---*/");
  EXPECT_NE(ParseModel("m.sql", "/*---\noutput: [\n---*/ SELECT 1").status().message().find("m.sql: header:"),
            std::string::npos);
}

TEST(LoadModelsTest, OrdersModelsAfterTheirInputsAndRefusesCycles) {
  testing::ScratchDir dir;
  auto write = [&](const std::string& name, const std::string& output, const std::string& input) {
    std::ofstream(dir.path() + "/" + name) << "/*---\noutput: " << output << "\ninputs: [" << input
                                           << "]\nkeys: [k]\n---*/\nSELECT 1 AS k FROM " << input;
  };
  write("a.sql", "gold.second", "gold.first");
  write("b.sql", "gold.first", "silver.x");
  auto models = LoadModels(dir.path());
  ASSERT_TRUE(models.ok()) << models.status().ToString();
  ASSERT_EQ(models->size(), 2u);
  EXPECT_EQ((*models)[0].output, "gold.first");
  EXPECT_EQ((*models)[1].output, "gold.second");
  write("b.sql", "gold.first", "gold.second");
  EXPECT_NE(LoadModels(dir.path()).status().message().find("cycle: gold.second, gold.first"), std::string::npos)
      << LoadModels(dir.path()).status().message();
}

TEST(AutoCompactTest, PacksSmallFilesOnceEnoughPiledUp) {
  testing::ScratchDir dir;
  auto lake = testing::NewLake(dir.path() + "/lake");
  auto table = testing::CreatePlainTable(*lake, "silver.t", {{"k", "long"}}).value();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(table->Append("SELECT range AS k FROM range(10)").ok());
  EXPECT_EQ(AutoCompact(lake.get(), "silver.t", 4).value(), 0);  // 3 small files: not yet.
  ASSERT_TRUE(table->Append("SELECT range AS k FROM range(10)").ok());
  EXPECT_EQ(AutoCompact(lake.get(), "silver.t", 4).value(), 4);
  auto snapshot = table->Load().value();
  EXPECT_EQ(snapshot.files.size(), 1u);
  EXPECT_EQ(snapshot.NumRecords(), 40);
}

TEST(ChangedRowsSqlTest, YieldsTheChangedRowsOfRewrittenFilesOnly) {
  testing::ScratchDir dir;
  auto lake = testing::NewLake(dir.path() + "/lake");
  auto table = testing::CreatePlainTable(*lake, "silver.t", {{"k", "long"}, {"v", "long"}}).value();
  ASSERT_TRUE(table->Append("SELECT range AS k, range AS v FROM range(100)").ok());
  const int64_t since = table->Load().value().version;
  // One row changed, one deleted, one added: the MERGE rewrites the file of 100.
  table::MergeOptions merge;
  merge.keys = {"k"};
  merge.delete_when = "v < 0";
  ASSERT_TRUE(table->Merge("SELECT * FROM (VALUES (5, 500), (7, -1), (100, 100)) AS s(k, v)", merge).ok());
  auto connection = lake->Connect().value();
  auto rows_of = [&](int64_t from) {
    auto now = table->Load().value();
    auto sql = ChangedRowsSql(*table, now, from, {"k", "v"}, /*exact=*/true).value();
    EXPECT_TRUE(sql.has_value());
    auto result = connection->Query("SELECT k || ':' || v FROM (" + *sql + ") ORDER BY k, v").value();
    std::vector<std::string> rows;
    for (int64_t r = 0; r < result->row_count(); ++r) rows.push_back(result->GetString(0, r));
    return rows;
  };
  EXPECT_EQ(rows_of(since), (std::vector<std::string>{"5:5", "5:500", "7:7", "100:100"}));
  EXPECT_EQ(rows_of(-1).size(), 100u);  // Everything, from the start.
  // Compaction rewrites files without changing a row.
  ASSERT_TRUE(table->Append("SELECT 200 AS k, 200 AS v").ok());
  const int64_t before_compaction = table->Load().value().version;
  auto compacted = table->Optimize({});
  ASSERT_TRUE(compacted.ok());
  EXPECT_EQ(compacted->files_removed, 2);
  EXPECT_TRUE(rows_of(before_compaction).empty());
  // A version whose columns differ cannot be compared.
  auto now = table->Load().value();
  EXPECT_FALSE(ChangedRowsSql(*table, now, since, {"k", "w"}, /*exact=*/true).value().has_value());
  // Not exact: every key of the files added and removed since `since`, read from
  // the key column alone (100 rows rewritten in, 100 out, plus the appended one).
  auto keys = ChangedRowsSql(*table, now, since, {"k"}, /*exact=*/false).value();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(connection->Query("SELECT count(*) FROM (" + *keys + ")").value()->GetInt64(0, 0), 201);
}

}  // namespace
}  // namespace finlake::pipeline
