#include <support/test_actors.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <stdexcept>
#include <string>
#include <vector>

using namespace troupe;
using namespace troupe::test;

namespace {

struct sum_of {
  int a, b;
};
struct gate_open {};
struct hold {};
struct log_entry {
  std::string s;
};
struct get_log {};

// Answers ping after a `gate_open` arrives: lets a test keep a coroutine suspended. Tells the
// test (through `arrived`) when the first ping is there, so that it can open the gate after.
behavior gated_echo(actor_base& self, std::shared_ptr<std::promise<void>> arrived) {
  auto waiting = std::make_shared<std::vector<std::pair<response_promise<pong>, int>>>();
  return {
      [&self, waiting, arrived](ping p) {
        if (waiting->empty() && arrived) arrived->set_value();
        waiting->emplace_back(self.make_response_promise<pong>(), p.value);
        return waiting->back().first;
      },
      [waiting](gate_open) {
        for (auto& [promise, v] : *waiting) promise.deliver(pong{v + 1});
        waiting->clear();
      },
  };
}

task<int> add_one_later(actor_base& self, actor echo, int x) {
  auto r = co_await self.request<pong>(echo, ping{x}, prompt);
  co_return r ? r->value : -1;
}

}  // namespace

TEST_CASE("a coroutine handler co_awaits two requests with when_all", "[framework][coroutine]") {
  actor_system sys{two_workers()};
  auto echo = sys.spawn(echo_plus_one);
  auto adder = sys.spawn([](actor_base& self, actor e) -> behavior {
    return {[&self, e](sum_of s) -> task<int> {
      auto both = co_await when_all(self.request<pong>(e, ping{s.a}, prompt), self.request<pong>(e, ping{s.b}, prompt));
      if (!both) co_return -1;
      auto [x, y] = *both;
      co_return x.value + y.value;
    }};
  }, echo);
  auto r = request<int>(adder, sum_of{10, 20}, prompt).get();
  REQUIRE(r);
  CHECK(*r == 32);
}

TEST_CASE("coroutines await helpers, delays, and answer with errors", "[framework][coroutine]") {
  actor_system sys{two_workers()};
  auto echo = sys.spawn(echo_plus_one);
  auto a = sys.spawn([](actor_base& self, actor e) -> behavior {
    return {
        [&self, e](ping p) -> task<int> {
          int once = co_await add_one_later(self, e, p.value);  // a nested task
          auto slept = co_await self.delay(1ms);
          if (!slept) co_return -1;
          co_return co_await add_one_later(self, e, once);
        },
        [](hold) -> task<result<int>> { co_return error(errc::user, "refused"); },
    };
  }, echo);
  CHECK(*request<int>(a, ping{1}, prompt).get() == 3);
  auto refused = request<int>(a, hold{}, prompt).get();
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == errc::user);
}

TEST_CASE("while a coroutine awaits, the actor keeps handling messages (interleave)", "[framework][coroutine]") {
  actor_system sys{two_workers()};
  auto arrived = std::make_shared<std::promise<void>>();
  auto at_gate = arrived->get_future();
  auto gate = sys.spawn(gated_echo, arrived);
  auto a = sys.spawn([](actor_base& self, actor g) -> behavior {
    auto log = std::make_shared<std::vector<std::string>>();
    return {
        [&self, g, log](ping p) -> task<void> {
          log->push_back("start");
          auto r = co_await self.request<pong>(g, p, prompt);
          log->push_back("resumed " + std::to_string(r ? r->value : -1));
        },
        [log](log_entry e) { log->push_back(e.s); },
        [log](get_log) { return *log; },
    };
  }, gate);
  auto done = request<void>(a, ping{1}, prompt);
  // The coroutine is suspended until the gate opens, yet the actor handles this:
  CHECK(request<void>(a, log_entry{"other"}, prompt).get().has_value());
  REQUIRE(at_gate.wait_for(prompt) == std::future_status::ready);
  send(gate, gate_open{});
  CHECK(done.get().has_value());
  auto log = request<std::vector<std::string>>(a, get_log{}, prompt).get();
  CHECK(*log == std::vector<std::string>{"start", "other", "resumed 2"});
}

TEST_CASE("await_mode::sequential holds messages back until the coroutine finishes", "[framework][coroutine]") {
  actor_system sys{two_workers()};
  auto arrived = std::make_shared<std::promise<void>>();
  auto at_gate = arrived->get_future();
  auto gate = sys.spawn(gated_echo, arrived);
  auto a = sys.spawn([](actor_base& self, actor g) -> behavior {
    self.set_await_mode(await_mode::sequential);
    auto log = std::make_shared<std::vector<std::string>>();
    return {
        [&self, g, log](ping p) -> task<void> {
          log->push_back("start");
          auto r = co_await self.request<pong>(g, p, prompt);
          log->push_back("resumed " + std::to_string(r ? r->value : -1));
        },
        [log](log_entry e) { log->push_back(e.s); },
        [log](get_log) { return *log; },
    };
  }, gate);
  auto done = request<void>(a, ping{1}, prompt);
  auto other = request<void>(a, log_entry{"other"}, prompt);
  // `other` is held back: it cannot complete while the coroutine waits for the gate.
  CHECK_FALSE(other.get(20ms).has_value());
  REQUIRE(at_gate.wait_for(prompt) == std::future_status::ready);
  send(gate, gate_open{});
  CHECK(done.get().has_value());
  CHECK(other.get().has_value());
  auto log = request<std::vector<std::string>>(a, get_log{}, prompt).get();
  CHECK(*log == std::vector<std::string>{"start", "resumed 2", "other"});
}

