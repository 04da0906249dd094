#include "finlake/core/writeback.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>

namespace finlake {

WritebackStarter::WritebackStarter(std::string dir, std::string stem) : dir_(std::move(dir)), stem_(std::move(stem)) {
#ifdef __linux__
  thread_ = std::thread([this] { Run(); });
#endif
}

WritebackStarter::~WritebackStarter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WritebackStarter::Run() {
#ifdef __linux__
  std::vector<int> fds;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; })) {
    // Files appear in order; open each new one once.
    while (true) {
      std::string path = dir_ + "/" + stem_ + std::to_string(fds.size()) + ".parquet";
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      fds.push_back(fd);
    }
    for (int fd : fds) (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  }
  for (int fd : fds) ::close(fd);
#endif
}

}  // namespace finlake
