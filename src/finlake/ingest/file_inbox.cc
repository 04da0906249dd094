#include "finlake/ingest/file_inbox.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "finlake/core/strings.h"
#include "finlake/ingest/bronze_landing.h"

namespace finlake::ingest {

namespace fs = std::filesystem;

namespace {

Result<std::string> FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return Sha256Hex(bytes);
}

// Moves `path` into `folder` (created when needed), keeping the name unless taken.
Status MoveInto(const fs::path& path, const fs::path& folder, fs::path* moved) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) return Status::IOError("cannot create " + folder.string() + ": " + error.message());
  fs::path target = folder / path.filename();
  for (int n = 1; fs::exists(target); ++n) {
    target = folder / (path.stem().string() + "." + std::to_string(n) + path.extension().string());
  }
  fs::rename(path, target, error);
  if (error) return Status::IOError("cannot move " + path.string() + " to " + target.string() + ": " + error.message());
  *moved = target;
  return Status::Ok();
}

bool StillBeingWritten(const std::string& name) {
  return name.empty() || name[0] == '.' || EndsWith(name, ".tmp") || EndsWith(name, ".part") ||
         EndsWith(name, ".reason.txt");
}

}  // namespace

Result<std::vector<InboxFileOutcome>> ProcessInbox(sql::Lake& lake, const InboxOptions& options,
                                                   const FileReader& reader) {
  std::error_code error;
  if (!fs::is_directory(options.inbox, error)) {
    return Status::NotFound("inbox " + options.inbox + " is not a directory");
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(options.inbox, error)) {
    if (entry.is_regular_file() && !StillBeingWritten(entry.path().filename().string())) files.push_back(entry.path());
  }
  if (error) return Status::IOError("cannot list " + options.inbox + ": " + error.message());
  std::sort(files.begin(), files.end());

  std::vector<InboxFileOutcome> outcomes;
  fs::path processed = fs::path(options.inbox) / "processed";
  fs::path failed = fs::path(options.inbox) / "failed";
  for (const fs::path& file : files) {
    InboxFileOutcome outcome;
    outcome.file = file.filename().string();
    auto fail = [&](const Status& why) -> Status {
      outcome.outcome = "failed";
      outcome.reason = why.message();
      fs::path moved;
      RETURN_IF_ERROR(MoveInto(file, failed, &moved));
      std::ofstream(moved.string() + ".reason.txt") << why.ToString() << "\n";
      return Status::Ok();
    };
    auto sha = FileSha256(file.string());
    if (!sha.ok()) {
      RETURN_IF_ERROR(fail(sha.status()));
      outcomes.push_back(outcome);
      continue;
    }
    std::string app_id = "file:" + *sha;
    auto table = lake.OpenTable(options.table);
    if (!table.ok() && table.status().code() == StatusCode::kNotFound && options.create) {
      auto source = reader(file.string(), nullptr);
      if (!source.ok()) {
        RETURN_IF_ERROR(fail(source.status()));
        outcomes.push_back(outcome);
        continue;
      }
      ASSIGN_OR_RETURN(auto connection, lake.Connect());
      auto columns = connection->Describe(*source);
      if (!columns.ok()) {
        RETURN_IF_ERROR(fail(columns.status()));
        outcomes.push_back(outcome);
        continue;
      }
      table::CreateSpec spec;
      for (const auto& [name, type] : *columns) {
        auto delta_type = delta::FromDuckDbType(type, name);
        if (!delta_type.ok()) return delta_type.status().WithContext(file.string());
        spec.schema.fields.push_back(delta::StructField{name, *delta_type, true, nlohmann::json::object()});
      }
      spec.description = "Files from " + options.inbox;
      table = lake.CreateTable(options.table, spec, "finlake");
    }
    if (!table.ok()) return table.status();
    ASSIGN_OR_RETURN(delta::Snapshot snapshot, (*table)->Load());
    if (snapshot.txns.count(app_id)) {
      // Landed by an earlier run that stopped before the move.
      outcome.outcome = "already_landed";
    } else {
      auto source = reader(file.string(), &snapshot.schema);
      if (!source.ok()) {
        RETURN_IF_ERROR(fail(source.status()));
        outcomes.push_back(outcome);
        continue;
      }
      table::WriteOptions write;
      write.txn = delta::Txn{app_id, 1, std::nullopt};
      write.add_new_columns = options.add_new_columns;
      auto written = (*table)->Append(*source, write);
      if (!written.ok()) {
        if (written.status().code() == StatusCode::kIOError) return written.status();  // The lake, not the file.
        RETURN_IF_ERROR(fail(written.status()));
        outcomes.push_back(outcome);
        continue;
      }
      outcome.outcome = written->skipped ? "already_landed" : "landed";
      outcome.rows = written->rows_written;
    }
    fs::path moved;
    RETURN_IF_ERROR(MoveInto(file, processed, &moved));
    outcomes.push_back(outcome);
  }
  return outcomes;
}

}  // namespace finlake::ingest
