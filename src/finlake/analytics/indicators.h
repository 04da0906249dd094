// Technical-indicator kernels: plain arrays in, plain arrays out, one pass per
// series. The module's public header (see README.md beside it).
//
// Conventions shared by every function here:
// - Output index i belongs to input index i; every output span has the input's
//   length. The first <Name>Lookback(...) outputs of a series are NaN (the
//   warm-up); a series no longer than its lookback is all NaN.
// - The formulas, warm-ups and alignments are TA-Lib's (0.4 to 0.6, unstable
//   period 0), so that results agree with TA-Lib to 1e-9 relative after the
//   warm-up; README.md names the few places where finlake deliberately differs.
// - A non-finite input (NaN or +-infinity) is a gap: the output is NaN at that
//   bar and the indicator starts again at the next finite bar, warm-up included,
//   as if the series began there. Leading NaNs are therefore skipped the way the
//   TA-Lib Python wrapper skips them, and a window that holds a gap is NaN.
//   VWAP is the exception: it skips such a bar and keeps its session running.
// - Errors are values: a period below the minimum or spans of different
//   lengths give Status::InvalidArgument naming the function and the rule, and
//   the outputs are left untouched.
// - Functions are pure and thread-safe; they allocate only where documented
//   (RollingVolatility and VolumeZScore keep a window of `period` doubles).
//   Outputs must not overlap inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "finlake/core/status.h"

