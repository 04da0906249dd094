#include "finlake/analytics/streaming.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "analytics/indicator_test_util.h"
#include "finlake/analytics/indicators.h"

namespace finlake::analytics {
namespace {

using testing::ExpectSeriesNear;
using testing::kNaN;
using testing::RandomWalk;

// Every stream of streaming.h over one bar series; output k of bar i is
// outputs[k][i].
struct Bundle {
  ReturnStream simple{false}, log{true};
  WindowStream vol{20}, sma{20}, sma_long{50}, volume_window{20};
  EmaStream ema{12};
  MacdStream macd{MacdOptions{}};
  RsiStream rsi{14};
  AtrStream atr{14};
  ObvStream obv;
  ReturnStream vol_returns{true};

  std::vector<double> Push(double price, double high, double low, double volume) {
    const double log_return = vol_returns.Push(price);
    const bool vol_full = vol.Push(log_return);
    const bool sma_full = sma.Push(price);
    const bool long_full = sma_long.Push(price);
    const bool volume_full = volume_window.Push(volume);
    const MacdValues m = macd.Push(price);
    const double deviation = volume_full ? volume_window.SampleDeviation() : kNaN;
    return {simple.Push(price),
            log.Push(price),
            vol_full ? vol.SampleDeviation() * std::sqrt(252.0) : kNaN,
            sma_full ? sma.Mean() : kNaN,
            sma_full ? sma.Mean() + 2.0 * sma.PopulationDeviation() : kNaN,
            long_full ? sma_long.Mean() : kNaN,
            ema.Push(price),
            m.line,
            m.signal,
            m.histogram,
            rsi.Push(price),
            atr.Push(high, low, price),
            obv.Push(price, volume),
            !volume_full ? kNaN : deviation > 0.0 ? (volume - volume_window.Mean()) / deviation : 0.0};
  }
  void Save(StateWriter& state) const {
    for (const ReturnStream* s : {&simple, &log, &vol_returns}) s->Save(state);
    for (const WindowStream* s : {&vol, &sma, &sma_long, &volume_window}) s->Save(state);
    ema.Save(state);
    macd.Save(state);
    rsi.Save(state);
    atr.Save(state);
    obv.Save(state);
  }
  Status Load(StateReader& state) {
    for (ReturnStream* s : {&simple, &log, &vol_returns}) RETURN_IF_ERROR(s->Load(state));
    for (WindowStream* s : {&vol, &sma, &sma_long, &volume_window}) RETURN_IF_ERROR(s->Load(state));
    RETURN_IF_ERROR(ema.Load(state));
    RETURN_IF_ERROR(macd.Load(state));
    RETURN_IF_ERROR(rsi.Load(state));
    RETURN_IF_ERROR(atr.Load(state));
    return obv.Load(state);
  }
};
constexpr size_t kOutputs = 14;

struct Bars {
  std::vector<double> price, high, low, volume;
};

// A random walk with gaps (NaN prices, a NaN volume, a NaN high) and a flat run.
Bars MakeBars(size_t n, uint64_t seed) {
  Bars bars;
  bars.price = RandomWalk(n, seed);
  std::vector<double> noise = RandomWalk(n, seed + 1);
  for (size_t i = 0; i < n; ++i) {
    bars.high.push_back(bars.price[i] * (1.0 + 0.002 * noise[i] / 100.0));
    bars.low.push_back(bars.price[i] * (1.0 - 0.003 * noise[i] / 100.0));
    bars.volume.push_back(std::round(1e6 * noise[i] / 100.0));
  }
  for (size_t i : {5ul, 300ul, 301ul, 777ul}) bars.price[i] = kNaN;
  bars.volume[400] = kNaN;
  bars.high[500] = kNaN;
  for (size_t i = 900; i < 960; ++i) bars.price[i] = bars.price[899];
  return bars;
}

std::vector<std::vector<double>> RunAll(Bundle& bundle, const Bars& bars, size_t begin, size_t end,
                                        std::vector<std::vector<double>> outputs = {}) {
  if (outputs.empty()) outputs.assign(kOutputs, {});
  for (size_t i = begin; i < end; ++i) {
    std::vector<double> row = bundle.Push(bars.price[i], bars.high[i], bars.low[i], bars.volume[i]);
    for (size_t k = 0; k < kOutputs; ++k) outputs[k].push_back(row[k]);
  }
  return outputs;
}

bool SameBits(double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b); }

TEST(StreamingTest, SavingAndLoadingAnywhereGivesTheSameBitsAsOnePass) {
  const Bars bars = MakeBars(1200, 7);
  Bundle whole;
  const auto expected = RunAll(whole, bars, 0, bars.price.size());
  for (size_t split : {0ul, 1ul, 5ul, 6ul, 13ul, 25ul, 33ul, 34ul, 200ul, 301ul, 302ul, 650ul, 1025ul, 1199ul}) {
    Bundle first;
    auto outputs = RunAll(first, bars, 0, split);
    StateWriter saved;
    first.Save(saved);
    Bundle second;
    StateReader reader(saved.values());
    ASSERT_TRUE(second.Load(reader).ok()) << "split " << split;
    EXPECT_TRUE(reader.done());
    outputs = RunAll(second, bars, split, bars.price.size(), std::move(outputs));
    for (size_t k = 0; k < kOutputs; ++k) {
      for (size_t i = 0; i < bars.price.size(); ++i) {
        ASSERT_TRUE(SameBits(outputs[k][i], expected[k][i]))
            << "split " << split << ", output " << k << ", bar " << i << ": " << outputs[k][i] << " vs "
            << expected[k][i];
      }
    }
  }
}

TEST(StreamingTest, StreamsAgreeWithTheBatchKernels) {
  const Bars bars = MakeBars(3000, 11);
  const size_t n = bars.price.size();
  Bundle bundle;
  const auto streamed = RunAll(bundle, bars, 0, n);
  std::vector<std::vector<double>> batch(kOutputs, std::vector<double>(n));
  std::vector<double> unused(n), bb_lower(n), bb_middle(n);
  ASSERT_TRUE(SimpleReturns(bars.price, batch[0]).ok());
  ASSERT_TRUE(LogReturns(bars.price, batch[1]).ok());
  ASSERT_TRUE(RollingVolatility(bars.price, 20, batch[2]).ok());
  ASSERT_TRUE(Sma(bars.price, 20, batch[3]).ok());
  ASSERT_TRUE(BollingerBands(bars.price, {}, batch[4], bb_middle, bb_lower).ok());
  ASSERT_TRUE(Sma(bars.price, 50, batch[5]).ok());
  ASSERT_TRUE(Ema(bars.price, 12, batch[6]).ok());
  ASSERT_TRUE(Macd(bars.price, {}, batch[7], batch[8], batch[9]).ok());
  ASSERT_TRUE(Rsi(bars.price, 14, batch[10]).ok());
  ASSERT_TRUE(Atr(bars.high, bars.low, bars.price, 14, batch[11]).ok());
  ASSERT_TRUE(Obv(bars.price, bars.volume, batch[12]).ok());
  ASSERT_TRUE(VolumeZScore(bars.volume, 20, batch[13]).ok());
  for (size_t k = 0; k < kOutputs; ++k) {
    SCOPED_TRACE("output " + std::to_string(k));
    ExpectSeriesNear(streamed[k], batch[k], 1e-10);
  }
}

TEST(StreamingTest, MacdWithSignalPeriodOneStartsAtTheSlowSeed) {
  MacdStream stream(MacdOptions{2, 3, 1});
  std::vector<double> line(6), signal(6), histogram(6), batch_line(6), batch_signal(6), batch_histogram(6);
  const std::vector<double> x = {1, 2, 4, 3, 5, 8};
  for (size_t i = 0; i < x.size(); ++i) {
    MacdValues v = stream.Push(x[i]);
    line[i] = v.line;
    signal[i] = v.signal;
    histogram[i] = v.histogram;
  }
  ASSERT_TRUE(Macd(x, MacdOptions{2, 3, 1}, batch_line, batch_signal, batch_histogram).ok());
  ExpectSeriesNear(line, batch_line);
  ExpectSeriesNear(signal, batch_signal);
  ExpectSeriesNear(histogram, batch_histogram);
  EXPECT_TRUE(std::isnan(line[1]));
  EXPECT_FALSE(std::isnan(line[2]));
}

TEST(StreamingTest, LoadRefusesAStateOfAnotherShape) {
  EmaStream ema(12);
  for (int i = 0; i < 5; ++i) ema.Push(100.0 + i);
  StateWriter saved;
  ema.Save(saved);

  RsiStream rsi(14);
  std::vector<double> short_state = {3.0};
  StateReader too_short(short_state);
  Status status = rsi.Load(too_short);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("RSI previous price is missing"), std::string::npos) << status.message();

  EmaStream other(4);  // count 5 is above the period 4.
  StateReader reader(saved.values());
  status = other.Load(reader);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("EMA count 5"), std::string::npos) << status.message();

  WindowStream window(20);
  std::vector<double> bad = {1.5, 0, 0, 0, 0, 0};
  StateReader fractional(bad);
  EXPECT_FALSE(window.Load(fractional).ok());
}

}  // namespace
}  // namespace finlake::analytics
