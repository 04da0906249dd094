// Starts the kernel's writeback of files that another component (DuckDB's COPY)
// is still writing, so that the fsync which later makes them durable finds
// little left to write: the disk works while the CPUs encode.
//
// It watches dir/<stem>0.parquet, dir/<stem>1.parquet, ... (DuckDB's
// FILENAME_PATTERN '<stem>{i}') and, every 100 ms, asks for writeback of what
// each holds so far (sync_file_range SYNC_FILE_RANGE_WRITE: no waiting, no
// durability promise; the fsync still follows). Linux only; elsewhere a no-op.
//
// Thread-safe: one background thread, stopped by the destructor.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace finlake {

class WritebackStarter {
 public:
  WritebackStarter(std::string dir, std::string stem);
  ~WritebackStarter();
  WritebackStarter(const WritebackStarter&) = delete;
  WritebackStarter& operator=(const WritebackStarter&) = delete;

 private:
  void Run();

  std::string dir_, stem_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace finlake
