// ForEachSymbol (indicators.h): one series per symbol, symbols split over threads.

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "finlake/analytics/indicators.h"
#include "finlake/core/limits.h"

namespace finlake::analytics {
namespace {

// Symbols are handed out in chunks of about this many bars from a shared
// counter, so a thread slowed by another process does not hold up the others
// (a fixed split into halves ran at the slower half's speed: 1.0x on 2 threads).
constexpr int64_t kChunkBars = 32 * 1024;

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
  // Chunk c holds symbols [chunk_starts[c], chunk_starts[c + 1]): whole symbols,
  // about kChunkBars bars each, in order.
  std::vector<int64_t> chunk_starts = {0};
  for (int64_t s = 0; s < symbol_count; ++s) {
    if (offsets[s + 1] - offsets[chunk_starts.back()] >= kChunkBars) chunk_starts.push_back(s + 1);
  }
  if (chunk_starts.back() != symbol_count) chunk_starts.push_back(symbol_count);
  const int64_t chunks = static_cast<int64_t>(chunk_starts.size()) - 1;

  std::atomic<int64_t> next_chunk{0};
  // The lowest failing symbol so far; chunks that start above it are skipped,
  // and every chunk below it still runs, so the lowest failure is always found.
  std::atomic<int64_t> lowest_failure{symbol_count};
  std::mutex failure_mutex;
  Status failure;
  auto work = [&] {
    for (int64_t c = next_chunk++; c < chunks; c = next_chunk++) {
      for (int64_t s = chunk_starts[c]; s < chunk_starts[c + 1] && s < lowest_failure.load(); ++s) {
        Status status = compute(offsets[s], offsets[s + 1]);
        if (status.ok()) continue;
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (s < lowest_failure.load()) {
          lowest_failure = s;
          failure = status.WithContext("symbol " + std::to_string(s) + " (bars " + std::to_string(offsets[s]) + ".." +
                                       std::to_string(offsets[s + 1]) + ")");
        }
        break;
      }
    }
  };
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(thread_count, chunks));
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (int64_t w = 1; w < workers; ++w) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // No thread to be had: the caller's thread takes the chunks left.
    }
  }
  work();
  for (std::thread& thread : threads) thread.join();
  if (lowest_failure.load() < symbol_count) return failure;
  return Status::Ok();
}

}  // namespace finlake::analytics
