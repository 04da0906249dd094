// Waiting as a swappable dependency, the partner of clock.h: rate limits and retry
// backoff sleep through it, so tests record the waits and advance a fake clock
// instead of sleeping (STYLE.md rule 4).
#pragma once

#include <cstdint>

namespace finlake {

// Thread-safe: implementations must allow concurrent calls.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // Returns after about duration_ms milliseconds; at once when duration_ms <= 0.
  virtual void SleepForMillis(int64_t duration_ms) = 0;
};

// Sleeps the calling thread for real.
Sleeper& SystemSleeper();

}  // namespace finlake
