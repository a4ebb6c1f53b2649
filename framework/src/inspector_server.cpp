#include "inspector_server.hpp"

#include "inspector_model.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <spdlog/logger.h>

#include <charconv>
#include <map>
#include <optional>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace troupe::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

// -- documents ----------------------------------------------------------------------------------

namespace {

double ms_of(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }
double us_of(std::uint64_t ns) { return static_cast<double>(ns) / 1e3; }

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

template <class Histogram>
json::object latency(const Histogram& h) {
  return {{"p50_us", us_of(h.quantile(0.5))}, {"p99_us", us_of(h.quantile(0.99))}, {"max_us", us_of(h.max())},
          {"count", h.count()}};
}

json::array ids(const std::vector<std::uint64_t>& v) {
  json::array a;
  for (std::uint64_t x : v) a.emplace_back(x);
  return a;
}

const char* run_kind_name(std::uint8_t k) {
  using trace_format::run_kind;
  switch (static_cast<run_kind>(k)) {
    case run_kind::message: return "message";
    case run_kind::continuation: return "continuation";
    case run_kind::resume: return "resume";
    case run_kind::unreferenced: return "unreferenced";
    case run_kind::idle_check: return "idle_check";
    case run_kind::shutdown: return "shutdown";
    case run_kind::exit_signal: return "exit";
    case run_kind::down_signal: return "down";
    case run_kind::link: return "link";
    case run_kind::unlink: return "unlink";
    case run_kind::monitor: return "monitor";
    case run_kind::demonitor: return "demonitor";
    case run_kind::kill: return "kill";
  }
  return "other";
}

json::object actor_json(const inspected_actor& a, const inspector_snapshot& s, node_id node) {
  const std::uint64_t end = a.alive ? s.now_ns : a.exited_ns;
  json::object o{{"id", a.id},
                 {"name", a.name},
                 {"type", a.type},
                 {"node", hex(node.value)},
                 {"state", a.alive ? "running" : "exited"},
                 {"mailbox", json::object{{"now", a.depth_now}, {"peak", a.depth_peak}}},
                 {"handled", a.handled},
                 {"requests", a.requests},
                 {"threw", a.threw},
                 {"sent", a.sent},
                 {"replies", a.replies},
                 {"handler", latency(a.handler)},
                 {"mailbox_wait", latency(a.wait)},
                 {"age_ms", ms_of(end > a.spawned_ns ? end - a.spawned_ns : 0)},
                 {"idle_ms", a.last_run_ns ? ms_of(s.now_ns > a.last_run_ns ? s.now_ns - a.last_run_ns : 0) : -1.0},
                 {"parent", a.parent},
                 {"children", ids(a.children)},
                 {"links", ids(a.links)},
                 {"monitored_by", ids(a.monitors)}};
  if (!a.alive) o["exit_reason"] = a.exit_reason;
  return o;
}

std::string_view type_name(const inspector_snapshot& s, std::uint64_t key) {
  auto it = s.type_names.find(key);
  return it != s.type_names.end() ? std::string_view(it->second) : std::string_view();
}

}  // namespace

std::string inspector_actors_json(const inspector_model& m, node_id node) {
  const inspector_snapshot s = m.snapshot();
  json::array actors;
  for (const auto& a : s.actors) actors.emplace_back(actor_json(a, s, node));
  std::uint64_t queued = 0, running = 0;
  for (const auto& a : s.actors)
    if (a.alive) {
      ++running;
      queued += a.depth_now;
    }
  json::object o{{"node", hex(node.value)},
                 {"uptime_ms", ms_of(s.now_ns - s.started_ns)},
                 {"running", running},
                 {"queued", queued},
                 {"handled", s.handled},
                 {"spawned", s.spawned},
                 {"exited", s.exited},
                 {"untracked", s.untracked},
                 {"dropped_records", s.dropped_records + s.lost_blocks},
                 {"dead_letters", s.dead_letters_total},
                 {"lints", s.lints.size()},
                 {"actors", std::move(actors)}};
  return json::serialize(o);
}

