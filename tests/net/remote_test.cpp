// Remote actors (node.hpp): publish, lookup, send and request across two nodes over TCP on
// 127.0.0.1, in one process (two actor systems).
#include "counting_transport.hpp"
#include "two_nodes.hpp"

#include <boost/asio.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <memory>
#include <string>
#include <vector>

using namespace troupe;
using namespace troupe::test;

TEST_CASE("a looked-up remote actor answers requests like a local one", "[net][remote]") {
  pair_of_nodes p;
  CHECK(p.remote.node() == p.b->id());
  CHECK(p.remote.id() == p.served.id());
  auto r = request<std::int32_t>(p.remote, add{2, 3}, prompt).get();
  REQUIRE(r);
  CHECK(*r == 5);
  // From inside an actor, with co_await and when_all.
  auto client = p.a_sys.spawn([](actor_base& self, actor server_handle) -> behavior {
    return {[&self, server_handle](get_records) -> task<std::int32_t> {
      auto both = co_await when_all(self.request<std::int32_t>(server_handle, add{1, 1}, prompt),
                                    self.request<std::int32_t>(server_handle, add{2, 2}, prompt));
      if (!both) co_return -1;
      co_return std::get<0>(*both) + std::get<1>(*both);
    }};
  }, p.remote);
  auto total = request<std::int32_t>(client, get_records{}, prompt).get();
  REQUIRE(total);
  CHECK(*total == 6);
}

TEST_CASE("a node counts its connections, frames and bytes", "[net][remote]") {
  pair_of_nodes p;
  const net::node_stats before = p.a->stats();
  CHECK(before.connections_opened == 1);
  CHECK(before.connections_open == 1);
  CHECK(before.frames_sent >= 3);  // (hello, proof, lookup at least)
  REQUIRE(request<std::int32_t>(p.remote, add{2, 3}, prompt).get().value() == 5);
  const net::node_stats a = p.a->stats(), b = p.b->stats();
  CHECK(a.frames_sent > before.frames_sent);
  CHECK(a.bytes_sent > before.bytes_sent);
  // What one side sent, the other received (every frame it sent has arrived: the reply came
  // after them all, on the same connection).
  CHECK(b.frames_received >= a.frames_sent);
  CHECK(a.frames_received >= 3);
  CHECK(b.connections_open == 1);
  CHECK(a.connections_dropped == 0);
  CHECK(a.reconnects == 0);
}

TEST_CASE("messages from one sender to a remote actor keep their order", "[net][remote]") {
  pair_of_nodes p;
  auto sender = p.a_sys.spawn([](actor_base& self, actor to) -> behavior {
    return {[&self, to](std::int32_t n) {
      for (std::int32_t i = 0; i < n; ++i) self.send(to, record{i});
    }};
  }, p.remote);
  send(sender, std::int32_t{2000});
  // The request goes after the sends from another sender: wait until all 2,000 are in.
  std::vector<std::int32_t> got;
  for (int attempt = 0; attempt < 1000 && got.size() < 2000; ++attempt) {
    auto r = request<std::vector<std::int32_t>>(p.remote, get_records{}, prompt).get();
    REQUIRE(r);
    got = *r;
  }
  REQUIRE(got.size() == 2000);
  for (std::int32_t i = 0; i < 2000; ++i) CHECK(got[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("handles cross the wire and can be replied to", "[net][remote]") {
  pair_of_nodes p;
  auto done = std::make_shared<std::promise<std::string>>();
  auto got = done->get_future();
  auto listener = p.a_sys.spawn([done](actor_base&) -> behavior {
    return {[done](echoed e) { done->set_value(e.text); }};
  });
  send(p.remote, call_me_back{listener, "hi"});
  REQUIRE(got.wait_for(prompt) == std::future_status::ready);
  CHECK(got.get() == "hi!");
}

TEST_CASE("remote failures are reported at once, never as timeouts", "[net][remote]") {
  pair_of_nodes p;
  SECTION("an unregistered message type fails at the sender") {
    auto r = request<std::int32_t>(p.remote, unregistered{1}, prompt).get();
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::unhandled_message);
    CHECK(r.error().detail().find("not registered") != std::string_view::npos);
  }
  SECTION("nothing published under a name") {
    auto r = p.a->lookup(p.b->id(), "nobody").get(prompt);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::receiver_down);
  }
  SECTION("a remote actor that is dead") {
    send_exit(p.served, exit_reason::kill());
    p.served.reset();
    // Requests, even without a timeout, fail with receiver_down once the actor is gone.
    result<std::int32_t> r = errc::timeout;
    for (int attempt = 0; attempt < 1000; ++attempt) {
      r = request<std::int32_t>(p.remote, add{1, 1}, infinite).get(prompt);
      if (!r) break;
    }
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::receiver_down);
  }
  SECTION("the connection is lost while a request waits") {
    auto waiting = request<std::int32_t>(p.remote, hold{}, infinite);
    // Make sure the request arrived (a later request on the same path is answered after it).
    REQUIRE(request<std::int32_t>(p.remote, add{0, 0}, prompt).get());
    p.b.reset();  // node b stops: its connections close
    auto r = waiting.get(prompt);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::disconnected);
    // Later requests fail at once too.
    auto later = request<std::int32_t>(p.remote, add{1, 1}, infinite).get(prompt);
    REQUIRE_FALSE(later);
    CHECK(later.error() == errc::disconnected);
  }
}

