// `finlake models list|run|status`: the transforms that build silver (and,
// later, gold) from bronze.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "finlake/cli/commands.h"
#include "finlake/cli/common.h"
#include "finlake/core/strings.h"
#include "finlake/pipeline/gold_features.h"
#include "finlake/pipeline/silver_job.h"

namespace finlake::cli {
namespace {

constexpr const char* kSilverBars = "silver.bars_1d";
constexpr const char* kDailyFeatures = "gold.daily_features";

// `silver:` in finlake.yaml:
//   silver: {precedence: [yahoo, alphavantage], jump_threshold: 0.5}
Status LoadSilverOptions(const std::string& lake_dir, pipeline::SilverOptions* options) {
  std::string path = lake_dir + "/finlake.yaml";
  std::ifstream in(path);
  if (!in) return Status::Ok();
  std::stringstream text;
  text << in.rdbuf();
  try {
    YAML::Node root = YAML::Load(text.str());
    YAML::Node silver = root ? root["silver"] : YAML::Node();
    if (!silver) return Status::Ok();
    if (silver["precedence"]) options->precedence = silver["precedence"].as<std::vector<std::string>>();
    if (silver["jump_threshold"]) options->jump_threshold = silver["jump_threshold"].as<double>();
  } catch (const YAML::Exception& error) {
    return Status::InvalidArgument(path + ": silver: " + error.what());
  }
  return Status::Ok();
}

}  // namespace

int Models(const std::string& lake_dir, const std::string& action, const std::vector<std::string>& models,
           bool full_rebuild) {
  const std::vector<std::string> known = {kSilverBars, kDailyFeatures};
  for (const std::string& model : models) {
    if (std::find(known.begin(), known.end(), model) == known.end()) {
      return Fail(Status::NotFound("no model '" + model + "' (models: " + Join(known, ", ") + ")"));
    }
  }
  auto wanted = [&](const char* model) {
    return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
  };
  if (action == "list") {
    std::cout << kSilverBars << "\tbuilt in\tbronze.yahoo_raw, bronze.alphavantage_raw, bronze.generator_raw -> "
              << "silver.bars_1d, silver.corporate_actions, silver.symbols, silver.quarantine\n"
              << kDailyFeatures << "\tbuilt in\tsilver.bars_1d -> gold.daily_features\n";
    return 0;
  }
  auto lake = OpenLake(lake_dir);
  if (!lake.ok()) return Fail(lake.status());
  if (action == "status") {
    Status ensured = pipeline::EnsureSilverTables(lake->get());
    if (ensured.ok()) ensured = pipeline::EnsureFeaturesTable(lake->get());
    if (!ensured.ok()) return Fail(ensured);
    for (const char* model : {kSilverBars, kDailyFeatures}) {
      auto table = (*lake)->OpenTable(model);
      if (!table.ok()) return Fail(table.status());
      auto snapshot = (*table)->Load();
      if (!snapshot.ok()) return Fail(snapshot.status());
      std::cout << model << "\tversion " << snapshot->version << "\n";
      std::string prefix = std::string("finlake.") + model + ":";
      for (const auto& [app_id, txn] : snapshot->txns) {
        if (StartsWith(app_id, prefix)) {
          std::cout << "  consumed " << app_id.substr(prefix.size()) << " up to version " << txn.version << "\n";
        }
      }
    }
    return 0;
  }
  if (wanted(kSilverBars)) {
    pipeline::SilverOptions options;
    if (Status status = LoadSilverOptions(lake_dir, &options); !status.ok()) return Fail(status);
    auto result = pipeline::RunSilverBars(lake->get(), options);
    if (!result.ok()) return Fail(result.status());
    if (result->sources.empty()) {
      std::cout << kSilverBars << ": no bronze tables of daily sources yet (ingest first)\n";
    }
    for (const pipeline::SilverSourceResult& s : result->sources) {
      std::cout << kSilverBars << " from " << s.bronze_table << " (version " << s.bronze_version << "): ";
      if (s.payloads == 0) {
        std::cout << "nothing new\n";
        continue;
      }
      std::cout << s.payloads << " payloads (" << s.payloads_skipped << " not daily bars, " << s.payloads_unreadable
                << " unreadable), " << s.bars << " bars, " << s.held_back << " live bars held back, "
                << s.quarantined << " rows quarantined; " << s.rows_inserted << " rows inserted, " << s.rows_updated
                << " updated, " << s.actions_written << " corporate actions";
      if (s.bars_version >= 0) std::cout << " (version " << s.bars_version << ")";
      std::cout << "\n";
    }
  }
  if (wanted(kDailyFeatures)) {
    if (!(*lake)->Resolve(kSilverBars).ok()) {
      std::cout << kDailyFeatures << ": silver.bars_1d does not exist yet (run silver.bars_1d first)\n";
      return 0;
    }
    pipeline::FeaturesOptions options;
    options.full_rebuild = full_rebuild;
    auto result = pipeline::RunDailyFeatures(lake->get(), options);
    if (!result.ok()) return Fail(result.status());
    std::cout << kDailyFeatures << " from " << kSilverBars << " (version " << result->silver_version << "): ";
    if (result->symbols == 0) {
      std::cout << "nothing new\n";
    } else {
      std::cout << result->symbols << " symbols, " << result->bars << " sessions computed; " << result->rows_inserted
                << " rows inserted, " << result->rows_updated << " updated";
      if (result->version >= 0) std::cout << " (version " << result->version << ")";
      std::cout << "\n";
    }
  }
  return 0;
}

}  // namespace finlake::cli
