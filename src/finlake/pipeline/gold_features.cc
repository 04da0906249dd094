// silver.bars_1d -> gold.daily_features (gold_features.h).
#include "finlake/pipeline/gold_features.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "finlake/analytics/indicators.h"
#include "finlake/core/strings.h"
#include "finlake/delta/schema.h"
#include "finlake/pipeline/models.h"
#include "finlake/pipeline/stage_table.h"

namespace finlake::pipeline {
namespace {

using json = nlohmann::json;

constexpr const char* kSilver = "silver.bars_1d";
constexpr const char* kGold = "gold.daily_features";

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

// Every feature of one symbol's bars [b, e): out[f] holds column f.
Status ComputeSymbol(const Series& s, int64_t b, int64_t e, std::vector<std::vector<double>>& out) {
  size_t n = static_cast<size_t>(e - b);
  auto in = [&](const std::vector<double>& v) { return std::span<const double>(v.data() + b, n); };
  auto col = [&](const char* name) {
    for (size_t f = 0; f < kFeatureCount; ++f) {
      if (std::string(kFeatures[f]) == name) return std::span<double>(out[f].data() + b, n);
    }
    return std::span<double>();
  };
  std::span<const double> adj = in(s.adj_close);
  std::copy(in(s.close).begin(), in(s.close).end(), col("close").begin());
  std::copy(adj.begin(), adj.end(), col("adj_close").begin());
  // High and low on the adjusted scale, for ATR.
  std::vector<double> high(n), low(n);
  for (size_t i = 0; i < n; ++i) {
    double factor = s.adj_close[b + i] / s.close[b + i];
    high[i] = s.high[b + i] * factor;
    low[i] = s.low[b + i] * factor;
  }
  RETURN_IF_ERROR(analytics::SimpleReturns(adj, col("ret_1d")));
  RETURN_IF_ERROR(analytics::LogReturns(adj, col("log_ret_1d")));
  RETURN_IF_ERROR(analytics::RollingVolatility(adj, 20, col("vol_20d")));
  RETURN_IF_ERROR(analytics::Sma(adj, 20, col("sma_20")));
  RETURN_IF_ERROR(analytics::Sma(adj, 50, col("sma_50")));
  RETURN_IF_ERROR(analytics::Sma(adj, 200, col("sma_200")));
  RETURN_IF_ERROR(analytics::Ema(adj, 12, col("ema_12")));
  RETURN_IF_ERROR(analytics::Ema(adj, 26, col("ema_26")));
  RETURN_IF_ERROR(analytics::Macd(adj, {}, col("macd"), col("macd_signal"), col("macd_hist")));
  RETURN_IF_ERROR(analytics::Rsi(adj, 14, col("rsi_14")));
  RETURN_IF_ERROR(analytics::BollingerBands(adj, {}, col("bb_upper_20"), col("bb_middle_20"), col("bb_lower_20")));
  RETURN_IF_ERROR(analytics::Atr(high, low, adj, 14, col("atr_14")));
  RETURN_IF_ERROR(analytics::Obv(adj, in(s.volume), col("obv")));
  RETURN_IF_ERROR(analytics::VolumeZScore(in(s.volume), 20, col("volume_z_20")));
  return Status::Ok();
}


}  // namespace

Status EnsureFeaturesTable(sql::Lake* lake) {
  Columns columns = {{"symbol", "VARCHAR"}, {"session_date", "DATE"}};
  for (const char* feature : kFeatures) columns.push_back({feature, "DOUBLE"});
  return EnsureTable(lake, kGold, columns, "Daily technical features per symbol, from silver.bars_1d");
}

Result<FeaturesResult> RunDailyFeatures(sql::Lake* lake, const FeaturesOptions& options) {
  RETURN_IF_ERROR(EnsureFeaturesTable(lake));
  FeaturesResult result;
  ASSIGN_OR_RETURN(auto silver, lake->OpenTable(kSilver));
  ASSIGN_OR_RETURN(delta::Snapshot silver_now, silver->Load());
  ASSIGN_OR_RETURN(auto gold, lake->OpenTable(kGold));
  ASSIGN_OR_RETURN(delta::Snapshot gold_now, gold->Load());
  result.silver_version = silver_now.version;
  std::string app_id = std::string("finlake.") + kGold + ":" + kSilver;
  int64_t consumed = -1;
  if (auto it = gold_now.txns.find(app_id); it != gold_now.txns.end()) consumed = it->second.version;
  if (consumed >= silver_now.version && !options.full_rebuild) return result;

  ASSIGN_OR_RETURN(auto connection, lake->database().Connect());
  ASSIGN_OR_RETURN(std::string silver_scan, silver->ScanSql(silver_now));
  // The symbols to recompute: those in the files added since the consumed version.
  std::string symbol_filter;
  table::Table::ScanOptions fresh;
  if (consumed >= 0 && !options.full_rebuild) fresh.files = FilesAddedSince(*silver, silver_now, consumed);
  if (fresh.files) {
    ASSIGN_OR_RETURN(std::string fresh_scan, silver->ScanSql(silver_now, fresh));
    ASSIGN_OR_RETURN(auto changed, connection->Query("SELECT DISTINCT symbol FROM (" + fresh_scan + ")"));
    std::set<std::string> symbols;
    for (int64_t r = 0; r < changed->row_count(); ++r) symbols.insert(changed->GetString(0, r));
    if (symbols.empty()) symbol_filter = " WHERE false";
    else symbol_filter = " WHERE symbol IN (" + SqlQuoteList(symbols) + ")";
  }

  Series series;
  std::string ordered = "SELECT symbol, session_date, close, adj_close, high, low, volume FROM (" + silver_scan + ")" +
                        symbol_filter;
  ASSIGN_OR_RETURN(auto names, connection->Query("SELECT DISTINCT symbol FROM (" + ordered + ") ORDER BY symbol"));
  for (int64_t r = 0; r < names->row_count(); ++r) series.symbols.push_back(names->GetString(0, r));
  RETURN_IF_ERROR(ReadSeries(*connection,
                             "SELECT dense_rank() OVER (ORDER BY symbol)::BIGINT - 1, "
                             "(session_date - DATE '1970-01-01')::INTEGER, close::DOUBLE, "
                             "coalesce(adj_close, close)::DOUBLE, high::DOUBLE, low::DOUBLE, volume::DOUBLE FROM (" +
                                 ordered + ") ORDER BY symbol, session_date",
                             &series));
  int64_t bars = static_cast<int64_t>(series.days.size());
  result.symbols = static_cast<int64_t>(series.symbols.size());
  result.bars = bars;
  if (bars > 0) {
    std::vector<std::vector<double>> out(kFeatureCount, std::vector<double>(static_cast<size_t>(bars), NAN));
    RETURN_IF_ERROR(analytics::ForEachSymbol(
        series.offsets, bars, std::max(1, std::min<int32_t>(options.threads, static_cast<int32_t>(result.symbols))),
        [&](int64_t b, int64_t e) { return ComputeSymbol(series, b, e, out); }));

    // Stage the rows in the shared in-memory database, then merge what differs.
    Columns columns = {{"symbol", "VARCHAR"}, {"session_date", "DATE"}};
    for (const char* feature : kFeatures) columns.push_back({feature, "DOUBLE"});
    ASSIGN_OR_RETURN(auto stage, StageTable::Create(*connection, columns));
    for (size_t s = 0; s < series.symbols.size(); ++s) {
      for (int64_t r = series.offsets[s]; r < series.offsets[s + 1]; ++r) {
        stage->Varchar(series.symbols[s]);
        stage->Date(series.days[r]);
        for (size_t f = 0; f < kFeatureCount; ++f) stage->Double(out[f][r]);
        RETURN_IF_ERROR(stage->EndRow());
      }
    }
    ASSIGN_OR_RETURN(std::string staged, stage->Select());
    ASSIGN_OR_RETURN(ChangedRowsResult written,
                     WriteChangedRows(lake, *connection, kGold, staged, {"symbol", "session_date"},
                                      /*replace_all=*/false, {delta::Txn{app_id, silver_now.version, std::nullopt}}));
    result.rows_inserted = written.rows_inserted;
    result.rows_updated = written.rows_updated;
    result.version = written.version;
  }
  return result;
}

}  // namespace finlake::pipeline
