// File skipping (data skipping): which files of a snapshot may hold rows matching
// a conjunction of column predicates, from partition values (exact) and per-file
// min/max/null-count statistics (conservative) — PROTOCOL.md "Per-file
// Statistics". The SQL front end calls it to prune scans; MERGE and DELETE to find
// the files they must rewrite.
//
// Never skips a file that may hold a match: stats that are missing, unparsable or
// possibly truncated (Spark truncates string bounds to 32 characters and
// timestamp bounds to milliseconds) widen the bounds instead.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "finlake/core/status.h"
#include "finlake/delta/snapshot.h"

namespace finlake::table {

struct ColumnPredicate {
  enum class Op { kEq, kLt, kLe, kGt, kGe, kBetween, kIn, kIsNull, kIsNotNull };
  std::string column;
  Op op = Op::kEq;
  // Literals in their SQL text forms ("42", "2024-01-02", "2024-01-02 21:00:00+00",
  // "AAPL", "true"): one for comparisons, two for BETWEEN (inclusive), any number
  // for IN, none for IS [NOT] NULL.
  std::vector<std::string> values;
};

// The stats of each of a snapshot's files parsed (an empty object where a file
// has none or they do not parse): for callers that select from one snapshot
// again and again, so the JSON is parsed once.
using ParsedStats = std::vector<nlohmann::json>;
ParsedStats ParseStats(const delta::Snapshot& snapshot);

// Indexes into snapshot.files of the files that may match every predicate.
// InvalidArgument when a predicate names no column of the table or a literal does
// not parse as the column's type. `stats`, when given, is ParseStats(snapshot).
[[nodiscard]] Result<std::vector<size_t>> SelectFiles(const delta::Snapshot& snapshot,
                                                      const std::vector<ColumnPredicate>& conjunction,
                                                      const ParsedStats* stats = nullptr);

}  // namespace finlake::table
