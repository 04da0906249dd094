// silver.bars_1d -> gold.daily_features (DESIGN.md Contracts): per symbol, one
// pass of the analytics/ kernels over the full adjusted series.
//
// Incremental by Delta versions: the job records the silver version it consumed
// (appId "finlake.gold.daily_features:silver.bars_1d" in gold's own commits),
// finds the symbols whose silver rows changed since (the rows of the files
// added since that version), recomputes those symbols over their whole history
// and MERGEs only the rows whose values differ. Recomputing a whole symbol is one
// linear pass, and it makes the incremental result equal to a full rebuild bit
// for bit, whatever changed: an appended session, a corrected bar, a split or a
// dividend (which moves adj_close for every earlier session). A run with no new
// silver version writes nothing.
//
// The indicators use the adjusted series: adj_close for prices, high and low
// scaled by adj_close / close for ATR, volume as stored (split-adjusted).
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "finlake/sql/lake.h"

namespace finlake::pipeline {

struct FeaturesOptions {
  int32_t threads = 2;  // Symbols computed in parallel.
  // Recompute every symbol (a full rebuild), not only the changed ones.
  bool full_rebuild = false;
};

struct FeaturesResult {
  int64_t silver_version = -1;  // The version consumed.
  int64_t symbols = 0;          // Symbols recomputed.
  int64_t bars = 0;             // Sessions computed.
  int64_t rows_inserted = 0, rows_updated = 0;
  int64_t version = -1;         // gold.daily_features version written, -1 if none.
};

[[nodiscard]] Status EnsureFeaturesTable(sql::Lake* lake);
[[nodiscard]] Result<FeaturesResult> RunDailyFeatures(sql::Lake* lake, const FeaturesOptions& options);

}  // namespace finlake::pipeline
