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

TEST(Strings, InvalidUtf8AtFindsTheFirstBadSequence) {
  constexpr size_t kValid = std::string_view::npos;
  EXPECT_EQ(InvalidUtf8At(""), kValid);
  EXPECT_EQ(InvalidUtf8At("plain ascii"), kValid);
  EXPECT_EQ(InvalidUtf8At("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\x88 \xF4\x8F\xBF\xBF"), kValid);  // e, euro, chart, U+10FFFF
  EXPECT_EQ(InvalidUtf8At("ab\xFF"), 2u);                   // never a lead byte
  EXPECT_EQ(InvalidUtf8At("a\x80"), 1u);                    // a continuation byte alone
  EXPECT_EQ(InvalidUtf8At("\xC0\xAF"), 0u);                 // overlong '/'
  EXPECT_EQ(InvalidUtf8At("\xE0\x80\xAF"), 0u);             // overlong, 3 bytes
  EXPECT_EQ(InvalidUtf8At("x\xED\xA0\x80"), 1u);            // a UTF-16 surrogate
  EXPECT_EQ(InvalidUtf8At("\xF4\x90\x80\x80"), 0u);         // above U+10FFFF
  EXPECT_EQ(InvalidUtf8At("ok \xE2\x82"), 3u);              // cut short
  EXPECT_EQ(InvalidUtf8At(std::string_view("a\0b", 3)), kValid);  // NUL is a character
}

}  // namespace
}  // namespace finlake
