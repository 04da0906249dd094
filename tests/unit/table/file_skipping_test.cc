#include "finlake/table/file_skipping.h"

#include <gtest/gtest.h>

#include <random>

#include "finlake/core/strings.h"

namespace finlake::table {
namespace {

using nlohmann::json;
using Op = ColumnPredicate::Op;

// One row of the synthetic table: id, px, sym, ts (micros), region (partition).
struct Row {
  int64_t id;
  double px;
  std::string sym;
  int64_t ts;
  std::optional<std::string> region;
};

std::string Iso(int64_t micros, bool millis_only) {
  int64_t seconds = micros >= 0 ? micros / 1000000 : -((-micros + 999999) / 1000000);
  int64_t fraction = micros - seconds * 1000000;
  std::string base = FormatIsoMillis(seconds * 1000);
  char tail[16];
  if (millis_only) std::snprintf(tail, sizeof(tail), ".%03dZ", static_cast<int>(fraction / 1000));
  else std::snprintf(tail, sizeof(tail), ".%06dZ", static_cast<int>(fraction));
  return base.substr(0, 19) + tail;
}

delta::Snapshot MakeSnapshot(const std::vector<std::vector<Row>>& files, bool spark_like) {
  delta::Snapshot snapshot;
  snapshot.schema.fields = {{"id", delta::DataType::Primitive("long"), true, json::object()},
                            {"px", delta::DataType::Primitive("double"), true, json::object()},
                            {"sym", delta::DataType::Primitive("string"), true, json::object()},
                            {"ts", delta::DataType::Primitive("timestamp"), true, json::object()},
                            {"region", delta::DataType::Primitive("string"), true, json::object()}};
  snapshot.metadata.partition_columns = {"region"};
  for (size_t f = 0; f < files.size(); ++f) {
    const auto& rows = files[f];
    delta::AddFile add;
    add.path = "f" + std::to_string(f);
    add.partition_values["region"] = rows.front().region;
    json min = json::object(), max = json::object();
    auto id = std::minmax_element(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.id < b.id; });
    auto px = std::minmax_element(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.px < b.px; });
    auto sym = std::minmax_element(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.sym < b.sym; });
    auto ts = std::minmax_element(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.ts < b.ts; });
    min["id"] = id.first->id;
    max["id"] = id.second->id;
    min["px"] = px.first->px;
    max["px"] = px.second->px;
    // Spark-like stats truncate strings to 32 characters and timestamps to milliseconds, both bounds down.
    min["sym"] = spark_like ? sym.first->sym.substr(0, 32) : sym.first->sym;
    max["sym"] = spark_like ? sym.second->sym.substr(0, 32) : sym.second->sym;
    min["ts"] = Iso(ts.first->ts, spark_like);
    max["ts"] = Iso(ts.second->ts, spark_like);
    add.stats = json{{"numRecords", rows.size()},
                     {"minValues", min},
                     {"maxValues", max},
                     {"nullCount", {{"id", 0}, {"px", 0}, {"sym", 0}, {"ts", 0}}}}
                    .dump();
    snapshot.files.push_back(add);
  }
  return snapshot;
}

bool Matches(const Row& row, const ColumnPredicate& p) {
  auto cmp = [&](const std::string& literal) -> int {
    if (p.column == "id") return row.id < std::stoll(literal) ? -1 : row.id > std::stoll(literal);
    if (p.column == "px") return row.px < std::stod(literal) ? -1 : row.px > std::stod(literal);
    if (p.column == "sym") return row.sym.compare(literal) < 0 ? -1 : row.sym.compare(literal) > 0;
    if (p.column == "ts") {
      int64_t v = std::stoll(literal);
      return row.ts < v ? -1 : row.ts > v;
    }
    return row.region->compare(literal) < 0 ? -1 : row.region->compare(literal) > 0;
  };
  if (p.column == "region" && !row.region) return p.op == Op::kIsNull;
  switch (p.op) {
    case Op::kEq: return cmp(p.values[0]) == 0;
    case Op::kLt: return cmp(p.values[0]) < 0;
    case Op::kLe: return cmp(p.values[0]) <= 0;
    case Op::kGt: return cmp(p.values[0]) > 0;
    case Op::kGe: return cmp(p.values[0]) >= 0;
    case Op::kBetween: return cmp(p.values[0]) >= 0 && cmp(p.values[1]) <= 0;
    case Op::kIn:
      for (const auto& v : p.values) {
        if (cmp(v) == 0) return true;
      }
      return false;
    case Op::kIsNull: return false;
    case Op::kIsNotNull: return true;
  }
  return false;
}

