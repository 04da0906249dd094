// The bronze -> silver job for daily bars (silver_job.h).
#include "finlake/pipeline/silver_job.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <unordered_map>

#include <date/date.h>

#include "finlake/analytics/adjustment.h"
#include "finlake/calendar/calendar_config.h"
#include "finlake/calendar/exchange_calendar.h"
#include "finlake/core/clock.h"
#include "finlake/core/strings.h"
#include "finlake/delta/schema.h"
#include "finlake/pipeline/models.h"
#include "finlake/pipeline/stage_table.h"

namespace finlake::pipeline {
namespace {

using json = nlohmann::json;

constexpr const char* kBars = "silver.bars_1d";
constexpr const char* kMinutes = "silver.bars_1m";
constexpr const char* kActions = "silver.corporate_actions";
constexpr const char* kSymbols = "silver.symbols";
constexpr const char* kQuarantine = "silver.quarantine";

const Columns kBarsColumns = {
    {"symbol", "VARCHAR"},  {"session_date", "DATE"}, {"ts", "TIMESTAMP WITH TIME ZONE"},
    {"open", "DOUBLE"},     {"high", "DOUBLE"},       {"low", "DOUBLE"},
    {"close", "DOUBLE"},    {"adj_close", "DOUBLE"},  {"volume", "BIGINT"},
    {"currency", "VARCHAR"}, {"exchange", "VARCHAR"}, {"region", "VARCHAR"},
    {"source", "VARCHAR"},  {"ingested_at", "TIMESTAMP WITH TIME ZONE"}};
const Columns kMinuteColumns = {
    {"symbol", "VARCHAR"}, {"ts", "TIMESTAMP WITH TIME ZONE"}, {"session_date", "DATE"}, {"open", "DOUBLE"},
    {"high", "DOUBLE"},    {"low", "DOUBLE"},                   {"close", "DOUBLE"},      {"volume", "BIGINT"},
    {"vwap", "DOUBLE"},    {"trades", "BIGINT"},                {"source", "VARCHAR"},
    {"ingested_at", "TIMESTAMP WITH TIME ZONE"}};
const Columns kActionsColumns = {{"symbol", "VARCHAR"},  {"ex_date", "DATE"},       {"kind", "VARCHAR"},
                                 {"split_ratio", "DOUBLE"}, {"cash_amount", "DOUBLE"}, {"currency", "VARCHAR"},
                                 {"source", "VARCHAR"}};
const Columns kSymbolsColumns = {{"symbol", "VARCHAR"}, {"name", "VARCHAR"},        {"exchange", "VARCHAR"},
                                 {"region", "VARCHAR"}, {"currency", "VARCHAR"},    {"asset_class", "VARCHAR"},
                                 {"active", "BOOLEAN"}};
// Contracts' columns, then the symbol and a readable detail of the broken rule.
const Columns kQuarantineColumns = {{"source_table", "VARCHAR"}, {"rule", "VARCHAR"},
                                    {"row", "VARCHAR"},          {"source", "VARCHAR"},
                                    {"detected_at", "TIMESTAMP WITH TIME ZONE"}, {"symbol", "VARCHAR"},
                                    {"detail", "VARCHAR"}};

int64_t NowMs(const SilverOptions& options) { return options.now_ms > 0 ? options.now_ms : SystemClock().NowMillis(); }

// Which payloads are daily or minute bars, and how to read them.
Result<std::optional<ParsedPayload>> ParsePayload(const std::string& request_key, const std::string& payload,
                                                  const PayloadContext& context) {
  json key = json::parse(request_key, nullptr, false);
  if (!key.is_object()) return std::optional<ParsedPayload>();
  std::string api = key.value("api", "");
  if (api == "chart" && key.value("interval", "") == "1d") {
    ASSIGN_OR_RETURN(ParsedPayload parsed, ParseYahooDaily(payload, context));
    return std::optional<ParsedPayload>(std::move(parsed));
  }
  if (api == "chart" && key.value("interval", "") == "1m") {
    ASSIGN_OR_RETURN(ParsedPayload parsed, ParseYahooMinutes(payload, context));
    return std::optional<ParsedPayload>(std::move(parsed));
  }
  std::string function = key.value("function", "");
  if (api == "alphavantage" && (function == "TIME_SERIES_DAILY" || function == "TIME_SERIES_DAILY_ADJUSTED")) {
    ASSIGN_OR_RETURN(ParsedPayload parsed,
                     ParseAlphaVantageDaily(payload, function, key.value("datatype", "json"), context));
    return std::optional<ParsedPayload>(std::move(parsed));
  }
  // Minutes as traded only: the API's default (adjusted=true) also adjusts for
  // dividends, a scale silver.bars_1m does not use.
  if (api == "alphavantage" && function == "TIME_SERIES_INTRADAY" && key.value("interval", "") == "1min" &&
      key.value("adjusted", true) == false) {
    ASSIGN_OR_RETURN(ParsedPayload parsed, ParseAlphaVantageMinutes(payload, key.value("datatype", "json"), context));
    return std::optional<ParsedPayload>(std::move(parsed));
  }
  return std::optional<ParsedPayload>();
}

// A row of silver.bars_1d in memory, with where it came from.
struct Candidate {
  DailyBar bar;
  double adj_close = NAN;
  bool existing = false;  // Read from silver.bars_1d (already on the known split scale).
  int rank = 0;           // The source's place in the precedence.
};

// The same vendor values (not the same fetch).
bool SameValues(const DailyBar& x, const DailyBar& y) {
  return x.ts_ms == y.ts_ms && x.open == y.open && x.high == y.high && x.low == y.low && x.close == y.close &&
         x.volume == y.volume && x.currency == y.currency && x.exchange == y.exchange && x.region == y.region &&
         x.source == y.source;
}

bool SameBar(const Candidate& a, const Candidate& b) {
  auto same = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
  const DailyBar &x = a.bar, &y = b.bar;
  return x.ts_ms == y.ts_ms && same(x.open, y.open) && same(x.high, y.high) && same(x.low, y.low) &&
         same(x.close, y.close) && same(a.adj_close, b.adj_close) && x.volume == y.volume &&
         x.currency == y.currency && x.exchange == y.exchange && x.region == y.region && x.source == y.source &&
         x.fetched_at_ms == y.fetched_at_ms;
}

// Puts a row on the scale after `splits` (sorted by ex-date): its prices are
// divided, and its volume multiplied, by the ratio of each split after `day`
// that a row adjusted as of `as_of` (nullopt: as traded) does not include yet,
// one split at a time in ex-date order. One split at a time, with the volume
// rounded at each, gives the same bits whether the splits arrive in one run or
// over several: incremental runs equal a full rebuild.
void ApplyPendingSplits(const std::vector<CorporateAction>& splits, Day day, std::optional<Day> as_of,
                        double* prices[], size_t price_count, int64_t* volume) {
  for (const CorporateAction& split : splits) {
    if (split.ex_date <= day || (as_of && split.ex_date <= *as_of)) continue;
    for (size_t i = 0; i < price_count; ++i) *prices[i] /= split.split_ratio;
    if (volume != nullptr) *volume = std::llround(static_cast<double>(*volume) * split.split_ratio);
  }
}

void ApplyPendingSplits(const std::vector<CorporateAction>& splits, std::optional<Day> as_of, DailyBar* bar) {
  double* prices[] = {&bar->open, &bar->high, &bar->low, &bar->close};
  ApplyPendingSplits(splits, bar->session_date, as_of, prices, 4, &bar->volume);
}

// A symbol's corporate actions for this run: the stored ones and the fresh ones,
// all on the latest split's scale.
struct SymbolActions {
  std::vector<CorporateAction> all_splits;  // By ex-date.
  std::vector<CorporateAction> new_splits;  // Those not stored yet, by ex-date.
  // The newest fetch of each (ex_date, kind) wins.
  std::map<std::pair<Day, std::string>, CorporateAction> actions;
  std::vector<const CorporateAction*> changed;  // Of `actions`: new, or not as stored.
};

SymbolActions ResolveActions(const std::vector<CorporateAction>& old_actions,
                             const std::vector<CorporateAction>& new_actions) {
  SymbolActions out;
  for (const CorporateAction& a : old_actions) {
    if (a.kind == "split") out.all_splits.push_back(a);
  }
  for (const CorporateAction& a : new_actions) {
    if (a.kind != "split") continue;
    bool known = std::any_of(out.all_splits.begin(), out.all_splits.end(),
                             [&](const CorporateAction& s) { return s.ex_date == a.ex_date; });
    if (!known) {
      out.all_splits.push_back(a);
      out.new_splits.push_back(a);
    }
  }
  auto by_ex_date = [](const CorporateAction& a, const CorporateAction& b) { return a.ex_date < b.ex_date; };
  std::sort(out.new_splits.begin(), out.new_splits.end(), by_ex_date);
  std::sort(out.all_splits.begin(), out.all_splits.end(), by_ex_date);
  for (CorporateAction a : old_actions) {
    double* amount[] = {&a.cash_amount};
    if (a.kind == "dividend") ApplyPendingSplits(out.new_splits, a.ex_date, std::nullopt, amount, 1, nullptr);
    out.actions[{a.ex_date, a.kind}] = a;
  }
  for (CorporateAction a : new_actions) {
    double* amount[] = {&a.cash_amount};
    if (a.kind == "dividend") ApplyPendingSplits(out.all_splits, a.ex_date, a.split_adjusted_as_of, amount, 1, nullptr);
    out.actions[{a.ex_date, a.kind}] = a;
  }
  std::map<std::pair<Day, std::string>, const CorporateAction*> stored;
  for (const CorporateAction& a : old_actions) stored[{a.ex_date, a.kind}] = &a;
  for (const auto& [key, a] : out.actions) {
    auto it = stored.find(key);
    if (it != stored.end() && it->second->split_ratio == a.split_ratio && it->second->cash_amount == a.cash_amount &&
        it->second->source == a.source) {
      continue;
    }
    out.changed.push_back(&a);
  }
  return out;
}

class SourceRun {
 public:
  SourceRun(sql::Lake* lake, const SilverOptions& options, engine::Connection* connection)
      : lake_(lake), options_(options), connection_(connection) {}

