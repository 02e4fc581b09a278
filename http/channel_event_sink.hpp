#pragma once
// The bridge from actor threads to a connection's coroutine: the engine pushes GenerationEvents
// from any thread, the session co_awaits them in order on its strand.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <deque>
#include <memory>
#include <mutex>

#include "pipeline/request/generation_event.hpp"

namespace troupe::http_detail {

// Buffering policy: the channel holds kChannelCapacity events; when it is full (a stalled client,
// or a burst of n > 1 choices) further events go to an overflow deque instead of being dropped or
// blocking the actor thread. Dropping would corrupt the stream (a lost delta or a lost `done`),
// and blocking would stall every request on that actor. The overflow cannot grow without bound:
// a request emits at most one event per generated token plus a final one, so its size is bounded
// by max_tokens × n, and it is freed with the request. Invariant (under mutex_): overflow_ is
// non-empty only while the channel is full, so the receiver never waits while events sit in the
// deque — after each receive it moves deque events into the freed channel slots.
class ChannelEventSink final : public EventSink {
 public:
  static constexpr std::size_t kChannelCapacity = 256;

  explicit ChannelEventSink(boost::asio::any_io_executor executor);

  // Any thread; never blocks on the receiver. Events pushed after detach() are dropped.
  void push(GenerationEvent event) override;

  // The session's strand only, one receive at a time. Throws boost::system::system_error when
  // cancelled (the awaiting operation was abandoned).
  boost::asio::awaitable<GenerationEvent> receive();

  // The session is finished with this request: drop later events and release the channel now,
  // while its io_context surely exists (the engine may hold the sink longer than the server lives).
  void detach();

 private:
  using Channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code, GenerationEvent)>;

  void refill_from_overflow();

  std::mutex mutex_;
  std::unique_ptr<Channel> channel_;  // null after detach()
  std::deque<GenerationEvent> overflow_;
};

}  // namespace troupe::http_detail
