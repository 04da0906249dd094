// Data quality checks (issue 5): rules declared per table in YAML, run as SQL
// over a table's current snapshot, and recorded in system.quality_results, so a
// pipeline can refuse to publish a table that breaks a blocking rule.
//
// Declarations live in <lake>/pipelines/quality.yaml, keyed by table:
//
//   silver.bars_1d:
//     - {check: not_null, columns: [symbol, session_date, close], blocking: true}
//     - {check: unique, columns: [symbol, session_date], blocking: true}
//     - {check: accepted_range, column: close, min: 0, max: 1000000}
//     - {check: freshness, date_column: session_date, key_column: symbol,
//        calendar: XNYS, max_sessions_behind: 0, active_table: silver.symbols}
//     - {check: row_count_change, max_change: 0.5}
//
// and the same list may sit under `checks:` in a model's header. Every entry may
// also carry `name:` (overrides the generated check name) and `blocking:`
// (default false: a failing check is reported, and stops nothing).
//
// What each check counts (QualityResult::observed), failing when above zero:
//   not_null          rows with a null in any listed column;
//   unique            key values held by more than one row (nulls compare equal);
//   accepted_range    rows whose value lies outside [min, max] (either bound may be
//                     absent; nulls are not counted: that is not_null's job);
//   freshness         active keys whose latest `date_column` lies more than
//                     max_sessions_behind sessions before the expected session, the
//                     calendar's latest session on or before context.today (so
//                     weekends and holidays are not lateness). Keys are the
//                     `key_column` values of active_table's rows with `active` true,
//                     else every key in the table;
//   row_count_change  |rows now / rows at the previous version - 1| above
//                     max_change fails; observed is rows now - rows then. With no
//                     previous version, or none with rows, it passes.
//
// A check that cannot run (table or column missing, unknown calendar, a query
// failing) has status kError and the reason as its detail; a blocking error
// blocks like a failure.
//
// Thread-compatible: the functions share no state; a Lake is used by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "finlake/core/status.h"
#include "finlake/sql/lake.h"

namespace YAML {
class Node;
}

namespace finlake::pipeline {

enum class QualityCheckKind { kNotNull, kUnique, kAcceptedRange, kFreshness, kRowCountChange };

// "not_null", "unique", "accepted_range", "freshness", "row_count_change".
const char* QualityCheckKindName(QualityCheckKind kind);

struct QualityCheck {
  QualityCheckKind kind = QualityCheckKind::kNotNull;
  // Where it was declared, for messages: "lake/pipelines/quality.yaml: silver.bars_1d: check 2 (unique)".
  std::string origin;
  // From `name:`; empty: generated, e.g. "unique(symbol, session_date)".
  std::string name;
  bool blocking = false;
  std::vector<std::string> columns;  // not_null, unique.
  std::string column;                // accepted_range.
  std::optional<double> min, max;    // accepted_range; at least one is set.
  std::string date_column = "session_date";  // freshness (a DATE column).
  std::string key_column = "symbol";         // freshness.
  std::string calendar = "XNYS";             // freshness: built in or in <lake>/finlake.yaml.
  int64_t max_sessions_behind = 0;           // freshness.
  std::string active_table;                  // freshness; empty: every key in the table.
  double max_change = 0.5;                   // row_count_change.

  // `name`, else "not_null(a, b)", "unique(a, b)", "accepted_range(close, 0..1000000)",
  // "freshness(session_date by symbol, XNYS)", "row_count_change(0.5)".
  std::string DisplayName() const;
};

// Checks by qualified table name.
using QualityConfig = std::map<std::string, std::vector<QualityCheck>>;

// Parses one table's list of checks (the value under the table's key, or a model
// header's `checks:`). `source` names the file. Errors name the file, the table,
// the check's index (1-based) and the rule broken; unknown check names and
// unknown keys in an entry are errors.
[[nodiscard]] Result<std::vector<QualityCheck>> ParseQualityChecks(const YAML::Node& list, const std::string& source,
                                                                   const std::string& table);
// Parses a whole quality.yaml document: a mapping from table names to lists.
[[nodiscard]] Result<QualityConfig> ParseQualityYaml(const std::string& yaml_text, const std::string& source);
// Reads and parses `path`; a file that does not exist declares no checks.
[[nodiscard]] Result<QualityConfig> LoadQualityConfig(const std::string& path);
// <lake>/pipelines/quality.yaml.
std::string QualityConfigPath(const std::string& lake_dir);

// Checks the declarations against the table's current schema: every named column
// exists, accepted_range's column is numeric, freshness's date column is a date.
// The error names the check's origin and the column. RunQualityChecks applies the
// same rules, reporting a broken one as a kError result instead.
[[nodiscard]] Status ValidateQualityChecks(sql::Lake* lake, const std::string& table,
                                           const std::vector<QualityCheck>& checks);

struct QualityContext {
  std::chrono::sys_days today{};  // The day the freshness checks hold the data to.
  int64_t now_ms = 0;             // Stamped on the results; 0: the system clock.
};

enum class QualityStatus { kPass, kFail, kError };

// "pass", "fail", "error".
const char* QualityStatusName(QualityStatus status);

struct QualityResult {
  std::string table;
  int64_t table_version = -1;  // The snapshot checked; -1 when the table could not be read.
  std::string check;           // QualityCheck::DisplayName().
  QualityCheckKind kind = QualityCheckKind::kNotNull;
  QualityStatus status = QualityStatus::kError;
  bool blocking = false;
  int64_t observed = 0;        // The failing rows or keys (row_count_change: the change in rows).
  std::string detail;          // What was found, with a few examples; the reason for kError.
  int64_t checked_at_ms = 0;

  bool Blocks() const { return blocking && status != QualityStatus::kPass; }
};

// Runs `checks` over the current snapshot of `table`, one result per check, in
// order. Fails only when the lake itself cannot be used (no connection); every
// problem of a check or the table is a kError result.
[[nodiscard]] Result<std::vector<QualityResult>> RunQualityChecks(sql::Lake* lake, const std::string& table,
                                                                  const std::vector<QualityCheck>& checks,
                                                                  const QualityContext& context);

// Appends the results to system.quality_results (created when absent): table_name,
// table_version BIGINT, check_name, kind, status, blocking BOOLEAN, observed BIGINT,
// detail, checked_at TIMESTAMPTZ. Nothing is written for an empty list.
[[nodiscard]] Status WriteQualityResults(sql::Lake* lake, const std::vector<QualityResult>& results);

inline constexpr const char* kQualityResultsTable = "system.quality_results";

// Whether any blocking check failed or could not run; `why` (when given) gets one
// line per such check: "silver.bars_1d: blocking check unique(symbol,
// session_date) failed: 3 duplicate keys, e.g. (AAPL, 2024-01-02)".
bool AnyBlockingFailure(const std::vector<QualityResult>& results, std::string* why);

}  // namespace finlake::pipeline