std::string inspector_actor_json(const inspector_model& m, node_id node, std::uint64_t id) {
  const inspector_snapshot s = m.snapshot(id);
  if (s.actors.empty()) return {};
  const inspected_actor& a = s.actors.front();
  json::object o = actor_json(a, s, node);
  json::array recent;
  for (const auto& r : a.recent) {
    recent.emplace_back(json::object{{"ago_ms", ms_of(s.now_ns > r.start_ns ? s.now_ns - r.start_ns : 0)},
                                     {"kind", run_kind_name(r.kind)},
                                     {"type", type_name(s, r.type)},
                                     {"sender", r.sender},
                                     {"remote_sender", r.remote},
                                     {"request", r.request},
                                     {"threw", r.threw},
                                     {"wait_us", us_of(r.wait_ns)},
                                     {"handler_us", us_of(r.run_ns)},
                                     {"depth", r.depth}});
  }
  o["recent"] = std::move(recent);
  json::array lints;
  for (const auto& l : s.lints)
    if (l.actor == id) lints.emplace_back(json::object{{"kind", l.kind}, {"detail", l.detail}});
  o["lints"] = std::move(lints);
  return json::serialize(o);
}

std::string inspector_topology_json(const inspector_model& m) {
  const inspector_snapshot s = m.snapshot();
  json::array edges;
  for (const auto& e : s.edges)
    edges.emplace_back(
        json::object{{"from", e.from}, {"to", e.to}, {"messages", e.count}, {"per_second", e.per_second}});
  json::array nodes;
  for (const auto& a : s.actors)
    nodes.emplace_back(json::object{{"id", a.id}, {"label", a.name.empty() ? a.type : a.name}, {"alive", a.alive}});
  return json::serialize(json::object{{"actors", std::move(nodes)}, {"edges", std::move(edges)}});
}

std::string inspector_dead_letters_json(const inspector_model& m) {
  const inspector_snapshot s = m.snapshot();
  json::array recent;
  for (auto it = s.dead_letters.rbegin(); it != s.dead_letters.rend(); ++it)
    recent.emplace_back(json::object{{"ago_ms", ms_of(s.now_ns > it->ts_ns ? s.now_ns - it->ts_ns : 0)},
                                     {"receiver", it->receiver},
                                     {"sender", it->sender},
                                     {"type", it->type},
                                     {"reason", it->reason}});
  return json::serialize(json::object{{"total", s.dead_letters_total},
                                      {"per_second", s.dead_letters_per_second},
                                      {"recent", std::move(recent)}});
}

std::string inspector_lints_json(const inspector_model& m) {
  const inspector_snapshot s = m.snapshot();
  json::array lints;
  for (const auto& l : s.lints)
    lints.emplace_back(json::object{{"kind", l.kind},
                                    {"actor", l.actor},
                                    {"detail", l.detail},
                                    {"value", l.value},
                                    {"first_ago_ms", ms_of(s.now_ns > l.since_ns ? s.now_ns - l.since_ns : 0)},
                                    {"last_ago_ms", ms_of(s.now_ns > l.last_ns ? s.now_ns - l.last_ns : 0)}});
  return json::serialize(json::object{{"lints", std::move(lints)}});
}

namespace {

/// A label value in Prometheus' text format: backslash, quote and newline escaped.
std::string label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void metric_head(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template <class V>
void sample(std::string& out, std::string_view name, std::string_view labels, V v) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  if constexpr (std::is_floating_point_v<V>) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    out += buf;
  } else {
    out += std::to_string(v);
  }
  out += '\n';
}

/// Bucket bounds in seconds, each an edge of duration_histogram's buckets (so counts are exact).
constexpr std::uint64_t prometheus_bounds_ns[] = {1024, 8192, 65536, 524288, 4194304, 33554432, 268435456,
                                                  2147483648ull, 17179869184ull};

void histogram(std::string& out, const char* name, const std::string& labels, const wide_duration_histogram& h) {
  for (std::uint64_t b : prometheus_bounds_ns) {
    char le[48];
    std::snprintf(le, sizeof le, "le=\"%.9g\"", static_cast<double>(b) / 1e9);
    sample(out, std::string(name) + "_bucket", labels + "," + le, h.at_most(b));
  }
  sample(out, std::string(name) + "_bucket", labels + ",le=\"+Inf\"", h.count());
  sample(out, std::string(name) + "_sum", labels, static_cast<double>(h.sum()) / 1e9);
  sample(out, std::string(name) + "_count", labels, h.count());
}

}  // namespace

