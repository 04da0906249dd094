// Time as a swappable dependency: tests run on a fake clock (STYLE.md rule 4).
#pragma once

#include <cstdint>

namespace finlake {

// Thread-safe: implementations must allow concurrent calls.
class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch, UTC.
  virtual int64_t NowMillis() const = 0;
};

// The real wall clock.
const Clock& SystemClock();

}  // namespace finlake
