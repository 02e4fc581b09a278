// Requests the server refuses: every one gets a log line and a count by reason (an operator
// debugging a client, Open WebUI say, sees which of its requests failed and why without a packet
// capture), then its error response.
#include <algorithm>

#include "http/connection.hpp"

namespace troupe::http_detail {

namespace {

// A short, bounded name for why a request was refused, for the metric's label.
std::string reason_of(const ApiError& error) {
  switch (error.status) {
    case 400: return "invalid_request";
    case 401: return "unauthorized";
    case 404: return error.type == "not_found_error" && error.param == std::optional<std::string>("model")
                         ? "model_not_found"
                         : "not_found";
    case 405: return "method_not_allowed";
    case 413: return "body_too_large";
    case 415: return "unsupported_media_type";
    case 431: return "headers_too_large";
    case 503: return "shutting_down";
    default: return error.status >= 500 ? "internal_error" : "invalid_request";
  }
}

}  // namespace

asio::awaitable<bool> write_rejection(Connection& connection, const Request& request, Response response,
                                      const ApiError& error, std::string_view endpoint, bool generation) {
  RejectedRequest rejected;
  rejected.request_id = connection.request_id;
  rejected.tenant = connection.tenant;
  rejected.endpoint = std::string(endpoint);
  const std::string_view target = request.target();
  rejected.path = std::string(target.substr(0, std::min<std::size_t>(target.find('?'), 256)));
  rejected.method = std::string(request.method_string());
  rejected.status = error.status;
  rejected.reason = reason_of(error);
  rejected.message = error.message;
  rejected.param = error.param;
  rejected.generation = generation;
  connection.engine.record_rejected(rejected);
  co_return co_await write_response(connection, request, std::move(response));
}

}  // namespace troupe::http_detail
