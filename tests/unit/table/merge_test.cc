// MERGE, Z-order and the conflict checks of table writes, in one process: a
// second writer commits from the first one's commit_ready hook, so the race is
// certain.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "finlake/core/limits.h"
#include "finlake/core/strings.h"
#include "finlake/table/table.h"
#include "testing/test_env.h"

namespace finlake::table {
namespace {

using nlohmann::json;

class MergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = std::move(engine::Database::Open().value());
    connection_ = std::move(database_->Connect().value());
    storage_ = NewLocalStorage();
  }

  std::unique_ptr<Table> Create(std::vector<std::string> partitions = {}) {
    CreateSpec spec;
    spec.schema.fields = {{"symbol", delta::DataType::Primitive("string"), true, json::object()},
                          {"d", delta::DataType::Primitive("date"), true, json::object()},
                          {"close", delta::DataType::Primitive("double"), true, json::object()},
                          {"region", delta::DataType::Primitive("string"), true, json::object()}};
    spec.partition_columns = std::move(partitions);
    auto table = Table::Create(storage_.get(), database_.get(), root(), spec);
    EXPECT_TRUE(table.ok()) << table.status().ToString();
    return table.ok() ? std::move(table).value() : nullptr;
  }

  std::string root() const { return dir_.path() + "/t"; }

  std::unique_ptr<Table> OpenSecond() { return std::move(Table::Open(storage_.get(), database_.get(), root()).value()); }

  std::vector<std::string> Rows(Table& table) {
    auto snapshot = table.Load().value();
    auto scan = table.ScanSql(snapshot).value();
    auto result = connection_->Query("SELECT concat(symbol, '|', d, '|', close, '|', region) FROM (" + scan +
                                     ") ORDER BY ALL");
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    std::vector<std::string> rows;
    for (int64_t r = 0; r < (*result)->row_count(); ++r) rows.push_back((*result)->GetString(0, r));
    return rows;
  }

  // Runs `winner` once, the moment the next commit through this storage is ready.
  void BeforeNextCommit(std::function<void()> winner) {
    auto pending = std::make_shared<std::function<void()>>(std::move(winner));
    storage_->SetCrashHook([pending](CrashPoint point) {
      if (point != CrashPoint::kCommitReady || !*pending) return;
      auto run = std::move(*pending);
      *pending = nullptr;
      run();
    });
  }

  testing::ScratchDir dir_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<engine::Database> database_;
  std::unique_ptr<engine::Connection> connection_;
};

constexpr const char* kBase =
    "SELECT * FROM (VALUES ('A', DATE '2024-01-01', 1.0, 'us'), ('B', DATE '2024-01-01', 2.0, 'us'), "
    "('C', DATE '2024-01-01', 3.0, 'eu')) AS v(symbol, d, close, region)";

TEST_F(MergeTest, UpdatesInsertsAndRewritesOnlyMatchedFiles) {
  auto table = Create({"region"});
  ASSERT_TRUE(table->Append(kBase).ok());
  MergeOptions options;
  options.keys = {"symbol", "d"};
  auto merged = table->Merge("SELECT 'A' AS symbol, DATE '2024-01-01' AS d, 10.0 AS close, 'us' AS region "
                             "UNION ALL SELECT 'D', DATE '2024-01-01', 4.0, 'eu'",
                             options);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(merged->rows_updated, 1);
  EXPECT_EQ(merged->rows_inserted, 1);
  EXPECT_EQ(merged->files_removed, 1);  // Only region=us held a matched key.
  EXPECT_EQ(Rows(*table), (std::vector<std::string>{"A|2024-01-01|10.0|us", "B|2024-01-01|2.0|us",
                                                     "C|2024-01-01|3.0|eu", "D|2024-01-01|4.0|eu"}));
  // MERGE writes a checkpoint, so the next reader replays one file.
  EXPECT_EQ(table->Load()->checkpoint_version, merged->version);
}

TEST_F(MergeTest, InsertOnlyMergeCommitsOnlyAdds) {
  auto table = Create();
  ASSERT_TRUE(table->Append(kBase).ok());
  MergeOptions options;
  options.keys = {"symbol", "d"};
  auto merged = table->Merge("SELECT 'Z' AS symbol, DATE '2024-01-02' AS d, 9.0 AS close, 'us' AS region", options);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(merged->rows_inserted, 1);
  EXPECT_EQ(merged->files_removed, 0);
  EXPECT_EQ(merged->files_scanned, 0);  // Stats ruled every file out.
  auto snapshot = table->Load().value();
  EXPECT_EQ(snapshot.files.size(), 2u);
  EXPECT_TRUE(snapshot.tombstones.empty());
}

