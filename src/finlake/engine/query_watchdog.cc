// QueryWatchdog (query_watchdog.h).
#include "finlake/engine/query_watchdog.h"

#include <chrono>

namespace finlake::engine {
namespace {

// Set by the SIGINT handler; a lock-free atomic is safe to write from one.
std::atomic<bool> g_sigint{false};

void OnSigint(int) { g_sigint.store(true); }

std::string Seconds(int64_t ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

}  // namespace

QueryWatchdog::QueryWatchdog(Connection& connection, int64_t timeout_ms, bool on_sigint, StuckHandler on_stuck)
    : connection_(connection), timeout_ms_(timeout_ms), on_sigint_(on_sigint), on_stuck_(std::move(on_stuck)) {
  if (on_sigint_) {
    g_sigint.store(false);
    struct sigaction action {};
    action.sa_handler = OnSigint;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_);
  }
  if (timeout_ms_ > 0 || on_sigint_) thread_ = std::thread([this] { Watch(); });
}

QueryWatchdog::~QueryWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (on_sigint_) sigaction(SIGINT, &previous_, nullptr);
}

std::string QueryWatchdog::reason() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reason_;
}

void QueryWatchdog::Watch() {
  using Clock = std::chrono::steady_clock;
  constexpr auto kTick = std::chrono::milliseconds(20);
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  Clock::time_point interrupted;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!done_) {
    if (reason_.empty()) {
      if (on_sigint_ && g_sigint.load()) {
        reason_ = "the query was cancelled (Ctrl-C)";
      } else if (timeout_ms_ > 0 && Clock::now() >= deadline) {
        reason_ = "the query ran past its " + Seconds(timeout_ms_) + " timeout (--timeout)";
      }
      if (!reason_.empty()) interrupted = Clock::now();
    }
    if (!reason_.empty()) {
      connection_.Interrupt();  // Again every tick, until the statement returns.
      if (on_stuck_ && Clock::now() - interrupted >= std::chrono::milliseconds(kStuckGraceMs)) {
        on_stuck_(reason_);
        return;
      }
    }
    wake_.wait_for(lock, kTick);
  }
}

}  // namespace finlake::engine
