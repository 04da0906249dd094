// Data quality checks (quality.h).
#include "finlake/pipeline/quality.h"

#include <yaml-cpp/yaml.h>

#include <cassert>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "finlake/calendar/calendar_config.h"
#include "finlake/calendar/exchange_calendar.h"
#include "finlake/core/clock.h"
#include "finlake/core/strings.h"
#include "finlake/delta/schema.h"
#include "finlake/pipeline/stage_table.h"

namespace finlake::pipeline {
namespace {

// Examples quoted in a result's detail: enough to start looking, short enough
// for a log line and a cell of system.quality_results.
constexpr int64_t kExamplesMax = 5;
// freshness: a lag allowance beyond about four years of sessions is a typo, and
// the cutoff is found by walking the calendar back one session at a time.
constexpr int64_t kSessionsBehindMax = 1000;

struct KindInfo {
  QualityCheckKind kind;
  const char* name;
  std::set<std::string> keys;  // Keys an entry of this kind may carry, besides check, name, blocking.
};

const std::vector<KindInfo>& Kinds() {
  static const std::vector<KindInfo> kinds = {
      {QualityCheckKind::kNotNull, "not_null", {"columns"}},
      {QualityCheckKind::kUnique, "unique", {"columns"}},
      {QualityCheckKind::kAcceptedRange, "accepted_range", {"column", "min", "max"}},
      {QualityCheckKind::kFreshness,
       "freshness",
       {"date_column", "key_column", "calendar", "max_sessions_behind", "active_table"}},
      {QualityCheckKind::kRowCountChange, "row_count_change", {"max_change"}},
  };
  return kinds;
}

// Numbers as people write them: 1000000, not 1e+06.
std::string FormatNumber(double value) {
  if (std::isfinite(value) && value == std::trunc(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  assert(error == std::errc());
  return std::string(buffer, end);
}

// "1 duplicate key", "3 duplicate keys".
std::string Counted(int64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string FormatPercent(double fraction) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f%%", fraction * 100);
  return buffer;
}

// Reading one entry of a check list. Every message starts with `where`.
class EntryReader {
 public:
  EntryReader(const YAML::Node& node, std::string where) : node_(node), where_(std::move(where)) {}

  Result<std::optional<std::string>> String(const std::string& key) const {
    YAML::Node value = node_[key];
    if (!value || value.IsNull()) return std::optional<std::string>();
    if (!value.IsScalar() || value.Scalar().empty()) {
      return Status::InvalidArgument(where_ + ": " + key + " must be a non-empty name");
    }
    return std::optional<std::string>(value.Scalar());
  }

  Result<std::string> RequiredString(const std::string& key) const {
    ASSIGN_OR_RETURN(std::optional<std::string> value, String(key));
    if (!value) return Status::InvalidArgument(where_ + ": needs " + key);
    return *value;
  }

  Result<std::vector<std::string>> Names(const std::string& key) const {
    YAML::Node value = node_[key];
    if (!value || value.IsNull()) return Status::InvalidArgument(where_ + ": needs " + key + " (a list of columns)");
    std::vector<std::string> names;
    if (value.IsScalar()) {
      names.push_back(value.Scalar());
    } else if (value.IsSequence()) {
      for (const YAML::Node& item : value) {
        if (!item.IsScalar() || item.Scalar().empty()) {
          return Status::InvalidArgument(where_ + ": " + key + " must list column names");
        }
        names.push_back(item.Scalar());
      }
    } else {
      return Status::InvalidArgument(where_ + ": " + key + " must be a list of columns");
    }
    if (names.empty()) return Status::InvalidArgument(where_ + ": " + key + " must name at least one column");
    return names;
  }

  template <typename T>
  Result<std::optional<T>> Scalar(const std::string& key, const char* what) const {
    YAML::Node value = node_[key];
    if (!value || value.IsNull()) return std::optional<T>();
    try {
      if (value.IsScalar()) return std::optional<T>(value.as<T>());
    } catch (const YAML::Exception&) {
    }
    std::string got = value.IsScalar() ? "'" + value.Scalar() + "'" : "a list or mapping";
    return Status::InvalidArgument(where_ + ": " + key + " must be " + what + ", got " + got);
  }

 private:
  const YAML::Node& node_;
  std::string where_;
};

Result<QualityCheck> ParseEntry(const YAML::Node& node, const std::string& where_prefix, size_t index) {
  std::string where = where_prefix + ": check " + std::to_string(index + 1);
  if (!node.IsMap()) {
    return Status::InvalidArgument(where + ": a check is a mapping ({check: unique, columns: [...]})");
  }
  ASSIGN_OR_RETURN(std::string kind_name, EntryReader(node, where).RequiredString("check"));
  const KindInfo* info = nullptr;
  for (const KindInfo& candidate : Kinds()) {
    if (kind_name == candidate.name) info = &candidate;
  }
  if (info == nullptr) {
    std::vector<std::string> known;
    for (const KindInfo& candidate : Kinds()) known.push_back(candidate.name);
    return Status::InvalidArgument(where + ": unknown check '" + kind_name + "' (known: " + Join(known, ", ") + ")");
  }
  where += " (" + kind_name + ")";
  EntryReader reader(node, where);
  for (const auto& entry : node) {
    std::string key = entry.first.as<std::string>();
    if (key == "check" || key == "name" || key == "blocking" || info->keys.count(key)) continue;
    std::vector<std::string> allowed = {"name", "blocking"};
    allowed.insert(allowed.end(), info->keys.begin(), info->keys.end());
    return Status::InvalidArgument(where + ": unknown key '" + key + "' (allowed: " + Join(allowed, ", ") + ")");
  }

  QualityCheck check;
  check.kind = info->kind;
  check.origin = where;
  ASSIGN_OR_RETURN(std::optional<std::string> name, reader.String("name"));
  check.name = name.value_or("");
  ASSIGN_OR_RETURN(std::optional<bool> blocking, reader.Scalar<bool>("blocking", "true or false"));
  check.blocking = blocking.value_or(false);
  switch (check.kind) {
    case QualityCheckKind::kNotNull:
    case QualityCheckKind::kUnique: {
      ASSIGN_OR_RETURN(check.columns, reader.Names("columns"));
      break;
    }
    case QualityCheckKind::kAcceptedRange: {
      ASSIGN_OR_RETURN(check.column, reader.RequiredString("column"));
      ASSIGN_OR_RETURN(check.min, reader.Scalar<double>("min", "a number"));
      ASSIGN_OR_RETURN(check.max, reader.Scalar<double>("max", "a number"));
      if (!check.min && !check.max) return Status::InvalidArgument(where + ": needs min, max or both");
      if ((check.min && !std::isfinite(*check.min)) || (check.max && !std::isfinite(*check.max))) {
        return Status::InvalidArgument(where + ": min and max must be finite numbers");
      }
      if (check.min && check.max && *check.min > *check.max) {
        return Status::InvalidArgument(where + ": min " + FormatNumber(*check.min) + " is above max " +
                                       FormatNumber(*check.max));
      }
      break;
    }
    case QualityCheckKind::kFreshness: {
      ASSIGN_OR_RETURN(std::optional<std::string> date_column, reader.String("date_column"));
      ASSIGN_OR_RETURN(std::optional<std::string> key_column, reader.String("key_column"));
      ASSIGN_OR_RETURN(std::optional<std::string> calendar_code, reader.String("calendar"));
      ASSIGN_OR_RETURN(std::optional<std::string> active_table, reader.String("active_table"));
      ASSIGN_OR_RETURN(std::optional<int64_t> behind, reader.Scalar<int64_t>("max_sessions_behind", "a whole number"));
      if (date_column) check.date_column = *date_column;
      if (key_column) check.key_column = *key_column;
      if (calendar_code) check.calendar = *calendar_code;
      if (active_table) check.active_table = *active_table;
      if (behind) check.max_sessions_behind = *behind;
      if (check.max_sessions_behind < 0 || check.max_sessions_behind > kSessionsBehindMax) {
        return Status::InvalidArgument(where + ": max_sessions_behind must be 0-" + std::to_string(kSessionsBehindMax));
      }
      if (!check.active_table.empty() && check.active_table.find('.') == std::string::npos) {
        return Status::InvalidArgument(where + ": active_table '" + check.active_table +
                                       "' must be a qualified name (namespace.table)");
      }
      break;
    }
    case QualityCheckKind::kRowCountChange: {
      ASSIGN_OR_RETURN(std::optional<double> max_change, reader.Scalar<double>("max_change", "a number"));
      if (max_change) check.max_change = *max_change;
      if (!std::isfinite(check.max_change) || check.max_change < 0) {
        return Status::InvalidArgument(where + ": max_change must be a fraction >= 0 (0.5 = 50%)");
      }
      break;
    }
  }
  return check;
}

bool IsNumeric(const delta::DataType& type) {
  static const std::set<std::string> kNumeric = {"byte", "short", "integer", "long", "float", "double"};
  return type.kind == delta::DataType::Kind::kDecimal ||
         (type.kind == delta::DataType::Kind::kPrimitive && kNumeric.count(type.primitive));
}

// The column's name as the table spells it, or an error naming the check.
Result<std::string> FindColumn(const delta::Schema& schema, const std::string& table, const QualityCheck& check,
                               const std::string& column, const delta::StructField** field_out = nullptr) {
  const delta::StructField* field = schema.Find(column);
  if (field == nullptr) {
    std::vector<std::string> names;
    for (const delta::StructField& f : schema.fields) names.push_back(f.name);
    return Status::InvalidArgument(check.origin + ": column '" + column + "' is not in " + table + " (columns: " +
                                   Join(names, ", ") + ")");
  }
  if (field_out != nullptr) *field_out = field;
  return field->name;
}

// The table's spelling of each column a check names, in the check's order; for
// freshness: date then key; for accepted_range: the one column.
Result<std::vector<std::string>> ResolveColumns(const delta::Schema& schema, const std::string& table,
                                                const QualityCheck& check) {
  std::vector<std::string> resolved;
  switch (check.kind) {
    case QualityCheckKind::kNotNull:
    case QualityCheckKind::kUnique:
      for (const std::string& column : check.columns) {
        ASSIGN_OR_RETURN(std::string name, FindColumn(schema, table, check, column));
        resolved.push_back(name);
      }
      break;
    case QualityCheckKind::kAcceptedRange: {
      const delta::StructField* field = nullptr;
      ASSIGN_OR_RETURN(std::string name, FindColumn(schema, table, check, check.column, &field));
      if (!IsNumeric(field->type)) {
        return Status::InvalidArgument(check.origin + ": column '" + name + "' of " + table + " is " +
                                       field->type.Name() + ", not a number");
      }
      resolved.push_back(name);
      break;
    }
    case QualityCheckKind::kFreshness: {
      const delta::StructField* field = nullptr;
      ASSIGN_OR_RETURN(std::string date, FindColumn(schema, table, check, check.date_column, &field));
      if (field->type.kind != delta::DataType::Kind::kPrimitive || field->type.primitive != "date") {
        return Status::InvalidArgument(check.origin + ": date_column '" + date + "' of " + table + " is " +
                                       field->type.Name() + ", not a date (the exchange's session date)");
      }
      ASSIGN_OR_RETURN(std::string key, FindColumn(schema, table, check, check.key_column));
      resolved = {date, key};
      break;
    }
    case QualityCheckKind::kRowCountChange:
      break;
  }
  return resolved;
}

// What a check found.
struct Outcome {
  bool pass = true;
  int64_t observed = 0;
  std::string detail;
};

class CheckRunner {
 public:
  CheckRunner(sql::Lake* lake, engine::Connection* connection, const std::string& table, table::Table* opened,
              const delta::Snapshot& snapshot, std::string scan, const QualityContext& context)
      : lake_(lake),
        connection_(connection),
        table_(table),
        opened_(opened),
        snapshot_(snapshot),
        scan_(std::move(scan)),
        context_(context) {}

  Result<Outcome> Run(const QualityCheck& check) {
    ASSIGN_OR_RETURN(std::vector<std::string> columns, ResolveColumns(snapshot_.schema, table_, check));
    switch (check.kind) {
      case QualityCheckKind::kNotNull: return NotNull(columns);
      case QualityCheckKind::kUnique: return Unique(columns);
      case QualityCheckKind::kAcceptedRange: return AcceptedRange(check, columns[0]);
      case QualityCheckKind::kFreshness: return Freshness(check, columns[0], columns[1]);
      case QualityCheckKind::kRowCountChange: return RowCountChange(check);
    }
    return Status::Internal("unhandled quality check kind");
  }

 private:
  Result<Outcome> NotNull(const std::vector<std::string>& columns) {
    std::vector<std::string> is_null, counts;
    for (const std::string& column : columns) {
      is_null.push_back(SqlIdentifier(column) + " IS NULL");
      counts.push_back("count(*) FILTER (WHERE " + SqlIdentifier(column) + " IS NULL)");
    }
    ASSIGN_OR_RETURN(auto rows, connection_->Query("SELECT count(*), count(*) FILTER (WHERE " +
                                                   Join(is_null, " OR ") + "), " + Join(counts, ", ") +
                                                   " FROM (" + scan_ + ")"));
    Outcome outcome;
    int64_t total = rows->GetInt64(0, 0);
    outcome.observed = rows->GetInt64(1, 0);
    outcome.pass = outcome.observed == 0;
    if (outcome.pass) {
      outcome.detail = "no nulls in " + std::to_string(total) + " rows";
      return outcome;
    }
    std::vector<std::string> per_column;
    for (size_t c = 0; c < columns.size(); ++c) {
      int64_t n = rows->GetInt64(static_cast<int64_t>(c) + 2, 0);
      if (n > 0) per_column.push_back(columns[c] + " " + std::to_string(n));
    }
    outcome.detail = std::to_string(outcome.observed) + " of " + std::to_string(total) +
                     " rows have a null: " + Join(per_column, ", ");
    return outcome;
  }

  Result<Outcome> Unique(const std::vector<std::string>& columns) {
    std::vector<std::string> keys, shown, order;
    for (size_t c = 0; c < columns.size(); ++c) {
      keys.push_back(SqlIdentifier(columns[c]));
      shown.push_back("coalesce(CAST(g." + SqlIdentifier(columns[c]) + " AS VARCHAR), 'NULL')");
      order.push_back("g." + SqlIdentifier(columns[c]));
    }
    std::string key_list = Join(keys, ", ");
    ASSIGN_OR_RETURN(auto rows, connection_->Query(
                                    "SELECT count(*) OVER (), sum(g.__finlake_rows) OVER (), " + Join(shown, ", ") +
                                    " FROM (SELECT " + key_list + ", count(*) AS __finlake_rows FROM (" + scan_ +
                                    ") GROUP BY " + key_list + " HAVING count(*) > 1) AS g ORDER BY " +
                                    "g.__finlake_rows DESC, " + Join(order, ", ") + " LIMIT " +
                                    std::to_string(kExamplesMax)));
    Outcome outcome;
    if (rows->row_count() == 0) {
      outcome.detail = "no duplicate keys";
      return outcome;
    }
    outcome.pass = false;
    outcome.observed = rows->GetInt64(0, 0);
    std::vector<std::string> examples;
    for (int64_t r = 0; r < rows->row_count(); ++r) {
      std::vector<std::string> values;
      for (size_t c = 0; c < columns.size(); ++c) values.push_back(rows->GetString(static_cast<int64_t>(c) + 2, r));
      examples.push_back("(" + Join(values, ", ") + ")");
    }
    outcome.detail = Counted(outcome.observed, "duplicate key") + ", e.g. " + Join(examples, ", ") + " (" +
                     std::to_string(rows->GetInt64(1, 0)) + " rows hold them)";
    return outcome;
  }

  Result<Outcome> AcceptedRange(const QualityCheck& check, const std::string& column) {
    std::string id = SqlIdentifier(column);
    std::vector<std::string> outside;
    // DOUBLE literals: comparing an integer or decimal column with them is exact
    // for the magnitudes prices and volumes have.
    if (check.min) outside.push_back(id + " < CAST(" + FormatNumber(*check.min) + " AS DOUBLE)");
    if (check.max) outside.push_back(id + " > CAST(" + FormatNumber(*check.max) + " AS DOUBLE)");
    std::string where = Join(outside, " OR ");
    ASSIGN_OR_RETURN(auto rows, connection_->Query("SELECT count(*), count(*) FILTER (WHERE " + where + "), CAST(min(" +
                                                   id + ") FILTER (WHERE " + where + ") AS VARCHAR), CAST(max(" + id +
                                                   ") FILTER (WHERE " + where + ") AS VARCHAR) FROM (" + scan_ + ")"));
    std::string range = "[" + (check.min ? FormatNumber(*check.min) : "-inf") + ", " +
                        (check.max ? FormatNumber(*check.max) : "inf") + "]";
    Outcome outcome;
    int64_t total = rows->GetInt64(0, 0);
    outcome.observed = rows->GetInt64(1, 0);
    outcome.pass = outcome.observed == 0;
    if (outcome.pass) {
      outcome.detail = "all " + std::to_string(total) + " rows within " + range;
    } else {
      outcome.detail = std::to_string(outcome.observed) + " of " + std::to_string(total) + " rows have " + column +
                       " outside " + range + ": lowest " + rows->GetString(2, 0) + ", highest " +
                       rows->GetString(3, 0);
    }
    return outcome;
  }

  Result<Outcome> Freshness(const QualityCheck& check, const std::string& date_column, const std::string& key_column) {
    auto resolved = calendar::ResolveCalendar(check.calendar, lake_->dir() + "/finlake.yaml");
    if (!resolved.ok()) return resolved.status().WithContext(check.origin + ": calendar");
    const calendar::ExchangeCalendar& exchange = *resolved;
    calendar::Day expected =
        exchange.IsSession(context_.today) ? context_.today : exchange.PreviousSession(context_.today).date;
    calendar::Day cutoff = expected;
    for (int64_t i = 0; i < check.max_sessions_behind; ++i) cutoff = exchange.PreviousSession(cutoff).date;

    std::string key = SqlIdentifier(key_column), date = SqlIdentifier(date_column);
    std::string keys_sql;
    if (check.active_table.empty()) {
      keys_sql = "SELECT DISTINCT " + key + " AS k FROM (" + scan_ + ") WHERE " + key + " IS NOT NULL";
    } else {
      ASSIGN_OR_RETURN(auto active, lake_->OpenTable(check.active_table));
      ASSIGN_OR_RETURN(delta::Snapshot active_snapshot, active->Load());
      const delta::StructField* active_key = active_snapshot.schema.Find(key_column);
      const delta::StructField* active_flag = active_snapshot.schema.Find("active");
      if (active_key == nullptr || active_flag == nullptr) {
        return Status::InvalidArgument(check.origin + ": active_table " + check.active_table + " needs columns '" +
                                       key_column + "' and 'active'");
      }
      ASSIGN_OR_RETURN(std::string active_scan, active->ScanSql(active_snapshot));
      keys_sql = "SELECT DISTINCT " + SqlIdentifier(active_key->name) + " AS k FROM (" + active_scan + ") WHERE " +
                 SqlIdentifier(active_flag->name) + " AND " + SqlIdentifier(active_key->name) + " IS NOT NULL";
    }
    std::string joined = "WITH keys AS (" + keys_sql + "), latest AS (SELECT " + key + " AS k, max(" + date +
                         ") AS last FROM (" + scan_ + ") GROUP BY " + key +
                         ") SELECT keys.k, latest.last, latest.last IS NULL OR latest.last < DATE " +
                         SqlQuote(calendar::FormatDay(cutoff)) +
                         " AS stale FROM keys LEFT JOIN latest ON keys.k = latest.k";
    ASSIGN_OR_RETURN(auto counts,
                     connection_->Query("SELECT count(*), count(*) FILTER (WHERE stale) FROM (" + joined + ")"));
    int64_t total = counts->GetInt64(0, 0);
    Outcome outcome;
    outcome.observed = counts->GetInt64(1, 0);
    outcome.pass = outcome.observed == 0;
    std::string which = check.active_table.empty() ? "keys (" + key_column + ")"
                                                   : "active keys (" + key_column + " in " + check.active_table + ")";
    std::string expectation = "expected session " + calendar::FormatDay(expected) + " (" + check.calendar + ")";
    if (check.max_sessions_behind > 0) {
      expectation += ", at most " + Counted(check.max_sessions_behind, "session") + " behind (from " +
                     calendar::FormatDay(cutoff) + ")";
    }
    if (outcome.pass) {
      outcome.detail = "all " + std::to_string(total) + " " + which + " fresh: " + expectation;
      return outcome;
    }
    ASSIGN_OR_RETURN(auto stale, connection_->Query("SELECT CAST(k AS VARCHAR), CAST(last AS VARCHAR) FROM (" +
                                                    joined + ") WHERE stale ORDER BY last NULLS FIRST, k LIMIT " +
                                                    std::to_string(kExamplesMax)));
    std::vector<std::string> examples;
    for (int64_t r = 0; r < stale->row_count(); ++r) {
      examples.push_back(stale->GetString(0, r) + " (" +
                         (stale->IsNull(1, r) ? std::string("no rows") : "last " + stale->GetString(1, r)) + ")");
    }
    outcome.detail = std::to_string(outcome.observed) + " of " + std::to_string(total) + " " + which +
                     " stale: " + expectation + "; e.g. " + Join(examples, ", ");
    return outcome;
  }

  Result<int64_t> CountRows(const delta::Snapshot& snapshot) {
    int64_t from_stats = snapshot.NumRecords();
    if (from_stats >= 0) return from_stats;
    ASSIGN_OR_RETURN(std::string scan, opened_->ScanSql(snapshot));
    ASSIGN_OR_RETURN(auto rows, connection_->Query("SELECT count(*) FROM (" + scan + ")"));
    return rows->GetInt64(0, 0);
  }

  Result<Outcome> RowCountChange(const QualityCheck& check) {
    Outcome outcome;
    int64_t version = snapshot_.version;
    if (version == 0) {
      outcome.detail = "no previous version";
      return outcome;
    }
    auto previous = opened_->Load(version - 1);
    if (!previous.ok()) {
      if (previous.status().code() != StatusCode::kNotFound) return previous.status();
      outcome.detail = "version " + std::to_string(version - 1) + " is no longer in the log";
      return outcome;
    }
    ASSIGN_OR_RETURN(int64_t now_rows, CountRows(snapshot_));
    ASSIGN_OR_RETURN(int64_t then_rows, CountRows(*previous));
    outcome.observed = now_rows - then_rows;
    std::string counts = std::to_string(then_rows) + " rows at version " + std::to_string(version - 1) + ", " +
                         std::to_string(now_rows) + " at " + std::to_string(version);
    if (then_rows == 0) {
      outcome.detail = counts + ": no baseline";
      return outcome;
    }
    double change = static_cast<double>(now_rows) / static_cast<double>(then_rows) - 1;
    outcome.pass = std::fabs(change) <= check.max_change;
    outcome.detail = counts + " (" + (change >= 0 ? "+" : "") + FormatPercent(change) +
                     (outcome.pass ? ", within" : ", beyond") + " ±" + FormatPercent(check.max_change) + ")";
    return outcome;
  }

  sql::Lake* lake_;
  engine::Connection* connection_;
  const std::string& table_;
  table::Table* opened_;
  const delta::Snapshot& snapshot_;
  std::string scan_;
  const QualityContext& context_;
};

// The columns of system.quality_results, in order, with their DuckDB types.
const std::vector<std::pair<std::string, std::string>>& ResultColumns() {
  static const std::vector<std::pair<std::string, std::string>> columns = {
      {"table_name", "VARCHAR"}, {"table_version", "BIGINT"}, {"check_name", "VARCHAR"},
      {"kind", "VARCHAR"},       {"status", "VARCHAR"},       {"blocking", "BOOLEAN"},
      {"observed", "BIGINT"},    {"detail", "VARCHAR"},       {"checked_at", "TIMESTAMP WITH TIME ZONE"}};
  return columns;
}

Status EnsureResultsTable(sql::Lake* lake) {
  return EnsureTable(lake, kQualityResultsTable, ResultColumns(),
                     "Outcomes of the data quality checks, one row per check run");
}

}  // namespace

const char* QualityCheckKindName(QualityCheckKind kind) {
  for (const KindInfo& info : Kinds()) {
    if (info.kind == kind) return info.name;
  }
  assert(false && "every QualityCheckKind has a name");
  return "unknown";
}

const char* QualityStatusName(QualityStatus status) {
  switch (status) {
    case QualityStatus::kPass: return "pass";
    case QualityStatus::kFail: return "fail";
    case QualityStatus::kError: return "error";
  }
  return "error";
}

std::string QualityCheck::DisplayName() const {
  if (!name.empty()) return name;
  std::string kind_name = QualityCheckKindName(kind);
  switch (kind) {
    case QualityCheckKind::kNotNull:
    case QualityCheckKind::kUnique:
      return kind_name + "(" + Join(columns, ", ") + ")";
    case QualityCheckKind::kAcceptedRange:
      return kind_name + "(" + column + ", " + (min ? FormatNumber(*min) : "") + ".." +
             (max ? FormatNumber(*max) : "") + ")";
    case QualityCheckKind::kFreshness:
      return kind_name + "(" + date_column + " by " + key_column + ", " + calendar + ")";
    case QualityCheckKind::kRowCountChange:
      return kind_name + "(" + FormatNumber(max_change) + ")";
  }
  return kind_name;
}

Result<std::vector<QualityCheck>> ParseQualityChecks(const YAML::Node& list, const std::string& source,
                                                     const std::string& table) {
  std::string where = source + ": " + table;
  std::vector<QualityCheck> checks;
  if (!list || list.IsNull()) return checks;
  if (!list.IsSequence()) {
    return Status::InvalidArgument(where + ": checks must be a list ([{check: not_null, columns: [...]}, ...])");
  }
  try {
    for (size_t i = 0; i < list.size(); ++i) {
      ASSIGN_OR_RETURN(QualityCheck check, ParseEntry(list[i], where, i));
      checks.push_back(std::move(check));
    }
  } catch (const YAML::Exception& error) {
    return Status::InvalidArgument(where + ": " + error.what());
  }
  return checks;
}

Result<QualityConfig> ParseQualityYaml(const std::string& yaml_text, const std::string& source) {
  QualityConfig config;
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (!root || root.IsNull()) return config;
    if (!root.IsMap()) {
      return Status::InvalidArgument(source + ": must be a mapping from table names to lists of checks");
    }
    for (const auto& entry : root) {
      std::string table = entry.first.as<std::string>();
      size_t dot = table.find('.');
      if (dot == std::string::npos || dot == 0 || dot + 1 == table.size()) {
        return Status::InvalidArgument(source + ": '" + table + "' is not a qualified table name (namespace.table)");
      }
      if (config.count(table)) return Status::InvalidArgument(source + ": " + table + " is listed twice");
      ASSIGN_OR_RETURN(std::vector<QualityCheck> checks, ParseQualityChecks(entry.second, source, table));
      config.emplace(table, std::move(checks));
    }
  } catch (const YAML::Exception& error) {
    return Status::InvalidArgument(source + ": " + error.what());
  }
  return config;
}

Result<QualityConfig> LoadQualityConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return QualityConfig();
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read " + path);
  return ParseQualityYaml(text.str(), path);
}

std::string QualityConfigPath(const std::string& lake_dir) { return lake_dir + "/pipelines/quality.yaml"; }

Status ValidateQualityChecks(sql::Lake* lake, const std::string& table, const std::vector<QualityCheck>& checks) {
  ASSIGN_OR_RETURN(auto opened, lake->OpenTable(table));
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, opened->Load());
  for (const QualityCheck& check : checks) {
    RETURN_IF_ERROR(ResolveColumns(snapshot.schema, table, check).status());
  }
  return Status::Ok();
}

