// ForEachSymbol (indicators.h): one series per symbol, symbols split over threads.

#include <algorithm>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "finlake/analytics/indicators.h"
#include "finlake/core/limits.h"

namespace finlake::analytics {
namespace {

struct GroupResult {
  int64_t failed_symbol = -1;
  Status status;
};

void RunGroup(std::span<const int64_t> offsets, int64_t first_symbol, int64_t end_symbol,
              const std::function<Status(int64_t, int64_t)>& compute, GroupResult& result) {
  for (int64_t s = first_symbol; s < end_symbol; ++s) {
    Status status = compute(offsets[s], offsets[s + 1]);
    if (!status.ok()) {
      result.failed_symbol = s;
      result.status = status.WithContext("symbol " + std::to_string(s) + " (bars " + std::to_string(offsets[s]) +
                                         ".." + std::to_string(offsets[s + 1]) + ")");
      return;
    }
  }
}

}  // namespace

Status ForEachSymbol(std::span<const int64_t> offsets, int64_t bar_count, int32_t thread_count,
                     const std::function<Status(int64_t begin, int64_t end)>& compute) {
  if (thread_count < 1 || thread_count > limits::kIndicatorThreadsMax) {
    return Status::InvalidArgument("ForEachSymbol: thread_count " + std::to_string(thread_count) +
                                   " is outside 1.." + std::to_string(limits::kIndicatorThreadsMax));
  }
  if (offsets.empty() || offsets.front() != 0 || offsets.back() != bar_count) {
    return Status::InvalidArgument("ForEachSymbol: offsets must start at 0 and end at bar_count " +
                                   std::to_string(bar_count));
  }
  for (size_t s = 1; s < offsets.size(); ++s) {
    if (offsets[s] < offsets[s - 1]) {
      return Status::InvalidArgument("ForEachSymbol: offsets[" + std::to_string(s) + "] = " +
                                     std::to_string(offsets[s]) + " is below offsets[" + std::to_string(s - 1) +
                                     "] = " + std::to_string(offsets[s - 1]) + "; offsets must not decrease");
    }
  }
  const int64_t symbol_count = static_cast<int64_t>(offsets.size()) - 1;
  const int64_t groups = std::max<int64_t>(1, std::min<int64_t>(thread_count, symbol_count));

  // Group g starts at the first symbol whose bars start at or after g / groups of
  // the bars, so that groups hold about equal bar counts and touch contiguous memory.
  std::vector<int64_t> group_starts(groups + 1);
  group_starts[0] = 0;
  group_starts[groups] = symbol_count;
  for (int64_t g = 1; g < groups; ++g) {
    const int64_t target = bar_count / groups * g + bar_count % groups * g / groups;
    const auto it = std::lower_bound(offsets.begin(), offsets.end() - 1, target);
    group_starts[g] = std::max(group_starts[g - 1], static_cast<int64_t>(it - offsets.begin()));
  }

  std::vector<GroupResult> results(groups);
  std::vector<std::thread> threads;
  threads.reserve(groups - 1);
  for (int64_t g = 1; g < groups; ++g) {
    try {
      threads.emplace_back(RunGroup, offsets, group_starts[g], group_starts[g + 1], std::cref(compute),
                           std::ref(results[g]));
    } catch (const std::system_error&) {
      // No thread to be had: the caller's thread does this group after its own.
      RunGroup(offsets, group_starts[g], group_starts[g + 1], compute, results[g]);
    }
  }
  RunGroup(offsets, group_starts[0], group_starts[1], compute, results[0]);
  for (std::thread& thread : threads) thread.join();
  for (const GroupResult& result : results) {
    if (result.failed_symbol >= 0) return result.status;
  }
  return Status::Ok();
}

}  // namespace finlake::analytics
