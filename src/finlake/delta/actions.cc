#include "finlake/delta/actions.h"

#include "finlake/core/strings.h"

namespace finlake::delta {

using nlohmann::json;

std::optional<int64_t> CommitInfo::Timestamp() const {
  auto it = raw.find("timestamp");
  if (it != raw.end() && it->is_number_integer()) return it->get<int64_t>();
  return std::nullopt;
}

std::string CommitInfo::Operation() const {
  auto it = raw.find("operation");
  return it != raw.end() && it->is_string() ? it->get<std::string>() : "";
}

namespace {

// Field readers that turn a wrong JSON type into a Corruption naming the field.
class Fields {
 public:
  Fields(const json& object, std::string context) : object_(object), context_(std::move(context)) {}

  const Status& status() const { return status_; }

  std::string RequiredString(const char* name) {
    auto it = object_.find(name);
    if (it == object_.end() || !it->is_string()) {
      Fail(std::string("missing or non-string field '") + name + "'");
      return "";
    }
    return it->get<std::string>();
  }
  std::optional<std::string> OptionalString(const char* name) {
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) {
      Fail(std::string("field '") + name + "' is not a string");
      return std::nullopt;
    }
    return it->get<std::string>();
  }
  std::optional<int64_t> OptionalLong(const char* name) {
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer()) {
      // Some writers store longs as doubles with no fraction; accept those.
      if (it->is_number_float() && it->get<double>() == static_cast<double>(it->get<int64_t>())) {
        return it->get<int64_t>();
      }
      Fail(std::string("field '") + name + "' is not an integer");
      return std::nullopt;
    }
    return it->get<int64_t>();
  }
  int64_t RequiredLong(const char* name) {
    auto value = OptionalLong(name);
    if (!value && status_.ok()) Fail(std::string("missing field '") + name + "'");
    return value.value_or(0);
  }
  std::optional<bool> OptionalBool(const char* name) {
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) return std::nullopt;
    if (!it->is_boolean()) {
      Fail(std::string("field '") + name + "' is not a boolean");
      return std::nullopt;
    }
    return it->get<bool>();
  }
  std::optional<std::vector<std::string>> OptionalStringList(const char* name) {
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) return std::nullopt;
    std::vector<std::string> out;
    if (!it->is_array()) {
      Fail(std::string("field '") + name + "' is not an array");
      return out;
    }
    for (const json& item : *it) {
      if (!item.is_string()) {
        Fail(std::string("field '") + name + "' holds a non-string");
        return out;
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  std::map<std::string, std::string> StringMap(const char* name) {
    std::map<std::string, std::string> out;
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) return out;
    if (!it->is_object()) {
      Fail(std::string("field '") + name + "' is not an object");
      return out;
    }
    for (auto& [key, value] : it->items()) {
      if (value.is_string()) out[key] = value.get<std::string>();
      else if (!value.is_null()) out[key] = value.dump();
    }
    return out;
  }
  std::optional<PartitionValues> Partitions(const char* name, bool required) {
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) {
      if (required) Fail(std::string("missing field '") + name + "'");
      return std::nullopt;
    }
    PartitionValues out;
    if (!it->is_object()) {
      Fail(std::string("field '") + name + "' is not an object");
      return out;
    }
    for (auto& [key, value] : it->items()) {
      if (value.is_null()) out[key] = std::nullopt;
      else if (value.is_string()) out[key] = value.get<std::string>();
      else out[key] = value.dump();  // Numbers written without quotes by old writers.
    }
    return out;
  }
  json Raw(const char* name) {
    auto it = object_.find(name);
    return it == object_.end() ? json() : *it;
  }
  std::string DecodedPath() {
    std::string uri = RequiredString("path");
    std::string decoded;
    if (status_.ok() && !PercentDecode(uri, &decoded)) {
      Fail("path '" + uri + "' has a malformed %-escape");
    }
    return decoded;
  }

 private:
  void Fail(const std::string& what) {
    if (status_.ok()) status_ = Status::Corruption(context_ + ": " + what);
  }

  const json& object_;
  std::string context_;
  Status status_;
};

}  // namespace