TEST_CASE("an exception in a coroutine handler terminates the actor", "[framework][coroutine]") {
  actor_system sys{two_workers()};
  auto echo = sys.spawn(echo_plus_one);
  auto a = sys.spawn([](actor_base& self, actor e) -> behavior {
    return {[&self, e](ping p) -> task<int> {
      co_await self.request<pong>(e, p, prompt);
      throw std::runtime_error("after the await");
    }};
  }, echo);
  auto r = request<int>(a, ping{1}, prompt).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::handler_exception);
  CHECK(r.error().detail() == "after the await");
  auto after = request<int>(a, ping{1}, infinite).get(prompt);
  REQUIRE_FALSE(after);
  CHECK(after.error() == errc::receiver_down);
}

TEST_CASE("a coroutine whose actor dies is destroyed and its request fails", "[framework][coroutine]") {
  actor_system sys{two_workers()};
  auto arrived = std::make_shared<std::promise<void>>();
  auto at_gate = arrived->get_future();
  auto gate = sys.spawn(gated_echo, arrived);
  struct stop {};
  auto a = sys.spawn([](actor_base& self, actor g) -> behavior {
    return {
        [&self, g](ping p) -> task<int> {
          auto r = co_await self.request<pong>(g, p, infinite);
          co_return r ? r->value : -1;
        },
        [&self](stop) { self.quit(); },
    };
  }, gate);
  auto pending = request<int>(a, ping{1}, infinite);
  send(a, stop{});
  REQUIRE(at_gate.wait_for(prompt) == std::future_status::ready);
  send(gate, gate_open{});  // the awaited reply now arrives at a dead actor
  auto r = pending.get(prompt);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::receiver_down);
}

TEST_CASE("then continuations inside an actor run on the actor", "[framework][coroutine][future]") {
  actor_system sys{two_workers()};
  auto echo = sys.spawn(echo_plus_one);
  // A non-atomic counter touched by handlers and continuations: a data race here (caught by
  // the tsan preset) or a lost update would mean they ran concurrently.
  auto a = sys.spawn([](actor_base& self, actor e) -> behavior {
    auto count = std::make_shared<int>(0);
    return {
        [&self, e, count](ping p) {
          std::vector<future<void>> done;
          for (int i = 0; i < 100; ++i)
            done.push_back(self.request<pong>(e, p, prompt).then([count](pong) { ++*count; }));
          return when_all(std::move(done));  // answered once all 100 continuations ran
        },
        [count](get_log) { return *count; },
        [count](hold) { ++*count; },
    };
  }, echo);
  std::vector<future<std::vector<unit>>> rounds;
  for (int i = 0; i < 20; ++i) {
    rounds.push_back(request<std::vector<unit>>(a, ping{i}, prompt));
    for (int k = 0; k < 100; ++k) send(a, hold{});
  }
  for (auto& r : rounds) CHECK(r.get().has_value());
  CHECK(*request<int>(a, get_log{}, prompt).get() == 4000);
}

namespace {
std::atomic<const void*> last_destroyed{nullptr};

/// A message that records where it was destroyed: a coroutine can tell whether the message it
/// refers to is still alive.
struct tracked {
  std::string text;
  explicit tracked(std::string t) : text(std::move(t)) {}
  tracked(tracked&&) = default;
  ~tracked() { last_destroyed.store(this); }
};
struct by_rvalue {
  tracked t;
};
}  // namespace

TEST_CASE("a coroutine handler may take its message by reference across suspensions", "[framework][coroutine]") {
  actor_system sys{two_workers()};
  auto echo = sys.spawn(echo_plus_one);
  auto a = sys.spawn([](actor_base& self, actor e) -> behavior {
    return {
        [&self, e](const tracked& m) -> task<std::string> {
          co_await self.request<pong>(e, ping{1}, prompt);  // suspends; other messages may run
          co_await self.delay(std::chrono::milliseconds(1));
          if (last_destroyed.load() == &m) co_return "destroyed";
          co_return m.text;
        },
        [&self, e](by_rvalue&& m) -> task<std::string> {
          co_await self.request<pong>(e, ping{1}, prompt);
          if (last_destroyed.load() == &m.t) co_return "destroyed";
          co_return std::move(m.t.text);
        },
    };
  }, echo);
  const std::string long_text(100, 'x');  // on the heap: freed memory would not read back as this
  auto r1 = request<std::string>(a, tracked{long_text}, prompt);
  auto r2 = request<std::string>(a, by_rvalue{tracked{long_text + "y"}}, prompt);
  CHECK(*r1.get() == long_text);
  CHECK(*r2.get() == long_text + "y");
}
