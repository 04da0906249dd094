#include "finlake/delta/actions.h"

#include <gtest/gtest.h>

#include "finlake/delta/schema.h"

namespace finlake::delta {
namespace {

TEST(Actions, RoundTripKeepsEveryField) {
  AddFile add;
  add.path = "date=2024-01-02/region=us/part-1 x.parquet";
  add.partition_values = {{"date", "2024-01-02"}, {"region", std::nullopt}};
  add.size = 1234;
  add.modification_time = 1700000000000;
  add.stats = R"({"numRecords":3})";
  RemoveFile remove;
  remove.path = "old%file.parquet";
  remove.deletion_timestamp = 5;
  Txn txn{"app", 7, 9};
  std::string text = SerializeCommit({Protocol{}, add, remove, txn});
  auto parsed = ParseCommit(text, "v1");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 4u);
  const auto& back = std::get<AddFile>((*parsed)[1]);
  EXPECT_EQ(back.path, add.path);
  EXPECT_EQ(back.partition_values, add.partition_values);
  EXPECT_EQ(back.stats, add.stats);
  EXPECT_EQ(std::get<RemoveFile>((*parsed)[2]).path, "old%file.parquet");
  EXPECT_EQ(std::get<Txn>((*parsed)[3]).version, 7);
  // The log holds the URI form: a space and a '%' are escaped once.
  EXPECT_NE(text.find("part-1%20x.parquet"), std::string::npos);
  EXPECT_NE(text.find("old%25file.parquet"), std::string::npos);
}

TEST(Actions, TruncatedLineIsCorruptionNamingTheLine) {
  std::string text = "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n{\"add\":{\"path\":\"a\",\"part";
  auto parsed = ParseCommit(text, "t/_delta_log/00000000000000000003.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kCorruption);
  EXPECT_NE(parsed.status().message().find("00000000000000000003.json line 2"), std::string::npos)
      << parsed.status().message();
}

TEST(Actions, UnknownActionsAreKeptAsOther) {
  auto parsed = ParseCommit("{\"futureAction\":{\"x\":1}}\n", "v");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(std::get<OtherAction>((*parsed)[0]).kind, "futureAction");
}

TEST(Actions, WrongFieldTypeIsCorruption) {
  auto parsed = ParseCommit("{\"add\":{\"path\":\"a\",\"partitionValues\":{},\"size\":\"big\",\"dataChange\":true}}\n", "v");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("'size'"), std::string::npos) << parsed.status().message();
}

TEST(Actions, EmptyCommitIsCorruption) {
  EXPECT_EQ(ParseCommit("\n", "v").status().code(), StatusCode::kCorruption);
}

TEST(Schema, ParsesAndSerialisesNestedTypes) {
  std::string text =
      R"j({"type":"struct","fields":[{"name":"a","type":"long","nullable":true,"metadata":{}},)j"
      R"j({"name":"d","type":"decimal(10,2)","nullable":false,"metadata":{}},)j"
      R"j({"name":"m","type":{"type":"map","keyType":"string","valueType":{"type":"array","elementType":"integer","containsNull":true},"valueContainsNull":true},"nullable":true,"metadata":{}}]})j";
  auto schema = ParseSchema(text);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(ToDuckDbType(schema->fields[2].type), "MAP(VARCHAR, INTEGER[])");
  auto again = ParseSchema(SerializeSchema(*schema));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *schema);
}

TEST(Schema, DuckDbTypesFollowTheContracts) {
  struct Case {
    std::string duck, delta;
  };
  for (const Case& c : std::vector<Case>{{"BIGINT", "long"},
                                         {"TIMESTAMP WITH TIME ZONE", "timestamp"},
                                         {"TIMESTAMP", "timestamp"},
                                         {"HUGEINT", "decimal(38,0)"},
                                         {"UBIGINT", "decimal(20,0)"},
                                         {"UUID", "string"},
                                         {"DECIMAL(18,4)", "decimal(18,4)"},
                                         {"BLOB", "binary"},
                                         {"STRUCT(\"a b\" INTEGER, c VARCHAR[])", "struct"}}) {
    auto type = FromDuckDbType(c.duck, "col");
    ASSERT_TRUE(type.ok()) << c.duck << ": " << type.status().ToString();
    EXPECT_EQ(type->Name(), c.delta) << c.duck;
  }
  for (std::string refused : {"INTERVAL", "TIME", "UNION(a INTEGER, b VARCHAR)", "INTEGER[3]"}) {
    auto type = FromDuckDbType(refused, "bad_col");
    ASSERT_FALSE(type.ok()) << refused;
    EXPECT_NE(type.status().message().find("bad_col"), std::string::npos) << type.status().message();
  }
}

TEST(Schema, DuplicateColumnIgnoringCaseIsCorruption) {
  auto schema = ParseSchema(R"({"type":"struct","fields":[{"name":"A","type":"long"},{"name":"a","type":"long"}]})");
  ASSERT_FALSE(schema.ok());
}

}  // namespace
}  // namespace finlake::delta
