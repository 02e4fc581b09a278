#pragma once
// How the HTTP server listens and what it accepts.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace troupe {

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 8000;  // 0: an ephemeral port (HttpServer::port() tells which)
  // --api-key: every route except /health and /metrics then needs "Authorization: Bearer <key>".
  std::optional<std::string> api_key;
  // --api-keys-file: several keys, each with the tenant name its requests are accounted to
  // (troupe_requests_total{tenant}, troupe_tokens_total{tenant}). With only --api-key the tenant is
  // "default"; without keys, "anonymous".
  struct TenantKey {
    std::string tenant;
    std::string key;
  };
  std::vector<TenantKey> tenant_keys;
  std::size_t max_body_bytes = 4 * 1024 * 1024;  // larger bodies get 413
  // The request line and headers together; beyond it the answer is 431 and the connection closes
  // (nginx's large_client_header_buffers allow 4 x 8 KiB; Node.js 16 KiB).
  std::size_t max_header_bytes = 16 * 1024;
  // How long a kept-alive connection may sit idle before the next request starts.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // How long reading one request (after its first byte) or writing one piece of a response may take.
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  // --stream-write-timeout: a streamed response whose next write makes no progress for this long
  // (a client that stopped reading) is abandoned and its request cancelled, freeing its KV blocks.
  std::chrono::milliseconds stream_write_timeout{std::chrono::seconds(60)};
  // Kernel send buffer of a streaming connection (SO_SNDBUF). Left to autotuning, Linux lets a
  // client that never reads absorb megabytes of events before a write blocks, so the write timeout
  // would only start minutes later; 64 KiB still holds hundreds of events in flight.
  int stream_send_buffer_bytes = 64 * 1024;
  int io_threads = 2;
  // --metrics-port: a listener that serves only GET /metrics (and /health); every other path is 404.
  bool metrics_only = false;
  // VLLM_SERVER_DEV_MODE=1, as vLLM reads it: the development routes (/pause, /resume, /is_paused)
  // exist; without it they are 404.
  bool dev_mode = false;
};

}  // namespace troupe
