// The storage interface: every byte finlake keeps goes through it (STYLE.md rule 2).
//
// The Delta log code decides what to read and write; a Storage does it. That is
// what lets the same log code run on a local disk (LocalStorage), an object store
// later, and in tests on a storage that fails or "crashes" on purpose.
//
// Paths are absolute, '/'-separated. Implementations must be thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "finlake/core/status.h"

namespace finlake {

struct FileInfo {
  std::string name;  // Base name, without the directory.
  int64_t size_bytes = -1;   // -1 when not known (List does not stat every entry).
  int64_t modified_ms = -1;  // -1 when not known.
  bool is_directory = false;
};

// Points in a commit where a test may stop the writer (see docs/commit_protocol.md).
enum class CrashPoint {
  kDataFileWritten,
  kCommitReady,  // A commit's actions are final; nothing of the commit is in the log yet.
  kStagedLogWritten,
  kLogLinked,
  kDirectorySynced,
  kCheckpointWritten,
  kLastCheckpointWritten,
};
const char* CrashPointName(CrashPoint point);

class Storage {
 public:
  virtual ~Storage() = default;

  [[nodiscard]] virtual Result<std::string> Read(const std::string& path) const = 0;
  // Lists a directory's entries sorted by name, with names and is_directory only
  // (a log of 10,000 commits is listed on every read: Stat what you need).
  // NotFound when the directory is absent.
  [[nodiscard]] virtual Result<std::vector<FileInfo>> List(const std::string& dir) const = 0;
  [[nodiscard]] virtual Result<FileInfo> Stat(const std::string& path) const = 0;
  [[nodiscard]] virtual bool Exists(const std::string& path) const = 0;

  // Creates `path` with `bytes` only if no file has that name; the content becomes
  // visible whole or not at all, and is durable when this returns ok.
  // Returns AlreadyExists (and changes nothing) when the name is taken.
  [[nodiscard]] virtual Status PutIfAbsent(const std::string& path, const std::string& bytes) = 0;
  // Creates or atomically replaces `path`; durable when this returns ok.
  [[nodiscard]] virtual Status Put(const std::string& path, const std::string& bytes) = 0;
  [[nodiscard]] virtual Status Delete(const std::string& path) = 0;
  [[nodiscard]] virtual Status MakeDirs(const std::string& dir) = 0;
  // Makes a file written by another writer (DuckDB's Parquet writer) durable.
  [[nodiscard]] virtual Status Sync(const std::string& path) = 0;

  // The local file-system path of `path`, for engines that open files themselves
  // (DuckDB). Empty when the storage has no local paths.
  virtual std::optional<std::string> LocalPath(const std::string& path) const = 0;

  // Tests install a hook that is told of every crash point a writer passes.
  void SetCrashHook(std::function<void(CrashPoint)> hook) { crash_hook_ = std::move(hook); }
  void ReachedCrashPoint(CrashPoint point) const {
    if (crash_hook_) crash_hook_(point);
  }

 private:
  std::function<void(CrashPoint)> crash_hook_;
};

}  // namespace finlake
