// Monitors, links and exits across nodes (node.hpp), what a lost connection does to them, node
// events and reconnection: two actor systems in one process over TCP on 127.0.0.1.
#include "two_nodes.hpp"

#include <support/log_capture.hpp>

#include <catch2/catch.hpp>

#include <variant>

using namespace troupe;
using namespace troupe::test;

namespace {

struct count_downs {};

/// Monitors `target` `times` times, demonitors it `un` times, reports each down_msg and
/// answers count_downs with how many it got.
behavior watcher(actor_base& self, actor target, int times, int un, probe_ptr<down_msg> out) {
  for (int i = 0; i < times; ++i) self.monitor(target);
  for (int i = 0; i < un; ++i) self.demonitor(target);
  auto n = std::make_shared<int>(0);
  return {[out, n](down_msg d) {
            ++*n;
            out->push(std::move(d));
          },
          [n](count_downs) { return *n; }};
}

/// Traps exits, links to `target` (if any) and reports each exit_msg.
behavior trapper(actor_base& self, actor target, probe_ptr<exit_msg> out) {
  self.trap_exit(true);
  if (target) self.link_to(target);
  return {[out](exit_msg m) { out->push(std::move(m)); }, [](ping p) { return pong{p.value}; }};
}

/// Links to `target`, then quits with `reason` when told to.
behavior linked_then_quits(actor_base& self, actor target) {
  self.link_to(target);
  return {[&self](error e) { self.quit(std::move(e)); }};
}

bool has_error(const exit_reason& r, errc code, std::string_view detail = {}) {
  return r.error() && r.error()->code() == code && (detail.empty() || r.error()->detail().find(detail) != std::string_view::npos);
}

/// A round trip to `remote` that has to pass everything sent before it on the same connection.
void round_trip(const actor& remote) { REQUIRE(request<std::int32_t>(remote, add{0, 0}, prompt).get()); }

using node_event = std::variant<net::node_up, net::node_down>;

behavior node_events(actor_base&, probe_ptr<node_event> out) {
  return {[out](net::node_up e) { out->push(e); }, [out](net::node_down e) { out->push(e); }};
}

}  // namespace

TEST_CASE("a remote actor's exit reaches its monitors with the reason", "[net][signals]") {
  pair_of_nodes p;
  auto downs = std::make_shared<probe<down_msg>>();
  auto w = p.a_sys.spawn(watcher, p.remote, 1, 0, downs);
  send_exit(p.served, exit_reason(error(errc::user, "boom")));  // on b, locally
  auto d = downs->pop();
  REQUIRE(d);
  CHECK(d->source == p.remote);
  CHECK(d->reason.code() == exit_code::error);
  CHECK(has_error(d->reason, errc::user, "boom"));
  // Monitoring it now that it is gone gives its down at once, with the same reason.
  auto late = std::make_shared<probe<down_msg>>();
  auto w2 = p.a_sys.spawn(watcher, p.remote, 1, 0, late);
  auto d2 = late->pop();
  REQUIRE(d2);
  CHECK(has_error(d2->reason, errc::user, "boom"));
}

TEST_CASE("remote monitors count like local ones: two monitors, one demonitor, one down", "[net][signals]") {
  pair_of_nodes p;
  auto other = p.b_sys.spawn(server);
  p.b->publish(other, "other");
  auto other_remote = p.a->lookup(p.b->id(), "other").get(prompt);
  REQUIRE(other_remote);
  auto downs = std::make_shared<probe<down_msg>>();
  auto w = p.a_sys.spawn(watcher, p.remote, 2, 1, downs);
  round_trip(p.remote);  // the monitor and demonitor frames went before it
  send_exit(p.served, exit_reason::kill());
  REQUIRE(downs->pop());
  // A second down would have left b before the answer to this round trip, and reached the
  // watcher before the count request.
  round_trip(*other_remote);
  auto n = request<int>(w, count_downs{}, prompt).get();
  REQUIRE(n);
  CHECK(*n == 1);
}

