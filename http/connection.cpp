// The per-connection coroutine: read a request (header first, so oversized bodies are refused
// before they are read and "Expect: 100-continue" is honoured), route it, repeat while keep-alive.
#include "http/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "pipeline/openai/api_exception.hpp"

namespace troupe::http_detail {

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

bool is_disconnect(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == beast::error::timeout || ec == asio::error::operation_aborted || ec == asio::error::broken_pipe;
}

ApiError headers_too_large(std::size_t limit) {
  ApiError error = invalid_request("The request line and headers are larger than the limit of " +
                                   std::to_string(limit) + " bytes.");
  error.status = 431;
  return error;
}

ApiError body_too_large(std::size_t limit) {
  ApiError error = invalid_request("The request body is larger than the limit of " + std::to_string(limit) +
                                   " bytes.");
  error.status = 413;
  return error;
}

// Answers a request that could not be read in full; the connection closes afterwards since the
// rest of the request is still on the wire. Its path is not looked up: the refusal is counted as
// "other", and logged with what the request line said.
asio::awaitable<void> reject_unread(Connection& connection, const Request& header, const ApiError& error) {
  Response response = error_response(header, error);
  response.keep_alive(false);
  co_await write_rejection(connection, header, std::move(response), error, "other");
}

asio::awaitable<void> send_100_continue(Connection& connection, unsigned version) {
  http::response<http::empty_body> interim{http::status::continue_, version};
  co_await http::async_write(connection.stream, interim, tuple_awaitable);
}

// Reads the next request into `parser`. Returns false when the connection should end (after an
// error response when the request was malformed or too large).
asio::awaitable<bool> read_request(Connection& connection, http::request_parser<http::string_body>& parser) {
  parser.body_limit(connection.options.max_body_bytes);
  parser.header_limit(static_cast<std::uint32_t>(connection.options.max_header_bytes));
  connection.stream.expires_after(connection.options.idle_timeout);
  auto [header_ec, header_bytes] =
      co_await http::async_read_header(connection.stream, connection.buffer, parser, tuple_awaitable);
  if (header_ec == http::error::header_limit) {
    co_await reject_unread(connection, Request{http::verb::unknown, "", 11},
                           headers_too_large(connection.options.max_header_bytes));
    co_return false;
  }
  // Beast checks a declared Content-Length against body_limit while parsing the header.
  if (header_ec == http::error::body_limit) {
    co_await reject_unread(connection, parser.get(), body_too_large(connection.options.max_body_bytes));
    co_return false;
  }
  if (header_ec) {
    if (!is_disconnect(header_ec)) {
      co_await reject_unread(connection, Request{http::verb::unknown, "", 11},
                             invalid_request("Malformed HTTP request: " + header_ec.message() + "."));
    }
    co_return false;
  }
  const Request& header = parser.get();
  if (const auto length = parser.content_length(); length && *length > connection.options.max_body_bytes) {
    co_await reject_unread(connection, header, body_too_large(connection.options.max_body_bytes));
    co_return false;
  }
  if (beast::iequals(header[http::field::expect], "100-continue")) co_await send_100_continue(connection, header.version());
  connection.stream.expires_after(connection.options.read_timeout);
  auto [body_ec, body_bytes] = co_await http::async_read(connection.stream, connection.buffer, parser, tuple_awaitable);
  connection.stream.expires_never();
  if (body_ec == http::error::body_limit) {
    co_await reject_unread(connection, parser.get(), body_too_large(connection.options.max_body_bytes));
    co_return false;
  }
  if (body_ec) {
    if (!is_disconnect(body_ec)) {
      co_await reject_unread(connection, parser.get(),
                             invalid_request("Malformed HTTP request body: " + body_ec.message() + "."));
    }
    co_return false;
  }
  co_return true;
}

}  // namespace

asio::awaitable<void> serve_connection(asio::ip::tcp::socket socket, ServingEngine& engine,
                                       const HttpServerOptions& options, ServerLifecycle& lifecycle) {
  const ServedModel& model = engine.served_model();
  ApiContext context;
  context.served_model_name = model.name;
  context.max_model_len = model.max_model_len;
  context.enable_auto_tool_choice = model.enable_auto_tool_choice;
  context.tool_call_format = model.tool_call_format;
  context.reasoning = model.reasoning;
  context.disable_any_whitespace = model.disable_any_whitespace;
  context.system_fingerprint = model.system_fingerprint;
  context.vocab_size = model.vocab_size;
  Connection connection{beast::tcp_stream(std::move(socket)), beast::flat_buffer(), engine, options, lifecycle,
                        std::move(context)};
  // A draining server answers each request it reads (new work with 503) and closes the connection
  // after it (write_response says so).
  while (!connection.peer_closed) {
    http::request_parser<http::string_body> parser;
    if (!co_await read_request(connection, parser)) break;
    Request request = parser.release();
    if (!co_await handle_request(connection, request)) break;
  }
  boost::system::error_code ignored;
  connection.stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace troupe::http_detail
