// finlake: the one binary. `finlake --help` lists the commands.
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

int Fail(const Status& status) {
  std::cerr << "finlake: error: " << status.message() << "\n";
  return 1;
}

std::string CurrentUser() {
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  if (const passwd* entry = ::getpwuid(::getuid()); entry != nullptr) return entry->pw_name;
  return "uid " + std::to_string(::getuid());
}

// Tests stop a writer at a named crash point (FINLAKE_TEST_CRASH_AT=log_linked, ...).
void InstallCrashHook(Storage& storage) {
  const char* point = std::getenv("FINLAKE_TEST_CRASH_AT");
  if (point == nullptr || *point == '\0') return;
  std::string wanted = point;
  storage.SetCrashHook([wanted](CrashPoint reached) {
    if (wanted == CrashPointName(reached)) {
      std::cerr << "finlake: test crash at " << wanted << "\n";
      ::_exit(86);
    }
  });
}

Result<std::unique_ptr<sql::Lake>> OpenLake(const std::string& dir, bool create = false) {
  sql::LakeOptions options;
  options.create = create;
  ASSIGN_OR_RETURN(auto lake, sql::Lake::Open(dir, options));
  InstallCrashHook(lake->storage());
  return lake;
}

// Reads `path` as the rows of a SELECT: CSV, Parquet or JSON, by --format or extension.
Result<std::string> SourceSql(engine::Connection& connection, const std::string& path, std::string format,
                              const delta::Schema* table_schema) {
  if (::access(path.c_str(), R_OK) != 0) return Status::NotFound("input file " + path + " does not exist or is not readable");
  if (format.empty()) {
    std::string lower = ToLower(path);
    if (EndsWith(lower, ".csv") || EndsWith(lower, ".csv.gz") || EndsWith(lower, ".tsv")) format = "csv";
    else if (EndsWith(lower, ".parquet")) format = "parquet";
    else if (EndsWith(lower, ".json") || EndsWith(lower, ".jsonl") || EndsWith(lower, ".ndjson")) format = "json";
    else return Status::InvalidArgument("cannot tell the format of " + path + " from its name; pass --format csv|parquet|json");
  }
  if (format == "parquet") return "SELECT * FROM read_parquet(" + SqlQuote(path) + ")";
  if (format != "csv" && format != "json") {
    return Status::InvalidArgument("unknown --format '" + format + "' (use csv, parquet or json)");
  }
  std::string base = format == "csv" ? "read_csv(" + SqlQuote(path) + ", header=true"
                                     : "read_json(" + SqlQuote(path) + ", auto_detect=true";
  if (table_schema == nullptr) return "SELECT * FROM " + base + ")";
  // Text formats are read with the table's types, so "42" lands as the table's type
  // and a bad value fails in the reader, naming the line. CSV takes hints for some
  // columns (types=); JSON needs every column (columns=), detected ones included.
  auto columns = connection.Describe("SELECT * FROM " + base + ")");
  if (!columns.ok()) return columns.status().WithContext(path);
  std::vector<std::string> types;
  for (const auto& [name, type] : *columns) {
    const delta::StructField* field = table_schema->Find(name);
    if (field == nullptr && format == "csv") continue;
    types.push_back(SqlQuote(name) + ": " + SqlQuote(field ? delta::ToDuckDbType(field->type) : type));
  }
  if (!types.empty()) base += (format == "csv" ? ", types={" : ", columns={") + Join(types, ", ") + "}";
  return "SELECT * FROM " + base + ")";
}

