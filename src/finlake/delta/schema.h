// Delta table schemas: the StructType JSON of PROTOCOL.md "Schema Serialization
// Format", and its mapping to DuckDB types (DESIGN.md "Contracts", Types).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "finlake/core/status.h"

namespace finlake::delta {

struct StructField;

// A Delta data type. Primitive names are Delta's ("long", "timestamp", ...).
struct DataType {
  enum class Kind { kPrimitive, kDecimal, kStruct, kArray, kMap };
  Kind kind = Kind::kPrimitive;
  std::string primitive;                 // kPrimitive: "string", "long", ...
  int precision = 0, scale = 0;          // kDecimal
  std::vector<StructField> fields;       // kStruct
  std::shared_ptr<DataType> element;     // kArray
  bool contains_null = true;             // kArray
  std::shared_ptr<DataType> key, value;  // kMap
  bool value_contains_null = true;       // kMap

  static DataType Primitive(std::string name);
  static DataType Decimal(int precision, int scale);
  bool IsNested() const { return kind == Kind::kStruct || kind == Kind::kArray || kind == Kind::kMap; }
  // The Delta spelling: "long", "decimal(10,2)", or "struct"/"array"/"map".
  std::string Name() const;
  bool operator==(const DataType& other) const;
  bool operator!=(const DataType& other) const { return !(*this == other); }
};

struct StructField {
  std::string name;
  DataType type;
  bool nullable = true;
  nlohmann::json metadata = nlohmann::json::object();
  bool operator==(const StructField& other) const;
};

struct Schema {
  std::vector<StructField> fields;
  const StructField* Find(const std::string& name) const;  // Case-insensitive, as Delta.
  bool operator==(const Schema& other) const { return fields == other.fields; }
};

// Parses schemaString. Unknown type names are Unsupported errors naming the column.
[[nodiscard]] Result<Schema> ParseSchema(const std::string& schema_string);
std::string SerializeSchema(const Schema& schema);
nlohmann::json DataTypeToJson(const DataType& type);

// The DuckDB type a Delta type reads as ("BIGINT", "TIMESTAMP WITH TIME ZONE",
// "STRUCT(\"a\" INTEGER)", ...).
std::string ToDuckDbType(const DataType& type);
// The Delta type that a DuckDB type (as DuckDB prints it) is stored as, following
// the Contracts table; INTERVAL, TIME, UNION and the like are Unsupported, naming
// `column`.
[[nodiscard]] Result<DataType> FromDuckDbType(const std::string& duckdb_type, const std::string& column);

}  // namespace finlake::delta
