#include "http/channel_event_sink.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace troupe::http_detail {

ChannelEventSink::ChannelEventSink(boost::asio::any_io_executor executor)
    : channel_(std::make_unique<Channel>(std::move(executor), kChannelCapacity)) {}

void ChannelEventSink::push(GenerationEvent event) {
  const std::lock_guard lock(mutex_);
  if (!channel_) return;
  // Order matters: once anything waits in the overflow, new events queue behind it.
  if (overflow_.empty() && channel_->try_send(boost::system::error_code{}, std::move(event))) return;
  overflow_.push_back(std::move(event));
}

boost::asio::awaitable<GenerationEvent> ChannelEventSink::receive() {
  Channel* channel = nullptr;
  {
    const std::lock_guard lock(mutex_);
    channel = channel_.get();
  }
  if (channel == nullptr) throw boost::system::system_error(boost::asio::error::operation_aborted);
  auto [ec, event] = co_await channel->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
  if (ec) throw boost::system::system_error(ec);
  refill_from_overflow();
  co_return std::move(event);
}

void ChannelEventSink::refill_from_overflow() {
  const std::lock_guard lock(mutex_);
  while (channel_ && !overflow_.empty()) {
    if (!channel_->try_send(boost::system::error_code{}, std::move(overflow_.front()))) break;
    overflow_.pop_front();
  }
}

void ChannelEventSink::detach() {
  const std::lock_guard lock(mutex_);
  channel_.reset();
  overflow_.clear();
}

}  // namespace troupe::http_detail
