// Process metrics in Prometheus's data model: counters, gauges and histograms,
// each a family of series told apart by a small fixed set of labels, rendered in
// the text exposition format (version 0.0.4) that the server's /metrics will serve.
//
// The contract (DESIGN.md "Metrics"): every name starts with `finlake_`, and no
// label carries a symbol. Registration enforces the first and refuses label names
// that would carry the second (`symbol`, `ticker`); a family that grows past
// limits::kMetricsSeriesPerFamilyMax series folds the rest into one `_overflow`
// series, so a label fed from data cannot exhaust memory.
//
// Usage: register a family once (registration is idempotent for the same shape),
// keep the pointer, and update series through it:
//
//   ASSIGN_OR_RETURN(auto* requests, registry.AddCounter("finlake_x_total", "...", {"source"}));
//   requests->WithLabels({"yahoo"}).Increment();
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "finlake/core/status.h"

namespace finlake {

enum class MetricType { kCounter, kGauge, kHistogram };

const char* MetricTypeName(MetricType type);

// A value that only goes up. Thread-safe and lock-free.
class Counter {
 public:
  // delta must be >= 0 (asserted: a decreasing counter is our bug).
  void Increment(double delta = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down. Thread-safe and lock-free.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets, Prometheus-style (`le` upper bounds,
// inclusive). Thread-safe and lock-free; a read that races with Observe may see the
// sum and the counts one observation apart, as with every Prometheus client.
class Histogram {
 public:
  // upper_bounds: strictly increasing and finite (the family checks); the +Inf bucket
  // is implicit. The bounds are owned by the family and outlive the histogram.
  explicit Histogram(const std::vector<double>* upper_bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative_counts;  // One per bound, then +Inf (== count).
    double sum = 0.0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double>* upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> bucket_counts_;  // Not cumulative; size()+1.
  std::atomic<double> sum_{0.0};
};

// The part of a family that rendering and registration need, whatever its type.
// Thread-safe.
class MetricFamilyBase {
 public:
  MetricFamilyBase(std::string name, std::string help, MetricType type,
                   std::vector<std::string> label_names, std::vector<double> upper_bounds);
  virtual ~MetricFamilyBase() = default;
  MetricFamilyBase(const MetricFamilyBase&) = delete;
  MetricFamilyBase& operator=(const MetricFamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

  // Appends the family's HELP and TYPE lines and one sample line per series (three
  // kinds of line per series for a histogram), series in label-value order.
  virtual void Render(std::string* out) const = 0;

 protected:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> upper_bounds_;  // Histograms only.
};

// The series of one metric name, one per combination of label values. Series are
// created on first use and live as long as the family (references stay valid).
// Thread-safe.
template <typename Series>
class MetricFamily final : public MetricFamilyBase {
 public:
  using MetricFamilyBase::MetricFamilyBase;

  // The series for these label values, given in the order of label_names(). A wrong
  // number of values is our bug (asserted); in a build without assertions such a
  // call, like one past the series limit, lands in the `_overflow` series.
  Series& WithLabels(const std::vector<std::string>& label_values);

  void Render(std::string* out) const override;

 private:
  Series& FindOrCreateLocked(const std::vector<std::string>& label_values);

  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Series>> series_;  // Guarded by mutex_.
};

using CounterFamily = MetricFamily<Counter>;
using GaugeFamily = MetricFamily<Gauge>;
using HistogramFamily = MetricFamily<Histogram>;

// Owns metric families and renders them. Families live as long as the registry.
// Thread-safe.
class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a family, or returns the one already registered under the name when it
  // has the same type, labels and buckets (connectors of one source each register the
  // same metrics). InvalidArgument for a name without the `finlake_` prefix or not in
  // Prometheus's name syntax, a bad or forbidden label name, bad buckets, or a name
  // already registered with another shape. A family without labels has its single
  // series from the start, so it renders as 0 before the first update.
  Result<CounterFamily*> AddCounter(const std::string& name, const std::string& help,
                                    const std::vector<std::string>& label_names);
  Result<GaugeFamily*> AddGauge(const std::string& name, const std::string& help,
                                const std::vector<std::string>& label_names);
  Result<HistogramFamily*> AddHistogram(const std::string& name, const std::string& help,
                                        const std::vector<std::string>& label_names,
                                        const std::vector<double>& upper_bounds);

  // Every family in name order, in the Prometheus text exposition format 0.0.4
  // (`Content-Type: text/plain; version=0.0.4`).
  std::string RenderPrometheus() const;

 private:
  Result<MetricFamilyBase*> Add(const std::string& name, const std::string& help, MetricType type,
                                const std::vector<std::string>& label_names,
                                const std::vector<double>& upper_bounds);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<MetricFamilyBase>> families_;  // Guarded by mutex_.
};

// The process-wide registry that the server exposes. Tests build their own.
MetricsRegistry& DefaultMetricsRegistry();

// Bucket bounds in seconds for request latencies, from 5 ms to 60 s.
const std::vector<double>& LatencySecondsBuckets();

}  // namespace finlake
