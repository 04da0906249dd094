#include "finlake/ingest/source_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

namespace finlake::ingest {

namespace {

Result<YAML::Node> LoadSources(const std::string& config_path) {
  std::ifstream in(config_path);
  if (!in) return YAML::Node();
  std::stringstream text;
  text << in.rdbuf();
  try {
    YAML::Node root = YAML::Load(text.str());
    if (!root || !root["sources"]) return YAML::Node();
    if (!root["sources"].IsMap()) return Status::InvalidArgument(config_path + ": sources must be a mapping");
    return root["sources"];
  } catch (const YAML::Exception& error) {
    return Status::InvalidArgument(config_path + ": " + error.what());
  }
}

}  // namespace

Result<SourceConfig> LoadSourceConfig(const std::string& config_path, const std::string& name) {
  ASSIGN_OR_RETURN(YAML::Node sources, LoadSources(config_path));
  SourceConfig config;
  if (!sources || !sources[name]) return config;
  const YAML::Node node = sources[name];
  std::string where = config_path + ": sources." + name;
  if (!node.IsMap()) return Status::InvalidArgument(where + " must be a mapping");
  try {
    if (node["base_url"]) config.base_url = node["base_url"].as<std::string>();
    if (node["api_key"]) config.api_key = node["api_key"].as<std::string>();
    if (node["api_key_env"]) config.api_key_env = node["api_key_env"].as<std::string>();
    if (node["requests_per_minute"]) config.requests_per_minute = node["requests_per_minute"].as<int64_t>();
    if (node["requests_per_day"]) config.requests_per_day = node["requests_per_day"].as<int64_t>();
    if (node["timeout_ms"]) config.timeout_ms = node["timeout_ms"].as<int64_t>();
    if (node["concurrency"]) config.concurrency = node["concurrency"].as<int>();
    if (node["retries"]) config.retries = node["retries"].as<int>();
  } catch (const YAML::Exception& error) {
    return Status::InvalidArgument(where + ": " + error.what());
  }
  return config;
}

Result<std::vector<InboxOptions>> LoadInboxes(const std::string& config_path) {
  ASSIGN_OR_RETURN(YAML::Node sources, LoadSources(config_path));
  std::vector<InboxOptions> inboxes;
  if (!sources || !sources["files"]) return inboxes;
  if (!sources["files"].IsSequence()) {
    return Status::InvalidArgument(config_path + ": sources.files must be a list of {inbox, table}");
  }
  int index = 0;
  for (const YAML::Node& node : sources["files"]) {
    std::string where = config_path + ": sources.files[" + std::to_string(index++) + "]";
    if (!node.IsMap() || !node["inbox"] || !node["table"]) return Status::InvalidArgument(where + ": needs inbox and table");
    InboxOptions inbox;
    inbox.inbox = node["inbox"].as<std::string>();
    inbox.table = node["table"].as<std::string>();
    if (node["format"]) inbox.format = node["format"].as<std::string>();
    if (node["create"]) inbox.create = node["create"].as<bool>();
    if (node["add_columns"]) inbox.add_new_columns = node["add_columns"].as<bool>();
    inboxes.push_back(inbox);
  }
  return inboxes;
}

}  // namespace finlake::ingest
