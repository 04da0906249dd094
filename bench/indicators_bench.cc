// finlake_bench_indicators: W7 (docs: ../shared/research/performance.md). Times
// SMA(20), EMA(20), RSI(14), MACD(12,26,9) and BBANDS(20,2,2) on
//   - one series of --bars bars (10M), and
//   - --symbols symbols of --symbol-bars bars each (5k x 2k), through
//     analytics::ForEachSymbol on 1 thread and on --threads threads,
// and writes, for bench/peer_indicators.py (TA-Lib on the same arrays):
//   DIR/single.f64, DIR/multi.f64   the close series (little-endian doubles)
//   DIR/finlake.json                the sizes and every figure below.
//
// Two figures for the single series: "reuse" writes into output arrays allocated
// and touched once (the kernel alone); "alloc" allocates the outputs on every
// call the way numpy does for talib.SMA & co. (malloc, MADV_HUGEPAGE from 4 MiB,
// pages touched by the kernel's writes), which is what the TA-Lib figure of the
// peer script includes, so the ratio is taken on it. Figures are medians of --runs
// runs in M bars/s; the indicators are interleaved run by run so that drift on a
// shared machine hits them alike.
//
// Two figures for the many-symbol set, each on 1 and on --threads threads:
// "multi" writes every output into arrays of the whole set (10M bars x up to 3
// outputs: 80-240 MB written per pass, besides the 80 MB read), allocated and
// touched once before timing, as a caller keeping all results would; "blocked"
// computes each symbol into a per-thread buffer of one symbol's outputs (3 x 2k
// doubles, 48 KB: it stays in L1/L2), allocated and first touched by the worker
// thread that uses it, and folds the last value of each output into a checksum,
// as a consumer that hands each symbol's results on (an appender, an aggregate)
// would. Both read the input from the same 80 MB array; the blocked figure shows
// how much of the multi figure's (lack of) thread scaling is the DRAM traffic of
// the written outputs rather than the kernels. "dynamic" is the multi figure's work
// on --threads threads that take chunks of 8 symbols from a shared counter instead of
// ForEachSymbol's fixed contiguous groups (its 1-thread figure is multi 1T): with a
// fixed split, a core shared with another process makes the wall time that of the
// slower half, so on a busy 2-core machine the fixed split shows about 1.0x.
//
//   build/bench/finlake_bench_indicators [--out bench/out/indicators] [--bars N]
//       [--symbols S] [--symbol-bars B] [--threads T] [--runs R] [--seed X]

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "finlake/analytics/indicators.h"

