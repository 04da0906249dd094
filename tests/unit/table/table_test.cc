#include "finlake/table/table.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "testing/test_env.h"

namespace finlake::table {
namespace {

using nlohmann::json;

class TableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = std::move(engine::Database::Open().value());
    connection_ = std::move(database_->Connect().value());
    storage_ = NewLocalStorage();
  }

  std::unique_ptr<Table> Create(const std::string& columns, std::vector<std::string> partitions = {},
                                std::map<std::string, std::string> properties = {}) {
    DescribeColumns(columns);
    CreateSpec spec;
    spec.properties = std::move(properties);
    for (const auto& [name, type] : described_) {
      spec.schema.fields.push_back({name, delta::FromDuckDbType(type, name).value(), true, json::object()});
    }
    spec.partition_columns = std::move(partitions);
    auto table = Table::Create(storage_.get(), database_.get(), dir_.path() + "/t", spec);
    EXPECT_TRUE(table.ok()) << table.status().ToString();
    return table.ok() ? std::move(table).value() : nullptr;
  }

  void DescribeColumns(const std::string& columns) {
    ASSERT_TRUE(connection_->Execute("CREATE OR REPLACE TEMP TABLE probe (" + columns + ")").ok());
    described_ = connection_->Describe("SELECT * FROM probe").value();
  }

  std::vector<std::string> Rows(Table& table, const std::string& order_by, std::optional<int64_t> version = {}) {
    auto snapshot = table.Load(version);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    auto scan = table.ScanSql(*snapshot);
    EXPECT_TRUE(scan.ok()) << scan.status().ToString();
    auto result = connection_->Query("SELECT COLUMNS(*)::VARCHAR FROM (" + *scan + ") ORDER BY " + order_by);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    std::vector<std::string> rows;
    for (int64_t r = 0; r < (*result)->row_count(); ++r) {
      std::string row;
      for (int64_t c = 0; c < (*result)->column_count(); ++c) row += (c ? "|" : "") + (*result)->GetString(c, r);
      rows.push_back(row);
    }
    return rows;
  }

  testing::ScratchDir dir_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<engine::Database> database_;
  std::unique_ptr<engine::Connection> connection_;
  std::vector<std::pair<std::string, std::string>> described_;
};

TEST_F(TableTest, AppendThenReadPartitionedWithStats) {
  auto table = Create("symbol VARCHAR, session_date DATE, ts TIMESTAMPTZ, close DOUBLE, region VARCHAR", {"region"});
  ASSERT_NE(table, nullptr);
  auto written = table->Append(
      "SELECT 'AAPL' AS symbol, DATE '2024-01-02' AS session_date, TIMESTAMPTZ '2024-01-02 21:00:00.000123+00' AS ts, "
      "185.5 AS close, 'us' AS region UNION ALL SELECT 'SAP', DATE '2024-01-02', TIMESTAMPTZ '2024-01-02 16:30:00+00', "
      "140.25, 'eu'");
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->rows_written, 2);
  EXPECT_EQ(written->files_added, 2);
  EXPECT_EQ(Rows(*table, "symbol"),
            (std::vector<std::string>{"AAPL|2024-01-02|2024-01-02 21:00:00.000123+00|185.5|us",
                                      "SAP|2024-01-02|2024-01-02 16:30:00+00|140.25|eu"}));
  auto snapshot = table->Load().value();
  for (const auto& file : snapshot.files) {
    json stats = json::parse(*file.stats);
    EXPECT_EQ(stats["numRecords"], 1);
    EXPECT_FALSE(stats["minValues"].contains("region")) << "partition columns carry no stats";
    if (file.partition_values.at("region") == "us") {
      // Millisecond stats keep the bounds: min rounds down, max rounds up.
      EXPECT_EQ(stats["minValues"]["ts"], "2024-01-02T21:00:00.000Z");
      EXPECT_EQ(stats["maxValues"]["ts"], "2024-01-02T21:00:00.001Z");
      EXPECT_EQ(stats["maxValues"]["close"], 185.5);
    }
  }
}

