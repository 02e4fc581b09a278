#pragma once
// Awaiting a ServingEngine call that answers through a callback on an actor thread.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <mutex>

namespace troupe::http_detail {

// The one-slot channel between the callback and the waiting coroutine. The callback may run (or
// be destroyed) on an actor thread after the coroutine is gone, even after the server is: it only
// ever touches the channel under the mutex, and the coroutine's side destroys the channel when it
// stops waiting, while its io_context surely exists.
template <typename Result>
struct EngineAnswer {
  using Channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code, Result)>;
  std::mutex mutex;
  std::unique_ptr<Channel> channel;

  void deliver(Result result) {
    const std::lock_guard lock(mutex);
    if (channel) channel->try_send(boost::system::error_code{}, std::move(result));
  }
  void close() {
    const std::lock_guard lock(mutex);
    channel.reset();
  }
};

// Calls start(done) and suspends until the engine calls done(result), from any thread.
template <typename Result, typename Start>
boost::asio::awaitable<Result> await_engine(Start start) {
  auto answer = std::make_shared<EngineAnswer<Result>>();
  answer->channel = std::make_unique<typename EngineAnswer<Result>::Channel>(co_await boost::asio::this_coro::executor, 1);
  typename EngineAnswer<Result>::Channel& channel = *answer->channel;
  struct CloseOnExit {
    EngineAnswer<Result>& answer;
    ~CloseOnExit() { answer.close(); }
  } close_on_exit{*answer};
  start(std::function<void(Result)>([answer](Result result) { answer->deliver(std::move(result)); }));
  auto [ec, result] = co_await channel.async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
  if (ec) throw boost::system::system_error(ec);
  co_return std::move(result);
}

}  // namespace troupe::http_detail