namespace {

namespace analytics = finlake::analytics;
using finlake::Status;

struct Options {
  std::string out_dir = "bench/out/indicators";
  int64_t bars = 10'000'000;
  int64_t symbols = 5'000;
  int64_t symbol_bars = 2'000;
  int32_t threads = 2;
  int32_t runs = 5;
  uint64_t seed = 42;
};

// A log-price random walk with 1% steps and a weak pull towards 100 (half-life
// about 700 bars), so that 10M bars stay within prices a market shows instead of
// drifting to e^+-30.
std::vector<double> RandomWalk(size_t n, std::mt19937_64& generator) {
  std::normal_distribution<double> normal(0.0, 1.0);
  const double anchor = std::log(100.0);
  double log_price = anchor + 0.2 * normal(generator);
  std::vector<double> prices(n);
  for (double& price : prices) {
    log_price += 0.01 * normal(generator) - 0.001 * (log_price - anchor);
    price = std::exp(log_price);
  }
  return prices;
}

// Output arrays as numpy allocates them (numpy/_core/src/multiarray/alloc.c:
// malloc, then MADV_HUGEPAGE from 4 MiB on).
struct NumpyLikeArray {
  explicit NumpyLikeArray(size_t n) : size(n), data(static_cast<double*>(std::malloc(n * sizeof(double)))) {
    if (data == nullptr) std::abort();
    const size_t bytes = n * sizeof(double);
    if (bytes >= (size_t{1} << 22)) {
      const uintptr_t address = reinterpret_cast<uintptr_t>(data);
      const uintptr_t offset = 4096 - address % 4096;
      madvise(reinterpret_cast<void*>(address + offset), bytes - offset, MADV_HUGEPAGE);
    }
  }
  ~NumpyLikeArray() { std::free(data); }
  NumpyLikeArray(const NumpyLikeArray&) = delete;
  NumpyLikeArray& operator=(const NumpyLikeArray&) = delete;
  std::span<double> span() { return {data, size}; }
  size_t size;
  double* data;
};

struct Indicator {
  std::string name;
  size_t outputs;
  std::function<Status(std::span<const double>, std::span<double>*)> run;
};

std::vector<Indicator> Indicators() {
  return {
      {"SMA(20)", 1, [](std::span<const double> x, std::span<double>* o) { return analytics::Sma(x, 20, o[0]); }},
      {"EMA(20)", 1, [](std::span<const double> x, std::span<double>* o) { return analytics::Ema(x, 20, o[0]); }},
      {"RSI(14)", 1, [](std::span<const double> x, std::span<double>* o) { return analytics::Rsi(x, 14, o[0]); }},
      {"MACD(12,26,9)", 3,
       [](std::span<const double> x, std::span<double>* o) {
         return analytics::Macd(x, {12, 26, 9}, o[0], o[1], o[2]);
       }},
      {"BBANDS(20,2,2)", 3,
       [](std::span<const double> x, std::span<double>* o) {
         return analytics::BollingerBands(x, {20, 2.0, 2.0}, o[0], o[1], o[2]);
       }},
  };
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

template <typename F>
double TimeSeconds(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Check(const Status& status, const std::string& what) {
  if (!status.ok()) {
    std::fprintf(stderr, "finlake_bench_indicators: %s: %s\n", what.c_str(), status.ToString().c_str());
    std::exit(1);
  }
}

void WriteDoubles(const std::filesystem::path& path, const std::vector<double>& values) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(double)));
  if (!out) {
    std::fprintf(stderr, "finlake_bench_indicators: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "finlake_bench_indicators: %s needs a value\n", flag.c_str());
      std::exit(2);
    }
    const std::string value = argv[++i];
    if (flag == "--out") {
      options.out_dir = value;
    } else if (flag == "--bars") {
      options.bars = std::stoll(value);
    } else if (flag == "--symbols") {
      options.symbols = std::stoll(value);
    } else if (flag == "--symbol-bars") {
      options.symbol_bars = std::stoll(value);
    } else if (flag == "--threads") {
      options.threads = static_cast<int32_t>(std::stol(value));
    } else if (flag == "--runs") {
      options.runs = static_cast<int32_t>(std::stol(value));
    } else if (flag == "--seed") {
      options.seed = std::stoull(value);
    } else {
      std::fprintf(stderr, "finlake_bench_indicators: unknown option %s\n", flag.c_str());
      std::exit(2);
    }
  }
  if (options.bars < 1 || options.symbols < 1 || options.symbol_bars < 1 || options.runs < 1 ||
      options.threads < 1) {
    std::fprintf(stderr, "finlake_bench_indicators: sizes, --threads and --runs must be positive\n");
    std::exit(2);
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  std::mt19937_64 generator(options.seed);
  const size_t n = static_cast<size_t>(options.bars);
  const std::vector<double> single = RandomWalk(n, generator);
  std::vector<double> multi;
  multi.reserve(static_cast<size_t>(options.symbols * options.symbol_bars));
  std::vector<int64_t> offsets = {0};
  for (int64_t s = 0; s < options.symbols; ++s) {
    const std::vector<double> walk = RandomWalk(static_cast<size_t>(options.symbol_bars), generator);
    multi.insert(multi.end(), walk.begin(), walk.end());
    offsets.push_back(offsets.back() + options.symbol_bars);
  }
  const size_t multi_bars = multi.size();
  const std::filesystem::path dir(options.out_dir);
  std::filesystem::create_directories(dir);
  WriteDoubles(dir / "single.f64", single);
  WriteDoubles(dir / "multi.f64", multi);

  const std::vector<Indicator> indicators = Indicators();
  // Reused outputs, touched once before timing.
  std::vector<std::vector<double>> reuse(3, std::vector<double>(n, 0.0));
  std::vector<std::vector<double>> multi_out(3, std::vector<double>(multi_bars, 0.0));
  struct Samples {
    std::vector<double> reuse, alloc, multi_one, multi_many, blocked_one, blocked_many, dynamic_many;
  };
  // Blocked variant: one symbol's outputs per thread, allocated and first touched by
  // the thread (thread_local: ForEachSymbol starts its workers per call), reused for
  // every symbol that thread computes.
  const size_t max_symbol_bars = static_cast<size_t>(options.symbol_bars);
  std::atomic<uint64_t> checksum_bits{0};
  std::vector<Samples> samples(indicators.size());
  const int32_t thread_counts[2] = {1, options.threads};
  for (int32_t run = 0; run < options.runs; ++run) {
    for (size_t k = 0; k < indicators.size(); ++k) {
      const Indicator& indicator = indicators[k];
      std::span<double> outputs[3] = {reuse[0], reuse[1], reuse[2]};
      samples[k].reuse.push_back(
          TimeSeconds([&] { Check(indicator.run(single, outputs), indicator.name); }));
      samples[k].alloc.push_back(TimeSeconds([&] {
        std::vector<std::unique_ptr<NumpyLikeArray>> arrays;
        std::span<double> fresh[3];
        for (size_t o = 0; o < indicator.outputs; ++o) {
          arrays.push_back(std::make_unique<NumpyLikeArray>(n));
          fresh[o] = arrays.back()->span();
        }
        Check(indicator.run(single, fresh), indicator.name);
      }));
      for (int32_t t = 0; t < 2; ++t) {
        const double seconds = TimeSeconds([&] {
          Check(analytics::ForEachSymbol(offsets, static_cast<int64_t>(multi_bars), thread_counts[t],
                                         [&](int64_t b, int64_t e) {
                                           const size_t begin = static_cast<size_t>(b);
                                           const size_t count = static_cast<size_t>(e - b);
                                           std::span<double> o[3];
                                           for (size_t j = 0; j < 3; ++j) {
                                             o[j] = std::span(multi_out[j]).subspan(begin, count);
                                           }
                                           return indicator.run(std::span(multi).subspan(begin, count), o);
                                         }),
                indicator.name);
        });
        (t == 0 ? samples[k].multi_one : samples[k].multi_many).push_back(seconds);
      }
      for (int32_t t = 0; t < 2; ++t) {
        const double seconds = TimeSeconds([&] {
          Check(analytics::ForEachSymbol(offsets, static_cast<int64_t>(multi_bars), thread_counts[t],
                                         [&](int64_t b, int64_t e) {
                                           thread_local std::vector<double> scratch;
                                           if (scratch.size() < 3 * max_symbol_bars) {
                                             scratch.assign(3 * max_symbol_bars, 0.0);  // first touch here
                                           }
                                           const size_t count = static_cast<size_t>(e - b);
                                           std::span<double> o[3];
                                           for (size_t j = 0; j < 3; ++j) {
                                             o[j] = std::span(scratch).subspan(j * max_symbol_bars, count);
                                           }
                                           const Status status = indicator.run(
                                               std::span(multi).subspan(static_cast<size_t>(b), count), o);
                                           if (status.ok() && count > 0) {
                                             double last = 0.0;
                                             for (size_t j = 0; j < indicator.outputs; ++j) last += o[j][count - 1];
                                             uint64_t bits;
                                             std::memcpy(&bits, &last, sizeof bits);
                                             checksum_bits.fetch_xor(bits, std::memory_order_relaxed);
                                           }
                                           return status;
                                         }),
                indicator.name);
        });
        (t == 0 ? samples[k].blocked_one : samples[k].blocked_many).push_back(seconds);
      }
      // Dynamic: the multi figure's work (whole-set output arrays) on --threads
      // threads that take chunks of 8 symbols from a shared counter instead of
      // ForEachSymbol's fixed halves, so that a core shared with another process
      // slows its thread without holding the other one up.
      samples[k].dynamic_many.push_back(TimeSeconds([&] {
        std::atomic<int64_t> next{0};
        const int64_t symbol_count = static_cast<int64_t>(offsets.size()) - 1;
        constexpr int64_t kChunk = 8;
        const auto work = [&] {
          for (int64_t first = next.fetch_add(kChunk); first < symbol_count; first = next.fetch_add(kChunk)) {
            for (int64_t sym = first; sym < std::min(symbol_count, first + kChunk); ++sym) {
              const size_t begin = static_cast<size_t>(offsets[sym]);
              const size_t count = static_cast<size_t>(offsets[sym + 1] - offsets[sym]);
              std::span<double> o[3];
              for (size_t j = 0; j < 3; ++j) o[j] = std::span(multi_out[j]).subspan(begin, count);
              Check(indicator.run(std::span(multi).subspan(begin, count), o), indicator.name);
            }
          }
        };
        std::vector<std::thread> workers;
        for (int32_t w = 1; w < options.threads; ++w) workers.emplace_back(work);
        work();
        for (std::thread& worker : workers) worker.join();
      }));
    }
  }

  const auto mbars = [](size_t bars, double seconds) { return static_cast<double>(bars) / seconds / 1e6; };
  std::printf("W7 indicators: single series %zu bars, %lld symbols x %lld bars; median of %d runs, M bars/s\n", n,
              static_cast<long long>(options.symbols), static_cast<long long>(options.symbol_bars), options.runs);
  std::printf("%-16s %12s %12s %12s %12s %10s %12s %12s %10s %12s %10s\n", "indicator", "single", "single+alloc", "multi 1T",
              "multi", "scaling", "blocked 1T", "blocked", "scaling", "dynamic", "scaling");
  std::ofstream json(dir / "finlake.json", std::ios::trunc);
  json << "{\n  \"bars\": " << n << ", \"symbols\": " << options.symbols << ", \"symbol_bars\": "
       << options.symbol_bars << ", \"threads\": " << options.threads << ", \"runs\": " << options.runs
       << ", \"seed\": " << options.seed << ",\n  \"indicators\": {";
  for (size_t k = 0; k < indicators.size(); ++k) {
    const double reuse_rate = mbars(n, Median(samples[k].reuse));
    const double alloc_rate = mbars(n, Median(samples[k].alloc));
    const double one_rate = mbars(multi_bars, Median(samples[k].multi_one));
    const double many_rate = mbars(multi_bars, Median(samples[k].multi_many));
    const double blocked_one = mbars(multi_bars, Median(samples[k].blocked_one));
    const double blocked_many = mbars(multi_bars, Median(samples[k].blocked_many));
    const double dynamic_many = mbars(multi_bars, Median(samples[k].dynamic_many));
    std::printf("%-16s %12.0f %12.0f %12.0f %9.0f@%dT %9.2fx %12.0f %9.0f@%dT %9.2fx %9.0f@%dT %9.2fx\n",
                indicators[k].name.c_str(), reuse_rate, alloc_rate, one_rate, many_rate, options.threads,
                many_rate / one_rate, blocked_one, blocked_many, options.threads, blocked_many / blocked_one,
                dynamic_many, options.threads, dynamic_many / one_rate);
    json << (k == 0 ? "\n" : ",\n") << "    \"" << indicators[k].name << "\": {\"single_mbars_s\": " << reuse_rate
         << ", \"single_alloc_mbars_s\": " << alloc_rate << ", \"multi_1t_mbars_s\": " << one_rate
         << ", \"multi_nt_mbars_s\": " << many_rate << ", \"blocked_1t_mbars_s\": " << blocked_one
         << ", \"blocked_nt_mbars_s\": " << blocked_many << ", \"dynamic_nt_mbars_s\": " << dynamic_many << "}";
  }
  json << "\n  },\n  \"blocked_checksum\": " << checksum_bits.load() << "\n}\n";
  std::printf("series and figures written to %s\n", dir.c_str());
  return 0;
}
