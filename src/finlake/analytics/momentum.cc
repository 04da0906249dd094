// RSI and ATR (indicators.h).

#include <algorithm>
#include <cmath>

#include "finlake/analytics/bar_formulas.h"
#include "finlake/analytics/indicators.h"
#include "finlake/analytics/linear_recurrence.h"
#include "finlake/analytics/series_runs.h"

namespace finlake::analytics {
namespace {

using internal::FillNaN;
using internal::LinearRecurrence4;
using internal::NonFiniteBit;
using internal::RsiValue;
using internal::TrueRange;

bool RsiKernel(std::span<const double> in, size_t period, std::span<double> out) {
  const size_t n = in.size();
  if (n <= period) {
    FillNaN(out, 0, n);
    return false;
  }
  FillNaN(out, 0, period);
  const double* x = in.data();
  double* o = out.data();
  uint64_t nonfinite = NonFiniteBit(x[0]);
  // The seed is TA-Lib's: plain sums of the first `period` changes, divided.
  double gain = 0.0;
  double loss = 0.0;
  for (size_t j = 1; j <= period; ++j) {
    nonfinite |= NonFiniteBit(x[j]);
    const double change = x[j] - x[j - 1];
    if (change < 0.0) {
      loss -= change;
    } else {
      gain += change;
    }
  }
  gain /= static_cast<double>(period);
  loss /= static_cast<double>(period);
  o[period] = RsiValue(gain, loss);

  // (avg * (period - 1) + change) / period = a * avg + b * change. A bar's gain
  // and loss are (|change| +- change) / 2, exact and free of branches: price
  // changes flip sign at random, and GCC turns max() and ?: into a branch whose
  // mispredictions cost more than the whole update.
  const double b = 1.0 / static_cast<double>(period);
  const double half_b = 0.5 * b;
  const LinearRecurrence4 recurrence(static_cast<double>(period - 1) * b);
  size_t i = period + 1;
  for (; i + 4 <= n; i += 4) {
    double up[4];
    double down[4];
    for (size_t j = 0; j < 4; ++j) {
      nonfinite |= NonFiniteBit(x[i + j]);
      const double change = x[i + j] - x[i + j - 1];
      const double magnitude = std::fabs(change);
      up[j] = half_b * (magnitude + change);
      down[j] = half_b * (magnitude - change);
    }
    double g[4];
    double l[4];
    recurrence.Step(gain, up, g);
    recurrence.Step(loss, down, l);
    for (size_t j = 0; j < 4; ++j) o[i + j] = RsiValue(g[j], l[j]);
  }
  for (; i < n; ++i) {
    nonfinite |= NonFiniteBit(x[i]);
    const double change = x[i] - x[i - 1];
    gain = recurrence.a() * gain + half_b * (std::fabs(change) + change);
    loss = recurrence.a() * loss + half_b * (std::fabs(change) - change);
    o[i] = RsiValue(gain, loss);
  }
  return nonfinite != 0;
}

struct BarInputs {
  std::span<const double> high;
  std::span<const double> low;
  std::span<const double> close;
};

// The operations of TA-Lib's ATR in its order (its Wilder step divides); ATR is
// not on a hot path that would pay for the faster form RsiKernel uses.
bool AtrKernel(const BarInputs& bars, size_t period, std::span<double> out) {
  const size_t n = bars.close.size();
  if (n <= period) {
    FillNaN(out, 0, n);
    return false;
  }
  FillNaN(out, 0, period);
  uint64_t nonfinite = NonFiniteBit(bars.close[0]) | NonFiniteBit(bars.high[0]) | NonFiniteBit(bars.low[0]);
  double atr = 0.0;
  for (size_t i = 1; i <= period; ++i) {
    nonfinite |= NonFiniteBit(bars.high[i]) | NonFiniteBit(bars.low[i]) | NonFiniteBit(bars.close[i]);
    atr += TrueRange(bars.high[i], bars.low[i], bars.close[i - 1]);
  }
  const double p = static_cast<double>(period);
  atr /= p;
  out[period] = atr;
  for (size_t i = period + 1; i < n; ++i) {
    nonfinite |= NonFiniteBit(bars.high[i]) | NonFiniteBit(bars.low[i]) | NonFiniteBit(bars.close[i]);
    atr *= p - 1.0;
    atr += TrueRange(bars.high[i], bars.low[i], bars.close[i - 1]);
    atr /= p;
    out[i] = atr;
  }
  return nonfinite != 0;
}

}  // namespace

Status Rsi(std::span<const double> in, int32_t period, std::span<double> out) {
  RETURN_IF_ERROR(internal::CheckPeriod("Rsi", "period", period, 1));
  RETURN_IF_ERROR(internal::CheckLengths<std::span<double>>("Rsi", in.size(), {out}));
  const size_t p = static_cast<size_t>(period);
  if (RsiKernel(in, p, out)) {
    internal::ForEachFiniteRun({in}, {out}, [&](size_t b, size_t e) {
      RsiKernel(in.subspan(b, e - b), p, out.subspan(b, e - b));
    });
  }
  return Status::Ok();
}

Status Atr(std::span<const double> high, std::span<const double> low, std::span<const double> close,
           int32_t period, std::span<double> out) {
  RETURN_IF_ERROR(internal::CheckPeriod("Atr", "period", period, 1));
  RETURN_IF_ERROR(internal::CheckLengths<std::span<const double>>("Atr", close.size(), {high, low}));
  RETURN_IF_ERROR(internal::CheckLengths<std::span<double>>("Atr", close.size(), {out}));
  const size_t p = static_cast<size_t>(period);
  if (AtrKernel({high, low, close}, p, out)) {
    internal::ForEachFiniteRun({high, low, close}, {out}, [&](size_t b, size_t e) {
      AtrKernel({high.subspan(b, e - b), low.subspan(b, e - b), close.subspan(b, e - b)}, p,
                out.subspan(b, e - b));
    });
  }
  return Status::Ok();
}

}  // namespace finlake::analytics