TEST(FileSkipping, NeverSkipsAFileWithAMatchOverRandomPredicates) {
  std::mt19937_64 random(20261122);
  const std::string long_prefix(31, 'S');  // Symbols near the 32-character stats prefix.
  int64_t pruned = 0, total = 0;
  for (int round = 0; round < 300; ++round) {
    bool spark_like = round % 2 == 1;
    std::vector<std::vector<Row>> files(8);
    for (auto& rows : files) {
      std::optional<std::string> region;
      int r = static_cast<int>(random() % 4);
      if (r < 3) region = std::string(1, static_cast<char>('a' + r));
      int64_t base_ts = 1700000000000000 + static_cast<int64_t>(random() % 1000) * 1000000;
      for (int k = 0; k < 5; ++k) {
        rows.push_back(Row{static_cast<int64_t>(random() % 100), static_cast<double>(random() % 1000) / 10,
                           long_prefix + static_cast<char>('A' + random() % 3) + std::to_string(random() % 10),
                           base_ts + static_cast<int64_t>(random() % 5000), region});
      }
    }
    delta::Snapshot snapshot = MakeSnapshot(files, spark_like);
    // A random conjunction of one to three predicates.
    std::vector<ColumnPredicate> conjunction;
    int count = 1 + static_cast<int>(random() % 3);
    for (int c = 0; c < count; ++c) {
      const Row& pivot = files[random() % files.size()][random() % 5];
      ColumnPredicate p;
      Op ops[] = {Op::kEq, Op::kLt, Op::kLe, Op::kGt, Op::kGe, Op::kBetween, Op::kIn, Op::kIsNull, Op::kIsNotNull};
      p.op = ops[random() % 9];
      switch (random() % 5) {
        case 0: p.column = "id"; break;
        case 1: p.column = "px"; break;
        case 2: p.column = "sym"; break;
        case 3: p.column = "ts"; break;
        default: p.column = "region"; break;
      }
      auto literal = [&](const Row& row) -> std::string {
        if (p.column == "id") return std::to_string(row.id);
        if (p.column == "px") {
          char text[32];
          std::snprintf(text, sizeof(text), "%.1f", row.px);
          return text;
        }
        if (p.column == "sym") return row.sym;
        if (p.column == "ts") return std::to_string(row.ts);
        return row.region.value_or("a");
      };
      if (p.op == Op::kBetween) p.values = {literal(pivot), literal(files[random() % 8][random() % 5])};
      else if (p.op == Op::kIn) p.values = {literal(pivot), literal(files[random() % 8][random() % 5])};
      else if (p.op != Op::kIsNull && p.op != Op::kIsNotNull) p.values = {literal(pivot)};
      conjunction.push_back(p);
    }
    // Timestamps go to SelectFiles as text; the oracle compares micros.
    std::vector<ColumnPredicate> as_text = conjunction;
    for (auto& p : as_text) {
      if (p.column != "ts") continue;
      for (auto& v : p.values) v = Iso(std::stoll(v), /*millis_only=*/false);
    }
    auto selected = SelectFiles(snapshot, as_text);
    ASSERT_TRUE(selected.ok()) << selected.status().ToString();
    for (size_t f = 0; f < files.size(); ++f) {
      bool has_match = std::any_of(files[f].begin(), files[f].end(), [&](const Row& row) {
        return std::all_of(conjunction.begin(), conjunction.end(), [&](const auto& p) { return Matches(row, p); });
      });
      bool kept = std::find(selected->begin(), selected->end(), f) != selected->end();
      if (has_match) {
        ASSERT_TRUE(kept) << "round " << round << ": file " << f << " holds a match but was skipped";
      }
      total++;
      pruned += !kept;
    }
  }
  EXPECT_GT(pruned, total / 5) << "file skipping prunes something";
}

TEST(FileSkipping, TruncatedTimestampMaxNeverSkipsTheFile) {
  // Spark writes max ts truncated to milliseconds: 12:00:00.000 for a row at 12:00:00.000900.
  std::vector<std::vector<Row>> files = {{Row{1, 1, "A", 1700000000000900, std::string("a")}}};
  delta::Snapshot snapshot = MakeSnapshot(files, /*spark_like=*/true);
  auto selected = SelectFiles(snapshot, {{"ts", Op::kGe, {Iso(1700000000000500, false)}}});
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ(selected->size(), 1u);
}

TEST(FileSkipping, PartitionsAreExactAndErrorsNameTheColumn) {
  std::vector<std::vector<Row>> files = {{Row{1, 1, "A", 1, std::string("us")}}, {Row{2, 2, "B", 2, std::nullopt}}};
  delta::Snapshot snapshot = MakeSnapshot(files, false);
  EXPECT_EQ(*SelectFiles(snapshot, {{"region", Op::kEq, {"us"}}}), std::vector<size_t>{0});
  EXPECT_EQ(*SelectFiles(snapshot, {{"region", Op::kIsNull, {}}}), std::vector<size_t>{1});
  EXPECT_EQ(*SelectFiles(snapshot, {{"id", Op::kGt, {"1"}}}), std::vector<size_t>{1});
  EXPECT_FALSE(SelectFiles(snapshot, {{"nope", Op::kEq, {"1"}}}).ok());
  auto bad = SelectFiles(snapshot, {{"id", Op::kEq, {"one"}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'id'"), std::string::npos);
}

TEST(FileSkipping, AFloatBoundWrittenShortNeverSkipsTheFile) {
  // A float column holding 0.1f (0.100000001490116 as a double), its max written
  // as the float's shortest form "0.1", as Spark and others write it.
  delta::Snapshot snapshot;
  snapshot.schema.fields = {{"f", delta::DataType::Primitive("float"), true, json::object()}};
  delta::AddFile add;
  add.path = "f0";
  add.stats = json{{"numRecords", 1}, {"minValues", {{"f", 0.1}}}, {"maxValues", {{"f", 0.1}}}, {"nullCount", {{"f", 0}}}}
                  .dump();
  snapshot.files.push_back(add);
  const std::string stored = "0.10000000149011612";  // static_cast<double>(0.1f)
  EXPECT_EQ(SelectFiles(snapshot, {{"f", Op::kGe, {"0.100000001"}}})->size(), 1u);
  EXPECT_EQ(SelectFiles(snapshot, {{"f", Op::kEq, {stored}}})->size(), 1u);
  EXPECT_EQ(SelectFiles(snapshot, {{"f", Op::kGt, {"0.2"}}})->size(), 0u);  // Still skips what is far away.
}

}  // namespace
}  // namespace finlake::table
