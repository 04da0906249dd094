#include "finlake/sql/lake.h"

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "finlake/storage/local_storage.h"

namespace finlake::sql {

namespace {
std::string AbsolutePath(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) != nullptr) return resolved;
  return path;
}
}  // namespace

Result<std::unique_ptr<Lake>> Lake::Open(const std::string& dir, const LakeOptions& options) {
  std::unique_ptr<Lake> lake(new Lake());
  lake->storage_ = NewLocalStorage();
  if (options.create) RETURN_IF_ERROR(lake->storage_->MakeDirs(dir + "/_catalog"));
  lake->dir_ = AbsolutePath(dir);
  if (!lake->storage_->Exists(lake->dir_ + "/_catalog/catalog.db") && !options.create) {
    return Status::NotFound("no lake at " + lake->dir_ + " (create one with `finlake --lake " + dir +
                            " init`, or set --lake / $FINLAKE_LAKE)");
  }
  ASSIGN_OR_RETURN(lake->catalog_, catalog::Catalog::Open(lake->dir_ + "/_catalog/catalog.db", options.create));
  if (options.create) {
    for (const std::string& ns : catalog::Catalog::BuiltinNamespaces()) {
      RETURN_IF_ERROR(lake->storage_->MakeDirs(lake->dir_ + "/" + ns));
    }
  }
  lake->engine_options_ = options.engine;
  // Spills stay in the lake (DuckDB creates the folder on the first spill and
  // removes it on close), not in whatever directory finlake was started from.
  if (lake->engine_options_.temp_directory.empty()) lake->engine_options_.temp_directory = lake->dir_ + "/_tmp";
  return lake;
}

Result<engine::Database*> Lake::Database() {
  if (!database_) {
    ASSIGN_OR_RETURN(database_, engine::Database::Open(engine_options_));
  }
  return database_.get();
}

Result<std::unique_ptr<engine::Connection>> Lake::Connect() {
  ASSIGN_OR_RETURN(engine::Database * database, Database());
  return database->Connect();
}

Result<std::shared_ptr<engine::Database>> Lake::QueryDatabase(const std::vector<std::string>& writable_paths) {
  engine::Sandbox sandbox;
  ASSIGN_OR_RETURN(std::vector<catalog::TableEntry> tables, catalog_->ListTables(std::nullopt));
  for (const catalog::TableEntry& entry : tables) {
    // The trailing slash: DuckDB matches by prefix, and /lake/a/b must not open /lake/a/bc.
    std::string location = AbsoluteLocation(entry.location);
    if (location.find("://") == std::string::npos) sandbox.directories.push_back(location + "/");
  }
  std::sort(sandbox.directories.begin(), sandbox.directories.end());
  sandbox.paths = writable_paths;
  if (query_database_ && sandbox.directories == query_sandbox_.directories && sandbox.paths == query_sandbox_.paths) {
    return query_database_;
  }
  engine::EngineOptions options = engine_options_;
  options.sandbox = sandbox;
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Database> opened, engine::Database::Open(options));
  query_database_ = std::move(opened);
  query_sandbox_ = std::move(sandbox);
  return query_database_;
}

Result<catalog::TableEntry> Lake::Resolve(const std::string& qualified_name) {
  ASSIGN_OR_RETURN(auto parts, catalog::SplitQualifiedName(qualified_name));
  ASSIGN_OR_RETURN(catalog::TableEntry entry, catalog_->GetTable(parts.first, parts.second));
  // Tables the lake manages are stored relative to it, so a lake folder can be
  // moved or copied whole; registered tables keep their absolute paths.
  entry.location = AbsoluteLocation(entry.location);
  return entry;
}

std::string Lake::AbsoluteLocation(const std::string& location) const {
  bool relative = !location.empty() && location[0] != '/' && location.find("://") == std::string::npos;
  return relative ? dir_ + "/" + location : location;
}

Result<std::unique_ptr<table::Table>> Lake::OpenTable(const std::string& qualified_name,
                                                      engine::Database* database) {
  ASSIGN_OR_RETURN(catalog::TableEntry entry, Resolve(qualified_name));
  if (database == nullptr) {
    ASSIGN_OR_RETURN(database, Database());
  }
  auto table = table::Table::Open(storage_.get(), database, entry.location);
  if (!table.ok()) return table.status().WithContext(entry.QualifiedName());
  return table;
}

Result<std::unique_ptr<table::Table>> Lake::CreateTable(const std::string& qualified_name,
                                                        const table::CreateSpec& spec, const std::string& owner) {
  ASSIGN_OR_RETURN(auto parts, catalog::SplitQualifiedName(qualified_name));
  RETURN_IF_ERROR(catalog::ValidateName("table", parts.second));
  if (!catalog_->NamespaceExists(parts.first)) {
    return Status::NotFound("namespace '" + parts.first + "' does not exist (create it with `finlake create-namespace " +
                            parts.first + "`)");
  }
  if (catalog_->GetTable(parts.first, parts.second).ok()) {
    return Status::AlreadyExists("table " + parts.first + "." + parts.second + " already exists");
  }
  std::string location = dir_ + "/" + parts.first + "/" + parts.second;
  table::CreateSpec named = spec;
  if (!named.name) named.name = parts.second;
  ASSIGN_OR_RETURN(engine::Database * database, Database());
  ASSIGN_OR_RETURN(auto table, table::Table::Create(storage_.get(), database, location, named));
  catalog::TableEntry entry;
  entry.namespace_name = parts.first;
  entry.name = parts.second;
  entry.location = parts.first + "/" + parts.second;  // Relative to the lake (Resolve).
  entry.description = spec.description.value_or("");
  entry.owner = owner;
  RETURN_IF_ERROR(catalog_->AddTable(entry));
  return table;
}

Status Lake::Register(const std::string& qualified_name, const std::string& path, const std::string& description,
                      const std::string& owner) {
  ASSIGN_OR_RETURN(auto parts, catalog::SplitQualifiedName(qualified_name));
  std::string location = AbsolutePath(path);
  ASSIGN_OR_RETURN(engine::Database * database, Database());
  auto table = table::Table::Open(storage_.get(), database, location);
  if (!table.ok()) return table.status().WithContext("register " + qualified_name);
  // Reading the latest snapshot now refuses tables finlake cannot read, by name.
  auto snapshot = (*table)->Load();
  if (!snapshot.ok()) return snapshot.status().WithContext("register " + qualified_name);
  catalog::TableEntry entry;
  entry.namespace_name = parts.first;
  entry.name = parts.second;
  entry.location = location;
  entry.description = description;
  entry.owner = owner;
  entry.external = true;
  return catalog_->AddTable(entry);
}

}  // namespace finlake::sql
