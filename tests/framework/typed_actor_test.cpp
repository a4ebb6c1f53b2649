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

namespace {
struct get_total {};
/// A class-based typed actor: its state lives in members, not in shared_ptr captures.
class accumulator : public typed_actor_base<int(add), void(reset), int(get_total)> {
 public:
  explicit accumulator(int start) : total_(start) {}

 protected:
  behavior_type make_typed_behavior() override {
    return {
        [this](add x) { return total_ += x.a + x.b; },
        [this](reset) { total_ = 0; },
        [this](get_total) { return total_; },
    };
  }

 private:
  int total_;
};
}  // namespace

TEST_CASE("class-based actors can have typed interfaces", "[framework][typed]") {
  actor_system sys{two_workers()};
  auto acc = sys.spawn<accumulator>(10);
  static_assert(std::is_same_v<decltype(acc), typed_actor<int(add), void(reset), int(get_total)>>);
  static_assert(std::is_same_v<decltype(request(acc, add{1, 2}, prompt)), future<int>>);
  CHECK(*request(acc, add{1, 2}, prompt).get() == 13);
  send(acc, add{5, 5});
  CHECK(*request(acc, get_total{}, prompt).get() == 23);
  CHECK(request(acc, reset{}, prompt).get().has_value());
  CHECK(*request(acc, get_total{}, prompt).get() == 0);
}
