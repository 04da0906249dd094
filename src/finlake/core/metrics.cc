#include "finlake/core/metrics.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cmath>

#include "finlake/core/limits.h"
#include "finlake/core/strings.h"

namespace finlake {

namespace {

constexpr std::string_view kNamePrefix = "finlake_";
constexpr std::string_view kOverflowValue = "_overflow";

// Label names that would carry a symbol, refused by the metrics contract.
constexpr std::array<std::string_view, 2> kForbiddenLabelNames = {"symbol", "ticker"};

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]*. Colons are reserved for
// recording rules, so finlake's own names use none.
bool IsValidIdentifier(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0])) return false;
  return std::all_of(name.begin(), name.end(), IsNameChar);
}

// Sample values and `le` bounds in Go's float syntax, which Prometheus parses:
// the shortest text that reads back as the same double.
std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[64];
  auto [end, error] = std::to_chars(text, text + sizeof(text), value);
  assert(error == std::errc());
  return std::string(text, end);
}

// Exposition format: label values escape backslash, double quote and line feed.
void AppendLabelValue(std::string_view value, std::string* out) {
  for (char c : value) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '"') {
      out->append("\\\"");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

// Exposition format: HELP text escapes backslash and line feed.
std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// `{a="x",b="y"}` plus an optional trailing label (the histogram's `le`); nothing
// when there are no labels at all.
std::string FormatLabels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                         std::string_view extra_name = {}, std::string_view extra_value = {}) {
  assert(names.size() == values.size());
  if (names.empty() && extra_name.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(names[i]).append("=\"");
    AppendLabelValue(values[i], &out);
    out.push_back('"');
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out.push_back(',');
    out.append(extra_name).append("=\"");
    AppendLabelValue(extra_value, &out);
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

void AppendSample(std::string_view name, const std::string& labels, double value, std::string* out) {
  out->append(name).append(labels).push_back(' ');
  out->append(FormatValue(value)).push_back('\n');
}

void AddAtomic(std::atomic<double>* target, double delta) { target->fetch_add(delta, std::memory_order_relaxed); }

template <typename Series>
std::unique_ptr<Series> NewSeries(const MetricFamilyBase& family) {
  if constexpr (std::is_same_v<Series, Histogram>) {
    return std::make_unique<Histogram>(&family.upper_bounds());
  } else {
    return std::make_unique<Series>();
  }
}

void RenderSeries(const MetricFamilyBase& family, const std::vector<std::string>& values, const Counter& c,
                  std::string* out) {
  AppendSample(family.name(), FormatLabels(family.label_names(), values), c.Value(), out);
}

void RenderSeries(const MetricFamilyBase& family, const std::vector<std::string>& values, const Gauge& g,
                  std::string* out) {
  AppendSample(family.name(), FormatLabels(family.label_names(), values), g.Value(), out);
}

void RenderSeries(const MetricFamilyBase& family, const std::vector<std::string>& values, const Histogram& h,
                  std::string* out) {
  Histogram::Snapshot snapshot = h.Read();
  const std::vector<double>& bounds = family.upper_bounds();
  const std::string bucket_name = family.name() + "_bucket";
  for (size_t i = 0; i <= bounds.size(); ++i) {
    std::string le = i < bounds.size() ? FormatValue(bounds[i]) : "+Inf";
    AppendSample(bucket_name, FormatLabels(family.label_names(), values, "le", le),
                 static_cast<double>(snapshot.cumulative_counts[i]), out);
  }
  const std::string labels = FormatLabels(family.label_names(), values);
  AppendSample(family.name() + "_sum", labels, snapshot.sum, out);
  AppendSample(family.name() + "_count", labels, static_cast<double>(snapshot.count), out);
}

}  // namespace

const char* MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void Counter::Increment(double delta) {
  assert(delta >= 0 && "a counter only goes up");
  AddAtomic(&value_, delta);
}

void Gauge::Add(double delta) { AddAtomic(&value_, delta); }

Histogram::Histogram(const std::vector<double>* upper_bounds)
    : upper_bounds_(upper_bounds), bucket_counts_(new std::atomic<uint64_t>[upper_bounds->size() + 1]) {
  for (size_t i = 0; i <= upper_bounds_->size(); ++i) bucket_counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // `le` is inclusive: the first bucket whose bound is >= value, else +Inf.
  const std::vector<double>& bounds = *upper_bounds_;
  size_t index = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();
  bucket_counts_[index].fetch_add(1, std::memory_order_relaxed);
  AddAtomic(&sum_, value);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.cumulative_counts.reserve(upper_bounds_->size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= upper_bounds_->size(); ++i) {
    running += bucket_counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative_counts.push_back(running);
  }
  // The count is the +Inf bucket by definition, so the two always agree.
  snapshot.count = running;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

MetricFamilyBase::MetricFamilyBase(std::string name, std::string help, MetricType type,
                                   std::vector<std::string> label_names, std::vector<double> upper_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      upper_bounds_(std::move(upper_bounds)) {}

template <typename Series>
Series& MetricFamily<Series>::WithLabels(const std::vector<std::string>& label_values) {
  assert(label_values.size() == label_names_.size() && "label values must match the family's label names");
  std::lock_guard<std::mutex> lock(mutex_);
  return FindOrCreateLocked(label_values);
}

template <typename Series>
Series& MetricFamily<Series>::FindOrCreateLocked(const std::vector<std::string>& label_values) {
  auto found = series_.find(label_values);
  if (found != series_.end()) return *found->second;
  bool fits = label_values.size() == label_names_.size() &&
              series_.size() < static_cast<size_t>(limits::kMetricsSeriesPerFamilyMax);
  if (!fits) {
    std::vector<std::string> overflow(label_names_.size(), std::string(kOverflowValue));
    auto& slot = series_[overflow];
    if (slot == nullptr) slot = NewSeries<Series>(*this);
    return *slot;
  }
  auto& slot = series_[label_values];
  slot = NewSeries<Series>(*this);
  return *slot;
}

template <typename Series>
void MetricFamily<Series>::Render(std::string* out) const {
  out->append("# HELP ").append(name_).push_back(' ');
  out->append(EscapeHelp(help_)).push_back('\n');
  out->append("# TYPE ").append(name_).push_back(' ');
  out->append(MetricTypeName(type_)).push_back('\n');
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [values, series] : series_) RenderSeries(*this, values, *series, out);
}

template class MetricFamily<Counter>;
template class MetricFamily<Gauge>;
template class MetricFamily<Histogram>;

Result<CounterFamily*> MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                                   const std::vector<std::string>& label_names) {
  ASSIGN_OR_RETURN(MetricFamilyBase * family, Add(name, help, MetricType::kCounter, label_names, {}));
  return static_cast<CounterFamily*>(family);
}

Result<GaugeFamily*> MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                               const std::vector<std::string>& label_names) {
  ASSIGN_OR_RETURN(MetricFamilyBase * family, Add(name, help, MetricType::kGauge, label_names, {}));
  return static_cast<GaugeFamily*>(family);
}

