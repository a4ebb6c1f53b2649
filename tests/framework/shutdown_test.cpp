// Shutdown never hangs. Each test here would hang (and hit its CTest TIMEOUT) if it did.
#include <support/test_actors.hpp>

#include <troupe/testing/test_system.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <thread>

using namespace troupe;
using namespace troupe::test;

namespace {
struct hold {};
struct wait_for_peer {
  actor peer;
};

// Answers nothing: keeps every request's promise.
behavior black_hole(actor_base& self) {
  auto kept = std::make_shared<std::vector<response_promise<int>>>();
  return {[&self, kept](hold) {
    kept->push_back(self.make_response_promise<int>());
    return kept->back();
  }};
}

// Awaits a request to its peer forever; counts its on_exit.
class waiter : public actor_base {
 public:
  explicit waiter(std::atomic<int>* exits) : exits_(exits) {}

 protected:
  behavior make_behavior() override {
    return {[this](wait_for_peer w) -> task<int> {
      auto r = co_await request<int>(w.peer, hold{}, infinite);
      co_return r ? *r : -1;
    }};
  }
  void on_exit(const exit_reason& r) override {
    if (r.code() == exit_code::shutdown) exits_->fetch_add(1);
  }

 private:
  std::atomic<int>* exits_;
};
}  // namespace

TEST_CASE("shutdown stops actors waiting on each other, on timers and on coroutines", "[framework][shutdown]") {
  std::atomic<int> exits{0};
  future<int> outside;
  future<void> sleeping;
  {
    actor_system sys{two_workers()};
    auto a = sys.spawn<waiter>(&exits);
    auto b = sys.spawn<waiter>(&exits);
    send(a, wait_for_peer{sys.spawn(black_hole)});
    send(b, wait_for_peer{a});  // a never answers b: a is itself waiting
    auto sleeper = sys.spawn([](actor_base& self) -> behavior {
      return {[&self](ping) { return self.delay(std::chrono::hours(24)); }};
    });
    sleeping = request<void>(sleeper, ping{}, infinite);
    outside = request<int>(a, hold{}, infinite);  // unhandled by a: fails at once anyway
    periodic_send(a, 1ms, ping{});                // a timer that keeps firing
    sys.shutdown();
    CHECK(sys.running_actors() == 0);
    sys.shutdown();  // idempotent
  }
  CHECK(exits.load() == 2);  // both waiters ran on_exit with the shutdown reason
  CHECK_FALSE(outside.get(prompt).has_value());
  auto s = sleeping.get(prompt);
  REQUIRE_FALSE(s);
  CHECK((s.error() == errc::cancelled || s.error() == errc::receiver_down));
}

TEST_CASE("shutdown with a deterministic scheduler runs the actors it stops", "[framework][shutdown][deterministic]") {
  std::atomic<int> exits{0};
  {
    testing::test_system t;
    auto a = t.sys.spawn<waiter>(&exits);
    t.inject(actor(), a, wait_for_peer{t.sys.spawn(black_hole)});
    t.run_until_idle();
  }  // ~test_system shuts down on this thread
  CHECK(exits.load() == 1);
}

TEST_CASE("await_all_actors_done returns when the actors finish by themselves", "[framework][shutdown]") {
  actor_system sys{two_workers()};
  std::atomic<int> handled{0};
  {
    std::vector<actor> workers;
    for (int i = 0; i < 100; ++i)
      workers.push_back(sys.spawn([](actor_base&, std::atomic<int>* n) -> behavior {
        return {[n](ping) { n->fetch_add(1); }};
      }, &handled));
    for (auto& w : workers)
      for (int k = 0; k < 10; ++k) send(w, ping{k});
  }  // no handle left: each finishes its mailbox and quits
  sys.await_all_actors_done();
  CHECK(handled.load() == 1000);
  CHECK(sys.running_actors() == 0);
}

TEST_CASE("run_blocking keeps workers free and completes on the actor", "[framework][blocking]") {
  actor_system_config cfg = two_workers();
  cfg.worker_count = 1;  // one worker: a blocked handler would stall everything
  actor_system sys{cfg};
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  auto a = sys.spawn([](actor_base& self, std::shared_future<void> g) -> behavior {
    return {
        [&self, g](hold) -> task<int> {
          auto job = [g] {
            g.wait();  // blocks a pool thread, not the worker
            return 42;
          };
          // Named first: GCC 12 destroys a lambda temporary inside co_await twice (see guide).
          auto r = co_await run_blocking(self.system(), std::move(job));
          co_return r ? *r : -1;
        },
        [](ping p) { return pong{p.value}; },
    };
  }, opened);
  auto slow = request<int>(a, hold{}, infinite);
  // The only worker is free: the same actor still answers while its coroutine waits.
  CHECK(request<pong>(a, ping{3}, prompt).get()->value == 3);
  gate.set_value();
  CHECK(*slow.get(prompt) == 42);

  auto thrown = run_blocking(sys, []() -> int { throw std::runtime_error("io error"); }).get(prompt);
  REQUIRE_FALSE(thrown);
  CHECK(thrown.error() == errc::handler_exception);
}

TEST_CASE("timers work on the real thread pool too", "[framework][timer]") {
  actor_system sys{two_workers()};
  std::promise<int> got;
  auto f = got.get_future();
  auto a = sys.spawn([](actor_base& self, std::promise<int>* p) -> behavior {
    auto count = std::make_shared<int>(0);
    periodic_send(self, self.handle(), 1ms, ping{});
    return {[count, p](ping) {
      if (++*count == 5) p->set_value(*count);
    }};
  }, &got);
  REQUIRE(f.wait_for(prompt) == std::future_status::ready);
  CHECK(f.get() == 5);
  send_exit(a, exit_reason::kill());
}

TEST_CASE("spawn after shutdown gives a dead actor: sends bounce, requests fail at once",
          "[framework][shutdown]") {
  actor_system sys{two_workers()};
  sys.shutdown();
  std::atomic<int> started{0};
  auto a = sys.spawn([&started](actor_base&) -> behavior {
    started.fetch_add(1);
    return {[](ping p) { return pong{p.value + 1}; }};
  });
  REQUIRE(a);
  CHECK(started.load() == 0);  // never started
  CHECK(sys.running_actors() == 0);
  auto r = request<pong>(a, ping{1}, infinite).get(prompt);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::receiver_down);
  const auto dead_before = sys.dead_letters();
  send(a, ping{2});
  CHECK(sys.dead_letters() == dead_before + 1);
}

TEST_CASE("an actor spawned while the system shuts down is stopped, not left unstarted",
          "[framework][shutdown]") {
  actor_system sys{two_workers()};
  std::promise<actor> spawned;
  auto child = spawned.get_future();
  // Its on_exit spawns another actor: by then the system is shutting down.
  struct spawner : actor_base {
    std::promise<actor>* out;
    explicit spawner(std::promise<actor>* o) : out(o) {}
    void on_exit(const exit_reason&) override { out->set_value(system().spawn(echo_plus_one)); }
  };
  auto keep = sys.spawn<spawner>(&spawned);  // held: it quits at shutdown, not before
  sys.shutdown();
  auto late = child.get();
  auto r = request<pong>(late, ping{1}, infinite).get(prompt);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::receiver_down);
}
