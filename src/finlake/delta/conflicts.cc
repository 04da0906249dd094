#include "finlake/delta/conflicts.h"

namespace finlake::delta {

const char* ConflictKindName(ConflictKind kind) {
  switch (kind) {
    case ConflictKind::kConcurrentAppend: return "concurrent append";
    case ConflictKind::kConcurrentDeleteRead: return "concurrent delete-read";
    case ConflictKind::kConcurrentDeleteDelete: return "concurrent delete-delete";
    case ConflictKind::kMetadataChanged: return "metadata changed";
    case ConflictKind::kProtocolChanged: return "protocol changed";
    case ConflictKind::kConcurrentTransaction: return "concurrent transaction";
  }
  return "unknown";
}

namespace {

Status Conflict(ConflictKind kind, int64_t winner_version, const std::string& winner_operation,
                const std::string& operation, const std::string& detail) {
  return Status::Conflict("conflict (" + std::string(ConflictKindName(kind)) + "): concurrent commit " +
                          std::to_string(winner_version) + " (" + winner_operation + ") " + detail + "; this " +
                          operation + " was not committed, run it again");
}

}  // namespace

Status CheckConcurrentCommit(const std::vector<Action>& winner, int64_t winner_version,
                             const std::vector<Action>& ours, const ReadSet& read, const std::string& operation) {
  std::string winner_operation = "unknown operation";
  std::set<std::string> our_apps, our_removes;
  for (const Action& action : ours) {
    if (auto* txn = std::get_if<Txn>(&action)) our_apps.insert(txn->app_id);
    if (auto* remove = std::get_if<RemoveFile>(&action)) our_removes.insert(remove->path);
  }
  for (const Action& action : winner) {
    if (auto* info = std::get_if<CommitInfo>(&action); info && !info->Operation().empty()) {
      winner_operation = info->Operation();
    }
  }
  // Protocol and metadata first: they change how every other action is read.
  std::vector<AddFile> appended;
  for (const Action& action : winner) {
    if (std::holds_alternative<Protocol>(action)) {
      return Conflict(ConflictKind::kProtocolChanged, winner_version, winner_operation, operation,
                      "changed the table's protocol");
    }
    if (std::holds_alternative<Metadata>(action)) {
      return Conflict(ConflictKind::kMetadataChanged, winner_version, winner_operation, operation,
                      "changed the table's metadata (schema, partitioning or properties)");
    }
    if (auto* txn = std::get_if<Txn>(&action); txn && our_apps.count(txn->app_id)) {
      return Conflict(ConflictKind::kConcurrentTransaction, winner_version, winner_operation, operation,
                      "committed a transaction of the same appId '" + txn->app_id + "'");
    }
    if (auto* add = std::get_if<AddFile>(&action); add && add->data_change) appended.push_back(*add);
  }
  // Removes before appends: a file this transaction read or removes being gone
  // is the more precise report when both apply. Data-changing or not: a
  // compaction that rewrote such a file invalidates the plan just the same.
  for (const Action& action : winner) {
    auto* remove = std::get_if<RemoveFile>(&action);
    if (remove == nullptr) continue;
    if (our_removes.count(remove->path)) {
      return Conflict(ConflictKind::kConcurrentDeleteDelete, winner_version, winner_operation, operation,
                      "also removed " + remove->path);
    }
    if (read.files.count(remove->path) || read.whole_table) {
      return Conflict(ConflictKind::kConcurrentDeleteRead, winner_version, winner_operation, operation,
                      "removed " + remove->path + ", which this " + operation + " read");
    }
  }
  if (!appended.empty()) {
    bool conflict = read.whole_table;
    if (!conflict && read.appended_rows_read) {
      ASSIGN_OR_RETURN(conflict, read.appended_rows_read(appended));
    }
    if (conflict) {
      return Conflict(ConflictKind::kConcurrentAppend, winner_version, winner_operation, operation,
                      "added rows where this " + operation + " read (first new file: " + appended.front().path + ")");
    }
  }
  return Status::Ok();
}

}  // namespace finlake::delta
