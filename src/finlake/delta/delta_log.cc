#include "finlake/delta/delta_log.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "finlake/core/limits.h"
#include "finlake/core/strings.h"
#include "finlake/delta/protocol_check.h"

namespace finlake::delta {

using nlohmann::json;

namespace {

constexpr const char* kEngineInfo = "finlake/0.1";

bool ParseVersionPrefix(const std::string& name, int64_t* version) {
  if (name.size() < 20) return false;
  for (int i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  *version = std::stoll(name.substr(0, 20));
  return true;
}

Result<LogListing> ListLog(const Storage& storage, const std::string& log_dir) {
  auto entries = storage.List(log_dir);
  if (!entries.ok()) {
    if (entries.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("no Delta table at " + log_dir.substr(0, log_dir.size() - 11) +
                              " (no _delta_log directory)");
    }
    return entries.status();
  }
  LogListing listing;
  // Multi-part checkpoints: version -> (part count -> parts seen).
  std::map<int64_t, std::map<int, std::map<int, std::string>>> multipart;
  for (const FileInfo& entry : *entries) {
    int64_t version = 0;
    if (entry.is_directory || !ParseVersionPrefix(entry.name, &version)) continue;
    std::string rest = entry.name.substr(20);
    if (rest == ".json") {
      listing.commits[version] = entry;
    } else if (rest == ".checkpoint.parquet") {
      listing.checkpoints[version] = {entry.name};
    } else if (StartsWith(rest, ".checkpoint.") && EndsWith(rest, ".parquet")) {
      // N.checkpoint.<part 10 digits>.<parts 10 digits>.parquet; UUID-named V2
      // checkpoints do not match and are ignored (they need the v2Checkpoint feature).
      std::string middle = rest.substr(12, rest.size() - 12 - 8);
      int part = 0, parts = 0;
      char tail = 0;
      if (middle.size() == 21 && std::sscanf(middle.c_str(), "%10d.%10d%c", &part, &parts, &tail) == 2 &&
          part >= 1 && part <= parts) {
        multipart[version][parts][part] = entry.name;
      }
    }
  }
  for (auto& [version, by_count] : multipart) {
    if (listing.checkpoints.count(version)) continue;
    for (auto& [count, parts] : by_count) {
      if (static_cast<int>(parts.size()) != count) continue;  // Incomplete: ignore.
      std::vector<std::string> names;
      for (auto& [index, name] : parts) names.push_back(name);
      listing.checkpoints[version] = names;
      break;
    }
  }
  return listing;
}

std::string FileKey(const std::string& path, const json& deletion_vector) {
  if (deletion_vector.is_null()) return path;
  // "Action Reconciliation": the key is (path, deletionVector.uniqueId).
  std::string id = deletion_vector.value("storageType", "") + deletion_vector.value("pathOrInlineDv", "");
  if (deletion_vector.contains("offset")) id += "@" + deletion_vector["offset"].dump();
  return path + "\x1f" + id;
}

// Accumulates actions in log order into a snapshot.
class Replayer {
 public:
  // Starts from a snapshot instead of nothing.
  void Seed(const Snapshot& snapshot) {
    protocol_ = snapshot.protocol;
    metadata_ = snapshot.metadata;
    files_.reserve(snapshot.files.size());
    for (const AddFile& file : snapshot.files) files_[FileKey(file.path, file.deletion_vector)] = file;
    for (const RemoveFile& tombstone : snapshot.tombstones) {
      tombstones_[FileKey(tombstone.path, tombstone.deletion_vector)] = tombstone;
    }
    txns_ = snapshot.txns;
    for (const OtherAction& domain : snapshot.domain_metadata) domains_[domain.body.value("domain", "")] = domain;
  }

  void Apply(Action&& action) {
    std::visit(
        [this](auto&& a) {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, Protocol>) {
            protocol_ = std::move(a);
          } else if constexpr (std::is_same_v<T, Metadata>) {
            metadata_ = std::move(a);
          } else if constexpr (std::is_same_v<T, AddFile>) {
            std::string key = FileKey(a.path, a.deletion_vector);
            tombstones_.erase(key);
            files_[key] = std::move(a);
          } else if constexpr (std::is_same_v<T, RemoveFile>) {
            std::string key = FileKey(a.path, a.deletion_vector);
            files_.erase(key);
            tombstones_[key] = std::move(a);
          } else if constexpr (std::is_same_v<T, Txn>) {
            std::string id = a.app_id;
            txns_[id] = std::move(a);
          } else if constexpr (std::is_same_v<T, OtherAction>) {
            if (a.kind == "domainMetadata") {
              std::string domain = a.body.value("domain", "");
              if (a.body.value("removed", false)) domains_.erase(domain);
              else domains_[domain] = std::move(a);
            }
          }
        },
        std::move(action));
  }

  Result<Snapshot> Finish(int64_t version, const std::string& table) {
    if (!protocol_) return Status::Corruption(table + ": log replay to version " + std::to_string(version) + " found no protocol action");
    if (!metadata_) return Status::Corruption(table + ": log replay to version " + std::to_string(version) + " found no metaData action");
    Snapshot snapshot;
    snapshot.version = version;
    snapshot.protocol = std::move(*protocol_);
    snapshot.metadata = std::move(*metadata_);
    RETURN_IF_ERROR(CheckReadable(snapshot.protocol, snapshot.metadata).WithContext(table));
    ASSIGN_OR_RETURN(snapshot.schema,
                     ParseSchema(snapshot.metadata.schema_string));
    for (auto& [key, file] : files_) {
      if (!file.deletion_vector.is_null()) {
        return Status::Unsupported(table + ": file " + file.path + " has a deletion vector, which finlake does not implement");
      }
      snapshot.files.push_back(std::move(file));
    }
    for (auto& [key, tombstone] : tombstones_) snapshot.tombstones.push_back(std::move(tombstone));
    auto by_path = [](const auto& a, const auto& b) { return a.path < b.path; };
    std::sort(snapshot.files.begin(), snapshot.files.end(), by_path);
    std::sort(snapshot.tombstones.begin(), snapshot.tombstones.end(), by_path);
    snapshot.txns = std::move(txns_);
    for (auto& [domain, action] : domains_) snapshot.domain_metadata.push_back(std::move(action));
    return snapshot;
  }

 private:
  std::optional<Protocol> protocol_;
  std::optional<Metadata> metadata_;
  std::unordered_map<std::string, AddFile> files_;
  std::unordered_map<std::string, RemoveFile> tombstones_;
  std::map<std::string, Txn> txns_;
  std::map<std::string, OtherAction> domains_;
};

}  // namespace

// "interval 1 week", "interval 7 days", "interval 168 hours" -> milliseconds.
std::optional<int64_t> ParseIntervalMs(const std::string& text) {
  std::vector<std::string> words;
  for (const std::string& w : Split(ToLower(text), ' ')) {
    if (!w.empty()) words.push_back(w);
  }
  if (!words.empty() && words[0] == "interval") words.erase(words.begin());
  if (words.size() != 2) return std::nullopt;
  char* end = nullptr;
  double amount = std::strtod(words[0].c_str(), &end);
  if (end == words[0].c_str()) return std::nullopt;
  std::string unit = words[1];
  if (EndsWith(unit, "s")) unit.pop_back();
  static const std::map<std::string, int64_t> kUnitMs = {
      {"millisecond", 1}, {"second", 1000}, {"minute", 60000}, {"hour", 3600000},
      {"day", 86400000}, {"week", 604800000}};
  auto it = kUnitMs.find(unit);
  if (it == kUnitMs.end()) return std::nullopt;
  return static_cast<int64_t>(amount * static_cast<double>(it->second));
}

namespace {

constexpr int64_t kTombstoneRetentionDefaultMs = int64_t{7} * 24 * 3600 * 1000;
// "Metadata Cleanup": Spark's delta.logRetentionDuration default.
constexpr int64_t kLogRetentionDefaultMs = int64_t{30} * 24 * 3600 * 1000;

}  // namespace

int64_t Snapshot::NumRecords() const {
  int64_t total = 0;
  for (const AddFile& file : files) {
    std::optional<int64_t> records = file.NumRecords();
    if (!records) return -1;
    total += *records;
  }
  return total;
}

std::string Snapshot::Property(const std::string& key, const std::string& fallback) const {
  auto it = metadata.configuration.find(key);
  return it == metadata.configuration.end() ? fallback : it->second;
}

DeltaLog::DeltaLog(Storage* storage, std::string table_root, CheckpointCodec* codec, const Clock* clock)
    : storage_(storage), table_root_(std::move(table_root)), codec_(codec), clock_(clock) {
  while (table_root_.size() > 1 && table_root_.back() == '/') table_root_.pop_back();
}

std::string DeltaLog::CommitFileName(int64_t version) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020lld.json", static_cast<long long>(version));
  return name;
}

