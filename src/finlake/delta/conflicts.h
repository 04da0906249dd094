// Optimistic concurrency (PROTOCOL.md "Optimistic Concurrency Control"): when another
// writer wins the version a transaction wanted, the loser reads the winning commit
// and either commits at the next version, because nothing it read changed, or fails
// with the class of the conflict named. Pure logic over actions; DeltaLog::Commit
// calls it for every commit that beat it.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "finlake/core/status.h"
#include "finlake/delta/actions.h"

namespace finlake::delta {

// What a transaction's result depends on.
struct ReadSet {
  // Paths (decoded, relative to the table root) of the live files whose rows it
  // read: a concurrent commit that removes one invalidates what it computed.
  std::set<std::string> files;
  // Whether files a concurrent commit added (dataChange=true) hold rows the
  // transaction would have read: its predicate applied to the new files. Unset:
  // concurrent appends never conflict (appends, OPTIMIZE, schema changes).
  std::function<Result<bool>(const std::vector<AddFile>&)> appended_rows_read;
  // The transaction read the whole table (a full overwrite, RESTORE): every
  // data-changing add conflicts.
  bool whole_table = false;
};

// The conflict classes of the protocol's writers (Delta Spark names them
// ConcurrentAppendException, ConcurrentDeleteReadException, ...).
enum class ConflictKind {
  kConcurrentAppend,       // Rows were added where the transaction read.
  kConcurrentDeleteRead,   // A file the transaction read was removed.
  kConcurrentDeleteDelete, // A file the transaction removes was removed first.
  kMetadataChanged,        // Schema, partitioning or properties changed.
  kProtocolChanged,        // Reader or writer requirements changed.
  kConcurrentTransaction,  // The same txn appId committed (idempotent writers).
};
const char* ConflictKindName(ConflictKind kind);

// Ok when `ours` (the actions of an `operation` that read an older version) may
// be committed after `winner`, the commit that took `winner_version`. Otherwise a
// Conflict status whose message starts with "conflict (<class>)" and names the
// winning commit and the file or appId involved.
[[nodiscard]] Status CheckConcurrentCommit(const std::vector<Action>& winner, int64_t winner_version,
                                           const std::vector<Action>& ours, const ReadSet& read,
                                           const std::string& operation);

}  // namespace finlake::delta