TEST_F(MergeTest, DeleteWhenAndRefusals) {
  auto table = Create();
  ASSERT_TRUE(table->Append(kBase).ok());
  MergeOptions options;
  options.keys = {"symbol", "d"};
  options.delete_when = "gone";
  auto merged = table->Merge("SELECT 'B' AS symbol, DATE '2024-01-01' AS d, 0.0 AS close, 'us' AS region, true AS gone "
                             "UNION ALL SELECT 'X', DATE '2024-01-01', 0.0, 'us', true",
                             options);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(merged->rows_deleted, 1);
  EXPECT_EQ(merged->rows_inserted, 0);  // A delete row that matches nothing is not inserted.
  EXPECT_EQ(Rows(*table), (std::vector<std::string>{"A|2024-01-01|1.0|us", "C|2024-01-01|3.0|eu"}));
  int64_t version = table->Load()->version;

  MergeOptions plain;
  plain.keys = {"symbol", "d"};
  auto duplicate = table->Merge("SELECT 'A' AS symbol, DATE '2024-01-01' AS d UNION ALL "
                                "SELECT 'A', DATE '2024-01-01'", plain);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_NE(duplicate.status().message().find("2 rows for key (symbol=A, d=2024-01-01)"), std::string::npos)
      << duplicate.status().message();
  plain.keys = {"nope"};
  EXPECT_FALSE(table->Merge(kBase, plain).ok());
  EXPECT_EQ(table->Load()->version, version);
}

// 200,000 rows of 64 symbols over 3,125 days, in a scrambled order.
constexpr char kShuffled[] =
    "SELECT 'S' || lpad((i % 64)::VARCHAR, 2, '0') AS symbol, DATE '2020-01-01' + (i // 64)::INTEGER AS d, "
    "i::DOUBLE AS close, 'us' AS region FROM range(200000) t(i) ORDER BY hash(i)";

// kShuffled appended to `table`, then optimized with `options` into 64 KB files.
void LayOut(Table& table, OptimizeOptions& options, delta::Snapshot* snapshot) {
  ASSERT_TRUE(table.Append(kShuffled).ok());
  options.target_file_bytes = 64 << 10;
  auto optimized = table.Optimize(options);
  ASSERT_TRUE(optimized.ok()) << optimized.status().ToString();
  EXPECT_EQ(optimized->rows_written, 200000);
  *snapshot = table.Load().value();
  ASSERT_GE(snapshot->files.size(), 8u);
}

TEST_F(MergeTest, ZOrderKeepsRowsAndNarrowsFiles) {
  auto table = Create();
  OptimizeOptions options;
  options.zorder = {"symbol", "d"};
  delta::Snapshot snapshot;
  ASSERT_NO_FATAL_FAILURE(LayOut(*table, options, &snapshot));
  // Files span a fraction of the symbols on average; unordered files would each
  // span nearly all 64 (a Z-range that crosses a quadrant may still span many).
  int64_t span = 0;
  for (const auto& file : snapshot.files) {
    json stats = json::parse(*file.stats);
    EXPECT_FALSE(file.data_change);
    std::string lo = stats["minValues"]["symbol"], hi = stats["maxValues"]["symbol"];
    span += std::stoi(hi.substr(1)) - std::stoi(lo.substr(1));
  }
  EXPECT_LT(span / static_cast<int64_t>(snapshot.files.size()), 40) << "mean symbol span of Z-ordered files";
  auto sum = connection_->Query("SELECT count(*), sum(close) FROM (" + table->ScanSql(snapshot).value() + ")");
  EXPECT_EQ((*sum)->GetInt64(0, 0), 200000);
  EXPECT_EQ((*sum)->GetString(1, 0), "19999900000.0");
  OptimizeOptions unknown;
  unknown.zorder = {"region", "nope"};
  auto refused = table->Optimize(unknown);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("zorder column 'nope'"), std::string::npos) << refused.status().message();
  // Progress is reported per partition rewritten.
  std::vector<std::string> steps;
  options.progress = [&steps](const std::string& step) { steps.push_back(step); };
  ASSERT_TRUE(table->Optimize(options).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].rfind("partition 1 of 1: ", 0), 0u) << steps[0];
}

TEST_F(MergeTest, SortByWritesFilesInKeyOrder) {
  auto table = Create();
  OptimizeOptions options;
  options.sort_by = {"symbol", "d"};
  delta::Snapshot snapshot;
  ASSERT_NO_FATAL_FAILURE(LayOut(*table, options, &snapshot));
  // Sorted by symbol first: the files' symbol ranges follow one another, each
  // starting where the one before it ended (or one later), never overlapping more.
  std::vector<std::pair<std::string, std::string>> ranges;
  for (const auto& file : snapshot.files) {
    json stats = json::parse(*file.stats);
    EXPECT_FALSE(file.data_change);
    ranges.emplace_back(stats["minValues"]["symbol"], stats["maxValues"]["symbol"]);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) EXPECT_LE(ranges[i - 1].second, ranges[i].first) << i;
  auto sum = connection_->Query("SELECT count(*), sum(close) FROM (" + table->ScanSql(snapshot).value() + ")");
  EXPECT_EQ((*sum)->GetInt64(0, 0), 200000);
  EXPECT_EQ((*sum)->GetString(1, 0), "19999900000.0");
  OptimizeOptions both;
  both.sort_by = {"symbol"};
  both.zorder = {"d"};
  auto refused = table->Optimize(both);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("not both"), std::string::npos) << refused.status().message();
  OptimizeOptions unknown;
  unknown.sort_by = {"nope"};
  refused = table->Optimize(unknown);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("sort-by column 'nope'"), std::string::npos) << refused.status().message();
}

