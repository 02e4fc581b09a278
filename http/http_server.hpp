#pragma once
// The OpenAI-compatible HTTP front of troupe: Boost.Beast over Asio C++20 coroutines, one
// coroutine per connection on its own strand, handing generation to a ServingEngine.
// Routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health,
// GET /metrics, POST /tokenize, POST /detokenize.
//
// This header keeps Beast and Asio out of its includers (the server's state is behind a pointer).
#include <cstdint>
#include <memory>

#include "actors/serving_engine.hpp"
#include "http/http_server_options.hpp"

namespace troupe {

class HttpServer {
 public:
  // Binds and listens at once, so a port in use fails here (std::system_error naming host:port)
  // and port() is known before run(). `engine` must outlive the server: destroying the server
  // cancels the requests still open on it through engine.cancel().
  HttpServer(ServingEngine& engine, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the ephemeral one when options.port was 0).
  uint16_t port() const;

  // Serves on options.io_threads threads (the caller's among them) until stop().
  void run();
  // Thread-safe; safe to call before, during or after run(). Open connections are dropped.
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace troupe