bool DeltaLog::Exists() const {
  auto listing = ListLog(*storage_, log_dir());
  return listing.ok() && (!listing->commits.empty() || !listing->checkpoints.empty());
}

Result<int64_t> DeltaLog::LatestVersion() const {
  ASSIGN_OR_RETURN(LogListing listing, ListLog(*storage_, log_dir()));
  int64_t latest = -1;
  if (!listing.commits.empty()) latest = listing.commits.rbegin()->first;
  if (!listing.checkpoints.empty()) latest = std::max(latest, listing.checkpoints.rbegin()->first);
  if (latest < 0) return Status::NotFound("no Delta table at " + table_root_ + " (_delta_log holds no commits)");
  return latest;
}

Result<Snapshot> DeltaLog::Load(std::optional<int64_t> version) const {
  ASSIGN_OR_RETURN(LogListing listing, ListLog(*storage_, log_dir()));
  int64_t latest = -1;
  if (!listing.commits.empty()) latest = listing.commits.rbegin()->first;
  if (!listing.checkpoints.empty()) latest = std::max(latest, listing.checkpoints.rbegin()->first);
  if (latest < 0) return Status::NotFound("no Delta table at " + table_root_ + " (_delta_log holds no commits)");
  int64_t target = version.value_or(latest);
  if (target < 0 || target > latest) {
    return Status::NotFound(table_root_ + ": version " + std::to_string(target) +
                            " does not exist (latest is " + std::to_string(latest) + ")");
  }
  // Start from the newest complete checkpoint at or below the target ("Checkpoints";
  // for time travel the checkpoint must not be newer than the version asked for).
  // A checkpoint that cannot be read (a torn write by another engine) is skipped
  // for an older one, and finally for a replay of every commit from 0.
  std::vector<std::optional<int64_t>> starts;
  for (auto it = listing.checkpoints.upper_bound(target); it != listing.checkpoints.begin();) {
    starts.push_back((--it)->first);
  }
  starts.push_back(std::nullopt);
  Status first_error;
  for (const std::optional<int64_t>& start : starts) {
    Status gap = CheckContiguous(listing, start, target);
    if (!gap.ok()) {
      if (first_error.ok()) first_error = gap;
      continue;
    }
    bool checkpoint_unreadable = false;
    auto snapshot = ReplayFrom(listing, start, target, &checkpoint_unreadable);
    if (snapshot.ok() || !checkpoint_unreadable) return snapshot;
    if (first_error.ok()) first_error = snapshot.status();
  }
  return first_error;
}

