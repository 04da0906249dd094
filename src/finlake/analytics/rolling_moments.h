// Private to analytics: mean and sample variance of the last `period` values
// pushed, for the indicators that are not on a hot path (RollingVolatility,
// VolumeZScore) and whose values may have gaps.
//
// The window lives in a ring of `period` doubles. Its sums are of value - shift,
// shift being a value of the window, and are started afresh from the ring every
// kReseedPushes pushes, so rounding neither cancels on the level of the values nor
// accumulates over a long series (see moving_averages.cc). Not thread-safe; one
// instance per series.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace finlake::analytics::internal {

class RollingMoments {
 public:
  explicit RollingMoments(size_t period) : ring_(period) { assert(period >= 2); }

  // Forgets every value: the next push starts a new window.
  void Reset() {
    count_ = 0;
    position_ = 0;
  }

  void Push(double value) {
    const size_t period = ring_.size();
    if (count_ == 0) {
      shift_ = value;
      sum_ = 0.0;
      sum_squares_ = 0.0;
      pushes_since_reseed_ = 0;
    }
    const double y = value - shift_;
    if (count_ < period) {
      sum_ += y;
      sum_squares_ += y * y;
    } else {
      const double y_out = ring_[position_] - shift_;
      sum_ += y - y_out;
      sum_squares_ += (y - y_out) * (y + y_out);
    }
    ring_[position_] = value;
    position_ = position_ + 1 == period ? 0 : position_ + 1;
    ++count_;
    if (count_ > period && ++pushes_since_reseed_ >= kReseedPushes) Reseed(value);
  }

  // True once `period` values have been pushed since the last reset.
  bool full() const { return count_ >= ring_.size(); }

  double Mean() const {
    assert(full());
    return shift_ + sum_ / static_cast<double>(ring_.size());
  }

  // Divisor period - 1; never negative.
  double SampleVariance() const {
    assert(full());
    const double period = static_cast<double>(ring_.size());
    const double variance = (sum_squares_ - sum_ * (sum_ / period)) / (period - 1.0);
    return std::max(variance, 0.0);
  }

 private:
  static constexpr int64_t kReseedPushes = 1024;

  void Reseed(double shift) {
    shift_ = shift;
    sum_ = 0.0;
    sum_squares_ = 0.0;
    for (const double value : ring_) {
      const double y = value - shift_;
      sum_ += y;
      sum_squares_ += y * y;
    }
    pushes_since_reseed_ = 0;
  }

  std::vector<double> ring_;
  size_t count_ = 0;
  size_t position_ = 0;
  int64_t pushes_since_reseed_ = 0;
  double shift_ = 0.0;
  double sum_ = 0.0;
  double sum_squares_ = 0.0;
};

}  // namespace finlake::analytics::internal
