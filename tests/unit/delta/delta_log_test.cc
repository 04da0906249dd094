#include "finlake/delta/delta_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "finlake/engine/engine.h"
#include "finlake/table/duck_checkpoint_codec.h"
#include "testing/fake_time.h"
#include "testing/test_env.h"

namespace finlake::delta {
namespace {

using testing::FaultyStorage;
using testing::ScratchDir;

class DeltaLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = std::move(engine::Database::Open().value());
    codec_ = std::make_unique<table::DuckCheckpointCodec>(database_.get());
    log_ = std::make_unique<DeltaLog>(&storage_, dir_.path() + "/t", codec_.get());
  }

  void Create() {
    Metadata metadata;
    metadata.id = "id-1";
    metadata.schema_string = R"({"type":"struct","fields":[{"name":"x","type":"long","nullable":true,"metadata":{}}]})";
    CommitOptions options;
    options.operation = "CREATE TABLE";
    ASSERT_TRUE(log_->Commit(-1, {Protocol{}, metadata}, options).ok());
  }

  static AddFile File(const std::string& path) {
    AddFile add;
    add.path = path;
    add.size = 10;
    add.stats = R"({"numRecords":1})";
    return add;
  }

  Result<CommitResult> Append(const std::string& path, int64_t read_version) {
    CommitOptions options;
    options.blind_append = true;
    return log_->Commit(read_version, {File(path)}, options);
  }

  ScratchDir dir_;
  FaultyStorage storage_;
  std::unique_ptr<engine::Database> database_;
  std::unique_ptr<table::DuckCheckpointCodec> codec_;
  std::unique_ptr<DeltaLog> log_;
};

TEST_F(DeltaLogTest, CommitsAreContiguousAndReplayReconciles) {
  Create();
  ASSERT_TRUE(Append("a.parquet", 0).ok());
  ASSERT_TRUE(Append("b.parquet", 1).ok());
  RemoveFile remove;
  remove.path = "a.parquet";
  ASSERT_TRUE(log_->Commit(2, {remove}, CommitOptions{}).ok());
  auto snapshot = log_->Load();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_EQ(snapshot->version, 3);
  ASSERT_EQ(snapshot->files.size(), 1u);
  EXPECT_EQ(snapshot->files[0].path, "b.parquet");
  ASSERT_EQ(snapshot->tombstones.size(), 1u);
  auto v1 = log_->Load(1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->files.size(), 1u);
  EXPECT_EQ(log_->Load(9).status().code(), StatusCode::kNotFound);
}

TEST_F(DeltaLogTest, ReAddAfterRemoveKeepsTheFileLive) {
  Create();
  ASSERT_TRUE(Append("foo", 0).ok());
  RemoveFile remove;
  remove.path = "foo";
  ASSERT_TRUE(log_->Commit(1, {remove}, CommitOptions{}).ok());
  ASSERT_TRUE(Append("foo", 2).ok());
  auto snapshot = log_->Load();
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->files.size(), 1u);
  EXPECT_TRUE(snapshot->tombstones.empty());
}

TEST_F(DeltaLogTest, CheckpointEveryTenAndReplayFromItMatchesFullReplay) {
  Create();
  for (int i = 1; i <= 23; ++i) ASSERT_TRUE(Append("f" + std::to_string(i), i - 1).ok());
  EXPECT_TRUE(std::filesystem::exists(log_->log_dir() + "/00000000000000000010.checkpoint.parquet"));
  EXPECT_TRUE(std::filesystem::exists(log_->log_dir() + "/00000000000000000020.checkpoint.parquet"));
  auto from_checkpoint = log_->Load();
  ASSERT_TRUE(from_checkpoint.ok()) << from_checkpoint.status().ToString();
  EXPECT_EQ(from_checkpoint->checkpoint_version, 20);
  EXPECT_EQ(from_checkpoint->files.size(), 23u);
  // The same version without checkpoints: delete them and replay all JSON.
  std::filesystem::remove(log_->log_dir() + "/00000000000000000010.checkpoint.parquet");
  std::filesystem::remove(log_->log_dir() + "/00000000000000000020.checkpoint.parquet");
  auto full = log_->Load();
  ASSERT_TRUE(full.ok());
  EXPECT_FALSE(full->checkpoint_version.has_value());
  ASSERT_EQ(full->files.size(), from_checkpoint->files.size());
  for (size_t i = 0; i < full->files.size(); ++i) {
    EXPECT_EQ(full->files[i].path, from_checkpoint->files[i].path);
    EXPECT_EQ(full->files[i].stats, from_checkpoint->files[i].stats);
    EXPECT_EQ(full->files[i].size, from_checkpoint->files[i].size);
  }
  EXPECT_EQ(full->metadata.schema_string, from_checkpoint->metadata.schema_string);
}

