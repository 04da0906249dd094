// Declarative SQL models (models.h).
#include "finlake/pipeline/models.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "finlake/core/strings.h"
#include "finlake/delta/schema.h"
#include "finlake/pipeline/stage_table.h"
#include "finlake/sql/query_engine.h"

namespace finlake::pipeline {
namespace {

using json = nlohmann::json;

std::vector<std::string> StringList(const YAML::Node& node, const std::string& file, const char* field) {
  std::vector<std::string> out;
  if (!node) return out;
  if (node.IsScalar()) return {node.as<std::string>()};
  if (!node.IsSequence()) throw YAML::Exception(node.Mark(), std::string(field) + " must be a list");
  for (const auto& item : node) out.push_back(item.as<std::string>());
  return out;
}

std::string Lower(const std::string& text) { return ToLower(text); }

std::string Trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

}  // namespace

Result<ModelSpec> ParseModel(const std::string& file, const std::string& text) {
  size_t start = text.find("/*---");
  size_t end = start == std::string::npos ? std::string::npos : text.find("---*/", start + 5);
  if (start == std::string::npos || end == std::string::npos) {
    return Status::InvalidArgument(file + ": a model starts with a YAML header between /*--- and ---*/");
  }
  ModelSpec spec;
  spec.file = file;
  spec.sql = Trim(text.substr(end + 5));
  while (!spec.sql.empty() && (spec.sql.back() == ';' || std::isspace(static_cast<unsigned char>(spec.sql.back())))) {
    spec.sql.pop_back();
  }
  try {
    YAML::Node header = YAML::Load(text.substr(start + 5, end - start - 5));
    if (!header.IsMap()) return Status::InvalidArgument(file + ": the header must be a YAML mapping");
    static const std::set<std::string> kFields = {"output", "description", "inputs", "keys", "mode",
                                                  "incremental_key", "partition_by", "checks"};
    for (const auto& entry : header) {
      std::string field = entry.first.as<std::string>();
      if (!kFields.count(field)) {
        return Status::InvalidArgument(file + ": unknown header field '" + field + "' (fields: " +
                                       Join(kFields, ", ") + ")");
      }
    }
    if (!header["output"]) return Status::InvalidArgument(file + ": the header needs 'output: namespace.table'");
    spec.output = Lower(header["output"].as<std::string>());
    if (header["description"]) spec.description = header["description"].as<std::string>();
    for (std::string& input : StringList(header["inputs"], file, "inputs")) spec.inputs.push_back(Lower(input));
    spec.keys = StringList(header["keys"], file, "keys");
    if (header["mode"]) spec.mode = header["mode"].as<std::string>();
    if (header["incremental_key"]) spec.incremental_key = header["incremental_key"].as<std::string>();
    spec.partition_by = StringList(header["partition_by"], file, "partition_by");
    spec.checks = header["checks"];
  } catch (const YAML::Exception& error) {
    return Status::InvalidArgument(file + ": header: " + error.what());
  }
  if (spec.output.find('.') == std::string::npos) {
    return Status::InvalidArgument(file + ": output '" + spec.output + "' must be namespace.table");
  }
  if (spec.mode != "full" && spec.mode != "incremental") {
    return Status::InvalidArgument(file + ": mode '" + spec.mode + "' must be full or incremental");
  }
  if (spec.keys.empty()) return Status::InvalidArgument(file + ": the header needs keys (the columns of a row's identity)");
  if (spec.mode == "incremental" && spec.incremental_key.empty()) {
    return Status::InvalidArgument(file + ": mode incremental needs incremental_key (e.g. symbol)");
  }
  if (spec.inputs.empty()) return Status::InvalidArgument(file + ": the header needs inputs (the tables it reads)");
  if (spec.sql.empty()) return Status::InvalidArgument(file + ": no SELECT after the header");
  return spec;
}

Result<std::vector<ModelSpec>> LoadModels(const std::string& dir) {
  std::vector<ModelSpec> models;
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) return models;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".sql") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, std::string> producer;
  for (const std::string& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    ASSIGN_OR_RETURN(ModelSpec spec, ParseModel(file, text.str()));
    if (auto [it, fresh] = producer.emplace(spec.output, file); !fresh) {
      return Status::InvalidArgument(file + ": output " + spec.output + " is also produced by " + it->second);
    }
    models.push_back(std::move(spec));
  }
  // Topological order: a model after the models producing its inputs.
  std::vector<ModelSpec> ordered;
  std::set<std::string> done;
  while (ordered.size() < models.size()) {
    bool progressed = false;
    for (ModelSpec& model : models) {
      if (done.count(model.output)) continue;
      bool ready = std::all_of(model.inputs.begin(), model.inputs.end(), [&](const std::string& input) {
        return !producer.count(input) || done.count(input) || input == model.output;
      });
      if (!ready) continue;
      done.insert(model.output);
      ordered.push_back(model);
      progressed = true;
    }
    if (!progressed) {
      std::vector<std::string> stuck;
      for (const ModelSpec& model : models) {
        if (!done.count(model.output)) stuck.push_back(model.output);
      }
      return Status::InvalidArgument(dir + ": models depend on each other in a cycle: " + Join(stuck, ", "));
    }
  }
  return ordered;
}

