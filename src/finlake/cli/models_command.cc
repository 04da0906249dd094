// `finlake models list|run|status`: the transforms that build silver (and,
// later, gold) from bronze.
#include <algorithm>
#include <chrono>
#include <map>
#include <fstream>
#include <iostream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "finlake/core/clock.h"

#include "finlake/cli/commands.h"
#include "finlake/cli/common.h"
#include "finlake/core/strings.h"
#include "finlake/pipeline/gold_features.h"
#include "finlake/pipeline/models.h"
#include "finlake/pipeline/quality.h"
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

// Runs the declared checks of each table a model wrote, stores the results in
// system.quality_results, prints failures, and remembers blocking ones so the
// models reading that table are skipped.
class QualityGate {
 public:
  QualityGate(sql::Lake* lake, pipeline::QualityConfig config) : lake_(lake), config_(std::move(config)) {
    int64_t now = SystemClock().NowMillis();
    context_.now_ms = now;
    context_.today = std::chrono::sys_days{std::chrono::days{now / 86400000}};
  }

  // Checks `table` (those of quality.yaml plus `extra`, a model's own).
  Status Check(const std::string& table, const std::vector<pipeline::QualityCheck>& extra = {}) {
    std::vector<pipeline::QualityCheck> checks = extra;
    if (auto it = config_.find(table); it != config_.end()) checks.insert(checks.begin(), it->second.begin(), it->second.end());
    if (checks.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(auto results, pipeline::RunQualityChecks(lake_, table, checks, context_));
    RETURN_IF_ERROR(pipeline::WriteQualityResults(lake_, results));
    int64_t passed = 0;
    for (const pipeline::QualityResult& r : results) {
      if (r.status == pipeline::QualityStatus::kPass) {
        ++passed;
      } else {
        std::cout << "quality: " << table << ": " << (r.blocking ? "blocking " : "") << r.check << " "
                  << pipeline::QualityStatusName(r.status) << ": " << r.detail << "\n";
      }
    }
    std::cout << "quality: " << table << ": " << passed << " of " << results.size() << " checks passed\n";
    std::string why;
    if (pipeline::AnyBlockingFailure(results, &why)) blocked_[table] = why;
    return Status::Ok();
  }

  // Why a model reading `inputs` must not run, or empty.
  std::string BlockedBy(const std::vector<std::string>& inputs) const {
    for (const std::string& input : inputs) {
      if (auto it = blocked_.find(input); it != blocked_.end()) return it->second;
    }
    return "";
  }
  void Block(const std::string& table, const std::string& why) { blocked_[table] = why; }
  bool any_blocked() const { return !blocked_.empty(); }

 private:
  sql::Lake* lake_;
  pipeline::QualityConfig config_;
  pipeline::QualityContext context_;
  std::map<std::string, std::string> blocked_;
};

}  // namespace

