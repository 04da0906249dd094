// finlake_indicators: runs the analytics kernels on a file of doubles, for the
// TA-Lib comparison test (tests/integration/test_indicators_talib.py) and the
// error column of bench/peer_indicators.py. Not a user command.
//
//   finlake_indicators IN.f64 BARS OUT.f64 [--close-only] [--symbol-bars K --threads T] SPEC...
//
// IN holds five columns of BARS little-endian doubles one after the other: high,
// low, close, volume, session id (a whole number); with --close-only it holds the
// close column alone (high = low = close, volume 1, one session). OUT receives, in SPEC order,
// one column of BARS doubles per output: sma:N ema:N rsi:N atr:N obv vwap
// (sessions from the id column) vwap_all (one session) returns log_returns
// volatility:N[:PERIODS_PER_YEAR] zscore:N (one column each), macd:F:S:G (line,
// signal, histogram) and bbands:N:UP:DOWN (upper, middle, lower). With
// --symbol-bars K the bars are consecutive symbols of K bars each (BARS a multiple
// of K), computed through ForEachSymbol on T threads. Exit status 2 and the
// Status on stderr for an invalid argument.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "finlake/analytics/indicators.h"

namespace {

using finlake::Status;
namespace analytics = finlake::analytics;

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) parts.push_back(part);
  return parts;
}

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "finlake_indicators: " << message << "\n";
  std::exit(2);
}

struct Columns {
  std::span<const double> high, low, close, volume;
  std::span<const int64_t> sessions;
};

// Runs one SPEC on bars [begin, end) of the columns, writing outputs[k][begin, end).
Status RunSpec(const std::vector<std::string>& spec, const Columns& c, std::vector<std::span<double>>& outputs,
               int64_t begin, int64_t end) {
  const size_t b = static_cast<size_t>(begin), n = static_cast<size_t>(end - begin);
  const auto arg = [&](size_t i, double fallback) { return spec.size() > i ? std::stod(spec[i]) : fallback; };
  const auto period = [&](size_t i, int32_t fallback) {
    return spec.size() > i ? static_cast<int32_t>(std::stol(spec[i])) : fallback;
  };
  const auto out = [&](size_t k) { return outputs[k].subspan(b, n); };
  const auto high = c.high.subspan(b, n), low = c.low.subspan(b, n), close = c.close.subspan(b, n),
             volume = c.volume.subspan(b, n);
  const std::string& name = spec[0];
  if (name == "sma") return analytics::Sma(close, period(1, 20), out(0));
  if (name == "ema") return analytics::Ema(close, period(1, 20), out(0));
  if (name == "rsi") return analytics::Rsi(close, period(1, 14), out(0));
  if (name == "atr") return analytics::Atr(high, low, close, period(1, 14), out(0));
  if (name == "obv") return analytics::Obv(close, volume, out(0));
  if (name == "vwap") return analytics::Vwap(high, low, close, volume, c.sessions.subspan(b, n), out(0));
  if (name == "vwap_all") return analytics::Vwap(high, low, close, volume, {}, out(0));
  if (name == "returns") return analytics::SimpleReturns(close, out(0));
  if (name == "log_returns") return analytics::LogReturns(close, out(0));
  if (name == "volatility") return analytics::RollingVolatility(close, period(1, 20), out(0), arg(2, 252.0));
  if (name == "zscore") return analytics::VolumeZScore(volume, period(1, 20), out(0));
  if (name == "macd") {
    return analytics::Macd(close, {period(1, 12), period(2, 26), period(3, 9)}, out(0), out(1), out(2));
  }
  if (name == "bbands") {
    return analytics::BollingerBands(close, {period(1, 20), arg(2, 2.0), arg(3, 2.0)}, out(0), out(1), out(2));
  }
  return Status::InvalidArgument("unknown indicator '" + name + "'");
}

size_t OutputCount(const std::string& name) { return name == "macd" || name == "bbands" ? 3 : 1; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) Fail("usage: finlake_indicators IN.f64 BARS OUT.f64 [--symbol-bars K --threads T] SPEC...");
  const std::string in_path = argv[1];
  const int64_t bars = std::stoll(argv[2]);
  const std::string out_path = argv[3];
  int64_t symbol_bars = 0;
  int32_t threads = 1;
  bool close_only = false;
  std::vector<std::vector<std::string>> specs;
  for (int i = 4; i < argc; ++i) {
    const std::string token = argv[i];
    if (token == "--close-only") {
      close_only = true;
    } else if (token == "--symbol-bars" && i + 1 < argc) {
      symbol_bars = std::stoll(argv[++i]);
    } else if (token == "--threads" && i + 1 < argc) {
      threads = static_cast<int32_t>(std::stol(argv[++i]));
    } else {
      specs.push_back(Split(token, ':'));
    }
  }
  if (bars < 0 || (symbol_bars > 0 && bars % symbol_bars != 0)) Fail("BARS must be a multiple of --symbol-bars");

  const size_t n = static_cast<size_t>(bars);
  std::vector<double> input(n * 5);
  const size_t doubles_in_file = close_only ? n : n * 5;
  double* read_into = close_only ? input.data() + 2 * n : input.data();
  std::ifstream in(in_path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(read_into), static_cast<std::streamsize>(doubles_in_file * sizeof(double)))) {
    Fail("cannot read " + std::to_string(doubles_in_file) + " doubles from " + in_path);
  }
  if (close_only) {
    for (size_t i = 0; i < n; ++i) {
      input[i] = input[n + i] = input[2 * n + i];
      input[3 * n + i] = 1.0;
      input[4 * n + i] = 0.0;
    }
  }
  const std::span<const double> all(input);
  std::vector<int64_t> sessions(n);
  for (size_t i = 0; i < n; ++i) sessions[i] = static_cast<int64_t>(input[4 * n + i]);
  const Columns columns{all.subspan(0, n), all.subspan(n, n), all.subspan(2 * n, n), all.subspan(3 * n, n),
                        sessions};

  std::vector<int64_t> offsets = {0};
  if (symbol_bars > 0) {
    while (offsets.back() < bars) offsets.push_back(offsets.back() + symbol_bars);
  } else {
    offsets.push_back(bars);
  }

  // Numbers are parsed here first: the kernels may run on other threads, where a
  // parse exception could not be caught.
  size_t output_count = 0;
  for (const auto& spec : specs) {
    if (spec.empty()) Fail("empty indicator spec");
    for (size_t k = 1; k < spec.size(); ++k) {
      try {
        (void)std::stod(spec[k]);
      } catch (const std::exception&) {
        Fail("'" + spec[k] + "' in spec '" + spec[0] + "' is not a number");
      }
    }
    output_count += OutputCount(spec[0]);
  }
  std::vector<double> output(output_count * n);
  size_t next = 0;
  for (const auto& spec : specs) {
    std::vector<std::span<double>> outputs;
    for (size_t k = 0; k < OutputCount(spec[0]); ++k, ++next) outputs.push_back(std::span(output).subspan(next * n, n));
    const Status status = analytics::ForEachSymbol(offsets, bars, threads, [&](int64_t begin, int64_t end) {
      return RunSpec(spec, columns, outputs, begin, end);
    });
    if (!status.ok()) Fail(status.ToString());
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(output.data()), static_cast<std::streamsize>(output.size() * sizeof(double)));
  if (!out) Fail("cannot write " + out_path);
  return 0;
}
