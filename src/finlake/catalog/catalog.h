// The catalog: namespaces and the tables in them (SQLite in WAL mode, at
// <lake>/_catalog/catalog.db). It keeps where a table lives and who owns it; the
// schema always comes from the table's Delta log, never from a cached copy.
//
// Thread-compatible; several processes may share one catalog file (WAL mode and a
// busy timeout serialise their writes).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "finlake/core/status.h"

struct sqlite3;

namespace finlake::catalog {

struct TableEntry {
  std::string namespace_name;
  std::string name;
  std::string location;     // Absolute path of the table root.
  std::string description;
  std::string owner;
  std::string created_at;   // ISO-8601 UTC.
  bool external = false;    // Registered from elsewhere on disk (not under the lake).
  std::string QualifiedName() const { return namespace_name + "." + name; }
};

class Catalog {
 public:
  // The built-in namespaces every lake has (DESIGN.md "The lake on disk").
  static const std::vector<std::string>& BuiltinNamespaces();

  // Opens (creating when `create`) the catalog database at `path`.
  [[nodiscard]] static Result<std::unique_ptr<Catalog>> Open(const std::string& path, bool create);
  ~Catalog();

  [[nodiscard]] Status CreateNamespace(const std::string& name, const std::string& description);
  [[nodiscard]] Result<std::vector<std::string>> ListNamespaces();
  [[nodiscard]] bool NamespaceExists(const std::string& name);

  [[nodiscard]] Status AddTable(const TableEntry& entry);
  [[nodiscard]] Status RemoveTable(const std::string& namespace_name, const std::string& name);
  // NotFound naming the table (and the namespaces) when absent.
  [[nodiscard]] Result<TableEntry> GetTable(const std::string& namespace_name, const std::string& name);
  [[nodiscard]] Result<std::vector<TableEntry>> ListTables(const std::optional<std::string>& namespace_name);

 private:
  explicit Catalog(sqlite3* db) : db_(db) {}
  [[nodiscard]] Status Exec(const std::string& sql);

  sqlite3* db_;
};

// Splits "ns.table" into its two parts; InvalidArgument otherwise.
[[nodiscard]] Result<std::pair<std::string, std::string>> SplitQualifiedName(const std::string& qualified);
// Names are lowercase letters, digits and '_', starting with a letter or '_'.
[[nodiscard]] Status ValidateName(const std::string& kind, const std::string& name);

}  // namespace finlake::catalog
