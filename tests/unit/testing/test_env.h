// Helpers shared by the unit tests: scratch directories, a storage that fails on
// purpose, and the path of ../shared.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "finlake/core/scratch_dir.h"
#include "finlake/core/strings.h"
#include "finlake/storage/local_storage.h"

namespace finlake::testing {

using ScratchDir = ::finlake::ScratchDir;

// The shared test corpus, or empty when absent (tests then skip, saying why).
inline std::string SharedDir() {
  std::string dir = FINLAKE_SHARED_DIR;
  return std::filesystem::exists(dir + "/delta-tables") ? dir : "";
}

#define SKIP_WITHOUT_SHARED()                                                           \
  do {                                                                                  \
    if (::finlake::testing::SharedDir().empty()) {                                      \
      if (std::getenv("CI") != nullptr && std::string(std::getenv("CI")) == "true") {   \
        FAIL() << "../shared is missing under CI=true";                                 \
      }                                                                                 \
      GTEST_SKIP() << "../shared/delta-tables is absent; skipping corpus test";         \
    }                                                                                   \
  } while (0)

// Wraps LocalStorage and fails the N-th call of a chosen operation (1-based), or
// every call when fail_every is set.
class FaultyStorage : public Storage {
 public:
  enum class Op { kRead, kPutIfAbsent, kPut, kList };

  FaultyStorage() : inner_(NewLocalStorage()) {}
  // Crash points are reported by whichever layer passes them: this one or LocalStorage.
  void SetCrashHookEverywhere(std::function<void(CrashPoint)> hook) {
    SetCrashHook(hook);
    inner_->SetCrashHook(std::move(hook));
  }
  void FailNth(Op op, int n) {
    op_ = op;
    fail_at_ = n;
    calls_ = 0;
  }

  Result<std::string> Read(const std::string& path) const override {
    if (Hit(Op::kRead)) return Status::IOError("injected read failure: " + path);
    return inner_->Read(path);
  }
  Result<std::vector<FileInfo>> List(const std::string& dir) const override {
    if (Hit(Op::kList)) return Status::IOError("injected list failure: " + dir);
    return inner_->List(dir);
  }
  Result<FileInfo> Stat(const std::string& path) const override { return inner_->Stat(path); }
  bool Exists(const std::string& path) const override { return inner_->Exists(path); }
  Status PutIfAbsent(const std::string& path, const std::string& bytes) override {
    if (Hit(Op::kPutIfAbsent)) return Status::IOError("injected put failure: " + path);
    return inner_->PutIfAbsent(path, bytes);
  }
  Status Put(const std::string& path, const std::string& bytes) override {
    if (Hit(Op::kPut)) return Status::IOError("injected put failure: " + path);
    return inner_->Put(path, bytes);
  }
  Status Delete(const std::string& path) override { return inner_->Delete(path); }
  Status MakeDirs(const std::string& dir) override { return inner_->MakeDirs(dir); }
  Status Sync(const std::string& path) override { return inner_->Sync(path); }
  std::optional<std::string> LocalPath(const std::string& path) const override { return path; }

 private:
  bool Hit(Op op) const {
    if (fail_at_ <= 0 || op != op_) return false;
    return ++calls_ == fail_at_;
  }

  std::unique_ptr<Storage> inner_;
  Op op_ = Op::kRead;
  int fail_at_ = 0;
  mutable int calls_ = 0;
};

}  // namespace finlake::testing
