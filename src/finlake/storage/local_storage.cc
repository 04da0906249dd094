#include "finlake/storage/local_storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "finlake/core/strings.h"

namespace finlake {

const char* CrashPointName(CrashPoint point) {
  switch (point) {
    case CrashPoint::kDataFileWritten: return "data_file_written";
    case CrashPoint::kCommitReady: return "commit_ready";
    case CrashPoint::kStagedLogWritten: return "staged_log_written";
    case CrashPoint::kLogLinked: return "log_linked";
    case CrashPoint::kDirectorySynced: return "directory_synced";
    case CrashPoint::kCheckpointWritten: return "checkpoint_written";
    case CrashPoint::kLastCheckpointWritten: return "last_checkpoint_written";
  }
  return "unknown";
}

namespace {

Status ErrnoStatus(const std::string& what, const std::string& path, int error) {
  std::string message = what + " " + path + ": " + std::strerror(error);
  if (error == ENOENT) return Status::NotFound(message);
  if (error == EEXIST) return Status::AlreadyExists(message);
  return Status::IOError(message);
}

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status SyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open for fsync", path, errno);
  int rc = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync", path, error);
  return Status::Ok();
}

Status WriteWhole(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create", path, errno);
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      ::close(fd);
      return ErrnoStatus("write", path, error);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int error = errno;
    ::close(fd);
    return ErrnoStatus("fsync", path, error);
  }
  if (::close(fd) != 0) return ErrnoStatus("close", path, errno);
  return Status::Ok();
}

std::string StagedName(const std::string& path) {
  return Parent(path) + "/.tmp-" + NewUuid();
}

class LocalStorage final : public Storage {
 public:
  Result<std::string> Read(const std::string& path) const override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    std::string out;
    char buffer[1 << 16];
    while (true) {
      ssize_t n = ::read(fd, buffer, sizeof(buffer));
      if (n < 0) {
        if (errno == EINTR) continue;
        int error = errno;
        ::close(fd);
        return ErrnoStatus("read", path, error);
      }
      if (n == 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  Result<std::vector<FileInfo>> List(const std::string& dir) const override {
    DIR* handle = ::opendir(dir.c_str());
    if (handle == nullptr) return ErrnoStatus("list", dir, errno);
    std::vector<FileInfo> entries;
    while (dirent* entry = ::readdir(handle)) {
      std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      FileInfo info;
      info.name = name;
      if (entry->d_type == DT_UNKNOWN) {
        // Some file systems do not fill d_type; ask the inode.
        struct stat st {};
        if (::stat((dir + "/" + name).c_str(), &st) != 0) continue;  // Deleted meanwhile.
        info.is_directory = S_ISDIR(st.st_mode);
      } else {
        info.is_directory = entry->d_type == DT_DIR;
      }
      entries.push_back(std::move(info));
    }
    ::closedir(handle);
    std::sort(entries.begin(), entries.end(),
              [](const FileInfo& a, const FileInfo& b) { return a.name < b.name; });
    return entries;
  }

  Result<FileInfo> Stat(const std::string& path) const override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
    size_t slash = path.find_last_of('/');
    return FileInfo{slash == std::string::npos ? path : path.substr(slash + 1),
                    static_cast<int64_t>(st.st_size), ModifiedMs(st), S_ISDIR(st.st_mode)};
  }

  bool Exists(const std::string& path) const override {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }

  Status PutIfAbsent(const std::string& path, const std::string& bytes) override {
    if (Exists(path)) return Status::AlreadyExists(path + " already exists");
    std::string staged = StagedName(path);
    RETURN_IF_ERROR(WriteWhole(staged, bytes));
    ReachedCrashPoint(CrashPoint::kStagedLogWritten);
    if (::link(staged.c_str(), path.c_str()) != 0) {
      int error = errno;
      ::unlink(staged.c_str());
      if (error == EEXIST) return Status::AlreadyExists(path + " already exists");
      return ErrnoStatus("link", path, error);
    }
    ReachedCrashPoint(CrashPoint::kLogLinked);
    ::unlink(staged.c_str());
    RETURN_IF_ERROR(SyncPath(Parent(path), /*directory=*/true));
    ReachedCrashPoint(CrashPoint::kDirectorySynced);
    return Status::Ok();
  }

  Status Put(const std::string& path, const std::string& bytes) override {
    // Replacing a file (a checkpoint hint, a catalog export) is the one place rename()
    // is right: it atomically swaps the old content for the new.
    std::string staged = StagedName(path);
    RETURN_IF_ERROR(WriteWhole(staged, bytes));
    if (::rename(staged.c_str(), path.c_str()) != 0) {
      int error = errno;
      ::unlink(staged.c_str());
      return ErrnoStatus("rename", path, error);
    }
    return SyncPath(Parent(path), /*directory=*/true);
  }

  Status Delete(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      if (errno == EISDIR || errno == EPERM) {
        if (::rmdir(path.c_str()) == 0) return Status::Ok();
      }
      return ErrnoStatus("delete", path, errno);
    }
    return Status::Ok();
  }

  Status MakeDirs(const std::string& dir) override {
    if (dir.empty()) return Status::Ok();
    std::string current;
    for (const std::string& part : Split(dir, '/')) {
      if (part.empty()) {
        if (current.empty()) current = "/";
        continue;
      }
      if (!current.empty() && current.back() != '/') current += '/';
      current += part;
      if (::mkdir(current.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoStatus("mkdir", current, errno);
      }
    }
    return Status::Ok();
  }

  Status Sync(const std::string& path) override { return SyncPath(path, false); }

  std::optional<std::string> LocalPath(const std::string& path) const override { return path; }

 private:
  static int64_t ModifiedMs(const struct stat& st) {
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  }
};

}  // namespace

std::unique_ptr<Storage> NewLocalStorage() { return std::make_unique<LocalStorage>(); }

}  // namespace finlake
