#pragma once
// The OpenAI-compatible HTTP front of troupe: Boost.Beast over Asio C++20 coroutines, one
// coroutine per connection on its own strand, handing generation to a ServingEngine.
// Routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health,
// GET /metrics, POST /tokenize, POST /detokenize.
//
// This header keeps Beast and Asio out of its includers (the server's state is behind a pointer).
#include <chrono>
#include <cstddef>
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

  // Graceful shutdown, as Kubernetes expects on SIGTERM. Call from a thread other than the
  // server's; it blocks until the server has stopped. At once: no new connections, /health answers
  // 503, a new request on an open connection gets 503 and the connection closes. Then up to
  // `grace` for the generation requests in progress to finish; the rest are cancelled with
  // AbortReason::Shutdown (a stream ends with an error event, `data: [DONE]` and its last chunk; a
  // non-streamed request gets a 503 error) and get up to `flush` to be written. Then stop().
  // Returns how many requests had to be cancelled.
  std::size_t drain(std::chrono::milliseconds grace, std::chrono::milliseconds flush);
  bool draining() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace troupe
