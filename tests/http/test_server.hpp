#pragma once
// The real HttpServer on 127.0.0.1 with an ephemeral port, run on a background thread, plus a
// minimal blocking client that speaks raw bytes or Beast messages to it.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>

#include "http/http_server.hpp"
#include "tests/http/scripted_engine.hpp"

namespace troupe::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

class TestServer {
 public:
  explicit TestServer(HttpServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = 2;  // more than one, so strands are what keeps each connection serial
    server_ = std::make_unique<HttpServer>(engine, options);
    thread_ = std::thread([this] { server_->run(); });
  }
  ~TestServer() {
    server_->stop();
    thread_.join();
    server_.reset();
  }
  uint16_t port() const { return server_->port(); }
  HttpServer& server() { return *server_; }

  ScriptedEngine engine;

 private:
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

using TestResponse = http::response<http::string_body>;

class TestClient {
 public:
  explicit TestClient(uint16_t port) : socket_(io_) {
    socket_.connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port));
    // A test that would hang on a missing response fails after 10 s instead.
    timeval timeout{10, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }

  void write_raw(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

  // `head`: the response to a HEAD request, which has a header only (whatever Content-Length says).
  TestResponse read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    parser.skip(head);
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

  TestResponse send(http::verb method, const std::string& target, const std::string& body = {},
                    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "127.0.0.1");
    if (!body.empty() || method == http::verb::post) {
      request.set(http::field::content_type, "application/json");
      request.body() = body;
    }
    for (const auto& [name, value] : headers) request.set(name, value);  // may replace Content-Type
    request.prepare_payload();
    http::write(socket_, request);
    return read(method == http::verb::head);
  }

  TestResponse post(const std::string& target, const std::string& body) { return send(http::verb::post, target, body); }
  TestResponse get(const std::string& target) { return send(http::verb::get, target); }

  // True when the server has closed the connection (the next read sees EOF).
  bool closed_by_server() {
    char byte;
    boost::system::error_code ec;
    socket_.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  beast::flat_buffer buffer_;
};

inline boost::json::object json_body(const TestResponse& response) {
  return boost::json::parse(response.body()).as_object();
}

// The "error" object of an OpenAI error body.
inline boost::json::object error_of(const TestResponse& response) { return json_body(response).at("error").as_object(); }

// The payloads of an SSE body ("data: X\n\n" each), in order.
inline std::vector<std::string> sse_payloads(const std::string& body) {
  std::vector<std::string> payloads;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) throw std::runtime_error("SSE body does not end with a blank line: " + body.substr(pos));
    const std::string frame = body.substr(pos, end - pos);
    if (frame.rfind("data: ", 0) != 0) throw std::runtime_error("SSE frame without 'data: ': " + frame);
    payloads.push_back(frame.substr(6));
    pos = end + 2;
  }
  return payloads;
}

}  // namespace troupe::test
