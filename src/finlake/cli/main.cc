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
#include "finlake/pipeline/models.h"
#include "finlake/core/limits.h"
#include "finlake/core/scratch_dir.h"
#include "finlake/core/strings.h"
#include "finlake/sql/lake.h"
#include "finlake/sql/query_engine.h"
#include "finlake/cli/commands.h"
#include "finlake/cli/common.h"

namespace finlake::cli {
namespace {

using nlohmann::json;

// The finlake.yaml that `init` writes: every section commented, with examples.
constexpr const char* kDefaultConfig = R"yaml(# finlake lake configuration (docs/config.md).

# Exchange calendars beyond the built-in XNYS (NYSE). Example:
# calendars:
#   XLON:
#     name: London Stock Exchange
#     time_zone: Europe/London
#     open: "08:00"
#     close: "16:30"
#     early_close: "12:30"
#     holidays:
#       - {name: New Year's Day, month: 1, day: 1, observance: weekend_to_monday}
#       - {name: Good Friday, easter_offset: -2}
#       - {name: Easter Monday, easter_offset: 1}
#       - {name: Early May bank holiday, month: 5, weekday: monday, nth: 1}
#       - {name: Spring bank holiday, month: 5, weekday: monday, nth: -1}
#       - {name: Summer bank holiday, month: 8, weekday: monday, nth: -1}
#       - {name: Christmas Day, month: 12, day: 25, observance: weekend_to_monday}
#     early_closes:
#       - {name: Christmas Eve, month: 12, day: 24, weekdays: [mon, tue, wed, thu, fri]}
#     closures: [2022-09-19]
)yaml";


// The long names of the options a command was given on the command line.
std::set<std::string> GivenOptions(const CLI::App* command) {
  std::set<std::string> given;
  for (const CLI::Option* option : command->get_options()) {
    if (option->count() > 0) given.insert(option->get_name());
  }
  return given;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Tearing the lake down frees every buffer DuckDB holds: about a second after a
// 10M-row OPTIMIZE, spent just before the process exits and the OS takes the
// memory back anyway. Release builds leave the lake in place at the end of a
// command (everything it wrote is committed and fsynced by then, and SQLite
// recovers its WAL on the next open); sanitizer builds tear down, so leak checks
// still see everything.
class LeakAtExit {
 public:
  explicit LeakAtExit(std::unique_ptr<sql::Lake>* lake) : lake_(lake) {}
  ~LeakAtExit() {
    if (!kSanitized) (void)lake_->release();
  }
  LeakAtExit(const LeakAtExit&) = delete;
  LeakAtExit& operator=(const LeakAtExit&) = delete;

 private:
  std::unique_ptr<sql::Lake>* lake_;
};

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"finlake: a financial market-data lakehouse in one binary.\n"
               "Tables are Delta Lake (Parquet + _delta_log); query them with SQL."};
  app.require_subcommand(1);
  std::string lake_dir = std::getenv("FINLAKE_LAKE") ? std::getenv("FINLAKE_LAKE") : "./lake";
  app.add_option("--lake", lake_dir, "Lake directory (default $FINLAKE_LAKE, else ./lake)")->capture_default_str();
  app.fallthrough();

  auto* init = app.add_subcommand("init", "Create a lake: directories, catalog, namespaces bronze/silver/gold/system");

  auto* create_ns = app.add_subcommand("create-namespace", "Create a namespace");
  std::string ns_name, ns_description;
  create_ns->add_option("name", ns_name, "Namespace name")->required();
  create_ns->add_option("--description", ns_description, "What it holds");

  auto* tables = app.add_subcommand("tables", "List tables (of one namespace)");
  std::string tables_ns;
  tables->add_option("namespace", tables_ns, "Only this namespace");

  auto* describe = app.add_subcommand("describe", "Show a table's schema, partitioning, version and files");
  std::string describe_name;
  int64_t describe_version = -1;
  describe->add_option("table", describe_name, "namespace.table")->required();
  describe->add_option("--version", describe_version, "Describe this version instead of the latest");

  auto* history = app.add_subcommand("history", "List a table's commits, newest first");
  std::string history_name;
  int64_t history_limit = 0;
  history->add_option("table", history_name, "namespace.table")->required();
  history->add_option("--limit", history_limit, "At most this many commits");

  auto* create_table = app.add_subcommand("create-table", "Create an empty table");
  std::string ct_name, ct_schema, ct_partition, ct_description;
  std::vector<std::string> ct_properties;
  create_table->add_option("table", ct_name, "namespace.table")->required();
  create_table->add_option("--schema", ct_schema, "Columns as SQL: \"symbol VARCHAR, close DOUBLE\"")->required();
  create_table->add_option("--partition-by", ct_partition, "Partition columns, comma-separated");
  create_table->add_option("--property", ct_properties, "Delta table property key=value (repeatable)");
  create_table->add_option("--description", ct_description, "What the table holds");

