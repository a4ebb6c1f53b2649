// The inspector (troupe/inspect.hpp, docs/inspector.md): its live model, fed records as the
// recorder hands them over (white-box: framework/src/inspector_model.hpp), and its HTTP
// endpoint on a real system (token, JSON API, live stream, /metrics).
#include <support/test_actors.hpp>

#include "inspector_model.hpp"
#include "inspector_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace troupe;
using namespace troupe::test;
namespace tf = troupe::trace_format;
namespace json = boost::json;

namespace {

constexpr std::uint64_t ms = 1'000'000;

// -- feeding the model --------------------------------------------------------------------------

/// Records one thread writes, encoded as the recorder encodes them.
class records {
 public:
  records& type(std::uint64_t key, std::string_view text) {
    tf::type_def_record r{};
    r.h = {tf::kind::type_def, 0, 0, static_cast<std::uint32_t>(text.size())};
    r.type = key;
    return put(r, text);
  }
  records& spawn(std::uint64_t actor, std::uint64_t parent, std::string_view type, std::uint64_t ts) {
    return actor_rec(tf::kind::spawn, actor, parent, type, ts);
  }
  records& name(std::uint64_t actor, std::string_view text) { return actor_rec(tf::kind::name, actor, 0, text, 0); }
  records& exit(std::uint64_t actor, tf::exit_category c, std::string_view why, std::uint64_t ts) {
    return actor_rec(tf::kind::exit, actor, 0, why, ts, static_cast<std::uint8_t>(c));
  }
  /// A message from `sender` to `actor` sent at `sent`, run from `start` for `run_ns`, with
  /// `depth` messages in the mailbox at its start (itself included).
  records& run(std::uint64_t actor, std::uint64_t sender, std::uint64_t type, std::uint64_t sent, std::uint64_t start,
               std::uint64_t run_ns, std::uint32_t depth = 1, tf::run_kind k = tf::run_kind::message) {
    tf::handled_record r{};
    r.h.flags = 0;
    r.h.aux = depth;
    r.depth_left = depth - 1;
    r.ekind = static_cast<std::uint8_t>(k);
    r.id = ++run_id_;
    r.actor = actor;
    r.sender = sender;
    r.type = type;
    r.sent = sent;
    r.start = start;
    r.end = start + run_ns;
    unsigned char buf[tf::run_codec::max_size];
    const std::size_t n = codec_.encode(r, first_run_, buf);
    first_run_ = false;
    bytes_.insert(bytes_.end(), reinterpret_cast<std::byte*>(buf), reinterpret_cast<std::byte*>(buf) + n);
    return *this;
  }
  records& dead_letter(std::uint64_t receiver, std::uint64_t ts) {
    tf::dead_letter_record r{};
    r.h = {tf::kind::dead_letter, 0, 0, static_cast<std::uint32_t>(tf::dead_letter_reason::not_alive)};
    r.ts = ts;
    r.actor = receiver;
    return put(r, {});
  }
  /// `actor` answered (or, with `timeout`, the timer failed) a request made at `sent`, with
  /// `left_ns` of its timeout left.
  records& reply(std::uint64_t actor, std::uint64_t sent, std::uint64_t ts, std::uint64_t left_ns, bool timeout = false) {
    struct {
      tf::reply_record r;
      std::uint64_t left;
    } x{};
    x.r.h = {timeout ? tf::kind::timeout : tf::kind::reply, tf::reply_left_flag, sizeof x, 0};
    x.r.ts = ts;
    x.r.actor = actor;
    x.r.trace = 1;
    x.r.sent = sent;
    x.left = left_ns;
    const auto* p = reinterpret_cast<const std::byte*>(&x);
    bytes_.insert(bytes_.end(), p, p + sizeof x);
    return *this;
  }
  records& unobserved(std::uint64_t actor, std::string_view text, std::uint64_t ts) {
    tf::point_record r{};
    r.h = {tf::kind::unobserved, static_cast<std::uint8_t>(errc::timeout), 0, static_cast<std::uint32_t>(text.size())};
    r.ts = ts;
    r.actor = actor;
    return put(r, text);
  }