Status InstallDefaultPipelines(const std::string& dir) {
  std::error_code error;
  if (std::filesystem::exists(dir, error)) return Status::Ok();
  std::filesystem::create_directories(dir, error);
  if (error) return Status::IOError("cannot create " + dir + ": " + error.message());
  for (const auto& [name, text] : DefaultPipelineFiles()) {
    std::ofstream out(dir + "/" + name);
    out << text;
    if (!out) return Status::IOError("cannot write " + dir + "/" + name);
  }
  return Status::Ok();
}

Result<ChangedRowsResult> WriteChangedRows(sql::Lake* lake, engine::Connection& connection, const std::string& table,
                                           const std::string& select_sql, const std::vector<std::string>& keys,
                                           bool replace_all, const std::vector<delta::Txn>& progress) {
  ChangedRowsResult result;
  auto created = StageTable::CreateAs(connection, select_sql);
  if (!created.ok()) return created.status().WithContext("computing " + table);
  StageTable& stage = **created;
  ASSIGN_OR_RETURN(auto columns, connection.Describe("SELECT * FROM " + stage.name()));
  for (const std::string& key : keys) {
    bool found = std::any_of(columns.begin(), columns.end(), [&](const auto& c) { return Lower(c.first) == Lower(key); });
    if (!found) return Status::InvalidArgument(table + ": key column '" + key + "' is not in the model's result");
  }
  ASSIGN_OR_RETURN(auto target, lake->OpenTable(table));
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, target->Load());
  ASSIGN_OR_RETURN(std::string scan, target->ScanSql(snapshot));
  std::vector<std::string> on, differs;
  for (const std::string& key : keys) on.push_back("s." + SqlIdentifier(key) + " = g." + SqlIdentifier(key));
  for (const auto& [name, type] : columns) {
    if (snapshot.schema.Find(name) != nullptr) {
      differs.push_back("s." + SqlIdentifier(name) + " IS DISTINCT FROM g." + SqlIdentifier(name));
    } else {
      differs.push_back("true");  // A new column: every row changes.
    }
  }
  std::string key0 = SqlIdentifier(keys[0]);
  std::string changed = "SELECT s.* FROM " + stage.name() + " AS s LEFT JOIN (" + scan + ") AS g ON " +
                        Join(on, " AND ") + " WHERE g." + key0 + " IS NULL OR " + Join(differs, " OR ");
  ASSIGN_OR_RETURN(auto diff_table, StageTable::CreateAs(connection, changed));
  StageTable& diff = *diff_table;
  ASSIGN_OR_RETURN(auto counted, connection.Query("SELECT count(*) FROM " + diff.name()));
  int64_t differing = counted->GetInt64(0, 0);
  int64_t deleted = 0;
  if (replace_all) {
    std::vector<std::string> gone_on;
    for (const std::string& key : keys) gone_on.push_back("s." + SqlIdentifier(key) + " = g." + SqlIdentifier(key));
    ASSIGN_OR_RETURN(auto gone, connection.Query("SELECT count(*) FROM (" + scan + ") AS g WHERE NOT EXISTS (SELECT 1 FROM " +
                                                 stage.name() + " AS s WHERE " + Join(gone_on, " AND ") + ")"));
    deleted = gone->GetInt64(0, 0);
  }
  if (differing == 0 && deleted == 0) {
    // Nothing differs: record only the inputs consumed, if that moved anything.
    bool moved = std::any_of(progress.begin(), progress.end(), [&](const delta::Txn& txn) {
      auto it = snapshot.txns.find(txn.app_id);
      return it == snapshot.txns.end() || it->second.version < txn.version;
    });
    if (moved) {
      table::WriteOptions options;
      options.progress = progress;
      ASSIGN_OR_RETURN(table::WriteResult written, target->Append("SELECT * FROM " + stage.name() + " WHERE false", options));
      result.version = written.version;
    }
    return result;
  }
  if (replace_all) {
    table::WriteOptions options;
    options.progress = progress;
    ASSIGN_OR_RETURN(table::WriteResult written, target->Overwrite("SELECT * FROM " + stage.name(), options));
    result.version = written.version;
    result.rows_deleted = deleted;
    result.rows_updated = differing;  // Rows new or changed.
    return result;
  }
  table::MergeOptions merge;
  merge.keys = keys;
  merge.progress = progress;
  merge.add_new_columns = true;
  ASSIGN_OR_RETURN(table::WriteResult written, target->Merge("SELECT * FROM " + diff.name(), merge));
  result.rows_inserted = written.rows_inserted;
  result.rows_updated = written.rows_updated;
  result.version = written.version;
  return result;
}

