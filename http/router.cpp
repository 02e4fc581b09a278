// Which handler answers which method and path, authentication, and the small routes (models,
// health, metrics, tokenize, detokenize). Every failure becomes an OpenAI-style error response.
#include <array>
#include <cctype>
#include <optional>

#include <boost/beast/core/string.hpp>

#include "http/bearer_auth.hpp"
#include "http/connection.hpp"
#include "http/engine_call.hpp"
#include "http/generation_route.hpp"
#include "pipeline/openai/api_exception.hpp"
#include "pipeline/openai/models_response.hpp"
#include "pipeline/openai/tokenize_api.hpp"

namespace troupe::http_detail {

namespace {

using Handler = asio::awaitable<bool> (*)(Connection&, const Request&);

struct Route {
  std::string_view path;
  http::verb method;
  bool needs_auth = true;          // /health and /metrics stay open for probes and scrapers
  bool metrics_port = false;       // also served on the --metrics-port listener
  Handler handler = nullptr;
  bool counts_as_request = false;  // a generation route: refusals count in troupe_requests_total
  bool takes_new_work = true;      // refused while draining (/health and /metrics keep answering)
  bool prefix = false;             // serves every path that starts with `path` ("/v1/models/{id}")
  bool has_body = true;            // a POST whose body is JSON (/pause takes its arguments in the query)
  bool dev_only = false;           // exists only under VLLM_SERVER_DEV_MODE=1

  bool json_body() const { return method == http::verb::post && has_body; }
  // HEAD is served wherever GET is (the same header, no body).
  bool allows(http::verb verb) const { return verb == method || (method == http::verb::get && verb == http::verb::head); }
  std::string allow_header() const { return method == http::verb::get ? "GET, HEAD" : std::string(http::to_string(method)); }
};

asio::awaitable<bool> chat_completions(Connection& c, const Request& r) {
  return handle_generation(c, r, Endpoint::ChatCompletions);
}

asio::awaitable<bool> completions(Connection& c, const Request& r) { return handle_generation(c, r, Endpoint::Completions); }

asio::awaitable<bool> models(Connection& c, const Request& r) {
  const ServedModel& model = c.engine.served_model();
  const boost::json::object body = models_response(model.name, model.created, model.root, model.max_model_len);
  return write_response(c, r, json_response(r, http::status::ok, boost::json::serialize(body)));
}

// vLLM's GET /version: {"version": "..."}.
asio::awaitable<bool> version(Connection& c, const Request& r) {
  const boost::json::object body{{"version", c.engine.served_model().version}};
  return write_response(c, r, json_response(r, http::status::ok, boost::json::serialize(body)));
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }
std::string_view query_of(std::string_view target) {
  const std::size_t mark = target.find('?');
  return mark == std::string_view::npos ? std::string_view{} : target.substr(mark + 1);
}

// GET /v1/models/{id}: the id is the rest of the path, percent-decoded (model names may hold "/").
std::string percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) && hex(s[i + 2])) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

asio::awaitable<bool> model(Connection& c, const Request& r) {
  const ServedModel& served = c.engine.served_model();
  constexpr std::string_view kPrefix = "/v1/models/";
  const std::string id = percent_decoded(path_of(r.target()).substr(kPrefix.size()));
  if (id != served.name) throw ApiException(model_not_found(id, served.name));
  const boost::json::object body = model_object(served.name, served.created, served.root, served.max_model_len);
  co_return co_await write_response(c, r, json_response(r, http::status::ok, boost::json::serialize(body)));
}

asio::awaitable<bool> health(Connection& c, const Request& r) {
  const bool draining = c.lifecycle.draining();
  if (c.engine.healthy() && !draining) {
    Response response{http::status::ok, r.version()};
    return write_response(c, r, std::move(response));
  }
  ApiError error;
  error.status = 503;
  error.type = "server_error";
  // Draining: a load balancer's readiness probe takes this replica out of rotation.
  error.message = draining ? "The server is shutting down." : "The engine is not healthy.";
  return write_response(c, r, error_response(r, error));
}

asio::awaitable<bool> metrics(Connection& c, const Request& r) {
  Response response{http::status::ok, r.version()};
  response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  response.body() = c.engine.metrics_text();
  return write_response(c, r, std::move(response));
}

