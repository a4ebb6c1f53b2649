#include <support/test_actors.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <thread>

using namespace troupe;
using namespace troupe::test;

namespace {
struct hold {};
behavior never_answers(actor_base& self) {
  auto keep = std::make_shared<std::vector<response_promise<int>>>();
  return {[&self, keep](hold) {
    keep->push_back(self.make_response_promise<int>());
    return keep->back();
  }};
}
}  // namespace

TEST_CASE("then chains continuations and flattens results and futures", "[framework][future]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(echo_plus_one);
  auto f = request<pong>(a, ping{1}, prompt)
               .then([](pong p) { return p.value * 10; })                          // T -> U
               .then([](int v) -> result<std::string> { return std::to_string(v); })  // result<U>
               .then([a](std::string s) { return request<pong>(a, ping{static_cast<int>(s.size())}, prompt); });
  auto r = f.get();
  REQUIRE(r);
  CHECK(r->value == 3);  // "20" has 2 characters, plus one
}

TEST_CASE("then skips value continuations on error and passes the error on", "[framework][future]") {
  actor_system sys{two_workers()};
  bool called = false;
  auto r = request<pong>(actor(), ping{}, prompt).then([&](pong) { called = true; return 1; }).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::receiver_down);
  CHECK_FALSE(called);

  auto handled = request<pong>(actor(), ping{}, prompt)
                     .then([](result<pong> x) { return x ? 1 : -1; })
                     .get();
  CHECK(*handled == -1);
}

TEST_CASE("a continuation that throws fails its future", "[framework][future]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(echo_plus_one);
  auto r = request<pong>(a, ping{}, prompt).then([](pong) -> int { throw std::runtime_error("nope"); }).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::handler_exception);
  CHECK(r.error().detail() == "nope");
}

TEST_CASE("when_all combines futures of different types", "[framework][future][when]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(echo_plus_one);
  auto b = sys.spawn([](actor_base&) -> behavior { return {[](int x) { return std::to_string(x); }}; });
  auto r = when_all(request<pong>(a, ping{1}, prompt), request<std::string>(b, 7, prompt),
                    make_ready_future())
               .get();
  REQUIRE(r);
  CHECK(std::get<0>(*r).value == 2);
  CHECK(std::get<1>(*r) == "7");
}

TEST_CASE("when_all fails promptly when one request fails", "[framework][future][when]") {
  actor_system sys{two_workers()};
  auto slow = sys.spawn(never_answers);
  auto a = sys.spawn(echo_plus_one);
  // The first input never completes by itself (infinite timeout); the second fails at once.
  auto all = when_all(request<int>(slow, hold{}, infinite), request<pong>(actor(), ping{}, infinite),
                      request<pong>(a, ping{1}, infinite));
  auto r = all.get(prompt);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::receiver_down);
}

TEST_CASE("when_all over a vector keeps the input order", "[framework][future][when]") {
  actor_system sys{two_workers()};
  std::vector<actor> servers;
  for (int i = 0; i < 10; ++i) servers.push_back(sys.spawn(echo_plus_one));
  std::vector<future<pong>> fs;
  for (int i = 0; i < 10; ++i) fs.push_back(request<pong>(servers[static_cast<std::size_t>(i)], ping{i}, prompt));
  auto r = when_all(std::move(fs)).get();
  REQUIRE(r);
  REQUIRE(r->size() == 10);
  for (int i = 0; i < 10; ++i) CHECK((*r)[static_cast<std::size_t>(i)].value == i + 1);
  CHECK(when_all(std::vector<future<int>>{}).get()->empty());
}

TEST_CASE("when_any completes with the first success", "[framework][future][when]") {
  actor_system sys{two_workers()};
  auto slow = sys.spawn(never_answers);
  auto a = sys.spawn(echo_plus_one);
  auto r = when_any(request<int>(slow, hold{}, infinite), request<pong>(a, ping{5}, prompt)).get(prompt);
  REQUIRE(r);
  REQUIRE(r->index() == 1);
  CHECK(std::get<1>(*r).value == 6);

  // Failures are skipped while another input can still succeed.
  std::vector<future<pong>> fs;
  fs.push_back(request<pong>(actor(), ping{}, prompt));
  fs.push_back(request<pong>(a, ping{9}, prompt));
  auto v = when_any(std::move(fs)).get(prompt);
  REQUIRE(v);
  CHECK(v->first == 1);
  CHECK(v->second.value == 10);

  // All failed: the last error.
  auto none = when_any(request<pong>(actor(), ping{}, prompt), request<int>(slow, hold{}, 1ms)).get(prompt);
  REQUIRE_FALSE(none);
  CHECK((none.error() == errc::timeout || none.error() == errc::receiver_down));
}

TEST_CASE("get inside an actor reports blocking_in_actor instead of blocking", "[framework][future]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(echo_plus_one);
  auto b = sys.spawn([](actor_base& self, actor target) -> behavior {
    return {[&self, target](hold) {
      auto f = self.request<pong>(target, ping{1}, prompt);
      auto r = f.get();  // a bug in user code: must not block the worker
      return r ? 0 : static_cast<int>(r.error().code());
    }};
  }, a);
  auto r = request<int>(b, hold{}, prompt).get();
  REQUIRE(r);
  CHECK(*r == static_cast<int>(errc::blocking_in_actor));
}

