#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <ctime>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <set>
#include <thread>
#include <iostream>

#include "finlake/calendar/calendar_config.h"
#include "finlake/calendar/exchange_calendar.h"
#include "finlake/cli/output.h"
#include "finlake/core/http_client.h"
#include "finlake/ingest/alphavantage.h"
#include "finlake/ingest/file_inbox.h"
#include "finlake/ingest/generator_server.h"
#include "finlake/ingest/market_generator.h"
#include "finlake/ingest/postgres_source.h"
#include "finlake/ingest/source_config.h"
#include "finlake/ingest/ingest_job.h"
#include "finlake/ingest/yahoo.h"
#include "finlake/core/limits.h"
#include "finlake/core/scratch_dir.h"
#include "finlake/core/strings.h"
#include "finlake/sql/lake.h"
#include "finlake/sql/query_engine.h"
#include "finlake/cli/commands.h"
#include "finlake/cli/common.h"

namespace finlake::cli {

using nlohmann::json;

// The main job of `make run`: a lake with synthetic daily bars, and a few queries.
int Demo(const std::string& lake_dir) {
  auto lake = OpenLake(lake_dir, /*create=*/true);
  if (!lake.ok()) return Fail(lake.status());
  // 1. Bronze: the market generator's local Yahoo server, read by the real Yahoo
  // connector; a second run lands nothing new (identical payloads are skipped).
  std::cout << "== Collecting two years of synthetic daily bars through the Yahoo connector into bronze\n";
  IngestArgs collect;
  collect.symbols = "SYN0001,SYN0002,SYN0003,SYN0004,SYN0005";
  collect.start = "2024-01-01";
  collect.end = "2025-12-31";
  if (int rc = IngestGenerated(lake_dir, collect, 42); rc != 0) return rc;
  if (int rc = RunSql(**lake,
                      "SELECT symbol, date AS logical_date, "
                      "json_array_length(payload->'$.chart.result[0].timestamp') AS sessions, "
                      "json_keys(coalesce(payload->'$.chart.result[0].events', '{}')) AS events, payload_bytes "
                      "FROM bronze.generator_raw ORDER BY symbol");
      rc != 0) {
    return rc;
  }
  std::cout << "\n";
  // 2. Silver and gold: the models, incremental (a second run has nothing new).
  std::cout << "== Building silver and gold: finlake models run\n";
  if (int rc = Models(lake_dir, "run", {}, /*full_rebuild=*/false); rc != 0) return rc;
  std::cout << "\n";
  const std::vector<std::pair<std::string, std::string>> queries = {
      {"Sessions, last close and adjusted close per symbol (silver)",
       "SELECT symbol, count(*) AS sessions, max(session_date) AS last_session, "
       "arg_max(close, session_date) AS last_close, round(min(adj_close / close), 4) AS min_adj_factor "
       "FROM silver.bars_1d GROUP BY symbol ORDER BY symbol"},
      {"Splits and dividends found (silver.corporate_actions)",
       "SELECT symbol, kind, count(*) AS actions, max(ex_date) AS last_ex_date FROM silver.corporate_actions "
       "GROUP BY ALL ORDER BY ALL"},
      {"Latest features per symbol (gold.daily_features)",
       "SELECT symbol, session_date, round(close, 2) AS close, round(sma_50, 2) AS sma_50, round(rsi_14, 1) AS rsi_14, "
       "round(vol_20d, 3) AS vol_20d FROM gold.daily_features QUALIFY row_number() OVER "
       "(PARTITION BY symbol ORDER BY session_date DESC) = 1 ORDER BY symbol"},
      {"The last three sessions (gold.market_summary)",
       "SELECT session_date, advancers, decliners, top_gainers[1] AS top_gainer, round(top_gains[1], 4) AS gain "
       "FROM gold.market_summary ORDER BY session_date DESC LIMIT 3"},
      {"Time travel: silver rows at its first version and now",
       "SELECT (SELECT count(*) FROM silver.bars_1d AT (VERSION => 0)) AS rows_at_version_0, "
       "(SELECT count(*) FROM silver.bars_1d) AS rows_now"},
  };
  for (const auto& [title, query] : queries) {
    std::cout << "== " << title << "\n" << query << "\n";
    if (int rc = RunSql(**lake, query); rc != 0) return rc;
    std::cout << "\n";
  }
  std::cout << "Try: " << "build/finlake --lake " << lake_dir << " sql \"SELECT * FROM silver.bars_1d LIMIT 5\"\n";
  return 0;
}


}  // namespace finlake::cli