Result<std::vector<QualityResult>> RunQualityChecks(sql::Lake* lake, const std::string& table,
                                                    const std::vector<QualityCheck>& checks,
                                                    const QualityContext& context) {
  int64_t now_ms = context.now_ms > 0 ? context.now_ms : SystemClock().NowMillis();
  std::vector<QualityResult> results;
  for (const QualityCheck& check : checks) {
    QualityResult result;
    result.table = table;
    result.check = check.DisplayName();
    result.kind = check.kind;
    result.blocking = check.blocking;
    result.checked_at_ms = now_ms;
    results.push_back(std::move(result));
  }
  if (checks.empty()) return results;
  ASSIGN_OR_RETURN(auto connection, lake->Connect());

  // One snapshot for every check, so the results describe one version.
  auto fail_all = [&](const Status& status) {
    for (QualityResult& result : results) {
      result.status = QualityStatus::kError;
      result.detail = "cannot read " + table + ": " + status.message();
    }
    return results;
  };
  auto opened = lake->OpenTable(table);
  if (!opened.ok()) return fail_all(opened.status());
  auto snapshot = (*opened)->Load();
  if (!snapshot.ok()) return fail_all(snapshot.status());
  auto scan = (*opened)->ScanSql(*snapshot);
  if (!scan.ok()) return fail_all(scan.status());

  CheckRunner runner(lake, connection.get(), table, opened->get(), *snapshot, *scan, context);
  for (size_t i = 0; i < checks.size(); ++i) {
    QualityResult& result = results[i];
    result.table_version = snapshot->version;
    auto outcome = runner.Run(checks[i]);
    if (!outcome.ok()) {
      result.status = QualityStatus::kError;
      result.detail = outcome.status().message();
      continue;
    }
    result.status = outcome->pass ? QualityStatus::kPass : QualityStatus::kFail;
    result.observed = outcome->observed;
    result.detail = std::move(outcome->detail);
  }
  return results;
}

