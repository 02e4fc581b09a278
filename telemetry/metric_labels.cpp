#include "telemetry/metric_labels.hpp"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <sstream>

#include "common/error.hpp"

namespace troupe {

namespace {

bool valid_label_name(std::string_view name) {
  if (name.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

const std::set<std::string, std::less<>>& reserved_metric_label_names() {
  // tests/telemetry/metric_labels_test.cpp checks this list against the label names of every
  // family troupe registers.
  static const std::set<std::string, std::less<>> names{
      // troupe's metrics
      "model_name", "engine", "finished_reason", "tenant", "outcome", "kind", "class", "state", "device", "phase",
      "name", "version", "backend", "model", "block_size", "num_gpu_blocks", "enable_prefix_caching", "stage",
      "reason", "resource", "source", "rank", "position",
      // set by Prometheus: histogram and summary buckets, scrape target labels
      "le", "quantile", "job", "instance"};
  return names;
}

prometheus::Labels parse_metric_labels(std::string_view spec) {
  prometheus::Labels labels;
  spec = trim(spec);
  if (spec.empty()) return labels;
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t comma = spec.find(',', start);
    const std::string_view item = trim(spec.substr(start, comma == std::string_view::npos ? spec.npos : comma - start));
    start = comma == std::string_view::npos ? spec.size() + 1 : comma + 1;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      throw ConfigError("--metric-labels: '" + std::string(item) + "' is not NAME=VALUE (expected e.g. variant=thinking,region=eu)");
    }
    const std::string name(trim(item.substr(0, eq)));
    const std::string value(trim(item.substr(eq + 1)));
    if (!valid_label_name(name)) {
      throw ConfigError("--metric-labels: '" + name +
                        "' is not a valid Prometheus label name (letters, digits and '_', not starting with a digit)");
    }
    if (name.rfind("__", 0) == 0) {
      throw ConfigError("--metric-labels: label names starting with '__' are reserved for Prometheus ('" + name + "')");
    }
    if (reserved_metric_label_names().count(name) != 0) {
      throw ConfigError("--metric-labels: '" + name +
                        "' is a label troupe's metrics (or Prometheus) already use; pick another name");
    }
    if (value.empty()) throw ConfigError("--metric-labels: label '" + name + "' has an empty value");
    if (!labels.emplace(name, value).second) throw ConfigError("--metric-labels: label '" + name + "' is given twice");
  }
  return labels;
}

void add_constant_labels(std::vector<prometheus::MetricFamily>& families, const prometheus::Labels& constant) {
  if (constant.empty()) return;
  for (auto& family : families) {
    for (auto& metric : family.metric) {
      for (const auto& [name, value] : constant) {
        const bool present = std::any_of(metric.label.begin(), metric.label.end(),
                                         [&](const prometheus::ClientMetric::Label& l) { return l.name == name; });
        if (!present) metric.label.push_back({name, value});
      }
    }
  }
}

std::string exposition_text(prometheus::Registry& registry, const prometheus::Labels& constant) {
  std::vector<prometheus::MetricFamily> families = registry.Collect();
  add_constant_labels(families, constant);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace troupe
