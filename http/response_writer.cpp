// Plain (non-streamed) responses: JSON bodies, OpenAI error bodies, and writing them.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include "http/connection.hpp"
#include "pipeline/openai/error_body.hpp"

namespace troupe::http_detail {

Response json_response(const Request& request, http::status status, const std::string& body) {
  Response response{status, request.version()};
  response.set(http::field::content_type, "application/json");
  response.body() = body;
  return response;
}

ApiError server_shutting_down() {
  ApiError error;
  error.status = 503;
  error.type = "server_error";
  error.message = "The server is shutting down and takes no new requests; retry on another replica.";
  error.retry_after_seconds = 1;
  return error;
}

Response error_response(const Request& request, const ApiError& error) {
  Response response = json_response(request, static_cast<http::status>(error.status), error_json(error));
  if (error.retry_after_seconds > 0) response.set(http::field::retry_after, std::to_string(error.retry_after_seconds));
  if (error.status == 401) response.set(http::field::www_authenticate, "Bearer");
  return response;
}

asio::awaitable<bool> write_response(Connection& connection, const Request& request, Response response) {
  response.set(http::field::server, "troupe");
  if (!connection.request_id.empty()) response.set("X-Request-Id", connection.request_id);
  // A response built with "Connection: close" (say, after an unread oversized body) stays closing;
  // so does every response of a draining server.
  response.keep_alive(response.keep_alive() && request.keep_alive() && !connection.lifecycle.draining());
  response.prepare_payload();
  connection.stream.expires_after(connection.options.read_timeout);
  boost::system::error_code ec;
  if (request.method() == http::verb::head) {
    // RFC 9110 9.3.2: the header GET would send (Content-Length included), never a body. A body
    // here would be read by the client as the start of the next response.
    http::response_serializer<http::string_body> serializer{response};
    std::tie(ec, std::ignore) =
        co_await http::async_write_header(connection.stream, serializer, asio::as_tuple(asio::use_awaitable));
  } else {
    std::tie(ec, std::ignore) = co_await http::async_write(connection.stream, response, asio::as_tuple(asio::use_awaitable));
  }
  connection.stream.expires_never();
  co_return !ec && response.keep_alive();
}

}  // namespace troupe::http_detail