// The distinct values of a parquet_metadata() column (with a condition) over every
// data file of the table's latest snapshot.
std::set<std::string> FooterValues(Table& table, engine::Connection& connection, const std::string& column,
                                   const std::string& where = "true") {
  std::set<std::string> values;
  const delta::Snapshot snapshot = table.Load().value();
  for (const auto& file : snapshot.files) {
    auto result = connection.Query("SELECT DISTINCT " + column + " FROM parquet_metadata('" + table.root() + "/" +
                                   file.path + "') WHERE " + where);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    for (int64_t r = 0; result.ok() && r < (*result)->row_count(); ++r) values.insert((*result)->GetString(0, r));
  }
  return values;
}

// The ts column's encodings in every data file of the table's latest snapshot.
std::set<std::string> TimestampEncodings(Table& table, engine::Connection& connection) {
  return FooterValues(table, connection, "encodings", "path_in_schema = 'ts'");
}

TEST_F(TableTest, TheParquetVersionPropertyChoosesTheEncodingsOfEveryFileWritten) {
  // Distinct timestamps in time order: no dictionary, so PLAIN in v1 files and
  // DELTA_BINARY_PACKED in v2 files, written by an append and by an OPTIMIZE.
  const std::string rows =
      "SELECT 'S' || (i % 7) AS symbol, TIMESTAMPTZ '2024-03-04 14:30:00+00' + to_microseconds(i * 1000003) AS ts, "
      "i * 0.5::DOUBLE AS price FROM range(20000) t(i)";
  for (const std::string version : {"v1", "v2"}) {
    std::filesystem::remove_all(dir_.path() + "/t");
    auto table = Create("symbol VARCHAR, ts TIMESTAMPTZ, price DOUBLE", {}, {{kParquetVersionProperty, version}});
    ASSERT_NE(table, nullptr);
    auto appended = table->Append(rows);
    ASSERT_TRUE(appended.ok()) << appended.status().ToString();
    ASSERT_TRUE(table->Append(rows + " WHERE i < 100").ok());
    const std::set<std::string> plain = {"PLAIN"}, delta = {"DELTA_BINARY_PACKED"};
    EXPECT_EQ(TimestampEncodings(*table, *connection_), version == "v2" ? delta : plain) << version << " append";
    OptimizeOptions options;
    options.sort_by = {"symbol", "ts"};
    ASSERT_TRUE(table->Optimize(options).ok());
    EXPECT_EQ(TimestampEncodings(*table, *connection_), version == "v2" ? delta : plain) << version << " optimize";
    EXPECT_EQ(Rows(*table, "symbol, ts").size(), 20100u);
  }
}

TEST_F(TableTest, AnUnknownParquetVersionIsRefusedNamingTheProperty) {
  DescribeColumns("id INTEGER");
  CreateSpec spec;
  spec.schema.fields.push_back({"id", delta::FromDuckDbType("INTEGER", "id").value(), true, json::object()});
  spec.properties[kParquetVersionProperty] = "v3";
  auto table = Table::Create(storage_.get(), database_.get(), dir_.path() + "/t", spec);
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.status().message().find("finlake.parquet.version is 'v3'; it must be v1 (the default) or v2"),
            std::string::npos)
      << table.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/t/_delta_log")) << "nothing is created";
}

