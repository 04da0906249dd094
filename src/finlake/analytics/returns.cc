// Simple and log returns, rolling volatility (indicators.h).

#include <cmath>

#include "finlake/analytics/bar_formulas.h"
#include "finlake/analytics/indicators.h"
#include "finlake/analytics/series_runs.h"
#include "finlake/analytics/streaming.h"

namespace finlake::analytics {
namespace {

using internal::kNaN;
using internal::LogReturn;
using internal::NonFiniteBit;

bool SimpleReturnsKernel(std::span<const double> price, std::span<double> out) {
  if (price.empty()) return false;
  uint64_t nonfinite = NonFiniteBit(price[0]);
  out[0] = kNaN;
  for (size_t i = 1; i < price.size(); ++i) {
    nonfinite |= NonFiniteBit(price[i]);
    const double previous = price[i - 1];
    out[i] = previous != 0.0 ? (price[i] - previous) / previous : kNaN;
  }
  return nonfinite != 0;
}

bool LogReturnsKernel(std::span<const double> price, std::span<double> out) {
  if (price.empty()) return false;
  uint64_t nonfinite = NonFiniteBit(price[0]);
  out[0] = kNaN;
  for (size_t i = 1; i < price.size(); ++i) {
    nonfinite |= NonFiniteBit(price[i]);
    out[i] = LogReturn(price[i - 1], price[i]);
  }
  return nonfinite != 0;
}

}  // namespace

Status SimpleReturns(std::span<const double> price, std::span<double> out) {
  RETURN_IF_ERROR(internal::CheckLengths<std::span<double>>("SimpleReturns", price.size(), {out}));
  if (SimpleReturnsKernel(price, out)) {
    internal::ForEachFiniteRun({price}, {out}, [&](size_t b, size_t e) {
      SimpleReturnsKernel(price.subspan(b, e - b), out.subspan(b, e - b));
    });
  }
  return Status::Ok();
}

Status LogReturns(std::span<const double> price, std::span<double> out) {
  RETURN_IF_ERROR(internal::CheckLengths<std::span<double>>("LogReturns", price.size(), {out}));
  if (LogReturnsKernel(price, out)) {
    internal::ForEachFiniteRun({price}, {out}, [&](size_t b, size_t e) {
      LogReturnsKernel(price.subspan(b, e - b), out.subspan(b, e - b));
    });
  }
  return Status::Ok();
}

Status RollingVolatility(std::span<const double> price, int32_t period, std::span<double> out,
                         double periods_per_year) {
  RETURN_IF_ERROR(internal::CheckPeriod("RollingVolatility", "period", period, 2));
  if (!(periods_per_year > 0.0) || !std::isfinite(periods_per_year)) {
    return Status::InvalidArgument("RollingVolatility: periods_per_year " + std::to_string(periods_per_year) +
                                   " must be positive and finite");
  }
  RETURN_IF_ERROR(internal::CheckLengths<std::span<double>>("RollingVolatility", price.size(), {out}));
  if (price.empty()) return Status::Ok();
  const double annualise = std::sqrt(periods_per_year);
  WindowStream window(static_cast<size_t>(period));
  out[0] = kNaN;
  for (size_t i = 1; i < price.size(); ++i) {
    // A NaN log return (a gap, a non-positive price) empties the window.
    const bool full = window.Push(LogReturn(price[i - 1], price[i]));
    out[i] = full ? window.SampleDeviation() * annualise : kNaN;
  }
  return Status::Ok();
}

}  // namespace finlake::analytics