Result<ModelRunResult> RunModel(sql::Lake* lake, const ModelSpec& model, bool full_rebuild) {
  ModelRunResult result;
  result.output = model.output;
  ASSIGN_OR_RETURN(auto engine, sql::QueryEngine::Create(lake));
  ASSIGN_OR_RETURN(auto prepared, engine->Prepare(model.sql));
  if (prepared.size() != 1) return Status::InvalidArgument(model.file + ": a model is one SELECT statement");
  sql::PreparedQuery& query = prepared[0];
  // Staged elsewhere (the lake's own engine): the calendar fast path's text is
  // kept only if it binds.
  RETURN_IF_ERROR(engine->Bind(query).WithContext(model.file));
  for (const sql::TableRead& read : query.reads) {
    std::string name = Lower(read.table);
    if (std::find(model.inputs.begin(), model.inputs.end(), name) == model.inputs.end()) {
      return Status::InvalidArgument(model.file + ": the SELECT reads " + name +
                                     ", which the header's inputs do not list (changes to it would go unseen)");
    }
    result.inputs[name] = read.version;
  }
  // The output table, created from the result's columns on the first run.
  auto output = lake->OpenTable(model.output);
  if (!output.ok() && output.status().code() != StatusCode::kNotFound) return output.status();
  std::map<std::string, int64_t> consumed;
  if (output.ok()) {
    ASSIGN_OR_RETURN(delta::Snapshot snapshot, (*output)->Load());
    for (const auto& [input, version] : result.inputs) {
      auto it = snapshot.txns.find("finlake." + model.output + ":" + input);
      if (it != snapshot.txns.end()) consumed[input] = it->second.version;
    }
  } else {
    ASSIGN_OR_RETURN(Columns columns, engine->connection().Describe(query.sql));
    RETURN_IF_ERROR(EnsureTable(lake, model.output, columns, model.description, model.partition_by)
                        .WithContext(model.file));
  }
  bool moved = full_rebuild || consumed.size() < result.inputs.size();
  for (const auto& [input, version] : result.inputs) {
    if (consumed.count(input) && consumed[input] < version) moved = true;
  }
  if (!moved) return result;
  result.ran = true;

  // The rewritten SELECT is staged and merged by the lake's own engine, where
  // the output table is written; the sandboxed one only reads.
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Connection> connection, lake->Connect());
  std::string source = query.sql;
  bool incremental = model.mode == "incremental" && !full_rebuild && consumed.size() == result.inputs.size();
  if (incremental) {
    // The key values of the rows in the files each input added or removed since
    // its consumed version (a superset of the rows that changed).
    std::set<std::string> values;
    for (const auto& [input, version] : result.inputs) {
      if (consumed[input] >= version) continue;
      ASSIGN_OR_RETURN(auto table, lake->OpenTable(input));
      ASSIGN_OR_RETURN(delta::Snapshot now, table->Load(version));
      if (now.schema.Find(model.incremental_key) == nullptr) {
        incremental = false;  // This input has no such column: recompute everything.
        break;
      }
      // The keys of the rows in the files added or removed since: reading one
      // column is cheap, and on a daily append nearly every key changes anyway.
      ASSIGN_OR_RETURN(std::optional<std::string> changed,
                       ChangedRowsSql(*table, now, consumed[input], {model.incremental_key}, /*exact=*/false));
      auto rows = changed ? connection->Query("SELECT DISTINCT " + SqlIdentifier(model.incremental_key) +
                                                       "::VARCHAR FROM (" + *changed + ") WHERE " +
                                                       SqlIdentifier(model.incremental_key) + " IS NOT NULL")
                          : Result<std::unique_ptr<engine::QueryResult>>(Status::NotFound("no history"));
      if (!rows.ok()) {
        incremental = false;  // That version's log or removed files are gone: recompute everything.
        break;
      }
      for (int64_t r = 0; r < (*rows)->row_count(); ++r) values.insert((*rows)->GetString(0, r));
    }
    if (incremental) {
      source = "SELECT * FROM (" + query.sql + ") AS m WHERE m." + SqlIdentifier(model.incremental_key) + "::VARCHAR IN (" +
               (values.empty() ? std::string("NULL") : SqlQuoteList(values)) + ")";
      result.changed_keys = static_cast<int64_t>(values.size());
    }
  }
  std::vector<delta::Txn> progress;
  for (const auto& [input, version] : result.inputs) {
    progress.push_back(delta::Txn{"finlake." + model.output + ":" + input, version, std::nullopt});
  }
  ASSIGN_OR_RETURN(ChangedRowsResult written,
                   WriteChangedRows(lake, *connection, model.output, source, model.keys,
                                    /*replace_all=*/model.mode == "full", progress));
  result.rows_inserted = written.rows_inserted;
  result.rows_updated = written.rows_updated;
  result.rows_deleted = written.rows_deleted;
  result.version = written.version;
  return result;
}

