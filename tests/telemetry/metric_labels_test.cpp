// --metric-labels: what parses, what is refused (with a message naming the problem), that the
// labels reach every series of the exposition, and that the reserved names really cover every
// label troupe's metric families use.
#include <catch2/catch.hpp>

#include <prometheus/registry.h>

#include <regex>
#include <sstream>

#include "common/error.hpp"
#include "telemetry/actor_metrics.hpp"
#include "telemetry/device_metrics.hpp"
#include "telemetry/metric_labels.hpp"
#include "telemetry/process_metrics.hpp"
#include "telemetry/serving_metrics.hpp"

namespace troupe {

namespace {

std::string refusal(std::string_view spec) {
  try {
    parse_metric_labels(spec);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// A registry with every family troupe's telemetry layer registers, each with at least one series.
std::shared_ptr<prometheus::Registry> full_registry() {
  auto registry = std::make_shared<prometheus::Registry>();
  ServingMetrics m(registry, "smol", "0", 2048, {"parse", "prefill"});
  m.set_queue(1, 2);
  m.set_kv_blocks(3, 4, 5, 12);
  m.add_step(16, 4, 0.01);
  m.add_preemptions(1);
  m.add_prefix_cache(10, 5);
  m.add_prefilled_prompt(12, 4);
  m.count_request("tenant-a", "success", 12, 4);
  ServingMetrics::RequestTimes t;
  t.ttft = 0.1;
  t.prefill = 0.05;
  t.prompt_tokens = 12;
  t.max_generated = 4;
  m.finish_request("stop", t);
  m.observe_inter_token(0.02);
  m.set_cache_config(16, 100, true);
  m.observe_stages(std::vector<double>{0.001, 0.05});
  m.count_abort("prefill", "client_disconnect");
  m.set_saturation(0.1, 0.2, 0.3, 0.4);
  ActorMetrics actors(*registry);
  actors.probe("troupe.request").restarted();
  actors.publish();
  ProcessMetrics process(*registry);
  process.sample();
  DeviceMetrics devices(*registry);
  devices.record(DeviceReading{"cpu", -1, 1, 2, 3, 4});
  return registry;
}

}  // namespace

TEST_CASE("metric labels: NAME=VALUE pairs, separated by commas", "[telemetry]") {
  CHECK(parse_metric_labels("").empty());
  CHECK(parse_metric_labels("  ").empty());
  const prometheus::Labels l = parse_metric_labels("variant=thinking, region = eu ,pool=a=b");
  CHECK(l == prometheus::Labels{{"variant", "thinking"}, {"region", "eu"}, {"pool", "a=b"}});
  CHECK(parse_metric_labels("_x9=1") == prometheus::Labels{{"_x9", "1"}});
}

TEST_CASE("metric labels: refused with a message that names the problem", "[telemetry]") {
  CHECK_THAT(refusal("variant"), Catch::Contains("is not NAME=VALUE"));
  CHECK_THAT(refusal("variant=a,region"), Catch::Contains("'region' is not NAME=VALUE"));
  CHECK_THAT(refusal("variant="), Catch::Contains("empty value"));
  CHECK_THAT(refusal("9lives=x"), Catch::Contains("not a valid Prometheus label name"));
  CHECK_THAT(refusal("my-label=x"), Catch::Contains("not a valid Prometheus label name"));
  CHECK_THAT(refusal("=x"), Catch::Contains("not a valid Prometheus label name"));
  CHECK_THAT(refusal("__name__=x"), Catch::Contains("reserved for Prometheus"));
  CHECK_THAT(refusal("variant=a,variant=b"), Catch::Contains("given twice"));
  // Never an existing label: troupe's own, and those Prometheus sets.
  for (const char* name : {"model_name", "engine", "tenant", "stage", "resource", "name", "le", "quantile", "job", "instance"}) {
    CAPTURE(name);
    CHECK_THAT(refusal(std::string(name) + "=x"), Catch::Contains("already use"));
  }
}

TEST_CASE("metric labels: the reserved names cover every label troupe's families use", "[telemetry]") {
  auto registry = full_registry();
  const auto& reserved = reserved_metric_label_names();
  std::set<std::string> used;
  for (const auto& family : registry->Collect()) {
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        CAPTURE(family.name, label.name);
        CHECK(reserved.count(label.name) == 1);
        used.insert(label.name);
      }
    }
  }
  CHECK(used.count("stage") == 1);
  CHECK(used.count("resource") == 1);
  CHECK(used.count("reason") == 1);
  CHECK(used.count("source") == 1);
}

TEST_CASE("metric labels: every series of the exposition carries them, none overrides a label", "[telemetry]") {
  auto registry = full_registry();
  const prometheus::Labels constant{{"variant", "thinking"}, {"region", "eu"}};
  const std::string text = exposition_text(*registry, constant);
  std::istringstream lines(text);
  std::string line;
  int samples = 0;
  const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} \S+$)");
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::smatch m;
    CAPTURE(line);
    REQUIRE(std::regex_match(line, m, sample));
    CHECK(m[2].str().find("variant=\"thinking\"") != std::string::npos);
    CHECK(m[2].str().find("region=\"eu\"") != std::string::npos);
    ++samples;
  }
  CHECK(samples > 100);

  // A series that has a label of that name already keeps its own value.
  std::vector<prometheus::MetricFamily> families = registry->Collect();
  add_constant_labels(families, {{"engine", "overridden"}});
  for (const auto& family : families) {
    for (const auto& metric : family.metric) {
      int engines = 0;
      for (const auto& label : metric.label) {
        if (label.name == "engine") {
          ++engines;
          if (family.name == "vllm:num_requests_running") CHECK(label.value == "0");
        }
      }
      CHECK(engines <= 1);
    }
  }
  // Without constant labels the text is the registry's own.
  CHECK(exposition_text(*registry, {}).find("variant=") == std::string::npos);
}

}  // namespace troupe
