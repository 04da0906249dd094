#include "finlake/core/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <thread>

#include "finlake/core/limits.h"
#include "finlake/core/strings.h"

namespace finlake {
namespace {

bool IsMetricNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool IsMetricNameChar(char c) { return IsMetricNameStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

// Reads [a-zA-Z_:][a-zA-Z0-9_:]* (no colons for label names) from text at *at.
std::string ReadName(std::string_view text, size_t* at, bool label) {
  size_t start = *at;
  while (*at < text.size() && IsMetricNameChar(text[*at]) && !(label && text[*at] == ':') &&
         (*at > start || IsMetricNameStart(text[*at]))) {
    ++*at;
  }
  return std::string(text.substr(start, *at - start));
}

// Go's ParseFloat syntax as Prometheus reads sample values.
bool IsSampleValue(std::string_view value) {
  if (value == "+Inf" || value == "-Inf" || value == "Inf" || value == "NaN") return true;
  if (!value.empty() && value[0] == '+') value.remove_prefix(1);
  double parsed = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  return !value.empty() && error == std::errc() && end == value.data() + value.size();
}

// Checks text against the Prometheus text exposition format 0.0.4: every line is a
// HELP or TYPE comment or a sample `name{label="value",...} number`, label values
// escaping only backslash, quote and line feed; a family's TYPE comes before its
// samples; every sample belongs to a declared family (histograms through _bucket,
// _sum and _count); histogram buckets carry `le`. Returns the first problem, or ""
// when the text parses. (Hand-written: std::regex trips GCC 12's -Wmaybe-uninitialized
// under the sanitizers.)
std::string ExpositionProblem(const std::string& text) {
  if (text.empty()) return "";
  if (text.back() != '\n') return "the text does not end with a line feed";
  std::map<std::string, std::string> types;
  for (const std::string& line : Split(text.substr(0, text.size() - 1), '\n')) {
    if (StartsWith(line, "# HELP ") || StartsWith(line, "# TYPE ")) {
      size_t at = 7;
      std::string name = ReadName(line, &at, false);
      if (name.empty() || at >= line.size() || line[at] != ' ') return "a bad comment: " + line;
      if (StartsWith(line, "# TYPE ")) {
        std::string type = line.substr(at + 1);
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" && type != "untyped") {
          return "an unknown type: " + line;
        }
        if (!types.emplace(name, type).second) return "a second TYPE for " + name;
      }
      continue;
    }
    size_t at = 0;
    std::string name = ReadName(line, &at, false);
    if (name.empty()) return "not a sample: " + line;
    bool has_le = false;
    if (at < line.size() && line[at] == '{') {
      ++at;
      while (at < line.size() && line[at] != '}') {
        std::string label = ReadName(line, &at, true);
        if (label.empty() || line.compare(at, 2, "=\"") != 0) return "a bad label: " + line;
        has_le = has_le || label == "le";
        at += 2;
        while (at < line.size() && line[at] != '"') {
          if (line[at] == '\\') {
            if (at + 1 >= line.size() || std::string_view("\\\"n").find(line[at + 1]) == std::string_view::npos) {
              return "a bad escape: " + line;
            }
            ++at;
          }
          ++at;
        }
        if (at >= line.size()) return "an unterminated label value: " + line;
        ++at;
        if (at < line.size() && line[at] == ',') ++at;
      }
      if (at >= line.size()) return "unterminated labels: " + line;
      ++at;
    }
    if (at >= line.size() || line[at] != ' ') return "no value: " + line;
    if (!IsSampleValue(std::string_view(line).substr(at + 1))) return "not a number: " + line;
    if (types.count(name) == 0) {
      bool histogram_part = false;
      for (std::string suffix : {"_bucket", "_sum", "_count"}) {
        if (!EndsWith(name, suffix)) continue;
        auto base = types.find(name.substr(0, name.size() - suffix.size()));
        histogram_part = base != types.end() && base->second == "histogram";
        if (histogram_part && suffix == "_bucket" && !has_le) return "a bucket without le: " + line;
        if (histogram_part) break;
      }
      if (!histogram_part) return "a sample before its TYPE: " + line;
    }
  }
  return "";
}

TEST(Metrics, RejectsNamesOutsideTheContract) {
  MetricsRegistry registry;
  for (std::string name : {"http_requests_total", "finlake_", "finlake_bad-name", "finlake_a b", "Finlake_x"}) {
    Result<CounterFamily*> family = registry.AddCounter(name, "help", {});
    ASSERT_FALSE(family.ok()) << name;
    EXPECT_EQ(family.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_NE(registry.AddCounter("http_requests_total", "h", {}).status().message().find("finlake_"),
            std::string::npos);

  Result<CounterFamily*> per_symbol = registry.AddCounter("finlake_fetches_total", "h", {"source", "symbol"});
  ASSERT_FALSE(per_symbol.ok());
  EXPECT_NE(per_symbol.status().message().find("per-symbol"), std::string::npos);
  EXPECT_FALSE(registry.AddGauge("finlake_x", "h", {"Ticker"}).ok());
  EXPECT_FALSE(registry.AddGauge("finlake_x", "h", {"__reserved"}).ok());
  EXPECT_FALSE(registry.AddGauge("finlake_x", "h", {"a", "a"}).ok());
  EXPECT_FALSE(registry.AddGauge("finlake_x", "h", {"bad-label"}).ok());
  EXPECT_FALSE(registry.AddHistogram("finlake_h", "h", {"le"}, {1.0}).ok());
  EXPECT_FALSE(registry.AddHistogram("finlake_h", "h", {}, {1.0, 1.0}).ok());
  EXPECT_FALSE(registry.AddHistogram("finlake_h", "h", {}, {2.0, 1.0}).ok());
  EXPECT_FALSE(registry.AddHistogram("finlake_h", "h", {}, {1.0, std::numeric_limits<double>::infinity()}).ok());
  EXPECT_FALSE(
      registry.AddHistogram("finlake_h", "h", {}, std::vector<double>(limits::kMetricsHistogramBucketsMax + 1, 1.0))
          .ok());
  EXPECT_EQ(registry.RenderPrometheus(), "");
}

TEST(Metrics, RegistrationIsIdempotentForTheSameShape) {
  MetricsRegistry registry;
  Result<CounterFamily*> first = registry.AddCounter("finlake_jobs_total", "Jobs", {"source"});
  Result<CounterFamily*> again = registry.AddCounter("finlake_jobs_total", "Jobs", {"source"});
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(*first, *again);
  EXPECT_FALSE(registry.AddCounter("finlake_jobs_total", "Jobs", {"source", "outcome"}).ok());
  EXPECT_FALSE(registry.AddGauge("finlake_jobs_total", "Jobs", {"source"}).ok());
  Result<HistogramFamily*> histogram = registry.AddHistogram("finlake_s", "s", {}, {1, 2});
  ASSERT_TRUE(histogram.ok());
  EXPECT_FALSE(registry.AddHistogram("finlake_s", "s", {}, {1, 3}).ok());
}

TEST(Metrics, CountersGaugesAndHistogramsRenderAsExposition) {
  MetricsRegistry registry;
  CounterFamily* requests = *registry.AddCounter("finlake_requests_total", "Requests by source", {"source", "outcome"});
  GaugeFamily* queue = *registry.AddGauge("finlake_queue_depth", "Queued\nitems \\ now", {});
  HistogramFamily* seconds = *registry.AddHistogram("finlake_seconds", "Durations", {"source"}, {0.1, 1, 2.5});

  requests->WithLabels({"yahoo", "ok"}).Increment();
  requests->WithLabels({"yahoo", "ok"}).Increment(2);
  requests->WithLabels({"alpha \"vantage\"\\\n", "server_error"}).Increment();
  queue->WithLabels({}).Set(7);
  queue->WithLabels({}).Add(-2.5);
  Histogram& yahoo = seconds->WithLabels({"yahoo"});
  for (double value : {0.05, 0.1, 0.7, 3.0}) yahoo.Observe(value);

  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP finlake_queue_depth Queued\\nitems \\\\ now\n"
            "# TYPE finlake_queue_depth gauge\n"
            "finlake_queue_depth 4.5\n"
            "# HELP finlake_requests_total Requests by source\n"
            "# TYPE finlake_requests_total counter\n"
            "finlake_requests_total{source=\"alpha \\\"vantage\\\"\\\\\\n\",outcome=\"server_error\"} 1\n"
            "finlake_requests_total{source=\"yahoo\",outcome=\"ok\"} 3\n"
            "# HELP finlake_seconds Durations\n"
            "# TYPE finlake_seconds histogram\n"
            "finlake_seconds_bucket{source=\"yahoo\",le=\"0.1\"} 2\n"
            "finlake_seconds_bucket{source=\"yahoo\",le=\"1\"} 3\n"
            "finlake_seconds_bucket{source=\"yahoo\",le=\"2.5\"} 3\n"
            "finlake_seconds_bucket{source=\"yahoo\",le=\"+Inf\"} 4\n"
            "finlake_seconds_sum{source=\"yahoo\"} 3.85\n"
            "finlake_seconds_count{source=\"yahoo\"} 4\n");
  EXPECT_EQ(ExpositionProblem(registry.RenderPrometheus()), "");
}

TEST(Metrics, ExpositionCheckerCatchesBrokenText) {
  // The checker used above must itself refuse what Prometheus would refuse.
  EXPECT_NE(ExpositionProblem("finlake_x 1\n"), "");
  EXPECT_NE(ExpositionProblem("# TYPE finlake_x counter\nfinlake_x{a=\"b\"c} 1\n"), "");
  EXPECT_NE(ExpositionProblem("# TYPE finlake_x counter\nfinlake_x one\n"), "");
  EXPECT_NE(ExpositionProblem("# TYPE finlake_x counter\nfinlake_x 1"), "");
  EXPECT_NE(ExpositionProblem("# TYPE finlake_x counter\nfinlake_x{a=\"\\t\"} 1\n"), "");
  EXPECT_NE(ExpositionProblem("# TYPE finlake_h histogram\nfinlake_h_bucket 1\n"), "");
  EXPECT_EQ(ExpositionProblem("# TYPE finlake_x counter\nfinlake_x{a=\"\\\"\"} +Inf\n"), "");
}

TEST(Metrics, LabelFreeFamiliesRenderZeroBeforeTheFirstUpdate) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.AddCounter("finlake_started_total", "Starts", {}).ok());
  ASSERT_TRUE(registry.AddHistogram("finlake_wait_seconds", "Waits", {}, {1}).ok());
  std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("finlake_started_total 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("finlake_wait_seconds_bucket{le=\"+Inf\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("finlake_wait_seconds_count 0\n"), std::string::npos) << text;
  EXPECT_EQ(ExpositionProblem(text), "");
}

TEST(Metrics, SeriesBeyondTheLimitFoldIntoOverflow) {
  MetricsRegistry registry;
  CounterFamily* family = *registry.AddCounter("finlake_things_total", "Things", {"kind"});
  for (int i = 0; i < limits::kMetricsSeriesPerFamilyMax + 50; ++i) {
    family->WithLabels({"k" + std::to_string(i)}).Increment();
  }
  EXPECT_EQ(family->WithLabels({"_overflow"}).Value(), 50);
  EXPECT_EQ(family->WithLabels({"k0"}).Value(), 1);
  std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("finlake_things_total{kind=\"_overflow\"} 50\n"), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2 + limits::kMetricsSeriesPerFamilyMax + 1);
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  CounterFamily* counters = *registry.AddCounter("finlake_hits_total", "Hits", {"source"});
  HistogramFamily* histograms = *registry.AddHistogram("finlake_hit_seconds", "Hit time", {}, {0.5});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        counters->WithLabels({t % 2 == 0 ? "even" : "odd"}).Increment();
        histograms->WithLabels({}).Observe(i % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counters->WithLabels({"even"}).Value() + counters->WithLabels({"odd"}).Value(), kThreads * kPerThread);
  Histogram::Snapshot snapshot = histograms->WithLabels({}).Read();
  EXPECT_EQ(snapshot.count, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(snapshot.cumulative_counts[0], static_cast<uint64_t>(kThreads * kPerThread / 2));
  EXPECT_DOUBLE_EQ(snapshot.sum, kThreads * kPerThread / 2 * 1.25);
}

TEST(Metrics, DefaultRegistryIsOneObject) { EXPECT_EQ(&DefaultMetricsRegistry(), &DefaultMetricsRegistry()); }

}  // namespace
}  // namespace finlake
