// silver.bars_1d -> gold.daily_features (gold_features.h).
#include "finlake/pipeline/gold_features.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "finlake/analytics/indicators.h"
#include "finlake/analytics/streaming.h"
#include "finlake/core/strings.h"
#include "finlake/delta/schema.h"
#include "finlake/pipeline/models.h"
#include "finlake/pipeline/stage_table.h"

namespace finlake::pipeline {
namespace {

using json = nlohmann::json;

constexpr const char* kSilver = "silver.bars_1d";
constexpr const char* kGold = "gold.daily_features";
constexpr const char* kState = "system.daily_features_state";

// The feature columns after (symbol, session_date), in Contracts order.
const char* const kFeatures[] = {"close",  "adj_close",  "ret_1d",       "log_ret_1d",   "vol_20d",  "sma_20",
                                 "sma_50", "sma_200",    "ema_12",       "ema_26",       "macd",     "macd_signal",
                                 "macd_hist", "rsi_14",  "bb_upper_20",  "bb_middle_20", "bb_lower_20", "atr_14",
                                 "obv",    "volume_z_20"};
constexpr size_t kFeatureCount = sizeof(kFeatures) / sizeof(kFeatures[0]);

// The silver series of the chosen symbols, as columns, symbol by symbol.
struct Series {
  std::vector<std::string> symbols;
  std::vector<int64_t> offsets = {0};  // Symbol s owns rows [offsets[s], offsets[s+1]).
  std::vector<int32_t> days;           // session_date as days since 1970-01-01.
  std::vector<double> close, adj_close, high, low, volume;
};

// Reads the numeric columns of a query (all DOUBLE but the first, an INTEGER day)
// chunk by chunk; a null double becomes NaN.
Status ReadSeries(engine::Connection& connection, const std::string& sql, Series* series) {
  ASSIGN_OR_RETURN(auto result, connection.Query(sql));
  std::vector<std::vector<double>*> doubles = {&series->close, &series->adj_close, &series->high, &series->low,
                                               &series->volume};
  std::vector<int64_t> sids;
  while (true) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(*result->raw());
    if (chunk == nullptr) break;
    idx_t size = duckdb_data_chunk_get_size(chunk);
    auto* sid = static_cast<int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0)));
    auto* day = static_cast<int32_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 1)));
    sids.insert(sids.end(), sid, sid + size);
    series->days.insert(series->days.end(), day, day + size);
    for (size_t c = 0; c < doubles.size(); ++c) {
      duckdb_vector vector = duckdb_data_chunk_get_vector(chunk, c + 2);
      auto* data = static_cast<double*>(duckdb_vector_get_data(vector));
      uint64_t* validity = duckdb_vector_get_validity(vector);
      for (idx_t r = 0; r < size; ++r) {
        doubles[c]->push_back(validity == nullptr || duckdb_validity_row_is_valid(validity, r) ? data[r] : NAN);
      }
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  for (size_t r = 1; r <= sids.size(); ++r) {
    if (r == sids.size() || sids[r] != sids[r - 1]) series->offsets.push_back(static_cast<int64_t>(r));
  }
  return Status::Ok();
}

// gold.daily_features: (symbol, session_date), then kFeatures.
Columns FeatureColumns() {
  Columns columns = {{"symbol", "VARCHAR"}, {"session_date", "DATE"}};
  for (const char* feature : kFeatures) columns.push_back({feature, "DOUBLE"});
  return columns;
}

const Columns kStateColumns = {{"symbol", "VARCHAR"}, {"session_date", "DATE"}, {"bars", "BIGINT"}, {"state", "BLOB"}};

// The state format written into system.daily_features_state; a state of another
// format is not loaded (the symbol is recomputed from its first bar).
constexpr double kStateFormat = 1;

