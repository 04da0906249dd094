// Stops a connection's running statement when its time is up or the user asks
// (Ctrl-C), for `finlake sql` now and the servers later.
//
//   QueryWatchdog watchdog(connection, /*timeout_ms=*/30000, /*on_sigint=*/true);
//   auto result = connection.Query(sql);
//   if (!result.ok() && !watchdog.reason().empty()) return Status::...(watchdog.reason());
//
// While it lives, a thread calls duckdb_interrupt on the connection once the
// deadline passes or SIGINT arrives, and again every 20 ms until the watchdog is
// destroyed: DuckDB checks for an interrupt between pipeline steps, and an
// interrupt that lands while no statement runs (between Prepare and Execute, say)
// is cleared when the next one starts, so one call can be lost. With `on_sigint`
// it installs a SIGINT handler for its lifetime (restoring the previous one), so
// Ctrl-C cancels the statement instead of killing the process. One watchdog per
// connection at a time; SIGINT handling is process-wide, so one with on_sigint at
// a time.
//
// Some work does not look for interrupts: DuckDB's parser (3,000 chained CTEs
// parsed for 105 s; finlake sql now refuses such texts before they parse). `on_stuck`, when given, is called from
// the watchdog's thread once the statement has not returned kStuckGraceMs after
// it was interrupted: a command-line tool exits there, a server would drop the
// session.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <csignal>
#include <mutex>
#include <string>
#include <thread>

#include "finlake/engine/engine.h"

namespace finlake::engine {

class QueryWatchdog {
 public:
  static constexpr int64_t kStuckGraceMs = 5000;
  using StuckHandler = std::function<void(const std::string& reason)>;
  // timeout_ms <= 0: no deadline.
  QueryWatchdog(Connection& connection, int64_t timeout_ms, bool on_sigint, StuckHandler on_stuck = nullptr);
  ~QueryWatchdog();
  QueryWatchdog(const QueryWatchdog&) = delete;
  QueryWatchdog& operator=(const QueryWatchdog&) = delete;

  // Why the statement was interrupted ("the query ran past its 2 s timeout
  // (--timeout)", "the query was cancelled (Ctrl-C)"), or "" if it was not.
  std::string reason() const;

 private:
  void Watch();

  Connection& connection_;
  const int64_t timeout_ms_;
  const bool on_sigint_;
  const StuckHandler on_stuck_;
  struct sigaction previous_ {};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::string reason_;
  std::thread thread_;
};

}  // namespace finlake::engine