TEST_CASE("a handle sent to another node keeps its actor alive while connected", "[net][remote]") {
  pair_of_nodes p;
  auto got = std::make_shared<probe<std::string>>();
  {
    // Nobody here keeps a handle: only the one that went to b inside the message.
    auto listener = p.a_sys.spawn([got](actor_base&) -> behavior { return {[got](echoed e) { got->push(e.text); }}; });
    send(p.remote, call_me_back{listener, "still here"});
  }
  CHECK(got->pop() == "still here!");
}


TEST_CASE("what one activation sends to a node goes out as one write", "[net][remote]") {
  auto writes = std::make_shared<std::atomic<int>>(0);
  auto a_cfg = config();
  a_cfg.transport_factory = [writes] { return std::make_unique<counting_transport>(writes); };
  pair_of_nodes p(a_cfg);
  auto sender = p.a_sys.spawn([](actor_base& self, actor to) -> behavior {
    return {[&self, to](std::int32_t n) {
      for (std::int32_t i = 0; i < n; ++i) self.send(to, record{i});
      return self.delegate<std::vector<std::int32_t>>(to, get_records{});
    }};
  }, p.remote);
  const int before = writes->load();
  auto got = request<std::vector<std::int32_t>>(sender, std::int32_t{1000}, prompt).get();
  REQUIRE(got);
  CHECK(got->size() == 1000);
  // 1,000 messages, their type definition and the request: one activation, one write.
  CHECK(writes->load() - before == 1);
}

TEST_CASE("many senders on several threads, all sending a new type at once, each keep their order", "[net][remote]") {
  pair_of_nodes p;
  constexpr std::int32_t senders = 6, each = 400;
  std::vector<actor> actors;
  for (std::int32_t s = 1; s <= senders; ++s)
    actors.push_back(p.a_sys.spawn([s](actor_base& self, actor to) -> behavior {
      auto next = std::make_shared<std::int32_t>(0);
      return {[&self, to, s, next](std::int32_t n) {
        for (std::int32_t i = 0; i < n; ++i) self.send(to, tagged{s, (*next)++});
      }};
    }, p.remote));
  for (auto& a : actors)  // a few bursts each, so activations interleave on both workers
    for (int burst = 0; burst < 4; ++burst) send(a, std::int32_t{each / 4});
  for (std::int32_t i = 0; i < each; ++i) send(p.remote, tagged{0, i});  // and this thread
  std::vector<std::int32_t> got;
  for (int attempt = 0; attempt < 2000 && got.size() < static_cast<std::size_t>((senders + 1) * each); ++attempt) {
    auto r = request<std::vector<std::int32_t>>(p.remote, get_records{}, prompt).get();
    REQUIRE(r);  // (a type defined out of order would have closed the connection)
    got = *r;
  }
  REQUIRE(got.size() == static_cast<std::size_t>((senders + 1) * each));
  // Each sender's messages arrive in the order sent, whatever the interleaving.
  std::vector<std::int32_t> last(senders + 1, -1);
  for (std::int32_t v : got) {
    const std::int32_t from = v / 1'000'000, n = v % 1'000'000;
    CHECK(n == last[static_cast<std::size_t>(from)] + 1);
    last[static_cast<std::size_t>(from)] = n;
  }
}

