#include "finlake/core/sleeper.h"

#include <chrono>
#include <thread>

namespace finlake {

namespace {
class ThreadSleeper final : public Sleeper {
 public:
  void SleepForMillis(int64_t duration_ms) override {
    if (duration_ms <= 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(duration_ms));
  }
};
}  // namespace

Sleeper& SystemSleeper() {
  static ThreadSleeper sleeper;
  return sleeper;
}

}  // namespace finlake