TEST_CASE("links across nodes carry exits both ways", "[net][signals]") {
  pair_of_nodes p;
  SECTION("a remote actor's exit reaches a local actor linked to it") {
    auto exits = std::make_shared<probe<exit_msg>>();
    auto l = p.a_sys.spawn(trapper, p.remote, exits);
    round_trip(p.remote);
    send_exit(p.served, exit_reason(error(errc::user, "remote failure")));
    auto m = exits->pop();
    REQUIRE(m);
    CHECK(m->source == p.remote);
    CHECK(has_error(m->reason, errc::user, "remote failure"));
  }
  SECTION("a local actor's exit reaches a remote actor linked to it") {
    auto exits = std::make_shared<probe<exit_msg>>();
    auto r = p.b_sys.spawn(trapper, actor(), exits);
    p.b->publish(r, "trapper");
    auto r_remote = p.a->lookup(p.b->id(), "trapper").get(prompt);
    REQUIRE(r_remote);
    auto l = p.a_sys.spawn(linked_then_quits, *r_remote);
    send(l, error(errc::user, "local failure"));
    auto m = exits->pop();
    REQUIRE(m);
    CHECK(m->source == l);  // the handle came across: it names the actor on a
    CHECK(m->source.node() == p.a->id());
    CHECK(has_error(m->reason, errc::user, "local failure"));
  }
  SECTION("a non-trapping remote actor dies of a linked actor's error") {
    auto downs = std::make_shared<probe<down_msg>>();
    auto local_watch = p.b_sys.spawn(watcher, p.served, 1, 0, downs);
    auto l = p.a_sys.spawn(linked_then_quits, p.remote);
    send(l, error(errc::user, "cascade"));
    auto d = downs->pop();
    REQUIRE(d);
    CHECK(has_error(d->reason, errc::user, "cascade"));
  }
}

TEST_CASE("send_exit reaches a remote actor, kill included", "[net][signals]") {
  pair_of_nodes p;
  auto downs = std::make_shared<probe<down_msg>>();
  auto local_watch = p.b_sys.spawn(watcher, p.served, 1, 0, downs);
  round_trip(p.remote);
  send_exit(p.remote, exit_reason::kill());
  auto d = downs->pop();
  REQUIRE(d);
  CHECK(d->reason.code() == exit_code::kill);
}

TEST_CASE("a lost connection fires monitors and breaks links on both sides with disconnected", "[net][signals]") {
  pair_of_nodes p;
  auto downs = std::make_shared<probe<down_msg>>();
  auto w = p.a_sys.spawn(watcher, p.remote, 1, 0, downs);
  auto a_exits = std::make_shared<probe<exit_msg>>();
  auto l = p.a_sys.spawn(trapper, p.remote, a_exits);
  // On b: an actor that traps exits, linked from a.
  auto b_exits = std::make_shared<probe<exit_msg>>();
  auto r = p.b_sys.spawn(trapper, actor(), b_exits);
  p.b->publish(r, "trapper");
  auto r_remote = p.a->lookup(p.b->id(), "trapper").get(prompt);
  REQUIRE(r_remote);
  auto l2 = p.a_sys.spawn(trapper, *r_remote, std::make_shared<probe<exit_msg>>());
  round_trip(p.remote);  // every monitor and link is in place on b

  p.b.reset();  // node b stops: the connection closes under everyone

  auto d = downs->pop();
  REQUIRE(d);
  CHECK(d->source == p.remote);
  CHECK(has_error(d->reason, errc::disconnected));
  auto ea = a_exits->pop();
  REQUIRE(ea);
  CHECK(ea->source == p.remote);
  CHECK(has_error(ea->reason, errc::disconnected));
  auto eb = b_exits->pop();
  REQUIRE(eb);
  CHECK(eb->source == l2);
  CHECK(has_error(eb->reason, errc::disconnected));

  SECTION("monitoring or linking an actor of a node out of reach fires at once") {
    auto late = std::make_shared<probe<down_msg>>();
    auto w2 = p.a_sys.spawn(watcher, p.remote, 1, 0, late);
    auto d2 = late->pop();
    REQUIRE(d2);
    CHECK(has_error(d2->reason, errc::disconnected));
    auto late_exits = std::make_shared<probe<exit_msg>>();
    auto l3 = p.a_sys.spawn(trapper, p.remote, late_exits);
    auto e3 = late_exits->pop();
    REQUIRE(e3);
    CHECK(has_error(e3->reason, errc::disconnected));
  }
}

