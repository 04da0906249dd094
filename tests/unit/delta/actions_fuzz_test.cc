// A deterministic smoke fuzz of the commit parser: every truncation and a few
// thousand byte mutations of a real commit must parse or fail with Corruption,
// never crash (run under ASan/UBSan in `make test`).
#include <gtest/gtest.h>

#include <random>

#include "finlake/delta/actions.h"

namespace finlake::delta {
namespace {

const char* kCommit =
    R"j({"commitInfo":{"timestamp":1700000000000,"operation":"WRITE","operationParameters":{"mode":"Append"}}})j"
    "\n"
    R"j({"protocol":{"minReaderVersion":1,"minWriterVersion":2}})j"
    "\n"
    R"j({"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[]}","partitionColumns":["d"],"configuration":{"a":"b"},"createdTime":1}})j"
    "\n"
    R"j({"add":{"path":"d=2024-01-01/part-%20x.parquet","partitionValues":{"d":"2024-01-01"},"size":10,"modificationTime":1,"dataChange":true,"stats":"{\"numRecords\":1}"}})j"
    "\n"
    R"j({"remove":{"path":"old.parquet","deletionTimestamp":5,"dataChange":true}})j"
    "\n"
    R"j({"txn":{"appId":"a","version":3,"lastUpdated":4}})j"
    "\n";

void ExpectParsesOrCorruption(const std::string& text) {
  auto parsed = ParseCommit(text, "fuzz");
  if (!parsed.ok()) {
    EXPECT_EQ(parsed.status().code(), StatusCode::kCorruption) << parsed.status().ToString();
  }
}

TEST(ActionsFuzz, EveryTruncationParsesOrIsCorruption) {
  std::string text = kCommit;
  ASSERT_TRUE(ParseCommit(text, "whole").ok());
  for (size_t length = 0; length <= text.size(); ++length) ExpectParsesOrCorruption(text.substr(0, length));
}

TEST(ActionsFuzz, ByteMutationsParseOrAreCorruption) {
  std::mt19937 random(20261122);
  const std::string text = kCommit;
  const std::string alphabet = "{}[]\":,0123456789-.eEtrufalsn \\\n\x01\xff";
  for (int round = 0; round < 5000; ++round) {
    std::string mutated = text;
    int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = random() % mutated.size();
      switch (random() % 3) {
        case 0: mutated[at] = alphabet[random() % alphabet.size()]; break;
        case 1: mutated.erase(at, 1 + random() % 8); break;
        default: mutated.insert(at, 1, alphabet[random() % alphabet.size()]); break;
      }
      if (mutated.empty()) mutated = "x";
    }
    ExpectParsesOrCorruption(mutated);
  }
}

}  // namespace
}  // namespace finlake::delta
