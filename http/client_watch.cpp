#include "http/client_watch.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace troupe::http_detail {

namespace {

// A client that keeps sending while it waits gets its bytes buffered up to this much; beyond it
// the watch stops reading (and so stops detecting a disconnect) rather than buffer without limit.
constexpr std::size_t kMaxBufferedWhileWaiting = 64 * 1024;
constexpr std::size_t kReadChunk = 4096;

}  // namespace

asio::awaitable<void> wait_for_client_gone(Connection& connection) {
  asio::ip::tcp::socket& socket = connection.stream.socket();
  while (!connection.peer_closed && connection.buffer.size() < kMaxBufferedWhileWaiting) {
    auto [ec, bytes] =
        co_await socket.async_read_some(connection.buffer.prepare(kReadChunk), asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) co_return;  // this watch was cancelled; its result is ignored
    if (ec) {
      connection.peer_closed = true;  // EOF or reset: remembered even when this watch loses its race
      co_return;
    }
    connection.buffer.commit(bytes);
  }
  if (connection.peer_closed) co_return;
  asio::steady_timer forever(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
  co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<std::optional<GenerationEvent>> next_event_or_disconnect(Connection& connection,
                                                                          ChannelEventSink& sink) {
  using namespace asio::experimental::awaitable_operators;
  // `||` cancels the loser: the watch's pending read, or the channel receive.
  auto winner = co_await (wait_for_client_gone(connection) || sink.receive());
  if (winner.index() == 0) co_return std::nullopt;
  co_return std::move(std::get<1>(winner));
}

}  // namespace troupe::http_detail