  auto* import = app.add_subcommand("import", "Load a CSV, Parquet or JSON file into a table");
  std::string im_name, im_file, im_format, im_mode = "append", im_partition, im_where;
  bool im_create = false, im_add_columns = false;
  std::string im_txn_app;
  int64_t im_txn_version = -1;
  import->add_option("table", im_name, "namespace.table")->required();
  import->add_option("file", im_file, "Input file")->required();
  import->add_option("--format", im_format, "csv, parquet or json (default: from the file name)");
  import->add_flag("--create", im_create, "Create the table from the file's columns if it does not exist");
  import->add_option("--partition-by", im_partition, "With --create: partition columns, comma-separated");
  std::vector<std::string> im_properties;
  import->add_option("--property", im_properties, "With --create: Delta table property key=value (repeatable)");
  import->add_option("--mode", im_mode, "append or overwrite")->check(CLI::IsMember({"append", "overwrite"}))->capture_default_str();
  import->add_option("--replace-where", im_where, "With --mode overwrite: replace only partitions matching this predicate");
  import->add_flag("--add-columns", im_add_columns, "Add the file's new columns to the table (schema evolution)");
  import->add_option("--txn-app-id", im_txn_app, "Idempotent load: the loader's id (Delta txn appId)");
  import->add_option("--txn-version", im_txn_version, "Idempotent load: this batch's number; a batch the table has seen is skipped");

  auto* delete_cmd = app.add_subcommand("delete", "Delete the rows matching a predicate, rewriting only the files that hold them");
  std::string del_name, del_where;
  delete_cmd->add_option("table", del_name, "namespace.table")->required();
  delete_cmd->add_option("--where", del_where, "SQL predicate over the table's columns (one expression, no subqueries), e.g. \"symbol = 'X' AND session_date < DATE '2020-01-01'\"")->required();

  auto* restore_cmd = app.add_subcommand("restore", "Make a table what it was at an earlier version (a new commit)");
  std::string restore_name;
  std::string restore_timestamp;
  int64_t restore_version = -1;
  restore_cmd->add_option("table", restore_name, "namespace.table")->required();
  auto* restore_version_opt = restore_cmd->add_option("--version", restore_version, "The version to restore");
  restore_cmd->add_option("--timestamp", restore_timestamp,
                          "Restore the version that was latest at this time, e.g. '2026-11-20 16:00:00-05'")
      ->excludes(restore_version_opt);

  auto* alter_cmd = app.add_subcommand("alter", "Set or unset table properties (one metaData commit; no file is rewritten)");
  std::string alter_name;
  std::vector<std::string> alter_set, alter_unset;
  alter_cmd->add_option("table", alter_name, "namespace.table")->required();
  alter_cmd->add_option("--set", alter_set, "Table property key=value (repeatable), e.g. finlake.parquet.version=v2");
  alter_cmd->add_option("--unset", alter_unset, "Table property to remove (repeatable)");

  auto* optimize_cmd = app.add_subcommand("optimize", "Compact small files (dataChange=false: concurrent appends go on)");
  std::string optimize_name, optimize_where;
  std::string optimize_zorder, optimize_sort_by;
  int64_t optimize_target_bytes = int64_t{128} << 20;
  optimize_cmd->add_option("table", optimize_name, "namespace.table")->required();
  optimize_cmd->add_option("--where", optimize_where, "Only partitions matching this predicate over partition columns");
  optimize_cmd->add_option("--target-size", optimize_target_bytes,
                           "File size to write; smaller files are compacted (e.g. 128MB, 8MB, 512KB)")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("128MB");
  optimize_cmd->add_option("--zorder", optimize_zorder,
                           "ZORDER BY these columns (comma-separated): rewrite every file in Z-order so that "
                           "file skipping works on each of them");
  optimize_cmd->add_option("--sort-by", optimize_sort_by,
                           "Rewrite every file sorted by these columns (comma-separated), the first most significant: "
                           "a query on the first column reads one or two files, one on a later column alone reads "
                           "nearly all (--zorder serves each column alike)")
      ->excludes("--zorder");

  auto* merge_cmd = app.add_subcommand("merge", "Upsert a file's rows on key columns: replace matched rows, insert the "
                                                "rest; only files holding a matched key are rewritten");
  std::string merge_name, merge_file, merge_on, merge_format, merge_delete_when, merge_txn_app;
  int64_t merge_txn_version = -1;
  bool merge_add_columns = false;
  merge_cmd->add_option("table", merge_name, "namespace.table")->required();
  merge_cmd->add_option("file", merge_file, "CSV, Parquet or JSON file with one row per key")->required();
  merge_cmd->add_option("--on", merge_on, "Key columns, comma-separated, e.g. symbol,session_date")->required();
  merge_cmd->add_option("--format", merge_format, "csv, parquet or json (default: by extension)");
  merge_cmd->add_option("--delete-when", merge_delete_when,
                        "SQL over the file's columns: matched rows where it is true are deleted, not replaced");
  merge_cmd->add_flag("--add-columns", merge_add_columns, "Add the file's new columns to the table (schema evolution)");
  merge_cmd->add_option("--txn-app-id", merge_txn_app, "Idempotent merge: the loader's id (Delta txn appId)");
  merge_cmd->add_option("--txn-version", merge_txn_version, "Idempotent merge: this batch's number");