std::string inspector_metrics(const inspector_model& m) {
  inspector_snapshot s = m.snapshot();
  std::string out;
  std::uint64_t running = 0, queued = 0;
  for (const auto& a : s.actors)
    if (a.alive) {
      ++running;
      queued += a.depth_now;
    }
  metric_head(out, "troupe_actors_running", "gauge", "Actors running now (followed ones).");
  sample(out, "troupe_actors_running", "", running);
  metric_head(out, "troupe_actors_spawned_total", "counter", "Actors spawned.");
  sample(out, "troupe_actors_spawned_total", "", s.spawned);
  metric_head(out, "troupe_actors_exited_total", "counter", "Actors that exited.");
  sample(out, "troupe_actors_exited_total", "", s.exited);
  metric_head(out, "troupe_messages_processed_total", "counter", "Runs of actors: messages, continuations, signals.");
  sample(out, "troupe_messages_processed_total", "", s.handled);
  metric_head(out, "troupe_queued_messages", "gauge", "Messages waiting in the mailboxes of running actors.");
  sample(out, "troupe_queued_messages", "", queued);
  metric_head(out, "troupe_dead_letters_total", "counter", "Messages that reached no handler or no live actor.");
  sample(out, "troupe_dead_letters_total", "", s.dead_letters_total);
  metric_head(out, "troupe_unobserved_failures_total", "counter",
              "Failed futures dropped without anyone looking at their result.");
  sample(out, "troupe_unobserved_failures_total", "", s.unobserved_failures);
  metric_head(out, "troupe_inspector_dropped_records_total", "counter",
              "Records the threads dropped (their buffer was full), or blocks the inspector lost: what it never saw.");
  sample(out, "troupe_inspector_dropped_records_total", "", s.dropped_records + s.lost_blocks);
  metric_head(out, "troupe_lints", "gauge", "Lints active now (see /api/lints).");
  sample(out, "troupe_lints", "", s.lints.size());

  // (A group an actor only passed through, before it was named, is left out.)
  std::erase_if(s.groups, [](const auto& g) { return g.second.actors == 0 && g.second.handled == 0; });
  metric_head(out, "troupe_actor_mailbox_size", "gauge", "Messages queued, per actor type or named actor.");
  std::map<std::string_view, std::uint64_t> depth;  // (one pass over the actors)
  for (const auto& a : s.actors)
    if (a.alive) depth[a.name.empty() ? std::string_view(a.type) : std::string_view(a.name)] += a.depth_now;
  for (const auto& [g, v] : s.groups) sample(out, "troupe_actor_mailbox_size", "actor=\"" + label(g) + "\"", depth[g]);
  metric_head(out, "troupe_actor_running", "gauge", "Actors running, per actor type or named actor.");
  for (const auto& [g, v] : s.groups) sample(out, "troupe_actor_running", "actor=\"" + label(g) + "\"", v.running);
  metric_head(out, "troupe_actor_handler_seconds", "histogram", "How long handlers ran, per actor type or named actor.");
  for (const auto& [g, v] : s.groups) histogram(out, "troupe_actor_handler_seconds", "actor=\"" + label(g) + "\"", v.handler);
  metric_head(out, "troupe_actor_mailbox_wait_seconds", "histogram",
              "How long messages waited in mailboxes, per actor type or named actor.");
  for (const auto& [g, v] : s.groups)
    histogram(out, "troupe_actor_mailbox_wait_seconds", "actor=\"" + label(g) + "\"", v.wait);
  return out;
}

// -- the server ---------------------------------------------------------------------------------

namespace {

std::string random_token() {
  std::random_device rd;
  std::uint64_t a = (std::uint64_t{rd()} << 32) | rd(), b = (std::uint64_t{rd()} << 32) | rd();
  return hex(a) + hex(b);
}

/// "HOST:PORT" (HOST may be [v6]).
tcp::endpoint parse_listen(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::invalid_argument("troupe inspector: \"" + s + "\" is not HOST:PORT");
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const char* p = s.data() + colon + 1;
  const char* end = s.data() + s.size();
  auto [at, ec] = std::from_chars(p, end, port);
  if (ec != std::errc() || at != end || port > 65535 || p == end)
    throw std::invalid_argument("troupe inspector: \"" + s + "\" has no valid port");
  boost::system::error_code bad;
  const auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, bad);
  if (bad) throw std::invalid_argument("troupe inspector: \"" + host + "\" is not an IP address");
  return {address, static_cast<unsigned short>(port)};
}

/// Compares tokens in time that depends on their length only (not on where they differ).
bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = static_cast<unsigned char>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

/// The value of `name` in a query string, or empty.
std::string_view query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace

// Ownership: impl owns the io_context, whose pending handlers own the sessions; sessions refer
// to impl by a plain pointer. Stopping joins the thread; destroying impl then destroys the
// io_context, and with it every pending handler and session (closing their sockets).
struct inspector_server::impl {
  impl(const inspect_config& c, inspector_model& m, node_id n, spdlog::logger& l, std::function<void(std::string&)> more)
      : cfg(c), model(m), node(n), log(l), more_metrics(std::move(more)), acceptor(io),
        token(c.token.empty() ? random_token() : c.token) {}

  inspect_config cfg;
  inspector_model& model;
  node_id node;
  spdlog::logger& log;
  std::function<void(std::string&)> more_metrics;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::string token;
  std::string address;  // "http://HOST:PORT/" (set before the thread starts)
  std::thread thread;
  // Sessions open now (the server's thread only): past max_sessions, a new connection is
  // closed at once; an accept that fails (no file descriptors left) waits a little first.
  static constexpr int max_sessions = 64;
  int sessions = 0;
  asio::steady_timer accept_pause{io};

  void accept() {
    acceptor.async_accept(io, [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (ec) {  // (EMFILE, say: retrying at once would spin)
        accept_pause.expires_after(std::chrono::milliseconds(100));
        accept_pause.async_wait([this](beast::error_code e) {
          if (!e) accept();
        });
        return;
      }
      if (sessions < max_sessions) std::make_shared<session>(this, std::move(s))->read();
      accept();  // (over the cap, `s` closes here)
    });
  }

  struct session : std::enable_shared_from_this<session> {
    session(impl* o, tcp::socket s) : owner(o), stream(std::move(s)), timer(stream.get_executor()) { ++owner->sessions; }
    ~session() { --owner->sessions; }
    impl* owner;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::optional<http::request_parser<http::string_body>> parser;
    asio::steady_timer timer;  // the live stream's clock
    std::string event;         // the live stream's frame being written

    void read() {
      parser.emplace();
      parser->body_limit(4 * 1024);  // (only GET is served: a body is never needed)
      parser->header_limit(16 * 1024);
      stream.expires_after(std::chrono::seconds(30));
      http::async_read(stream, buffer, *parser, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return self->close();
        self->respond(self->parser->release());
      });
    }

    void close() {
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.close();
    }

    template <class Body>
    void send(http::response<Body> res, bool keep_alive) {
      res.set(http::field::server, "troupe-inspector");
      res.set(http::field::cache_control, "no-store");
      res.keep_alive(keep_alive);
      res.prepare_payload();
      auto r = std::make_shared<http::response<Body>>(std::move(res));
      http::async_write(stream, *r, [self = shared_from_this(), r, keep_alive](beast::error_code ec, std::size_t) {
        if (ec || !keep_alive) return self->close();
        self->read();
      });
    }

    void reply(http::status status, std::string body, const char* type, bool keep_alive) {
      http::response<http::string_body> res{status, 11};
      if (status == http::status::unauthorized) res.set(http::field::www_authenticate, "Bearer");
      if (type) res.set(http::field::content_type, type);
      res.body() = std::move(body);
      send(std::move(res), keep_alive);
    }

    bool authorized(const http::request<http::string_body>& req, std::string_view query) const {
      const std::string& want = owner->token;
      auto auth = req.find(http::field::authorization);
      if (auth != req.end()) {
        const std::string_view v(auth->value().data(), auth->value().size());
        if (v.size() > 7 && v.substr(0, 7) == "Bearer " && same(v.substr(7), want)) return true;
      }
      const std::string_view q = query_param(query, "token");
      return !q.empty() && same(q, want);
    }

