// Lake: one lake directory opened — its catalog, storage and engine — and the
// tables in it by qualified name (DESIGN.md "The lake on disk").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "finlake/catalog/catalog.h"
#include "finlake/engine/engine.h"
#include "finlake/storage/storage.h"
#include "finlake/table/table.h"

namespace finlake::sql {

struct LakeOptions {
  bool create = false;  // Create the lake (directories, catalog) when absent.
  engine::EngineOptions engine;
};

// Thread-compatible.
class Lake {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Lake>> Open(const std::string& dir, const LakeOptions& options);

  const std::string& dir() const { return dir_; }
  catalog::Catalog& catalog() { return *catalog_; }
  Storage& storage() { return *storage_; }
  // The engine for finlake's own work (writes, maintenance, ingestion), opened
  // on first use: a process that only queries never opens it (about 10 ms).
  [[nodiscard]] Result<engine::Database*> Database();
  // A connection to Database().
  [[nodiscard]] Result<std::unique_ptr<engine::Connection>> Connect();
  // The engine for user SQL: sandboxed to the folders of the catalog's tables
  // and to `writable_paths` (engine::Sandbox). Reused while the catalog's tables
  // and the paths stay the same; opened anew when they change.
  [[nodiscard]] Result<std::shared_ptr<engine::Database>> QueryDatabase(
      const std::vector<std::string>& writable_paths = {});

  // The catalog entry, its location made absolute.
  [[nodiscard]] Result<catalog::TableEntry> Resolve(const std::string& qualified_name);
  // A catalog location as a path: managed tables are stored relative to the lake.
  std::string AbsoluteLocation(const std::string& location) const;
  // `database` reads the table's files: the lake's own engine unless given.
  [[nodiscard]] Result<std::unique_ptr<table::Table>> OpenTable(const std::string& qualified_name,
                                                                engine::Database* database = nullptr);
  // Creates the Delta table at <lake>/<namespace>/<table> and registers it.
  [[nodiscard]] Result<std::unique_ptr<table::Table>> CreateTable(const std::string& qualified_name,
                                                                  const table::CreateSpec& spec,
                                                                  const std::string& owner);
  // Registers an existing Delta table anywhere on disk (not copied).
  [[nodiscard]] Status Register(const std::string& qualified_name, const std::string& path,
                                const std::string& description, const std::string& owner);

 private:
  Lake() = default;
  std::string dir_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<engine::Database> database_;
  engine::EngineOptions engine_options_;
  std::shared_ptr<engine::Database> query_database_;
  engine::Sandbox query_sandbox_;  // What query_database_ was opened with.
};

}  // namespace finlake::sql