// Every feature's stream for one symbol: one bar in, the kFeatureCount features
// of that bar out, in kFeatures order.
class FeatureStreams {
 public:
  void Push(double close, double adj_close, double high, double low, double volume, double* features) {
    // High and low on the adjusted scale, for ATR.
    const double factor = adj_close / close;
    const double log_return = log_return_.Push(adj_close);
    const bool vol_full = vol_.Push(log_return);
    const bool sma20_full = sma20_.Push(adj_close);
    const bool sma50_full = sma50_.Push(adj_close);
    const bool sma200_full = sma200_.Push(adj_close);
    const bool volume_full = volume_.Push(volume);
    const analytics::MacdValues macd = macd_.Push(adj_close);
    double* f = features;
    *f++ = close;
    *f++ = adj_close;
    *f++ = return_.Push(adj_close);
    *f++ = log_return;
    *f++ = vol_full ? vol_.SampleDeviation() * std::sqrt(252.0) : NAN;
    const double middle = sma20_full ? sma20_.Mean() : NAN;
    *f++ = middle;
    *f++ = sma50_full ? sma50_.Mean() : NAN;
    *f++ = sma200_full ? sma200_.Mean() : NAN;
    *f++ = ema12_.Push(adj_close);
    *f++ = ema26_.Push(adj_close);
    *f++ = macd.line;
    *f++ = macd.signal;
    *f++ = macd.histogram;
    *f++ = rsi_.Push(adj_close);
    const double band = sma20_full ? 2.0 * sma20_.PopulationDeviation() : NAN;
    *f++ = middle + band;
    *f++ = middle;
    *f++ = middle - band;
    *f++ = atr_.Push(high * factor, low * factor, adj_close);
    *f++ = obv_.Push(adj_close, volume);
    double z = NAN;
    if (volume_full) {
      const double deviation = volume_.SampleDeviation();
      z = deviation > 0.0 ? (volume - volume_.Mean()) / deviation : 0.0;
    }
    *f++ = z;
  }

  void Save(analytics::StateWriter& state) const {
    state.Put(kStateFormat);
    return_.Save(state);
    log_return_.Save(state);
    for (const analytics::WindowStream* window : {&vol_, &sma20_, &sma50_, &sma200_, &volume_}) window->Save(state);
    ema12_.Save(state);
    ema26_.Save(state);
    macd_.Save(state);
    rsi_.Save(state);
    atr_.Save(state);
    obv_.Save(state);
  }

  Status Load(analytics::StateReader& state) {
    ASSIGN_OR_RETURN(double format, state.Get("format"));
    if (format != kStateFormat) {
      return Status::InvalidArgument("indicator state: format " + std::to_string(format) + ", this build reads " +
                                     std::to_string(kStateFormat));
    }
    RETURN_IF_ERROR(return_.Load(state));
    RETURN_IF_ERROR(log_return_.Load(state));
    for (analytics::WindowStream* window : {&vol_, &sma20_, &sma50_, &sma200_, &volume_}) {
      RETURN_IF_ERROR(window->Load(state));
    }
    RETURN_IF_ERROR(ema12_.Load(state));
    RETURN_IF_ERROR(ema26_.Load(state));
    RETURN_IF_ERROR(macd_.Load(state));
    RETURN_IF_ERROR(rsi_.Load(state));
    RETURN_IF_ERROR(atr_.Load(state));
    RETURN_IF_ERROR(obv_.Load(state));
    if (!state.done()) return Status::InvalidArgument("indicator state: values left over after the last indicator");
    return Status::Ok();
  }

 private:
  analytics::ReturnStream return_{false}, log_return_{true};
  analytics::WindowStream vol_{20}, sma20_{20}, sma50_{50}, sma200_{200}, volume_{20};
  analytics::EmaStream ema12_{12}, ema26_{26};
  analytics::MacdStream macd_{analytics::MacdOptions{}};
  analytics::RsiStream rsi_{14};
  analytics::AtrStream atr_{14};
  analytics::ObvStream obv_;
};

// A state as stored: the doubles' bytes, little-endian as this machine's.
std::string StateBytes(const analytics::StateWriter& state) {
  const std::vector<double>& values = state.values();
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
}