  auto* vacuum_cmd = app.add_subcommand("vacuum", "Delete data files no version within the retention needs");
  std::string vacuum_name;
  int64_t vacuum_hours = -1;
  bool vacuum_dry = false, vacuum_force = false;
  vacuum_cmd->add_option("table", vacuum_name, "namespace.table")->required();
  vacuum_cmd->add_option("--retention-hours", vacuum_hours, "Keep files removed less than this long ago (default: the table's, else 168)");
  vacuum_cmd->add_flag("--dry-run", vacuum_dry, "List what would be deleted, delete nothing");
  vacuum_cmd->add_flag("--force", vacuum_force, "Allow a retention below the table's");

  auto* reg = app.add_subcommand("register", "Register an existing Delta table (not copied)");
  std::string reg_name, reg_path, reg_description;
  reg->add_option("table", reg_name, "namespace.table")->required();
  reg->add_option("path", reg_path, "The table's directory")->required();
  reg->add_option("--description", reg_description, "What the table holds");

  auto* sql_cmd = app.add_subcommand("sql", "Run SQL over lake tables (interactive shell without a query)");
  std::string sql_text, sql_format = "table", sql_output;
  bool sql_stats = false;
  sql_cmd->add_option("query", sql_text, "SELECT ... FROM namespace.table [AT (VERSION => n)] ...");
  sql_cmd->add_option("--format", sql_format, "table, csv, json or parquet")->capture_default_str();
  sql_cmd->add_option("-o,--output", sql_output, "Write the result to this file");
  sql_cmd->add_flag("--stats", sql_stats, "Print per table the version read and files scanned (stderr)");
  bool sql_timing = false;
  sql_cmd->add_flag("--timing", sql_timing,
                    "Print per statement its run time, split into prepare (snapshots, pruning) and execute (stderr)");
  double sql_timeout_s = 0;
  std::string sql_memory_limit;
  sql_cmd->add_option("--memory-limit", sql_memory_limit,
                      "Most memory the query engine may use, e.g. 4GB (default: 80% of RAM; spills past it where it can)");
  sql_cmd->add_option("--timeout", sql_timeout_s, "Stop a statement that runs longer than this many seconds (0: no limit)")
      ->check(CLI::NonNegativeNumber);

  auto* calendar_cmd = app.add_subcommand(
      "calendar", "An exchange's closures and early closes for a year, or its sessions between two dates");
  std::string cal_code, cal_format = "table", cal_from, cal_to;
  int cal_year = 0;
  bool cal_sessions = false;
  calendar_cmd->add_option("exchange", cal_code, "Exchange code: built in XNYS, or one under calendars: in <lake>/finlake.yaml")->required();
  calendar_cmd->add_option("year", cal_year, "Year to list holidays and early closes of");
  calendar_cmd->add_option("--format", cal_format, "table or csv")->check(CLI::IsMember({"table", "csv"}))->capture_default_str();
  calendar_cmd->add_flag("--sessions", cal_sessions, "List sessions (date, open and close in UTC) instead");
  calendar_cmd->add_option("--from", cal_from, "With --sessions: first date (YYYY-MM-DD)");
  calendar_cmd->add_option("--to", cal_to, "With --sessions: last date (YYYY-MM-DD)");

  auto* ingest_cmd = app.add_subcommand("ingest", "Collect market data into bronze");
  ingest_cmd->require_subcommand(1);
  auto* yahoo_cmd = ingest_cmd->add_subcommand("yahoo", "Yahoo Finance chart API: daily or intraday bars with events");
  IngestArgs yahoo_args;
  yahoo_cmd->add_option("--symbols", yahoo_args.symbols, "Comma-separated symbols (default: the universe in finlake.yaml)");
  yahoo_cmd->add_option("--date", yahoo_args.date, "The session to collect (re-fetches the week before it too); default: the latest");
  yahoo_cmd->add_option("--start", yahoo_args.start, "First date of a history pull (YYYY-MM-DD)");
  yahoo_cmd->add_option("--end", yahoo_args.end, "Last date of a history pull (YYYY-MM-DD)");
  yahoo_cmd->add_option("--range", yahoo_args.range, "Yahoo range instead of dates: 1d,5d,1mo,...,max");
  yahoo_cmd->add_option("--interval", yahoo_args.interval, "1m,2m,5m,15m,30m,60m,90m,1h,1d,5d,1wk,1mo,3mo")->capture_default_str();
  yahoo_cmd->add_option("--base-url", yahoo_args.base_url, "API base URL (tests and mirrors)");
  yahoo_cmd->add_option("--region", yahoo_args.region, "Region of --symbols not in the universe")->capture_default_str();
  yahoo_cmd->add_option("--concurrency", yahoo_args.concurrency, "Symbols fetched at once")->capture_default_str();
  yahoo_cmd->add_option("--timeout-ms", yahoo_args.timeout_ms, "Per-request timeout")->capture_default_str();
  yahoo_cmd->add_option("--retries", yahoo_args.retries, "Retries of a request on 429/5xx/network errors")->capture_default_str();
  yahoo_cmd->add_option("--requests-per-minute", yahoo_args.requests_per_minute, "Rate limit (0: none)")->capture_default_str();
  bool yahoo_quotes = false;
  yahoo_cmd->add_flag("--quotes", yahoo_quotes, "The quote API (latest snapshot per symbol) instead of bars");

