// Links the installed troupe::framework, troupe::actors, troupe::net and troupe::testing, runs
// a request through a name looked up in the registry, the same request in a deterministic test
// system, and again across two nodes: exit 0 if every reply is right.
#include <troupe/actors/registry.hpp>
#include <troupe/net/node.hpp>
#include <troupe/testing/test_system.hpp>
#include <troupe/troupe.hpp>

#include <chrono>
#include <cstdio>

struct add {
  int a, b;
};

int main() {
  using namespace std::chrono_literals;
  troupe::actor_system sys;
  auto adder = sys.spawn([](troupe::actor_base&) -> troupe::behavior {
    return {[](add x) { return x.a + x.b; }};
  });
  auto names = troupe::actors::spawn_registry(sys);
  troupe::request(names, troupe::actors::register_name{"adder", adder}, 10s).get().value();
  troupe::actor found = troupe::request(names, troupe::actors::lookup_name{"adder"}, 10s).get().value();
  auto r = troupe::request<int>(found, add{2, 3}, 10s).get();
  std::printf("consumer: 2 + 3 = %d\n", r ? *r : -1);
  troupe::testing::test_system t{1};
  auto test_adder = t.sys.spawn([](troupe::actor_base&) -> troupe::behavior {
    return {[](add x) { return x.a + x.b; }};
  });
  auto f = troupe::request<int>(test_adder, add{4, 5}, 10s);
  auto d = t.await(f);
  std::printf("consumer: 4 + 5 = %d (deterministic)\n", d ? *d : -1);
  auto types = std::make_shared<troupe::net::type_registry>();
  types->add<add>("consumer.add");
  troupe::net::node_config cfg;
  cfg.secret = "consumer";
  cfg.types = types;
  troupe::actor_system other;
  troupe::net::node here{sys, cfg}, there{other, cfg};
  there.publish(other.spawn([](troupe::actor_base&) -> troupe::behavior { return {[](add x) { return x.a + x.b; }}; }),
                "adder");
  auto peer = here.connect("127.0.0.1", there.listen("127.0.0.1", 0)).get(10s).value();
  auto remote = here.lookup(peer, "adder").get(10s).value();
  auto n = troupe::request<int>(remote, add{6, 7}, 10s).get();
  std::printf("consumer: 6 + 7 = %d (across nodes)\n", n ? *n : -1);
  return r && *r == 5 && d && *d == 9 && n && *n == 13 ? 0 : 1;
}
