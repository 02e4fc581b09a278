#include "pipeline/request/generation_event.hpp"

namespace troupe {

std::string_view finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Abort: return "abort";
    case FinishReason::Error: return "error";
  }
  return "error";
}

std::string_view abort_reason_name(AbortReason r) {
  switch (r) {
    case AbortReason::ClientDisconnect: return "client_disconnect";
    case AbortReason::Timeout: return "timeout";
    case AbortReason::Shutdown: return "shutdown";
    case AbortReason::Error: return "error";
    case AbortReason::Pause: return "pause";
  }
  return "error";
}

}  // namespace troupe
