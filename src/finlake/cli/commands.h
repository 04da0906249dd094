// The CLI's command groups beyond tables and SQL: calendars, ingestion, the
// market generator and the demo. Private to cli/.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "finlake/core/status.h"
#include "finlake/ingest/file_inbox.h"

namespace finlake::cli {

struct IngestArgs {
  std::string symbols, date, start, end, range, interval = "1d", base_url, region = "us";
  int concurrency = 8;
  int64_t timeout_ms = 30000;
  int retries = 3;
  int64_t requests_per_minute = 0;
  int64_t requests_per_day = 0;
  std::string function = "TIME_SERIES_DAILY", outputsize = "compact", datatype = "json";
  int64_t burst_wait_ms = 1500;
  std::string api_key;  // From the config's api_key_env / api_key; else the environment.
  std::string as_of;    // ingest generate: fetch as on this day (YYYY-MM-DD).
};


int PrintCalendar(const std::string& lake_dir, const std::string& code, int year, bool csv, bool sessions,
                  const std::string& from, const std::string& to);

// Fills what the flags left unset from sources.<name> in finlake.yaml; `given`
// holds the long names of the flags the user passed.
[[nodiscard]] Status ApplySourceConfig(const std::set<std::string>& given, const std::string& lake_dir,
                                       const std::string& name, IngestArgs* args);
int IngestYahoo(const std::string& lake_dir, const IngestArgs& args);
int IngestYahooQuotes(const std::string& lake_dir, const IngestArgs& args);
int IngestAlphaVantage(const std::string& lake_dir, const IngestArgs& args);
int IngestFiles(const std::string& lake_dir, const ingest::InboxOptions& given);
int IngestGenerated(const std::string& lake_dir, IngestArgs args, uint64_t seed);
int ServeGenerator(int port, uint64_t seed, int64_t seconds);
// `finlake models list|run|status [MODEL...]`: the built-in silver model
// (silver.bars_1d, from bronze; configured by `silver:` in finlake.yaml) and
// gold.daily_features; `full_rebuild` recomputes every symbol.
int Models(const std::string& lake_dir, const std::string& action, const std::vector<std::string>& models,
           bool full_rebuild);
// The main job of `make run`.
int Demo(const std::string& lake_dir);

}  // namespace finlake::cli
