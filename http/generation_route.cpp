#include "http/generation_route.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include "http/client_watch.hpp"
#include "pipeline/openai/api_exception.hpp"
#include "pipeline/openai/chat_request.hpp"
#include "pipeline/openai/chat_response.hpp"
#include "pipeline/openai/completion_request.hpp"
#include "pipeline/openai/completion_response.hpp"
#include "pipeline/openai/error_body.hpp"
#include "pipeline/openai/stream_encoder.hpp"

namespace troupe::http_detail {

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// What the response needs to remember of the request once it has been moved into the engine.
struct Submitted {
  bool stream;
  ResponseOptions options;
};

// Ends the request's use of its sink however the handler exits, cancels the request in the engine
// unless it reached its last event (a disconnect, a failed or stalled write, an exception), and
// tells the server's lifecycle the request is closed (a drain waits for that). The session's part
// of the request's timeline ends with it.
class RequestScope {
 public:
  RequestScope(ServingEngine& engine, ServerLifecycle& lifecycle, std::string id, std::shared_ptr<ChannelEventSink> sink,
               std::shared_ptr<RequestTimeline> timeline)
      : engine_(engine), lifecycle_(lifecycle), id_(std::move(id)), sink_(std::move(sink)), timeline_(std::move(timeline)) {}
  ~RequestScope() {
    sink_->detach();
    if (!finished_) engine_.cancel(id_, abort_reason_);
    timeline_->finish_part();
    lifecycle_.request_closed(id_);
  }
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;
  void mark_finished() { finished_ = true; }
  // Why the request is cancelled if it ends unfinished (a client that went away, by default).
  void abort_because(AbortReason reason) { abort_reason_ = reason; }
  ChannelEventSink& sink() { return *sink_; }
  // `event` has just been written: if it carries generated tokens, the first token is out.
  void written(const GenerationEvent& event) {
    if (first_token_written_) return;
    for (const ChoiceDelta& c : event.choices) {
      if (!c.token_ids.empty() || !c.text.empty()) {
        timeline_->mark(RequestTimeline::Instant::FirstTokenWritten);
        first_token_written_ = true;
        return;
      }
    }
  }
  // The whole response, tokens included, has just been written.
  void written_whole() {
    if (timeline_->has(RequestTimeline::Instant::FirstToken)) timeline_->mark(RequestTimeline::Instant::FirstTokenWritten);
  }

