#pragma once
// Constant labels (`troupe serve --metric-labels variant=thinking,region=eu`): labels added to every
// series troupe exports, so that servers running the same model in different variants, regions or
// roles can be told apart in one Prometheus (vLLM has no such flag; its seeds' operators asked for
// one). They are applied when /metrics is written, so no metric family, present or future, can
// miss them; validation at start-up makes sure they can never replace one of troupe's own labels.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/labels.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

namespace troupe {

// Every label name troupe's own metrics use, plus the names Prometheus reserves or attaches itself
// (le, quantile, job, instance). A constant label may not take any of them.
const std::set<std::string, std::less<>>& reserved_metric_label_names();

// Parses "k=v,k2=v2" (empty: no labels). Names follow Prometheus's rules ([a-zA-Z_][a-zA-Z0-9_]*,
// not starting with "__"), appear once, and are not reserved; values are non-empty and may not
// contain ','. Throws ConfigError naming the offending item.
prometheus::Labels parse_metric_labels(std::string_view spec);

// Adds `constant` to every series of `families`. A series that already has one of those names
// keeps its own value (parse_metric_labels makes that impossible for troupe's metrics).
void add_constant_labels(std::vector<prometheus::MetricFamily>& families, const prometheus::Labels& constant);

// The Prometheus text exposition of `registry`, every series with `constant` added.
std::string exposition_text(prometheus::Registry& registry, const prometheus::Labels& constant);

}  // namespace troupe
