#include "http/http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <thread>
#include <vector>

#include "http/connection.hpp"

namespace troupe {

namespace asio = boost::asio;
using asio::ip::tcp;

struct HttpServer::State {
  ServingEngine& engine;
  HttpServerOptions options;
  // Before io: destroying io destroys the coroutines still suspended on it, whose request scopes
  // tell the lifecycle their requests closed.
  ServerLifecycle lifecycle;
  asio::io_context io;
  tcp::acceptor acceptor;

  State(ServingEngine& e, HttpServerOptions o) : engine(e), options(std::move(o)), io(std::max(1, options.io_threads)), acceptor(io) {}
};

namespace {

tcp::endpoint resolve_endpoint(asio::io_context& io, const HttpServerOptions& options) {
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  const auto results = resolver.resolve(options.host, std::to_string(options.port),
                                        tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    throw std::system_error(ec ? ec.value() : EINVAL, std::system_category(),
                            "cannot resolve the listen address " + options.host);
  }
  return results.begin()->endpoint();
}

void open_listener(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, const HttpServerOptions& options) {
  try {
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    throw std::system_error(e.code().value(), std::system_category(),
                            "cannot listen on " + options.host + ":" + std::to_string(options.port));
  }
}

// Each connection runs on its own strand, so its coroutine, its disconnect watch and its channel
// completions never run concurrently even with several io threads.
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, ServingEngine& engine, const HttpServerOptions& options,
                                  ServerLifecycle& lifecycle);

}  // namespace

HttpServer::HttpServer(ServingEngine& engine, HttpServerOptions options)
    : state_(std::make_unique<State>(engine, std::move(options))) {
  open_listener(state_->acceptor, resolve_endpoint(state_->io, state_->options), state_->options);
  asio::co_spawn(state_->io, accept_loop(state_->acceptor, state_->engine, state_->options, state_->lifecycle),
                 asio::detached);
}

HttpServer::~HttpServer() { stop(); }

uint16_t HttpServer::port() const { return state_->acceptor.local_endpoint().port(); }

void HttpServer::run() {
  std::vector<std::thread> helpers;
  for (int i = 1; i < state_->options.io_threads; ++i) helpers.emplace_back([this] { state_->io.run(); });
  state_->io.run();
  for (std::thread& helper : helpers) helper.join();
}

void HttpServer::stop() { state_->io.stop(); }

std::size_t HttpServer::drain(std::chrono::milliseconds grace, std::chrono::milliseconds flush) {
  State& state = *state_;
  state.lifecycle.begin_drain();
  // The acceptor belongs to the io threads: close it there. Connections already accepted finish
  // the request they carry; a new request on a kept-alive one gets 503 and its connection closes.
  asio::post(state.io, [&state] {
    boost::system::error_code ignored;
    state.acceptor.close(ignored);
  });
  std::size_t cancelled = 0;
  if (!state.lifecycle.wait_until_idle(grace)) {
    for (const std::string& id : state.lifecycle.open_request_ids()) {
      state.engine.cancel(id, AbortReason::Shutdown);
      ++cancelled;
    }
    state.lifecycle.wait_until_idle(flush);
  }
  stop();
  return cancelled;
}

bool HttpServer::draining() const { return state_->lifecycle.draining(); }

namespace {

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, ServingEngine& engine, const HttpServerOptions& options,
                                  ServerLifecycle& lifecycle) {
  for (;;) {
    auto [ec, socket] =
        co_await acceptor.async_accept(asio::make_strand(acceptor.get_executor()), asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // A connection that failed during accept (reset, out of file descriptors): keep serving,
      // after a pause so a persistent condition does not spin this thread.
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    auto executor = socket.get_executor();
    asio::co_spawn(executor, http_detail::serve_connection(std::move(socket), engine, options, lifecycle),
                   asio::detached);
  }
}

}  // namespace

}  // namespace troupe
