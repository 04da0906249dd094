// The admission side of a source's HTTP policy: how many requests may be in flight,
// how many may be sent per minute and per day, and whether the source is paused
// after a 429. Private to core/; CurlHttpClient owns one per source.
//
// Windows are sliding, read from an injected Clock, and waits go through an injected
// Sleeper, so tests run a day of quota in microseconds:
//  - per minute: at most N sends in any 60 s window. A request that does not fit
//    reserves the earliest instant that does and sleeps until then, so waiting
//    threads are served in arrival order and each sleeps once.
//  - per day: at most N sends in any 24 h window, counted per clock minute (a send
//    stays counted until its minute ends plus 24 h). This is conservative whatever
//    hour the vendor resets its counter at. A spent quota is refused at once, never
//    waited for: the caller stops its universe and tries tomorrow.
//  - pause: until a given instant nobody is admitted (a 429 pauses the whole source).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>

#include "finlake/core/clock.h"
#include "finlake/core/sleeper.h"
#include "finlake/core/status.h"

namespace finlake {

struct RateLimits {
  int64_t requests_per_minute = 0;  // 0: no per-minute limit.
  int64_t requests_per_day = 0;     // 0: no per-day limit.
  int max_concurrency = 1;          // >= 1.
};

// Thread-safe. The clock and the sleeper must outlive the limiter.
class RateLimiter {
 public:
  // limits must be valid (asserted; CurlHttpClient checks the policy first).
  RateLimiter(RateLimits limits, const Clock* clock, Sleeper* sleeper);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // One of max_concurrency places in flight, released when destroyed. Move-only.
  class Slot {
   public:
    Slot() = default;
    explicit Slot(RateLimiter* owner) : owner_(owner) {}
    Slot(Slot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { Release(); }

   private:
    void Release();
    RateLimiter* owner_ = nullptr;
  };

  // Blocks (for real, on other threads finishing: no clock involved) until a place
  // is free.
  Slot AcquireSlot();

  struct Admission {
    bool admitted = false;             // False: the per-day quota is spent; nothing was counted.
    int64_t waited_ms = 0;             // Time slept for pauses and the per-minute window.
    int64_t quota_available_at_ms = 0;  // When !admitted: the earliest instant a send fits the day.
  };

  // Waits out any pause and the per-minute window, then counts one send against both
  // windows. Refuses without waiting when the per-day quota is spent. Internal after
  // limits::kRateLimitWaitRoundsMax rounds of waiting (a pause that never ends).
  Result<Admission> Admit();

  // Nobody is admitted before until_ms (epoch ms). A pause only ever grows.
  void PauseUntil(int64_t until_ms);
  // The vendor said the day's quota is spent: refuse until until_ms.
  void ExhaustQuotaUntil(int64_t until_ms);

  int64_t paused_until_ms() const;
  int in_flight() const;

 private:
  void ReleaseSlot();
  // Drops day-window minutes that have left the window at now_ms; returns the sends
  // still counted.
  int64_t DaySendsLocked(int64_t now_ms);

  const RateLimits limits_;
  const Clock* clock_;
  Sleeper* sleeper_;

  mutable std::mutex mutex_;
  std::condition_variable slot_freed_;
  int in_flight_ = 0;                 // Guarded by mutex_.
  int64_t paused_until_ms_ = 0;       // Guarded by mutex_.
  int64_t quota_spent_until_ms_ = 0;  // Guarded by mutex_.
  // Send instants (reserved, so some may lie ahead of now), oldest first, at most
  // requests_per_minute of them. Guarded by mutex_.
  std::deque<int64_t> minute_sends_ms_;
  // (minute start ms, sends in that minute), oldest first, at most 1,441 entries.
  // Guarded by mutex_.
  std::deque<std::pair<int64_t, int64_t>> day_sends_;
  int64_t day_sends_total_ = 0;  // Sum of day_sends_ counts. Guarded by mutex_.
};

}  // namespace finlake