TEST_F(MergeTest, ClusteredFilesHoldSeveralRowGroupsEachNarrowerThanTheFile) {
  auto table = Create();
  ASSERT_TRUE(table->Append(kShuffled).ok());
  OptimizeOptions options;
  options.sort_by = {"symbol", "d"};
  options.target_file_bytes = 1 << 20;
  ASSERT_TRUE(table->Optimize(options).ok());
  delta::Snapshot snapshot = table->Load().value();
  int64_t files_checked = 0;
  for (const auto& file : snapshot.files) {
    std::string path = table->root() + "/" + file.path;
    auto groups = connection_->Query(
        "SELECT row_group_id, row_group_num_rows, stats_min, stats_max FROM parquet_metadata(" + SqlQuote(path) +
        ") WHERE path_in_schema = 'symbol' ORDER BY row_group_id");
    ASSERT_TRUE(groups.ok()) << groups.status().ToString();
    if (*file.NumRecords() < limits::kClusteredRowGroupsPerFile * limits::kParquetRowGroupRowsMin) continue;
    ++files_checked;
    EXPECT_GE((*groups)->row_count(), limits::kClusteredRowGroupsPerFile - 1) << path;
    json stats = json::parse(*file.stats);
    int narrower = 0;
    for (int64_t g = 0; g < (*groups)->row_count(); ++g) {
      narrower += (*groups)->GetString(2, g) != stats["minValues"]["symbol"] ||
                  (*groups)->GetString(3, g) != stats["maxValues"]["symbol"];
    }
    EXPECT_GE(narrower, (*groups)->row_count() - 1) << path << ": row groups span the whole file's symbols";
  }
  EXPECT_GE(files_checked, 1);
}

TEST_F(MergeTest, DeleteConflictsWithAConcurrentAppendOfAMatchingRowOnly) {
  auto table = Create();
  ASSERT_TRUE(table->Append(kBase).ok());
  auto other = OpenSecond();
  // A row the predicate does not match: the delete retries and commits.
  BeforeNextCommit([&] { ASSERT_TRUE(other->Append("SELECT 'Q' AS symbol, 5.0 AS close").ok()); });
  auto deleted = table->Delete("symbol = 'A'");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->version, 3);
  // A matching row: it would survive the delete, so the delete fails.
  BeforeNextCommit([&] { ASSERT_TRUE(other->Append("SELECT 'B' AS symbol, 6.0 AS close").ok()); });
  auto lost = table->Delete("symbol = 'B'");
  ASSERT_FALSE(lost.ok());
  EXPECT_NE(lost.status().message().find("conflict (concurrent append)"), std::string::npos) << lost.status().message();
  EXPECT_EQ(Rows(*table).size(), 4u);  // B, B(6.0), C, Q: nothing lost, nothing half-deleted.
}

TEST_F(MergeTest, MergeAgainstConcurrentDeleteAndOptimize) {
  auto table = Create();
  ASSERT_TRUE(table->Append(kBase).ok());
  ASSERT_TRUE(table->Append("SELECT 'E' AS symbol, DATE '2024-01-01' AS d, 5.0 AS close").ok());
  auto other = OpenSecond();
  MergeOptions options;
  options.keys = {"symbol", "d"};
  const std::string source = "SELECT 'A' AS symbol, DATE '2024-01-01' AS d, 10.0 AS close, 'us' AS region";
  // A concurrent DELETE rewrote the file the merge rewrites.
  BeforeNextCommit([&] { ASSERT_TRUE(other->Delete("symbol = 'B'").ok()); });
  auto lost = table->Merge(source, options);
  ASSERT_FALSE(lost.ok());
  EXPECT_NE(lost.status().message().find("conflict (concurrent delete-delete)"), std::string::npos)
      << lost.status().message();
  // A concurrent OPTIMIZE compacted it: the same conflict, not a lost update.
  BeforeNextCommit([&] { ASSERT_TRUE(other->Optimize(OptimizeOptions{}).ok()); });
  lost = table->Merge(source, options);
  ASSERT_FALSE(lost.ok());
  EXPECT_NE(lost.status().message().find("(OPTIMIZE)"), std::string::npos) << lost.status().message();
  // An append of an unrelated key: the merge retries and commits.
  BeforeNextCommit([&] { ASSERT_TRUE(other->Append("SELECT 'F' AS symbol, 7.0 AS close").ok()); });
  auto merged = table->Merge(source, options);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(Rows(*table), (std::vector<std::string>{"A|2024-01-01|10.0|us", "C|2024-01-01|3.0|eu",
                                                     "E|2024-01-01|5.0|", "F||7.0|"}));
}

}  // namespace
}  // namespace finlake::table
