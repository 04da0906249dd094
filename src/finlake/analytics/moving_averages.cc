// SMA, EMA, MACD and Bollinger bands (indicators.h).

#include <algorithm>
#include <cmath>

#include "finlake/analytics/indicators.h"
#include "finlake/analytics/linear_recurrence.h"
#include "finlake/analytics/series_runs.h"

namespace finlake::analytics {
namespace {

using internal::FillNaN;
using internal::LinearRecurrence4;
using internal::NonFiniteBit;

// Sliding-window sums drift: every add and subtract rounds, and over 10M bars the
// errors of a running sum walk away from the true sum (TA-Lib's SMA and BBANDS
// carry theirs for the whole series). The window kernels below start their sums
// afresh from the window every block of this many bars, which bounds the drift and
// costs `period` adds per block. The sums are of x - shift, shift being a value of
// the window, so that a variance taken as E[y^2] - E[y]^2 cancels on the spread of
// the window, not on the price level; a constant window gives exactly 0.
constexpr size_t kReseedBarsMin = 1024;
constexpr size_t kReseedBarsPerPeriod = 16;

size_t ReseedBars(size_t period) { return std::max(kReseedBarsMin, kReseedBarsPerPeriod * period); }

// Kernels: one pass over a series assumed finite. Each returns whether it met a
// non-finite input, in which case the caller reruns it per gap-free run.

bool SmaKernel(std::span<const double> in, size_t period, std::span<double> out) {
  const size_t n = in.size();
  if (n < period) {
    FillNaN(out, 0, n);
    return false;
  }
  FillNaN(out, 0, period - 1);
  const double* x = in.data();
  double* o = out.data();
  const double inverse = 1.0 / static_cast<double>(period);
  const size_t block = ReseedBars(period);
  uint64_t nonfinite = 0;
  for (size_t i = period - 1; i < n;) {
    const size_t block_end = std::min(n, i + block);
    const double shift = x[i];
    double sum = 0.0;
    for (size_t j = i + 1 - period; j <= i; ++j) {
      nonfinite |= NonFiniteBit(x[j]);
      sum += x[j] - shift;
    }
    o[i] = shift + sum * inverse;
    for (size_t j = i + 1; j < block_end; ++j) {
      nonfinite |= NonFiniteBit(x[j]);
      sum += x[j] - x[j - period];
      o[j] = shift + sum * inverse;
    }
    i = block_end;
  }
  return nonfinite != 0;
}

bool EmaKernel(std::span<const double> in, size_t period, std::span<double> out) {
  const size_t n = in.size();
  if (n < period) {
    FillNaN(out, 0, n);
    return false;
  }
  FillNaN(out, 0, period - 1);
  const double* x = in.data();
  double* o = out.data();
  uint64_t nonfinite = 0;
  // The seed is TA-Lib's: the same sum in the same order, divided.
  double ema = 0.0;
  for (size_t j = 0; j < period; ++j) {
    nonfinite |= NonFiniteBit(x[j]);
    ema += x[j];
  }
  ema /= static_cast<double>(period);
  o[period - 1] = ema;
  // ema + k * (x - ema) = (1 - k) * ema + k * x.
  const double k = 2.0 / (static_cast<double>(period) + 1.0);
  const LinearRecurrence4 recurrence(1.0 - k);
  size_t i = period;
  for (; i + 4 <= n; i += 4) {
    const double u[4] = {k * x[i], k * x[i + 1], k * x[i + 2], k * x[i + 3]};
    nonfinite |= NonFiniteBit(x[i]) | NonFiniteBit(x[i + 1]) | NonFiniteBit(x[i + 2]) | NonFiniteBit(x[i + 3]);
    double y[4];
    recurrence.Step(ema, u, y);
    o[i] = y[0];
    o[i + 1] = y[1];
    o[i + 2] = y[2];
    o[i + 3] = y[3];
  }
  for (; i < n; ++i) {
    nonfinite |= NonFiniteBit(x[i]);
    ema = recurrence.a() * ema + k * x[i];
    o[i] = ema;
  }
  return nonfinite != 0;
}

struct MacdOutputs {
  std::span<double> line;
  std::span<double> signal;
  std::span<double> histogram;
};

// One fused pass: both EMAs, the line, the signal EMA and the histogram per bar.
bool MacdKernel(std::span<const double> in, size_t fast, size_t slow, size_t signal_period,
                const MacdOutputs& out) {
  const size_t n = in.size();
  const size_t lookback = (slow - 1) + (signal_period - 1);
  if (n <= lookback) {
    FillNaN(out.line, 0, n);
    FillNaN(out.signal, 0, n);
    FillNaN(out.histogram, 0, n);
    return false;
  }
  FillNaN(out.line, 0, lookback);
  FillNaN(out.signal, 0, lookback);
  FillNaN(out.histogram, 0, lookback);
  const double* x = in.data();
  uint64_t nonfinite = 0;

  // TA-Lib seeds both EMAs at index slow - 1: the slow one with the mean of
  // x[0..slow-1], the fast one with the mean of the `fast` values ending there.
  double slow_ema = 0.0;
  for (size_t j = 0; j < slow; ++j) {
    nonfinite |= NonFiniteBit(x[j]);
    slow_ema += x[j];
  }
  slow_ema /= static_cast<double>(slow);
  double fast_ema = 0.0;
  for (size_t j = slow - fast; j < slow; ++j) fast_ema += x[j];
  fast_ema /= static_cast<double>(fast);

  const double k_fast = 2.0 / (static_cast<double>(fast) + 1.0);
  const double k_slow = 2.0 / (static_cast<double>(slow) + 1.0);
  const double k_signal = 2.0 / (static_cast<double>(signal_period) + 1.0);
  const LinearRecurrence4 fast_recurrence(1.0 - k_fast);
  const LinearRecurrence4 slow_recurrence(1.0 - k_slow);
  const LinearRecurrence4 signal_recurrence(1.0 - k_signal);

  // The signal EMA is seeded at `lookback` with the mean of the line's first
  // signal_period values, x[slow-1 .. lookback].
  double signal_ema = fast_ema - slow_ema;
  for (size_t i = slow; i <= lookback; ++i) {
    nonfinite |= NonFiniteBit(x[i]);
    fast_ema = fast_recurrence.a() * fast_ema + k_fast * x[i];
    slow_ema = slow_recurrence.a() * slow_ema + k_slow * x[i];
    signal_ema += fast_ema - slow_ema;
  }
  signal_ema /= static_cast<double>(signal_period);
  const double first_line = fast_ema - slow_ema;
  out.line[lookback] = first_line;
  out.signal[lookback] = signal_ema;
  out.histogram[lookback] = first_line - signal_ema;

  double* line = out.line.data();
  double* signal = out.signal.data();
  double* histogram = out.histogram.data();
  size_t i = lookback + 1;
  for (; i + 4 <= n; i += 4) {
    nonfinite |= NonFiniteBit(x[i]) | NonFiniteBit(x[i + 1]) | NonFiniteBit(x[i + 2]) | NonFiniteBit(x[i + 3]);
    const double u_fast[4] = {k_fast * x[i], k_fast * x[i + 1], k_fast * x[i + 2], k_fast * x[i + 3]};
    const double u_slow[4] = {k_slow * x[i], k_slow * x[i + 1], k_slow * x[i + 2], k_slow * x[i + 3]};
    double f[4];
    double s[4];
    fast_recurrence.Step(fast_ema, u_fast, f);
    slow_recurrence.Step(slow_ema, u_slow, s);
    const double m[4] = {f[0] - s[0], f[1] - s[1], f[2] - s[2], f[3] - s[3]};
    const double u_signal[4] = {k_signal * m[0], k_signal * m[1], k_signal * m[2], k_signal * m[3]};
    double g[4];
    signal_recurrence.Step(signal_ema, u_signal, g);
    for (size_t j = 0; j < 4; ++j) {
      line[i + j] = m[j];
      signal[i + j] = g[j];
      histogram[i + j] = m[j] - g[j];
    }
  }
  for (; i < n; ++i) {
    nonfinite |= NonFiniteBit(x[i]);
    fast_ema = fast_recurrence.a() * fast_ema + k_fast * x[i];
    slow_ema = slow_recurrence.a() * slow_ema + k_slow * x[i];
    const double m = fast_ema - slow_ema;
    signal_ema = signal_recurrence.a() * signal_ema + k_signal * m;
    line[i] = m;
    signal[i] = signal_ema;
    histogram[i] = m - signal_ema;
  }
  return nonfinite != 0;
}

struct BandOutputs {
  std::span<double> upper;
  std::span<double> middle;
  std::span<double> lower;
};

// Mean and population variance of the window from one pair of running sums.
bool BollingerKernel(std::span<const double> in, size_t period, double deviations_up, double deviations_down,
                     const BandOutputs& out) {
  const size_t n = in.size();
  if (n < period) {
    FillNaN(out.upper, 0, n);
    FillNaN(out.middle, 0, n);
    FillNaN(out.lower, 0, n);
    return false;
  }
  FillNaN(out.upper, 0, period - 1);
  FillNaN(out.middle, 0, period - 1);
  FillNaN(out.lower, 0, period - 1);
  const double* x = in.data();
  double* upper = out.upper.data();
  double* middle = out.middle.data();
  double* lower = out.lower.data();
  const double inverse = 1.0 / static_cast<double>(period);
  const size_t block = ReseedBars(period);
  uint64_t nonfinite = 0;
  const auto emit = [&](size_t j, double shift, double sum, double sum_squares) {
    const double mean = sum * inverse;
    const double variance = sum_squares * inverse - mean * mean;
    // Rounding can leave a tiny negative variance on a near-constant window.
    const double deviation = variance > 0.0 ? std::sqrt(variance) : 0.0;
    const double centre = shift + mean;
    middle[j] = centre;
    upper[j] = centre + deviations_up * deviation;
    lower[j] = centre - deviations_down * deviation;
  };
  for (size_t i = period - 1; i < n;) {
    const size_t block_end = std::min(n, i + block);
    const double shift = x[i];
    double sum = 0.0;
    double sum_squares = 0.0;
    for (size_t j = i + 1 - period; j <= i; ++j) {
      nonfinite |= NonFiniteBit(x[j]);
      const double y = x[j] - shift;
      sum += y;
      sum_squares += y * y;
    }
    emit(i, shift, sum, sum_squares);
    for (size_t j = i + 1; j < block_end; ++j) {
      nonfinite |= NonFiniteBit(x[j]);
      const double y_in = x[j] - shift;
      const double y_out = x[j - period] - shift;
      sum += y_in - y_out;
      sum_squares += (y_in - y_out) * (y_in + y_out);
      emit(j, shift, sum, sum_squares);
    }
    i = block_end;
  }
  return nonfinite != 0;
}

}  // namespace

Status Sma(std::span<const double> in, int32_t period, std::span<double> out) {
  RETURN_IF_ERROR(internal::CheckPeriod("Sma", "period", period, 1));
  RETURN_IF_ERROR(internal::CheckLengths<std::span<double>>("Sma", in.size(), {out}));
  const size_t p = static_cast<size_t>(period);
  if (SmaKernel(in, p, out)) {
    internal::ForEachFiniteRun({in}, {out}, [&](size_t b, size_t e) {
      SmaKernel(in.subspan(b, e - b), p, out.subspan(b, e - b));
    });
  }
  return Status::Ok();
}

Status Ema(std::span<const double> in, int32_t period, std::span<double> out) {
  RETURN_IF_ERROR(internal::CheckPeriod("Ema", "period", period, 1));
  RETURN_IF_ERROR(internal::CheckLengths<std::span<double>>("Ema", in.size(), {out}));
  const size_t p = static_cast<size_t>(period);
  if (EmaKernel(in, p, out)) {
    internal::ForEachFiniteRun({in}, {out}, [&](size_t b, size_t e) {
      EmaKernel(in.subspan(b, e - b), p, out.subspan(b, e - b));
    });
  }
  return Status::Ok();
}

Status Macd(std::span<const double> in, const MacdOptions& options, std::span<double> line,
            std::span<double> signal, std::span<double> histogram) {
  RETURN_IF_ERROR(internal::CheckPeriod("Macd", "fast_period", options.fast_period, 1));
  RETURN_IF_ERROR(internal::CheckPeriod("Macd", "slow_period", options.slow_period, 1));
  RETURN_IF_ERROR(internal::CheckPeriod("Macd", "signal_period", options.signal_period, 1));
  if (options.fast_period > options.slow_period) {
    return Status::InvalidArgument("Macd: fast_period " + std::to_string(options.fast_period) +
                                   " is above slow_period " + std::to_string(options.slow_period) +
                                   "; the fast average must not be the slower one");
  }
  RETURN_IF_ERROR(internal::CheckLengths<std::span<double>>("Macd", in.size(), {line, signal, histogram}));
  const size_t fast = static_cast<size_t>(options.fast_period);
  const size_t slow = static_cast<size_t>(options.slow_period);
  const size_t signal_period = static_cast<size_t>(options.signal_period);
  if (MacdKernel(in, fast, slow, signal_period, {line, signal, histogram})) {
    internal::ForEachFiniteRun({in}, {line, signal, histogram}, [&](size_t b, size_t e) {
      MacdKernel(in.subspan(b, e - b), fast, slow, signal_period,
                 {line.subspan(b, e - b), signal.subspan(b, e - b), histogram.subspan(b, e - b)});
    });
  }
  return Status::Ok();
}

Status BollingerBands(std::span<const double> in, const BollingerOptions& options, std::span<double> upper,
                      std::span<double> middle, std::span<double> lower) {
  RETURN_IF_ERROR(internal::CheckPeriod("BollingerBands", "period", options.period, 1));
  if (!std::isfinite(options.deviations_up) || !std::isfinite(options.deviations_down)) {
    return Status::InvalidArgument("BollingerBands: deviations_up and deviations_down must be finite");
  }
  RETURN_IF_ERROR(internal::CheckLengths<std::span<double>>("BollingerBands", in.size(), {upper, middle, lower}));
  const size_t p = static_cast<size_t>(options.period);
  if (BollingerKernel(in, p, options.deviations_up, options.deviations_down, {upper, middle, lower})) {
    internal::ForEachFiniteRun({in}, {upper, middle, lower}, [&](size_t b, size_t e) {
      BollingerKernel(in.subspan(b, e - b), p, options.deviations_up, options.deviations_down,
                      {upper.subspan(b, e - b), middle.subspan(b, e - b), lower.subspan(b, e - b)});
    });
  }
  return Status::Ok();
}

}  // namespace finlake::analytics
