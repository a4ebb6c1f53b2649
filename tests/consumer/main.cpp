// Links the installed troupe::framework and runs one request: exit 0 if the reply is right.
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
  auto r = troupe::request<int>(adder, add{2, 3}, 10s).get();
  std::printf("consumer: 2 + 3 = %d\n", r ? *r : -1);
  return r && *r == 5 ? 0 : 1;
}