TEST_CASE("monitor_nodes reports connections up and down, and a lost connection is redialled", "[net][signals]") {
  actor_system a_sys{two_workers()}, b_sys{two_workers()};
  auto a_cfg = config();
  a_cfg.reconnect_delay_min = std::chrono::milliseconds(10);
  a_cfg.reconnect_delay_max = std::chrono::milliseconds(100);
  net::node a{a_sys, a_cfg};
  auto events = std::make_shared<probe<node_event>>();
  auto ev = a_sys.spawn(node_events, events);
  a.monitor_nodes(ev);
  auto served = b_sys.spawn(server);
  auto b = std::make_unique<net::node>(b_sys, config());
  b->publish(served, "server");
  const auto port = b->listen("127.0.0.1", 0);
  const node_id b_id = b->id();
  REQUIRE(a.connect("127.0.0.1", port).get(prompt));
  auto up = events->pop();
  REQUIRE(up);
  REQUIRE(std::holds_alternative<net::node_up>(*up));
  CHECK(std::get<net::node_up>(*up).peer == b_id);
  auto remote = a.lookup(b_id, "server").get(prompt);
  REQUIRE(remote);

  b.reset();
  auto down = events->pop();
  REQUIRE(down);
  REQUIRE(std::holds_alternative<net::node_down>(*down));
  CHECK(std::get<net::node_down>(*down).peer == b_id);
  CHECK(std::get<net::node_down>(*down).reason == errc::disconnected);
  // While it is down, requests fail at once.
  auto r = request<std::int32_t>(*remote, add{1, 2}, infinite).get(prompt);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::disconnected);

  // The node comes back on the same port (the same system: the same node id); a redials.
  b = std::make_unique<net::node>(b_sys, config());
  b->publish(served, "server");
  REQUIRE(b->listen("127.0.0.1", port) == port);
  auto again = events->pop();
  REQUIRE(again);
  REQUIRE(std::holds_alternative<net::node_up>(*again));
  CHECK(std::get<net::node_up>(*again).peer == b_id);
  // The old handle works again: same node id, same actor.
  auto r2 = request<std::int32_t>(*remote, add{1, 2}, prompt).get();
  REQUIRE(r2);
  CHECK(*r2 == 3);
  b.reset();
}

TEST_CASE("redialling stops after reconnect_for, with a logged warning", "[net][signals]") {
  auto lines = std::make_shared<probe<std::string>>();
  auto sys_cfg = two_workers();
  sys_cfg.logger = log_to(lines);
  actor_system a_sys{sys_cfg}, b_sys{two_workers()};
  auto a_cfg = config();
  a_cfg.reconnect_delay_min = std::chrono::milliseconds(10);
  a_cfg.reconnect_delay_max = std::chrono::milliseconds(40);
  a_cfg.reconnect_for = std::chrono::milliseconds(300);
  net::node a{a_sys, a_cfg};
  auto b = std::make_unique<net::node>(b_sys, config());
  const auto port = b->listen("127.0.0.1", 0);
  REQUIRE(a.connect("127.0.0.1", port).get(prompt));
  b.reset();  // and nobody listens there any more
  auto gave_up = lines->pop_until([](const std::string& l) { return l.find("gave up reconnecting") != std::string::npos; });
  REQUIRE(gave_up);
  CHECK(gave_up->rfind("warning|", 0) == 0);
  CHECK(gave_up->find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}
