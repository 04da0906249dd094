// Streaming forms of the indicators: one bar in, that bar's value out, with a
// state that can be saved and restored exactly. They serve incremental jobs that
// append a session to a long series (gold.daily_features): the job keeps each
// symbol's state and pushes only the new bars, and the values equal those of one
// pass from the first bar, bit for bit, because a pass from the first bar IS a
// sequence of the same pushes. Where the batch kernels of indicators.h unroll a
// recurrence or restart a running sum on a schedule of their own, the streams
// keep the plain per-bar form, so a stream's values can differ from the batch
// kernel's by rounding only (both follow TA-Lib's formulas, warm-ups and the gap
// rule of indicators.h).
//
//   analytics::EmaStream ema(12);
//   for (double x : closes) out.push_back(ema.Push(x));   // NaN during warm-up
//   analytics::StateWriter saved;
//   ema.Save(saved);                                       // ...later, elsewhere:
//   analytics::StateReader reader(saved.values());
//   analytics::EmaStream resumed(12);
//   RETURN_IF_ERROR(resumed.Load(reader));                 // same bits as `ema`
//
// A state is a flat list of doubles (counts included, exact below 2^53); NaN
// payloads matter, so store the bytes, not a text form. Load() checks that the
// state has the stream's shape and fails with InvalidArgument otherwise; the
// stream is then half loaded and must be dropped. Thread-compatible: one stream
// per series.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "finlake/analytics/indicators.h"
#include "finlake/core/status.h"

namespace finlake::analytics {

class StateWriter {
 public:
  void Put(double value) { values_.push_back(value); }
  void Put(std::span<const double> values) { values_.insert(values_.end(), values.begin(), values.end()); }
  const std::vector<double>& values() const { return values_; }

 private:
  std::vector<double> values_;
};

class StateReader {
 public:
  explicit StateReader(std::span<const double> values) : values_(values) {}
  // The next value; InvalidArgument naming `what` when the state is too short.
  [[nodiscard]] Result<double> Get(const char* what);
  // The next value as a count in [0, maximum].
  [[nodiscard]] Result<size_t> GetCount(const char* what, size_t maximum);
  [[nodiscard]] Status Get(const char* what, std::span<double> out);
  bool done() const { return position_ == values_.size(); }

 private:
  std::span<const double> values_;
  size_t position_ = 0;
};

// SimpleReturns or LogReturns, one bar at a time.
class ReturnStream {
 public:
  explicit ReturnStream(bool logarithmic) : logarithmic_(logarithmic) {}
  double Push(double price);
  void Save(StateWriter& state) const { state.Put(previous_); }
  [[nodiscard]] Status Load(StateReader& state);

 private:
  bool logarithmic_;
  double previous_ = std::numeric_limits<double>::quiet_NaN();  // NaN: no previous bar, or a gap.
};

// Mean and deviations of the last `period` finite values (a gap restarts the
// window): SMA, Bollinger bands, rolling volatility and the volume z-score.
// Each value is computed from the window itself, not from running sums, so it is
// a function of the window alone: a flat window has deviation 0 exactly, and
// nothing drifts. That costs `period` operations per value, which incremental
// jobs (a few bars per run) do not notice; the batch kernels keep running sums.
class WindowStream {
 public:
  explicit WindowStream(size_t period) : ring_(period) {}
  // Pushes `value` (a non-finite one empties the window); true once it is full.
  bool Push(double value);
  bool full() const { return count_ == ring_.size(); }
  // The window must be full.
  double Mean() const;
  double SampleDeviation() const;      // Divisor period - 1.
  double PopulationDeviation() const;  // Divisor period.
  void Save(StateWriter& state) const;
  [[nodiscard]] Status Load(StateReader& state);

 private:
  // Sum of the squared distances to `mean`, oldest value first.
  double SquaredDistances(double mean) const;

  std::vector<double> ring_;
  size_t count_ = 0;     // Values in the window, up to period.
  size_t position_ = 0;  // Where the next value goes: the oldest once full.
};

// Ema, one bar at a time (seeded with the mean of the first `period` values).
class EmaStream {
 public:
  explicit EmaStream(size_t period);
  double Push(double x);
  void Save(StateWriter& state) const;
  [[nodiscard]] Status Load(StateReader& state);

 private:
  size_t period_;
  double k_;
  size_t count_ = 0;   // Finite values since the last gap, up to period_.
  double value_ = 0;   // The sum during the warm-up, then the average.
};

struct MacdValues {
  double line, signal, histogram;
};

// Macd, one bar at a time, with TA-Lib's seeding (see indicators.h).
class MacdStream {
 public:
  explicit MacdStream(const MacdOptions& options);
  MacdValues Push(double x);
  void Save(StateWriter& state) const;
  [[nodiscard]] Status Load(StateReader& state);

 private:
  MacdOptions options_;
  double k_fast_, k_slow_, k_signal_;
  size_t count_ = 0;
  std::vector<double> warm_up_;  // The first slow_period values, until the seed.
  double fast_ = 0, slow_ = 0, signal_ = 0;
};

// Rsi (Wilder), one bar at a time.
class RsiStream {
 public:
  explicit RsiStream(size_t period);
  double Push(double x);
  void Save(StateWriter& state) const;
  [[nodiscard]] Status Load(StateReader& state);

 private:
  size_t period_;
  size_t count_ = 0;  // Finite values since the last gap, up to period_ + 1.
  double previous_ = 0, gain_ = 0, loss_ = 0;
};

// Atr, one bar at a time (a gap in any of high, low, close restarts it).
class AtrStream {
 public:
  explicit AtrStream(size_t period) : period_(period) {}
  double Push(double high, double low, double close);
  void Save(StateWriter& state) const;
  [[nodiscard]] Status Load(StateReader& state);

 private:
  size_t period_;
  size_t count_ = 0;
  double previous_close_ = 0, atr_ = 0;
};

// Obv, one bar at a time (a gap in close or volume restarts it at that volume).
class ObvStream {
 public:
  double Push(double close, double volume);
  void Save(StateWriter& state) const;
  [[nodiscard]] Status Load(StateReader& state);

 private:
  bool started_ = false;
  double obv_ = 0, previous_ = 0;
};

}  // namespace finlake::analytics