TEST_F(TableTest, SetPropertiesCommitsMetadataThatLaterWritesFollow) {
  auto table = Create("symbol VARCHAR, ts TIMESTAMPTZ");
  ASSERT_NE(table, nullptr);
  const std::string rows =
      "SELECT 'S' || (i % 3) AS symbol, TIMESTAMPTZ '2024-03-04 14:30:00+00' + to_microseconds(i * 1000003) AS ts "
      "FROM range(5000) t(i)";
  ASSERT_TRUE(table->Append(rows).ok());
  auto set = table->SetProperties({{kParquetVersionProperty, "v2"}, {"delta.appendOnly", "true"}}, {});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  delta::Snapshot snapshot = table->Load().value();
  EXPECT_EQ(snapshot.version, set->version);
  EXPECT_EQ(snapshot.Property(kParquetVersionProperty, ""), "v2");
  EXPECT_EQ(snapshot.files.size(), 1u) << "no file is rewritten";
  // Append-only now: a delete is refused; the next append writes V2 encodings
  // beside the old V1 file.
  auto deleted = table->Delete("symbol = 'S1'");
  ASSERT_FALSE(deleted.ok());
  EXPECT_NE(deleted.status().message().find("append-only"), std::string::npos) << deleted.status().ToString();
  ASSERT_TRUE(table->Append(rows).ok());
  EXPECT_EQ(TimestampEncodings(*table, *connection_), (std::set<std::string>{"PLAIN", "DELTA_BINARY_PACKED"}));

  auto unset = table->SetProperties({}, {"delta.appendOnly"});
  ASSERT_TRUE(unset.ok()) << unset.status().ToString();
  snapshot = table->Load().value();
  EXPECT_FALSE(snapshot.metadata.configuration.contains("delta.appendOnly"));
  EXPECT_EQ(snapshot.Property(kParquetVersionProperty, ""), "v2");
  EXPECT_TRUE(table->Delete("symbol = 'S1'").ok());
  EXPECT_EQ(Rows(*table, "symbol, ts").size(), 2u * 5000 - 2u * 1667);

  // Refused, naming the property; the table's version does not move.
  const int64_t version = table->Load().value().version;
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> refused = {
      {{{"delta.enableChangeDataFeed", "true"}}, "delta.enableChangeDataFeed is not one finlake writes"},
      {{{"delta.enableDeletionVectors", "true"}}, "delta.enableDeletionVectors is not one finlake writes"},
      {{{"finlake.parquet.verison", "v2"}}, "finlake.parquet.verison is not a finlake property"},
      {{{kParquetVersionProperty, "2"}}, "finlake.parquet.version is '2'"},
      {{{"delta.appendOnly", "yes"}}, "delta.appendOnly is 'yes'; it must be true or false"},
  };
  for (const auto& [properties, message] : refused) {
    auto result = table->SetProperties(properties, {});
    ASSERT_FALSE(result.ok()) << message;
    EXPECT_NE(result.status().message().find(message), std::string::npos) << result.status().ToString();
  }
  auto bad_codec = table->SetProperties({{"delta.parquet.compression.codec", "zip"}}, {});
  ASSERT_FALSE(bad_codec.ok());
  EXPECT_NE(bad_codec.status().message().find("codec is 'zip'; it must be one of brotli, gzip, lz4"),
            std::string::npos)
      << bad_codec.status().ToString();
  auto missing = table->SetProperties({}, {"owner"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no property owner to unset"), std::string::npos);
  EXPECT_EQ(table->Load().value().version, version);
  // A key of the user's own is kept as given.
  ASSERT_TRUE(table->SetProperties({{"owner", "desk-7"}}, {}).ok());
  EXPECT_EQ(table->Load().value().Property("owner", ""), "desk-7");
  // The codec property is honoured by the files written after it.
  ASSERT_TRUE(table->SetProperties({{"delta.parquet.compression.codec", "snappy"}}, {}).ok());
  ASSERT_TRUE(table->Append(rows).ok());
  EXPECT_EQ(FooterValues(*table, *connection_, "compression"), (std::set<std::string>{"ZSTD", "SNAPPY"}));
}

TEST_F(TableTest, AppendRefusesUnknownColumnsAndNarrowingTypes) {
  auto table = Create("id INTEGER, name VARCHAR");
  ASSERT_NE(table, nullptr);
  auto unknown = table->Append("SELECT 1 AS id, 'x' AS name, 3 AS extra");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'extra'"), std::string::npos) << unknown.status().message();
  auto narrowing = table->Append("SELECT 1::BIGINT AS id, 'x' AS name");
  ASSERT_FALSE(narrowing.ok());
  EXPECT_NE(narrowing.status().message().find("'id'"), std::string::npos) << narrowing.status().message();
  auto wrong = table->Append("SELECT 'one' AS id, 'x' AS name");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(table->Load()->version, 0) << "a refused write commits nothing";
  ASSERT_TRUE(table->Append("SELECT 1::SMALLINT AS id").ok()) << "widening and missing nullable columns are fine";
  EXPECT_EQ(Rows(*table, "id"), std::vector<std::string>{"1|"});
}

TEST_F(TableTest, OverwriteWholeTableAndReplaceWherePartitions) {
  auto table = Create("d DATE, v BIGINT", {"d"});
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT DATE '2024-01-01' + i::INTEGER AS d, i AS v FROM range(3) t(i)").ok());
  WriteOptions options;
  options.replace_where = "d = DATE '2024-01-02'";
  auto replaced = table->Overwrite("SELECT DATE '2024-01-02' AS d, 99 AS v", options);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->files_removed, 1);
  EXPECT_EQ(Rows(*table, "d"), (std::vector<std::string>{"2024-01-01|0", "2024-01-02|99", "2024-01-03|2"}));
  auto outside = table->Overwrite("SELECT DATE '2024-01-05' AS d, 1 AS v", options);
  ASSERT_FALSE(outside.ok()) << "rows outside the replaced partitions are refused";
  ASSERT_TRUE(table->Overwrite("SELECT DATE '2025-01-01' AS d, 7 AS v").ok());
  EXPECT_EQ(Rows(*table, "d"), std::vector<std::string>{"2025-01-01|7"});
  EXPECT_EQ(Rows(*table, "d", 1).size(), 3u) << "time travel still sees version 1";
}

TEST_F(TableTest, AddColumnsKeepsOldFilesReadable) {
  auto table = Create("id INTEGER");
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT 1 AS id").ok());
  ASSERT_TRUE(table->AddColumns({{"note", delta::DataType::Primitive("string"), true, json::object()}}).ok());
  ASSERT_TRUE(table->Append("SELECT 2 AS id, 'new' AS note").ok());
  EXPECT_EQ(Rows(*table, "id"), (std::vector<std::string>{"1|", "2|new"}));
  WriteOptions evolve;
  evolve.add_new_columns = true;
  ASSERT_TRUE(table->Append("SELECT 3 AS id, 'x' AS note, 2.5 AS score", evolve).ok());
  EXPECT_EQ(table->Load()->schema.fields.size(), 3u);
}

TEST_F(TableTest, EveryContractTypeRoundTrips) {
  auto table = Create(
      "b BOOLEAN, i8 TINYINT, i16 SMALLINT, i32 INTEGER, i64 BIGINT, f FLOAT, d DOUBLE, dec DECIMAL(18,4), s VARCHAR, "
      "bin BLOB, dt DATE, ts TIMESTAMP, tstz TIMESTAMPTZ, st STRUCT(a INTEGER, b VARCHAR), l INTEGER[], "
      "m MAP(VARCHAR, DOUBLE), h HUGEINT, u UBIGINT, id UUID");
  ASSERT_NE(table, nullptr);
  auto written = table->Append(
      "SELECT true AS b, 1::TINYINT AS i8, 2::SMALLINT AS i16, 3 AS i32, 4::BIGINT AS i64, 1.5::FLOAT AS f, "
      "2.5::DOUBLE AS d, 3.1415::DECIMAL(18,4) AS dec, 'héllo' AS s, '\\x01\\x02'::BLOB AS bin, DATE '2024-02-29' AS dt, "
      "TIMESTAMP '2024-01-01 12:00:00' AS ts, TIMESTAMPTZ '2024-01-01 12:00:00+00' AS tstz, "
      "{'a': 1, 'b': 'x'} AS st, [1, 2] AS l, MAP {'k': 1.5::DOUBLE} AS m, "
      "99999999999999999999999999999999999999::HUGEINT AS h, 18446744073709551615::UBIGINT AS u, "
      "'00000000-0000-0000-0000-000000000001'::UUID AS id");
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto snapshot = table->Load().value();
  EXPECT_EQ(snapshot.schema.Find("h")->type.Name(), "decimal(38,0)");
  EXPECT_EQ(snapshot.schema.Find("u")->type.Name(), "decimal(20,0)");
  EXPECT_EQ(snapshot.schema.Find("id")->type.Name(), "string");
  EXPECT_EQ(snapshot.schema.Find("ts")->type.Name(), "timestamp");
  auto rows = Rows(*table, "b");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NE(rows[0].find("2024-01-01 12:00:00+00|2024-01-01 12:00:00+00"), std::string::npos) << rows[0];
  EXPECT_NE(rows[0].find("99999999999999999999999999999999999999"), std::string::npos) << rows[0];
}

TEST_F(TableTest, IdempotentTxnSkipsACommittedBatch) {
  auto table = Create("id INTEGER");
  ASSERT_NE(table, nullptr);
  WriteOptions options;
  options.txn = delta::Txn{"loader", 5, std::nullopt};
  ASSERT_FALSE(table->Append("SELECT 1 AS id", options)->skipped);
  EXPECT_TRUE(table->Append("SELECT 1 AS id", options)->skipped);
  EXPECT_EQ(Rows(*table, "id").size(), 1u);
}

TEST_F(TableTest, CreateRefusesBadPartitionColumns) {
  CreateSpec spec;
  spec.schema.fields.push_back({"x", delta::DataType::Primitive("double"), true, json::object()});
  spec.schema.fields.push_back({"y", delta::DataType::Primitive("long"), true, json::object()});
  spec.partition_columns = {"z"};
  EXPECT_FALSE(Table::Create(storage_.get(), database_.get(), dir_.path() + "/a", spec).ok());
  spec.partition_columns = {"x"};
  EXPECT_FALSE(Table::Create(storage_.get(), database_.get(), dir_.path() + "/b", spec).ok());
}

}  // namespace
}  // namespace finlake::table

