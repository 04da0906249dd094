// Private to analytics: the per-bar formulas that the batch kernels and the
// streams (streaming.h) share, so both compute each bar with the same operations.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

namespace finlake::analytics::internal {

// ln(current / previous); NaN where either price is not positive or is a gap.
inline double LogReturn(double previous, double current) {
  const double ratio = current / previous;
  return ratio > 0.0 && ratio <= std::numeric_limits<double>::max() ? std::log(ratio)
                                                                      : std::numeric_limits<double>::quiet_NaN();
}

// TA-Lib writes 0 when gain + loss is within 1e-8 of zero; an absolute threshold
// would also zero the RSI of an instrument priced in units of 1e-9, so only an
// exactly flat window gives 0 here.
inline double RsiValue(double gain, double loss) {
  const double total = gain + loss;
  return total != 0.0 ? 100.0 * (gain / total) : 0.0;
}

inline double TrueRange(double high, double low, double previous_close) {
  double greatest = high - low;
  greatest = std::max(greatest, std::fabs(previous_close - high));
  greatest = std::max(greatest, std::fabs(previous_close - low));
  return greatest;
}

}  // namespace finlake::analytics::internal
