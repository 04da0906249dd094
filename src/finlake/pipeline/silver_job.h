// The bronze -> silver job for daily bars (issue 5): reads the payloads bronze
// gained since the last run, and keeps silver.bars_1d at one clean row per
// (symbol, session_date), with silver.corporate_actions, silver.symbols and
// silver.quarantine beside it.
//
// Per bronze table, the job
//  1. finds the files added since the version it consumed last (recorded as a
//     Delta transaction identifier, appId "finlake.silver.bars_1d:<bronze>", in
//     silver.bars_1d's own commits, so progress and data commit together);
//  2. parses each daily payload (Yahoo chart, Alpha Vantage daily, and the
//     market generator's Yahoo-shaped answers) and checks every bar against the
//     named rules of daily_bars.h; a failing row goes to silver.quarantine with
//     its rule, never silently away;
//  3. holds back live bars (fetched before their session closed);
//  4. puts every price on one scale, the latest split's: Yahoo's prices are
//     split-adjusted as of their fetch and Alpha Vantage's are as traded, so a
//     split that appears later is applied to the rows (and dividends) that
//     predate it, whatever run stored them;
//  5. picks one row per session: the source earliest in `precedence`, then the
//     latest fetch; flags a close-to-close jump beyond `jump_threshold` with no
//     split between as "jump_without_corporate_action" (quarantined);
//  6. recomputes adj_close (dividends, CRSP method) for every symbol whose bars
//     or actions changed, and MERGEs only the rows that differ.
// A run with no new bronze files writes nothing. A crash at any point leaves the
// tables at their last versions; the rerun redoes the unfinished source (the
// quarantine append carries its own transaction identifier, so rows are not
// quarantined twice).
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "finlake/pipeline/daily_bars.h"
#include "finlake/sql/lake.h"

namespace finlake::pipeline {

struct SilverOptions {
  // Sources in order of trust: a session's row comes from the earliest listed
  // source that has it; unlisted sources rank after these, alphabetically.
  std::vector<std::string> precedence = {"yahoo", "alphavantage", "generator"};
  // |close / previous close - 1| above this with no split in between is flagged.
  double jump_threshold = 0.5;
  // Now, for "not in the future" and live-bar checks; 0: the system clock.
  int64_t now_ms = 0;
  // Read every bronze file again, not only those added since the last run; rows
  // that come out the same are not rewritten.
  bool full_rebuild = false;
  // Told as each source is done: "bronze.yahoo_raw: 12 payloads, 2,520 bars ...".
  std::function<void(const std::string&)> progress;
};

struct SilverSourceResult {
  std::string bronze_table;
  int64_t bronze_version = -1;    // The version consumed.
  int64_t payloads = 0;           // Rows of new bronze files read.
  int64_t payloads_skipped = 0;   // Not daily or 1-minute bars (quotes, 5-minute bars, ...) or not HTTP 200.
  int64_t payloads_unreadable = 0;  // Quarantined whole ("payload_parses").
  int64_t bars = 0;               // Daily bars parsed.
  int64_t minute_bars = 0;        // 1-minute bars parsed.
  int64_t minute_rows_written = 0;  // silver.bars_1m rows inserted or changed.
  int64_t held_back = 0;          // Live bars (daily and minute).
  int64_t quarantined = 0;        // Rows sent to silver.quarantine.
  int64_t rows_inserted = 0, rows_updated = 0;
  int64_t actions_written = 0;
  int64_t bars_version = -1;      // silver.bars_1d version written, -1 if none.
};

struct SilverResult {
  std::vector<SilverSourceResult> sources;
};

// Creates the silver tables when absent (namespace silver must exist).
[[nodiscard]] Status EnsureSilverTables(sql::Lake* lake);

[[nodiscard]] Result<SilverResult> RunSilverBars(sql::Lake* lake, const SilverOptions& options);

}  // namespace finlake::pipeline