int Models(const std::string& lake_dir, const std::string& action, const std::vector<std::string>& models,
           bool full_rebuild) {
  std::cout << std::unitbuf;  // Each model's line as it finishes, also into a pipe.
  std::string pipelines_dir = lake_dir + "/pipelines";
  if (action != "list") {
    if (Status installed = pipeline::InstallDefaultPipelines(pipelines_dir); !installed.ok()) return Fail(installed);
  }
  auto sql_models = pipeline::LoadModels(pipelines_dir);
  if (!sql_models.ok()) return Fail(sql_models.status());
  if (action == "list" && sql_models->empty()) {
    // A lake without pipelines/ yet: list the defaults `run` would install.
    for (const auto& [name, text] : pipeline::DefaultPipelineFiles()) {
      if (name.size() < 4 || name.substr(name.size() - 4) != ".sql") continue;
      auto parsed = pipeline::ParseModel(pipelines_dir + "/" + name, text);
      if (parsed.ok()) sql_models->push_back(std::move(*parsed));
    }
  }
  std::vector<std::string> known = {kSilverBars, kDailyFeatures};
  for (const pipeline::ModelSpec& model : *sql_models) known.push_back(model.output);
  for (const std::string& model : models) {
    if (std::find(known.begin(), known.end(), model) == known.end()) {
      return Fail(Status::NotFound("no model '" + model + "' (models: " + Join(known, ", ") + ")"));
    }
  }
  auto wanted = [&](const std::string& model) {
    return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
  };
  if (action == "list") {
    std::cout << kSilverBars << "\tbuilt in\tbronze.yahoo_raw, bronze.alphavantage_raw, bronze.generator_raw -> "
              << "silver.bars_1d, silver.corporate_actions, silver.symbols, silver.quarantine\n"
              << kDailyFeatures << "\tbuilt in\tsilver.bars_1d -> gold.daily_features\n";
    for (const pipeline::ModelSpec& model : *sql_models) {
      std::cout << model.output << "\t" << model.file << "\t" << Join(model.inputs, ", ") << " -> " << model.output
                << " (" << model.mode << ")\n";
    }
    return 0;
  }
  auto lake = OpenLake(lake_dir);
  if (!lake.ok()) return Fail(lake.status());
  if (action == "status") {
    Status ensured = pipeline::EnsureSilverTables(lake->get());
    if (ensured.ok()) ensured = pipeline::EnsureFeaturesTable(lake->get());
    if (!ensured.ok()) return Fail(ensured);
    std::vector<std::string> names = {kSilverBars, kDailyFeatures};
    for (const pipeline::ModelSpec& model : *sql_models) names.push_back(model.output);
    for (const std::string& model : names) {
      if (!(*lake)->Resolve(model).ok()) {
        std::cout << model << "\tnot built yet\n";
        continue;
      }
      auto table = (*lake)->OpenTable(model);
      if (!table.ok()) return Fail(table.status());
      auto snapshot = (*table)->Load();
      if (!snapshot.ok()) return Fail(snapshot.status());
      std::cout << model << "\tversion " << snapshot->version << "\n";
      std::string prefix = "finlake." + model + ":";
      for (const auto& [app_id, txn] : snapshot->txns) {
        if (StartsWith(app_id, prefix)) {
          std::cout << "  consumed " << app_id.substr(prefix.size()) << " up to version " << txn.version << "\n";
        }
      }
    }
    return 0;
  }
  auto quality_config = pipeline::LoadQualityConfig(pipeline::QualityConfigPath(lake_dir));
  if (!quality_config.ok()) return Fail(quality_config.status());
  QualityGate gate(lake->get(), std::move(*quality_config));
  auto version_of = [&](const std::string& table) -> int64_t {
    if (!(*lake)->Resolve(table).ok()) return -1;
    auto opened = (*lake)->OpenTable(table);
    if (!opened.ok()) return -1;
    auto snapshot = (*opened)->Load();
    return snapshot.ok() ? snapshot->version : -1;
  };
  // Checks a table when this run moved it.
  // Checks a table when this run moved it, and compacts it when small files piled up.
  auto check_if_moved = [&](const std::string& table, int64_t before,
                            const std::vector<pipeline::QualityCheck>& extra = {}) -> Status {
    if (version_of(table) == before) return Status::Ok();
    ASSIGN_OR_RETURN(int64_t compacted, pipeline::AutoCompact(lake->get(), table));
    if (compacted > 0) std::cout << table << ": compacted " << compacted << " small files\n";
    return gate.Check(table, extra);
  };
  if (wanted(kSilverBars)) {
    int64_t bars_before = version_of(kSilverBars), minutes_before = version_of("silver.bars_1m");
    pipeline::SilverOptions options;
    options.full_rebuild = full_rebuild;
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
      if (s.minute_bars > 0) {
        std::cout << "; " << s.minute_bars << " minute bars, " << s.minute_rows_written << " silver.bars_1m rows written";
      }
      if (s.bars_version >= 0) std::cout << " (version " << s.bars_version << ")";
      std::cout << "\n";
    }
    if (Status checked = check_if_moved(kSilverBars, bars_before); !checked.ok()) return Fail(checked);
    if (Status checked = check_if_moved("silver.bars_1m", minutes_before); !checked.ok()) return Fail(checked);
  }
  if (wanted(kDailyFeatures) && !gate.BlockedBy({kSilverBars}).empty()) {
    std::cout << kDailyFeatures << ": skipped: " << gate.BlockedBy({kSilverBars}) << "\n";
    gate.Block(kDailyFeatures, "its input " + std::string(kSilverBars) + " failed a blocking check");
  } else if (wanted(kDailyFeatures)) {
    if (!(*lake)->Resolve(kSilverBars).ok()) {
      std::cout << kDailyFeatures << ": silver.bars_1d does not exist yet (run silver.bars_1d first)\n";
      return 0;
    }
    int64_t features_before = version_of(kDailyFeatures);
    pipeline::FeaturesOptions options;
    options.full_rebuild = full_rebuild;
    auto result = pipeline::RunDailyFeatures(lake->get(), options);
    if (!result.ok()) return Fail(result.status());
    std::cout << kDailyFeatures << " from " << kSilverBars << " (version " << result->silver_version << "): ";
    if (result->symbols == 0) {
      std::cout << "nothing new\n";
    } else {
      std::cout << result->symbols << " symbols (" << result->symbols_resumed << " carried forward, "
                << result->symbols - result->symbols_resumed << " from their first session), " << result->bars
                << " sessions computed; " << result->rows_inserted
                << " rows inserted, " << result->rows_updated << " updated";
      if (result->version >= 0) std::cout << " (version " << result->version << ")";
      std::cout << "\n";
    }
    if (Status checked = check_if_moved(kDailyFeatures, features_before); !checked.ok()) return Fail(checked);
  }
  for (const pipeline::ModelSpec& model : *sql_models) {
    if (!wanted(model.output)) continue;
    if (std::string why = gate.BlockedBy(model.inputs); !why.empty()) {
      std::cout << model.output << ": skipped: " << why << "\n";
      gate.Block(model.output, "an input of " + model.output + " failed a blocking check");
      continue;
    }
    std::vector<pipeline::QualityCheck> model_checks;
    if (model.checks) {
      auto parsed = pipeline::ParseQualityChecks(model.checks, model.file, model.output);
      if (!parsed.ok()) return Fail(parsed.status());
      model_checks = std::move(*parsed);
    }
    int64_t model_before = version_of(model.output);
    auto result = pipeline::RunModel(lake->get(), model, full_rebuild);
    if (!result.ok()) return Fail(result.status().WithContext(model.output));
    std::cout << model.output << ": ";
    if (!result->ran) {
      std::cout << "nothing new\n";
      continue;
    }
    std::vector<std::string> read;
    for (const auto& [input, version] : result->inputs) read.push_back(input + " v" + std::to_string(version));
    std::cout << "read " << Join(read, ", ");
    if (result->changed_keys >= 0) std::cout << "; " << result->changed_keys << " " << model.incremental_key << " values changed";
    std::cout << "; " << result->rows_inserted << " rows inserted, " << result->rows_updated << " updated, "
              << result->rows_deleted << " deleted";
    if (result->version >= 0) std::cout << " (version " << result->version << ")";
    std::cout << "\n";
    if (Status checked = check_if_moved(model.output, model_before, model_checks); !checked.ok()) return Fail(checked);
  }
  // A blocking failure is a failed run: exit 1 so schedulers see it.
  return gate.any_blocked() ? 1 : 0;
}

}  // namespace finlake::cli
