#include "finlake/table/file_skipping.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <optional>
#include <variant>

#include "finlake/core/limits.h"
#include "finlake/core/strings.h"

namespace finlake::table {

using nlohmann::json;

namespace {

// A value in the order the column's type compares: integers, dates (days) and
// timestamps (microseconds) as int64; float, double and decimal as double; strings
// and binary by bytes; booleans as 0/1.
using Key = std::variant<int64_t, double, std::string>;

enum class Domain { kInteger, kReal, kText, kDate, kTimestamp, kBoolean, kUnsupported };

Domain DomainOf(const delta::DataType& type) {
  if (type.kind == delta::DataType::Kind::kDecimal) return Domain::kReal;
  if (type.kind != delta::DataType::Kind::kPrimitive) return Domain::kUnsupported;
  const std::string& p = type.primitive;
  if (p == "long" || p == "integer" || p == "short" || p == "byte") return Domain::kInteger;
  if (p == "double" || p == "float") return Domain::kReal;
  if (p == "string" || p == "binary") return Domain::kText;
  if (p == "date") return Domain::kDate;
  if (p == "timestamp" || p == "timestamp_ntz") return Domain::kTimestamp;
  if (p == "boolean") return Domain::kBoolean;
  return Domain::kUnsupported;
}

std::optional<int64_t> ParseDays(const std::string& text) {
  int y = 0, m = 0, d = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%d", &y, &m, &d) != 3) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  return static_cast<int64_t>(timegm(&tm) / 86400);
}

// "2024-01-02", "2024-01-02 21:00:00", "2024-01-02T21:00:00.123456Z",
// "2000-01-01T00:00:00.000-08:00", "... +00" -> microseconds since the epoch, UTC.
std::optional<int64_t> ParseMicros(const std::string& text) {
  auto days = ParseDays(text);
  if (!days) return std::nullopt;
  int64_t micros = *days * 86400 * 1000000;
  if (text.size() <= 10) return micros;
  int hour = 0, minute = 0, second = 0;
  if (std::sscanf(text.c_str() + 11, "%d:%d:%d", &hour, &minute, &second) < 2) return std::nullopt;
  micros += (static_cast<int64_t>(hour) * 3600 + minute * 60 + second) * 1000000;
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    int64_t fraction = 0;
    int digits = 0;
    for (++pos; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos) {
      if (digits < 6) {
        fraction = fraction * 10 + (text[pos] - '0');
        ++digits;
      }
    }
    while (digits++ < 6) fraction *= 10;
    micros += fraction;
  }
  while (pos < text.size() && text[pos] == ' ') ++pos;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int offset_hours = 0, offset_minutes = 0;
    std::sscanf(text.c_str() + pos + 1, "%2d:%2d", &offset_hours, &offset_minutes);
    int64_t offset = (static_cast<int64_t>(offset_hours) * 3600 + offset_minutes * 60) * 1000000;
    micros -= text[pos] == '+' ? offset : -offset;
  }
  return micros;
}

