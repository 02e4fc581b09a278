#pragma once
// One client connection, as the route handlers see it: its stream and read buffer (which may
// already hold the start of a pipelined next request), the engine and the options. Internal to
// http/: the only header here that pulls in Beast.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "actors/serving_engine.hpp"
#include "http/http_server_options.hpp"
#include "http/server_lifecycle.hpp"
#include "pipeline/openai/api_context.hpp"

namespace troupe::http_detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct Connection {
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  ServingEngine& engine;
  const HttpServerOptions& options;
  ServerLifecycle& lifecycle;
  ApiContext api_context;
  // The peer closed its side (or the connection failed), as seen by a disconnect watch. Kept here
  // because the socket reports EOF only once: a watch that saw it and lost its race to an event
  // must not leave the next watch waiting for a readiness edge that will never come again.
  bool peer_closed = false;
  // The tenant of the request being served: the name of the API key it presented.
  std::string tenant = "anonymous";
  // X-Request-Id of the request being served: the client's (when valid), else the response id of a
  // generation request; sent back on its response when not empty.
  std::string request_id;
};

// Serves requests on `socket` until the client closes, a timeout, or a response that ends the
// connection.
asio::awaitable<void> serve_connection(asio::ip::tcp::socket socket, ServingEngine& engine,
                                       const HttpServerOptions& options, ServerLifecycle& lifecycle);

// Writes `response` (keep-alive as the request asked unless the server is draining, Content-Length
// set; only the header when the request was HEAD). Returns false when the connection must end
// (the write failed, or the response closes it).
asio::awaitable<bool> write_response(Connection& connection, const Request& request, Response response);

Response json_response(const Request& request, http::status status, const std::string& body);
Response error_response(const Request& request, const ApiError& error);
// 503 for new work on a draining server.
ApiError server_shutting_down();

// Writes `response`, the answer to a request refused with `error`, after logging the refusal and
// counting it by reason (ServingEngine::record_rejected). `endpoint` is the route's path ("other"
// for a path no route serves: the metric's labels stay bounded); `generation`: a chat or
// completions request, also counted in troupe_requests_total.
asio::awaitable<bool> write_rejection(Connection& connection, const Request& request, Response response,
                                      const ApiError& error, std::string_view endpoint, bool generation = false);

// Routes one request and writes its response(s). Returns whether the connection may carry
// another request.
asio::awaitable<bool> handle_request(Connection& connection, Request& request);

}  // namespace troupe::http_detail
