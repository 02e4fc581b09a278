#pragma once
// POST /v1/completions and /v1/chat/completions: parse, submit to the engine, then stream SSE or
// answer with one JSON object.
#include "http/connection.hpp"

namespace troupe::http_detail {

// Throws ApiException for an invalid body (the router answers it).
asio::awaitable<bool> handle_generation(Connection& connection, const Request& request, Endpoint endpoint);

}  // namespace troupe::http_detail