  auto* av_cmd = ingest_cmd->add_subcommand("alphavantage", "Alpha Vantage: daily, adjusted, intraday or quotes (key in $FINLAKE_ALPHAVANTAGE_KEY)");
  IngestArgs av_args;
  av_args.requests_per_day = 25;  // The free tier.
  av_args.requests_per_minute = 60;  // "1 request per second" bursts.
  av_args.concurrency = 1;
  av_cmd->add_option("--symbols", av_args.symbols, "Comma-separated symbols (default: the universe in finlake.yaml)");
  av_cmd->add_option("--date", av_args.date, "The session the data is for (bronze's logical date); default: the latest");
  av_cmd->add_option("--function", av_args.function, "TIME_SERIES_DAILY, TIME_SERIES_DAILY_ADJUSTED, TIME_SERIES_INTRADAY or GLOBAL_QUOTE")->capture_default_str();
  av_cmd->add_option("--outputsize", av_args.outputsize, "compact (100 points) or full")->capture_default_str();
  av_cmd->add_option("--datatype", av_args.datatype, "json or csv")->capture_default_str();
  av_cmd->add_option("--interval", av_args.interval, "TIME_SERIES_INTRADAY: 1min, 5min, 15min, 30min, 60min");
  av_cmd->add_option("--base-url", av_args.base_url, "API base URL (tests and mirrors)");
  av_cmd->add_option("--region", av_args.region, "Region of --symbols not in the universe")->capture_default_str();
  av_cmd->add_option("--concurrency", av_args.concurrency, "Symbols fetched at once")->capture_default_str();
  av_cmd->add_option("--timeout-ms", av_args.timeout_ms, "Per-request timeout")->capture_default_str();
  av_cmd->add_option("--retries", av_args.retries, "Retries of a request on 429/5xx/network errors")->capture_default_str();
  av_cmd->add_option("--requests-per-minute", av_args.requests_per_minute, "Rate limit (0: none)")->capture_default_str();
  av_cmd->add_option("--requests-per-day", av_args.requests_per_day, "Daily quota (0: none)")->capture_default_str();
  av_cmd->add_option("--burst-wait-ms", av_args.burst_wait_ms, "Wait before retrying after a burst notice (grows per retry)")->capture_default_str();

  auto* files_cmd = ingest_cmd->add_subcommand("files", "Land CSV/JSON/Parquet files from an inbox folder, then move them to processed/ or failed/");
  ingest::InboxOptions inbox_options;
  files_cmd->add_option("--inbox", inbox_options.inbox, "The inbox folder (default: every inbox under sources.files in finlake.yaml)");
  files_cmd->add_option("--table", inbox_options.table, "The table to land in (namespace.table)");
  files_cmd->add_option("--format", inbox_options.format, "csv, json or parquet (default: from each file's name)");
  files_cmd->add_flag("--create", inbox_options.create, "Create the table from the first file's columns");
  files_cmd->add_flag("--add-columns", inbox_options.add_new_columns, "Add new columns of a file to the table");

  auto* pg_cmd = ingest_cmd->add_subcommand("postgres", "Offload a PostgreSQL table or query into a lake table, incrementally by a watermark");
  ingest::PostgresOffloadOptions pg_options;
  pg_cmd->add_option("--conninfo", pg_options.conninfo, "libpq connection string (or set the PG* environment variables)");
  pg_cmd->add_option("--table", pg_options.source_table, "Source table, schema.table");
  pg_cmd->add_option("--query", pg_options.query, "Source SELECT, instead of --table");
  pg_cmd->add_option("--into", pg_options.target, "Lake table, namespace.table")->required();
  pg_cmd->add_option("--watermark", pg_options.watermark, "Ever-growing column (integer, timestamp, date): copy only newer rows; without it, a full copy replaces the table");
  pg_cmd->add_flag("--create", pg_options.create, "Create the lake table from the source's columns");

