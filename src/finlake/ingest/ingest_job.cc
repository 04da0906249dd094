#include "finlake/ingest/ingest_job.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace finlake::ingest {

Result<IngestSummary> RunIngest(BronzeLanding& landing, const std::string& source,
                                const std::vector<Instrument>& universe, const FetchFunction& fetch,
                                const IngestJobOptions& options) {
  auto started = std::chrono::steady_clock::now();
  IngestSummary summary;
  summary.results.resize(universe.size());
  std::mutex mutex;
  std::vector<RawRecord> pending;  // Guarded by mutex.
  int pending_symbols = 0;         // Guarded by mutex.
  Status land_status;              // Guarded by mutex: the first landing failure stops the job.
  std::atomic<size_t> next{0};
  std::atomic<int64_t> done{0};
  bool quota_spent = false;        // Guarded by mutex.

  auto land = [&](std::vector<RawRecord> batch) -> Status {
    ASSIGN_OR_RETURN(LandResult landed, landing.Land(source, batch));
    summary.records_landed += landed.landed;
    summary.duplicates += landed.duplicates;
    return Status::Ok();
  };

  auto worker = [&](int index) {
    while (true) {
      size_t i = next.fetch_add(1);
      if (i >= universe.size()) return;
      FetchResult result;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (!land_status.ok()) return;
        if (quota_spent) {
          result.symbol = universe[i].symbol;
          result.status = FetchStatus::kQuotaExhausted;
          result.message = source + " " + universe[i].symbol + ": not fetched, the day's quota was spent earlier";
        }
      }
      if (result.symbol.empty()) result = fetch(index, universe[i]);
      std::vector<RawRecord> batch;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (result.status == FetchStatus::kQuotaExhausted) quota_spent = true;
        for (RawRecord& record : result.records) {
          summary.payload_bytes += static_cast<int64_t>(record.payload.size());
          pending.push_back(std::move(record));
        }
        result.records.clear();
        summary.bars += result.bars;
        summary.requests += result.requests;
        if (++pending_symbols >= options.land_batch_symbols) {
          batch.swap(pending);
          pending_symbols = 0;
        }
        if (!batch.empty()) {
          // Landing is serialised under the lock: one writer per table and job.
          Status landed = land(std::move(batch));
          if (!landed.ok() && land_status.ok()) land_status = landed;
        }
        summary.results[i] = result;
        if (options.progress) options.progress(++done, static_cast<int64_t>(universe.size()), result);
      }
    }
  };

  int threads = std::max(1, std::min<int>(options.concurrency, static_cast<int>(universe.size())));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  for (std::thread& thread : pool) thread.join();
  RETURN_IF_ERROR(land_status.WithContext("landing into " + BronzeLanding::TableName(source)));
  if (!pending.empty()) RETURN_IF_ERROR(land(std::move(pending)).WithContext("landing into " + BronzeLanding::TableName(source)));
  for (const FetchResult& result : summary.results) (result.ok() ? summary.symbols_ok : summary.symbols_failed)++;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

}  // namespace finlake::ingest