Result<int64_t> AutoCompact(sql::Lake* lake, const std::string& table, int64_t small_files_min,
                            int64_t target_file_bytes) {
  ASSIGN_OR_RETURN(auto opened, lake->OpenTable(table));
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, opened->Load());
  int64_t small = 0;
  for (const delta::AddFile& file : snapshot.files) small += file.size < target_file_bytes / 4 ? 1 : 0;
  if (small < small_files_min) return int64_t{0};
  table::OptimizeOptions options;
  options.target_file_bytes = target_file_bytes;
  ASSIGN_OR_RETURN(table::WriteResult written, opened->Optimize(options));
  return written.files_removed;
}

std::optional<std::vector<size_t>> FilesAddedSince(const table::Table& table, const delta::Snapshot& now,
                                                   int64_t since) {
  std::set<std::string> seen;
  if (since >= 0) {
    auto before = table.Load(since);
    if (!before.ok()) return std::nullopt;
    for (const delta::AddFile& file : before->files) seen.insert(file.path);
  }
  std::vector<size_t> added;
  for (size_t i = 0; i < now.files.size(); ++i) {
    if (!seen.count(now.files[i].path)) added.push_back(i);
  }
  return added;
}

Result<std::optional<std::string>> ChangedRowsSql(table::Table& table, const delta::Snapshot& now, int64_t since,
                                                  const std::vector<std::string>& columns, bool exact) {
  std::vector<std::string> quoted;
  for (const std::string& column : columns) quoted.push_back(SqlIdentifier(column));
  const std::string select = "SELECT " + Join(quoted, ", ") + " FROM ";
  if (since < 0) {
    ASSIGN_OR_RETURN(std::string scan, table.ScanSql(now));
    return std::optional<std::string>(select + "(" + scan + ")");
  }
  auto before = table.Load(since);
  if (!before.ok()) return std::optional<std::string>();
  for (const std::string& column : columns) {
    if (before->schema.Find(column) == nullptr) return std::optional<std::string>();
  }
  std::set<std::string> live_then, live_now;
  for (const delta::AddFile& file : before->files) live_then.insert(file.path);
  for (const delta::AddFile& file : now.files) live_now.insert(file.path);
  table::Table::ScanOptions added, removed;
  added.files.emplace();
  removed.files.emplace();
  for (size_t i = 0; i < now.files.size(); ++i) {
    if (!live_then.count(now.files[i].path)) added.files->push_back(i);
  }
  for (size_t i = 0; i < before->files.size(); ++i) {
    if (!live_now.count(before->files[i].path)) removed.files->push_back(i);
  }
  ASSIGN_OR_RETURN(std::string added_scan, table.ScanSql(now, added));
  if (removed.files->empty()) return std::optional<std::string>(select + "(" + added_scan + ")");
  ASSIGN_OR_RETURN(std::string removed_scan, table.ScanSql(*before, removed));
  const std::string a = "(" + select + "(" + added_scan + "))";
  const std::string r = "(" + select + "(" + removed_scan + "))";
  if (!exact) return std::optional<std::string>(a + " UNION ALL " + r);
  return std::optional<std::string>("(" + a + " EXCEPT " + r + ") UNION ALL (" + r + " EXCEPT " + a + ")");
}

}  // namespace finlake::pipeline
