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

namespace {

std::string FormatInstant(calendar::Instant instant) {
  std::time_t t = static_cast<std::time_t>(instant.time_since_epoch().count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace

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


}  // namespace finlake::cli
