// Streaming indicators (streaming.h).
#include "finlake/analytics/streaming.h"

#include <algorithm>
#include <cmath>

#include "finlake/analytics/bar_formulas.h"
#include "finlake/analytics/series_runs.h"

namespace finlake::analytics {

using internal::kNaN;
using internal::NonFiniteBit;

namespace {

bool Finite(double x) { return NonFiniteBit(x) == 0; }

}  // namespace

Result<double> StateReader::Get(const char* what) {
  if (position_ >= values_.size()) {
    return Status::InvalidArgument(std::string("indicator state: ") + what + " is missing (the state has " +
                                   std::to_string(values_.size()) + " values)");
  }
  return values_[position_++];
}

Result<size_t> StateReader::GetCount(const char* what, size_t maximum) {
  ASSIGN_OR_RETURN(double value, Get(what));
  if (!(value >= 0.0 && value <= static_cast<double>(maximum)) || value != std::floor(value)) {
    return Status::InvalidArgument(std::string("indicator state: ") + what + " " + std::to_string(value) +
                                   " is not a count in [0, " + std::to_string(maximum) + "]");
  }
  return static_cast<size_t>(value);
}

Status StateReader::Get(const char* what, std::span<double> out) {
  for (double& value : out) {
    ASSIGN_OR_RETURN(value, Get(what));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------

double ReturnStream::Push(double price) {
  const double previous = previous_;
  previous_ = Finite(price) ? price : kNaN;
  if (!Finite(price) || !Finite(previous)) return kNaN;
  if (logarithmic_) return internal::LogReturn(previous, price);
  return previous != 0.0 ? (price - previous) / previous : kNaN;
}

Status ReturnStream::Load(StateReader& state) {
  ASSIGN_OR_RETURN(previous_, state.Get("previous price"));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------

bool WindowStream::Push(double value) {
  if (!Finite(value)) {
    count_ = 0;
    position_ = 0;
    return false;
  }
  ring_[position_] = value;
  position_ = position_ + 1 == ring_.size() ? 0 : position_ + 1;
  count_ = std::min(count_ + 1, ring_.size());
  return full();
}

// Relative to the newest value, so that a flat window gives its value exactly.
double WindowStream::Mean() const {
  const size_t period = ring_.size();
  const double shift = ring_[(position_ + period - 1) % period];
  double sum = 0.0;
  for (size_t j = 0; j < period; ++j) sum += ring_[(position_ + j) % period] - shift;
  return shift + sum / static_cast<double>(period);
}

double WindowStream::SquaredDistances(double mean) const {
  const size_t period = ring_.size();
  double sum = 0.0;
  for (size_t j = 0; j < period; ++j) {
    const double distance = ring_[(position_ + j) % period] - mean;
    sum += distance * distance;
  }
  return sum;
}

double WindowStream::SampleDeviation() const {
  return std::sqrt(SquaredDistances(Mean()) / static_cast<double>(ring_.size() - 1));
}

double WindowStream::PopulationDeviation() const {
  return std::sqrt(SquaredDistances(Mean()) / static_cast<double>(ring_.size()));
}

void WindowStream::Save(StateWriter& state) const {
  state.Put(static_cast<double>(count_));
  state.Put(static_cast<double>(position_));
  state.Put(ring_);
}

Status WindowStream::Load(StateReader& state) {
  ASSIGN_OR_RETURN(count_, state.GetCount("window count", ring_.size()));
  ASSIGN_OR_RETURN(position_, state.GetCount("window position", ring_.size() - 1));
  return state.Get("window values", ring_);
}

// ---------------------------------------------------------------------------------

EmaStream::EmaStream(size_t period) : period_(period), k_(2.0 / (static_cast<double>(period) + 1.0)) {}

double EmaStream::Push(double x) {
  if (!Finite(x)) {
    count_ = 0;
    value_ = 0.0;
    return kNaN;
  }
  if (count_ < period_) {
    value_ += x;
    if (++count_ < period_) return kNaN;
    value_ /= static_cast<double>(period_);
    return value_;
  }
  value_ = (1.0 - k_) * value_ + k_ * x;
  return value_;
}

void EmaStream::Save(StateWriter& state) const {
  state.Put(static_cast<double>(count_));
  state.Put(value_);
}

Status EmaStream::Load(StateReader& state) {
  ASSIGN_OR_RETURN(count_, state.GetCount("EMA count", period_));
  ASSIGN_OR_RETURN(value_, state.Get("EMA value"));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------

MacdStream::MacdStream(const MacdOptions& options)
    : options_(options),
      k_fast_(2.0 / (options.fast_period + 1.0)),
      k_slow_(2.0 / (options.slow_period + 1.0)),
      k_signal_(2.0 / (options.signal_period + 1.0)) {}

MacdValues MacdStream::Push(double x) {
  constexpr MacdValues kNone = {kNaN, kNaN, kNaN};
  const size_t fast = static_cast<size_t>(options_.fast_period);
  const size_t slow = static_cast<size_t>(options_.slow_period);
  const size_t signal_period = static_cast<size_t>(options_.signal_period);
  const size_t first = slow + signal_period - 1;  // The count at the first output.
  if (!Finite(x)) {
    count_ = 0;
    warm_up_.clear();
    return kNone;
  }
  ++count_;
  if (count_ < slow) {
    warm_up_.push_back(x);
    return kNone;
  }
  if (count_ == slow) {
    // TA-Lib's seeds, summed in its order: the slow EMA from all `slow` values,
    // the fast one from the last `fast` of them.
    warm_up_.push_back(x);
    slow_ = 0.0;
    for (size_t j = 0; j < slow; ++j) slow_ += warm_up_[j];
    slow_ /= static_cast<double>(slow);
    fast_ = 0.0;
    for (size_t j = slow - fast; j < slow; ++j) fast_ += warm_up_[j];
    fast_ /= static_cast<double>(fast);
    warm_up_.clear();
    signal_ = fast_ - slow_;  // The sum of the line's first values, until `first`.
  } else {
    fast_ = (1.0 - k_fast_) * fast_ + k_fast_ * x;
    slow_ = (1.0 - k_slow_) * slow_ + k_slow_ * x;
    if (count_ <= first) signal_ += fast_ - slow_;
  }
  const double line = fast_ - slow_;
  if (count_ < first) return kNone;
  if (count_ == first) {
    signal_ /= static_cast<double>(signal_period);
  } else {
    signal_ = (1.0 - k_signal_) * signal_ + k_signal_ * line;
  }
  return {line, signal_, line - signal_};
}

void MacdStream::Save(StateWriter& state) const {
  state.Put(static_cast<double>(count_));
  state.Put(static_cast<double>(warm_up_.size()));
  state.Put(warm_up_);
  state.Put(fast_);
  state.Put(slow_);
  state.Put(signal_);
}

Status MacdStream::Load(StateReader& state) {
  constexpr size_t kCountMax = size_t{1} << 52;
  const size_t slow = static_cast<size_t>(options_.slow_period);
  ASSIGN_OR_RETURN(count_, state.GetCount("MACD count", kCountMax));
  ASSIGN_OR_RETURN(size_t buffered, state.GetCount("MACD warm-up length", slow - 1));
  if (buffered != (count_ < slow ? count_ : 0)) {
    return Status::InvalidArgument("indicator state: MACD warm-up length " + std::to_string(buffered) +
                                   " does not fit its count " + std::to_string(count_));
  }
  warm_up_.assign(buffered, 0.0);
  RETURN_IF_ERROR(state.Get("MACD warm-up values", warm_up_));
  ASSIGN_OR_RETURN(fast_, state.Get("MACD fast EMA"));
  ASSIGN_OR_RETURN(slow_, state.Get("MACD slow EMA"));
  ASSIGN_OR_RETURN(signal_, state.Get("MACD signal"));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------

RsiStream::RsiStream(size_t period) : period_(period) {}

double RsiStream::Push(double x) {
  if (!Finite(x)) {
    count_ = 0;
    gain_ = loss_ = 0.0;
    return kNaN;
  }
  const double previous = previous_;
  previous_ = x;
  if (count_ == 0) {
    count_ = 1;
    return kNaN;
  }
  const double change = x - previous;
  if (count_ <= period_) {
    // The seed: plain sums of the first `period` changes, then their means.
    if (change < 0.0) {
      loss_ -= change;
    } else {
      gain_ += change;
    }
    if (++count_ <= period_) return kNaN;
    gain_ /= static_cast<double>(period_);
    loss_ /= static_cast<double>(period_);
    return internal::RsiValue(gain_, loss_);
  }
  // Wilder's smoothing as RsiKernel writes it: a * avg + b/2 * (|change| +- change).
  const double b = 1.0 / static_cast<double>(period_);
  const double a = static_cast<double>(period_ - 1) * b;
  gain_ = a * gain_ + 0.5 * b * (std::fabs(change) + change);
  loss_ = a * loss_ + 0.5 * b * (std::fabs(change) - change);
  return internal::RsiValue(gain_, loss_);
}

void RsiStream::Save(StateWriter& state) const {
  state.Put(static_cast<double>(count_));
  state.Put(previous_);
  state.Put(gain_);
  state.Put(loss_);
}

Status RsiStream::Load(StateReader& state) {
  ASSIGN_OR_RETURN(count_, state.GetCount("RSI count", period_ + 1));
  ASSIGN_OR_RETURN(previous_, state.Get("RSI previous price"));
  ASSIGN_OR_RETURN(gain_, state.Get("RSI gain"));
  ASSIGN_OR_RETURN(loss_, state.Get("RSI loss"));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------

double AtrStream::Push(double high, double low, double close) {
  if (!Finite(high) || !Finite(low) || !Finite(close)) {
    count_ = 0;
    atr_ = 0.0;
    return kNaN;
  }
  const double previous = previous_close_;
  previous_close_ = close;
  if (count_ == 0) {
    count_ = 1;
    return kNaN;
  }
  const double p = static_cast<double>(period_);
  if (count_ <= period_) {
    atr_ += internal::TrueRange(high, low, previous);
    if (++count_ <= period_) return kNaN;
    atr_ /= p;
    return atr_;
  }
  // TA-Lib's order of operations (AtrKernel).
  atr_ *= p - 1.0;
  atr_ += internal::TrueRange(high, low, previous);
  atr_ /= p;
  return atr_;
}

void AtrStream::Save(StateWriter& state) const {
  state.Put(static_cast<double>(count_));
  state.Put(previous_close_);
  state.Put(atr_);
}

Status AtrStream::Load(StateReader& state) {
  ASSIGN_OR_RETURN(count_, state.GetCount("ATR count", period_ + 1));
  ASSIGN_OR_RETURN(previous_close_, state.Get("ATR previous close"));
  ASSIGN_OR_RETURN(atr_, state.Get("ATR value"));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------

double ObvStream::Push(double close, double volume) {
  if (!Finite(close) || !Finite(volume)) {
    started_ = false;
    return kNaN;
  }
  if (!started_) {
    started_ = true;
    obv_ = volume;
  } else if (close > previous_) {
    obv_ += volume;
  } else if (close < previous_) {
    obv_ -= volume;
  }
  previous_ = close;
  return obv_;
}

void ObvStream::Save(StateWriter& state) const {
  state.Put(started_ ? 1.0 : 0.0);
  state.Put(obv_);
  state.Put(previous_);
}

Status ObvStream::Load(StateReader& state) {
  ASSIGN_OR_RETURN(size_t started, state.GetCount("OBV started", 1));
  started_ = started == 1;
  ASSIGN_OR_RETURN(obv_, state.Get("OBV value"));
  ASSIGN_OR_RETURN(previous_, state.Get("OBV previous close"));
  return Status::Ok();
}

}  // namespace finlake::analytics