Result<std::optional<Action>> ParseAction(const json& object, const std::string& source) {
  if (!object.is_object() || object.size() != 1) {
    return Status::Corruption(source + ": an action must be a JSON object with exactly one key");
  }
  const std::string& kind = object.begin().key();
  const json& body = object.begin().value();
  if (body.is_null()) return std::optional<Action>();
  if (!body.is_object()) return Status::Corruption(source + ": action '" + kind + "' is not an object");
  Fields f(body, source + ": " + kind);
  Action action;
  if (kind == "protocol") {
    Protocol p;
    p.min_reader_version = static_cast<int32_t>(f.RequiredLong("minReaderVersion"));
    p.min_writer_version = static_cast<int32_t>(f.RequiredLong("minWriterVersion"));
    p.reader_features = f.OptionalStringList("readerFeatures");
    p.writer_features = f.OptionalStringList("writerFeatures");
    action = std::move(p);
  } else if (kind == "metaData") {
    Metadata m;
    m.id = f.RequiredString("id");
    m.name = f.OptionalString("name");
    m.description = f.OptionalString("description");
    json format = f.Raw("format");
    if (format.is_object()) {
      m.format_provider = format.value("provider", "parquet");
      Fields ff(format, source + ": metaData.format");
      m.format_options = ff.StringMap("options");
    }
    m.schema_string = f.RequiredString("schemaString");
    m.partition_columns = f.OptionalStringList("partitionColumns").value_or(std::vector<std::string>{});
    m.configuration = f.StringMap("configuration");
    m.created_time = f.OptionalLong("createdTime");
    action = std::move(m);
  } else if (kind == "add") {
    AddFile a;
    a.path = f.DecodedPath();
    a.partition_values = f.Partitions("partitionValues", /*required=*/true).value_or(PartitionValues{});
    a.size = f.RequiredLong("size");
    a.modification_time = f.OptionalLong("modificationTime").value_or(0);
    a.data_change = f.OptionalBool("dataChange").value_or(true);
    a.stats = f.OptionalString("stats");
    a.tags = f.Raw("tags");
    a.deletion_vector = f.Raw("deletionVector");
    action = std::move(a);
  } else if (kind == "remove") {
    RemoveFile r;
    r.path = f.DecodedPath();
    r.deletion_timestamp = f.OptionalLong("deletionTimestamp");
    r.data_change = f.OptionalBool("dataChange").value_or(true);
    r.extended_file_metadata = f.OptionalBool("extendedFileMetadata");
    r.partition_values = f.Partitions("partitionValues", /*required=*/false);
    r.size = f.OptionalLong("size");
    r.deletion_vector = f.Raw("deletionVector");
    action = std::move(r);
  } else if (kind == "txn") {
    Txn t;
    t.app_id = f.RequiredString("appId");
    t.version = f.RequiredLong("version");
    t.last_updated = f.OptionalLong("lastUpdated");
    action = std::move(t);
  } else if (kind == "commitInfo") {
    action = CommitInfo{body};
  } else {
    action = OtherAction{kind, body};
  }
  if (!f.status().ok()) return f.status();
  return std::optional<Action>(std::move(action));
}

Result<std::vector<Action>> ParseCommit(const std::string& text, const std::string& source) {
  std::vector<Action> actions;
  size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line_number;
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    json object = json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::string where = source + " line " + std::to_string(line_number);
    if (object.is_discarded()) {
      return Status::Corruption(where + ": not valid JSON (a truncated or corrupt commit)");
    }
    ASSIGN_OR_RETURN(std::optional<Action> action, ParseAction(object, where));
    if (action) actions.push_back(std::move(*action));
  }
  if (actions.empty()) return Status::Corruption(source + ": commit holds no actions");
  return actions;
}

