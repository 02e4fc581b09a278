#pragma once
// Noticing that a client went away while its request is still running, even when nothing is being
// written to it (waiting for the first token, or for a non-streaming result).
#include <optional>

#include "http/channel_event_sink.hpp"
#include "http/connection.hpp"

namespace troupe::http_detail {

// Completes when the peer has closed the connection or it failed. Bytes that arrive meanwhile (a
// pipelined next request) are appended to connection.buffer for the next read.
asio::awaitable<void> wait_for_client_gone(Connection& connection);

// The request's next event, or nullopt when the client disconnected first.
asio::awaitable<std::optional<GenerationEvent>> next_event_or_disconnect(Connection& connection,
                                                                          ChannelEventSink& sink);

}  // namespace troupe::http_detail