namespace finlake::analytics {

// ---------------------------------------------------------------------------------
// Warm-up lengths: the number of leading NaN outputs on a finite series. They
// assume valid parameters.

inline int64_t SimpleReturnsLookback() { return 1; }
inline int64_t LogReturnsLookback() { return 1; }
inline int64_t RollingVolatilityLookback(int32_t period) { return period; }
inline int64_t SmaLookback(int32_t period) { return period - 1; }
inline int64_t EmaLookback(int32_t period) { return period - 1; }
inline int64_t RsiLookback(int32_t period) { return period; }
inline int64_t BollingerBandsLookback(int32_t period) { return period - 1; }
inline int64_t AtrLookback(int32_t period) { return period; }
inline int64_t ObvLookback() { return 0; }
inline int64_t VwapLookback() { return 0; }
inline int64_t VolumeZScoreLookback(int32_t period) { return period - 1; }

// ---------------------------------------------------------------------------------
// Returns and volatility.

// out[i] = (price[i] - price[i-1]) / price[i-1] (TA-Lib ROCP with period 1);
// NaN at i = 0 and where price[i-1] is 0.
Status SimpleReturns(std::span<const double> price, std::span<double> out);

// out[i] = ln(price[i] / price[i-1]); NaN at i = 0 and where either price is
// not positive.
Status LogReturns(std::span<const double> price, std::span<double> out);

// Annualised rolling volatility: the sample standard deviation (divisor
// period - 1) of the last `period` log returns, times sqrt(periods_per_year).
// The first value is at index `period` (log return 0 does not exist). A log
// return that is NaN (a gap or a non-positive price) restarts the window.
// period >= 2; periods_per_year > 0 (252 for daily bars).
Status RollingVolatility(std::span<const double> price, int32_t period, std::span<double> out,
                         double periods_per_year = 252.0);

// ---------------------------------------------------------------------------------
// Moving averages and bands.

// Simple moving average of the last `period` values. period >= 1.
Status Sma(std::span<const double> in, int32_t period, std::span<double> out);

// Exponential moving average, TA-Lib's default convention: seeded at index
// period - 1 with the SMA of the first `period` values, then
// ema = ema + k * (x - ema) with k = 2 / (period + 1). period >= 1.
Status Ema(std::span<const double> in, int32_t period, std::span<double> out);

struct MacdOptions {
  int32_t fast_period = 12;
  int32_t slow_period = 26;
  int32_t signal_period = 9;
};

inline int64_t MacdLookback(const MacdOptions& options) {
  return (options.slow_period - 1) + (options.signal_period - 1);
}

// TA-Lib MACD: line = EMA(fast) - EMA(slow), signal = EMA(signal) of the line,
// histogram = line - signal. As in TA-Lib, both EMAs are seeded at index
// slow_period - 1 (the fast one with the SMA of the `fast_period` values ending
// there, not of the first ones), the signal EMA at MacdLookback(), and all three
// outputs are NaN before MacdLookback(). Periods >= 1 and fast <= slow.
Status Macd(std::span<const double> in, const MacdOptions& options, std::span<double> line,
            std::span<double> signal, std::span<double> histogram);

struct BollingerOptions {
  int32_t period = 20;
  double deviations_up = 2.0;
  double deviations_down = 2.0;
};

// TA-Lib BBANDS with a simple moving average: middle = SMA(period), upper and
// lower = middle +- deviations * the population standard deviation (divisor
// period) of the same window. period >= 1; deviations are finite.
Status BollingerBands(std::span<const double> in, const BollingerOptions& options, std::span<double> upper,
                      std::span<double> middle, std::span<double> lower);

// ---------------------------------------------------------------------------------
// Momentum and range.

// Wilder's RSI as TA-Lib computes it: average gain and loss seeded with the
// plain mean of the first `period` price changes (first value at index
// `period`), then avg = (avg * (period - 1) + change) / period;
// rsi = 100 * gain / (gain + loss), and 0 where gain + loss is 0 (a flat
// window). period >= 1.
Status Rsi(std::span<const double> in, int32_t period, std::span<double> out);

// TA-Lib ATR: true range TR[i] = max(high[i], close[i-1]) - min(low[i], close[i-1])
// from i = 1 (TA-Lib has no TR for the first bar), ATR[period] = mean of
// TR[1..period], then Wilder smoothing ATR = (ATR * (period - 1) + TR) / period.
// period >= 1.
Status Atr(std::span<const double> high, std::span<const double> low, std::span<const double> close,
           int32_t period, std::span<double> out);

// ---------------------------------------------------------------------------------
// Volume.

// TA-Lib OBV: out[0] = volume[0], then volume is added when close rises, taken
// away when it falls, and nothing happens when it is unchanged.
Status Obv(std::span<const double> close, std::span<const double> volume, std::span<double> out);

// Session VWAP: sum(typical * volume) / sum(volume) from the session's first bar
// to bar i, typical = (high + low + close) / 3. A session is a run of equal
// session ids (a change of id starts a new one); an empty `session_ids` makes
// the whole series one session. NaN while the session's volume so far is 0. A bar
// with a non-finite price or volume gives NaN and is left out of the sums.
Status Vwap(std::span<const double> high, std::span<const double> low, std::span<const double> close,
            std::span<const double> volume, std::span<const int64_t> session_ids, std::span<double> out);

// Volume z-score: (volume[i] - mean) / stddev over the `period` bars ending at i,
// bar i included; the standard deviation is the sample one (divisor
// period - 1). 0 where the window is constant (the volume equals its mean).
// period >= 2.
Status VolumeZScore(std::span<const double> volume, int32_t period, std::span<double> out);

// ---------------------------------------------------------------------------------
// Many symbols.

// Symbol s owns bars [offsets[s], offsets[s+1]) of arrays of `bar_count` bars;
// offsets must start at 0, never decrease, and end at bar_count. The symbols are
// cut into chunks of whole symbols (about 32k bars each) that `thread_count`
// threads (the caller's among them) take from a shared counter, in order, so a
// thread slowed by other work does not hold up the rest; compute(begin, end) is
// called once per symbol. After a failure, chunks above the failing symbol are
// skipped and those below still run: the error of the lowest failing symbol is
// returned, with "symbol S (bars B..E)" in front. `compute` must be safe to call
// from several threads at once on disjoint ranges. 1 <= thread_count <=
// limits::kIndicatorThreadsMax.
//
//   ForEachSymbol(offsets, n, 2, [&](int64_t b, int64_t e) {
//     return Ema(close.subspan(b, e - b), 20, out.subspan(b, e - b));
//   });
Status ForEachSymbol(std::span<const int64_t> offsets, int64_t bar_count, int32_t thread_count,
                     const std::function<Status(int64_t begin, int64_t end)>& compute);

}  // namespace finlake::analytics
