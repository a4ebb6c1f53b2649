// Links the installed troupe::framework and troupe::actors, runs a request through a name
// looked up in the registry: exit 0 if the reply is right.
#include <troupe/actors/registry.hpp>
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
  return r && *r == 5 ? 0 : 1;
}