Result<HistogramFamily*> MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                                       const std::vector<std::string>& label_names,
                                                       const std::vector<double>& upper_bounds) {
  ASSIGN_OR_RETURN(MetricFamilyBase * family, Add(name, help, MetricType::kHistogram, label_names, upper_bounds));
  return static_cast<HistogramFamily*>(family);
}

Result<MetricFamilyBase*> MetricsRegistry::Add(const std::string& name, const std::string& help, MetricType type,
                                               const std::vector<std::string>& label_names,
                                               const std::vector<double>& upper_bounds) {
  const std::string context = "metric " + name;
  if (!StartsWith(name, kNamePrefix) || name.size() == kNamePrefix.size()) {
    return Status::InvalidArgument(context + ": names must start with 'finlake_' [metrics contract]");
  }
  if (!IsValidIdentifier(name)) {
    return Status::InvalidArgument(context + ": not a Prometheus metric name ([a-zA-Z_][a-zA-Z0-9_]*)");
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!IsValidIdentifier(label) || StartsWith(label, "__")) {
      return Status::InvalidArgument(context + ": label '" + label +
                                     "' is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading __)");
    }
    if (std::find(kForbiddenLabelNames.begin(), kForbiddenLabelNames.end(), ToLower(label)) !=
        kForbiddenLabelNames.end()) {
      return Status::InvalidArgument(context + ": label '" + label +
                                     "' would make a series per symbol [metrics contract: no per-symbol labels]");
    }
    if (type == MetricType::kHistogram && label == "le") {
      return Status::InvalidArgument(context + ": label 'le' is reserved for histogram buckets");
    }
    if (std::find(label_names.begin(), label_names.begin() + i, label) != label_names.begin() + i) {
      return Status::InvalidArgument(context + ": label '" + label + "' appears twice");
    }
  }
  if (type == MetricType::kHistogram) {
    if (upper_bounds.size() > static_cast<size_t>(limits::kMetricsHistogramBucketsMax)) {
      return Status::InvalidArgument(context + ": " + std::to_string(upper_bounds.size()) +
                                     " buckets, more than the limit of " +
                                     std::to_string(limits::kMetricsHistogramBucketsMax));
    }
    for (size_t i = 0; i < upper_bounds.size(); ++i) {
      if (!std::isfinite(upper_bounds[i]) || (i > 0 && upper_bounds[i] <= upper_bounds[i - 1])) {
        return Status::InvalidArgument(context +
                                       ": bucket bounds must be finite and strictly increasing (+Inf is implicit)");
      }
    }
  }

  std::lock_guard<std::mutex> lock(mutex_);
  auto found = families_.find(name);
  if (found != families_.end()) {
    const MetricFamilyBase& existing = *found->second;
    if (existing.type() != type || existing.label_names() != label_names || existing.upper_bounds() != upper_bounds) {
      return Status::InvalidArgument(context + ": already registered as a " + MetricTypeName(existing.type()) +
                                     " with labels (" + Join(existing.label_names(), ",") +
                                     "); one name has one shape");
    }
    return found->second.get();
  }
  std::unique_ptr<MetricFamilyBase> family;
  switch (type) {
    case MetricType::kCounter: {
      auto counters = std::make_unique<CounterFamily>(name, help, type, label_names, upper_bounds);
      if (label_names.empty()) counters->WithLabels({});
      family = std::move(counters);
      break;
    }
    case MetricType::kGauge: {
      auto gauges = std::make_unique<GaugeFamily>(name, help, type, label_names, upper_bounds);
      if (label_names.empty()) gauges->WithLabels({});
      family = std::move(gauges);
      break;
    }
    case MetricType::kHistogram: {
      auto histograms = std::make_unique<HistogramFamily>(name, help, type, label_names, upper_bounds);
      if (label_names.empty()) histograms->WithLabels({});
      family = std::move(histograms);
      break;
    }
  }
  MetricFamilyBase* raw = family.get();
  families_.emplace(name, std::move(family));
  return raw;
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [name, family] : families_) family->Render(&out);
  return out;
}

MetricsRegistry& DefaultMetricsRegistry() {
  static MetricsRegistry* registry = new MetricsRegistry();  // Never destroyed: threads may update at exit.
  return *registry;
}

const std::vector<double>& LatencySecondsBuckets() {
  static const std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return buckets;
}

}  // namespace finlake