asio::awaitable<bool> tokenize(Connection& c, const Request& r) {
  TokenizeRequest request = parse_tokenize_request(r.body(), c.api_context);
  TokenizeResult result = co_await await_engine<TokenizeResult>([&](std::function<void(TokenizeResult)> done) {
    c.engine.tokenize(std::move(request), std::move(done));
  });
  if (result.error) throw ApiException(*result.error);  // refused: logged and counted by the router
  const boost::json::object body = tokenize_response(result.tokens, c.api_context.max_model_len);
  co_return co_await write_response(c, r, json_response(r, http::status::ok, boost::json::serialize(body)));
}

asio::awaitable<bool> detokenize(Connection& c, const Request& r) {
  DetokenizeRequest request = parse_detokenize_request(r.body(), c.api_context);
  DetokenizeResult result = co_await await_engine<DetokenizeResult>(
      [&](std::function<void(DetokenizeResult)> done) { c.engine.detokenize(std::move(request.tokens), std::move(done)); });
  if (result.error) throw ApiException(*result.error);  // refused: logged and counted by the router
  co_return co_await write_response(
      c, r, json_response(r, http::status::ok, boost::json::serialize(detokenize_response(result.text))));
}

// vLLM's development routes (VLLM_SERVER_DEV_MODE=1). POST /pause?mode=abort|wait|keep answers
// {"status": "paused"} once the engine is as the mode says (PauseMode); the deprecated
// wait_for_inflight_requests=true means mode=wait; clear_cache is accepted and has nothing to do
// here (vLLM clears its prefix cache for new weights, which troupe does not load at run time).
asio::awaitable<bool> pause(Connection& c, const Request& r) {
  const std::string_view query = query_of(r.target());
  PauseMode mode = PauseMode::Abort;
  std::optional<std::string> named;
  for (std::string_view rest = query; !rest.empty();) {
    const std::string_view pair = rest.substr(0, rest.find('&'));
    rest = pair.size() < rest.size() ? rest.substr(pair.size() + 1) : std::string_view{};
    const std::string_view key = pair.substr(0, pair.find('='));
    const std::string value = key.size() < pair.size() ? percent_decoded(pair.substr(key.size() + 1)) : std::string();
    if (key == "mode") named = value;
    if (key == "wait_for_inflight_requests" && (value == "true" || value == "1")) mode = PauseMode::Wait;
  }
  if (named) {
    if (*named == "abort") mode = PauseMode::Abort;
    else if (*named == "wait") mode = PauseMode::Wait;
    else if (*named == "keep") mode = PauseMode::Keep;
    else throw ApiException(invalid_request("mode must be abort, wait or keep; got '" + *named + "'.", "mode"));
  }
  co_await await_engine<bool>([&](std::function<void(bool)> done) { c.engine.pause(mode, [done] { done(true); }); });
  co_return co_await write_response(c, r, json_response(r, http::status::ok, R"({"status":"paused"})"));
}

asio::awaitable<bool> resume(Connection& c, const Request& r) {
  co_await await_engine<bool>([&](std::function<void(bool)> done) { c.engine.resume([done] { done(true); }); });
  co_return co_await write_response(c, r, json_response(r, http::status::ok, R"({"status":"resumed"})"));
}

asio::awaitable<bool> is_paused(Connection& c, const Request& r) {
  const boost::json::object body{{"is_paused", c.engine.paused()}};
  return write_response(c, r, json_response(r, http::status::ok, boost::json::serialize(body)));
}

constexpr std::array<Route, 12> kRoutes = {{
    {.path = "/v1/chat/completions", .method = http::verb::post, .handler = &chat_completions, .counts_as_request = true},
    {.path = "/v1/completions", .method = http::verb::post, .handler = &completions, .counts_as_request = true},
    {.path = "/v1/models", .method = http::verb::get, .handler = &models},
    {.path = "/v1/models/", .method = http::verb::get, .handler = &model, .prefix = true},
    {.path = "/tokenize", .method = http::verb::post, .handler = &tokenize},
    {.path = "/detokenize", .method = http::verb::post, .handler = &detokenize},
    {.path = "/version", .method = http::verb::get, .needs_auth = false, .handler = &version},
    {.path = "/health", .method = http::verb::get, .needs_auth = false, .metrics_port = true, .handler = &health,
     .takes_new_work = false},
    {.path = "/metrics", .method = http::verb::get, .needs_auth = false, .metrics_port = true, .handler = &metrics,
     .takes_new_work = false},
    {.path = "/pause", .method = http::verb::post, .handler = &pause, .has_body = false, .dev_only = true},
    {.path = "/resume", .method = http::verb::post, .handler = &resume, .takes_new_work = false, .has_body = false,
     .dev_only = true},
    {.path = "/is_paused", .method = http::verb::get, .handler = &is_paused, .takes_new_work = false, .dev_only = true},
}};