Status WriteQualityResults(sql::Lake* lake, const std::vector<QualityResult>& results) {
  if (results.empty()) return Status::Ok();
  RETURN_IF_ERROR(EnsureResultsTable(lake));
  // Results are few (one per declared check), so they travel as literals.
  std::vector<std::string> rows;
  for (const QualityResult& r : results) {
    assert(!r.table.empty() && !r.check.empty() && r.checked_at_ms > 0);
    rows.push_back("(" + SqlQuote(r.table) + ", " + std::to_string(r.table_version) + ", " + SqlQuote(r.check) +
                   ", " + SqlQuote(QualityCheckKindName(r.kind)) + ", " + SqlQuote(QualityStatusName(r.status)) +
                   ", " + (r.blocking ? "true" : "false") + ", " + std::to_string(r.observed) + ", " +
                   SqlQuote(r.detail) + ", " + std::to_string(r.checked_at_ms) + ")");
  }
  std::vector<std::string> names, select;
  for (const auto& [column, type] : ResultColumns()) {
    names.push_back(SqlIdentifier(column));
    select.push_back(column == "checked_at" ? "make_timestamptz(CAST(checked_at AS BIGINT) * 1000) AS checked_at"
                                            : "CAST(" + SqlIdentifier(column) + " AS " + type + ") AS " +
                                                  SqlIdentifier(column));
  }
  std::string source = "SELECT " + Join(select, ", ") + " FROM (VALUES " + Join(rows, ", ") + ") AS v(" +
                       Join(names, ", ") + ")";
  ASSIGN_OR_RETURN(auto table, lake->OpenTable(kQualityResultsTable));
  return table->Append(source).status().WithContext(std::string("writing ") + kQualityResultsTable);
}

bool AnyBlockingFailure(const std::vector<QualityResult>& results, std::string* why) {
  std::vector<std::string> lines;
  for (const QualityResult& r : results) {
    if (!r.Blocks()) continue;
    lines.push_back(r.table + ": blocking check " + r.check +
                    (r.status == QualityStatus::kFail ? " failed: " : " could not run: ") + r.detail);
  }
  if (why != nullptr) *why = Join(lines, "\n");
  return !lines.empty();
}

}  // namespace finlake::pipeline
