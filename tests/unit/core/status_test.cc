#include "finlake/core/status.h"

#include <gtest/gtest.h>

#include "finlake/core/strings.h"

namespace finlake {
namespace {

Result<int> Half(int value) {
  if (value % 2 != 0) return Status::InvalidArgument(std::to_string(value) + " is odd");
  return value / 2;
}

Result<int> Quarter(int value) {
  ASSIGN_OR_RETURN(int half, Half(value));
  return Half(half);
}

TEST(Status, ResultCarriesValueOrError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> odd = Quarter(6);
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(odd.status().ToString(), "InvalidArgument: 3 is odd");
}

TEST(Strings, PercentDecodeIsTheInverseOfEncode) {
  std::string decoded;
  for (std::string name : {"a b/c=d%2520", "😈/x", "plain/part-1.parquet"}) {
    ASSERT_TRUE(PercentDecode(PercentEncodePath(name), &decoded));
    EXPECT_EQ(decoded, name);
  }
  EXPECT_FALSE(PercentDecode("bad%2", &decoded));
  EXPECT_FALSE(PercentDecode("bad%zz", &decoded));
  ASSERT_TRUE(PercentDecode("_2=bar+%252521", &decoded));
  EXPECT_EQ(decoded, "_2=bar+%2521");
}

TEST(Strings, UuidsAreVersion4AndDistinct) {
  std::string a = NewUuid(), b = NewUuid();
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(a, b);
}

TEST(Strings, IsoMillisHandlesNegativeTimes) {
  EXPECT_EQ(FormatIsoMillis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIsoMillis(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatIsoMillis(1700000000123), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace finlake