const Route* find_route(std::string_view path, const HttpServerOptions& options) {
  for (const Route& route : kRoutes) {
    const bool matches = route.prefix ? path.size() > route.path.size() && path.starts_with(route.path) : path == route.path;
    if (matches && (!options.metrics_only || route.metrics_port) && (options.dev_mode || !route.dev_only)) return &route;
  }
  return nullptr;
}

ApiError not_found(std::string_view path) {
  ApiError error = invalid_request("No route for '" + std::string(path) + "'.");
  error.status = 404;
  error.type = "not_found_error";
  return error;
}

ApiError method_not_allowed(const Route& route, const Request& request) {
  ApiError error = invalid_request("Method " + std::string(request.method_string()) + " is not allowed on '" +
                                   std::string(route.path) + "'; use " + route.allow_header() + ".");
  error.status = 405;
  return error;
}

// vLLM's validate_json_request: the media type (parameters such as charset aside) must be
// application/json, else 400 before the body is looked at.
bool is_json_media_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  return beast::iequals(media, "application/json");
}

ApiError unsupported_media_type(std::string_view content_type) {
  return invalid_request("Unsupported Media Type: only 'application/json' is allowed (Content-Type was " +
                         (content_type.empty() ? std::string("missing") : "'" + std::string(content_type) + "'") +
                         ").");
}


// The tenant whose key the Authorization header presents; "anonymous" when no keys are
// configured; nullopt when keys are configured and none matches. Every configured key is compared
// (in constant time), so the time taken does not reveal which one matched.
std::optional<std::string> authenticate(const HttpServerOptions& options, std::string_view authorization) {
  if (!options.api_key && options.tenant_keys.empty()) return std::string("anonymous");
  std::optional<std::string> tenant;
  if (options.api_key && bearer_token_matches(authorization, *options.api_key)) tenant = "default";
  for (const auto& k : options.tenant_keys) {
    if (bearer_token_matches(authorization, k.key) && !tenant) tenant = k.tenant;
  }
  return tenant;
}

ApiError unauthorized() {
  ApiError error;
  error.status = 401;
  error.type = "authentication_error";
  error.message = "Missing or invalid API key: send 'Authorization: Bearer <key>'.";
  return error;
}

// The client's X-Request-Id, when it is one we can log and echo safely: 1 to 256 visible ASCII
// characters. Anything else is ignored (a generation request then gets its response id).
std::string client_request_id(const Request& request) {
  const std::string_view id = request["X-Request-Id"];
  if (id.empty() || id.size() > 256) return {};
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return {};
  }
  return std::string(id);
}

ApiError internal_error(const std::string& what) {
  ApiError error;
  error.status = 500;
  error.type = "server_error";
  error.message = "Internal server error: " + what;
  return error;
}

}  // namespace

asio::awaitable<bool> handle_request(Connection& connection, Request& request) {
  connection.request_id = client_request_id(request);
  connection.tenant = "anonymous";  // until this request's key says otherwise
  const std::string_view path = path_of(request.target());
  const Route* route = find_route(path, connection.options);
  if (route == nullptr) {
    const ApiError error = not_found(path);
    co_return co_await write_rejection(connection, request, error_response(request, error), error, "other");
  }
  if (!route->allows(request.method())) {
    const ApiError error = method_not_allowed(*route, request);
    Response response = error_response(request, error);
    response.set(http::field::allow, route->allow_header());
    co_return co_await write_rejection(connection, request, std::move(response), error, route->path);
  }
  // Refusals of an authenticated generation request also count in troupe_requests_total.
  const auto reject = [&](const ApiError& error, bool counted) {
    return write_rejection(connection, request, error_response(request, error), error, route->path,
                           counted && route->counts_as_request);
  };
  if (route->takes_new_work && connection.lifecycle.draining()) {
    co_return co_await reject(server_shutting_down(), false);
  }
  if (route->needs_auth) {
    std::optional<std::string> tenant = authenticate(connection.options, request[http::field::authorization]);
    if (!tenant) co_return co_await reject(unauthorized(), false);
    connection.tenant = std::move(*tenant);
  }
  std::optional<ApiError> failure;
  try {
    if (route->json_body() && !is_json_media_type(request[http::field::content_type])) {
      throw ApiException(unsupported_media_type(request[http::field::content_type]));
    }
    co_return co_await route->handler(connection, request);
  } catch (const ApiException& e) {
    failure = e.error();
  } catch (const std::exception& e) {
    failure = internal_error(e.what());
  }
  co_return co_await reject(*failure, true);
}

}  // namespace troupe::http_detail