Status DeltaLog::CheckContiguous(const LogListing& listing, std::optional<int64_t> checkpoint, int64_t target) const {
  for (int64_t v = checkpoint ? *checkpoint + 1 : 0; v <= target; ++v) {
    if (listing.commits.count(v)) continue;
    if (v == 0 || (!checkpoint && !listing.commits.empty() && listing.commits.begin()->first > v)) {
      return Status::NotFound(table_root_ + ": version " + std::to_string(target) + " cannot be rebuilt: commit " +
                              std::to_string(v) + " is gone and no checkpoint at or below it exists (log cleaned up?)");
    }
    return Status::Corruption(table_root_ + ": versions are not contiguous: commit " + std::to_string(v) + " (" +
                              CommitFileName(v) + ") is missing before version " + std::to_string(target));
  }
  return Status::Ok();
}

Result<Snapshot> DeltaLog::ReplayFrom(const LogListing& listing, std::optional<int64_t> checkpoint, int64_t target,
                                      bool* checkpoint_unreadable) const {
  Replayer replayer;
  if (checkpoint) {
    if (codec_ == nullptr) return Status::Internal("DeltaLog has no checkpoint codec");
    std::vector<std::string> paths;
    for (const std::string& name : listing.checkpoints.at(*checkpoint)) paths.push_back(log_dir() + "/" + name);
    auto actions = codec_->Read(*storage_, paths);
    if (!actions.ok()) {
      *checkpoint_unreadable = true;
      return actions.status();
    }
    for (Action& action : *actions) replayer.Apply(std::move(action));
  }
  int64_t timestamp_ms = 0;
  for (int64_t v = checkpoint ? *checkpoint + 1 : 0; v <= target; ++v) {
    const FileInfo& info = listing.commits.at(v);
    ASSIGN_OR_RETURN(std::string text, storage_->Read(log_dir() + "/" + info.name));
    if (static_cast<int64_t>(text.size()) > limits::kCommitFileBytesMax) {
      return Status::Corruption(table_root_ + ": commit " + info.name + " is larger than the limit of " +
                                std::to_string(limits::kCommitFileBytesMax) + " bytes");
    }
    ASSIGN_OR_RETURN(std::vector<Action> actions, ParseCommit(text, table_root_ + "/_delta_log/" + info.name));
    if (v == target) {
      ASSIGN_OR_RETURN(timestamp_ms, CommitTimestamp(actions, log_dir() + "/" + info.name));
    }
    for (Action& action : actions) replayer.Apply(std::move(action));
  }
  ASSIGN_OR_RETURN(Snapshot snapshot, replayer.Finish(target, table_root_));
  snapshot.checkpoint_version = checkpoint;
  snapshot.commit_timestamp_ms = timestamp_ms;
  return snapshot;
}