TEST_F(DeltaLogTest, MissingOrStaleLastCheckpointIsTolerated) {
  Create();
  for (int i = 1; i <= 12; ++i) ASSERT_TRUE(Append("f" + std::to_string(i), i - 1).ok());
  std::filesystem::remove(log_->log_dir() + "/_last_checkpoint");
  EXPECT_EQ(log_->Load()->files.size(), 12u);
  std::ofstream(log_->log_dir() + "/_last_checkpoint") << "{\"version\":3,\"size\":1}";
  EXPECT_EQ(log_->Load()->files.size(), 12u);
  std::ofstream(log_->log_dir() + "/_last_checkpoint", std::ios::trunc) << "";
  EXPECT_EQ(log_->Load()->files.size(), 12u);
}

TEST_F(DeltaLogTest, CommitRetriesBlindAppendOnConflict) {
  Create();
  // Another writer wins version 1 while this one still believes version 0 is latest.
  DeltaLog other(&storage_, log_->table_root(), codec_.get());
  ASSERT_TRUE(other.Commit(0, {File("theirs")}, CommitOptions{}).ok());
  auto ours = Append("ours", 0);
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  EXPECT_EQ(ours->version, 2);
  EXPECT_EQ(ours->attempts, 2);
  EXPECT_EQ(log_->Load()->files.size(), 2u);
}

TEST_F(DeltaLogTest, NonBlindCommitThatLosesTheRaceIsAConflict) {
  Create();
  ASSERT_TRUE(Append("a", 0).ok());
  RemoveFile remove;
  remove.path = "a";
  auto lost = log_->Commit(0, {remove}, CommitOptions{});
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kConflict);
  EXPECT_EQ(log_->Load()->files.size(), 1u);
}

TEST_F(DeltaLogTest, BlindAppendConflictsWithConcurrentMetadataChange) {
  Create();
  Metadata changed = log_->Load()->metadata;
  changed.configuration["k"] = "v";
  ASSERT_TRUE(log_->Commit(0, {changed}, CommitOptions{}).ok());
  auto lost = Append("late", 0);
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kConflict);
  EXPECT_NE(lost.status().message().find("metadata"), std::string::npos);
}

TEST_F(DeltaLogTest, ALoserWithAReadSetRetriesPastACommitItDidNotRead) {
  Create();
  ASSERT_TRUE(Append("a", 0).ok());
  ASSERT_TRUE(Append("b", 1).ok());
  // Another writer appends at version 3 while this one removes "a" having read version 2.
  ASSERT_TRUE(Append("c", 2).ok());
  CommitOptions options;
  options.operation = "DELETE";
  options.read_set = ReadSet{};
  options.read_set->files = {"a"};
  RemoveFile remove;
  remove.path = "a";
  auto committed = log_->Commit(2, {remove}, options);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->version, 4);
  EXPECT_EQ(committed->attempts, 2);
  // Removing "a" again from version 2 now meets the first removal.
  auto lost = log_->Commit(2, {remove}, options);
  ASSERT_FALSE(lost.ok());
  EXPECT_NE(lost.status().message().find("conflict (concurrent delete-delete)"), std::string::npos)
      << lost.status().message();
  EXPECT_EQ(log_->LatestVersion().value(), 4);
}

