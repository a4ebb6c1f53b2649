#include <support/test_actors.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <thread>

using namespace troupe;
using namespace troupe::test;

namespace {

struct hold {};     // keep the request unanswered (in a promise)
struct release {};  // answer the held request
struct die {};
struct boom {};

behavior holder(actor_base& self) {
  auto held = std::make_shared<response_promise<int>>();
  return {
      [&self, held](hold) {
        *held = self.make_response_promise<int>();
        return *held;
      },
      [held](release) { held->deliver(42); },
      [&self](die) { self.quit(); },
      [](boom) -> int { throw std::runtime_error("boom"); },
      [](ping p) { return pong{p.value + 1}; },
  };
}

}  // namespace

TEST_CASE("a request that is not answered in time fails with timeout", "[framework][request]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(holder);
  auto r = request<int>(a, hold{}, 20ms).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::timeout);
}

TEST_CASE("a response promise answers later, from another handler", "[framework][request]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(holder);
  auto f = request<int>(a, hold{}, prompt);
  send(a, release{});
  auto r = f.get();
  REQUIRE(r);
  CHECK(*r == 42);
}

TEST_CASE("a dropped response promise fails with broken_promise", "[framework][request]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn([](actor_base& self) -> behavior {
    return {[&self](hold) { return self.make_response_promise<int>(); }};  // dropped at once
  });
  auto r = request<int>(a, hold{}, prompt).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::broken_promise);
}

TEST_CASE("requests to a dead actor fail promptly with receiver_down", "[framework][request]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(holder);

  SECTION("queued behind quit") {
    // All sent from this thread, so they arrive in this order: the ones behind `die` are still
    // in the mailbox when the actor quits.
    auto before = request<pong>(a, ping{1}, infinite);
    send(a, die{});
    auto after = request<pong>(a, ping{2}, infinite);
    CHECK(before.get()->value == 2);
    auto r = after.get(prompt);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::receiver_down);
  }
  SECTION("sent after it died") {
    request<void>(a, die{}, prompt).get().value();  // acknowledged: the actor quits right after
    auto r = request<pong>(a, ping{1}, infinite).get(prompt);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::receiver_down);
  }
  SECTION("pending in a promise when the actor quits") {
    auto held = request<int>(a, hold{}, infinite);
    send(a, die{});
    auto r = held.get(prompt);
    REQUIRE_FALSE(r);
    // The behavior (and the promise it captured) is destroyed as the actor quits.
    CHECK(r.error() == errc::receiver_down);
  }
}

TEST_CASE("a request to an empty handle fails at once", "[framework][request]") {
  actor_system sys{two_workers()};
  auto r = request<int>(actor(), ping{}, infinite).get(prompt);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::receiver_down);
}

TEST_CASE("a throwing handler terminates its actor and fails the request", "[framework][request]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(holder);
  auto r = request<int>(a, boom{}, prompt).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::handler_exception);
  CHECK(r.error().detail() == "boom");
  auto after = request<pong>(a, ping{1}, infinite).get(prompt);
  REQUIRE_FALSE(after);
  CHECK(after.error() == errc::receiver_down);
}

TEST_CASE("delegation lets another actor answer the original requester", "[framework][request]") {
  actor_system sys{two_workers()};
  auto worker = sys.spawn([](actor_base& self) -> behavior {
    return {[&self](ping p) { return std::pair{pong{p.value * 10}, self.current_sender()}; }};
  });
  auto front = sys.spawn([](actor_base& self, actor w) -> behavior {
    return {[&self, w](ping p) { return self.delegate<std::pair<pong, actor>>(w, p); }};
  }, worker);
  auto r = request<std::pair<pong, actor>>(front, ping{4}, prompt).get();
  REQUIRE(r);
  CHECK(r->first.value == 40);
  CHECK_FALSE(r->second);  // the original sender (none: this thread) stays the sender
}

TEST_CASE("get with a timeout leaves the future usable", "[framework][request][future]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(holder);
  auto f = request<int>(a, hold{}, infinite);
  auto first = f.get(1ms);
  REQUIRE_FALSE(first);
  CHECK(first.error() == errc::timeout);
  CHECK(f.valid());
  send(a, release{});
  auto second = f.get(prompt);
  REQUIRE(second);
  CHECK(*second == 42);
}

TEST_CASE("requests from many threads all complete", "[framework][request]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(echo_plus_one);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        auto r = request<pong>(a, ping{t * 1000 + i}, prompt).get();
        if (r && r->value == t * 1000 + i + 1) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok.load() == 2000);
}