std::optional<Key> ParseKey(Domain domain, const json& value) {
  try {
    switch (domain) {
      case Domain::kInteger:
        if (value.is_number_integer()) return Key(value.get<int64_t>());
        if (value.is_string()) return Key(static_cast<int64_t>(std::stoll(value.get<std::string>())));
        return std::nullopt;
      case Domain::kReal:
        if (value.is_number()) return Key(value.get<double>());
        if (value.is_string()) return Key(std::stod(value.get<std::string>()));
        return std::nullopt;
      case Domain::kText:
        if (value.is_string()) return Key(value.get<std::string>());
        return std::nullopt;
      case Domain::kDate:
        if (value.is_string()) {
          if (auto days = ParseDays(value.get<std::string>())) return Key(*days);
        }
        return std::nullopt;
      case Domain::kTimestamp:
        if (value.is_string()) {
          if (auto micros = ParseMicros(value.get<std::string>())) return Key(*micros);
        }
        return std::nullopt;
      case Domain::kBoolean:
        if (value.is_boolean()) return Key(static_cast<int64_t>(value.get<bool>()));
        if (value.is_string()) return Key(static_cast<int64_t>(ToLower(value.get<std::string>()) == "true"));
        return std::nullopt;
      case Domain::kUnsupported:
        return std::nullopt;
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

int Compare(const Key& a, const Key& b) {
  if (a.index() != b.index()) {
    double x = std::holds_alternative<int64_t>(a) ? static_cast<double>(std::get<int64_t>(a)) : std::get<double>(a);
    double y = std::holds_alternative<int64_t>(b) ? static_cast<double>(std::get<int64_t>(b)) : std::get<double>(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a < b) return -1;
  return b < a ? 1 : 0;
}

// The range [min, max] the file's values may take; an unset side is unbounded.
struct Bounds {
  std::optional<Key> min, max;
  std::optional<int64_t> null_count, num_records;
};

// `real_tolerance`: how far (relative) a real bound written as JSON may sit from
// the stored value.
Bounds StatsBounds(const json& stats, const std::string& column, Domain domain, double real_tolerance) {
  Bounds bounds;
  if (stats.contains("numRecords") && stats["numRecords"].is_number_integer()) {
    bounds.num_records = stats["numRecords"].get<int64_t>();
  }
  auto field = [&](const char* section) -> const json* {
    if (!stats.contains(section) || !stats[section].is_object()) return nullptr;
    for (auto it = stats[section].begin(); it != stats[section].end(); ++it) {
      if (ToLower(it.key()) == ToLower(column)) return &it.value();
    }
    return nullptr;
  };
  if (const json* count = field("nullCount"); count != nullptr && count->is_number_integer()) {
    bounds.null_count = count->get<int64_t>();
  }
  if (const json* min = field("minValues")) bounds.min = ParseKey(domain, *min);
  if (const json* max = field("maxValues")) {
    bounds.max = ParseKey(domain, *max);
    // A string bound at the prefix length may be a truncated prefix: no upper bound.
    if (bounds.max && domain == Domain::kText) {
      const std::string& text = std::get<std::string>(*bounds.max);
      size_t characters = 0;
      for (unsigned char c : text) characters += (c & 0xC0) != 0x80;
      if (static_cast<int>(characters) >= limits::kStatsStringPrefixMax) bounds.max.reset();
    }
  }
  if (domain == Domain::kTimestamp) {
    // Bounds are written in milliseconds (Spark truncates both down): widen by 1 ms.
    if (bounds.min) bounds.min = Key(std::get<int64_t>(*bounds.min) - 1000);
    if (bounds.max) bounds.max = Key(std::get<int64_t>(*bounds.max) + 1000);
  }
  if (domain == Domain::kReal) {
    // Decimals and floats travel as JSON doubles: allow for their rounding.
    auto widen = [&](double v, int direction) {
      return v + direction * std::max(std::abs(v) * real_tolerance, std::numeric_limits<double>::denorm_min());
    };
    if (bounds.min) bounds.min = Key(widen(std::get<double>(*bounds.min), -1));
    if (bounds.max) bounds.max = Key(widen(std::get<double>(*bounds.max), +1));
  }
  return bounds;
}

// Whether a value in [min, max] may satisfy the predicate.
bool RangeMayMatch(const Bounds& bounds, ColumnPredicate::Op op, const std::vector<Key>& values) {
  auto above_min = [&](const Key& v, bool inclusive) {  // Some value >= (or >) v may exist.
    if (!bounds.max) return true;
    int c = Compare(*bounds.max, v);
    return inclusive ? c >= 0 : c > 0;
  };
  auto below_max = [&](const Key& v, bool inclusive) {  // Some value <= (or <) v may exist.
    if (!bounds.min) return true;
    int c = Compare(*bounds.min, v);
    return inclusive ? c <= 0 : c < 0;
  };
  switch (op) {
    case ColumnPredicate::Op::kEq: return above_min(values[0], true) && below_max(values[0], true);
    case ColumnPredicate::Op::kLt: return below_max(values[0], false);
    case ColumnPredicate::Op::kLe: return below_max(values[0], true);
    case ColumnPredicate::Op::kGt: return above_min(values[0], false);
    case ColumnPredicate::Op::kGe: return above_min(values[0], true);
    case ColumnPredicate::Op::kBetween: return above_min(values[0], true) && below_max(values[1], true);
    case ColumnPredicate::Op::kIn:
      for (const Key& v : values) {
        if (above_min(v, true) && below_max(v, true)) return true;
      }
      return false;
    default: return true;
  }
}

}  // namespace

namespace {

json ParseFileStats(const delta::AddFile& file) {
  json stats;
  if (file.stats) stats = json::parse(*file.stats, nullptr, false);
  if (stats.is_discarded() || !stats.is_object()) stats = json::object();
  return stats;
}

}  // namespace

ParsedStats ParseStats(const delta::Snapshot& snapshot) {
  ParsedStats parsed;
  parsed.reserve(snapshot.files.size());
  for (const delta::AddFile& file : snapshot.files) parsed.push_back(ParseFileStats(file));
  return parsed;
}

Result<std::vector<size_t>> SelectFiles(const delta::Snapshot& snapshot, const std::vector<ColumnPredicate>& conjunction,
                                        const ParsedStats* parsed) {
  if (parsed != nullptr && parsed->size() != snapshot.files.size()) {
    return Status::Internal("file skipping: parsed stats of another snapshot");
  }
  struct Prepared {
    const ColumnPredicate* predicate;
    std::string name;  // The schema's spelling.
    Domain domain;
    bool partition;
    bool single_precision;  // A float column.
    std::vector<Key> values;
  };
  std::vector<Prepared> prepared;
  for (const ColumnPredicate& predicate : conjunction) {
    const delta::StructField* field = snapshot.schema.Find(predicate.column);
    if (field == nullptr) {
      return Status::InvalidArgument("file skipping: no column '" + predicate.column + "' in the table");
    }
    Prepared p{&predicate, field->name, DomainOf(field->type), false, field->type.Name() == "float", {}};
    for (const std::string& column : snapshot.metadata.partition_columns) {
      p.partition |= ToLower(column) == ToLower(field->name);
    }
    size_t arity = predicate.values.size();
    bool arity_ok = predicate.op == ColumnPredicate::Op::kIsNull || predicate.op == ColumnPredicate::Op::kIsNotNull
                        ? arity == 0
                    : predicate.op == ColumnPredicate::Op::kBetween ? arity == 2
                    : predicate.op == ColumnPredicate::Op::kIn      ? arity >= 1
                                                                    : arity == 1;
    if (!arity_ok) return Status::InvalidArgument("file skipping: wrong number of values for column '" + field->name + "'");
    for (const std::string& text : predicate.values) {
      auto key = ParseKey(p.domain, json(text));
      if (!key) {
        if (p.domain == Domain::kUnsupported) break;  // Nested columns: never skip on them.
        return Status::InvalidArgument("file skipping: '" + text + "' is not a " + field->type.Name() +
                                       " (column '" + field->name + "')");
      }
      p.values.push_back(*key);
    }
    if (p.domain == Domain::kUnsupported) continue;
    prepared.push_back(std::move(p));
  }

  const bool needs_stats =
      std::any_of(prepared.begin(), prepared.end(), [](const Prepared& p) { return !p.partition; });
  std::vector<size_t> selected;
  for (size_t i = 0; i < snapshot.files.size(); ++i) {
    const delta::AddFile& file = snapshot.files[i];
    // Partition predicates alone need no stats.
    json own;
    if (parsed == nullptr && needs_stats) own = ParseFileStats(file);
    const json& stats = parsed != nullptr ? (*parsed)[i] : own;
    bool may_match = true;
    for (const Prepared& p : prepared) {
      ColumnPredicate::Op op = p.predicate->op;
      if (p.partition) {
        // Exact: the file's rows all carry this value ("" and null both mean null).
        std::optional<std::string> value;
        for (const auto& [key, text] : file.partition_values) {
          if (ToLower(key) == ToLower(p.name) && text && !text->empty()) value = text;
        }
        if (op == ColumnPredicate::Op::kIsNull) may_match = !value;
        else if (op == ColumnPredicate::Op::kIsNotNull) may_match = value.has_value();
        else if (!value) may_match = false;
        else {
          auto key = ParseKey(p.domain, json(*value));
          if (key) {
            Bounds exact;
            exact.min = exact.max = key;
            may_match = RangeMayMatch(exact, op, p.values);
          }
        }
      } else {
        // A float's bound is often its shortest decimal ("0.1"), up to half a
        // float ulp (6e-8 relative) from the stored value; doubles and decimals
        // round trip to within one double rounding.
        Bounds bounds = StatsBounds(stats, p.name, p.domain, p.single_precision ? 1e-6 : 1e-12);
        bool all_null = bounds.null_count && bounds.num_records && *bounds.null_count == *bounds.num_records;
        if (op == ColumnPredicate::Op::kIsNull) may_match = !(bounds.null_count && *bounds.null_count == 0);
        else if (op == ColumnPredicate::Op::kIsNotNull) may_match = !all_null;
        else if (all_null) may_match = false;  // A comparison with null is never true.
        else may_match = RangeMayMatch(bounds, op, p.values);
      }
      if (!may_match) break;
    }
    if (may_match) selected.push_back(i);
  }
  return selected;
}

}  // namespace finlake::table