TEST_F(DeltaLogTest, LogCleanupKeepsEveryVersionWithinTheRetentionRebuildable) {
  testing::FakeClock clock(SystemClock().NowMillis());
  log_ = std::make_unique<DeltaLog>(&storage_, dir_.path() + "/t", codec_.get(), &clock);
  Create();
  for (int i = 1; i <= 25; ++i) ASSERT_TRUE(Append("f" + std::to_string(i), i - 1).ok());
  // Nothing is older than 30 days yet.
  auto none = log_->CleanUpLog(log_->Load().value());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // 31 days on, every commit is past the retention: the newest checkpoint (20)
  // and what follows it stay; commits 0-19 and checkpoint 10 go.
  clock.Advance(int64_t{31} * 24 * 3600 * 1000);
  auto deleted = log_->CleanUpLog(log_->Load().value());
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->size(), 21u);  // 20 commits + checkpoint 10.
  auto latest = log_->Load();
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->files.size(), 25u);
  EXPECT_TRUE(log_->Load(20).ok());
  auto gone = log_->Load(15);
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find("cannot be rebuilt"), std::string::npos) << gone.status().message();
}

TEST_F(DeltaLogTest, LogCleanupHonoursTheTableProperties) {
  testing::FakeClock clock(SystemClock().NowMillis() + int64_t{2} * 24 * 3600 * 1000);
  log_ = std::make_unique<DeltaLog>(&storage_, dir_.path() + "/t", codec_.get(), &clock);
  Create();
  for (int i = 1; i <= 12; ++i) ASSERT_TRUE(Append("f" + std::to_string(i), i - 1).ok());
  Snapshot snapshot = log_->Load().value();
  // Two days old: kept by the default 30 days, cleaned with a 1-day retention,
  // kept when cleanup is switched off.
  EXPECT_TRUE(log_->CleanUpLog(snapshot)->empty());
  snapshot.metadata.configuration["delta.logRetentionDuration"] = "interval 1 day";
  snapshot.metadata.configuration["delta.enableExpiredLogCleanup"] = "false";
  EXPECT_TRUE(log_->CleanUpLog(snapshot)->empty());
  snapshot.metadata.configuration.erase("delta.enableExpiredLogCleanup");
  EXPECT_EQ(log_->CleanUpLog(snapshot)->size(), 10u);  // Commits 0-9; checkpoint 10 and later stay.
  EXPECT_EQ(log_->Load().value().files.size(), 12u);
}