Result<int64_t> DeltaLog::CommitTimestamp(const std::vector<Action>& actions, const std::string& path) const {
  for (const Action& action : actions) {
    if (auto* commit_info = std::get_if<CommitInfo>(&action)) {
      if (auto ts = commit_info->Timestamp()) return *ts;
    }
  }
  // Without commitInfo.timestamp the protocol's commit time is the file's mtime.
  ASSIGN_OR_RETURN(FileInfo info, storage_->Stat(path));
  return info.modified_ms;
}

Result<int64_t> DeltaLog::VersionAt(int64_t timestamp_ms) const {
  ASSIGN_OR_RETURN(std::vector<HistoryEntry> history, History());
  std::reverse(history.begin(), history.end());
  int64_t previous = INT64_MIN;
  std::optional<int64_t> chosen;
  for (const HistoryEntry& entry : history) {
    int64_t ts = previous == INT64_MIN ? entry.timestamp_ms : std::max(entry.timestamp_ms, previous + 1);
    previous = ts;
    if (ts <= timestamp_ms) chosen = entry.version;
  }
  if (!chosen) {
    return Status::NotFound(table_root_ + ": no version at or before " + FormatIsoMillis(timestamp_ms) +
                            (history.empty() ? "" : " (the earliest commit is " +
                                                        FormatIsoMillis(history.front().timestamp_ms) + ")"));
  }
  return *chosen;
}

Result<std::vector<HistoryEntry>> DeltaLog::History(int64_t limit) const {
  ASSIGN_OR_RETURN(LogListing listing, ListLog(*storage_, log_dir()));
  std::vector<HistoryEntry> entries;
  for (auto it = listing.commits.rbegin(); it != listing.commits.rend(); ++it) {
    if (limit > 0 && static_cast<int64_t>(entries.size()) >= limit) break;
    HistoryEntry entry;
    entry.version = it->first;
    std::string path = log_dir() + "/" + it->second.name;
    ASSIGN_OR_RETURN(std::string text, storage_->Read(path));
    ASSIGN_OR_RETURN(std::vector<Action> actions, ParseCommit(text, path));
    for (const Action& action : actions) {
      if (auto* info = std::get_if<CommitInfo>(&action)) {
        entry.commit_info = info->raw;
        entry.operation = info->Operation();
      }
    }
    ASSIGN_OR_RETURN(entry.timestamp_ms, CommitTimestamp(actions, path));
    entries.push_back(std::move(entry));
  }
  return entries;
}