    void respond(http::request<http::string_body> req) {
      const bool keep = req.keep_alive();
      const std::string_view target(req.target().data(), req.target().size());
      const auto qmark = target.find('?');
      const std::string_view path = target.substr(0, qmark);
      const std::string_view query = qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
      if (!authorized(req, query)) return reply(http::status::unauthorized, "", nullptr, keep);
      if (req.method() != http::verb::get)
        return reply(http::status::method_not_allowed, "only GET\n", "text/plain", keep);
      const inspector_model& m = owner->model;
      constexpr const char* json_type = "application/json";
      try {
        if (path == "/api/actors") return reply(http::status::ok, inspector_actors_json(m, owner->node), json_type, keep);
        if (path.starts_with("/api/actors/")) {
          std::uint64_t id = 0;
          const std::string_view digits = path.substr(12);
          auto [at, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
          std::string body;
          if (ec == std::errc() && at == digits.data() + digits.size() && id != 0)
            body = inspector_actor_json(m, owner->node, id);
          if (body.empty()) return reply(http::status::not_found, "{\"error\":\"no such actor\"}", json_type, keep);
          return reply(http::status::ok, std::move(body), json_type, keep);
        }
        if (path == "/api/topology") return reply(http::status::ok, inspector_topology_json(m), json_type, keep);
        if (path == "/api/dead_letters") return reply(http::status::ok, inspector_dead_letters_json(m), json_type, keep);
        if (path == "/api/lints") return reply(http::status::ok, inspector_lints_json(m), json_type, keep);
        if (path == "/metrics") {
          std::string text = inspector_metrics(m);
          if (owner->more_metrics) owner->more_metrics(text);
          return reply(http::status::ok, std::move(text), "text/plain; version=0.0.4; charset=utf-8", keep);
        }
        if (path == "/api/events") return start_events();
        const std::string_view file = path == "/" ? "/index.html" : path;
        for (std::size_t i = 0; i < inspector_asset_count; ++i)
          if (file == inspector_assets[i].path)
            return reply(http::status::ok, std::string(inspector_assets[i].body), inspector_assets[i].content_type, keep);
        return reply(http::status::not_found, "not found\n", "text/plain", keep);
      } catch (const std::exception& e) {
        return reply(http::status::internal_server_error, std::string(e.what()) + "\n", "text/plain", false);
      }
    }

    // The live stream: server-sent events, one "update" a second (the actors and the lints)
    // while the client stays; the timer runs only while someone watches.
    void start_events() {
      stream.expires_never();
      auto res = std::make_shared<http::response<http::empty_body>>(http::status::ok, 11);
      res->set(http::field::server, "troupe-inspector");
      res->set(http::field::content_type, "text/event-stream");
      res->set(http::field::cache_control, "no-store");
      res->chunked(false);
      res->keep_alive(false);
      auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
      http::async_write_header(stream, *sr, [self = shared_from_this(), res, sr](beast::error_code ec, std::size_t) {
        if (ec) return self->close();
        self->push_event();
      });
    }

    void push_event() {
      try {
        event = "event: update\ndata: {\"actors\":" + inspector_actors_json(owner->model, owner->node) +
                ",\"lints\":" + inspector_lints_json(owner->model) + "}\n\n";
      } catch (...) {
        return close();
      }
      stream.expires_after(std::chrono::seconds(10));  // (a client that stops reading goes)
      asio::async_write(stream, asio::buffer(event), [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return self->close();
        self->stream.expires_never();
        self->timer.expires_after(std::chrono::seconds(1));
        self->timer.async_wait([self](beast::error_code e) {
          if (e) return self->close();
          self->push_event();
        });
      });
    }
  };
};

inspector_server::inspector_server(const inspect_config& cfg, std::string listen, inspector_model& model, node_id node,
                                   spdlog::logger& log, std::function<void(std::string&)> more_metrics)
    : impl_(std::make_unique<impl>(cfg, model, node, log, std::move(more_metrics))) {
  const tcp::endpoint at = parse_listen(listen);
  impl& i = *impl_;
  try {
    i.acceptor.open(at.protocol());
    i.acceptor.set_option(asio::socket_base::reuse_address(true));
    i.acceptor.bind(at);
    i.acceptor.listen();
  } catch (const boost::system::system_error& e) {  // (as the standard's error: the port is taken...)
    throw std::system_error(std::error_code(e.code()), "troupe inspector: cannot listen on " + listen);
  }
  {
    const auto ep = i.acceptor.local_endpoint();
    const std::string host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
    i.address = "http://" + host + ":" + std::to_string(ep.port()) + "/";  // (before the thread starts)
  }
  i.accept();
  i.thread = std::thread([&i] {
    for (;;) {
      try {
        i.io.run();
        return;
      } catch (const std::exception& e) {
        i.log.error("troupe inspector: {}", e.what());
      }
    }
  });
  // At warn, so that it shows by default: whoever has this address sees the system.
  try {
    log.warn("troupe inspector: {}?token={}", i.address, i.token);
  } catch (...) {  // (a failing log sink: the address is still in actor_system::inspector_url())
  }
}

inspector_server::~inspector_server() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}  // (then impl goes: see its ownership note)

std::string inspector_server::address() const { return impl_->address; }

const std::string& inspector_server::token() const noexcept { return impl_->token; }

}  // namespace troupe::detail
