#include "finlake/core/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "testing/fake_time.h"

namespace finlake {
namespace {

using testing::FakeClock;
using testing::RecordingSleeper;

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kDayMs = 24 * 60 * kMinuteMs;

RateLimiter::Admission MustAdmit(RateLimiter& limiter) {
  Result<RateLimiter::Admission> admission = limiter.Admit();
  EXPECT_TRUE(admission.ok()) << admission.status().ToString();
  return admission.ok() ? *admission : RateLimiter::Admission{};
}

TEST(RateLimiter, PerMinuteWindowDelaysTheRequestBeyondIt) {
  FakeClock clock;
  RecordingSleeper sleeper(&clock);
  RateLimiter limiter({.requests_per_minute = 3, .requests_per_day = 0, .max_concurrency = 1}, &clock, &sleeper);
  for (int i = 0; i < 3; ++i) {
    RateLimiter::Admission admission = MustAdmit(limiter);
    EXPECT_TRUE(admission.admitted);
    EXPECT_EQ(admission.waited_ms, 0);
    clock.Advance(1000);
  }
  // The fourth fits once the first send (at t=0, now t=3 s) leaves the window.
  RateLimiter::Admission fourth = MustAdmit(limiter);
  EXPECT_TRUE(fourth.admitted);
  EXPECT_EQ(fourth.waited_ms, kMinuteMs - 3000);
  EXPECT_EQ(sleeper.waits_ms(), std::vector<int64_t>{kMinuteMs - 3000});
}

TEST(RateLimiter, WaitingRequestsReserveSuccessiveSlots) {
  FakeClock clock;
  RecordingSleeper sleeper(&clock);
  RateLimiter limiter({.requests_per_minute = 2, .requests_per_day = 0, .max_concurrency = 1}, &clock, &sleeper);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(MustAdmit(limiter).admitted);
  // Sends at 0, 0, 60 s, 60 s, 120 s: each window of a minute holds two.
  EXPECT_EQ(sleeper.waits_ms(), (std::vector<int64_t>{kMinuteMs, kMinuteMs}));
}

TEST(RateLimiter, DailyQuotaRefusesAtOnceAndRollsOver) {
  FakeClock clock(10 * kDayMs + 30'000);  // Half a minute into a minute.
  RecordingSleeper sleeper(&clock);
  RateLimiter limiter({.requests_per_minute = 0, .requests_per_day = 2, .max_concurrency = 1}, &clock, &sleeper);
  EXPECT_TRUE(MustAdmit(limiter).admitted);
  EXPECT_TRUE(MustAdmit(limiter).admitted);
  RateLimiter::Admission refused = MustAdmit(limiter);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.waited_ms, 0);
  // Counted per minute: the sends stay counted until their minute ends plus a day.
  EXPECT_EQ(refused.quota_available_at_ms, 10 * kDayMs + kMinuteMs + kDayMs);
  EXPECT_TRUE(sleeper.waits_ms().empty());

  clock.Advance(kDayMs);  // 30 s short of the end of the window.
  EXPECT_FALSE(MustAdmit(limiter).admitted);
  clock.Advance(30'000);
  EXPECT_TRUE(MustAdmit(limiter).admitted);
}

TEST(RateLimiter, ReportedQuotaRefusesUntilItsEnd) {
  FakeClock clock;
  RecordingSleeper sleeper(&clock);
  RateLimiter limiter({.requests_per_minute = 0, .requests_per_day = 0, .max_concurrency = 1}, &clock, &sleeper);
  limiter.ExhaustQuotaUntil(clock.NowMillis() + 5000);
  RateLimiter::Admission refused = MustAdmit(limiter);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.quota_available_at_ms, clock.NowMillis() + 5000);
  clock.Advance(5000);
  EXPECT_TRUE(MustAdmit(limiter).admitted);
}

TEST(RateLimiter, PauseHoldsAdmissionUntilItEnds) {
  FakeClock clock;
  RecordingSleeper sleeper(&clock);
  RateLimiter limiter({.requests_per_minute = 0, .requests_per_day = 0, .max_concurrency = 1}, &clock, &sleeper);
  limiter.PauseUntil(clock.NowMillis() + 1500);
  limiter.PauseUntil(clock.NowMillis() + 500);  // A shorter pause does not cut the first short.
  RateLimiter::Admission admission = MustAdmit(limiter);
  EXPECT_TRUE(admission.admitted);
  EXPECT_EQ(admission.waited_ms, 1500);
  EXPECT_EQ(MustAdmit(limiter).waited_ms, 0);
}

TEST(RateLimiter, ConcurrencySlotsBlockBeyondTheLimit) {
  FakeClock clock;
  RecordingSleeper sleeper(&clock);
  RateLimiter limiter({.requests_per_minute = 0, .requests_per_day = 0, .max_concurrency = 2}, &clock, &sleeper);
  auto first = std::make_unique<RateLimiter::Slot>(limiter.AcquireSlot());
  RateLimiter::Slot second = limiter.AcquireSlot();
  EXPECT_EQ(limiter.in_flight(), 2);
  std::atomic<bool> third_acquired{false};
  std::thread third([&] {
    RateLimiter::Slot slot = limiter.AcquireSlot();
    third_acquired = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third_acquired.load());
  first.reset();
  third.join();
  EXPECT_TRUE(third_acquired.load());
  EXPECT_EQ(limiter.in_flight(), 1);
}

}  // namespace
}  // namespace finlake