namespace finlake::table {
namespace {

TEST_F(TableTest, HugeintBeyondDecimal38IsRefusedNamingTheColumn) {
  auto table = Create("h HUGEINT");
  ASSERT_NE(table, nullptr);
  auto written = table->Append("SELECT 170141183460469231731687303715884105727::HUGEINT AS h");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.status().message().find("column h"), std::string::npos) << written.status().message();
  EXPECT_EQ(table->Load()->version, 0);
}

}  // namespace
}  // namespace finlake::table

namespace finlake::table {
namespace {

TEST_F(TableTest, DeleteRewritesOnlyTheFilesThatHoldMatches) {
  auto table = Create("d DATE, v BIGINT", {"d"});
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT DATE '2024-01-01' + (i % 3)::INTEGER AS d, i AS v FROM range(9) t(i)").ok());
  auto before = table->Load().value();
  ASSERT_EQ(before.files.size(), 3u);
  auto deleted = table->Delete("v IN (1, 4)");  // Both in the 2024-01-02 partition.
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->rows_deleted, 2);
  EXPECT_EQ(deleted->files_removed, 1);
  auto after = table->Load().value();
  EXPECT_EQ(after.version, before.version + 1);
  int untouched = 0;
  for (const auto& file : before.files) {
    for (const auto& now : after.files) untouched += now.path == file.path;
  }
  EXPECT_EQ(untouched, 2) << "files without matches are not rewritten";
  EXPECT_EQ(Rows(*table, "v").size(), 7u);
  EXPECT_EQ(Rows(*table, "v", before.version).size(), 9u) << "time travel sees the rows";
  auto nothing = table->Delete("v > 100");
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(table->Load()->version, after.version) << "no match, no commit";
  EXPECT_FALSE(table->Delete("no_such_column = 1").ok());
  auto everything = table->Delete("true");
  ASSERT_TRUE(everything.ok());
  EXPECT_TRUE(Rows(*table, "v").empty());
}

}  // namespace
}  // namespace finlake::table

namespace finlake::table {
namespace {

TEST_F(TableTest, RestoreReAddsOldFilesAndRefusesVacuumedOnes) {
  auto table = Create("v BIGINT");
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT 1 AS v").ok());        // v1
  ASSERT_TRUE(table->Overwrite("SELECT 2 AS v").ok());     // v2
  auto restored = table->Restore(1);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->version, 3);
  EXPECT_EQ(Rows(*table, "v"), std::vector<std::string>{"1"});
  // Vacuum by hand the file version 2 needs, then try to go back to it.
  auto v2 = table->Load(2).value();
  std::filesystem::remove(table->root() + "/" + v2.files[0].path);
  auto refused = table->Restore(2);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(v2.files[0].path), std::string::npos) << refused.status().message();
  EXPECT_FALSE(table->Restore(7).ok());
}

}  // namespace
}  // namespace finlake::table
