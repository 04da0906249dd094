// Every named limit of finlake, with the reason beside it (STYLE.md rule 8).
#pragma once

#include <cstddef>
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

// DuckDB's Parquet row group (rows); files written to a small target size get
// smaller groups, but not below the minimum: DuckDB 1.4 loses the order of an
// ORDER BY across files with row groups of 4,096 rows or fewer (seen with Z-order
// output), and per-group overhead (headers, statistics) grows.
inline constexpr int64_t kParquetRowGroupRowsDefault = 122880;
inline constexpr int64_t kParquetRowGroupRowsMin = 8192;
// Row groups per file that optimize --zorder / --sort-by aim for (no larger than
// the default), so DuckDB skips most of a file it must open (table.h FileLayout).
inline constexpr int64_t kClusteredRowGroupsPerFile = 6;

// Delta stats: strings are truncated to this many characters (Spark's default).
inline constexpr int kStatsStringPrefixMax = 32;

// The CLI's aligned-table format stops after this many rows (use --format csv for all).
inline constexpr int64_t kTableFormatRowsMax = 10000;

// SQLite busy timeout: concurrent CLI processes share one catalog file.
inline constexpr int kCatalogBusyTimeoutMs = 10000;

// HTTP client (core/http_client.h). A request that names no timeout gets this one:
// a Yahoo chart or an Alpha Vantage series answers in well under a second, and 30 s
// rides out a slow vendor without holding a worker for minutes.
inline constexpr int64_t kHttpTimeoutDefaultMs = 30000;
// The longest total timeout a request may ask for; beyond it a hung server would hold
// a worker and a concurrency slot for longer than a scheduled task should run.
inline constexpr int64_t kHttpTimeoutMaxMs = 10 * 60 * 1000;
// Connecting is a part of the total timeout and never longer than this: a TCP or TLS
// handshake that has not finished in 10 s will not finish.
inline constexpr int64_t kHttpConnectTimeoutMaxMs = 10000;
// Vendors redirect once or twice (http to https, a regional host); more is a loop.
inline constexpr int kHttpRedirectsMax = 5;
// A decoded response body larger than this is refused (and not retried). Twenty years
// of daily bars or a month of 1-minute bars is a few MB of JSON; the limit also bounds
// what a gzip bomb can inflate to, since it counts bytes after decoding.
inline constexpr int64_t kHttpResponseBytesMax = int64_t{64} << 20;
// Response header bytes, redirects included; real vendors send a few KB.
inline constexpr int64_t kHttpResponseHeaderBytesMax = int64_t{256} << 10;
// A source policy may retry at most this many times per request: with exponential
// backoff the tenth retry already waits minutes, and a failure that lasts longer is
// an outage for the scheduler to handle, not the client.
inline constexpr int kHttpRetriesMax = 10;
// The largest backoff a source policy may configure between two attempts.
inline constexpr int64_t kHttpBackoffMaxMs = 5 * 60 * 1000;
// A Retry-After (429 or 503) is honoured up to this long. A vendor asking for more is
// throttling for the day; waiting longer would stall the whole job, so the client
// waits this long, tries again, and hands back the 429 when its retries run out.
inline constexpr int64_t kHttpRetryAfterMaxMs = 2 * 60 * 1000;
// In-flight requests per source. Vendors throttle long before this; it bounds the
// pooled curl handles and connections one client keeps.
inline constexpr int kHttpConcurrencyMax = 64;
// Per-minute rate limits are a sliding log of send times, one entry per request.
inline constexpr int64_t kRateLimitRequestsPerMinuteMax = 100000;
// Each round of a rate-limit wait sleeps until the window or a pause ends; a new
// round starts only when another 429 moved the pause. A thousand rounds for one
// request means the pause never ends, which is a bug.
inline constexpr int kRateLimitWaitRoundsMax = 1000;

// Metrics (core/metrics.h). Label values come from small fixed sets (sources,
// outcomes); a family with more series than this has a per-symbol or per-URL value
// slipped in, which would blow up Prometheus's memory. Further series fold into one
// whose label values are all "_overflow".
inline constexpr int kMetricsSeriesPerFamilyMax = 1000;
// Histogram buckets per family; Prometheus's defaults have 11.
inline constexpr int kMetricsHistogramBucketsMax = 64;

// The market generator's local server: connections served at once (a benchmark at
// concurrency 8 keeps 8 open) and the largest request head it reads.
inline constexpr int kGeneratorConnectionsMax = 64;
inline constexpr size_t kGeneratorRequestBytesMax = 64 * 1024;

// Symbols per Yahoo quote request: yfinance batches quotes by tens, the web app
// by dozens; 50 keeps URLs short.
inline constexpr int kYahooQuoteSymbolsMax = 50;

// VACUUM never deletes a file modified within this window, whatever the retention:
// a writer that has written its data files but not yet committed them (its
// "staged" files) must not lose them. No finlake commit takes an hour.
inline constexpr int64_t kVacuumInFlightGraceMs = 3600 * 1000;

// Threads one analytics::ForEachSymbol call may start: indicator kernels are
// memory-bound, so past a socket's cores more threads only add start-up cost; a
// larger request is a caller's bug, not a wish.
inline constexpr int32_t kIndicatorThreadsMax = 256;
// The largest period the SQL indicator functions (analytics/sql_functions.h) accept.
// RollingVolatility and VolumeZScore allocate `period` doubles before they look at
// the series, so a typo like 2000000000 in SQL would ask for 16 GB; a million bars
// is ten years of 1-minute bars, beyond any window anyone computes.
inline constexpr int32_t kIndicatorSqlPeriodMax = 1000000;

}  // namespace finlake::limits
