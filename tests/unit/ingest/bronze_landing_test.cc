#include "finlake/ingest/bronze_landing.h"

#include <gtest/gtest.h>

#include "testing/test_env.h"
#include "testing/test_lake.h"

namespace finlake::ingest {
namespace {

class BronzeLandingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lake_ = testing::NewLake(dir_.path() + "/lake");
  }

  static RawRecord Record(const std::string& symbol, const std::string& payload) {
    RawRecord record;
    record.symbol = symbol;
    record.request_key = R"({"interval":"1d","range":"5d","symbol":")" + symbol + "\"}";
    record.logical_date = "2026-11-20";
    record.region = "us";
    record.fetched_at_ms = 1763672400000;
    record.http_status = 200;
    record.content_type = "application/json";
    record.payload = payload;
    return record;
  }

  std::vector<std::string> Column(const std::string& query) {
    auto connection = lake_->Connect().value();
    auto table = lake_->OpenTable("bronze.yahoo_raw").value();
    auto scan = table->ScanSql(table->Load().value()).value();
    auto result = connection->Query(query + " FROM (" + scan + ") ORDER BY 1").value();
    std::vector<std::string> values;
    for (int64_t r = 0; r < result->row_count(); ++r) values.push_back(result->GetString(0, r));
    return values;
  }

  testing::ScratchDir dir_;
  std::unique_ptr<sql::Lake> lake_;
};

TEST_F(BronzeLandingTest, StoresPayloadsAsReceivedAndSkipsIdenticalRefetches) {
  BronzeLanding landing(lake_.get());
  std::string aapl = R"({"chart":{"result":[{"meta":{"symbol":"AAPL"}}],"error":null}})";
  auto first = landing.Land("yahoo", {Record("AAPL", aapl), Record("MSFT", "{\"x\":\"é\\n\"}")});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->landed, 2);
  auto again = landing.Land("yahoo", {Record("AAPL", aapl), Record("MSFT", "{\"changed\":1}")});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->landed, 1);
  EXPECT_EQ(again->duplicates, 1);
  EXPECT_EQ(Column("SELECT payload"), (std::vector<std::string>{"{\"changed\":1}", aapl, "{\"x\":\"é\\n\"}"}));
  EXPECT_EQ(Column("SELECT DISTINCT date::VARCHAR || '/' || region"), std::vector<std::string>{"2026-11-20/us"});
  EXPECT_EQ(Column("SELECT DISTINCT fetched_at::VARCHAR"), std::vector<std::string>{"2025-11-20 21:00:00+00"});
}

TEST_F(BronzeLandingTest, BodiesThatAreNotUtf8AreKeptExactlyAsBase64) {
  BronzeLanding landing(lake_.get());
  std::string binary("\xff\xfe\x00\x01", 4);
  ASSERT_TRUE(landing.Land("yahoo", {Record("BIN", binary)}).ok());
  EXPECT_EQ(Column("SELECT payload_encoding || ':' || payload"), std::vector<std::string>{"base64://4AAQ=="});
  EXPECT_EQ(Column("SELECT payload_sha256"), std::vector<std::string>{Sha256Hex(binary)});
}

}  // namespace
}  // namespace finlake::ingest
