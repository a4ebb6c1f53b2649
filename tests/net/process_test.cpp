// Nodes in separate processes (net_peer, started by the tests) on 127.0.0.1: requests,
// ordering, handles across three nodes, kill -9, restarts, a wrong secret and garbage.
#include "peer_types.hpp"

#include <support/probe.hpp>
#include <support/process.hpp>
#include <support/test_actors.hpp>

#include <troupe/net/node.hpp>

#include <boost/asio.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <variant>

using namespace troupe;
using namespace troupe::test;
using namespace troupe::test::peer;

namespace {

/// A net_peer process, listening.
struct peer_process {
  std::unique_ptr<child_process> proc;
  std::uint16_t port = 0;
  node_id id;

  explicit peer_process(std::vector<std::string> args = {}) {
    args.insert(args.begin(), NET_PEER_PATH);
    proc = std::make_unique<child_process>(args);
    auto line = proc->read_line();
    REQUIRE(line);
    std::istringstream in(*line);
    std::string word, hex;
    in >> word >> port >> hex;
    REQUIRE(word == "ready");
    id.value = std::stoull(hex, nullptr, 16);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

net::node_config config(std::string secret = "s3cret") {
  net::node_config cfg;
  cfg.secret = std::move(secret);
  cfg.types = types();
  cfg.reconnect_delay_min = std::chrono::milliseconds(20);
  cfg.reconnect_delay_max = std::chrono::milliseconds(200);
  return cfg;
}

using node_event = std::variant<net::node_up, net::node_down>;

}  // namespace

TEST_CASE("two processes: requests, ordering, and a handle used for the reply", "[net][process]") {
  peer_process b;
  actor_system sys{two_workers()};
  net::node a{sys, config()};
  auto peer = a.connect("127.0.0.1", b.port).get(prompt);
  REQUIRE(peer);
  CHECK(*peer == b.id);
  auto server = a.lookup(b.id, "server").get(prompt);
  REQUIRE(server);
  auto sum = request<std::int32_t>(*server, add{20, 22}, prompt).get();
  REQUIRE(sum);
  CHECK(*sum == 42);
  // 10,000 sends from one actor arrive in order; the request after them sees them all.
  auto sender = sys.spawn([](actor_base& self, actor to) -> behavior {
    return {[&self, to](std::int32_t n) {
      for (std::int32_t i = 0; i < n; ++i) self.send(to, record{i});
      return self.delegate<std::vector<std::int32_t>>(to, get_records{});
    }};
  }, *server);
  auto got = request<std::vector<std::int32_t>>(sender, std::int32_t{10000}, prompt).get();
  REQUIRE(got);
  REQUIRE(got->size() == 10000);
  for (std::int32_t i = 0; i < 10000; ++i) REQUIRE((*got)[static_cast<std::size_t>(i)] == i);
  // A handle to a local actor crosses, and the other process replies to it.
  auto echoes = std::make_shared<probe<std::string>>();
  auto listener = sys.spawn([echoes](actor_base&) -> behavior { return {[echoes](echoed e) { echoes->push(e.text); }}; });
  send(*server, call_me_back{listener, "across"});
  CHECK(echoes->pop() == "across!");
}

TEST_CASE("three processes: a handle to a third node is used for the reply", "[net][process]") {
  peer_process c;
  peer_process b({"--connect", c.address()});  // b and c know each other
  actor_system sys{two_workers()};
  net::node a{sys, config()};
  REQUIRE(a.connect("127.0.0.1", b.port).get(prompt));
  REQUIRE(a.connect("127.0.0.1", c.port).get(prompt));
  auto relay_b = a.lookup(b.id, "relay").get(prompt);
  auto server_c = a.lookup(c.id, "server").get(prompt);
  REQUIRE(relay_b);
  REQUIRE(server_c);
  auto echoes = std::make_shared<probe<std::string>>();
  auto listener = sys.spawn([echoes](actor_base&) -> behavior { return {[echoes](echoed e) { echoes->push(e.text); }}; });
  // a -> b: "tell c's server to call a's listener back"; b -> c; c -> a.
  send(*relay_b, relay{*server_c, listener, "three hops"});
  CHECK(echoes->pop() == "three hops!");
}

TEST_CASE("kill -9 of a remote process: monitors fire and requests fail with disconnected", "[net][process]") {
  peer_process b;
  actor_system sys{two_workers()};
  net::node a{sys, config()};
  REQUIRE(a.connect("127.0.0.1", b.port).get(prompt));
  auto server = a.lookup(b.id, "server").get(prompt);
  REQUIRE(server);
  auto downs = std::make_shared<probe<down_msg>>();
  auto w = sys.spawn([downs](actor_base& self, actor target) -> behavior {
    self.monitor(target);
    return {[downs](down_msg d) { downs->push(std::move(d)); }, [](ping p) { return pong{p.value}; }};
  }, *server);
  // A request the peer never answers (it dies first): it must fail, not wait for its timeout.
  auto never = sys.spawn([](actor_base& self) -> behavior {
    return {[&self](ping) { return self.make_response_promise<pong>(); }};
  });
  REQUIRE(request<pong>(w, ping{}, prompt).get());  // the monitor is on its way before the kill
  REQUIRE(request<std::int32_t>(*server, add{0, 0}, prompt).get());  // and has arrived
  auto waiting = request<std::vector<std::int32_t>>(*server, get_records{}, infinite);
  b.proc->kill(SIGKILL);
  auto d = downs->pop();
  REQUIRE(d);
  CHECK(d->source == *server);
  REQUIRE(d->reason.error());
  CHECK(d->reason.error()->code() == errc::disconnected);
  // (The get_records may have been answered before the kill; if not, it fails.)
  auto r = waiting.get(prompt);
  if (!r) CHECK(r.error() == errc::disconnected);
  auto after = request<std::int32_t>(*server, add{1, 1}, infinite).get(prompt);
  REQUIRE_FALSE(after);
  CHECK(after.error() == errc::disconnected);
}

TEST_CASE("a remote process that restarts is reconnected, with its new node id", "[net][process]") {
  auto b = std::make_unique<peer_process>();
  const auto port = b->port;
  const node_id old_id = b->id;
  actor_system sys{two_workers()};
  net::node a{sys, config()};
  auto events = std::make_shared<probe<node_event>>();
  auto ev = sys.spawn([events](actor_base&) -> behavior {
    return {[events](net::node_up e) { events->push(e); }, [events](net::node_down e) { events->push(e); }};
  });
  a.monitor_nodes(ev);
  REQUIRE(a.connect("127.0.0.1", port).get(prompt));
  REQUIRE(events->pop());  // up
  b->proc->kill(SIGKILL);
  auto down = events->pop();
  REQUIRE(down);
  REQUIRE(std::holds_alternative<net::node_down>(*down));
  CHECK(std::get<net::node_down>(*down).peer == old_id);
  b = std::make_unique<peer_process>(std::vector<std::string>{"--port", std::to_string(port)});
  CHECK(b->id != old_id);
  auto up = events->pop_until([](const node_event& e) { return std::holds_alternative<net::node_up>(e); });
  REQUIRE(up);
  CHECK(std::get<net::node_up>(*up).peer == b->id);
  auto server = a.lookup(b->id, "server").get(prompt);
  REQUIRE(server);
  auto sum = request<std::int32_t>(*server, add{2, 2}, prompt).get();
  REQUIRE(sum);
  CHECK(*sum == 4);
}

TEST_CASE("across processes, a wrong secret is refused and garbage closes only its connection", "[net][process]") {
  peer_process b;
  actor_system sys{two_workers()};
  {
    net::node intruder{sys, config("not the secret")};
    auto r = intruder.connect("127.0.0.1", b.port).get(prompt);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::disconnected);
    CHECK(r.error().detail().find("authentication failed") != std::string_view::npos);
  }
  net::node a{sys, config()};
  REQUIRE(a.connect("127.0.0.1", b.port).get(prompt));
  auto server = a.lookup(b.id, "server").get(prompt);
  REQUIRE(server);
  namespace asio = boost::asio;
  asio::io_context io;
  for (const std::vector<std::uint8_t>& bad : {std::vector<std::uint8_t>{0x05, 0, 0, 0, 0x7f, 1, 2, 3, 4},
                                               std::vector<std::uint8_t>{0xff, 0xff, 0xff, 0x7f},
                                               std::vector<std::uint8_t>{0, 0, 0, 0}}) {
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), b.port});
    asio::write(s, asio::buffer(bad));
    std::vector<std::uint8_t> sink(1024);
    boost::system::error_code ec;
    while (!ec) s.read_some(asio::buffer(sink), ec);  // until the peer closes it
    CHECK((ec == asio::error::eof || ec == asio::error::connection_reset));
    // Meanwhile the good connection works.
    auto sum = request<std::int32_t>(*server, add{1, 2}, prompt).get();
    REQUIRE(sum);
    CHECK(*sum == 3);
  }
}