  /// Hands what was written so far to `m` as one block of thread `thread`.
  void feed(detail::inspector_model& m, std::uint32_t thread = 1) {
    m.on_block(thread, 0, bytes_.data(), bytes_.size());
    bytes_.clear();
  }

 private:
  template <class R>
  records& put(R r, std::string_view text) {
    r.h.size = static_cast<std::uint16_t>(sizeof r + tf::padded(text.size()));
    const auto* p = reinterpret_cast<const std::byte*>(&r);
    bytes_.insert(bytes_.end(), p, p + sizeof r);
    const auto* t = reinterpret_cast<const std::byte*>(text.data());
    bytes_.insert(bytes_.end(), t, t + text.size());
    bytes_.resize(bytes_.size() + (tf::padded(text.size()) - text.size()), std::byte{0});
    return *this;
  }
  records& actor_rec(tf::kind k, std::uint64_t actor, std::uint64_t other, std::string_view text, std::uint64_t ts,
                     std::uint8_t flags = 0) {
    tf::actor_record r{};
    r.h = {k, flags, 0, static_cast<std::uint32_t>(text.size())};
    r.ts = ts;
    r.actor = actor;
    r.other = other;
    return put(r, text);
  }

  std::vector<std::byte> bytes_;
  tf::run_codec codec_;
  bool first_run_ = true;
  std::uint64_t run_id_ = 0;
};

const detail::inspected_actor* find(const detail::inspector_snapshot& s, std::uint64_t id) {
  for (const auto& a : s.actors)
    if (a.id == id) return &a;
  return nullptr;
}

const detail::inspected_lint* lint(const detail::inspector_snapshot& s, std::string_view kind, std::uint64_t actor) {
  for (const auto& l : s.lints)
    if (l.kind == kind && l.actor == actor) return &l;
  return nullptr;
}

constexpr std::uint64_t t0 = 1'000'000'000;  // the test clock's start

}  // namespace