Result<CommitResult> DeltaLog::Commit(int64_t read_version, std::vector<Action> actions,
                                      const CommitOptions& options) {
  const bool creating = read_version < 0;
  json info = {{"timestamp", clock_->NowMillis()},
               {"operation", options.operation},
               {"operationParameters", options.operation_parameters},
               {"isBlindAppend", options.blind_append},
               {"engineInfo", kEngineInfo}};
  if (!creating) info["readVersion"] = read_version;
  if (!options.operation_metrics.empty()) info["operationMetrics"] = options.operation_metrics;
  actions.insert(actions.begin(), CommitInfo{info});

  RETURN_IF_ERROR(storage_->MakeDirs(log_dir()));
  storage_->ReachedCrashPoint(CrashPoint::kCommitReady);
  std::mt19937 jitter(std::random_device{}());
  int backoff_ms = limits::kCommitBackoffInitialMs;
  int64_t version = read_version + 1;
  for (int attempt = 1; attempt <= limits::kCommitRetriesMax; ++attempt) {
    std::string path = log_dir() + "/" + CommitFileName(version);
    Status put = storage_->PutIfAbsent(path, SerializeCommit(actions));
    if (put.ok()) {
      CommitResult result;
      result.version = version;
      result.attempts = attempt;
      int64_t interval = limits::kCheckpointIntervalDefault;
      if (options.checkpoint && version > 0 && (version % interval == 0 || options.checkpoint_after)) {
        Result<Snapshot> snapshot = Status::Internal("unset");
        if (options.base != nullptr && options.base->version == read_version && version == read_version + 1) {
          Replayer replayer;
          replayer.Seed(*options.base);
          for (Action& action : actions) {
            if (!std::holds_alternative<CommitInfo>(action)) replayer.Apply(std::move(action));
          }
          snapshot = replayer.Finish(version, table_root_);
        } else {
          snapshot = Load(version);
        }
        result.checkpoint_status = snapshot.ok() ? WriteCheckpoint(*snapshot) : snapshot.status();
      }
      return result;
    }
    if (put.code() != StatusCode::kAlreadyExists) return put;
    if (creating) return Status::AlreadyExists("a Delta table already exists at " + table_root_);
    if (!options.blind_append && !options.read_set) {
      return Status::Conflict(table_root_ + ": concurrent commit " + std::to_string(version) +
                              " won the race; this " + options.operation +
                              " read version " + std::to_string(read_version) + " and must be retried");
    }
    // Another writer took this version: what it committed decides whether ours
    // still holds at the next one.
    ASSIGN_OR_RETURN(std::string text, storage_->Read(path));
    ASSIGN_OR_RETURN(std::vector<Action> winner, ParseCommit(text, path));
    RETURN_IF_ERROR(CheckConcurrentCommit(winner, version, actions, options.read_set.value_or(ReadSet{}),
                                          options.operation)
                        .WithContext(table_root_));
    info["readVersion"] = version;
    actions[0] = CommitInfo{info};
    ++version;
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::uniform_int_distribution<int>(0, backoff_ms)(jitter)));
    backoff_ms = std::min(backoff_ms * 2, limits::kCommitBackoffMaxMs);
  }
  return Status::Conflict(table_root_ + ": gave up after " + std::to_string(limits::kCommitRetriesMax) +
                          " lost races for the next version");
}