TEST_CASE("ready and error futures", "[framework][future]") {
  auto f = make_ready_future(5);
  CHECK(f.ready());
  CHECK(*f.get() == 5);
  CHECK_FALSE(f.valid());
  auto e = make_error_future<int>(error(errc::user, "x"));
  CHECK(e.get().error() == errc::user);
  future<int> empty;
  CHECK(empty.get().error() == errc::invalid_future);
}

namespace {
constexpr int deep = 100'000;

/// An asynchronous loop: each step's continuation returns the future of the next step.
future<int> count_down(int n) {
  if (n == 0) return make_ready_future(0);
  return make_ready_future(n).then([](int k) { return count_down(k - 1); });
}

struct run_loop {
  int steps;
};

/// The value, or -1 for an error: lets a CHECK compare a result<int> with a number.
int value_of(result<int> r) { return r ? *r : -1; }
}  // namespace

TEST_CASE("a 100k-step then chain attached outside actors runs in bounded stack", "[framework][future][deep]") {
  auto head = detail::make_state<int>();
  future<int> f{head};
  for (int i = 0; i < deep; ++i) f = std::move(f).then([](int v) { return v + 1; });
  head->set_value(0);  // completes the whole chain from here
  auto r = f.get();
  REQUIRE(r);
  CHECK(*r == deep);
}

TEST_CASE("an asynchronous loop of 100k steps runs in bounded stack outside actors", "[framework][future][deep]") {
  auto r = count_down(deep).get();
  REQUIRE(r);
  CHECK(*r == 0);
}

TEST_CASE("an asynchronous loop of 100k steps runs in bounded stack inside an actor", "[framework][future][deep]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn([](actor_base&) -> behavior {
    return {[](run_loop l) { return count_down(l.steps); }};
  });
  auto r = request<int>(a, run_loop{deep}, prompt).get();
  REQUIRE(r);
  CHECK(*r == 0);
}

TEST_CASE("consuming an empty or consumed future fails with invalid_future", "[framework][future]") {
  future<int> empty;
  CHECK(empty.get().error() == errc::invalid_future);
  CHECK(future<int>{}.then([](int v) { return v; }).get().error() == errc::invalid_future);
  CHECK(value_of(future<int>{}.then([](result<int> r) { return r ? 1 : 2; }).get()) == 2);
  auto out = detail::make_state<int>();
  future<int>{}.forward_to(out);
  CHECK(future<int>(out).get().error() == errc::invalid_future);
  CHECK(when_all(future<int>{}, make_ready_future(1)).get().error() == errc::invalid_future);
  CHECK(when_any(future<int>{}, future<int>{}).get().error() == errc::invalid_future);
  std::vector<future<int>> v;
  v.emplace_back();
  CHECK(when_all(std::move(v)).get().error() == errc::invalid_future);
  auto f = make_ready_future(3);
  (void)f.get();
  CHECK(f.get().error() == errc::invalid_future);  // consumed
}

TEST_CASE("co_await of an empty future yields invalid_future", "[framework][future][coroutine]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn([](actor_base&) -> behavior {
    return {[](hold) -> task<int> {
      future<int> nothing;
      auto r = co_await std::move(nothing);
      co_return r ? 1 : static_cast<int>(r.error().code());
    }};
  });
  CHECK(value_of(request<int>(a, hold{}, prompt).get()) == static_cast<int>(errc::invalid_future));
}

TEST_CASE("get in a continuation run by a worker refuses to block it", "[framework][future][blocking]") {
  actor_system sys{two_workers()};
  auto silent = sys.spawn(never_answers);
  // Attached outside any actor, to a future that an actor completes later: the continuation
  // then runs on that actor's worker.
  struct complete {
    detail::state_ptr<int> st;
  };
  auto completer = sys.spawn([](actor_base&) -> behavior {
    return {[](complete c) { c.st->set_value(1); }};
  });
  auto head = detail::make_state<int>();
  auto f = future<int>(head).then([silent](int) {
    auto inner = request<int>(silent, hold{}, infinite);
    return static_cast<int>(inner.get().error().code());  // would block the worker forever
  });
  send(completer, complete{head});
  CHECK(value_of(f.get(prompt)) == static_cast<int>(errc::blocking_in_actor));
}

TEST_CASE("get in a continuation run by the timer thread refuses to block it", "[framework][future][blocking]") {
  actor_system sys{two_workers()};
  auto silent = sys.spawn(never_answers);
  // The continuation is attached first; then the timeout is armed, and fires on the timer
  // thread, which runs the continuation.
  auto st = detail::make_state<int>();
  auto f = future<int>(st).then([silent](result<int>) {
    auto inner = request<int>(silent, hold{}, infinite);
    return static_cast<int>(inner.get(std::chrono::hours(1)).error().code());
  });
  st->arm_timeout(sys, std::chrono::milliseconds(1));
  CHECK(value_of(f.get(prompt)) == static_cast<int>(errc::blocking_in_actor));
}
