// Time: the virtual clock, delayed and periodic sends, idle timeouts, request timeouts, scale.
#include <support/test_actors.hpp>

#include <troupe/testing/test_system.hpp>

#include <catch2/catch.hpp>

#include <random>

using namespace troupe;
using namespace troupe::test;

namespace {
struct tick {
  int n = 0;
  friend bool operator==(const tick&, const tick&) = default;
};
struct get_ticks {};

behavior tick_counter(actor_base&) {
  auto ticks = std::make_shared<std::vector<int>>();
  return {[ticks](tick t) { ticks->push_back(t.n); }, [ticks](get_ticks) { return *ticks; }};
}
}  // namespace

TEST_CASE("delayed sends fire when virtual time reaches them", "[framework][timer]") {
  testing::test_system t;
  auto c = t.sys.spawn(tick_counter);
  delayed_send(c, 2s, tick{2});
  delayed_send(c, 1s, tick{1});
  // clock().advance fires due timers without running actors, so expect can look at what came.
  t.clock().advance(999ms);
  t.disallow<tick>(c);
  t.clock().advance(1ms);
  t.expect<tick>(c, tick{1});
  t.clock().advance(1s);
  t.expect<tick>(c, [](const tick& x) { return x.n == 2; });
  CHECK(t.clock().pending() == 0);
}

TEST_CASE("periodic sends repeat without drift until cancelled", "[framework][timer]") {
  testing::test_system t;
  auto c = t.sys.spawn(tick_counter);
  timer_handle h = periodic_send(c, 100ms, tick{7});
  const auto start = t.clock().now();
  t.advance_time(1s);
  auto ticks = request<std::vector<int>>(c, get_ticks{}, prompt);
  CHECK(t.await(ticks)->size() == 10);
  CHECK(t.clock().next_deadline() == start + 1100ms);
  CHECK(h.active());
  h.cancel();
  CHECK_FALSE(h.active());
  t.advance_time(1s);
  auto after = request<std::vector<int>>(c, get_ticks{}, prompt);
  CHECK(t.await(after)->size() == 10);
  CHECK(t.clock().pending() == 0);
}

TEST_CASE("a timer does not keep its target alive and stops when it dies", "[framework][timer]") {
  testing::test_system t;
  timer_handle h;
  {
    auto c = t.sys.spawn(tick_counter);
    h = periodic_send(c, 10ms, tick{});
  }
  t.run_until_idle();  // unreferenced: the counter quits
  t.advance_time(50ms);
  CHECK(t.clock().pending() == 0);  // the first shot bounced and the timer stopped
  CHECK(t.sys.running_actors() == 0);
}

TEST_CASE("the idle timeout runs after a quiet period, not while busy", "[framework][timer]") {
  testing::test_system t;
  auto idles = std::make_shared<int>(0);
  auto a = t.sys.spawn([](actor_base& self, std::shared_ptr<int> n) -> behavior {
    self.set_idle_timeout(100ms, [n] { ++*n; });
    return {[](ping) {}};
  }, idles);
  for (int i = 0; i < 5; ++i) {
    t.advance_time(60ms);
    t.inject(actor(), a, ping{});  // activity every 60 ms: never idle for 100 ms
    t.run_until_idle();
  }
  CHECK(*idles == 0);
  t.advance_time(100ms);
  CHECK(*idles == 1);
  t.advance_time(100ms);
  CHECK(*idles == 2);
}

TEST_CASE("request timeouts and delays follow the virtual clock", "[framework][timer]") {
  testing::test_system t;
  struct hold {};
  auto a = t.sys.spawn([](actor_base& self) -> behavior {
    auto kept = std::make_shared<std::vector<response_promise<int>>>();
    return {
        [&self, kept](hold) {
          kept->push_back(self.make_response_promise<int>());
          return kept->back();
        },
        [&self](ping p) -> task<int> {
          co_await self.delay(5s);
          co_return p.value;
        },
    };
  });
  auto timed = request<int>(a, hold{}, 30s);
  auto slept = request<int>(a, ping{4}, infinite);
  t.run_until_idle();
  t.advance_time(29s);
  CHECK_FALSE(timed.ready());
  CHECK(slept.ready());
  CHECK(*slept.get() == 4);
  t.advance_time(1s);
  REQUIRE(timed.ready());
  CHECK(timed.get().error() == errc::timeout);
}

TEST_CASE("a million pending timers fire in deadline order", "[framework][timer][scale]") {
  testing::test_system t;
  constexpr int n = 1'000'000;
  struct stamp {
    std::int64_t due;
  };
  auto a = t.sys.spawn([](actor_base& self) -> behavior {
    auto last = std::make_shared<std::int64_t>(-1);
    auto count = std::make_shared<int>(0);
    auto out_of_order = std::make_shared<int>(0);
    return {
        [&self, last, count, out_of_order](stamp s) {
          const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
              self.system().timers().now().time_since_epoch()).count();
          if (s.due < *last || s.due > now) ++*out_of_order;
          *last = s.due;
          ++*count;
        },
        [count, out_of_order](get_ticks) { return std::pair{*count, *out_of_order}; },
    };
  });
  std::mt19937 rng(42);
  const auto base = std::chrono::duration_cast<std::chrono::milliseconds>(t.clock().now().time_since_epoch()).count();
  for (int i = 0; i < n; ++i) {
    const int ms = static_cast<int>(rng() % 10'000) + 1;
    delayed_send(a, std::chrono::milliseconds(ms), stamp{base + ms});
  }
  CHECK(t.clock().pending() == static_cast<std::size_t>(n));
  // Fire them step by step; the actor checks they arrive in deadline order, none early.
  for (int step = 0; step < 100; ++step) t.advance_time(100ms);
  CHECK(t.clock().pending() == 0);
  auto r = request<std::pair<int, int>>(a, get_ticks{}, prompt);
  auto res = t.await(r);
  CHECK(res->first == n);
  CHECK(res->second == 0);
}
