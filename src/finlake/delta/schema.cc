#include "finlake/delta/schema.h"

#include <cctype>
#include <set>

#include "finlake/core/strings.h"

namespace finlake::delta {

using nlohmann::json;

DataType DataType::Primitive(std::string name) {
  DataType type;
  type.kind = Kind::kPrimitive;
  type.primitive = std::move(name);
  return type;
}

DataType DataType::Decimal(int precision, int scale) {
  DataType type;
  type.kind = Kind::kDecimal;
  type.precision = precision;
  type.scale = scale;
  return type;
}

std::string DataType::Name() const {
  switch (kind) {
    case Kind::kPrimitive: return primitive;
    case Kind::kDecimal: return "decimal(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
    case Kind::kStruct: return "struct";
    case Kind::kArray: return "array";
    case Kind::kMap: return "map";
  }
  return "?";
}

bool DataType::operator==(const DataType& other) const {
  if (kind != other.kind) return false;
  switch (kind) {
    case Kind::kPrimitive: return primitive == other.primitive;
    case Kind::kDecimal: return precision == other.precision && scale == other.scale;
    case Kind::kStruct: return fields == other.fields;
    case Kind::kArray: return *element == *other.element && contains_null == other.contains_null;
    case Kind::kMap:
      return *key == *other.key && *value == *other.value &&
             value_contains_null == other.value_contains_null;
  }
  return false;
}

bool StructField::operator==(const StructField& other) const {
  return name == other.name && type == other.type && nullable == other.nullable;
}

const StructField* Schema::Find(const std::string& name) const {
  std::string lower = ToLower(name);
  for (const StructField& field : fields) {
    if (ToLower(field.name) == lower) return &field;
  }
  return nullptr;
}

namespace {

const std::set<std::string>& KnownPrimitives() {
  static const std::set<std::string> names = {"string", "long",   "integer", "short",     "byte",
                                              "float",  "double", "boolean", "binary",    "date",
                                              "timestamp", "timestamp_ntz", "void"};
  return names;
}

Result<DataType> ParseType(const json& node, const std::string& column);

Result<StructField> ParseField(const json& node, const std::string& parent) {
  if (!node.is_object() || !node.contains("name") || !node["name"].is_string() ||
      !node.contains("type")) {
    return Status::Corruption("schema field under '" + parent + "' lacks a name or type");
  }
  StructField field;
  field.name = node["name"].get<std::string>();
  std::string path = parent.empty() ? field.name : parent + "." + field.name;
  ASSIGN_OR_RETURN(field.type, ParseType(node["type"], path));
  field.nullable = node.value("nullable", true);
  if (node.contains("metadata") && node["metadata"].is_object()) field.metadata = node["metadata"];
  return field;
}

Result<DataType> ParseType(const json& node, const std::string& column) {
  if (node.is_string()) {
    std::string name = node.get<std::string>();
    if (StartsWith(name, "decimal")) {
      int precision = 10, scale = 0;  // "decimal" alone is Spark's decimal(10,0).
      if (name != "decimal" && std::sscanf(name.c_str(), "decimal(%d,%d)", &precision, &scale) != 2) {
        return Status::Corruption("column '" + column + "': malformed decimal type '" + name + "'");
      }
      if (precision < 1 || precision > 38 || scale < 0 || scale > precision) {
        return Status::Corruption("column '" + column + "': decimal(" + std::to_string(precision) +
                                  "," + std::to_string(scale) + ") is outside 1 <= p <= 38, 0 <= s <= p");
      }
      return DataType::Decimal(precision, scale);
    }
    if (!KnownPrimitives().count(name)) {
      return Status::Unsupported("column '" + column + "': Delta type '" + name +
                                 "' is not supported (variant, interval and others need table features finlake does not implement)");
    }
    return DataType::Primitive(name);
  }
  if (!node.is_object() || !node.contains("type")) {
    return Status::Corruption("column '" + column + "': type is neither a name nor an object");
  }
  std::string kind = node["type"].get<std::string>();
  DataType type;
  if (kind == "struct") {
    type.kind = DataType::Kind::kStruct;
    for (const json& child : node.value("fields", json::array())) {
      ASSIGN_OR_RETURN(StructField field, ParseField(child, column));
      type.fields.push_back(std::move(field));
    }
  } else if (kind == "array") {
    type.kind = DataType::Kind::kArray;
    ASSIGN_OR_RETURN(DataType element, ParseType(node.value("elementType", json()), column + ".element"));
    type.element = std::make_shared<DataType>(std::move(element));
    type.contains_null = node.value("containsNull", true);
  } else if (kind == "map") {
    type.kind = DataType::Kind::kMap;
    ASSIGN_OR_RETURN(DataType key, ParseType(node.value("keyType", json()), column + ".key"));
    ASSIGN_OR_RETURN(DataType value, ParseType(node.value("valueType", json()), column + ".value"));
    type.key = std::make_shared<DataType>(std::move(key));
    type.value = std::make_shared<DataType>(std::move(value));
    type.value_contains_null = node.value("valueContainsNull", true);
  } else {
    return Status::Unsupported("column '" + column + "': nested type '" + kind + "' is not supported");
  }
  return type;
}

}  // namespace

Result<Schema> ParseSchema(const std::string& schema_string) {
  json root = json::parse(schema_string, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status::Corruption("schemaString is not valid JSON");
  if (!root.is_object() || root.value("type", "") != "struct" || !root.contains("fields") ||
      !root["fields"].is_array()) {
    return Status::Corruption("schemaString is not a struct type with fields");
  }
  Schema schema;
  std::set<std::string> seen;
  for (const json& node : root["fields"]) {
    ASSIGN_OR_RETURN(StructField field, ParseField(node, ""));
    if (!seen.insert(ToLower(field.name)).second) {
      return Status::Corruption("schemaString: column name '" + field.name +
                                "' appears twice (names are unique ignoring case)");
    }
    schema.fields.push_back(std::move(field));
  }
  return schema;
}

json DataTypeToJson(const DataType& type) {
  switch (type.kind) {
    case DataType::Kind::kPrimitive:
    case DataType::Kind::kDecimal:
      return type.Name();
    case DataType::Kind::kStruct: {
      json fields = json::array();
      for (const StructField& field : type.fields) {
        fields.push_back({{"name", field.name},
                          {"type", DataTypeToJson(field.type)},
                          {"nullable", field.nullable},
                          {"metadata", field.metadata}});
      }
      return {{"type", "struct"}, {"fields", fields}};
    }
    case DataType::Kind::kArray:
      return {{"type", "array"},
              {"elementType", DataTypeToJson(*type.element)},
              {"containsNull", type.contains_null}};
    case DataType::Kind::kMap:
      return {{"type", "map"},
              {"keyType", DataTypeToJson(*type.key)},
              {"valueType", DataTypeToJson(*type.value)},
              {"valueContainsNull", type.value_contains_null}};
  }
  return nullptr;
}

std::string SerializeSchema(const Schema& schema) {
  DataType root;
  root.kind = DataType::Kind::kStruct;
  root.fields = schema.fields;
  return DataTypeToJson(root).dump();
}

std::string ToDuckDbType(const DataType& type) {
  switch (type.kind) {
    case DataType::Kind::kPrimitive: {
      const std::string& p = type.primitive;
      if (p == "string") return "VARCHAR";
      if (p == "long") return "BIGINT";
      if (p == "integer") return "INTEGER";
      if (p == "short") return "SMALLINT";
      if (p == "byte") return "TINYINT";
      if (p == "float") return "FLOAT";
      if (p == "double") return "DOUBLE";
      if (p == "boolean") return "BOOLEAN";
      if (p == "binary") return "BLOB";
      if (p == "date") return "DATE";
      if (p == "timestamp") return "TIMESTAMP WITH TIME ZONE";
      if (p == "timestamp_ntz") return "TIMESTAMP";
      return "VARCHAR";  // void: read as a null column.
    }
    case DataType::Kind::kDecimal:
      return "DECIMAL(" + std::to_string(type.precision) + "," + std::to_string(type.scale) + ")";
    case DataType::Kind::kStruct: {
      std::string out = "STRUCT(";
      for (size_t i = 0; i < type.fields.size(); ++i) {
        if (i > 0) out += ", ";
        out += SqlIdentifier(type.fields[i].name) + " " + ToDuckDbType(type.fields[i].type);
      }
      return out + ")";
    }
    case DataType::Kind::kArray:
      return ToDuckDbType(*type.element) + "[]";
    case DataType::Kind::kMap:
      return "MAP(" + ToDuckDbType(*type.key) + ", " + ToDuckDbType(*type.value) + ")";
  }
  return "VARCHAR";
}

namespace {

// A cursor over a DuckDB type string such as
// `STRUCT("a b" INTEGER, c MAP(VARCHAR, DOUBLE[]))[]`.
class DuckTypeParser {
 public:
  DuckTypeParser(const std::string& text, const std::string& column) : text_(text), column_(column) {}

  Result<DataType> ParseAll() {
    ASSIGN_OR_RETURN(DataType type, ParseOne());
    SkipSpaces();
    if (pos_ != text_.size()) return Error("trailing text");
    return type;
  }

 private:
  Status Error(const std::string& what) const {
    return Status::InvalidArgument("column '" + column_ + "': cannot read DuckDB type '" + text_ +
                                   "' (" + what + ")");
  }
  void SkipSpaces() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Consume(char c) {
    SkipSpaces();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::string Word() {
    SkipSpaces();
    size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }
  std::string Identifier() {
    SkipSpaces();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      std::string out;
      ++pos_;
      while (pos_ < text_.size()) {
        if (text_[pos_] == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            out += '"';
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        out += text_[pos_++];
      }
      return out;
    }
    return Word();
  }

  Result<DataType> ParseOne() {
    std::string word = ToLower(Word());
    DataType type;
    if (word == "struct") {
      if (!Consume('(')) return Error("expected ( after STRUCT");
      type.kind = DataType::Kind::kStruct;
      do {
        StructField field;
        field.name = Identifier();
        std::string saved = column_;
        column_ = saved + "." + field.name;
        ASSIGN_OR_RETURN(field.type, ParseOne());
        column_ = saved;
        type.fields.push_back(std::move(field));
      } while (Consume(','));
      if (!Consume(')')) return Error("expected ) closing STRUCT");
    } else if (word == "map") {
      if (!Consume('(')) return Error("expected ( after MAP");
      type.kind = DataType::Kind::kMap;
      ASSIGN_OR_RETURN(DataType key, ParseOne());
      if (!Consume(',')) return Error("expected , in MAP");
      ASSIGN_OR_RETURN(DataType value, ParseOne());
      if (!Consume(')')) return Error("expected ) closing MAP");
      type.key = std::make_shared<DataType>(std::move(key));
      type.value = std::make_shared<DataType>(std::move(value));
    } else if (word == "decimal" || word == "numeric") {
      int precision = 18, scale = 3;  // DuckDB's DECIMAL default.
      if (Consume('(')) {
        precision = std::stoi(Word());
        scale = Consume(',') ? std::stoi(Word()) : 0;
        if (!Consume(')')) return Error("expected ) closing DECIMAL");
      }
      type = DataType::Decimal(precision, scale);
    } else if (word == "timestamp") {
      // TIMESTAMP, TIMESTAMP WITH TIME ZONE: both store as Delta timestamp (UTC).
      size_t saved = pos_;
      if (ToLower(Word()) == "with") {
        Word();
        Word();
        Word();
      } else {
        pos_ = saved;
      }
      type = DataType::Primitive("timestamp");
    } else {
      ASSIGN_OR_RETURN(type, Scalar(word));
    }
    while (true) {
      SkipSpaces();
      if (pos_ + 1 < text_.size() && text_[pos_] == '[' && text_[pos_ + 1] == ']') {
        pos_ += 2;
        DataType list;
        list.kind = DataType::Kind::kArray;
        list.element = std::make_shared<DataType>(std::move(type));
        type = std::move(list);
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '[') {
        return Error("fixed-size ARRAY has no Delta counterpart");
      }
      break;
    }
    return type;
  }

  Result<DataType> Scalar(const std::string& word) {
    static const std::vector<std::pair<std::vector<std::string>, std::string>> kMap = {
        {{"boolean", "bool", "logical"}, "boolean"},
        {{"tinyint", "int1"}, "byte"},
        {{"smallint", "int2", "short", "utinyint"}, "short"},
        {{"integer", "int4", "int", "signed", "usmallint"}, "integer"},
        {{"bigint", "int8", "long", "uinteger"}, "long"},
        {{"float", "float4", "real"}, "float"},
        {{"double", "float8"}, "double"},
        {{"varchar", "char", "bpchar", "text", "string", "uuid"}, "string"},
        {{"blob", "bytea", "binary", "varbinary"}, "binary"},
        {{"date"}, "date"},
        {{"timestamptz", "timestamp_us", "timestamp_ms", "timestamp_s", "timestamp_ns",
          "datetime"},
         "timestamp"},
    };
    for (const auto& [names, delta] : kMap) {
      for (const std::string& name : names) {
        if (word == name) return DataType::Primitive(delta);
      }
    }
    if (word == "hugeint") return DataType::Decimal(38, 0);
    if (word == "ubigint") return DataType::Decimal(20, 0);
    return Status::Unsupported("column '" + column_ + "': DuckDB type " + text_ +
                               " has no Delta counterpart (the Types contract maps BOOLEAN, integers, "
                               "FLOAT/DOUBLE, DECIMAL, VARCHAR, BLOB, DATE, TIMESTAMP[TZ], "
                               "STRUCT/LIST/MAP, HUGEINT, UBIGINT, UUID); cast it first");
  }

  const std::string& text_;
  std::string column_;
  size_t pos_ = 0;
};

}  // namespace

Result<DataType> FromDuckDbType(const std::string& duckdb_type, const std::string& column) {
  return DuckTypeParser(duckdb_type, column).ParseAll();
}

}  // namespace finlake::delta
