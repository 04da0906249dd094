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
                      "FROM bronze.generator_raw ORDER BY symbol",
                      OutputFormat::kTable, "", false);
      rc != 0) {
    return rc;
  }
  std::cout << "\n";
  const std::string name = "silver.bars_1d";
  auto connection = (*lake)->database().Connect();
  if (!connection.ok()) return Fail(connection.status());
  // Weekday sessions of 2024-2025 for five symbols; a deterministic random walk.
  const std::string source = R"sql(
    WITH symbols(symbol, exchange, region, base) AS (
      VALUES ('AAPL', 'XNAS', 'us', 185.0), ('MSFT', 'XNAS', 'us', 375.0), ('JPM', 'XNYS', 'us', 170.0),
             ('SAP', 'XETR', 'eu', 140.0), ('HSBA', 'XLON', 'uk', 6.2)),
    days AS (
      SELECT d::DATE AS session_date FROM range(DATE '2024-01-02', DATE '2026-01-01', INTERVAL 1 DAY) t(d)
      WHERE dayofweek(d) BETWEEN 1 AND 5),
    walk AS (
      SELECT s.symbol, s.exchange, s.region, d.session_date,
             s.base * exp(sum(((hash(s.symbol || d.session_date::VARCHAR) % 2001)::BIGINT - 1000) / 60000.0)
               OVER (PARTITION BY s.symbol ORDER BY d.session_date)) AS close
      FROM symbols s, days d)
    SELECT symbol, session_date,
           (session_date::TIMESTAMP + INTERVAL 21 HOUR)::TIMESTAMPTZ AS ts,
           round(close * 0.995, 4) AS open, round(close * 1.01, 4) AS high, round(close * 0.985, 4) AS low,
           round(close, 4) AS close, round(close, 4) AS adj_close,
           (1000000 + hash(symbol || session_date::VARCHAR) % 5000000)::BIGINT AS volume,
           CASE region WHEN 'us' THEN 'USD' WHEN 'eu' THEN 'EUR' ELSE 'GBP' END AS currency,
           exchange, region, 'generator' AS source, now()::TIMESTAMPTZ AS ingested_at
    FROM walk)sql";
  auto table = (*lake)->OpenTable(name);
  if (!table.ok()) {
    auto schema = (*connection)->Describe(source);
    if (!schema.ok()) return Fail(schema.status());
    table::CreateSpec spec;
    for (const auto& [column, type] : *schema) {
      auto delta_type = delta::FromDuckDbType(type, column);
      if (!delta_type.ok()) return Fail(delta_type.status());
      spec.schema.fields.push_back(delta::StructField{column, *delta_type, true, json::object()});
    }
    spec.partition_columns = {"region"};
    spec.description = "Daily bars, one row per (symbol, session_date)";
    table = (*lake)->CreateTable(name, spec, CurrentUser());
    if (!table.ok()) return Fail(table.status());
  }
  auto written = (*table)->Overwrite(source);
  if (!written.ok()) return Fail(written.status());
  std::cout << "Lake " << (*lake)->dir() << ": wrote " << written->rows_written << " synthetic daily bars into "
            << name << " (version " << written->version << ", " << written->files_added << " files)\n\n";
  const std::vector<std::pair<std::string, std::string>> queries = {
      {"Sessions and last close per symbol",
       "SELECT symbol, count(*) AS sessions, max(session_date) AS last_session, "
       "arg_max(close, session_date) AS last_close FROM silver.bars_1d GROUP BY symbol ORDER BY symbol"},
      {"Average close per region and year",
       "SELECT region, year(session_date) AS year, round(avg(close), 2) AS avg_close, sum(volume) AS volume "
       "FROM silver.bars_1d GROUP BY ALL ORDER BY ALL"},
      {"Time travel: rows at the table's first version and now",
       "SELECT (SELECT count(*) FROM silver.bars_1d AT (VERSION => 0)) AS rows_at_version_0, "
       "(SELECT count(*) FROM silver.bars_1d) AS rows_now"},
  };
  for (const auto& [title, query] : queries) {
    std::cout << "== " << title << "\n" << query << "\n";
    if (int rc = RunSql(**lake, query, OutputFormat::kTable, "", false); rc != 0) return rc;
    std::cout << "\n";
  }
  std::cout << "Try: " << "build/finlake --lake " << lake_dir << " sql \"SELECT * FROM silver.bars_1d LIMIT 5\"\n";
  return 0;
}


}  // namespace finlake::cli