Result<FeatureStreams> StreamsFromBytes(const std::string& bytes) {
  if (bytes.size() % sizeof(double) != 0) {
    return Status::InvalidArgument("indicator state: " + std::to_string(bytes.size()) +
                                   " bytes is not a whole number of doubles");
  }
  std::vector<double> values(bytes.size() / sizeof(double));
  std::memcpy(values.data(), bytes.data(), bytes.size());
  FeatureStreams streams;
  analytics::StateReader reader(values);
  RETURN_IF_ERROR(streams.Load(reader));
  return streams;
}

// What a run does for one symbol: resume its saved streams after `after` (the
// last session they consumed), or start from its first bar.
struct SymbolPlan {
  std::optional<int32_t> after;  // Days since 1970-01-01.
  int64_t bars_before = 0;       // Bars the saved streams consumed.
  FeatureStreams streams;        // As saved after `after`.
};

// Per symbol, the first session whose silver inputs changed since version
// `since` (added, corrected or deleted); nullopt when that cannot be told any
// more (ChangedRowsSql).
Result<std::optional<std::map<std::string, int32_t>>> FirstChangedSessions(table::Table& silver,
                                                                            const delta::Snapshot& now, int64_t since,
                                                                            engine::Connection& connection) {
  using Changes = std::optional<std::map<std::string, int32_t>>;
  ASSIGN_OR_RETURN(std::optional<std::string> changed_rows,
                   ChangedRowsSql(silver, now, since,
                                  {"symbol", "session_date", "close", "adj_close", "high", "low", "volume"},
                                  /*exact=*/true));
  if (!changed_rows) return Changes();
  auto changed = connection.Query("SELECT symbol, (min(session_date) - DATE '1970-01-01')::INTEGER FROM (" +
                                  *changed_rows + ") GROUP BY symbol");
  if (!changed.ok()) return Changes();  // A removed file was vacuumed.
  std::map<std::string, int32_t> first;
  for (int64_t r = 0; r < (*changed)->row_count(); ++r) {
    first[(*changed)->GetString(0, r)] = static_cast<int32_t>((*changed)->GetInt64(1, r));
  }
  return Changes(std::move(first));
}

}  // namespace

Status EnsureFeaturesTable(sql::Lake* lake) {
  RETURN_IF_ERROR(EnsureTable(lake, kGold, FeatureColumns(), "Daily technical features per symbol, from silver.bars_1d"));
  return EnsureTable(lake, kState, kStateColumns,
                     "Indicator state of gold.daily_features per symbol after its last session (finlake internal)");
}

