// A lake for unit tests: created in a scratch folder, with tables of plain columns.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "finlake/sql/lake.h"

namespace finlake::testing {

// A new lake at `dir` (created).
inline std::unique_ptr<sql::Lake> NewLake(const std::string& dir) {
  sql::LakeOptions options;
  options.create = true;
  auto lake = sql::Lake::Open(dir, options);
  EXPECT_TRUE(lake.ok()) << lake.status().ToString();
  return lake.ok() ? std::move(*lake) : nullptr;
}

// `name` (namespace.table) created in `lake` with nullable columns of the given
// (column, Delta primitive type) pairs.
inline Result<std::unique_ptr<table::Table>> CreatePlainTable(
    sql::Lake& lake, const std::string& name, const std::vector<std::pair<std::string, std::string>>& columns) {
  table::CreateSpec spec;
  for (const auto& [column, type] : columns) {
    spec.schema.fields.push_back({column, delta::DataType::Primitive(type), true, nlohmann::json::object()});
  }
  return lake.CreateTable(name, spec, "test");
}

}  // namespace finlake::testing
