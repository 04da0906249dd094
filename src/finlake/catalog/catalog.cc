#include "finlake/catalog/catalog.h"

#include <sqlite3.h>

#include <cctype>

#include "finlake/core/clock.h"
#include "finlake/core/limits.h"
#include "finlake/core/strings.h"

namespace finlake::catalog {

namespace {

constexpr const char* kSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS namespaces (
  name        TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tables (
  namespace   TEXT NOT NULL REFERENCES namespaces(name),
  name        TEXT NOT NULL,
  location    TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  owner       TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL,
  external    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, name)
);
)sql";

// A prepared statement that finalises itself.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Status status() const {
    return rc_ == SQLITE_OK ? Status::Ok() : Status::IOError(std::string("catalog: ") + sqlite3_errmsg(db_));
  }
  Statement& Bind(const std::string& value) {
    sqlite3_bind_text(stmt_, ++index_, value.c_str(), -1, SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int64_t value) {
    sqlite3_bind_int64(stmt_, ++index_, value);
    return *this;
  }
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int column) {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text == nullptr ? "" : reinterpret_cast<const char*>(text);
  }
  int64_t Int(int column) { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
  int index_ = 0;
};

TableEntry ReadEntry(Statement& s) {
  TableEntry e;
  e.namespace_name = s.Text(0);
  e.name = s.Text(1);
  e.location = s.Text(2);
  e.description = s.Text(3);
  e.owner = s.Text(4);
  e.created_at = s.Text(5);
  e.external = s.Int(6) != 0;
  return e;
}

constexpr const char* kTableColumns = "namespace, name, location, description, owner, created_at, external";

}  // namespace

const std::vector<std::string>& Catalog::BuiltinNamespaces() {
  static const std::vector<std::string> names = {"bronze", "silver", "gold", "system"};
  return names;
}

Result<std::pair<std::string, std::string>> SplitQualifiedName(const std::string& qualified) {
  std::vector<std::string> parts = Split(qualified, '.');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return Status::InvalidArgument("table name '" + qualified + "' must be namespace.table (e.g. silver.bars_1d)");
  }
  return std::make_pair(ToLower(parts[0]), ToLower(parts[1]));
}

Status ValidateName(const std::string& kind, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 128 && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name) ok = ok && (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_');
  if (!ok) {
    return Status::InvalidArgument(kind + " name '" + name +
                                   "' must be 1-128 lowercase letters, digits or '_', starting with a letter or '_'");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    if (!create) return Status::NotFound("no lake catalog at " + path + " (run `finlake init` first)");
    return Status::IOError("cannot open catalog " + path + ": " + message);
  }
  std::unique_ptr<Catalog> catalog(new Catalog(db));
  sqlite3_busy_timeout(db, limits::kCatalogBusyTimeoutMs);
  RETURN_IF_ERROR(catalog->Exec("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"));
  RETURN_IF_ERROR(catalog->Exec(kSchemaSql));
  if (create) {
    for (const std::string& name : BuiltinNamespaces()) {
      if (!catalog->NamespaceExists(name)) RETURN_IF_ERROR(catalog->CreateNamespace(name, "built-in"));
    }
  }
  return catalog;
}

Catalog::~Catalog() { sqlite3_close(db_); }

Status Catalog::Exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return Status::IOError("catalog: " + message);
  }
  return Status::Ok();
}

Status Catalog::CreateNamespace(const std::string& name, const std::string& description) {
  RETURN_IF_ERROR(ValidateName("namespace", name));
  if (NamespaceExists(name)) return Status::AlreadyExists("namespace '" + name + "' already exists");
  Statement s(db_, "INSERT INTO namespaces (name, description, created_at) VALUES (?, ?, ?)");
  RETURN_IF_ERROR(s.status());
  s.Bind(name).Bind(description).Bind(FormatIsoMillis(SystemClock().NowMillis()));
  if (s.Step() != SQLITE_DONE) return Status::IOError(std::string("catalog: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Result<std::vector<std::string>> Catalog::ListNamespaces() {
  Statement s(db_, "SELECT name FROM namespaces ORDER BY name");
  RETURN_IF_ERROR(s.status());
  std::vector<std::string> names;
  while (s.Step() == SQLITE_ROW) names.push_back(s.Text(0));
  return names;
}

bool Catalog::NamespaceExists(const std::string& name) {
  Statement s(db_, "SELECT 1 FROM namespaces WHERE name = ?");
  if (!s.status().ok()) return false;
  s.Bind(name);
  return s.Step() == SQLITE_ROW;
}

Status Catalog::AddTable(const TableEntry& entry) {
  RETURN_IF_ERROR(ValidateName("table", entry.name));
  if (!NamespaceExists(entry.namespace_name)) {
    return Status::NotFound("namespace '" + entry.namespace_name + "' does not exist (create it with `finlake create-namespace`)");
  }
  Statement s(db_, std::string("INSERT INTO tables (") + kTableColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?)");
  RETURN_IF_ERROR(s.status());
  s.Bind(entry.namespace_name).Bind(entry.name).Bind(entry.location).Bind(entry.description).Bind(entry.owner);
  s.Bind(entry.created_at.empty() ? FormatIsoMillis(SystemClock().NowMillis()) : entry.created_at);
  s.Bind(static_cast<int64_t>(entry.external ? 1 : 0));
  int rc = s.Step();
  if (rc == SQLITE_CONSTRAINT) return Status::AlreadyExists("table " + entry.QualifiedName() + " already exists");
  if (rc != SQLITE_DONE) return Status::IOError(std::string("catalog: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Status Catalog::RemoveTable(const std::string& namespace_name, const std::string& name) {
  Statement s(db_, "DELETE FROM tables WHERE namespace = ? AND name = ?");
  RETURN_IF_ERROR(s.status());
  s.Bind(namespace_name).Bind(name);
  if (s.Step() != SQLITE_DONE) return Status::IOError(std::string("catalog: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Result<TableEntry> Catalog::GetTable(const std::string& namespace_name, const std::string& name) {
  Statement s(db_, std::string("SELECT ") + kTableColumns + " FROM tables WHERE namespace = ? AND name = ?");
  RETURN_IF_ERROR(s.status());
  s.Bind(namespace_name).Bind(name);
  if (s.Step() != SQLITE_ROW) {
    if (!NamespaceExists(namespace_name)) {
      return Status::NotFound("table " + namespace_name + "." + name + " does not exist: no namespace '" +
                              namespace_name + "'");
    }
    return Status::NotFound("table " + namespace_name + "." + name + " does not exist (see `finlake tables " +
                            namespace_name + "`)");
  }
  return ReadEntry(s);
}

Result<std::vector<TableEntry>> Catalog::ListTables(const std::optional<std::string>& namespace_name) {
  std::string sql = std::string("SELECT ") + kTableColumns + " FROM tables";
  if (namespace_name) sql += " WHERE namespace = ?";
  sql += " ORDER BY namespace, name";
  Statement s(db_, sql);
  RETURN_IF_ERROR(s.status());
  if (namespace_name) s.Bind(*namespace_name);
  std::vector<TableEntry> entries;
  while (s.Step() == SQLITE_ROW) entries.push_back(ReadEntry(s));
  return entries;
}

}  // namespace finlake::catalog
