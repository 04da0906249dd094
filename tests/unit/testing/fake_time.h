// A clock the test moves, and sleepers that record waits instead of sleeping:
// rate limits and backoff then run a minute (or a day) in microseconds.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "finlake/core/clock.h"
#include "finlake/core/sleeper.h"

namespace finlake::testing {

// Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = 1'700'000'000'000) : now_ms_(now_ms) {}
  int64_t NowMillis() const override { return now_ms_.load(); }
  void Advance(int64_t ms) { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

// Records each wait and moves the fake clock past it at once. Thread-safe.
class RecordingSleeper final : public Sleeper {
 public:
  explicit RecordingSleeper(FakeClock* clock) : clock_(clock) {}
  void SleepForMillis(int64_t duration_ms) override {
    std::lock_guard<std::mutex> lock(mutex_);
    waits_ms_.push_back(duration_ms);
    if (duration_ms > 0) clock_->Advance(duration_ms);
  }
  std::vector<int64_t> waits_ms() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return waits_ms_;
  }

 private:
  FakeClock* clock_;
  mutable std::mutex mutex_;
  std::vector<int64_t> waits_ms_;  // Guarded by mutex_.
};

// Records each wait and blocks the sleeping thread until the test advances the fake
// clock past it, so a test can line threads up behind a pause. A wait never blocks
// longer than kRealWaitMax, so a broken test fails instead of hanging. Thread-safe.
class GatedSleeper final : public Sleeper {
 public:
  static constexpr std::chrono::seconds kRealWaitMax{5};

  explicit GatedSleeper(FakeClock* clock) : clock_(clock) {}

  void SleepForMillis(int64_t duration_ms) override {
    std::unique_lock<std::mutex> lock(mutex_);
    waits_ms_.push_back(duration_ms);
    const int64_t until_ms = clock_->NowMillis() + duration_ms;
    changed_.notify_all();
    changed_.wait_for(lock, kRealWaitMax, [&] { return clock_->NowMillis() >= until_ms; });
  }

  // Moves the clock and wakes the sleepers whose waits are over.
  void Advance(int64_t ms) {
    std::lock_guard<std::mutex> lock(mutex_);
    clock_->Advance(ms);
    changed_.notify_all();
  }

  // Blocks until count waits have begun; false after kRealWaitMax.
  bool AwaitWaits(size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, kRealWaitMax, [&] { return waits_ms_.size() >= count; });
  }

  std::vector<int64_t> waits_ms() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return waits_ms_;
  }

 private:
  FakeClock* clock_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int64_t> waits_ms_;  // Guarded by mutex_.
};

}  // namespace finlake::testing
