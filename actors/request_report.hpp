#pragma once
// What happens once a request's timeline is complete (actors/engine_runtime.cpp hands this to
// RequestTimeline::on_complete): the time-to-first-token stages go to troupe_request_stage_seconds of
// the engine that served it, and one line goes to the log (telemetry/request_log.hpp).
#include <memory>
#include <string>
#include <vector>

#include "pipeline/request/request_timeline.hpp"
#include "telemetry/request_log.hpp"
#include "telemetry/serving_metrics.hpp"

namespace troupe {

// The request's identity, copied at submit (the request itself has moved on by then).
struct RequestIdentity {
  std::string id;        // the response id
  std::string tenant;
  std::string model;
  std::string endpoint;  // "chat.completions" or "completions"
};

// The names of the stages, in RequestTimeline::Stage order: the `stage` label values.
std::vector<std::string> request_stage_names();

// The log record of a complete timeline.
RequestLogRecord request_log_record(const RequestTimeline& timeline, const RequestIdentity& identity);

// Observes the stages (streamed requests whose first token was written: for a non-streamed request
// the first token's bytes leave with the whole response, so its stages would measure decoding) and
// logs the request.
void report_request(const RequestTimeline& timeline, const RequestIdentity& identity,
                    const std::vector<std::shared_ptr<ServingMetrics>>& engines);

}  // namespace troupe
