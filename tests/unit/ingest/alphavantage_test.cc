#include "finlake/ingest/alphavantage.h"

#include <gtest/gtest.h>

namespace finlake::ingest {
namespace {

FetchStatus Classify(const std::string& body, const std::string& datatype = "json", int64_t* rows_out = nullptr) {
  AlphaVantageRequest request;
  request.symbol = "IBM";
  request.datatype = datatype;
  std::string message;
  int64_t rows = 0;
  bool burst = false;
  FetchStatus status = AlphaVantageConnector::Classify(request, body, &message, &rows, &burst);
  if (rows_out) *rows_out = rows;
  return status;
}

TEST(AlphaVantageClassify, NoticesByMeaningNotByFirstMatch) {
  EXPECT_EQ(Classify(R"j({"Information":"Please consider spreading out your free API requests more sparingly (1 request per second). ... free key rate limit (25 requests per day)"})j"),
            FetchStatus::kRateLimited);
  EXPECT_EQ(Classify(R"j({"Note":"Our standard API call frequency is 5 calls per minute and 500 calls per day."})j"),
            FetchStatus::kRateLimited);
  EXPECT_EQ(Classify(R"j({"Information":"our standard API rate limit is 25 requests per day."})j"),
            FetchStatus::kQuotaExhausted);
  EXPECT_EQ(Classify(R"j({"Information":"This is a premium endpoint."})j"), FetchStatus::kRejected);
  EXPECT_EQ(Classify(R"j({"Error Message":"Invalid API call."})j"), FetchStatus::kNotFound);
  EXPECT_EQ(Classify(R"j({"Error Message":"the parameter apikey is invalid or missing."})j"), FetchStatus::kUnauthorized);
  EXPECT_EQ(Classify("not json"), FetchStatus::kMalformed);
  int64_t rows = 0;
  EXPECT_EQ(Classify(R"j({"Meta Data":{},"Time Series (Daily)":{"2025-07-18":{},"2025-07-17":{}}})j", "json", &rows),
            FetchStatus::kOk);
  EXPECT_EQ(rows, 2);
  EXPECT_EQ(Classify("timestamp,open,high,low,close,volume\r\n2025-07-18,1,2,0.5,1.5,10\r\n", "csv", &rows),
            FetchStatus::kOk);
  EXPECT_EQ(rows, 1);
  EXPECT_EQ(Classify(R"j({"Information":"25 requests per day"})j", "csv"), FetchStatus::kQuotaExhausted)
      << "a CSV request gets its errors as JSON";
  EXPECT_EQ(Classify("<html>oops</html>", "csv"), FetchStatus::kMalformed);
}

TEST(AlphaVantageRequest, KeysCarryNoSecretAndBadRequestsAreNamed) {
  AlphaVantageRequest request;
  request.symbol = "IBM";
  EXPECT_EQ(request.Key().find("apikey"), std::string::npos);
  request.function = "TIME_SERIES_WEEKLY";
  EXPECT_FALSE(AlphaVantageConnector::Validate(request).ok());
  request.function = "TIME_SERIES_INTRADAY";
  EXPECT_FALSE(AlphaVantageConnector::Validate(request).ok()) << "intraday needs an interval";
  request.interval = "5min";
  EXPECT_TRUE(AlphaVantageConnector::Validate(request).ok());
}

}  // namespace
}  // namespace finlake::ingest