Result<std::map<std::string, std::string>> ParseProperties(const std::vector<std::string>& items) {
  std::map<std::string, std::string> properties;
  for (const std::string& item : items) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return Status::InvalidArgument("property '" + item + "' must be key=value");
    properties[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return properties;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  for (std::string part : Split(text, ',')) {
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

// "symbol VARCHAR, close DOUBLE" -> a Delta schema, through DuckDB's own type parser.
Result<delta::Schema> ParseSchemaSpec(engine::Connection& connection, const std::string& spec) {
  std::string probe = "finlake_schema_probe_" + NewUuid().substr(0, 8);
  Status created = connection.Execute("CREATE TEMP TABLE " + probe + " (" + spec + ")");
  if (!created.ok()) return Status::InvalidArgument("--schema '" + spec + "' is not a column list: " + created.message());
  auto described = connection.Describe("SELECT * FROM " + probe);
  (void)connection.Execute("DROP TABLE " + probe);
  if (!described.ok()) return described.status();
  delta::Schema schema;
  for (const auto& [name, type] : *described) {
    ASSIGN_OR_RETURN(delta::DataType delta_type, delta::FromDuckDbType(type, name));
    schema.fields.push_back(delta::StructField{name, delta_type, true, json::object()});
  }
  return schema;
}

std::string FormatSchema(const delta::Schema& schema, const std::vector<std::string>& partitions) {
  std::string out;
  for (const auto& field : schema.fields) {
    bool partition = std::find(partitions.begin(), partitions.end(), field.name) != partitions.end();
    out += "  " + field.name + "  " + delta::ToDuckDbType(field.type) + "  (" + field.type.Name() +
           (field.nullable ? "" : ", not null") + (partition ? ", partition" : "") + ")\n";
  }
  return out;
}

int RunSql(sql::Lake& lake, const std::string& text, OutputFormat format, const std::string& output, bool stats) {
  auto engine = sql::QueryEngine::Create(&lake);
  if (!engine.ok()) return Fail(engine.status());
  auto prepared = (*engine)->Prepare(text);
  if (!prepared.ok()) return Fail(prepared.status());
  for (const sql::PreparedQuery& query : *prepared) {
    if (format == OutputFormat::kParquet || (format == OutputFormat::kJson && !query.explain)) {
      std::string sql;
      std::optional<ScratchDir> scratch;
      std::string target = output;
      if (format == OutputFormat::kParquet) {
        if (output.empty()) {
          // Parquet to a pipe: written to a scratch file, then copied to stdout.
          if (::isatty(STDOUT_FILENO)) {
            return Fail(Status::InvalidArgument("--format parquet writes binary: pass --output FILE or redirect stdout"));
          }
          scratch.emplace("finlake-out-");
          target = scratch->path() + "/result.parquet";
        }
        sql = "COPY (" + query.sql + ") TO " + SqlQuote(target) + " (FORMAT parquet, COMPRESSION zstd)";
      } else {
        sql = "SELECT to_json(__row)::VARCHAR FROM (" + query.sql + ") AS __row";
      }
      auto result = (*engine)->connection().Query(sql);
      if (!result.ok()) return Fail(result.status());
      if (scratch) {
        std::ifstream in(target, std::ios::binary);
        std::cout << in.rdbuf();
        std::cout.flush();
      }
      if (format == OutputFormat::kJson) {
        std::ofstream file;
        std::ostream& out = output.empty() ? std::cout : (file.open(output), file);
        out << "[";
        for (int64_t r = 0; r < (*result)->row_count(); ++r) out << (r ? ",\n " : "") << (*result)->GetString(0, r);
        out << "]\n";
      }
    } else {
      std::vector<bool> numeric;
      std::string sql = query.sql;
      if (!query.explain) {
        auto columns = (*engine)->connection().Describe(query.sql);
        if (!columns.ok()) return Fail(columns.status());
        for (const auto& [name, type] : *columns) numeric.push_back(IsNumericTypeName(type));
        sql = AsTextSql(query.sql);
      }
      auto result = (*engine)->connection().Query(sql);
      if (!result.ok()) return Fail(result.status());
      std::ofstream file;
      std::ostream& out = output.empty() ? std::cout : (file.open(output), file);
      if (format == OutputFormat::kCsv) PrintCsv(**result, out);
      else PrintTable(**result, numeric, out, limits::kTableFormatRowsMax);
    }
    if (stats || query.explain) {
      for (const sql::TableRead& read : query.reads) {
        std::cerr << "-- " << read.table << ": version " << read.version << ", " << read.files << " files scanned\n";
      }
    }
  }
  return 0;
}

int Shell(sql::Lake& lake, OutputFormat format) {
  std::cout << "finlake SQL shell on " << lake.dir() << ". End statements with ';'. Ctrl-D quits.\n";
  std::string buffer, line;
  while (true) {
    std::cout << (buffer.empty() ? "finlake> " : "      -> ") << std::flush;
    if (!std::getline(std::cin, line)) break;
    buffer += line + "\n";
    if (line.find(';') == std::string::npos) continue;
    RunSql(lake, buffer, format, "", false);
    buffer.clear();
  }
  std::cout << "\n";
  return 0;
}

std::string FormatInstant(calendar::Instant instant) {
  std::time_t t = static_cast<std::time_t>(instant.time_since_epoch().count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

int PrintCalendar(const std::string& lake_dir, const std::string& code, int year, bool csv, bool sessions,
                  const std::string& from, const std::string& to) {
  auto cal = calendar::ResolveCalendar(code, lake_dir + "/finlake.yaml");
  if (!cal.ok()) return Fail(cal.status());
  const char* separator = csv ? "," : "  ";
  if (sessions) {
    if (from.empty() || to.empty()) return Fail(Status::InvalidArgument("--sessions needs --from and --to"));
    auto first = calendar::ParseDay(from);
    auto last = calendar::ParseDay(to);
    if (!first.ok()) return Fail(first.status().WithContext("--from"));
    if (!last.ok()) return Fail(last.status().WithContext("--to"));
    std::cout << "date" << separator << "open_utc" << separator << "close_utc" << separator << "early_close\n";
    for (const auto& session : cal->Sessions(*first, *last)) {
      std::cout << calendar::FormatDay(session.date) << separator << FormatInstant(session.open) << separator
                << FormatInstant(session.close) << separator << (session.early_close ? "true" : "false") << "\n";
    }
    return 0;
  }
  if (year == 0) return Fail(Status::InvalidArgument("give a year (finlake calendar XNYS 2026) or --sessions"));
  if (!cal->Covers(year)) {
    std::cerr << "finlake: warning: " << code << " rules are checked for " << cal->spec().first_year << "-"
              << cal->spec().last_year << "; " << year << " may miss one-off closures\n";
  }
  if (csv) {
    std::cout << "date,kind,close_time\n";
    for (const auto& day : cal->SpecialDays(year)) {
      std::cout << calendar::FormatDay(day.date) << "," << day.kind << ","
                << (day.close ? calendar::FormatMinutes(*day.close) : "") << "\n";
    }
    return 0;
  }
  std::cout << cal->spec().name << " (" << cal->spec().code << "), " << year << ", times in " << cal->spec().time_zone
            << "; regular session " << calendar::FormatMinutes(cal->spec().open) << "-"
            << calendar::FormatMinutes(cal->spec().close) << "\n";
  for (const auto& day : cal->SpecialDays(year)) {
    std::cout << calendar::FormatDay(day.date) << "  " << (day.kind == "closed" ? "closed     " : "early close")
              << "  " << (day.close ? calendar::FormatMinutes(*day.close) : "     ") << "  " << day.name << "\n";
  }
  return 0;
}

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
};

// The instruments to fetch: --symbols (looked up in the universe for their region),
// else the whole universe.
Result<std::vector<ingest::Instrument>> ResolveUniverse(const std::string& lake_dir, const IngestArgs& args) {
  ASSIGN_OR_RETURN(std::vector<ingest::Instrument> universe, ingest::LoadUniverse(lake_dir + "/finlake.yaml"));
  if (args.symbols.empty()) {
    if (universe.empty()) {
      return Status::InvalidArgument("no symbols: pass --symbols or list a universe: in " + lake_dir + "/finlake.yaml");
    }
    return universe;
  }
  std::vector<ingest::Instrument> chosen;
  for (const std::string& symbol : SplitList(args.symbols)) {
    ingest::Instrument instrument;
    instrument.symbol = symbol;
    instrument.region = args.region;
    for (const auto& known : universe) {
      if (known.symbol == symbol) instrument = known;
    }
    chosen.push_back(instrument);
  }
  return chosen;
}

// The session dates a fetch covers, in the instrument's exchange: --date (and the
// week before it, since vendors correct recent sessions), --start/--end, or the
// latest session.
struct FetchWindow {
  calendar::Day first, last, logical;
  int64_t period1 = 0, period2 = 0;  // UTC seconds: local midnight of first, and of the day after last.
};

struct IngestContext {
  std::unique_ptr<sql::Lake> lake;
  std::vector<ingest::Instrument> universe;
  std::map<std::string, calendar::ExchangeCalendar> calendars;
  std::optional<calendar::Day> date, start, end;

  FetchWindow Window(const ingest::Instrument& instrument) const {
    const calendar::ExchangeCalendar& cal = calendars.at(instrument.exchange);
    calendar::Day today =
        cal.LocalDay(std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
    calendar::Day latest = cal.IsSession(today) ? today : cal.PreviousSession(today).date;
    FetchWindow window;
    window.last = end ? *end : (date ? *date : latest);
    window.first = start ? *start : window.last - std::chrono::days(7);
    window.logical = cal.IsSession(window.last) ? window.last : cal.PreviousSession(window.last).date;
    window.period1 = cal.LocalToUtc(window.first, std::chrono::minutes(0)).time_since_epoch().count();
    window.period2 = cal.LocalToUtc(window.last + std::chrono::days(1), std::chrono::minutes(0)).time_since_epoch().count();
    return window;
  }
};

Result<IngestContext> PrepareIngest(const std::string& lake_dir, const IngestArgs& args) {
  IngestContext context;
  ASSIGN_OR_RETURN(context.lake, OpenLake(lake_dir));
  ASSIGN_OR_RETURN(context.universe, ResolveUniverse(context.lake->dir(), args));
  for (const auto& instrument : context.universe) {
    if (context.calendars.count(instrument.exchange)) continue;
    auto cal = calendar::ResolveCalendar(instrument.exchange, context.lake->dir() + "/finlake.yaml");
    if (!cal.ok()) return cal.status().WithContext(instrument.symbol);
    context.calendars.emplace(instrument.exchange, std::move(*cal));
  }
  for (auto [text, target] : {std::pair{&args.date, &context.date}, std::pair{&args.start, &context.start},
                              std::pair{&args.end, &context.end}}) {
    if (text->empty()) continue;
    ASSIGN_OR_RETURN(*target, calendar::ParseDay(*text));
  }
  if (context.start.has_value() != context.end.has_value()) {
    return Status::InvalidArgument("--start and --end go together");
  }
  if ((context.start && context.date) || (!args.range.empty() && (context.start || context.date))) {
    return Status::InvalidArgument("give one of --date, --start/--end or --range");
  }
  return context;
}

// One line per failed symbol and a summary; exit 1 when any failed.
int PrintIngestSummary(const ingest::IngestSummary& summary, const std::string& source) {
  for (const auto& result : summary.results) {
    if (!result.ok()) {
      std::cout << "failed  " << result.symbol << "  " << ingest::FetchStatusName(result.status) << "  "
                << result.message << "\n";
    }
  }
  std::cout << source << ": " << summary.symbols_ok << " symbols ok, " << summary.symbols_failed << " failed; "
            << summary.bars << " bars in " << summary.records_landed << " payloads landed ("
            << summary.duplicates << " unchanged re-fetches skipped), " << summary.payload_bytes << " bytes, "
            << summary.requests << " requests, " << std::fixed << std::setprecision(1) << summary.seconds << " s\n";
  return summary.symbols_failed == 0 ? 0 : 1;
}

// Runs the job, then PrintIngestSummary.
int RunIngestJob(IngestContext& context, const std::string& source, const ingest::FetchFunction& fetch,
                 int concurrency) {
  ingest::BronzeLanding landing(context.lake.get());
  ingest::IngestJobOptions job;
  job.concurrency = std::max(1, concurrency);
  bool tty = ::isatty(STDERR_FILENO);
  job.progress = [tty](int64_t done, int64_t total, const ingest::FetchResult& result) {
    if (tty) {
      std::cerr << "\r[" << done << "/" << total << "] " << result.symbol << " "
                << ingest::FetchStatusName(result.status) << "          " << std::flush;
    }
  };
  auto summary = ingest::RunIngest(landing, source, context.universe, fetch, job);
  if (tty) std::cerr << "\n";
  if (!summary.ok()) return Fail(summary.status());
  return PrintIngestSummary(*summary, source);
}

// HTTP client settings: a browser user agent for Yahoo (it answers other agents
// with 429, research/market-apis.md 1.8); retries, pauses and failures logged to
// stderr when $FINLAKE_LOG is set (lines come redacted from the client).
CurlHttpClientOptions HttpOptions(bool browser_agent) {
  CurlHttpClientOptions options;
  if (browser_agent) {
    options.user_agent =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
  }
  if (const char* level = std::getenv("FINLAKE_LOG"); level != nullptr && *level != '\0') {
    options.log = [](std::string_view line) { std::cerr << "finlake: http: " << line << "\n"; };
  }
  return options;
}

SourcePolicy PolicyFor(const std::string& name, const IngestArgs& args) {
  SourcePolicy policy;
  policy.name = name;
  policy.max_concurrency = std::max(1, args.concurrency);
  policy.max_retries = args.retries;
  policy.requests_per_minute = args.requests_per_minute;
  policy.requests_per_day = args.requests_per_day;
  return policy;
}

// Fills what the command line left unset from sources.<name> in finlake.yaml.
Status ApplySourceConfig(const CLI::App* command, const std::string& lake_dir, const std::string& name,
                         IngestArgs* args) {
  std::set<std::string> given;
  for (const CLI::Option* option : command->get_options()) {
    if (option->count() > 0) given.insert(option->get_name());
  }
  ASSIGN_OR_RETURN(ingest::SourceConfig config, ingest::LoadSourceConfig(lake_dir + "/finlake.yaml", name));
  if (config.base_url && !given.count("--base-url")) args->base_url = *config.base_url;
  if (config.requests_per_minute && !given.count("--requests-per-minute")) args->requests_per_minute = *config.requests_per_minute;
  if (config.requests_per_day && !given.count("--requests-per-day")) args->requests_per_day = *config.requests_per_day;
  if (config.timeout_ms && !given.count("--timeout-ms")) args->timeout_ms = *config.timeout_ms;
  if (config.concurrency && !given.count("--concurrency")) args->concurrency = *config.concurrency;
  if (config.retries && !given.count("--retries")) args->retries = *config.retries;
  if (config.api_key_env) {
    const char* key = std::getenv(config.api_key_env->c_str());
    if (key != nullptr) args->api_key = key;
  } else if (config.api_key) {
    args->api_key = *config.api_key;
  }
  return Status::Ok();
}

// A --base-url (a mirror, the generator, a test server) also serves the cookie
// and crumb endpoints.
ingest::YahooOptions YahooOptionsFor(const IngestArgs& args) {
  ingest::YahooOptions options;
  options.timeout_ms = args.timeout_ms;
  if (!args.base_url.empty()) {
    options.base_url = args.base_url;
    options.cookie_url = args.base_url + "/cookie";
    options.crumb_url = args.base_url + "/v1/test/getcrumb";
  }
  return options;
}

int IngestYahooAs(const std::string& lake_dir, const IngestArgs& args, const std::string& source) {
  auto context = PrepareIngest(lake_dir, args);
  if (!context.ok()) return Fail(context.status());
  auto http = CurlHttpClient::Create(PolicyFor(source, args), HttpOptions(/*browser_agent=*/true));
  if (!http.ok()) return Fail(http.status());
  ingest::YahooOptions options = YahooOptionsFor(args);
  std::vector<std::unique_ptr<ingest::YahooConnector>> connectors;  // One per worker: each keeps its crumb.
  for (int i = 0; i < std::max(1, args.concurrency); ++i) {
    connectors.push_back(std::make_unique<ingest::YahooConnector>(http->get(), options));
  }
  ingest::FetchFunction fetch = [&](int worker, const ingest::Instrument& instrument) {
    FetchWindow window = context->Window(instrument);
    ingest::ChartRequest request;
    request.symbol = instrument.symbol;
    request.interval = args.interval;
    if (!args.range.empty()) request.range = args.range;
    request.period1 = window.period1;
    request.period2 = window.period2;
    return connectors[static_cast<size_t>(worker)]->FetchChart(request, instrument.region,
                                                               calendar::FormatDay(window.logical));
  };
  return RunIngestJob(*context, source, fetch, args.concurrency);
}

int IngestYahoo(const std::string& lake_dir, const IngestArgs& args) { return IngestYahooAs(lake_dir, args, "yahoo"); }

// The quote API: the universe in batches, one outcome per symbol, one landed
// payload per batch.
int IngestYahooQuotes(const std::string& lake_dir, const IngestArgs& args) {
  auto context = PrepareIngest(lake_dir, args);
  if (!context.ok()) return Fail(context.status());
  auto http = CurlHttpClient::Create(PolicyFor("yahoo", args), HttpOptions(/*browser_agent=*/true));
  if (!http.ok()) return Fail(http.status());
  ingest::YahooOptions options = YahooOptionsFor(args);
  ingest::YahooConnector connector(http->get(), options);
  auto started = std::chrono::steady_clock::now();
  std::map<std::string, std::vector<const ingest::Instrument*>> by_region;
  for (const auto& instrument : context->universe) by_region[instrument.region].push_back(&instrument);
  ingest::IngestSummary summary;
  std::vector<ingest::RawRecord> records;
  for (const auto& [region, instruments] : by_region) {
    std::vector<std::string> symbols;
    for (const auto* instrument : instruments) symbols.push_back(instrument->symbol);
    std::string logical = calendar::FormatDay(context->Window(*instruments.front()).logical);
    for (ingest::FetchResult& result : connector.FetchQuotes(symbols, region, logical)) {
      for (auto& record : result.records) {
        summary.payload_bytes += static_cast<int64_t>(record.payload.size());
        records.push_back(std::move(record));
      }
      result.records.clear();
      summary.requests += result.requests;
      summary.bars += result.bars;
      (result.ok() ? summary.symbols_ok : summary.symbols_failed)++;
      summary.results.push_back(std::move(result));
    }
  }
  ingest::BronzeLanding landing(context->lake.get());
  auto landed = landing.Land("yahoo", records);
  if (!landed.ok()) return Fail(landed.status());
  summary.records_landed = landed->landed;
  summary.duplicates = landed->duplicates;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return PrintIngestSummary(summary, "yahoo quotes");
}

int IngestAlphaVantage(const std::string& lake_dir, const IngestArgs& args) {
  auto context = PrepareIngest(lake_dir, args);
  if (!context.ok()) return Fail(context.status());
  ingest::AlphaVantageOptions options;
  options.api_key = args.api_key.empty() ? ingest::AlphaVantageConnector::KeyFromEnvironment() : args.api_key;
  options.timeout_ms = args.timeout_ms;
  options.burst_wait_ms = args.burst_wait_ms;
  if (!args.base_url.empty()) options.base_url = args.base_url;
  if (options.api_key.empty()) {
    return Fail(Status::InvalidArgument("alphavantage needs an API key: set FINLAKE_ALPHAVANTAGE_KEY"));
  }
  auto http = CurlHttpClient::Create(PolicyFor("alphavantage", args), HttpOptions(/*browser_agent=*/false));
  if (!http.ok()) return Fail(http.status());
  ingest::AlphaVantageConnector connector(http->get(), options);
  ingest::AlphaVantageRequest base;
  base.function = args.function;
  base.outputsize = args.outputsize;
  base.datatype = args.datatype;
  if (base.function == "TIME_SERIES_INTRADAY") base.interval = args.interval == "1d" ? "5min" : args.interval;
  ingest::AlphaVantageRequest check = base;
  check.symbol = "(every symbol)";
  if (Status valid = ingest::AlphaVantageConnector::Validate(check); !valid.ok()) return Fail(valid);
  ingest::FetchFunction fetch = [&](int, const ingest::Instrument& instrument) {
    ingest::AlphaVantageRequest request = base;
    request.symbol = instrument.symbol;
    return connector.Fetch(request, instrument.region, calendar::FormatDay(context->Window(instrument).logical));
  };
  return RunIngestJob(*context, "alphavantage", fetch, args.concurrency);
}

int IngestFiles(const std::string& lake_dir, const ingest::InboxOptions& given) {
  auto lake = OpenLake(lake_dir);
  if (!lake.ok()) return Fail(lake.status());
  std::vector<ingest::InboxOptions> inboxes;
  if (!given.inbox.empty() || !given.table.empty()) {
    if (given.inbox.empty() || given.table.empty()) return Fail(Status::InvalidArgument("--inbox and --table go together"));
    inboxes.push_back(given);
  } else {
    auto configured = ingest::LoadInboxes((*lake)->dir() + "/finlake.yaml");
    if (!configured.ok()) return Fail(configured.status());
    if (configured->empty()) {
      return Fail(Status::InvalidArgument("no inbox: pass --inbox and --table, or list sources.files in " +
                                          (*lake)->dir() + "/finlake.yaml"));
    }
    inboxes = *configured;
  }
  auto connection = (*lake)->database().Connect();
  if (!connection.ok()) return Fail(connection.status());
  int64_t landed = 0, failed = 0, rows = 0;
  for (const ingest::InboxOptions& options : inboxes) {
    ingest::FileReader reader = [&](const std::string& path, const delta::Schema* schema) {
      return SourceSql(**connection, path, options.format, schema);
    };
    auto outcomes = ingest::ProcessInbox(**lake, options, reader);
    if (!outcomes.ok()) return Fail(outcomes.status());
    for (const auto& outcome : *outcomes) {
      std::cout << outcome.outcome << "  " << outcome.file;
      if (outcome.outcome == "landed") std::cout << "  " << outcome.rows << " rows";
      if (!outcome.reason.empty()) std::cout << "  " << outcome.reason;
      std::cout << "\n";
      landed += outcome.outcome != "failed";
      failed += outcome.outcome == "failed";
      rows += outcome.rows;
    }
  }
  std::cout << "files: " << landed << " landed, " << failed << " failed (moved to failed/ with a reason), " << rows
            << " rows\n";
  return failed == 0 ? 0 : 1;
}

Result<ingest::MarketGenerator> NyseGenerator(uint64_t seed) {
  ASSIGN_OR_RETURN(calendar::ExchangeCalendar nyse, calendar::ExchangeCalendar::Builtin("XNYS"));
  return ingest::MarketGenerator(std::move(nyse), seed);
}

int IngestGenerated(const std::string& lake_dir, IngestArgs args, uint64_t seed) {
  auto generator = NyseGenerator(seed);
  if (!generator.ok()) return Fail(generator.status());
  auto server = ingest::GeneratorServer::Start(&*generator, 0);
  if (!server.ok()) return Fail(server.status());
  args.base_url = (*server)->url();
  args.timeout_ms = 60000;
  return IngestYahooAs(lake_dir, args, "generator");
}

volatile std::sig_atomic_t g_stop_requested = 0;

int ServeGenerator(int port, uint64_t seed, int64_t seconds) {
  auto generator = NyseGenerator(seed);
  if (!generator.ok()) return Fail(generator.status());
  auto server = ingest::GeneratorServer::Start(&*generator, port);
  if (!server.ok()) return Fail(server.status());
  std::signal(SIGINT, [](int) { g_stop_requested = 1; });
  std::signal(SIGTERM, [](int) { g_stop_requested = 1; });
  std::cout << "generator (seed " << seed << ") serving on " << (*server)->url()
            << ": /v8/finance/chart/SYMBOL (Yahoo), /query?function=TIME_SERIES_DAILY (Alpha Vantage)" << std::endl;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!g_stop_requested && (seconds == 0 || std::chrono::steady_clock::now() < deadline)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  (*server)->Stop();
  std::cout << "served " << (*server)->requests() << " requests\n";
  return 0;
}

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
  import->add_option("--mode", im_mode, "append or overwrite")->check(CLI::IsMember({"append", "overwrite"}))->capture_default_str();
  import->add_option("--replace-where", im_where, "With --mode overwrite: replace only partitions matching this predicate");
  import->add_flag("--add-columns", im_add_columns, "Add the file's new columns to the table (schema evolution)");
  import->add_option("--txn-app-id", im_txn_app, "Idempotent load: the loader's id (Delta txn appId)");
  import->add_option("--txn-version", im_txn_version, "Idempotent load: this batch's number; a batch the table has seen is skipped");

  auto* delete_cmd = app.add_subcommand("delete", "Delete the rows matching a predicate, rewriting only the files that hold them");
  std::string del_name, del_where;
  delete_cmd->add_option("table", del_name, "namespace.table")->required();
  delete_cmd->add_option("--where", del_where, "SQL predicate over the table's columns, e.g. \"symbol = 'X' AND session_date < DATE '2020-01-01'\"")->required();

  auto* restore_cmd = app.add_subcommand("restore", "Make a table what it was at an earlier version (a new commit)");
  std::string restore_name;
  int64_t restore_version = -1;
  restore_cmd->add_option("table", restore_name, "namespace.table")->required();
  restore_cmd->add_option("--version", restore_version, "The version to restore")->required();

  auto* optimize_cmd = app.add_subcommand("optimize", "Compact small files (dataChange=false: concurrent appends go on)");
  std::string optimize_name, optimize_where;
  int64_t optimize_target_mb = 128;
  optimize_cmd->add_option("table", optimize_name, "namespace.table")->required();
  optimize_cmd->add_option("--where", optimize_where, "Only partitions matching this predicate over partition columns");
  optimize_cmd->add_option("--target-mb", optimize_target_mb, "Files smaller than this are compacted")->capture_default_str();

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
    std::cout << "lake ready at " << (*lake)->dir() << "\n";
    return 0;
  }
  if (demo->parsed()) return Demo(lake_dir);
  if (yahoo_cmd->parsed()) {
    if (Status status = ApplySourceConfig(yahoo_cmd, lake_dir, "yahoo", &yahoo_args); !status.ok()) return Fail(status);
    return yahoo_quotes ? IngestYahooQuotes(lake_dir, yahoo_args) : IngestYahoo(lake_dir, yahoo_args);
  }
  if (av_cmd->parsed()) {
    if (Status status = ApplySourceConfig(av_cmd, lake_dir, "alphavantage", &av_args); !status.ok()) return Fail(status);
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

  auto lake = OpenLake(lake_dir);
  if (!lake.ok()) return Fail(lake.status());
  sql::Lake& l = **lake;

  if (create_ns->parsed()) {
    Status status = l.catalog().CreateNamespace(ns_name, ns_description);
    if (status.ok()) status = l.storage().MakeDirs(l.dir() + "/" + ns_name);
    return status.ok() ? 0 : Fail(status);
  }
  if (tables->parsed()) {
    auto entries = l.catalog().ListTables(tables_ns.empty() ? std::nullopt : std::optional<std::string>(tables_ns));
    if (!entries.ok()) return Fail(entries.status());
    for (const auto& entry : *entries) {
      std::cout << entry.QualifiedName() << "\t" << entry.location << (entry.external ? "\t(registered)" : "")
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
    auto connection = l.database().Connect();
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
    auto connection = l.database().Connect();
    if (!connection.ok()) return Fail(connection.status());
    auto table = l.OpenTable(im_name);
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
    auto optimized = (*table)->Optimize(optimize_target_mb * 1024 * 1024, optimize_where);
    if (!optimized.ok()) return Fail(optimized.status());
    if (optimized->files_removed == 0) {
      std::cout << "optimize: " << optimize_name << " is already compact (version " << optimized->version << ")\n";
    } else {
      std::cout << "optimize: " << optimized->files_removed << " files compacted into " << optimized->files_added
                << " (" << optimized->rows_written << " rows), version " << optimized->version << "\n";
    }
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
    auto restored = (*table)->Restore(restore_version);
    if (!restored.ok()) return Fail(restored.status());
    std::cout << "restored " << restore_name << " to version " << restore_version << " as version " << restored->version
              << " (" << restored->files_added << " files re-added, " << restored->files_removed << " removed)\n";
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
    if (sql_text.empty()) return Shell(l, *format);
    return RunSql(l, sql_text, *format, sql_output, sql_stats);
  }
  return 0;
}

}  // namespace finlake::cli

int main(int argc, char** argv) { return finlake::cli::Main(argc, argv); }
