#include "finlake/delta/conflicts.h"

#include <gtest/gtest.h>

namespace finlake::delta {
namespace {

AddFile Add(const std::string& path, bool data_change = true) {
  AddFile add;
  add.path = path;
  add.data_change = data_change;
  return add;
}

RemoveFile Remove(const std::string& path, bool data_change = true) {
  RemoveFile remove;
  remove.path = path;
  remove.data_change = data_change;
  return remove;
}

CommitInfo Info(const std::string& operation) { return CommitInfo{{{"operation", operation}}}; }

// The conflict class named in a status, or "ok".
std::string Outcome(const Status& status) {
  if (status.ok()) return "ok";
  EXPECT_EQ(status.code(), StatusCode::kConflict) << status.ToString();
  const std::string& message = status.message();
  size_t open = message.find("conflict (");
  if (open == std::string::npos) return message;
  return message.substr(open + 10, message.find(')', open) - open - 10);
}

TEST(Conflicts, AppendsNeverConflictWithABlindAppendOrCompaction) {
  std::vector<Action> append = {Info("WRITE"), Add("new")};
  EXPECT_EQ(Outcome(CheckConcurrentCommit(append, 5, {Add("ours")}, ReadSet{}, "WRITE")), "ok");
  // OPTIMIZE's read set holds the files it rewrites; a new file is not among them.
  ReadSet optimize;
  optimize.files = {"a", "b"};
  EXPECT_EQ(Outcome(CheckConcurrentCommit(append, 5, {Remove("a", false), Remove("b", false), Add("ab", false)},
                                          optimize, "OPTIMIZE")),
            "ok");
}

TEST(Conflicts, AppendIntoWhatWasReadIsAConcurrentAppend) {
  std::vector<Action> append = {Info("WRITE"), Add("new")};
  ReadSet whole;
  whole.whole_table = true;
  EXPECT_EQ(Outcome(CheckConcurrentCommit(append, 5, {Remove("a")}, whole, "WRITE")), "concurrent append");
  ReadSet predicate;
  std::vector<std::string> asked;
  predicate.appended_rows_read = [&asked](const std::vector<AddFile>& files) -> Result<bool> {
    for (const AddFile& file : files) asked.push_back(file.path);
    return files.front().path == "matching";
  };
  EXPECT_EQ(Outcome(CheckConcurrentCommit(append, 5, {Remove("a")}, predicate, "DELETE")), "ok");
  EXPECT_EQ(Outcome(CheckConcurrentCommit({Add("matching")}, 6, {Remove("a")}, predicate, "DELETE")),
            "concurrent append");
  EXPECT_EQ(asked, (std::vector<std::string>{"new", "matching"}));
  // Adds without data change (a compaction) are not new rows.
  EXPECT_EQ(Outcome(CheckConcurrentCommit({Add("matching", false)}, 7, {Remove("a")}, predicate, "DELETE")), "ok");
}

TEST(Conflicts, RemovalsOfReadOrRemovedFiles) {
  ReadSet read;
  read.files = {"read"};
  std::vector<Action> ours = {Remove("mine"), Add("rewritten")};
  EXPECT_EQ(Outcome(CheckConcurrentCommit({Info("DELETE"), Remove("read")}, 3, ours, read, "MERGE")),
            "concurrent delete-read");
  EXPECT_EQ(Outcome(CheckConcurrentCommit({Info("DELETE"), Remove("mine")}, 3, ours, read, "MERGE")),
            "concurrent delete-delete");
  // A compaction of a file this transaction removes is a delete-delete too.
  EXPECT_EQ(Outcome(CheckConcurrentCommit({Info("OPTIMIZE"), Remove("mine", false)}, 3, ours, read, "MERGE")),
            "concurrent delete-delete");
  EXPECT_EQ(Outcome(CheckConcurrentCommit({Info("DELETE"), Remove("other")}, 3, ours, read, "MERGE")), "ok");
}

TEST(Conflicts, MetadataProtocolAndTransactions) {
  Txn txn{"loader", 4, std::nullopt};
  EXPECT_EQ(Outcome(CheckConcurrentCommit({Metadata{}}, 2, {Add("x")}, ReadSet{}, "WRITE")), "metadata changed");
  EXPECT_EQ(Outcome(CheckConcurrentCommit({Protocol{}}, 2, {Add("x")}, ReadSet{}, "WRITE")), "protocol changed");
  EXPECT_EQ(Outcome(CheckConcurrentCommit({txn, Add("y")}, 2, {Add("x"), txn}, ReadSet{}, "WRITE")),
            "concurrent transaction");
  Txn other{"another", 1, std::nullopt};
  EXPECT_EQ(Outcome(CheckConcurrentCommit({other, Add("y")}, 2, {Add("x"), txn}, ReadSet{}, "WRITE")), "ok");
}

TEST(Conflicts, MessageNamesTheWinnerAndTheOperation) {
  ReadSet read;
  read.files = {"f.parquet"};
  Status status = CheckConcurrentCommit({Info("OPTIMIZE"), Remove("f.parquet", false)}, 9, {}, read, "DELETE");
  EXPECT_NE(status.message().find("concurrent commit 9 (OPTIMIZE)"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("f.parquet"), std::string::npos);
  EXPECT_NE(status.message().find("this DELETE was not committed"), std::string::npos);
}

TEST(Conflicts, AFailingPredicateCheckIsAnErrorNotASilentPass) {
  ReadSet read;
  read.appended_rows_read = [](const std::vector<AddFile>&) -> Result<bool> {
    return Status::IOError("cannot read new file");
  };
  Status status = CheckConcurrentCommit({Add("new")}, 2, {}, read, "DELETE");
  EXPECT_EQ(status.code(), StatusCode::kIOError);
}

}  // namespace
}  // namespace finlake::delta
