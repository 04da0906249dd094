// OBV, VWAP and the volume z-score (indicators.h).

#include <cmath>

#include "finlake/analytics/indicators.h"
#include "finlake/analytics/series_runs.h"
#include "finlake/analytics/streaming.h"

namespace finlake::analytics {
namespace {

using internal::kNaN;
using internal::NonFiniteBit;

// TA-Lib's OBV, operation for operation.
bool ObvKernel(std::span<const double> close, std::span<const double> volume, std::span<double> out) {
  if (close.empty()) return false;
  double obv = volume[0];
  double previous = close[0];
  uint64_t nonfinite = 0;
  for (size_t i = 0; i < close.size(); ++i) {
    const double price = close[i];
    nonfinite |= NonFiniteBit(price) | NonFiniteBit(volume[i]);
    if (price > previous) {
      obv += volume[i];
    } else if (price < previous) {
      obv -= volume[i];
    }
    out[i] = obv;
    previous = price;
  }
  return nonfinite != 0;
}

}  // namespace

Status Obv(std::span<const double> close, std::span<const double> volume, std::span<double> out) {
  RETURN_IF_ERROR(internal::CheckLengths<std::span<const double>>("Obv", close.size(), {volume}));
  RETURN_IF_ERROR(internal::CheckLengths<std::span<double>>("Obv", close.size(), {out}));
  if (ObvKernel(close, volume, out)) {
    internal::ForEachFiniteRun({close, volume}, {out}, [&](size_t b, size_t e) {
      ObvKernel(close.subspan(b, e - b), volume.subspan(b, e - b), out.subspan(b, e - b));
    });
  }
  return Status::Ok();
}

Status Vwap(std::span<const double> high, std::span<const double> low, std::span<const double> close,
            std::span<const double> volume, std::span<const int64_t> session_ids, std::span<double> out) {
  RETURN_IF_ERROR(internal::CheckLengths<std::span<const double>>("Vwap", close.size(), {high, low, volume}));
  RETURN_IF_ERROR(internal::CheckLengths<std::span<double>>("Vwap", close.size(), {out}));
  const bool sessions = !session_ids.empty();
  if (sessions) {
    RETURN_IF_ERROR(internal::CheckLengths<std::span<const int64_t>>("Vwap", close.size(), {session_ids}));
  }
  double price_volume = 0.0;
  double total_volume = 0.0;
  for (size_t i = 0; i < close.size(); ++i) {
    if (sessions && i > 0 && session_ids[i] != session_ids[i - 1]) {
      price_volume = 0.0;
      total_volume = 0.0;
    }
    if ((NonFiniteBit(high[i]) | NonFiniteBit(low[i]) | NonFiniteBit(close[i]) | NonFiniteBit(volume[i])) != 0) {
      out[i] = kNaN;
      continue;
    }
    const double typical = (high[i] + low[i] + close[i]) / 3.0;
    price_volume += typical * volume[i];
    total_volume += volume[i];
    out[i] = total_volume != 0.0 ? price_volume / total_volume : kNaN;
  }
  return Status::Ok();
}

Status VolumeZScore(std::span<const double> volume, int32_t period, std::span<double> out) {
  RETURN_IF_ERROR(internal::CheckPeriod("VolumeZScore", "period", period, 2));
  RETURN_IF_ERROR(internal::CheckLengths<std::span<double>>("VolumeZScore", volume.size(), {out}));
  if (volume.empty()) return Status::Ok();
  WindowStream window(static_cast<size_t>(period));
  for (size_t i = 0; i < volume.size(); ++i) {
    if (!window.Push(volume[i])) {  // Warming up, or a gap emptied the window.
      out[i] = kNaN;
      continue;
    }
    const double deviation = window.SampleDeviation();
    out[i] = deviation > 0.0 ? (volume[i] - window.Mean()) / deviation : 0.0;
  }
  return Status::Ok();
}

}  // namespace finlake::analytics
