// silver.bars_1d -> gold.daily_features (DESIGN.md Contracts): per symbol, the
// indicators of analytics/streaming.h pushed bar by bar over the adjusted series.
//
// Incremental by Delta versions: the job records the silver version it consumed
// (appId "finlake.gold.daily_features:silver.bars_1d" in gold's own commits) and
// finds the symbols with rows in the silver files added since.
// - An append (every new row of the symbol is after the last session computed)
//   carries the indicator state forward: the streams' state after the symbol's
//   last session is kept in system.daily_features_state (one row per symbol, a BLOB
//   of doubles, committed before gold with the same consumed version), and only
//   the new sessions are pushed.
// - Anything else (a corrected bar, a split or dividend, which moves adj_close
//   for every earlier session, rows rewritten by a compaction, a missing or
//   mismatched state) recomputes the symbol from its first bar; only the rows
//   whose values differ are written, so the rows before the first changed bar
//   stay as they are.
// A full pass is the same sequence of pushes as any split into runs, so the
// incremental result equals a full rebuild bit for bit. A run with no new silver
// version writes nothing.
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
  int64_t symbols = 0;          // Symbols computed.
  int64_t symbols_resumed = 0;  // Of those, appends that carried their state forward.
  int64_t bars = 0;             // Sessions computed.
  int64_t rows_inserted = 0, rows_updated = 0;
  int64_t version = -1;         // gold.daily_features version written, -1 if none.
};

[[nodiscard]] Status EnsureFeaturesTable(sql::Lake* lake);
[[nodiscard]] Result<FeaturesResult> RunDailyFeatures(sql::Lake* lake, const FeaturesOptions& options);

}  // namespace finlake::pipeline
