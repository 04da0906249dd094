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
Status ApplySourceConfig(const std::set<std::string>& given, const std::string& lake_dir, const std::string& name,
                         IngestArgs* args) {
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

// A clock stopped at one instant: `ingest generate --as-of` fetches as on that day.
class StoppedClock : public Clock {
 public:
  explicit StoppedClock(int64_t ms) : ms_(ms) {}
  int64_t NowMillis() const override { return ms_; }

 private:
  int64_t ms_;
};

int IngestYahooAs(const std::string& lake_dir, const IngestArgs& args, const std::string& source,
                  const Clock* clock = &SystemClock()) {
  auto context = PrepareIngest(lake_dir, args);
  if (!context.ok()) return Fail(context.status());
  auto http = CurlHttpClient::Create(PolicyFor(source, args), HttpOptions(/*browser_agent=*/true));
  if (!http.ok()) return Fail(http.status());
  ingest::YahooOptions options = YahooOptionsFor(args);
  std::vector<std::unique_ptr<ingest::YahooConnector>> connectors;  // One per worker: each keeps its crumb.
  for (int i = 0; i < std::max(1, args.concurrency); ++i) {
    connectors.push_back(std::make_unique<ingest::YahooConnector>(http->get(), options, clock));
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
  auto connection = (*lake)->Connect();
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
  // --as-of: the server answers, and bronze records the fetch, as at 23:00 UTC
  // that day (after the NYSE close), so history can be replayed day by day.
  std::optional<int64_t> now_s;
  if (!args.as_of.empty()) {
    auto day = calendar::ParseDay(args.as_of);
    if (!day.ok()) return Fail(day.status().WithContext("--as-of"));
    now_s = day->time_since_epoch().count() * 86400 + 23 * 3600;
    if (args.end.empty() && args.date.empty() && args.range.empty()) args.date = args.as_of;
  }
  auto server = ingest::GeneratorServer::Start(&*generator, 0, now_s);
  if (!server.ok()) return Fail(server.status());
  args.base_url = (*server)->url();
  args.timeout_ms = 60000;
  StoppedClock as_of_clock(now_s.value_or(0) * 1000);
  return IngestYahooAs(lake_dir, args, "generator", now_s ? static_cast<const Clock*>(&as_of_clock) : &SystemClock());
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


}  // namespace finlake::cli