Result<FeaturesResult> RunDailyFeatures(sql::Lake* lake, const FeaturesOptions& options) {
  RETURN_IF_ERROR(EnsureFeaturesTable(lake));
  FeaturesResult result;
  ASSIGN_OR_RETURN(auto silver, lake->OpenTable(kSilver));
  ASSIGN_OR_RETURN(delta::Snapshot silver_now, silver->Load());
  ASSIGN_OR_RETURN(auto gold, lake->OpenTable(kGold));
  ASSIGN_OR_RETURN(delta::Snapshot gold_now, gold->Load());
  ASSIGN_OR_RETURN(auto state_table, lake->OpenTable(kState));
  ASSIGN_OR_RETURN(delta::Snapshot state_now, state_table->Load());
  result.silver_version = silver_now.version;
  const std::string gold_app = std::string("finlake.") + kGold + ":" + kSilver;
  const std::string state_app = std::string("finlake.") + kState + ":" + kSilver;
  auto consumed_by = [](const delta::Snapshot& snapshot, const std::string& app) -> int64_t {
    auto it = snapshot.txns.find(app);
    return it == snapshot.txns.end() ? -1 : it->second.version;
  };
  const int64_t consumed = consumed_by(gold_now, gold_app);
  if (consumed >= silver_now.version && !options.full_rebuild) return result;

  ASSIGN_OR_RETURN(auto connection, lake->Connect());
  ASSIGN_OR_RETURN(std::string silver_scan, silver->ScanSql(silver_now));

  // The plan: which symbols to compute, and from where. Without a usable history
  // (a full rebuild, a first run, a consumed version whose log or files are
  // gone) every symbol starts from its first bar.
  std::map<std::string, SymbolPlan> plans;
  std::optional<std::map<std::string, int32_t>> first_changes;
  if (consumed >= 0 && !options.full_rebuild) {
    ASSIGN_OR_RETURN(first_changes, FirstChangedSessions(*silver, silver_now, consumed, *connection));
  }
  if (first_changes) {
    for (const auto& [symbol, day] : *first_changes) plans[symbol];
    // A symbol resumes its saved streams when everything that changed for it
    // comes after the last session they consumed (an append). Anything else (a
    // correction, a split or dividend rewriting its history) recomputes it from
    // the first bar, and only the rows that come out different are written. The
    // states are trusted only when they were written for the silver version gold
    // consumed (both commits of a run carry it).
    if (!plans.empty() && consumed_by(state_now, state_app) == consumed) {
      ASSIGN_OR_RETURN(std::string state_scan, state_table->ScanSql(state_now));
      std::set<std::string> symbols;
      for (const auto& [symbol, plan] : plans) symbols.insert(symbol);
      ASSIGN_OR_RETURN(auto saved, connection->Query(
                                       "SELECT symbol, (session_date - DATE '1970-01-01')::INTEGER, bars, state FROM (" +
                                       state_scan + ") WHERE symbol IN (" + SqlQuoteList(symbols) + ")"));
      for (int64_t r = 0; r < saved->row_count(); ++r) {
        const std::string symbol = saved->GetString(0, r);
        const auto last = static_cast<int32_t>(saved->GetInt64(1, r));
        if (first_changes->at(symbol) <= last) continue;
        auto streams = StreamsFromBytes(saved->GetBlob(3, r));
        if (!streams.ok()) continue;  // Another format: recompute.
        SymbolPlan& plan = plans[symbol];
        plan.after = last;
        plan.bars_before = saved->GetInt64(2, r);
        plan.streams = std::move(*streams);
      }
    }
  }

  // The bars to push: all of a recomputed symbol's, those after `after` of a
  // resumed one.
  std::string source = "SELECT * FROM (" + silver_scan + ")";
  std::unique_ptr<StageTable> plan_table;
  if (first_changes) {
    ASSIGN_OR_RETURN(plan_table, StageTable::Create(*connection, {{"symbol", "VARCHAR"}, {"after", "DATE"}}));
    for (const auto& [symbol, plan] : plans) {
      plan_table->Varchar(symbol);
      if (plan.after) {
        plan_table->Date(*plan.after);
      } else {
        plan_table->Null();
      }
      RETURN_IF_ERROR(plan_table->EndRow());
    }
    ASSIGN_OR_RETURN(std::string planned, plan_table->Select());
    source = "SELECT s.* FROM (" + silver_scan + ") AS s JOIN (" + planned +
             ") AS p USING (symbol) WHERE p.after IS NULL OR s.session_date > p.after";
  }
  Series series;
  ASSIGN_OR_RETURN(auto names, connection->Query("SELECT DISTINCT symbol FROM (" + source + ") ORDER BY symbol"));
  for (int64_t r = 0; r < names->row_count(); ++r) series.symbols.push_back(names->GetString(0, r));
  RETURN_IF_ERROR(ReadSeries(*connection,
                             "SELECT dense_rank() OVER (ORDER BY symbol)::BIGINT - 1, "
                             "(session_date - DATE '1970-01-01')::INTEGER, close::DOUBLE, "
                             "coalesce(adj_close, close)::DOUBLE, high::DOUBLE, low::DOUBLE, volume::DOUBLE FROM (" +
                                 source + ") ORDER BY symbol, session_date",
                             &series));
  const int64_t bars = static_cast<int64_t>(series.days.size());
  result.symbols = static_cast<int64_t>(series.symbols.size());
  result.bars = bars;
  if (bars == 0) return result;

  // Push every symbol's bars through its streams, on `threads` threads.
  std::vector<double> features(static_cast<size_t>(bars) * kFeatureCount);
  std::vector<std::string> states(series.symbols.size());
  std::vector<const SymbolPlan*> resumed(series.symbols.size(), nullptr);
  for (size_t s = 0; s < series.symbols.size(); ++s) {
    auto it = plans.find(series.symbols[s]);
    if (it != plans.end() && it->second.after) {
      resumed[s] = &it->second;
      ++result.symbols_resumed;
    }
  }
  auto symbol_of = [&](int64_t begin) {
    return static_cast<size_t>(std::upper_bound(series.offsets.begin(), series.offsets.end(), begin) -
                               series.offsets.begin() - 1);
  };
  RETURN_IF_ERROR(analytics::ForEachSymbol(
      series.offsets, bars, std::max(1, std::min<int32_t>(options.threads, static_cast<int32_t>(result.symbols))),
      [&](int64_t b, int64_t e) -> Status {
        const size_t s = symbol_of(b);
        FeatureStreams streams = resumed[s] != nullptr ? resumed[s]->streams : FeatureStreams();
        for (int64_t r = b; r < e; ++r) {
          streams.Push(series.close[r], series.adj_close[r], series.high[r], series.low[r], series.volume[r],
                       &features[static_cast<size_t>(r) * kFeatureCount]);
        }
        analytics::StateWriter saved;
        streams.Save(saved);
        states[s] = StateBytes(saved);
        return Status::Ok();
      }));

  // The states first, then the rows: a crash between the two leaves states that
  // gold's consumed version does not match, which the next run ignores.
  ASSIGN_OR_RETURN(auto state_stage, StageTable::Create(*connection, kStateColumns));
  for (size_t s = 0; s < series.symbols.size(); ++s) {
    state_stage->Varchar(series.symbols[s]);
    state_stage->Date(series.days[series.offsets[s + 1] - 1]);
    const int64_t before = resumed[s] != nullptr ? resumed[s]->bars_before : 0;
    state_stage->Int64(before + series.offsets[s + 1] - series.offsets[s]);
    state_stage->Blob(states[s]);
    RETURN_IF_ERROR(state_stage->EndRow());
  }
  ASSIGN_OR_RETURN(std::string staged_states, state_stage->Select());
  RETURN_IF_ERROR(WriteChangedRows(lake, *connection, kState, staged_states, {"symbol"}, /*replace_all=*/false,
                                   {delta::Txn{state_app, silver_now.version, std::nullopt}})
                      .status());

  ASSIGN_OR_RETURN(auto stage, StageTable::Create(*connection, FeatureColumns()));
  for (size_t s = 0; s < series.symbols.size(); ++s) {
    for (int64_t r = series.offsets[s]; r < series.offsets[s + 1]; ++r) {
      stage->Varchar(series.symbols[s]);
      stage->Date(series.days[r]);
      const double* row = &features[static_cast<size_t>(r) * kFeatureCount];
      for (size_t f = 0; f < kFeatureCount; ++f) stage->Double(row[f]);
      RETURN_IF_ERROR(stage->EndRow());
    }
  }
  ASSIGN_OR_RETURN(std::string staged, stage->Select());
  ASSIGN_OR_RETURN(ChangedRowsResult written,
                   WriteChangedRows(lake, *connection, kGold, staged, {"symbol", "session_date"},
                                    /*replace_all=*/false, {delta::Txn{gold_app, silver_now.version, std::nullopt}}));
  result.rows_inserted = written.rows_inserted;
  result.rows_updated = written.rows_updated;
  result.version = written.version;
  return result;
}

}  // namespace finlake::pipeline