  auto* gen_cmd = ingest_cmd->add_subcommand(
      "generate", "Synthetic market data from the built-in generator, through the real Yahoo connector, into bronze.generator_raw");
  IngestArgs gen_args;
  int gen_count = 10;
  uint64_t gen_seed = 42;
  gen_cmd->add_option("--count", gen_count, "Symbols SYN0001..SYNnnnn (when --symbols is not given)")->capture_default_str();
  gen_cmd->add_option("--symbols", gen_args.symbols, "Comma-separated symbols (any name)");
  gen_cmd->add_option("--seed", gen_seed, "Generator seed: the same seed gives the same market")->capture_default_str();
  gen_cmd->add_option("--date", gen_args.date, "The session to collect (and the week before it)");
  gen_cmd->add_option("--start", gen_args.start, "First date of a history pull (YYYY-MM-DD)");
  gen_cmd->add_option("--end", gen_args.end, "Last date of a history pull (YYYY-MM-DD)");
  gen_cmd->add_option("--interval", gen_args.interval, "1d or 1m")->capture_default_str();
  gen_cmd->add_option("--as-of", gen_args.as_of,
                      "Fetch as on this day (YYYY-MM-DD): the answers and fetched_at of that evening, to replay history");
  gen_cmd->add_option("--concurrency", gen_args.concurrency, "Symbols fetched at once")->capture_default_str();

  auto* generate_cmd = app.add_subcommand("generate", "The market generator");
  generate_cmd->require_subcommand(1);
  auto* serve_cmd = generate_cmd->add_subcommand("serve", "Serve Yahoo and Alpha Vantage formats on 127.0.0.1 from the generator");
  int serve_port = 8765;
  int64_t serve_seconds = 0;
  uint64_t serve_seed = 42;
  serve_cmd->add_option("--port", serve_port, "Port on 127.0.0.1 (0: any free port)")->capture_default_str();
  serve_cmd->add_option("--seed", serve_seed, "Generator seed")->capture_default_str();
  serve_cmd->add_option("--seconds", serve_seconds, "Stop after this many seconds (0: run until interrupted)");

  auto* models_cmd = app.add_subcommand("models", "Transforms from bronze to silver and gold: list, run, status");
  std::string models_action = "list";
  std::vector<std::string> models_names;
  models_cmd->add_option("action", models_action, "list, run or status")
      ->check(CLI::IsMember({"list", "run", "status"}))
      ->capture_default_str();
  models_cmd->add_option("models", models_names, "Models to run (default: all), e.g. silver.bars_1d");
  bool models_full = false;
  models_cmd->add_flag("--full-rebuild", models_full, "Reprocess all of every input (every bronze payload, every symbol), not only what changed; rows that come out the same are not rewritten");