  Result<SilverSourceResult> Run(const std::string& bronze_name);

 private:
  Status ReadBronze(const std::string& bronze_name, const delta::Snapshot& bronze_now, int64_t consumed,
                    table::Table& bronze);
  Status LoadExistingActions(const std::set<std::string>& symbols);
  // The stored bars of each symbol in `first_fresh`: all of them where the value
  // is nullopt, else those from the last stored session before that day on.
  Status LoadExistingBars(const std::map<std::string, std::optional<Day>>& first_fresh);
  bool IsSession(const std::string& exchange, Day day);
  bool ComputeIsSession(const std::string& exchange, Day day);
  int Rank(const std::string& source) const;
  void Quarantine(const Rejected& rejected, const std::string& source);

  sql::Lake* lake_;
  const SilverOptions& options_;
  engine::Connection* connection_;
  SilverSourceResult result_;
  std::string bronze_name_;
  int64_t now_ms_ = 0;
  Status StageMinute(const std::optional<DailyBar>& bar);
  Status WriteMinutes(const std::string& bronze_name, int64_t bronze_version);

  std::vector<Candidate> fresh_;                 // Complete, valid bars of this run.
  // Complete, valid minute bars of this run, as the vendor scaled them, staged
  // in DuckDB as they are parsed (a year of minutes does not fit in C++ structs).
  std::unique_ptr<StageTable> minutes_;
  std::set<std::string> minute_symbols_;
  std::map<std::string, SymbolActions> actions_;  // By symbol: the run's actions, resolved.
  std::vector<CorporateAction> fresh_actions_;
  std::map<std::string, SymbolInfo> fresh_symbols_;
  std::vector<std::pair<Rejected, std::string>> rejected_;  // (row, source)
  std::map<std::string, std::vector<Candidate>> existing_;  // By symbol.
  std::map<std::string, std::vector<CorporateAction>> existing_actions_;
  std::optional<calendar::ExchangeCalendar> nyse_;
  std::map<std::string, std::optional<calendar::ExchangeCalendar>> calendars_;  // Other exchanges, by code.
  std::unordered_map<std::string, bool> session_memo_;
};

bool SourceRun::IsSession(const std::string& exchange, Day day) {
  // Holiday rules are evaluated per call: remember each (exchange, day).
  std::string key = exchange + '\x1f' + std::to_string(day.time_since_epoch().count());
  if (auto it = session_memo_.find(key); it != session_memo_.end()) return it->second;
  return session_memo_[key] = ComputeIsSession(exchange, day);
}

bool SourceRun::ComputeIsSession(const std::string& exchange, Day day) {
  static const std::set<std::string> kUs = {"XNYS", "XNAS", "ARCX", "XASE", "BATS"};
  if (kUs.count(exchange) && nyse_) return nyse_->IsSession(day);
  if (exchange == "CCC") return true;  // Crypto trades every day.
  // A calendar finlake.yaml describes under the exchange's code; else weekdays.
  auto it = calendars_.find(exchange);
  if (it == calendars_.end()) {
    auto resolved = calendar::ResolveCalendar(exchange, lake_->dir() + "/finlake.yaml");
    it = calendars_.emplace(exchange, resolved.ok() ? std::optional(std::move(*resolved)) : std::nullopt).first;
  }
  if (it->second) return it->second->IsSession(day);
  unsigned weekday = date::weekday{day}.c_encoding();
  return weekday != 0 && weekday != 6;
}

int SourceRun::Rank(const std::string& source) const {
  auto it = std::find(options_.precedence.begin(), options_.precedence.end(), source);
  return it == options_.precedence.end() ? static_cast<int>(options_.precedence.size())
                                         : static_cast<int>(it - options_.precedence.begin());
}

void SourceRun::Quarantine(const Rejected& rejected, const std::string& source) {
  rejected_.emplace_back(rejected, source);
}

Status SourceRun::ReadBronze(const std::string& bronze_name, const delta::Snapshot& bronze_now, int64_t consumed,
                             table::Table& bronze) {
  // The files added since the consumed version. A version whose log is gone
  // (cleaned up) means reading everything again: the job is idempotent.
  std::optional<std::vector<size_t>> added = FilesAddedSince(bronze, bronze_now, consumed);
  if (!added) added = FilesAddedSince(bronze, bronze_now, -1);
  table::Table::ScanOptions scan_options;
  std::vector<size_t>& fresh = *added;
  if (fresh.empty()) return Status::Ok();
  scan_options.files = fresh;
  ASSIGN_OR_RETURN(std::string scan, bronze.ScanSql(bronze_now, scan_options));
  ASSIGN_OR_RETURN(auto rows, connection_->Query(
                                  "SELECT symbol, request_key, region, epoch_ms(fetched_at), http_status, payload, "
                                  "payload_encoding FROM (" + scan + ") ORDER BY fetched_at, symbol"));
  std::string source = bronze_name.substr(std::string("bronze.").size());
  if (EndsWith(source, "_raw")) source = source.substr(0, source.size() - 4);
  Day today{date::floor<date::days>(std::chrono::system_clock::time_point{std::chrono::milliseconds{now_ms_}})
                .time_since_epoch()};
  ValidationOptions validation;
  validation.today = today + std::chrono::days{1};  // Asian sessions are a day ahead of UTC.
  validation.is_session = [this](const std::string& exchange, Day day) { return IsSession(exchange, day); };
  for (int64_t r = 0; r < rows->row_count(); ++r) {
    ++result_.payloads;
    if (rows->GetInt64(4, r) != 200 || rows->GetString(6, r) != "utf-8") {
      ++result_.payloads_skipped;
      continue;
    }
    PayloadContext context{source, rows->GetString(0, r), rows->GetString(2, r), rows->GetInt64(3, r)};
    std::string key = rows->GetString(1, r);
    auto parsed = ParsePayload(key, rows->GetString(5, r), context);
    if (!parsed.ok()) {
      ++result_.payloads_unreadable;
      Quarantine({context.symbol, "payload_parses", json{{"request_key", key}, {"fetched_at_ms", context.fetched_at_ms}},
                  parsed.status().message()},
                 source);
      continue;
    }
    if (!*parsed) {
      ++result_.payloads_skipped;
      continue;
    }
    ParsedPayload& payload = **parsed;
    for (Rejected& rejected : payload.rejected) Quarantine(rejected, source);
    // A bar that breaks a rule is quarantined; a live one waits for a later fetch.
    auto admit = [&](DailyBar& bar) {
      if (auto broken = ValidateBar(bar, validation)) {
        Quarantine(*broken, source);
        return false;
      }
      if (!bar.complete) ++result_.held_back;
      return bar.complete;
    };
    for (DailyBar& bar : payload.bars) {
      ++result_.bars;
      if (admit(bar)) fresh_.push_back(Candidate{std::move(bar), NAN, false});
    }
    for (DailyBar& bar : payload.minute_bars) {
      ++result_.minute_bars;
      if (admit(bar)) RETURN_IF_ERROR(StageMinute(bar));
    }
    for (CorporateAction& action : payload.actions) fresh_actions_.push_back(std::move(action));
    if (payload.symbol) fresh_symbols_[payload.symbol->symbol] = *payload.symbol;
  }
  return Status::Ok();
}

Status SourceRun::LoadExistingBars(const std::map<std::string, std::optional<Day>>& first_fresh) {
  if (first_fresh.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(auto plan, StageTable::Create(*connection_, {{"symbol", "VARCHAR"}, {"first_fresh", "DATE"}}));
  for (const auto& [symbol, day] : first_fresh) {
    plan->Varchar(symbol);
    if (day) {
      plan->Date(static_cast<int32_t>(day->time_since_epoch().count()));
    } else {
      plan->Null();
    }
    RETURN_IF_ERROR(plan->EndRow());
  }
  ASSIGN_OR_RETURN(std::string planned, plan->Select());
  ASSIGN_OR_RETURN(auto opened, lake_->OpenTable(kBars));
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, opened->Load());
  ASSIGN_OR_RETURN(std::string scan, opened->ScanSql(snapshot));
  ASSIGN_OR_RETURN(auto rows, connection_->Query(
      "WITH stored AS MATERIALIZED (SELECT s.*, p.first_fresh FROM (" + scan + ") AS s JOIN (" + planned +
      ") AS p USING (symbol)), starts AS (SELECT symbol, max(session_date) FILTER (WHERE session_date < first_fresh) "
      "AS start FROM stored GROUP BY symbol) "
      "SELECT symbol, session_date::VARCHAR, epoch_ms(ts), open, high, low, close, adj_close, volume, currency, "
      "exchange, region, source, epoch_ms(ingested_at) FROM stored JOIN starts USING (symbol) "
      "WHERE first_fresh IS NULL OR start IS NULL OR session_date >= start"));
  for (int64_t r = 0; r < rows->row_count(); ++r) {
    Candidate c;
    c.existing = true;
    DailyBar& bar = c.bar;
    bar.symbol = rows->GetString(0, r);
    ASSIGN_OR_RETURN(bar.session_date, ParseDay(rows->GetString(1, r)));
    bar.ts_ms = rows->GetInt64(2, r);
    duckdb_result* raw = rows->raw();
    bar.open = duckdb_value_double(raw, 3, r);
    bar.high = duckdb_value_double(raw, 4, r);
    bar.low = duckdb_value_double(raw, 5, r);
    bar.close = duckdb_value_double(raw, 6, r);
    c.adj_close = rows->IsNull(7, r) ? NAN : duckdb_value_double(raw, 7, r);
    bar.volume = rows->GetInt64(8, r);
    bar.currency = rows->GetString(9, r);
    bar.exchange = rows->GetString(10, r);
    bar.region = rows->GetString(11, r);
    bar.source = rows->GetString(12, r);
    bar.fetched_at_ms = rows->GetInt64(13, r);
    existing_[bar.symbol].push_back(std::move(c));
  }
  return Status::Ok();
}

Status SourceRun::LoadExistingActions(const std::set<std::string>& symbols) {
  if (symbols.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(auto opened, lake_->OpenTable(kActions));
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, opened->Load());
  ASSIGN_OR_RETURN(std::string scan, opened->ScanSql(snapshot));
  ASSIGN_OR_RETURN(auto rows, connection_->Query("SELECT symbol, ex_date::VARCHAR, kind, split_ratio, cash_amount, "
                                                 "currency, source FROM (" + scan + ") WHERE symbol IN (" +
                                                 SqlQuoteList(symbols) + ")"));
  for (int64_t r = 0; r < rows->row_count(); ++r) {
    CorporateAction a;
    a.symbol = rows->GetString(0, r);
    ASSIGN_OR_RETURN(a.ex_date, ParseDay(rows->GetString(1, r)));
    a.kind = rows->GetString(2, r);
    a.split_ratio = duckdb_value_double(rows->raw(), 3, r);
    a.cash_amount = duckdb_value_double(rows->raw(), 4, r);
    a.currency = rows->GetString(5, r);
    a.source = rows->GetString(6, r);
    existing_actions_[a.symbol].push_back(std::move(a));
  }
  return Status::Ok();
}

// One silver.bars_1d row, in kBarsColumns order.
Status AppendBar(StageTable& stage, const Candidate& c) {
  const DailyBar& b = c.bar;
  stage.Varchar(b.symbol);
  stage.Date(static_cast<int32_t>(b.session_date.time_since_epoch().count()));
  stage.Int64(b.ts_ms);
  for (double v : {b.open, b.high, b.low, b.close, c.adj_close}) stage.Double(v);
  stage.Int64(b.volume);
  for (const std::string* text : {&b.currency, &b.exchange, &b.region, &b.source}) stage.Varchar(*text);
  stage.Int64(b.fetched_at_ms);
  return stage.EndRow();
}

Status SourceRun::StageMinute(const std::optional<DailyBar>& bar) {
  if (!minutes_) {
    Columns columns = kMinuteColumns;
    columns.push_back({"__rank", "INTEGER"});
    columns.push_back({"__as_of", "DATE"});
    ASSIGN_OR_RETURN(minutes_, StageTable::Create(*connection_, columns));
  }
  if (!bar) return Status::Ok();
  minute_symbols_.insert(bar->symbol);
  StageTable& rows = *minutes_;
  rows.Varchar(bar->symbol);
  rows.Int64(bar->ts_ms);
  rows.Date(static_cast<int32_t>(bar->session_date.time_since_epoch().count()));
  for (double price : {bar->open, bar->high, bar->low, bar->close}) rows.Double(price);
  rows.Int64(bar->volume);
  rows.Null();  // vwap
  rows.Null();  // trades
  rows.Varchar(bar->source);
  rows.Int64(bar->fetched_at_ms);
  rows.Int64(Rank(bar->source));
  if (bar->split_adjusted_as_of) {
    rows.Date(static_cast<int32_t>(bar->split_adjusted_as_of->time_since_epoch().count()));
  } else {
    rows.Null();
  }
  return rows.EndRow();
}

// silver.bars_1m: the run's minute bars on the latest split scale, plus the
// stored rows of the same keys, and of every symbol with a new split (rescaled
// one split at a time, as the daily rows); one winner per (symbol, ts) by the
// same precedence; only rows that differ are written.
Status SourceRun::WriteMinutes(const std::string& bronze_name, int64_t bronze_version) {
  std::set<std::string> rescaled;
  for (const auto& [symbol, resolved] : actions_) {
    if (!resolved.new_splits.empty()) rescaled.insert(symbol);
  }
  if (!minutes_ && rescaled.empty()) return Status::Ok();
  if (!minutes_) RETURN_IF_ERROR(StageMinute(std::nullopt));  // An empty stage: only rescaling.
  ASSIGN_OR_RETURN(std::string staged, minutes_->Select());
  // The fresh rows on the latest split scale, one split at a time as the daily
  // rows: a split applies to a row before its ex-date that the vendor had not
  // applied as of its fetch (__as_of; null: as traded).
  auto rescale = [](const std::vector<CorporateAction>& splits, bool fresh_rows) {
    std::string open = "open", high = "high", low = "low", close = "close", volume = "volume";
    for (const CorporateAction& split : splits) {
      std::string ex = "DATE " + SqlQuote(DayText(split.ex_date));
      std::string applies = "session_date < " + ex + (fresh_rows ? " AND (__as_of IS NULL OR __as_of < " + ex + ")" : "");
      char ratio[40];
      std::snprintf(ratio, sizeof ratio, "%.17g", split.split_ratio);
      for (std::string* price : {&open, &high, &low, &close}) {
        *price = "CASE WHEN " + applies + " THEN (" + *price + ") / " + ratio + " ELSE (" + *price + ") END";
      }
      volume = "CASE WHEN " + applies + " THEN round((" + volume + ") * " + ratio + ")::BIGINT ELSE (" + volume + ") END";
    }
    return std::array<std::string, 5>{open, high, low, close, volume};
  };
  std::vector<std::string> cases[5];
  for (const std::string& symbol : minute_symbols_) {
    const std::vector<CorporateAction>& splits = actions_[symbol].all_splits;
    if (splits.empty()) continue;
    auto exprs = rescale(splits, /*fresh_rows=*/true);
    for (size_t c = 0; c < 5; ++c) cases[c].push_back("WHEN " + SqlQuote(symbol) + " THEN " + exprs[c]);
  }
  const char* names[5] = {"open", "high", "low", "close", "volume"};
  std::vector<std::string> replaced;
  for (size_t c = 0; c < 5; ++c) {
    if (cases[c].empty()) continue;
    replaced.push_back("CASE symbol " + Join(cases[c], " ") + " ELSE " + names[c] + " END AS " + names[c]);
  }
  std::string fresh = "SELECT * EXCLUDE (__as_of)" + (replaced.empty() ? "" : " REPLACE (" + Join(replaced, ", ") + ")") +
                      " FROM (" + staged + ")";
  ASSIGN_OR_RETURN(auto table, lake_->OpenTable(kMinutes));
  ASSIGN_OR_RETURN(delta::Snapshot snapshot, table->Load());
  ASSIGN_OR_RETURN(std::string scan, table->ScanSql(snapshot));
  std::vector<std::string> ranks;
  for (size_t i = 0; i < options_.precedence.size(); ++i) {
    ranks.push_back("WHEN " + SqlQuote(options_.precedence[i]) + " THEN " + std::to_string(i));
  }
  std::string rank = "CASE source " + Join(ranks, " ") + " ELSE " + std::to_string(options_.precedence.size()) + " END";
  // Stored rows: those a fresh row may replace, and all rows of rescaled symbols.
  std::string stored = "SELECT g.*, " + rank + " AS __rank FROM (" + scan + ") AS g WHERE (g.symbol, g.ts) IN "
                       "(SELECT (symbol, ts) FROM fresh)";
  for (const std::string& symbol : rescaled) {
    auto [open, high, low, close, volume] = rescale(actions_[symbol].new_splits, /*fresh_rows=*/false);
    stored += " UNION ALL SELECT symbol, ts, session_date, " + open + " AS open, " + high + " AS high, " + low +
              " AS low, " + close + " AS close, " + volume + " AS volume, vwap, trades, source, ingested_at, " + rank +
              " AS __rank FROM (" + scan + ") WHERE symbol = " + SqlQuote(symbol) +
              " AND (symbol, ts) NOT IN (SELECT (symbol, ts) FROM fresh)";
  }
  // The latest fetch wins; it keeps the time its values were first ingested
  // (as the daily rows), so a re-fetch that changes nothing rewrites nothing.
  std::string winners = "WITH fresh AS (" + fresh + "), candidates AS (SELECT *, 0 AS __stored FROM fresh UNION ALL "
                        "SELECT *, 1 AS __stored FROM (" + stored + ")) SELECT * EXCLUDE (__rank, __stored, __k, "
                        "__first) REPLACE (__first AS ingested_at) FROM (SELECT *, row_number() OVER (PARTITION BY "
                        "symbol, ts ORDER BY __rank, ingested_at DESC, __stored) AS __k, min(ingested_at) OVER "
                        "(PARTITION BY symbol, ts, source, session_date, open, high, low, close, volume) AS __first "
                        "FROM candidates) WHERE __k = 1";
  auto written = WriteChangedRows(lake_, *connection_, kMinutes, winners, {"symbol", "ts"}, /*replace_all=*/false,
                                  {delta::Txn{std::string("finlake.") + kMinutes + ":" + bronze_name, bronze_version,
                                              now_ms_}});
  if (!written.ok()) return written.status().WithContext(std::string("writing ") + kMinutes);
  result_.minute_rows_written = written->rows_inserted + written->rows_updated;
  return Status::Ok();
}

Result<SilverSourceResult> SourceRun::Run(const std::string& bronze_name) {
  bronze_name_ = bronze_name;
  result_.bronze_table = bronze_name;
  now_ms_ = NowMs(options_);
  if (auto nyse = calendar::ExchangeCalendar::Builtin("XNYS"); nyse.ok()) nyse_ = std::move(*nyse);
  ASSIGN_OR_RETURN(auto bronze, lake_->OpenTable(bronze_name));
  ASSIGN_OR_RETURN(delta::Snapshot bronze_now, bronze->Load());
  result_.bronze_version = bronze_now.version;
  ASSIGN_OR_RETURN(auto bars_table, lake_->OpenTable(kBars));
  ASSIGN_OR_RETURN(delta::Snapshot bars_snapshot, bars_table->Load());
  std::string app_id = std::string("finlake.") + kBars + ":" + bronze_name;
  int64_t consumed = -1;
  if (auto it = bars_snapshot.txns.find(app_id); it != bars_snapshot.txns.end()) consumed = it->second.version;
  if (options_.full_rebuild) consumed = -1;
  if (consumed >= bronze_now.version) return result_;
  RETURN_IF_ERROR(ReadBronze(bronze_name, bronze_now, consumed, *bronze));

  // Symbols this run touches.
  std::set<std::string> symbols;
  for (const Candidate& c : fresh_) symbols.insert(c.bar.symbol);
  for (const CorporateAction& a : fresh_actions_) symbols.insert(a.symbol);
  symbols.insert(minute_symbols_.begin(), minute_symbols_.end());
  RETURN_IF_ERROR(LoadExistingActions(symbols));

  std::map<std::string, std::vector<Candidate>> fresh_by_symbol;
  for (Candidate& c : fresh_) fresh_by_symbol[c.bar.symbol].push_back(std::move(c));
  std::map<std::string, std::vector<CorporateAction>> fresh_actions_by_symbol;
  for (CorporateAction& a : fresh_actions_) fresh_actions_by_symbol[a.symbol].push_back(std::move(a));
  for (const std::string& symbol : symbols) {
    actions_[symbol] = ResolveActions(existing_actions_[symbol], fresh_actions_by_symbol[symbol]);
  }

  // The stored bars each symbol needs. A new split (which rescales every stored
  // row), a new or changed action, or an action on or after the first fresh
  // session (whose reference close a fresh bar may be) can move adj_close for the
  // whole history: those symbols load all their rows. The others only append or
  // re-fetch recent sessions: the stored rows from the last session before the
  // first fresh one (the jump check's previous close) are enough, and every
  // earlier row keeps its values. A symbol with no fresh bar and no changed
  // action loads nothing.
  std::map<std::string, std::optional<Day>> load;
  for (const std::string& symbol : symbols) {
    const SymbolActions& a = actions_[symbol];
    const std::vector<Candidate>& fresh = fresh_by_symbol[symbol];
    std::optional<Day> first_fresh;
    for (const Candidate& c : fresh) {
      if (!first_fresh || c.bar.session_date < *first_fresh) first_fresh = c.bar.session_date;
    }
    bool action_in_range = first_fresh && !a.actions.empty() && a.actions.rbegin()->first.first >= *first_fresh;
    if (!a.new_splits.empty() || !a.changed.empty() || action_in_range) {
      load[symbol] = std::nullopt;
    } else if (first_fresh) {
      load[symbol] = first_fresh;
    }
  }
  RETURN_IF_ERROR(LoadExistingBars(load));

  ASSIGN_OR_RETURN(auto bars_stage, StageTable::Create(*connection_, kBarsColumns));
  ASSIGN_OR_RETURN(auto actions_stage, StageTable::Create(*connection_, kActionsColumns));
  ASSIGN_OR_RETURN(auto symbols_stage, StageTable::Create(*connection_, kSymbolsColumns));
  ASSIGN_OR_RETURN(auto quarantine_stage, StageTable::Create(*connection_, kQuarantineColumns));
  StageTable &bar_rows = *bars_stage, &action_rows = *actions_stage, &symbol_rows = *symbols_stage,
             &quarantine_rows = *quarantine_stage;

  for (const std::string& symbol : symbols) {
    std::vector<Candidate>& old_rows = existing_[symbol];
    const SymbolActions& resolved_actions = actions_[symbol];
    const std::vector<CorporateAction>& all_splits = resolved_actions.all_splits;
    const std::vector<CorporateAction>& new_splits = resolved_actions.new_splits;
    const auto& actions = resolved_actions.actions;
    // Every price on the latest split's scale.
    std::vector<Candidate> rows = old_rows;
    for (Candidate& c : rows) ApplyPendingSplits(new_splits, std::nullopt, &c.bar);
    for (Candidate c : fresh_by_symbol[symbol]) {
      ApplyPendingSplits(all_splits, c.bar.split_adjusted_as_of, &c.bar);
      rows.push_back(std::move(c));
    }
    // One row per session: precedence, then the latest fetch; new beats stored on a tie.
    for (Candidate& c : rows) c.rank = Rank(c.bar.source);
    std::sort(rows.begin(), rows.end(), [&](const Candidate& a, const Candidate& b) {
      if (a.bar.session_date != b.bar.session_date) return a.bar.session_date < b.bar.session_date;
      if (a.rank != b.rank) return a.rank < b.rank;
      if (a.bar.fetched_at_ms != b.bar.fetched_at_ms) return a.bar.fetched_at_ms > b.bar.fetched_at_ms;
      return !a.existing && b.existing;
    });
    std::vector<Candidate> winners;
    for (size_t i = 0; i < rows.size();) {
      size_t j = i;
      while (j < rows.size() && rows[j].bar.session_date == rows[i].bar.session_date) ++j;
      // A new row that jumps from the previous session's close with no
      // corporate action in between is flagged; the next candidate stands.
      for (size_t k = i; k < j; ++k) {
        Candidate& c = rows[k];
        if (!c.existing && !winners.empty() && options_.jump_threshold > 0) {
          const Candidate& previous = winners.back();
          double move = c.bar.close / previous.bar.close - 1;
          bool action_between = std::any_of(actions.begin(), actions.end(), [&](const auto& entry) {
            return entry.first.first > previous.bar.session_date && entry.first.first <= c.bar.session_date;
          });
          if (std::fabs(move) > options_.jump_threshold && !action_between) {
            char detail[160];
            std::snprintf(detail, sizeof detail, "close %.6g moved %+.1f%% from %.6g on %s with no split or dividend",
                          c.bar.close, move * 100, previous.bar.close, DayText(previous.bar.session_date).c_str());
            Quarantine({symbol, "jump_without_corporate_action", BarJson(c.bar), detail}, c.bar.source);
            continue;
          }
        }
        // A re-fetch that says the same as an earlier fetch changes nothing: the
        // row keeps the time these values were first ingested (so a full rebuild
        // and incremental runs agree, and unchanged rows are not rewritten).
        Candidate winner = c;
        for (size_t m = k + 1; m < j; ++m) {
          if (SameValues(rows[m].bar, winner.bar)) {
            winner.bar.fetched_at_ms = std::min(winner.bar.fetched_at_ms, rows[m].bar.fetched_at_ms);
          }
        }
        winners.push_back(std::move(winner));
        break;
      }
      i = j;
    }
    // adj_close from the dividends (CRSP), all on one scale.
    std::vector<Day> dates;
    std::vector<double> closes, adjusted(winners.size());
    for (const Candidate& c : winners) {
      dates.push_back(c.bar.session_date);
      closes.push_back(c.bar.close);
    }
    std::vector<analytics::CorporateAction> dividends;
    for (const auto& [key, a] : actions) {
      if (a.kind == "dividend") dividends.push_back(analytics::CorporateAction::Dividend(a.ex_date, a.cash_amount));
    }
    RETURN_IF_ERROR(analytics::BackAdjustedClose(dates, closes, dividends, /*close_is_split_adjusted=*/true, adjusted)
                        .WithContext("adjusting " + symbol));
    std::map<Day, const Candidate*> stored;
    for (const Candidate& c : old_rows) stored[c.bar.session_date] = &c;
    for (size_t i = 0; i < winners.size(); ++i) {
      winners[i].adj_close = adjusted[i];
      auto it = stored.find(winners[i].bar.session_date);
      if (it != stored.end() && SameBar(winners[i], *it->second)) continue;
      RETURN_IF_ERROR(AppendBar(bar_rows, winners[i]));
    }
    // Actions that are new or changed.
    for (const CorporateAction* a : resolved_actions.changed) {
      RETURN_IF_ERROR(action_rows.AddJson({{"symbol", a->symbol}, {"ex_date", DayText(a->ex_date)},
                                           {"kind", a->kind}, {"split_ratio", a->split_ratio},
                                           {"cash_amount", a->cash_amount}, {"currency", a->currency},
                                           {"source", a->source}}));
    }
  }
  for (const auto& [symbol, info] : fresh_symbols_) {
    RETURN_IF_ERROR(symbol_rows.AddJson({{"symbol", info.symbol}, {"name", info.name}, {"exchange", info.exchange},
                     {"region", info.region}, {"currency", info.currency}, {"asset_class", info.asset_class},
                     {"active", info.active}}));
  }
  for (const auto& [rejected, source] : rejected_) {
    RETURN_IF_ERROR(quarantine_rows.AddJson({{"source_table", bronze_name}, {"rule", rejected.rule}, {"row", rejected.row.dump()},
                         {"source", source}, {"detected_at", now_ms_}, {"symbol", rejected.symbol},
                         {"detail", rejected.detail}}));
  }
  result_.quarantined = quarantine_rows.rows();
  result_.actions_written = action_rows.rows();

  // Quarantine, actions and symbols first; the bars commit, which records the
  // consumed bronze version, comes last.
  if (quarantine_rows.rows() > 0) {
    ASSIGN_OR_RETURN(auto table, lake_->OpenTable(kQuarantine));
    ASSIGN_OR_RETURN(std::string select, quarantine_rows.Select());
    table::WriteOptions write;
    write.txn = delta::Txn{std::string("finlake.") + kQuarantine + ":" + bronze_name, bronze_now.version, now_ms_};
    RETURN_IF_ERROR(table->Append(select, write).status().WithContext("writing " + std::string(kQuarantine)));
  }
  if (action_rows.rows() > 0) {
    ASSIGN_OR_RETURN(auto table, lake_->OpenTable(kActions));
    ASSIGN_OR_RETURN(std::string select, action_rows.Select());
    table::MergeOptions merge;
    merge.keys = {"symbol", "ex_date", "kind"};
    RETURN_IF_ERROR(table->Merge(select, merge).status().WithContext("writing " + std::string(kActions)));
  }
  if (symbol_rows.rows() > 0) {
    ASSIGN_OR_RETURN(auto table, lake_->OpenTable(kSymbols));
    ASSIGN_OR_RETURN(std::string select, symbol_rows.Select());
    table::MergeOptions merge;
    merge.keys = {"symbol"};
    RETURN_IF_ERROR(table->Merge(select, merge).status().WithContext("writing " + std::string(kSymbols)));
  }
  RETURN_IF_ERROR(WriteMinutes(bronze_name, bronze_now.version));
  if (bar_rows.rows() > 0) {
    ASSIGN_OR_RETURN(std::string select, bar_rows.Select());
    table::MergeOptions merge;
    merge.keys = {"symbol", "session_date"};
    merge.txn = delta::Txn{app_id, bronze_now.version, now_ms_};
    auto merged = bars_table->Merge(select, merge);
    if (!merged.ok()) return merged.status().WithContext("writing " + std::string(kBars));
    const table::WriteResult& written = *merged;
    result_.rows_inserted = written.rows_inserted;
    result_.rows_updated = written.rows_updated;
    result_.bars_version = written.version;
  } else {
    // No daily row changed: commit the consumed bronze version alone, so the
    // next run does not read these payloads again.
    table::WriteOptions write;
    write.txn = delta::Txn{app_id, bronze_now.version, now_ms_};
    ASSIGN_OR_RETURN(std::string select, bar_rows.Select());
    ASSIGN_OR_RETURN(table::WriteResult written, bars_table->Append(select + " WHERE false", write));
    result_.bars_version = written.version;
  }
  return result_;
}

}  // namespace

Status EnsureSilverTables(sql::Lake* lake) {
  RETURN_IF_ERROR(EnsureTable(lake, kBars, kBarsColumns,
                              "One clean, split-adjusted daily bar per (symbol, session_date)"));
  RETURN_IF_ERROR(EnsureTable(lake, kMinutes, kMinuteColumns, "One clean 1-minute bar per (symbol, ts), ts the bar's start"));
  RETURN_IF_ERROR(EnsureTable(lake, kActions, kActionsColumns, "Splits and dividends, amounts on the latest split scale"));
  RETURN_IF_ERROR(EnsureTable(lake, kSymbols, kSymbolsColumns, "Listings seen in the sources"));
  return EnsureTable(lake, kQuarantine, kQuarantineColumns, "Rows that broke a validation rule, with the rule");
}

Result<SilverResult> RunSilverBars(sql::Lake* lake, const SilverOptions& options) {
  RETURN_IF_ERROR(EnsureSilverTables(lake));
  ASSIGN_OR_RETURN(auto connection, lake->Connect());
  SilverResult result;
  for (const char* source : {"yahoo", "alphavantage", "generator"}) {
    std::string bronze_name = std::string("bronze.") + source + "_raw";
    auto exists = lake->Resolve(bronze_name);
    if (!exists.ok()) {
      if (exists.status().code() == StatusCode::kNotFound) continue;
      return exists.status();
    }
    SourceRun run(lake, options, connection.get());
    ASSIGN_OR_RETURN(SilverSourceResult source_result, run.Run(bronze_name));
    if (options.progress) {
      options.progress(bronze_name + ": " + std::to_string(source_result.payloads) + " payloads, " +
                       std::to_string(source_result.bars) + " bars, " + std::to_string(source_result.held_back) +
                       " live bars held back, " + std::to_string(source_result.quarantined) + " quarantined");
    }
    result.sources.push_back(std::move(source_result));
  }
  return result;
}

}  // namespace finlake::pipeline
