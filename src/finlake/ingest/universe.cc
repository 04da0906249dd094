#include "finlake/ingest/universe.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace finlake::ingest {

Result<std::vector<Instrument>> LoadUniverse(const std::string& config_path) {
  std::vector<Instrument> universe;
  std::ifstream in(config_path);
  if (!in) return universe;
  std::stringstream text;
  text << in.rdbuf();
  try {
    YAML::Node root = YAML::Load(text.str());
    if (!root || !root["universe"]) return universe;
    if (!root["universe"].IsSequence()) {
      return Status::InvalidArgument(config_path + ": universe must be a list of {symbol, exchange, region, currency}");
    }
    std::set<std::string> seen;
    int index = 0;
    for (const YAML::Node& node : root["universe"]) {
      std::string where = config_path + ": universe[" + std::to_string(index++) + "]";
      if (!node.IsMap() || !node["symbol"]) return Status::InvalidArgument(where + ": needs a symbol");
      Instrument instrument;
      instrument.symbol = node["symbol"].as<std::string>();
      if (node["exchange"]) instrument.exchange = node["exchange"].as<std::string>();
      if (node["region"]) instrument.region = node["region"].as<std::string>();
      if (node["currency"]) instrument.currency = node["currency"].as<std::string>();
      if (!seen.insert(instrument.symbol).second) {
        return Status::InvalidArgument(where + ": symbol " + instrument.symbol + " is listed twice");
      }
      universe.push_back(std::move(instrument));
    }
  } catch (const YAML::Exception& error) {
    return Status::InvalidArgument(config_path + ": " + error.what());
  }
  return universe;
}

}  // namespace finlake::ingest
