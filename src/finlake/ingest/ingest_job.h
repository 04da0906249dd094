// IngestJob: fetch a universe of symbols from one source, concurrently, land what
// came back in bronze, and say per symbol what happened (ok / failed and why).
//
// Landing happens in batches, so a job stopped halfway keeps what it landed; a
// re-run re-fetches, and identical payloads are not stored twice.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "finlake/ingest/bronze_landing.h"
#include "finlake/ingest/fetch_result.h"
#include "finlake/ingest/universe.h"

namespace finlake::ingest {

struct IngestSummary {
  std::vector<FetchResult> results;  // One per symbol, in universe order (records moved out).
  int64_t symbols_ok = 0, symbols_failed = 0;
  int64_t bars = 0, records_landed = 0, duplicates = 0, payload_bytes = 0, requests = 0;
  double seconds = 0;
};

struct IngestJobOptions {
  int concurrency = 8;
  int land_batch_symbols = 25;  // Symbols per bronze commit.
  // Called after each symbol (from worker threads, serialised): done, total, result.
  std::function<void(int64_t, int64_t, const FetchResult&)> progress;
};

// `fetch` is called once per instrument, from up to `concurrency` threads at once,
// each thread with its own `worker` index (connectors keep per-thread state).
using FetchFunction = std::function<FetchResult(int worker, const Instrument&)>;

[[nodiscard]] Result<IngestSummary> RunIngest(BronzeLanding& landing, const std::string& source,
                                              const std::vector<Instrument>& universe, const FetchFunction& fetch,
                                              const IngestJobOptions& options);

}  // namespace finlake::ingest