TEST_CASE("connect edge cases: twice to one address, a peer that never answers, a node destroyed mid-connect", "[net][remote]") {
  actor_system a_sys{two_workers()}, b_sys{two_workers()};
  SECTION("connecting again to a connected address gives its id at once, on the same connection") {
    net::node b{b_sys, config()};
    net::node a{a_sys, config()};
    const auto port = b.listen("127.0.0.1", 0);
    auto first = a.connect("127.0.0.1", port).get(prompt);
    auto second = a.connect("127.0.0.1", port).get(prompt);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(*first == *second);
    CHECK(a.connections().size() == 1);
  }
  // A listener that accepts and then says nothing.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto silent_port = silent.local_endpoint().port();
  SECTION("a peer that never answers: connect fails with timeout after connect_timeout") {
    auto cfg = config();
    cfg.connect_timeout = std::chrono::milliseconds(200);
    cfg.handshake_timeout = std::chrono::seconds(60);  // only connect_timeout can end it
    net::node a{a_sys, cfg};
    auto r = a.connect("127.0.0.1", silent_port).get(prompt);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::timeout);
  }
  SECTION("a node destroyed while it connects does not hang, and fails the connect") {
    future<node_id> pending;
    {
      net::node a{a_sys, config()};
      pending = a.connect("127.0.0.1", silent_port);
    }
    auto r = pending.get(prompt);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::disconnected);
  }
}

TEST_CASE("a blocking get() on the network thread fails instead of stalling the node", "[net][remote]") {
  pair_of_nodes p;
  // The continuation is attached before the reply can come (it is held until `release`), so
  // it runs where the reply arrives: on the network thread.
  auto answer = request<std::int32_t>(p.remote, hold{}, prompt).then([remote = p.remote](result<std::int32_t> r) -> errc {
    if (!r) return r.error().code();
    auto x = request<std::int32_t>(remote, add{1, 1}, prompt).get();
    return x ? errc::user : x.error().code();
  });
  send(p.remote, release{1});
  auto code = answer.get(prompt);
  REQUIRE(code);
  CHECK(*code == errc::blocking_in_actor);
  // The node still works.
  auto four = request<std::int32_t>(p.remote, add{2, 2}, prompt).get();
  REQUIRE(four);
  CHECK(*four == 4);
}

TEST_CASE("the promises of node.hpp at the edges: unpublish, dead letters, frame size, unknown reply types", "[net][remote]") {
  SECTION("an unpublished name is not found any more") {
    pair_of_nodes p;
    p.b->unpublish("server");
    auto r = p.a->lookup(p.b->id(), "server").get(prompt);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::receiver_down);
  }
  SECTION("while a node is not connected, a send to it is a counted dead letter, a request fails at once") {
    pair_of_nodes p;
    p.b.reset();
    // (the node learns of the loss on its network thread: a request shows when it has)
    auto r = request<std::int32_t>(p.remote, add{1, 1}, infinite).get(prompt);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::disconnected);
    const auto before = p.a_sys.dead_letters();
    send(p.remote, record{1});
    CHECK(p.a_sys.dead_letters() == before + 1);
  }
  SECTION("a message larger than max_frame fails at the sender") {
    auto a_cfg = config();
    a_cfg.max_frame = 4096;
    pair_of_nodes p(a_cfg);
    auto r = request<std::int32_t>(p.remote, std::vector<std::int32_t>(10'000, 7), prompt).get();
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::handler_exception);
    CHECK(r.error().detail().find("max_frame") != std::string_view::npos);
    // The connection is fine.
    REQUIRE(request<std::int32_t>(p.remote, add{1, 1}, prompt).get());
  }
  SECTION("a reply whose type is registered there but not here fails with type_mismatch") {
    auto a_cfg = config();
    auto partial = std::make_shared<net::type_registry>();
    partial->add<add>("test.add");
    partial->add<want_echoed>("test.want_echoed");  // but not test.echoed, the reply
    a_cfg.types = partial;
    pair_of_nodes p(a_cfg);
    auto r = request<echoed>(p.remote, want_echoed{}, prompt).get();
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::type_mismatch);
    CHECK(r.error().detail().find("test.echoed") != std::string_view::npos);
  }
}
