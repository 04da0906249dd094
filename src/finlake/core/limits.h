// Every named limit of finlake, with the reason beside it (STYLE.md rule 8).
#pragma once

#include <cstdint>

namespace finlake::limits {

// Delta "Checkpoints": Spark and delta-rs default delta.checkpointInterval to 10.
inline constexpr int64_t kCheckpointIntervalDefault = 10;

// A blind append that loses the race for version N retries at N+1. Fifty covers two
// processes appending 50 commits each in lockstep; beyond that something is wrong.
inline constexpr int kCommitRetriesMax = 200;
inline constexpr int kCommitBackoffInitialMs = 1;
inline constexpr int kCommitBackoffMaxMs = 100;

// One commit JSON file larger than this is refused on read as corrupt: a commit of
// a million adds is ~300 MB, far more than any finlake writer produces.
inline constexpr int64_t kCommitFileBytesMax = int64_t{1} << 30;

// Delta stats: strings are truncated to this many characters (Spark's default).
inline constexpr int kStatsStringPrefixMax = 32;

// The CLI's aligned-table format stops after this many rows (use --format csv for all).
inline constexpr int64_t kTableFormatRowsMax = 10000;

// SQLite busy timeout: concurrent CLI processes share one catalog file.
inline constexpr int kCatalogBusyTimeoutMs = 10000;

}  // namespace finlake::limits