TEST_F(DeltaLogTest, CreatingAnExistingTableFails) {
  Create();
  Metadata metadata;
  metadata.id = "id-2";
  metadata.schema_string = R"({"type":"struct","fields":[]})";
  EXPECT_EQ(log_->Commit(-1, {Protocol{}, metadata}, CommitOptions{}).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(DeltaLogTest, FailedLogWriteLeavesTheTableAtItsLastVersion) {
  Create();
  ASSERT_TRUE(Append("a", 0).ok());
  storage_.FailNth(FaultyStorage::Op::kPutIfAbsent, 1);
  EXPECT_EQ(Append("b", 1).status().code(), StatusCode::kIOError);
  auto snapshot = log_->Load();
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->version, 1);
  EXPECT_TRUE(Append("c", 1).ok());
}

TEST_F(DeltaLogTest, FailedCheckpointDoesNotUndoTheCommit) {
  Create();
  for (int i = 1; i <= 9; ++i) ASSERT_TRUE(Append("f" + std::to_string(i), i - 1).ok());
  storage_.FailNth(FaultyStorage::Op::kPut, 1);
  auto tenth = Append("f10", 9);
  ASSERT_TRUE(tenth.ok());
  EXPECT_FALSE(tenth->checkpoint_status.ok());
  EXPECT_EQ(log_->Load()->files.size(), 10u);
}

TEST_F(DeltaLogTest, GapInVersionsIsCorruption) {
  Create();
  ASSERT_TRUE(Append("a", 0).ok());
  ASSERT_TRUE(Append("b", 1).ok());
  std::filesystem::remove(log_->log_dir() + "/" + DeltaLog::CommitFileName(1));
  auto snapshot = log_->Load();
  ASSERT_FALSE(snapshot.ok());
  EXPECT_NE(snapshot.status().message().find("not contiguous"), std::string::npos) << snapshot.status().message();
}

TEST_F(DeltaLogTest, StoppedAtEachCrashPointTheTableStaysReadable) {
  for (CrashPoint point : {CrashPoint::kStagedLogWritten, CrashPoint::kLogLinked, CrashPoint::kDirectorySynced,
                           CrashPoint::kCheckpointWritten, CrashPoint::kLastCheckpointWritten}) {
    ScratchDir dir;
    DeltaLog log(&storage_, dir.path() + "/t", codec_.get());
    log_ = std::make_unique<DeltaLog>(&storage_, dir.path() + "/t", codec_.get());
    Create();
    for (int i = 1; i <= 9; ++i) ASSERT_TRUE(Append("f" + std::to_string(i), i - 1).ok());
    struct Stop {};
    storage_.SetCrashHookEverywhere([point](CrashPoint reached) {
      if (reached == point) throw Stop{};
    });
    bool stopped = false;
    try {
      (void)Append("f10", 9);
    } catch (const Stop&) {
      stopped = true;
    }
    storage_.SetCrashHookEverywhere(nullptr);
    EXPECT_TRUE(stopped) << CrashPointName(point);
    auto snapshot = log.Load();
    ASSERT_TRUE(snapshot.ok()) << CrashPointName(point) << ": " << snapshot.status().ToString();
    // Before the link the commit is not there; from the link on it is.
    int64_t expected = point == CrashPoint::kStagedLogWritten ? 9 : 10;
    EXPECT_EQ(snapshot->version, expected) << CrashPointName(point);
    auto next = Append("f11", snapshot->version);
    ASSERT_TRUE(next.ok()) << CrashPointName(point) << ": " << next.status().ToString();
    EXPECT_EQ(log.Load()->files.size(), static_cast<size_t>(expected + 1));
  }
}

TEST(DeltaCorpus, ReadsCheckpointsWrittenBySpark) {
  SKIP_WITHOUT_SHARED();
  auto database = engine::Database::Open();
  ASSERT_TRUE(database.ok());
  table::DuckCheckpointCodec codec(database->get());
  auto storage = NewLocalStorage();
  struct Case {
    std::string table;
    int64_t version;
    size_t files;
  };
  std::string root = testing::SharedDir() + "/delta-tables/";
  for (const Case& c : std::vector<Case>{{"dat/with_checkpoint/delta", 3, 1},
                                         {"dat/stats_as_struct/delta", 3, 1},
                                         {"delta-golden/multi-part-checkpoint", 1, 10},
                                         {"delta-rs/checkpoints_vacuumed", 12, 12},
                                         {"delta-golden/corrupted-last-checkpoint-kernel", 10, 22},
                                         {"delta-golden/delete-re-add-same-file-different-transactions", 3, 2}}) {
    DeltaLog log(storage.get(), root + c.table, &codec);
    auto snapshot = log.Load(c.version);
    ASSERT_TRUE(snapshot.ok()) << c.table << ": " << snapshot.status().ToString();
    EXPECT_EQ(snapshot->files.size(), c.files) << c.table;
  }
  DeltaLog vacuumed(storage.get(), root + "delta-rs/checkpoints_vacuumed", &codec);
  EXPECT_FALSE(vacuumed.Load(3).ok());
  for (std::string refused : {"delta-golden/versions-not-contiguous", "delta-golden/deltalog-invalid-protocol-version",
                              "delta-golden/deltalog-state-reconstruction-without-metadata",
                              "delta-golden/deltalog-state-reconstruction-without-protocol",
                              "delta-rs/simple_table_features", "delta-rs/table-with-dv-small"}) {
    DeltaLog log(storage.get(), root + refused, &codec);
    EXPECT_FALSE(log.Load().ok()) << refused;
  }
}

}  // namespace
}  // namespace finlake::delta

namespace finlake::delta {
namespace {

TEST_F(DeltaLogTest, UnreadableCheckpointFallsBackToAnOlderStart) {
  Create();
  for (int i = 1; i <= 21; ++i) ASSERT_TRUE(Append("f" + std::to_string(i), i - 1).ok());
  // A torn checkpoint (another engine's crash mid-write) must not hide the table.
  std::ofstream(log_->log_dir() + "/00000000000000000020.checkpoint.parquet", std::ios::trunc) << "PAR1 torn";
  auto snapshot = log_->Load();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_EQ(snapshot->checkpoint_version, 10);
  EXPECT_EQ(snapshot->files.size(), 21u);
}

}  // namespace
}  // namespace finlake::delta
