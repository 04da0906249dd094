// Private to analytics: argument checks and the gap rule shared by the kernels.
//
// Each fast kernel makes one pass over the whole series assuming finite inputs and
// reports whether it met a non-finite one (a bit test per input, cheap beside the
// arithmetic). Only then does the caller pay for ForEachFiniteRun, which runs the
// same kernel again on each gap-free run, so the gap rule of indicators.h costs
// nothing on clean data.
#pragma once

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <span>
#include <string>

#include "finlake/core/status.h"

namespace finlake::analytics::internal {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// 1 when v is NaN or +-infinity (all exponent bits set), else 0; branch-free so
// that it folds into a kernel's loop without a compare chain.
inline uint64_t NonFiniteBit(double v) {
  constexpr uint64_t kExponentMask = 0x7ff0000000000000ULL;
  return static_cast<uint64_t>((std::bit_cast<uint64_t>(v) & kExponentMask) == kExponentMask);
}

inline void FillNaN(std::span<double> out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) out[i] = kNaN;
}

inline Status CheckPeriod(const char* function, const char* name, int32_t period, int32_t minimum) {
  if (period < minimum) {
    return Status::InvalidArgument(std::string(function) + ": " + name + " " + std::to_string(period) +
                                   " is below the minimum " + std::to_string(minimum));
  }
  return Status::Ok();
}

// Every span in `spans` must have `length` elements.
template <typename Span>
Status CheckLengths(const char* function, size_t length, std::initializer_list<Span> spans) {
  size_t index = 0;
  for (const auto& span : spans) {
    if (span.size() != length) {
      return Status::InvalidArgument(std::string(function) + ": array " + std::to_string(index) + " has " +
                                     std::to_string(span.size()) + " elements, the input has " +
                                     std::to_string(length) + "; all arrays must have the same length");
    }
    ++index;
  }
  return Status::Ok();
}

// Sets every output to NaN at the bars where some input is not finite and calls
// run(begin, end) on each maximal range of bars where all inputs are finite.
template <typename Run>
void ForEachFiniteRun(std::initializer_list<std::span<const double>> inputs,
                      std::initializer_list<std::span<double>> outputs, Run run) {
  assert(inputs.size() > 0);
  const size_t length = inputs.begin()->size();
  size_t begin = 0;
  for (size_t i = 0; i <= length; ++i) {
    bool gap = i == length;
    if (!gap) {
      for (const auto& input : inputs) gap = gap || NonFiniteBit(input[i]) != 0;
    }
    if (!gap) continue;
    if (i > begin) run(begin, i);
    if (i < length) {
      for (const auto& output : outputs) output[i] = kNaN;
    }
    begin = i + 1;
  }
}

}  // namespace finlake::analytics::internal
