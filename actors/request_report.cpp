#include "actors/request_report.hpp"

namespace troupe {

std::vector<std::string> request_stage_names() {
  std::vector<std::string> names;
  for (std::size_t s = 0; s < RequestTimeline::kStages; ++s) {
    names.emplace_back(RequestTimeline::stage_name(static_cast<RequestTimeline::Stage>(s)));
  }
  return names;
}

RequestLogRecord request_log_record(const RequestTimeline& timeline, const RequestIdentity& identity) {
  const RequestTimeline::Facts& f = timeline.facts();
  RequestLogRecord r;
  r.request_id = f.request_id.empty() ? identity.id : f.request_id;
  r.id = identity.id;
  r.tenant = identity.tenant;
  r.model = identity.model;
  r.endpoint = identity.endpoint;
  r.stream = f.stream;
  r.engine = f.engine;
  r.prompt_tokens = f.prompt_tokens;
  r.completion_tokens = f.completion_tokens;
  r.cached_prompt_tokens = f.cached_prompt_tokens;
  r.finish_reason = f.finish_reason;
  r.outcome = f.outcome;
  if (f.abort_phase) {
    r.abort_stage = std::string(RequestTimeline::phase_name(*f.abort_phase));
    r.abort_reason = f.abort_reason;
  }
  r.ttft_seconds = timeline.ttft_seconds();
  r.e2e_seconds = timeline.seconds(RequestTimeline::Instant::Received, RequestTimeline::Instant::Ended);
  // Each stage whose two ends are marked (all of them for a request whose first token was written).
  for (std::size_t s = 0; s < RequestTimeline::kStages; ++s) {
    const auto stage = static_cast<RequestTimeline::Stage>(s);
    if (auto d = timeline.seconds(stage)) r.stages.emplace_back(RequestTimeline::stage_name(stage), *d);
  }
  return r;
}

void report_request(const RequestTimeline& timeline, const RequestIdentity& identity,
                    const std::vector<std::shared_ptr<ServingMetrics>>& engines) {
  const auto& f = timeline.facts();
  if (f.stream && f.engine >= 0 && static_cast<std::size_t>(f.engine) < engines.size()) {
    if (const auto stages = timeline.stage_seconds()) engines[static_cast<std::size_t>(f.engine)]->observe_stages(*stages);
  }
  log_request(request_log_record(timeline, identity));
}

}  // namespace troupe
