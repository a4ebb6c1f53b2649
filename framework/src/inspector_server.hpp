// inspector_server: the inspector's HTTP endpoint (Boost.Beast on a thread of its own, with its
// own io_context: idle, it waits in epoll). Every request needs the token; the JSON API, the
// live stream (server-sent events), /metrics and the page are in docs/inspector.md.
#pragma once

#include <troupe/inspect.hpp>
#include <troupe/abstract_actor.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace troupe::detail {

class inspector_model;

class inspector_server {
 public:
  /// Listens on `listen` ("HOST:PORT"; port 0: any free one) and starts serving `model`.
  /// Throws std::system_error (cannot bind) or std::invalid_argument (not HOST:PORT).
  /// `more_metrics` appends what other layers count to /metrics (on the server's thread).
  inspector_server(const inspect_config& cfg, std::string listen, inspector_model& model, node_id node,
                   spdlog::logger& log, std::function<void(std::string&)> more_metrics = {});
  /// Stops serving: closes every connection and joins the thread.
  ~inspector_server();
  inspector_server(const inspector_server&) = delete;
  inspector_server& operator=(const inspector_server&) = delete;

  /// "http://HOST:PORT/" (the port it got).
  std::string address() const;
  const std::string& token() const noexcept;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

/// The page: index.html, inspector.js and inspector.css, compiled in (inspector_assets.cpp, made
/// from framework/src/inspector/ by cmake/embed_assets.cmake at build time).
struct inspector_asset {
  const char* path;  // "/index.html"
  const char* content_type;
  std::string_view body;
};
extern const inspector_asset inspector_assets[];
extern const std::size_t inspector_asset_count;

/// The inspector's JSON and text documents (what the endpoint serves; also used by tests).
std::string inspector_actors_json(const inspector_model& m, node_id node);
/// One actor with its recent runs; empty if the model does not follow it.
std::string inspector_actor_json(const inspector_model& m, node_id node, std::uint64_t id);
std::string inspector_topology_json(const inspector_model& m);
std::string inspector_dead_letters_json(const inspector_model& m);
std::string inspector_lints_json(const inspector_model& m);
/// Prometheus' text exposition format (version 0.0.4).
std::string inspector_metrics(const inspector_model& m);

}  // namespace troupe::detail