 private:
  ServingEngine& engine_;
  ServerLifecycle& lifecycle_;
  std::string id_;
  std::shared_ptr<ChannelEventSink> sink_;
  std::shared_ptr<RequestTimeline> timeline_;
  bool finished_ = false;
  bool first_token_written_ = false;
  AbortReason abort_reason_ = AbortReason::ClientDisconnect;
};

bool is_last(const GenerationEvent& event) { return event.done || event.error.has_value(); }

ApiError engine_contract_error(const std::string& what) {
  ApiError error;
  error.status = 500;
  error.type = "server_error";
  error.message = "Internal error while producing the response: " + what;
  return error;
}

// Every write of a stream gets --stream-write-timeout to make progress. A client that stopped
// reading fills the (bounded) kernel buffers, the write stalls, and the timeout ends the request:
// the write reports beast::error::timeout and the scope cancels it with AbortReason::Timeout.
asio::awaitable<boost::system::error_code> write_sse_payload(Connection& connection, const std::string& payload) {
  const std::string frame = "data: " + payload + "\n\n";
  connection.stream.expires_after(connection.options.stream_write_timeout);
  auto [ec, bytes] = co_await asio::async_write(connection.stream, http::make_chunk(asio::buffer(frame)), tuple_awaitable);
  connection.stream.expires_never();
  co_return ec;
}

asio::awaitable<boost::system::error_code> write_sse_header(Connection& connection, const Request& request) {
  http::response<http::empty_body> response{http::status::ok, request.version()};
  response.set(http::field::server, "troupe");
  response.set(http::field::content_type, "text/event-stream");
  response.set(http::field::cache_control, "no-cache");
  if (!connection.request_id.empty()) response.set("X-Request-Id", connection.request_id);
  response.keep_alive(request.keep_alive() && !connection.lifecycle.draining());
  response.chunked(true);
  if (connection.options.stream_send_buffer_bytes > 0) {
    boost::system::error_code ignored;
    connection.stream.socket().set_option(asio::socket_base::send_buffer_size(connection.options.stream_send_buffer_bytes),
                                          ignored);
  }
  http::response_serializer<http::empty_body> serializer{response};
  connection.stream.expires_after(connection.options.stream_write_timeout);
  auto [ec, bytes] = co_await http::async_write_header(connection.stream, serializer, tuple_awaitable);
  connection.stream.expires_never();
  co_return ec;
}

asio::awaitable<boost::system::error_code> write_sse_end(Connection& connection) {
  if (auto ec = co_await write_sse_payload(connection, "[DONE]")) co_return ec;
  connection.stream.expires_after(connection.options.stream_write_timeout);
  auto [ec, bytes] = co_await asio::async_write(connection.stream, http::make_chunk_last(), tuple_awaitable);
  connection.stream.expires_never();
  co_return ec;
}

// A failed stream write: the connection is unusable. A stall (as opposed to a reset) is the
// write timeout's doing, which operators count apart from clients that hung up.
bool stream_write_failed(RequestScope& scope, const boost::system::error_code& ec) {
  if (!ec) return false;
  if (ec == beast::error::timeout) scope.abort_because(AbortReason::Timeout);
  return true;
}

// Streams events as SSE, starting with `first`. Returns whether the connection may continue.
asio::awaitable<bool> stream_events(Connection& connection, const Request& request, const Submitted& submitted,
                                    RequestScope& scope, GenerationEvent first) {
  StreamEncoder encoder(submitted.options);
  if (stream_write_failed(scope, co_await write_sse_header(connection, request))) co_return false;
  std::optional<GenerationEvent> event = std::move(first);
  for (;;) {
    std::vector<std::string> payloads;
    bool contract_broken = false;
    try {
      payloads = encoder.encode(*event);
    } catch (const std::exception& e) {
      // The request is still running in the engine: the scope cancels it.
      payloads = {error_json(engine_contract_error(e.what()))};
      contract_broken = true;
    }
    for (const std::string& payload : payloads) {
      if (stream_write_failed(scope, co_await write_sse_payload(connection, payload))) co_return false;
    }
    scope.written(*event);
    if (contract_broken) break;
    if (is_last(*event)) {
      scope.mark_finished();
      break;
    }
    event = co_await next_event_or_disconnect(connection, scope.sink());
    if (!event) co_return false;
  }
  if (stream_write_failed(scope, co_await write_sse_end(connection))) co_return false;
  co_return request.keep_alive() && !connection.lifecycle.draining();
}

// Collects every event into one response object.
asio::awaitable<bool> respond_whole(Connection& connection, const Request& request, const Submitted& submitted,
                                    RequestScope& scope, GenerationEvent first) {
  ResponseAccumulator result(submitted.options.choices);
  std::optional<GenerationEvent> event = std::move(first);
  std::optional<ApiError> failure;
  for (;;) {
    if (event->error) {
      scope.mark_finished();
      failure = event->error;
      break;
    }
    try {
      result.add(*event);
    } catch (const std::exception& e) {
      failure = engine_contract_error(e.what());
      break;
    }
    if (event->done) break;
    event = co_await next_event_or_disconnect(connection, scope.sink());
    if (!event) co_return false;
  }
  if (failure) co_return co_await write_response(connection, request, error_response(request, *failure));
  scope.mark_finished();
  const boost::json::object body = submitted.options.endpoint == Endpoint::ChatCompletions
                                        ? chat_response(submitted.options, result)
                                        : completion_response(submitted.options, result);
  const bool written = co_await write_response(connection, request,
                                               json_response(request, http::status::ok, boost::json::serialize(body)));
  scope.written_whole();
  co_return written;
}

GenerationRequest parse_generation(const Request& request, Endpoint endpoint, const ApiContext& context) {
  return endpoint == Endpoint::ChatCompletions ? parse_chat_request(request.body(), context)
                                               : parse_completion_request(request.body(), context);
}

}  // namespace

asio::awaitable<bool> handle_generation(Connection& connection, const Request& request, Endpoint endpoint) {
  // Two parties complete the timeline: the engine, and this session once it is done writing.
  auto timeline = std::make_shared<RequestTimeline>(2);
  timeline->mark(RequestTimeline::Instant::Received);
  GenerationRequest generation = parse_generation(request, endpoint, connection.api_context);
  generation.id = make_request_id(endpoint);
  generation.arrival = std::chrono::steady_clock::now();
  timeline->mark(RequestTimeline::Instant::Parsed, generation.arrival);
  if (connection.request_id.empty()) connection.request_id = generation.id;
  timeline->facts().request_id = connection.request_id;
  timeline->facts().stream = generation.stream;
  generation.timeline = timeline;
  generation.tenant = connection.tenant;
  const Submitted submitted{
      generation.stream,
      response_options(generation, ResponseIdentity{generation.id, unix_seconds_now(), generation.model,
                                                    connection.api_context.system_fingerprint})};
  auto sink = std::make_shared<ChannelEventSink>(co_await asio::this_coro::executor);
  // Registered before it reaches the engine, so a drain either waits for it or it is refused here.
  if (!connection.lifecycle.request_opened(generation.id)) throw ApiException(server_shutting_down());
  RequestScope scope(connection.engine, connection.lifecycle, generation.id, sink, timeline);
  connection.engine.submit(std::move(generation), sink);

  // Headers wait for the first event: an immediate error (overload, prompt too long) still gets
  // its own status code instead of a 200 stream that fails.
  std::optional<GenerationEvent> first = co_await next_event_or_disconnect(connection, scope.sink());
  if (!first) co_return false;
  if (first->error) {
    scope.mark_finished();
    co_return co_await write_response(connection, request, error_response(request, *first->error));
  }
  if (submitted.stream) co_return co_await stream_events(connection, request, submitted, scope, std::move(*first));
  co_return co_await respond_whole(connection, request, submitted, scope, std::move(*first));
}

}  // namespace troupe::http_detail