TEST_CASE("the inspector's histogram gives quantiles within a quarter octave and exact Prometheus buckets") {
  detail::duration_histogram h;
  for (std::uint64_t i = 1; i <= 1000; ++i) h.add(i * 1000);  // 1 us .. 1 ms, uniform
  CHECK(h.count() == 1000);
  CHECK(h.max() == 1'000'000);
  const double p50 = static_cast<double>(h.quantile(0.5)), p99 = static_cast<double>(h.quantile(0.99));
  CHECK(p50 >= 500'000);
  CHECK(p50 <= 500'000 * 1.19);
  CHECK(p99 >= 990'000);
  CHECK(p99 <= 1'000'000);  // (never above the maximum seen)
  // Bucket edges are exact: 65536 ns is one.
  CHECK(h.at_most(65536) == 65);
  CHECK(detail::duration_buckets::upper_edge(detail::duration_buckets::bucket_of(65536)) == 65536);
  detail::duration_histogram empty;
  CHECK(empty.quantile(0.5) == 0);
  h.merge(h);
  CHECK(h.count() == 2000);
}

TEST_CASE("the inspector's model follows spawns, names, runs, links and exits") {
  inspect_config cfg;
  detail::inspector_model m(cfg, t0);
  records r;
  r.type(11, "ping").spawn(1, 0, "app::client", t0).spawn(2, 1, "app::server", t0 + 1).name(2, "server");
  for (int i = 0; i < 10; ++i) r.run(2, 1, 11, t0 + 100 * ms, t0 + 100 * ms + 2000, 5000 + 1000 * static_cast<std::uint64_t>(i), 3);
  r.run(2, 1, 0, t0 + 200 * ms, t0 + 200 * ms, 10, 1, tf::run_kind::link);
  r.run(2, 7, 0, t0 + 200 * ms, t0 + 200 * ms, 10, 1, tf::run_kind::monitor);
  r.feed(m);
  m.on_drained_at(t0 + 500 * ms);

  auto s = m.snapshot();
  REQUIRE(s.actors.size() == 2);
  const auto* client = find(s, 1);
  const auto* server = find(s, 2);
  REQUIRE(client);
  REQUIRE(server);
  CHECK(server->name == "server");
  CHECK(server->type == "app::server");
  CHECK(server->parent == 1);
  CHECK(client->children == std::vector<std::uint64_t>{2});
  CHECK(server->handled == 12);
  CHECK(server->depth_peak == 3);
  CHECK(server->wait.count() == 10);
  CHECK(server->wait.quantile(0.5) == 2000);  // (its bucket's upper edge, 2048, capped by the maximum)
  CHECK(server->handler.max() == 14000);
  CHECK(server->links == std::vector<std::uint64_t>{1});
  CHECK(server->monitors == std::vector<std::uint64_t>{7});
  CHECK(client->sent == 10);  // (signals are not messages sent)
  REQUIRE(s.edges.size() == 1);
  CHECK(s.edges[0].from == 1);
  CHECK(s.edges[0].to == 2);
  CHECK(s.edges[0].count == 10);
  CHECK(s.groups.at("server").handled == 12);
  CHECK(s.groups.at("app::client").actors == 1);

  // The detail view keeps the recent runs, with their type keys' names.
  auto d = m.snapshot(2);
  REQUIRE(d.actors.size() == 1);
  CHECK(d.actors[0].recent.size() == 12);
  CHECK(d.type_names.at(11) == "ping");

  r.exit(2, tf::exit_category::error, "boom", t0 + 600 * ms).feed(m);
  s = m.snapshot();
  CHECK_FALSE(find(s, 2)->alive);
  CHECK(find(s, 2)->exit_reason == "boom");
  CHECK(s.groups.at("server").running == 0);
  CHECK(s.exited == 1);
}

TEST_CASE("the inspector's model orders an actor's runs by time, whichever worker's ring comes first") {
  inspect_config cfg;
  detail::inspector_model m(cfg, t0);
  records a, b;
  a.spawn(1, 0, "app::busy", t0).feed(m, 1);
  // The actor ran on worker 2 last (its mailbox empty by then); worker 2's ring is drained first.
  b.run(1, 0, 0, t0 + 20 * ms, t0 + 20 * ms, 10, 1).feed(m, 2);
  a.run(1, 0, 0, t0 + 10 * ms, t0 + 10 * ms, 10, 50).feed(m, 1);
  const auto d = m.snapshot(1);
  REQUIRE(d.actors.size() == 1);
  CHECK(d.actors[0].depth_now == 0);
  CHECK(d.actors[0].depth_peak == 50);
  REQUIRE(d.actors[0].recent.size() == 2);
  CHECK(d.actors[0].recent[0].start_ns == t0 + 10 * ms);
  CHECK(d.actors[0].recent[1].start_ns == t0 + 20 * ms);
  CHECK(d.actors[0].last_run_ns == t0 + 20 * ms + 10);
}

TEST_CASE("the inspector's model is bounded: actors followed, exited actors kept, recent runs") {
  inspect_config cfg;
  cfg.max_actors = 10;
  cfg.keep_exited = 3;
  cfg.recent_runs = 4;
  detail::inspector_model m(cfg, t0);
  records r;
  for (std::uint64_t a = 1; a <= 20; ++a) r.spawn(a, 0, "worker", t0);
  for (int i = 0; i < 9; ++i) r.run(1, 0, 0, t0, t0 + 10, 10);
  for (std::uint64_t a = 2; a <= 8; ++a) r.exit(a, tf::exit_category::normal, "", t0 + 20);
  r.feed(m);
  auto s = m.snapshot();
  CHECK(s.spawned == 20);
  CHECK(s.untracked == 10);
  CHECK(s.actors.size() == 3 + 3);  // 1, 9, 10 running; the last 3 of the 7 exited
  CHECK(find(s, 8));
  CHECK_FALSE(find(s, 2));
  CHECK(m.snapshot(1).actors[0].recent.size() == 4);
  CHECK(m.snapshot(1).actors[0].handled == 9);
}

TEST_CASE("inspector lint: a handler that ran longer than the threshold blocked its worker") {
  inspect_config cfg;
  cfg.slow_handler = std::chrono::milliseconds(100);
  detail::inspector_model m(cfg, t0);
  records r;
  r.type(5, "job").spawn(1, 0, "app::slow", t0).spawn(2, 0, "app::quick", t0);
  r.run(1, 0, 5, t0, t0, 150 * ms).run(2, 0, 5, t0, t0, 99 * ms).feed(m);
  auto s = m.snapshot();
  const auto* l = lint(s, "slow_handler", 1);
  REQUIRE(l);
  CHECK(l->value == Approx(150.0));
  CHECK(l->detail.find("app::slow") != std::string::npos);
  CHECK(l->detail.find("job") != std::string::npos);
  CHECK_FALSE(lint(s, "slow_handler", 2));
  // It stays shown a minute after it last fired, then goes.
  m.on_drained_at(t0 + 30'000 * ms);
  CHECK(lint(m.snapshot(), "slow_handler", 1));
  m.on_drained_at(t0 + 61'000 * ms);
  CHECK_FALSE(lint(m.snapshot(), "slow_handler", 1));
}

TEST_CASE("inspector lint: a mailbox that grows at every tick past the limit") {
  inspect_config cfg;
  cfg.growing_mailbox = 100;
  detail::inspector_model m(cfg, t0);
  records r;
  r.spawn(1, 0, "app::sink", t0).spawn(2, 0, "app::steady", t0).feed(m);
  for (std::uint32_t tick = 1; tick <= 6; ++tick) {
    const std::uint64_t now = t0 + tick * 1000 * ms;
    r.run(1, 0, 0, now - 10, now - 10, 5, 60 * tick);  // 60, 120, ... 360: growing
    r.run(2, 0, 0, now - 10, now - 10, 5, 500);         // deep but not growing
    r.feed(m);
    m.on_drained_at(now);
    if (tick < 6) CHECK_FALSE(lint(m.snapshot(), "growing_mailbox", 1));
  }
  auto s = m.snapshot();
  REQUIRE(lint(s, "growing_mailbox", 1));
  CHECK(lint(s, "growing_mailbox", 1)->value == Approx(359));  // (depth_left: the others queued)
  CHECK_FALSE(lint(s, "growing_mailbox", 2));
}

TEST_CASE("inspector lint: dead letters per second above the threshold") {
  inspect_config cfg;
  cfg.dead_letters_per_second = 10;
  detail::inspector_model m(cfg, t0);
  records r;
  for (int i = 0; i < 5; ++i) r.dead_letter(9, t0 + 1);
  r.feed(m);
  m.on_drained_at(t0 + 1000 * ms);
  CHECK_FALSE(lint(m.snapshot(), "dead_letters", 0));
  for (int i = 0; i < 50; ++i) r.dead_letter(9, t0 + 1500 * ms);
  r.feed(m);
  m.on_drained_at(t0 + 2000 * ms);
  auto s = m.snapshot();
  REQUIRE(lint(s, "dead_letters", 0));
  CHECK(s.dead_letters_per_second == Approx(50));
  CHECK(s.dead_letters_total == 55);
  CHECK(s.dead_letters.size() == 55);
  CHECK(s.dead_letters.back().reason == "not alive");
}

TEST_CASE("inspector lint: a restart storm under a supervisor") {
  inspect_config cfg;
  cfg.restart_storm = 5;
  cfg.restart_window = std::chrono::seconds(10);
  detail::inspector_model m(cfg, t0);
  records r;
  r.spawn(1, 0, "sup", t0).spawn(2, 0, "calm_sup", t0);
  std::uint64_t id = 10;
  // Four failures under the calm supervisor spread over a minute; five within a second under sup.
  for (int i = 0; i < 4; ++i) {
    ++id;
    r.spawn(id, 2, "child", t0).exit(id, tf::exit_category::error, "crash", t0 + static_cast<std::uint64_t>(i) * 15'000 * ms);
  }
  for (int i = 0; i < 5; ++i) {
    ++id;
    r.spawn(id, 1, "child", t0).exit(id, tf::exit_category::error, "crash", t0 + static_cast<std::uint64_t>(i) * 100 * ms);
  }
  r.feed(m);
  auto s = m.snapshot();
  REQUIRE(lint(s, "restart_storm", 1));
  CHECK(lint(s, "restart_storm", 1)->value == Approx(5));
  CHECK_FALSE(lint(s, "restart_storm", 2));
}

TEST_CASE("the inspector's model takes an exit drained before its actor's spawn (another thread's ring)") {
  inspect_config cfg;
  cfg.restart_storm = 3;
  detail::inspector_model m(cfg, t0);
  records spawner, children;
  spawner.spawn(1, 0, "sup", t0).feed(m, 1);
  // The children run and fail on thread 2; its ring is drained before thread 1's spawns.
  for (std::uint64_t c = 10; c < 13; ++c) children.exit(c, tf::exit_category::error, "crash", t0 + 50 * ms - c);
  children.feed(m, 2);
  for (std::uint64_t c = 10; c < 13; ++c) spawner.spawn(c, 1, "child", t0 + c);
  spawner.feed(m, 1);
  auto s = m.snapshot();
  for (std::uint64_t c = 10; c < 13; ++c) {
    REQUIRE(find(s, c));
    CHECK_FALSE(find(s, c)->alive);
    CHECK(find(s, c)->exit_reason == "crash");
  }
  CHECK(s.groups.at("child").running == 0);
  CHECK(lint(s, "restart_storm", 1));
}

TEST_CASE("inspector lint: an actor that only receives and never finishes") {
  inspect_config cfg;
  cfg.idle_leak = std::chrono::seconds(60);
  detail::inspector_model m(cfg, t0);
  records r;
  r.spawn(1, 0, "app::hoarder", t0).spawn(2, 0, "app::worker", t0).spawn(3, 0, "app::never_ran", t0);
  r.run(1, 2, 0, t0 + 1, t0 + 1, 5).run(2, 1, 0, t0 + 2, t0 + 2, 5);  // 2 receives and sends; 1 sends too...
  r.run(1, 0, 0, t0 + 3, t0 + 3, 5);
  r.feed(m);
  m.on_drained_at(t0 + 30'000 * ms);
  CHECK(m.snapshot().lints.empty());  // not old enough
  // A fresh actor that only receives: 4 gets messages from 2 and never sends.
  r.spawn(4, 0, "app::sink", t0).run(4, 2, 0, t0 + 4, t0 + 4, 5).run(4, 2, 0, t0 + 5, t0 + 5, 5).feed(m);
  m.on_drained_at(t0 + 61'000 * ms);
  auto s = m.snapshot();
  REQUIRE(lint(s, "idle_leak", 4));
  CHECK(lint(s, "idle_leak", 4)->value == Approx(2));
  CHECK_FALSE(lint(s, "idle_leak", 1));  // it sent
  CHECK_FALSE(lint(s, "idle_leak", 2));
  CHECK_FALSE(lint(s, "idle_leak", 3));  // it never received anything
}

TEST_CASE("inspector lint: a request answered after more than half its timeout, or timed out") {
  inspect_config cfg;
  cfg.slow_request = 0.5;
  detail::inspector_model m(cfg, t0);
  records r;
  r.spawn(1, 0, "app::ledger", t0).spawn(2, 0, "app::cache", t0);
  r.reply(1, t0, t0 + 700 * ms, 300 * ms);  // 70% of a 1 s timeout
  r.reply(2, t0, t0 + 400 * ms, 600 * ms);  // 40%
  r.feed(m);
  auto s = m.snapshot();
  REQUIRE(lint(s, "slow_request", 1));
  CHECK(lint(s, "slow_request", 1)->value == Approx(70));
  CHECK(lint(s, "slow_request", 1)->detail.find("app::ledger answered a request after 70% of its timeout") == 0);
  CHECK_FALSE(lint(s, "slow_request", 2));
  CHECK(find(s, 1)->replies == 1);
  r.reply(0, t0, t0 + 2000 * ms, 0, true).feed(m);
  REQUIRE(lint(m.snapshot(), "slow_request", 0));
  CHECK(lint(m.snapshot(), "slow_request", 0)->detail.find("timed out") != std::string::npos);
}

TEST_CASE("inspector lint: a failed future dropped without anyone looking") {
  inspect_config cfg;
  detail::inspector_model m(cfg, t0);
  records r;
  r.spawn(1, 0, "app::careless", t0).unobserved(1, "request timed out", t0 + 5).feed(m);
  auto s = m.snapshot();
  REQUIRE(lint(s, "unobserved_failure", 1));
  CHECK(lint(s, "unobserved_failure", 1)->detail.find("request timed out") != std::string::npos);
  CHECK(s.unobserved_failures == 1);
}

// -- the endpoint -------------------------------------------------------------------------------

namespace {

struct http_reply {
  int status = 0;
  std::string content_type;
  std::string body;
};

/// "http://HOST:PORT/?token=T" -> port and token.
std::pair<unsigned short, std::string> parse_url(const std::string& url) {
  const auto colon = url.rfind(':');
  const auto slash = url.find('/', colon);
  const auto port = static_cast<unsigned short>(std::stoi(url.substr(colon + 1, slash - colon - 1)));
  return {port, url.substr(url.find("token=") + 6)};
}

http_reply get(unsigned short port, const std::string& target, const std::string& bearer = {},
               boost::beast::http::verb verb = boost::beast::http::verb::get) {
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  boost::beast::error_code ignored;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  return {static_cast<int>(res.result_int()), std::string(res[http::field::content_type]), res.body()};
}

actor_system_config inspected() {
  auto cfg = two_workers();
  cfg.inspect.listen = "127.0.0.1:0";
  return cfg;
}

struct question {
  int n;
};
struct answer {
  int n;
};

}  // namespace

TEST_CASE("the inspector refuses a missing or wrong token with 401 and nothing else") {
  actor_system sys{inspected()};
  const std::string url = sys.inspector_url();
  REQUIRE(url.rfind("http://127.0.0.1:", 0) == 0);
  const auto [port, token] = parse_url(url);
  CHECK(token.size() == 32);  // a random 128-bit token
  for (const char* target : {"/api/actors", "/metrics", "/", "/api/events", "/nothing"}) {
    INFO(target);
    auto r = get(port, target);
    CHECK(r.status == 401);
    CHECK(r.body.empty());
    r = get(port, target, "wrong");
    CHECK(r.status == 401);
    CHECK(r.body.empty());
    r = get(port, std::string(target) + "?token=" + token.substr(1));
    CHECK(r.status == 401);
  }
  CHECK(get(port, "/api/actors", token).status == 200);
  CHECK(get(port, "/api/actors?token=" + token).status == 200);
  CHECK(get(port, "/nothing", token).status == 404);
  CHECK(get(port, "/api/actors", token, boost::beast::http::verb::post).status == 405);
}

TEST_CASE("the inspector takes the token from the config") {
  auto cfg = inspected();
  cfg.inspect.token = "s3cret";
  actor_system sys{cfg};
  const auto [port, token] = parse_url(sys.inspector_url());
  CHECK(token == "s3cret");
  CHECK(get(port, "/metrics", "s3cret").status == 200);
  CHECK(get(port, "/metrics", "s3cre").status == 401);
}

TEST_CASE("the inspector's JSON API shows the actors, their messages and who talks to whom") {
  actor_system sys{inspected()};
  const auto [port, token] = parse_url(sys.inspector_url());
  auto server = sys.spawn([](actor_base& self) -> behavior {
    self.set_name("echo");
    return {[](question q) { return answer{q.n}; }};
  });
  auto client = sys.spawn([server](actor_base& self) -> behavior {
    self.set_name("asker");
    return {[&self, server](int n) -> task<int> {
      int sum = 0;
      for (int i = 0; i < n; ++i) {
        auto r = co_await self.request<answer>(server, question{i});
        if (r) sum += r->n;
      }
      co_return sum;
    }};
  });
  REQUIRE(request<int>(client, 25).get().value() == 300);
  const actor_id server_id = server.id(), client_id = client.id();
  sys.shutdown();  // (its last drain: everything above is in the model now)

  auto r = get(port, "/api/actors", token);
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/json");
  const json::value doc = json::parse(r.body);
  const json::array& actors = doc.at("actors").as_array();
  const json::object* echo = nullptr;
  for (const auto& a : actors)
    if (a.at("name") == "echo") echo = &a.as_object();
  REQUIRE(echo);
  CHECK(echo->at("id").to_number<std::uint64_t>() == server_id);
  CHECK(echo->at("handled").to_number<std::uint64_t>() >= 25);  // (+ its shutdown signal)
  CHECK(echo->at("requests").to_number<std::uint64_t>() == 25);
  CHECK(echo->at("state") == "exited");
  CHECK(echo->at("handler").at("count").to_number<std::uint64_t>() >= 25);

  r = get(port, "/api/actors/" + std::to_string(server_id), token);
  REQUIRE(r.status == 200);
  const json::value one = json::parse(r.body);
  bool saw_ping = false;
  for (const auto& run : one.at("recent").as_array())
    if (run.at("type").as_string().ends_with("question") && run.at("sender").to_number<std::uint64_t>() == client_id) saw_ping = true;
  CHECK(saw_ping);
  CHECK(get(port, "/api/actors/999999", token).status == 404);
  CHECK(get(port, "/api/actors/x", token).status == 404);

  r = get(port, "/api/topology", token);
  REQUIRE(r.status == 200);
  bool edge = false;
  const json::value topology = json::parse(r.body);
  for (const auto& e : topology.at("edges").as_array())
    if (e.at("from").to_number<std::uint64_t>() == client_id && e.at("to").to_number<std::uint64_t>() == server_id)
      edge = e.at("messages").to_number<std::uint64_t>() == 25;
  CHECK(edge);

  r = get(port, "/metrics", token);
  REQUIRE(r.status == 200);
  CHECK(r.content_type.rfind("text/plain; version=0.0.4", 0) == 0);
  CHECK(r.body.find("# TYPE troupe_messages_processed_total counter") != std::string::npos);
  CHECK(r.body.find("troupe_actor_handler_seconds_count{actor=\"echo\"}") != std::string::npos);
  CHECK(r.body.find("troupe_actor_handler_seconds_bucket{actor=\"echo\",le=\"+Inf\"}") != std::string::npos);

  CHECK(json::parse(get(port, "/api/dead_letters", token).body).at("total").is_number());
  CHECK(json::parse(get(port, "/api/lints", token).body).at("lints").is_array());
}

TEST_CASE("a live system provokes the inspector's lints: a blocking handler, a slow request, a restart storm, a failure nobody read") {
  auto cfg = inspected();
  cfg.inspect.slow_handler = std::chrono::milliseconds(50);
  cfg.inspect.restart_storm = 5;
  actor_system sys{cfg};
  const auto [port, token] = parse_url(sys.inspector_url());
  struct nap {
    int ms;
  };
  struct crash {};
  struct start_children {
    int n;
  };
  auto sleeper = sys.spawn([](actor_base& self) -> behavior {
    self.set_name("sleeper");
    return {[](nap n) {  // (blocking on purpose: what the lint is for)
      std::this_thread::sleep_for(std::chrono::milliseconds(n.ms));
      return n.ms;
    }};
  });
  // Blocks its worker 80 ms, and answers after 80% of a 100 ms timeout.
  REQUIRE(request<int>(sleeper, nap{80}, std::chrono::milliseconds(100)).get().value() == 80);
  // A supervisor whose children all fail at once.
  auto parent = sys.spawn([](actor_base& self) -> behavior {
    self.set_name("fragile_parent");
    // Answers start_children once every child's down message has come (they all failed).
    struct state {
      std::vector<actor> children;  // (kept: an unreferenced child would just quit)
      response_promise<int> done;
      int down = 0;
    };
    auto st = std::make_shared<state>();
    return {[&self, st](start_children s) {
              st->done = self.make_response_promise<int>();
              for (int i = 0; i < s.n; ++i) {
                st->children.push_back(self.spawn([](actor_base&) -> behavior {
                  return {[](crash) -> int { throw std::runtime_error("child failed"); }};
                }));
                self.monitor(st->children.back());
                send(st->children.back(), crash{});
              }
              return st->done;
            },
            [st](const down_msg&) {
              if (++st->down == static_cast<int>(st->children.size())) st->done.deliver(st->down);
            }};
  });
  REQUIRE(request<int>(parent, start_children{6}).get().value() == 6);
  // An actor drops the future of a request that fails (sleeper has no handler for crash), then
  // waits for its next request to sleeper, which sleeper runs after failing the first.
  struct go {};
  auto careless = sys.spawn([sleeper](actor_base& self) -> behavior {
    return {[&self, sleeper](go) -> task<int> {
      { auto dropped = self.request<int>(sleeper, crash{}); }
      auto r = co_await self.request<int>(sleeper, nap{1});
      co_return r ? *r : -1;
    }};
  });
  REQUIRE(request<int>(careless, go{}).get().value() == 1);
  sys.shutdown();  // (its last drain)

  const json::value doc = json::parse(get(port, "/api/lints", token).body);
  std::set<std::string> kinds;
  for (const auto& l : doc.at("lints").as_array()) kinds.insert(std::string(l.at("kind").as_string()));
  CHECK(kinds.count("slow_handler"));
  CHECK(kinds.count("slow_request"));
  CHECK(kinds.count("restart_storm"));
  CHECK(kinds.count("unobserved_failure"));
  bool blamed = false;
  for (const auto& l : doc.at("lints").as_array())
    if (l.at("kind") == "slow_handler" && l.at("actor").to_number<std::uint64_t>() == sleeper.id()) blamed = true;
  CHECK(blamed);
}

TEST_CASE("the inspector's live stream sends an update as soon as a client connects") {
  actor_system sys{inspected()};
  const auto [port, token] = parse_url(sys.inspector_url());
  auto a = sys.spawn([](actor_base& self) -> behavior {
    self.set_name("streamed");
    return {[](int x) { return x; }};
  });
  REQUIRE(request<int>(a, 1).get().value() == 1);
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  const std::string req = "GET /api/events?token=" + token + " HTTP/1.1\r\nHost: x\r\n\r\n";
  boost::asio::write(s, boost::asio::buffer(req));
  boost::asio::streambuf buf;
  boost::asio::read_until(s, buf, "\n\n");  // the first event (the header ends in \r\n\r\n)
  std::string text(boost::asio::buffers_begin(buf.data()), boost::asio::buffers_end(buf.data()));
  CHECK(text.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(text.find("text/event-stream") != std::string::npos);
  CHECK(text.find("event: update\ndata: {\"actors\":") != std::string::npos);
}

TEST_CASE("the inspector is off unless asked for; a bad address is the caller's error, or logged from the environment") {
  {
    actor_system sys{two_workers()};
    CHECK(sys.inspector_url().empty());
    CHECK_FALSE(sys.tracing_stats().enabled);
  }
  {
    auto cfg = two_workers();
    cfg.inspect.listen = "not an address";
    CHECK_THROWS_AS(actor_system{cfg}, std::invalid_argument);
    cfg.inspect.listen = "127.0.0.1:99999";
    CHECK_THROWS_AS(actor_system{cfg}, std::invalid_argument);
    // A port another system serves on.
    actor_system first{inspected()};
    cfg.inspect.listen = "127.0.0.1:" + std::to_string(parse_url(first.inspector_url()).first);
    CHECK_THROWS_AS(actor_system{cfg}, std::system_error);
  }
  {
    ::setenv("TROUPE_INSPECT", "127.0.0.1:0", 1);
    actor_system sys{two_workers()};
    ::unsetenv("TROUPE_INSPECT");
    CHECK(sys.inspector_url().rfind("http://127.0.0.1:", 0) == 0);
    CHECK_FALSE(sys.tracing_stats().enabled);  // (records for the inspector, but no trace file)
  }
  {
    // A trace file from the environment that cannot be made does not turn the inspector off.
    ::setenv("TROUPE_TRACE", "/nonexistent-dir/x.trace", 1);
    actor_system sys{inspected()};
    ::unsetenv("TROUPE_TRACE");
    const auto [port, token] = parse_url(sys.inspector_url());
    auto a = sys.spawn([](actor_base& self) -> behavior {
      self.set_name("seen");
      return {[](int x) { return x; }};
    });
    CHECK(request<int>(a, 3).get().value() == 3);
    sys.shutdown();
    CHECK(get(port, "/api/actors", token).body.find("\"seen\"") != std::string::npos);
    CHECK_FALSE(sys.tracing_stats().enabled);
  }
  {
    ::setenv("TROUPE_INSPECT", "nonsense", 1);
    actor_system sys{two_workers()};
    ::unsetenv("TROUPE_INSPECT");
    CHECK(sys.inspector_url().empty());
    auto a = sys.spawn([](actor_base&) -> behavior { return {[](int x) { return x; }}; });
    CHECK(request<int>(a, 7).get().value() == 7);  // the system runs, uninspected
  }
}
