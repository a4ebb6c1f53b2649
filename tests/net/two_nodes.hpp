// Two nodes in one process (two actor systems) over TCP on 127.0.0.1, with a published server
// actor: the fixture of the remote-actor tests.
#pragma once

#include <support/probe.hpp>
#include <support/test_actors.hpp>

#include <troupe/net/node.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <memory>
#include <string>
#include <vector>

namespace troupe::test {


struct add {
  std::int32_t a;
  std::int32_t b;
};
struct record {
  std::int32_t n;
};
struct get_records {};
struct hold {};
struct unregistered {
  int x;
};
struct call_me_back {
  actor back;  // a handle that crosses the wire
  std::string text;
};
struct echoed {
  std::string text;
};
/// Recorded as from * 1,000,000 + n (a type no other test sends first).
struct tagged {
  std::int32_t from;
  std::int32_t n;
};
struct big_reply {
  std::int32_t bytes;
};
struct want_echoed {};
/// Answers every held request with n.
struct release {
  std::int32_t n;
};

inline std::shared_ptr<net::type_registry> types() {
  auto t = std::make_shared<net::type_registry>();
  t->add<add>("test.add");
  t->add<record>("test.record");
  t->add<get_records>("test.get_records");
  t->add<hold>("test.hold");
  t->add<call_me_back>("test.call_me_back");
  t->add<echoed>("test.echoed");
  t->add<tagged>("test.tagged");
  t->add<big_reply>("test.big_reply");
  t->add<want_echoed>("test.want_echoed");
  t->add<release>("test.release");
  t->add<std::vector<std::int32_t>>("test.ints");
  return t;
}

inline net::node_config config() {
  net::node_config cfg;
  cfg.secret = "s3cret";
  cfg.types = types();
  return cfg;
}

inline behavior server(actor_base& self) {
  auto records = std::make_shared<std::vector<std::int32_t>>();
  auto held = std::make_shared<std::vector<response_promise<std::int32_t>>>();
  return {
      [](add m) { return m.a + m.b; },
      [records](record r) { records->push_back(r.n); },
      [records](tagged t) { records->push_back(t.from * 1'000'000 + t.n); },
      [](big_reply b) { return std::string(static_cast<std::size_t>(b.bytes), 'x'); },
      [](want_echoed) { return echoed{"e"}; },
      [held](release r) {
        for (auto& p : *held) p.deliver(r.n);
        held->clear();
      },
      [records](get_records) { return *records; },
      [&self, held](hold) {
        held->push_back(self.make_response_promise<std::int32_t>());
        return held->back();
      },
      [&self](call_me_back m) { self.send(m.back, echoed{m.text + "!"}); },
  };
}

/// Two systems, two nodes, connected; `server` published on b as "server".
struct pair_of_nodes {
  actor_system a_sys{two_workers()};
  actor_system b_sys{two_workers()};
  std::unique_ptr<net::node> a;
  std::unique_ptr<net::node> b;
  actor served = b_sys.spawn(server);
  actor remote;
  std::uint16_t port = 0;  // b's

  explicit pair_of_nodes(net::node_config a_cfg = config(), net::node_config b_cfg = config())
      : a(std::make_unique<net::node>(a_sys, std::move(a_cfg))), b(std::make_unique<net::node>(b_sys, std::move(b_cfg))) {
    b->publish(served, "server");
    port = b->listen("127.0.0.1", 0);
    auto peer = a->connect("127.0.0.1", port).get(prompt);
    REQUIRE(peer);
    auto r = a->lookup(*peer, "server").get(prompt);
    REQUIRE(r);
    remote = *r;
  }
  ~pair_of_nodes() {
    a.reset();  // nodes before their systems
    b.reset();
  }
};

}  // namespace troupe::test