namespace {

json PartitionsToJson(const PartitionValues& values) {
  json out = json::object();
  for (const auto& [key, value] : values) out[key] = value ? json(*value) : json();
  return out;
}

struct ToJson {
  json operator()(const Protocol& p) const {
    json body = {{"minReaderVersion", p.min_reader_version},
                 {"minWriterVersion", p.min_writer_version}};
    if (p.reader_features) body["readerFeatures"] = *p.reader_features;
    if (p.writer_features) body["writerFeatures"] = *p.writer_features;
    return {{"protocol", body}};
  }
  json operator()(const Metadata& m) const {
    json body = {{"id", m.id},
                 {"format", {{"provider", m.format_provider}, {"options", json(m.format_options)}}},
                 {"schemaString", m.schema_string},
                 {"partitionColumns", m.partition_columns},
                 {"configuration", json(m.configuration)}};
    if (m.format_options.empty()) body["format"]["options"] = json::object();
    if (m.configuration.empty()) body["configuration"] = json::object();
    if (m.name) body["name"] = *m.name;
    if (m.description) body["description"] = *m.description;
    if (m.created_time) body["createdTime"] = *m.created_time;
    return {{"metaData", body}};
  }
  json operator()(const AddFile& a) const {
    json body = {{"path", PercentEncodePath(a.path)},
                 {"partitionValues", PartitionsToJson(a.partition_values)},
                 {"size", a.size},
                 {"modificationTime", a.modification_time},
                 {"dataChange", a.data_change}};
    if (a.stats) body["stats"] = *a.stats;
    if (!a.tags.is_null()) body["tags"] = a.tags;
    if (!a.deletion_vector.is_null()) body["deletionVector"] = a.deletion_vector;
    return {{"add", body}};
  }
  json operator()(const RemoveFile& r) const {
    json body = {{"path", PercentEncodePath(r.path)}, {"dataChange", r.data_change}};
    if (r.deletion_timestamp) body["deletionTimestamp"] = *r.deletion_timestamp;
    if (r.extended_file_metadata) body["extendedFileMetadata"] = *r.extended_file_metadata;
    if (r.partition_values) body["partitionValues"] = PartitionsToJson(*r.partition_values);
    if (r.size) body["size"] = *r.size;
    if (!r.deletion_vector.is_null()) body["deletionVector"] = r.deletion_vector;
    return {{"remove", body}};
  }
  json operator()(const Txn& t) const {
    json body = {{"appId", t.app_id}, {"version", t.version}};
    if (t.last_updated) body["lastUpdated"] = *t.last_updated;
    return {{"txn", body}};
  }
  json operator()(const CommitInfo& c) const { return {{"commitInfo", c.raw}}; }
  json operator()(const OtherAction& o) const { return {{o.kind, o.body}}; }
};

}  // namespace

json ActionToJson(const Action& action) { return std::visit(ToJson{}, action); }

std::string SerializeCommit(const std::vector<Action>& actions) {
  std::string out;
  for (const Action& action : actions) {
    out += ActionToJson(action).dump();
    out += '\n';
  }
  return out;
}

std::optional<int64_t> AddFile::NumRecords() const {
  if (!stats) return std::nullopt;
  const std::string& text = *stats;
  // Walk the object, skipping strings and nested values, to the key
  // "numRecords" at depth 1 (a column of that name sits deeper, in minValues).
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      size_t end = i + 1;
      while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2 : 1;
      if (end >= text.size()) return std::nullopt;
      if (depth == 1 && text.compare(i + 1, end - i - 1, "numRecords") == 0) {
        size_t colon = text.find_first_not_of(" \t\r\n", end + 1);
        if (colon == std::string::npos || text[colon] != ':') return std::nullopt;
        size_t start = text.find_first_not_of(" \t\r\n", colon + 1);
        if (start == std::string::npos) return std::nullopt;
        char* stop = nullptr;
        long long value = std::strtoll(text.c_str() + start, &stop, 10);
        if (stop == text.c_str() + start || value < 0) return std::nullopt;
        return static_cast<int64_t>(value);
      }
      i = end;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return std::nullopt;
}

}  // namespace finlake::delta
