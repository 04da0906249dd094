#include "finlake/core/rate_limiter.h"

#include <algorithm>
#include <cassert>
#include <string>

#include "finlake/core/limits.h"

namespace finlake {

namespace {
constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kDayMs = 24 * 60 * kMinuteMs;

int64_t MinuteStart(int64_t epoch_ms) {
  int64_t remainder = epoch_ms % kMinuteMs;
  if (remainder < 0) remainder += kMinuteMs;
  return epoch_ms - remainder;
}
}  // namespace

RateLimiter::Slot& RateLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

void RateLimiter::Slot::Release() {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->ReleaseSlot();
}

RateLimiter::RateLimiter(RateLimits limits, const Clock* clock, Sleeper* sleeper)
    : limits_(limits), clock_(clock), sleeper_(sleeper) {
  assert(clock_ != nullptr && sleeper_ != nullptr);
  assert(limits_.max_concurrency >= 1);
  assert(limits_.requests_per_minute >= 0 && limits_.requests_per_minute <= limits::kRateLimitRequestsPerMinuteMax);
  assert(limits_.requests_per_day >= 0);
}

RateLimiter::Slot RateLimiter::AcquireSlot() {
  std::unique_lock<std::mutex> lock(mutex_);
  slot_freed_.wait(lock, [this] { return in_flight_ < limits_.max_concurrency; });
  ++in_flight_;
  return Slot(this);
}

void RateLimiter::ReleaseSlot() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    assert(in_flight_ > 0);
    --in_flight_;
  }
  slot_freed_.notify_one();
}

int64_t RateLimiter::DaySendsLocked(int64_t now_ms) {
  while (!day_sends_.empty() && day_sends_.front().first + kMinuteMs + kDayMs <= now_ms) {
    day_sends_total_ -= day_sends_.front().second;
    day_sends_.pop_front();
  }
  assert(day_sends_total_ >= 0);
  return day_sends_total_;
}

Result<RateLimiter::Admission> RateLimiter::Admit() {
  Admission admission;
  bool reserved = false;
  int64_t reserved_at_ms = 0;
  for (int round = 0; round < limits::kRateLimitWaitRoundsMax; ++round) {
    int64_t wait_ms = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const int64_t now_ms = clock_->NowMillis();
      if (!reserved) {
        if (now_ms < quota_spent_until_ms_) {
          admission.quota_available_at_ms = quota_spent_until_ms_;
          return admission;
        }
        if (limits_.requests_per_day > 0 && DaySendsLocked(now_ms) >= limits_.requests_per_day) {
          admission.quota_available_at_ms = day_sends_.front().first + kMinuteMs + kDayMs;
          return admission;
        }
      }
      if (now_ms < paused_until_ms_) {
        wait_ms = paused_until_ms_ - now_ms;
      } else if (!reserved) {
        int64_t at_ms = now_ms;
        if (limits_.requests_per_minute > 0) {
          const auto per_minute = static_cast<size_t>(limits_.requests_per_minute);
          while (!minute_sends_ms_.empty() && minute_sends_ms_.front() <= now_ms - kMinuteMs) {
            minute_sends_ms_.pop_front();
          }
          // The window ending at at_ms holds the last per_minute - 1 sends and this one.
          if (minute_sends_ms_.size() >= per_minute) {
            at_ms = std::max(now_ms, minute_sends_ms_[minute_sends_ms_.size() - per_minute] + kMinuteMs);
          }
          minute_sends_ms_.push_back(at_ms);
          while (minute_sends_ms_.size() > per_minute) minute_sends_ms_.pop_front();
        }
        if (limits_.requests_per_day > 0) {
          const int64_t minute_ms = MinuteStart(at_ms);
          // A clock that stepped back counts into the newest minute, never out of order.
          if (!day_sends_.empty() && day_sends_.back().first >= minute_ms) {
            ++day_sends_.back().second;
          } else {
            day_sends_.emplace_back(minute_ms, 1);
          }
          ++day_sends_total_;
        }
        reserved = true;
        reserved_at_ms = at_ms;
        wait_ms = at_ms - now_ms;
      } else {
        wait_ms = reserved_at_ms - now_ms;
      }
      if (wait_ms <= 0) {
        admission.admitted = true;
        return admission;
      }
    }
    sleeper_->SleepForMillis(wait_ms);
    admission.waited_ms += wait_ms;
  }
  return Status::Internal("rate limiter: still waiting after " + std::to_string(limits::kRateLimitWaitRoundsMax) +
                          " rounds (paused until " + std::to_string(paused_until_ms()) + ")");
}

void RateLimiter::PauseUntil(int64_t until_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  paused_until_ms_ = std::max(paused_until_ms_, until_ms);
}

void RateLimiter::ExhaustQuotaUntil(int64_t until_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  quota_spent_until_ms_ = std::max(quota_spent_until_ms_, until_ms);
}

int64_t RateLimiter::paused_until_ms() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return paused_until_ms_;
}

int RateLimiter::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_flight_;
}

}  // namespace finlake
