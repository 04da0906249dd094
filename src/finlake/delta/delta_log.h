// DeltaLog: the public face of delta/. It reads snapshots of one table by log
// replay and commits new versions with put-if-absent (PROTOCOL.md "Delta Log
// Entries", "Action Reconciliation", "Checkpoints", "Creation of New Log Entries").
//
// A DeltaLog does no I/O of its own: bytes go through the Storage it is given and
// Parquet checkpoints through the CheckpointCodec. It is thread-compatible: use one
// per thread, or guard it; concurrent writers in other processes are expected.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "finlake/core/clock.h"
#include "finlake/core/status.h"
#include "finlake/delta/actions.h"
#include "finlake/delta/checkpoint_codec.h"
#include "finlake/delta/conflicts.h"
#include "finlake/delta/snapshot.h"
#include "finlake/storage/storage.h"

namespace finlake::delta {

struct CommitOptions {
  // "WRITE", "CREATE TABLE", ... for commitInfo.operation.
  std::string operation = "WRITE";
  nlohmann::json operation_parameters = nlohmann::json::object();
  nlohmann::json operation_metrics = nlohmann::json::object();
  // A blind append only adds files: it read nothing, so losing the race for a
  // version is retried at the next one unless the winner changed the metadata or
  // protocol or committed the same txn appId.
  bool blind_append = false;
  // What the transaction read, for deciding whether losing the race for a version
  // is a conflict (conflicts.h). Unset on a commit that is not a blind append: any
  // lost race is a conflict.
  std::optional<ReadSet> read_set;
  // Write a checkpoint after committing versions that are multiples of the interval.
  bool checkpoint = true;
  // Write a checkpoint after this commit whatever its version: after a MERGE or
  // OPTIMIZE, which replace many files, the next reader replays one Parquet file.
  bool checkpoint_after = false;
  // The snapshot (at read_version) the actions were computed from. When the
  // commit lands at read_version + 1, the checkpoint after it is built from this
  // snapshot plus the actions instead of replaying the log again.
  const Snapshot* base = nullptr;
};

// "interval 1 week", "interval 7 days", "interval 168 hours" (Delta's interval
// table properties) -> milliseconds; nullopt when the text is not such an interval.
std::optional<int64_t> ParseIntervalMs(const std::string& text);

// The outcome of a commit that did not fail.
enum class CommitOutcome { kCommitted };

struct CommitResult {
  CommitOutcome outcome = CommitOutcome::kCommitted;
  int64_t version = -1;
  int attempts = 1;
  Status checkpoint_status;  // A failed checkpoint does not undo the commit.
};

struct HistoryEntry {
  int64_t version = 0;
  int64_t timestamp_ms = 0;  // commitInfo.timestamp, else the commit file's mtime.
  std::string operation;
  nlohmann::json commit_info;  // null when the commit has none.
};

// What a listing of _delta_log tells: commit files and complete checkpoints by version.
struct LogListing {
  std::map<int64_t, FileInfo> commits;
  std::map<int64_t, std::vector<std::string>> checkpoints;  // Version -> part file names in order.
};

class DeltaLog {
 public:
  DeltaLog(Storage* storage, std::string table_root, CheckpointCodec* codec,
           const Clock* clock = &SystemClock());

  const std::string& table_root() const { return table_root_; }
  std::string log_dir() const { return table_root_ + "/_delta_log"; }
  Storage* storage() const { return storage_; }

  // True when the table has at least one commit or checkpoint.
  bool Exists() const;
  // The snapshot at `version` (latest when unset). Fails on a log that cannot be
  // replayed (gaps, corrupt lines, missing protocol or metaData) and on tables whose
  // reader requirements finlake does not implement.
  [[nodiscard]] Result<Snapshot> Load(std::optional<int64_t> version = std::nullopt) const;
  // The latest version, or NotFound for a directory without a Delta log.
  [[nodiscard]] Result<int64_t> LatestVersion() const;
  // The latest version committed at or before `timestamp_ms`, with commit times
  // made monotonic as Spark's DeltaHistoryManager does (a commit never counts as
  // earlier than the one before it). NotFound, naming the earliest commit's time,
  // when every commit is later.
  [[nodiscard]] Result<int64_t> VersionAt(int64_t timestamp_ms) const;
  // Newest first, at most `limit` entries (0 = all that remain in the log).
  [[nodiscard]] Result<std::vector<HistoryEntry>> History(int64_t limit = 0) const;

  // Commits `actions` as version read_version + 1 (read_version -1 creates the table).
  // A commitInfo is added in front. Conflict when another writer won and the commit
  // cannot be retried; AlreadyExists when creating a table that exists.
  [[nodiscard]] Result<CommitResult> Commit(int64_t read_version, std::vector<Action> actions,
                                            const CommitOptions& options);

  // Writes `<version>.checkpoint.parquet` and `_last_checkpoint` for a snapshot,
  // then cleans up the log (CleanUpLog).
  [[nodiscard]] Status WriteCheckpoint(const Snapshot& snapshot);

  // "Metadata Cleanup": deletes commit files, checkpoints and .crc files older than
  // the table's delta.logRetentionDuration (default 30 days), keeping the newest
  // checkpoint at or before that cutoff and everything after it, so every version
  // within the retention can still be rebuilt. Does nothing when the table sets
  // delta.enableExpiredLogCleanup=false. Returns the names deleted.
  [[nodiscard]] Result<std::vector<std::string>> CleanUpLog(const Snapshot& snapshot);

  // The commit file's name for a version: 20-digit zero-padded.
  static std::string CommitFileName(int64_t version);

 private:
  // commitInfo.timestamp, else the commit file's modification time.
  [[nodiscard]] Result<int64_t> CommitTimestamp(const std::vector<Action>& actions, const std::string& path) const;
  [[nodiscard]] Status CheckContiguous(const LogListing& listing, std::optional<int64_t> checkpoint,
                                       int64_t target) const;
  [[nodiscard]] Result<Snapshot> ReplayFrom(const LogListing& listing, std::optional<int64_t> checkpoint,
                                            int64_t target, bool* checkpoint_unreadable) const;

  Storage* storage_;
  std::string table_root_;
  CheckpointCodec* codec_;
  const Clock* clock_;
};

}  // namespace finlake::delta
