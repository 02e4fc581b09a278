#pragma once
// Awaiting a ServingEngine call that answers through a callback on an actor thread.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>

namespace troupe::http_detail {

// Calls start(done) and suspends until the engine calls done(result), from any thread. The
// one-slot channel is shared with the callback so an answer arriving late finds it alive.
template <typename Result, typename Start>
boost::asio::awaitable<Result> await_engine(Start start) {
  using Channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code, Result)>;
  auto channel = std::make_shared<Channel>(co_await boost::asio::this_coro::executor, 1);
  start(std::function<void(Result)>(
      [channel](Result result) { channel->try_send(boost::system::error_code{}, std::move(result)); }));
  auto [ec, result] = co_await channel->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
  if (ec) throw boost::system::system_error(ec);
  co_return std::move(result);
}

}  // namespace troupe::http_detail