Status DeltaLog::WriteCheckpoint(const Snapshot& snapshot) {
  if (codec_ == nullptr) return Status::Internal("DeltaLog has no checkpoint codec");
  std::vector<Action> actions;
  actions.push_back(snapshot.protocol);
  actions.push_back(snapshot.metadata);
  for (const auto& [app, txn] : snapshot.txns) actions.push_back(txn);
  for (const AddFile& add : snapshot.files) actions.push_back(add);
  // Only unexpired tombstones go into a checkpoint ("Checkpoints"); VACUUM relies
  // on them to keep files that a reader of an older version may still open.
  int64_t retention_ms = ParseIntervalMs(snapshot.Property("delta.deletedFileRetentionDuration", ""))
                             .value_or(kTombstoneRetentionDefaultMs);
  int64_t now = clock_->NowMillis();
  for (const RemoveFile& remove : snapshot.tombstones) {
    if (remove.deletion_timestamp && *remove.deletion_timestamp + retention_ms < now) continue;
    RemoveFile kept = remove;
    kept.partition_values.reset();
    actions.push_back(std::move(kept));
  }
  for (const OtherAction& domain : snapshot.domain_metadata) actions.push_back(domain);
  ASSIGN_OR_RETURN(std::string bytes, codec_->Encode(actions));
  char name[64];
  std::snprintf(name, sizeof(name), "%020lld.checkpoint.parquet", static_cast<long long>(snapshot.version));
  RETURN_IF_ERROR(storage_->Put(log_dir() + "/" + name, bytes));
  storage_->ReachedCrashPoint(CrashPoint::kCheckpointWritten);
  json last = {{"version", snapshot.version},
               {"size", static_cast<int64_t>(actions.size())},
               {"sizeInBytes", static_cast<int64_t>(bytes.size())},
               {"numOfAddFiles", static_cast<int64_t>(snapshot.files.size())}};
  RETURN_IF_ERROR(storage_->Put(log_dir() + "/_last_checkpoint", last.dump()));
  storage_->ReachedCrashPoint(CrashPoint::kLastCheckpointWritten);
  // Cleanup is housekeeping: the checkpoint stands even when it fails, and the
  // next checkpoint tries again.
  (void)CleanUpLog(snapshot);
  return Status::Ok();
}

Result<std::vector<std::string>> DeltaLog::CleanUpLog(const Snapshot& snapshot) {
  std::vector<std::string> deleted;
  if (ToLower(snapshot.Property("delta.enableExpiredLogCleanup", "true")) == "false") return deleted;
  int64_t retention_ms =
      ParseIntervalMs(snapshot.Property("delta.logRetentionDuration", "")).value_or(kLogRetentionDefaultMs);
  int64_t cutoff_ms = clock_->NowMillis() - retention_ms;
  ASSIGN_OR_RETURN(LogListing listing, ListLog(*storage_, log_dir()));
  // The newest commit at or before the cutoff (commit times only grow with the
  // version, so the walk stops at the first younger one) ...
  std::optional<int64_t> cutoff_commit;
  for (const auto& [version, info] : listing.commits) {
    if (version > snapshot.version) break;
    ASSIGN_OR_RETURN(FileInfo stat, storage_->Stat(log_dir() + "/" + info.name));
    if (stat.modified_ms > cutoff_ms) break;
    cutoff_commit = version;
  }
  if (!cutoff_commit) return deleted;
  // ... and the newest checkpoint not newer than it: every version from there on
  // stays rebuildable, older ones go.
  std::optional<int64_t> keep_from;
  for (const auto& [version, parts] : listing.checkpoints) {
    if (version <= *cutoff_commit) keep_from = version;
  }
  if (!keep_from) return deleted;
  ASSIGN_OR_RETURN(std::vector<FileInfo> entries, storage_->List(log_dir()));
  for (const FileInfo& entry : entries) {
    int64_t version = 0;
    if (entry.is_directory || !ParseVersionPrefix(entry.name, &version) || version >= *keep_from) continue;
    std::string rest = entry.name.substr(20);
    bool log_file = rest == ".json" || rest == ".crc" || EndsWith(rest, ".compacted.json") ||
                    (StartsWith(rest, ".checkpoint") && EndsWith(rest, ".parquet"));
    if (!log_file) continue;
    RETURN_IF_ERROR(storage_->Delete(log_dir() + "/" + entry.name));
    deleted.push_back(entry.name);
  }
  return deleted;
}

}  // namespace finlake::delta
