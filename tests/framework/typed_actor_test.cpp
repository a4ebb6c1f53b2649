#include <support/test_actors.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <type_traits>

using namespace troupe;
using namespace troupe::test;

namespace {
struct add {
  int a, b;
};
struct reset {};
struct name {};
using calculator = typed_actor<int(add), void(reset), std::string(name)>;

calculator::behavior_type calc_impl(actor_base& self) {
  return {
      [](add x) { return x.a + x.b; },
      [](reset) {},
      [&self](name) -> task<std::string> {
        co_await self.delay(std::chrono::milliseconds(1));
        co_return std::string("calc");
      },
  };
}
}  // namespace

TEST_CASE("typed actors deduce reply types from their interface", "[framework][typed]") {
  actor_system sys{two_workers()};
  calculator calc = sys.spawn(calc_impl);
  static_assert(std::is_same_v<decltype(request(calc, add{1, 2}, prompt)), future<int>>);
  static_assert(std::is_same_v<decltype(request(calc, name{}, prompt)), future<std::string>>);
  CHECK(*request(calc, add{1, 2}, prompt).get() == 3);
  CHECK(request(calc, reset{}, prompt).get().has_value());
  CHECK(*request(calc, name{}, prompt).get() == "calc");
  send(calc, reset{});

  // An actor can talk to a typed actor too.
  auto client = sys.spawn([](actor_base& self, calculator c) -> behavior {
    return {[&self, c](ping p) { return self.request(c, add{p.value, p.value}, prompt); }};
  }, calc);
  CHECK(*request<int>(client, ping{21}, prompt).get() == 42);

  std::hash<calculator> h;
  CHECK(h(calc) == std::hash<actor>()(calc.untyped()));
}