TEST_CASE("two processes: cancelling a request, its timeout, or losing the connection stops the work it started there",
          "[net][process][cancel]") {
  peer_process b;
  using events = std::vector<std::string>;
  auto sorted = [](events e) {
    std::sort(e.begin(), e.end());
    return e;
  };
  {
    actor_system sys{two_workers()};
    net::node a{sys, config()};
    REQUIRE(a.connect("127.0.0.1", b.port).get(prompt));
    auto worker = a.lookup(b.id, "worker").get(prompt);
    auto tracker = a.lookup(b.id, "tracker").get(prompt);
    REQUIRE(worker);
    REQUIRE(tracker);
    // A coroutine there awaits a request to a holder that never answers; cancelled from here.
    auto f = request<std::int32_t>(*worker, slow_job{1}, std::chrono::seconds(60));
    auto started = request<events>(*tracker, await_events{1}, prompt).get();
    REQUIRE(started);
    CHECK(*started == events{"holder started"});
    CHECK(f.cancel());
    CHECK(f.get().error() == errc::cancelled);
    auto seen = request<events>(*tracker, await_events{3}, prompt).get();
    REQUIRE(seen);
    CHECK(sorted(*seen) == events{"holder cancelled", "holder started", "worker resumed: cancelled"});
    // A timeout stops the work there just the same: the worker's own request inherited the
    // deadline (it times out there), and the cancel frame follows.
    auto g = request<std::int32_t>(*worker, slow_job{2}, std::chrono::milliseconds(300));
    auto late = g.get(prompt);
    REQUIRE_FALSE(late);
    CHECK(late.error() == errc::timeout);  // (timed out here, or there with the inherited deadline)
    seen = request<events>(*tracker, await_events{6}, prompt).get();
    REQUIRE(seen);
    auto second = sorted(events(seen->begin() + 3, seen->end()));
    CHECK((second == events{"holder cancelled", "holder started", "worker resumed: timeout"} ||
           second == events{"holder cancelled", "holder started", "worker resumed: cancelled"}));
    // The deadline crosses with the request.
    auto left = request<std::int32_t>(*worker, deadline_left{}, std::chrono::seconds(5)).get();
    REQUIRE(left);
    CHECK(*left > 4000);
    CHECK(*left <= 5000);
    CHECK(*request<std::int32_t>(*worker, deadline_left{}, infinite).get(prompt) == -1);
    // Losing the connection (this node goes away) cancels what it had started there.
    auto h = request<std::int32_t>(*worker, slow_job{3}, std::chrono::seconds(60));
    REQUIRE(request<events>(*tracker, await_events{7}, prompt).get());
    (void)std::move(h).then([](result<std::int32_t>) {});  // (it fails with disconnected: expected)
  }
  actor_system sys{two_workers()};
  net::node a{sys, config()};
  REQUIRE(a.connect("127.0.0.1", b.port).get(prompt));
  auto tracker = a.lookup(b.id, "tracker").get(prompt);
  REQUIRE(tracker);
  auto seen = request<events>(*tracker, await_events{9}, prompt).get();
  REQUIRE(seen);
  CHECK(sorted(events(seen->begin() + 6, seen->end())) ==
        events{"holder cancelled", "holder started", "worker resumed: cancelled"});
}
