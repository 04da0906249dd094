// A staging table in the lake's in-memory DuckDB database: rows computed in C++
// go in through DuckDB's appender (no text round trip), and a SELECT over it
// feeds a table write. Every connection of the lake's Database sees it; it is
// dropped when the StageTable goes.
//
// Thread-compatible.
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "finlake/engine/engine.h"
#include "finlake/sql/lake.h"

namespace finlake::pipeline {

// (name, DuckDB type). "TIMESTAMP WITH TIME ZONE" columns are appended as
// milliseconds since the epoch and converted by Select().
using Columns = std::vector<std::pair<std::string, std::string>>;

// Creates table `name` with `columns` (DuckDB types, all nullable) when the lake
// does not have it yet; an existing table is left as it is.
[[nodiscard]] Status EnsureTable(sql::Lake* lake, const std::string& name, const Columns& columns,
                                 const std::string& description,
                                 const std::vector<std::string>& partition_columns = {});

class StageTable {
 public:
  // An empty table with `columns`, ready for appends.
  [[nodiscard]] static Result<std::unique_ptr<StageTable>> Create(engine::Connection& connection,
                                                                  const Columns& columns);
  // A table holding the rows of `select_sql` (no appender).
  [[nodiscard]] static Result<std::unique_ptr<StageTable>> CreateAs(engine::Connection& connection,
                                                                    const std::string& select_sql);
  ~StageTable();
  StageTable(const StageTable&) = delete;
  StageTable& operator=(const StageTable&) = delete;

  const std::string& name() const { return name_; }
  int64_t rows() const { return rows_; }

  // Typed appends, one per column in order, then EndRow(). A non-finite double
  // is stored as null.
  void Varchar(std::string_view value);
  void Double(double value);
  void Int64(int64_t value);
  void Date(int32_t days_since_epoch);
  void Bool(bool value);
  void Blob(std::string_view bytes);
  void Null();
  [[nodiscard]] Status EndRow();
  // One row from a JSON object, by column name and type (a missing key is null).
  [[nodiscard]] Status AddJson(const nlohmann::json& row);

  // Flushes the appender; then the SELECT of the columns with their declared
  // types (timestamps converted back from milliseconds).
  [[nodiscard]] Result<std::string> Select();

 private:
  StageTable(engine::Connection& connection, std::string name, Columns columns)
      : connection_(connection), name_(std::move(name)), columns_(std::move(columns)) {}
  void Check(duckdb_state state);

  engine::Connection& connection_;
  std::string name_;
  Columns columns_;
  duckdb_appender appender_ = nullptr;
  bool failed_ = false;
  int64_t rows_ = 0;
};

}  // namespace finlake::pipeline