  auto* demo = app.add_subcommand("demo", "The main job on an embedded lake: synthetic daily bars and queries");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }

  if (init->parsed()) {
    auto lake = OpenLake(lake_dir, /*create=*/true);
    if (!lake.ok()) return Fail(lake.status());
    std::string config = (*lake)->dir() + "/finlake.yaml";
    if (!(*lake)->storage().Exists(config)) {
      Status written = (*lake)->storage().Put(config, kDefaultConfig);
      if (!written.ok()) return Fail(written);
    }
    if (Status installed = pipeline::InstallDefaultPipelines((*lake)->dir() + "/pipelines"); !installed.ok()) {
      return Fail(installed);
    }
    std::cout << "lake ready at " << (*lake)->dir() << "\n";
    return 0;
  }
  if (demo->parsed()) return Demo(lake_dir);
  if (models_cmd->parsed()) return Models(lake_dir, models_action, models_names, models_full);
  if (yahoo_cmd->parsed()) {
    if (Status status = ApplySourceConfig(GivenOptions(yahoo_cmd), lake_dir, "yahoo", &yahoo_args); !status.ok()) return Fail(status);
    return yahoo_quotes ? IngestYahooQuotes(lake_dir, yahoo_args) : IngestYahoo(lake_dir, yahoo_args);
  }
  if (av_cmd->parsed()) {
    if (Status status = ApplySourceConfig(GivenOptions(av_cmd), lake_dir, "alphavantage", &av_args); !status.ok()) return Fail(status);
    return IngestAlphaVantage(lake_dir, av_args);
  }
  if (files_cmd->parsed()) return IngestFiles(lake_dir, inbox_options);
  if (pg_cmd->parsed()) {
    auto lake = OpenLake(lake_dir);
    if (!lake.ok()) return Fail(lake.status());
    auto offloaded = ingest::OffloadPostgres(**lake, pg_options);
    if (!offloaded.ok()) return Fail(offloaded.status());
    std::string source = pg_options.query.empty() ? pg_options.source_table : "the query";
    if (offloaded->version < 0) {
      std::cout << "postgres: nothing new in " << source << " since watermark "
                << offloaded->previous_watermark.value_or(0) << "\n";
    } else {
      std::cout << "postgres: " << offloaded->rows << " rows from " << source << " into " << pg_options.target
                << " (version " << offloaded->version << ")";
      if (offloaded->watermark) std::cout << ", watermark " << *offloaded->watermark;
      std::cout << "\n";
    }
    return 0;
  }
  if (gen_cmd->parsed()) {
    if (gen_args.symbols.empty()) {
      std::vector<std::string> names;
      for (int i = 1; i <= gen_count; ++i) names.push_back(ingest::MarketGenerator::SymbolName(i));
      gen_args.symbols = Join(names, ",");
    }
    return IngestGenerated(lake_dir, gen_args, gen_seed);
  }
  if (serve_cmd->parsed()) return ServeGenerator(serve_port, serve_seed, serve_seconds);
  if (calendar_cmd->parsed()) {
    return PrintCalendar(lake_dir, cal_code, cal_year, cal_format == "csv", cal_sessions, cal_from, cal_to);
  }

  engine::EngineOptions engine_options;
  if (sql_cmd->parsed()) engine_options.memory_limit = sql_memory_limit;
  auto lake = OpenLake(lake_dir, /*create=*/false, engine_options);
  if (!lake.ok()) return Fail(lake.status());
  sql::Lake& l = **lake;
  LeakAtExit leak_at_exit(&lake.value());

  if (create_ns->parsed()) {
    Status status = l.catalog().CreateNamespace(ns_name, ns_description);
    if (status.ok()) status = l.storage().MakeDirs(l.dir() + "/" + ns_name);
    return status.ok() ? 0 : Fail(status);
  }
  if (tables->parsed()) {
    auto entries = l.catalog().ListTables(tables_ns.empty() ? std::nullopt : std::optional<std::string>(tables_ns));
    if (!entries.ok()) return Fail(entries.status());
    for (const auto& entry : *entries) {
      std::cout << entry.QualifiedName() << "\t" << l.AbsoluteLocation(entry.location) << (entry.external ? "\t(registered)" : "")
                << (entry.description.empty() ? "" : "\t" + entry.description) << "\n";
    }
    return 0;
  }
  if (describe->parsed()) {
    auto table = l.OpenTable(describe_name);
    if (!table.ok()) return Fail(table.status());
    auto snapshot = (*table)->Load(describe_version >= 0 ? std::optional<int64_t>(describe_version) : std::nullopt);
    if (!snapshot.ok()) return Fail(snapshot.status());
    auto entry = l.Resolve(describe_name);
    int64_t bytes = 0;
    for (const auto& file : snapshot->files) bytes += file.size;
    std::cout << "table:      " << entry->QualifiedName() << "\n"
              << "location:   " << entry->location << "\n"
              << "owner:      " << entry->owner << "\n"
              << "created:    " << entry->created_at << "\n"
              << "about:      " << entry->description << "\n"
              << "version:    " << snapshot->version << " (" << FormatIsoMillis(snapshot->commit_timestamp_ms) << ")\n"
              << "protocol:   reader " << snapshot->protocol.min_reader_version << ", writer "
              << snapshot->protocol.min_writer_version << "\n"
              << "partitions: " << Join(snapshot->metadata.partition_columns, ", ") << "\n"
              << "files:      " << snapshot->files.size() << " (" << bytes << " bytes)\n";
    int64_t records = snapshot->NumRecords();
    if (records >= 0) std::cout << "rows:       " << records << "\n";
    for (const auto& [key, value] : snapshot->metadata.configuration) std::cout << "property:   " << key << "=" << value << "\n";
    std::cout << "columns:\n" << FormatSchema(snapshot->schema, snapshot->metadata.partition_columns);
    return 0;
  }
  if (history->parsed()) {
    auto table = l.OpenTable(history_name);
    if (!table.ok()) return Fail(table.status());
    auto entries = (*table)->log().History(history_limit);
    if (!entries.ok()) return Fail(entries.status());
    std::cout << "version\ttimestamp\toperation\tparameters\n";
    for (const auto& entry : *entries) {
      std::string parameters = entry.commit_info.is_object() && entry.commit_info.contains("operationParameters")
                                   ? entry.commit_info["operationParameters"].dump()
                                   : "";
      std::cout << entry.version << "\t" << FormatIsoMillis(entry.timestamp_ms) << "\t" << entry.operation << "\t"
                << parameters << "\n";
    }
    return 0;
  }
  if (create_table->parsed()) {
    auto connection = l.Connect();
    if (!connection.ok()) return Fail(connection.status());
    auto schema = ParseSchemaSpec(**connection, ct_schema);
    if (!schema.ok()) return Fail(schema.status());
    auto properties = ParseProperties(ct_properties);
    if (!properties.ok()) return Fail(properties.status());
    table::CreateSpec spec;
    spec.schema = *schema;
    spec.partition_columns = SplitList(ct_partition);
    spec.properties = *properties;
    if (!ct_description.empty()) spec.description = ct_description;
    auto table = l.CreateTable(ct_name, spec, CurrentUser());
    if (!table.ok()) return Fail(table.status());
    std::cout << "created " << ct_name << " at " << (*table)->root() << "\n";
    return 0;
  }
  if (import->parsed()) {
    auto connection = l.Connect();
    if (!connection.ok()) return Fail(connection.status());
    auto table = l.OpenTable(im_name);
    if (table.ok() && !im_properties.empty()) {
      return Fail(Status::InvalidArgument("--property sets a new table's properties; " + im_name + " exists already"));
    }
    if (!table.ok()) {
      if (!im_create || table.status().code() != StatusCode::kNotFound) return Fail(table.status());
      auto source = SourceSql(**connection, im_file, im_format, nullptr);
      if (!source.ok()) return Fail(source.status());
      auto columns = (*connection)->Describe(*source);
      if (!columns.ok()) return Fail(columns.status().WithContext(im_file));
      table::CreateSpec spec;
      for (const auto& [column, type] : *columns) {
        auto delta_type = delta::FromDuckDbType(type, column);
        if (!delta_type.ok()) return Fail(delta_type.status().WithContext(im_file));
        spec.schema.fields.push_back(delta::StructField{column, *delta_type, true, json::object()});
      }
      spec.partition_columns = SplitList(im_partition);
      auto properties = ParseProperties(im_properties);
      if (!properties.ok()) return Fail(properties.status());
      spec.properties = *properties;
      table = l.CreateTable(im_name, spec, CurrentUser());
      if (!table.ok()) return Fail(table.status());
    }
    auto snapshot = (*table)->Load();
    if (!snapshot.ok()) return Fail(snapshot.status());
    auto source = SourceSql(**connection, im_file, im_format, &snapshot->schema);
    if (!source.ok()) return Fail(source.status());
    table::WriteOptions options;
    options.add_new_columns = im_add_columns;
    if (im_txn_app.empty() != (im_txn_version < 0)) {
      return Fail(Status::InvalidArgument("--txn-app-id and --txn-version go together"));
    }
    if (!im_txn_app.empty()) options.txn = delta::Txn{im_txn_app, im_txn_version, std::nullopt};
    if (!im_where.empty()) {
      if (im_mode != "overwrite") return Fail(Status::InvalidArgument("--replace-where needs --mode overwrite"));
      options.replace_where = im_where;
    }
    auto written = im_mode == "overwrite" ? (*table)->Overwrite(*source, options) : (*table)->Append(*source, options);
    if (!written.ok()) return Fail(written.status().WithContext("import " + im_file + " into " + im_name));
    if (written->skipped) {
      std::cout << "skipped: " << im_name << " already holds batch " << im_txn_version << " of " << im_txn_app << "\n";
      return 0;
    }
    std::cout << "imported " << written->rows_written << " rows into " << im_name << " (version " << written->version
              << ", " << written->files_added << " files added, " << written->files_removed << " removed)\n";
    return 0;
  }
  if (optimize_cmd->parsed()) {
    auto table = l.OpenTable(optimize_name);
    if (!table.ok()) return Fail(table.status());
    table::OptimizeOptions options;
    options.target_file_bytes = optimize_target_bytes;
    options.where = optimize_where;
    options.zorder = SplitList(optimize_zorder);
    options.sort_by = SplitList(optimize_sort_by);
    if (::isatty(STDERR_FILENO)) {
      options.progress = [](const std::string& step) { std::cerr << "optimize: " << step << "\n"; };
    }
    auto optimized = (*table)->Optimize(options);
    if (!optimized.ok()) return Fail(optimized.status());
    if (optimized->files_removed == 0) {
      std::cout << "optimize: " << optimize_name << " is already compact (version " << optimized->version << ")\n";
    } else {
      std::cout << "optimize: " << optimized->files_removed << " files (" << optimized->bytes_removed
                << " bytes) rewritten into " << optimized->files_added << " (" << optimized->bytes_added << " bytes, "
                << optimized->rows_written << " rows"
                << (!options.zorder.empty() ? ", Z-ordered" : !options.sort_by.empty() ? ", sorted" : "")
                << "), version " << optimized->version << "\n";
    }
    return 0;
  }
  if (merge_cmd->parsed()) {
    auto connection = l.Connect();
    if (!connection.ok()) return Fail(connection.status());
    auto table = l.OpenTable(merge_name);
    if (!table.ok()) return Fail(table.status());
    auto snapshot = (*table)->Load();
    if (!snapshot.ok()) return Fail(snapshot.status());
    auto source = SourceSql(**connection, merge_file, merge_format, &snapshot->schema);
    if (!source.ok()) return Fail(source.status());
    if (merge_txn_app.empty() != (merge_txn_version < 0)) {
      return Fail(Status::InvalidArgument("--txn-app-id and --txn-version go together"));
    }
    table::MergeOptions options;
    options.keys = SplitList(merge_on);
    if (!merge_delete_when.empty()) options.delete_when = merge_delete_when;
    options.add_new_columns = merge_add_columns;
    if (!merge_txn_app.empty()) options.txn = delta::Txn{merge_txn_app, merge_txn_version, std::nullopt};
    auto merged = (*table)->Merge(*source, options);
    if (!merged.ok()) return Fail(merged.status().WithContext("merge " + merge_file + " into " + merge_name));
    if (merged->skipped) {
      std::cout << "skipped: " << merge_name << " already holds batch " << merge_txn_version << " of " << merge_txn_app
                << "\n";
      return 0;
    }
    std::cout << "merged into " << merge_name << ": " << merged->rows_updated << " rows updated, "
              << merged->rows_inserted << " inserted, " << merged->rows_deleted << " deleted; "
              << merged->files_scanned << " files scanned, " << merged->files_removed << " rewritten ("
              << merged->bytes_removed << " bytes), " << merged->files_added << " added (" << merged->bytes_added
              << " bytes); version " << merged->version << "\n";
    return 0;
  }
  if (vacuum_cmd->parsed()) {
    auto table = l.OpenTable(vacuum_name);
    if (!table.ok()) return Fail(table.status());
    auto vacuumed = (*table)->Vacuum(vacuum_hours >= 0 ? std::optional<int64_t>(vacuum_hours) : std::nullopt,
                                     vacuum_dry, vacuum_force);
    if (!vacuumed.ok()) return Fail(vacuumed.status());
    for (const std::string& path : vacuumed->deleted) std::cout << (vacuum_dry ? "would delete  " : "deleted  ") << path << "\n";
    std::cout << (vacuum_dry ? "vacuum (dry run): " : "vacuum: ") << vacuumed->deleted.size() << " files, "
              << vacuumed->bytes << " bytes, retention " << vacuumed->retention_hours << " hours\n";
    return 0;
  }
  if (restore_cmd->parsed()) {
    auto table = l.OpenTable(restore_name);
    if (!table.ok()) return Fail(table.status());
    if (restore_timestamp.empty() == (restore_version < 0)) {
      return Fail(Status::InvalidArgument("restore needs --version N or --timestamp T"));
    }
    if (!restore_timestamp.empty()) {
      auto connection = l.Connect();
      if (!connection.ok()) return Fail(connection.status());
      auto parsed = (*connection)->Query("SELECT epoch_ms(CAST(" + SqlQuote(restore_timestamp) + " AS TIMESTAMPTZ))");
      if (!parsed.ok()) {
        return Fail(Status::InvalidArgument("--timestamp '" + restore_timestamp + "' is not a timestamp"));
      }
      auto version = (*table)->log().VersionAt((*parsed)->GetInt64(0, 0));
      if (!version.ok()) return Fail(version.status());
      restore_version = *version;
    }
    auto restored = (*table)->Restore(restore_version);
    if (!restored.ok()) return Fail(restored.status());
    std::cout << "restored " << restore_name << " to version " << restore_version << " as version " << restored->version
              << " (" << restored->files_added << " files re-added, " << restored->files_removed << " removed)\n";
    return 0;
  }
  if (alter_cmd->parsed()) {
    if (alter_set.empty() && alter_unset.empty()) {
      return Fail(Status::InvalidArgument("alter needs --set key=value or --unset key"));
    }
    auto properties = ParseProperties(alter_set);
    if (!properties.ok()) return Fail(properties.status());
    auto table = l.OpenTable(alter_name);
    if (!table.ok()) return Fail(table.status());
    auto altered = (*table)->SetProperties(*properties, alter_unset);
    if (!altered.ok()) return Fail(altered.status());
    std::cout << "altered " << alter_name << " (version " << altered->version << "): " << properties->size()
              << " propert" << (properties->size() == 1 ? "y" : "ies") << " set, " << alter_unset.size() << " unset\n";
    return 0;
  }
  if (delete_cmd->parsed()) {
    auto table = l.OpenTable(del_name);
    if (!table.ok()) return Fail(table.status());
    auto deleted = (*table)->Delete(del_where);
    if (!deleted.ok()) return Fail(deleted.status());
    if (deleted->rows_deleted == 0) {
      std::cout << "deleted 0 rows from " << del_name << " (nothing matched; version " << deleted->version
                << " unchanged)\n";
    } else {
      std::cout << "deleted " << deleted->rows_deleted << " rows from " << del_name << " (version " << deleted->version
                << ": " << deleted->files_removed << " files rewritten into " << deleted->files_added << ", "
                << deleted->rows_written << " rows copied)\n";
    }
    return 0;
  }
  if (reg->parsed()) {
    Status status = l.Register(reg_name, reg_path, reg_description, CurrentUser());
    if (!status.ok()) return Fail(status);
    std::cout << "registered " << reg_name << " -> " << reg_path << "\n";
    return 0;
  }
  if (sql_cmd->parsed()) {
    auto format = ParseOutputFormat(sql_format);
    if (!format.ok()) return Fail(format.status());
    SqlOptions options;
    options.format = *format;
    options.output = sql_output;
    options.stats = sql_stats;
    options.timing = sql_timing;
    options.timeout_ms = static_cast<int64_t>(sql_timeout_s * 1000);
    options.memory_limit = sql_memory_limit;
    if (sql_text.empty()) return Shell(l, options);
    return RunSql(l, sql_text, options);
  }
  return 0;
}

}  // namespace finlake::cli

int main(int argc, char** argv) { return finlake::cli::Main(argc, argv); }
