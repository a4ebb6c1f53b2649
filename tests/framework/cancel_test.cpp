// Cancellation: a requester that stops waiting stops the work it started, down the request tree.
// Mostly on the deterministic scheduler (the test thread runs every actor; plain counters are
// safe), plus races on real threads.
#include <support/test_actors.hpp>

#include <troupe/task_group.hpp>
#include <troupe/testing/test_system.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace troupe;
using namespace troupe::test;
using namespace std::chrono_literals;

namespace {

struct work {
  int id;
};
struct boom {};

/// What the actors of one test saw (deterministic tests: touched on the test thread only).
struct seen {
  int started = 0;          // requests a keeper took
  int cancels_seen = 0;     // on_cancel callbacks that ran
  int answered = 0;         // answers given
  std::vector<errc> awaited;  // what the middle coroutines' co_await returned (0: a value)
  std::vector<time_point> deadlines;
};

/// Takes `work` requests and never answers them; counts the cancellations it is told of.
behavior keeper(actor_base& self, std::shared_ptr<seen> s) {
  auto kept = std::make_shared<std::vector<response_promise<int>>>();
  return {[&self, s, kept](work) {
    ++s->started;
    s->deadlines.push_back(self.request_deadline());
    auto p = self.make_response_promise<int>();
    p.on_cancel([s] { ++s->cancels_seen; });
    kept->push_back(p);
    return p;
  }};
}

/// Answers `work` with id + 1 at once.
behavior answerer(actor_base&, std::shared_ptr<seen> s) {
  return {[s](work w) {
    ++s->answered;
    return w.id + 1;
  }};
}

/// Fails every `work` request.
behavior refuser(actor_base&) {
  return {[](work) -> result<int> { return error(errc::user, "refused"); }};
}

/// A coroutine handler that passes `work` on to `next` and awaits it; records what it got.
behavior middle(actor_base& self, actor next, std::shared_ptr<seen> s) {
  return {[&self, next, s](work w) -> task<int> {
    auto r = co_await self.request<int>(next, work{w.id}, 60s);
    s->awaited.push_back(r ? errc{} : r.error().code());
    if (!r) co_return -1;
    co_return *r + 1;
  }};
}

errc code_of(const result<int>& r) { return r ? errc{} : r.error().code(); }

}  // namespace

TEST_CASE("cancelling a request before it starts drops it unrun, and completes the future at once",
          "[framework][cancel]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto k = t.sys.spawn(keeper, s);
  auto f = request<int>(k, work{1}, 10s);
  CHECK(f.cancel());
  REQUIRE(f.ready());
  CHECK_FALSE(f.cancel());  // once only
  t.run_until_idle();
  CHECK(s->started == 0);
  CHECK(t.sys.cancelled_requests_dropped() == 1);
  CHECK(t.sys.dead_letters() == 0);
  auto r = f.get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::cancelled);
}

TEST_CASE("cancelling after the reply does nothing", "[framework][cancel]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto a = t.sys.spawn(answerer, s);
  auto f = request<int>(a, work{41}, 10s);
  t.run_until_idle();
  REQUIRE(f.ready());
  CHECK_FALSE(f.cancel());
  auto r = f.get();
  REQUIRE(r);
  CHECK(*r == 42);
  CHECK(t.sys.cancelled_requests_dropped() == 0);
  future<int> empty;
  CHECK_FALSE(empty.cancel());
}

TEST_CASE("a three-level tree cancelled from the top: every level stops, none answers",
          "[framework][cancel][coroutine]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto c = t.sys.spawn(keeper, s);
  auto b = t.sys.spawn(middle, c, s);
  auto a = t.sys.spawn(middle, b, s);
  int outcomes = 0;
  errc outcome{};
  auto top = request<int>(a, work{1}, 60s);
  auto stop = top.canceller();
  auto counted = std::move(top).then([&](result<int> r) {
    ++outcomes;
    outcome = code_of(r);
  });
  t.run_until_idle();
  REQUIRE(s->started == 1);  // a and b are suspended at their co_await, c holds the request
  CHECK(s->awaited.empty());
  CHECK(stop.cancel());
  CHECK(outcomes == 1);  // at once, on this thread
  CHECK(outcome == errc::cancelled);
  t.run_until_idle();
  // Both coroutines resumed at their co_await with the cancellation, c was told, and the
  // answers a and b still gave went nowhere.
  CHECK(s->awaited == std::vector<errc>{errc::cancelled, errc::cancelled});
  CHECK(s->cancels_seen == 1);
  CHECK(outcomes == 1);
  CHECK(t.sys.cancelled_requests_dropped() == 0);  // all had started
  CHECK(t.sys.dead_letters() == 0);
}

TEST_CASE("a reply racing the cancel: the requester sees exactly one outcome, over many seeds",
          "[framework][cancel]") {
  auto found = testing::for_each_seed(300, [](std::uint64_t seed) {
    testing::test_system t{seed};
    auto s = std::make_shared<seen>();
    auto a = t.sys.spawn(answerer, s);
    auto m = t.sys.spawn(middle, a, s);
    std::vector<cancel_handle> handles;
    std::vector<int> outcomes(4, 0);
    std::vector<errc> codes(4);
    for (int i = 0; i < 4; ++i) {
      auto f = request<int>(i % 2 ? m : a, work{i}, 60s);
      handles.push_back(f.canceller());
      (void)std::move(f).then([&, i](result<int> r) {
        ++outcomes[i];
        codes[i] = code_of(r);
      });
    }
    std::mt19937 rng(static_cast<unsigned>(seed));
    std::vector<bool> cancelled(4, false);
    for (int i = 0; i < 4; ++i) {
      for (int n = static_cast<int>(rng() % 4); n > 0; --n) t.sched().run_once();
      cancelled[i] = handles[i].cancel();
    }
    t.run_until_idle();
    for (int i = 0; i < 4; ++i) {
      if (outcomes[i] != 1) throw std::runtime_error("request " + std::to_string(i) + " had " + std::to_string(outcomes[i]) + " outcomes");
      if (cancelled[i] != (codes[i] == errc::cancelled)) throw std::runtime_error("cancel() disagrees with the outcome");
      if (!cancelled[i] && codes[i] != errc{}) throw std::runtime_error("an uncancelled request failed");
    }
  });
  INFO(found.failure);
  CHECK_FALSE(found.failing_seed);
  CHECK(found.runs == 300);
}

TEST_CASE("when_any cancels its losers, when_all the rest on the first failure", "[framework][cancel]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto k = t.sys.spawn(keeper, s);
  auto fast = t.sys.spawn(answerer, s);
  auto bad = t.sys.spawn(refuser);
  auto racer = t.sys.spawn([](actor_base& self, actor k_in, actor fast_in, actor bad_in) -> behavior {
    return {
        [&self, k_in, fast_in](work w) -> task<int> {
          auto r = co_await when_any(self.request<int>(k_in, work{w.id}, 60s), self.request<int>(fast_in, work{w.id}, 60s));
          if (!r) co_return -1;
          co_return static_cast<int>(r->index());
        },
        [&self, k_in, bad_in](boom) -> task<int> {
          auto r = co_await when_all(self.request<int>(k_in, work{0}, 60s), self.request<int>(bad_in, work{0}, 60s));
          co_return r ? 0 : static_cast<int>(r.error().code());
        },
    };
  }, k, fast, bad);
  auto any = request<int>(racer, work{5}, 60s);
  CHECK(*t.await(any) == 1);
  t.run_until_idle();
  // The loser was told: dropped unrun if the winner answered first, else cancelled running.
  CHECK(s->started + static_cast<int>(t.sys.cancelled_requests_dropped()) == 1);
  CHECK(s->cancels_seen == s->started);

  auto all = request<int>(racer, boom{}, 60s);
  CHECK(*t.await(all) == static_cast<int>(errc::user));
  t.run_until_idle();
  CHECK(s->cancels_seen == s->started);  // the other input was cancelled (if it had started)
  CHECK(s->started + static_cast<int>(t.sys.cancelled_requests_dropped()) == 2);
}

TEST_CASE("cancelling a combined future cancels its inputs; a detached input keeps running",
          "[framework][cancel]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto k = t.sys.spawn(keeper, s);
  auto user = t.sys.spawn([](actor_base& self, actor k_in) -> behavior {
    return {[&self, k_in](work) -> task<int> {
      auto both = co_await when_all(self.request<int>(k_in, work{1}, 60s), self.request<int>(k_in, work{2}, 60s, detached));
      co_return both ? 0 : static_cast<int>(both.error().code());
    }};
  }, k);
  auto f = request<int>(user, work{0}, 60s);
  t.run_until_idle();
  REQUIRE(s->started == 2);
  CHECK(f.cancel());
  t.run_until_idle();
  CHECK(s->cancels_seen == 1);  // not the detached one
}

TEST_CASE("a cancelled coroutine's later requests fail at once and are not sent; detached ones are",
          "[framework][cancel][coroutine]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto k = t.sys.spawn(keeper, s);
  auto fine = t.sys.spawn(answerer, s);
  auto stubborn = t.sys.spawn([](actor_base& self, actor k_in, actor fine_in, std::shared_ptr<seen> s_in) -> behavior {
    return {[&self, k_in, fine_in, s_in](work) -> task<int> {
      auto first = co_await self.request<int>(k_in, work{1}, 60s);
      s_in->awaited.push_back(code_of(first));
      if (!self.cancellation_requested()) co_return -1;
      for (int i = 0; i < 10; ++i) {  // ignores the cancellation and goes on
        auto r = co_await self.request<int>(k_in, work{i}, 60s);
        s_in->awaited.push_back(code_of(r));
        auto nap = co_await self.delay(1h);
        if (nap) co_return -2;
      }
      auto cleanup = co_await self.request<int>(fine_in, work{7}, 60s, detached);
      co_return cleanup ? *cleanup : -3;
    }};
  }, k, fine, s);
  auto f = request<int>(stubborn, work{0}, 60s);
  t.run_until_idle();
  REQUIRE(s->started == 1);
  CHECK(f.cancel());
  t.run_until_idle();  // no timer needed: nothing waits
  CHECK(s->started == 1);
  CHECK(s->answered == 1);  // the detached clean-up went out and was awaited
  REQUIRE(s->awaited.size() == 11);
  for (errc e : s->awaited) CHECK(e == errc::cancelled);
}

TEST_CASE("a handler that answers with a future: cancelling the request cancels that future",
          "[framework][cancel]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto k = t.sys.spawn(keeper, s);
  auto fwd = t.sys.spawn([](actor_base& self, actor k_in) -> behavior {
    return {[&self, k_in](work w) { return self.request<int>(k_in, work{w.id}, 60s).then([](int v) { return v * 2; }); }};
  }, k);
  auto f = request<int>(fwd, work{3}, 60s);
  t.run_until_idle();
  REQUIRE(s->started == 1);
  CHECK(f.cancel());
  t.run_until_idle();
  CHECK(s->cancels_seen == 1);
}

TEST_CASE("a timed-out request tells its receiver; a queued one is dropped", "[framework][cancel]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto k = t.sys.spawn(keeper, s);
  auto f = request<int>(k, work{1}, 1s);
  t.run_until_idle();
  t.advance_time(1s);
  REQUIRE(f.ready());
  CHECK(f.get().error() == errc::timeout);
  CHECK(s->cancels_seen == 1);
  // A request whose requester gave up while it waited in the mailbox is not run.
  auto g = request<int>(k, work{2}, 1s);
  t.clock().advance(2s);  // fires the timeout without running the keeper
  t.run_until_idle();
  CHECK(g.get().error() == errc::timeout);
  CHECK(s->started == 1);
  CHECK(t.sys.cancelled_requests_dropped() == 1);
}

TEST_CASE("deadlines propagate: a request made while serving one inherits what is left of its time",
          "[framework][cancel][deadline]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto k = t.sys.spawn(keeper, s);
  auto a = t.sys.spawn([](actor_base& self, actor k_in, std::shared_ptr<seen> s_in) -> behavior {
    return {[&self, k_in, s_in](work) -> task<int> {
      s_in->deadlines.push_back(self.request_deadline());
      co_await self.delay(3s);
      auto inherit = self.request<int>(k_in, work{1}, 60s);   // 7 s_in left: that wins
      auto own = self.request<int>(k_in, work{2}, 60s, detached);  // its own 60 s_in
      auto shorter = self.request<int>(k_in, work{3}, 2s);    // shorter than what is left: kept
      co_await when_any(std::move(inherit), std::move(own), std::move(shorter));
      co_return 0;
    }};
  }, k, s);
  const time_point t0 = t.sys.timers().now();
  auto f = request<int>(a, work{0}, 10s);
  t.run_until_idle();
  t.advance_time(3s);
  REQUIRE(s->deadlines.size() == 4);
  CHECK(s->deadlines[0] == t0 + 10s);  // a's own
  CHECK(s->deadlines[1] == t0 + 10s);  // inherited
  CHECK(s->deadlines[2] == t0 + 63s);  // detached
  CHECK(s->deadlines[3] == t0 + 5s);   // its own, shorter
}

TEST_CASE("response_promise::cancelled and on_cancel, registered after the cancel too",
          "[framework][cancel]") {
  testing::test_system t;
  auto late = std::make_shared<int>(0);
  auto kept = std::make_shared<std::vector<response_promise<int>>>();
  auto p = t.sys.spawn([](actor_base& self, std::shared_ptr<int> late_in,
                          std::shared_ptr<std::vector<response_promise<int>>> kept_in) -> behavior {
    return {
        [&self, kept_in](work) {
          kept_in->push_back(self.make_response_promise<int>());
          return kept_in->back();
        },
        [late_in, kept_in](boom) {
          // The request was cancelled before this handler registers: the callback still runs.
          CHECK(kept_in->back().cancelled());
          kept_in->back().on_cancel([late_in] { ++*late_in; });
          kept_in->back().deliver(5);  // ignored
        },
    };
  }, late, kept);
  auto f = request<int>(p, work{}, 60s);
  t.run_until_idle();
  CHECK_FALSE(kept->back().cancelled());
  CHECK(f.cancel());
  t.inject(actor(), p, boom{});
  t.run_until_idle();
  CHECK(*late == 1);
  CHECK(f.get().error() == errc::cancelled);
}

TEST_CASE("task_group: join waits for everything; the first failure cancels the rest",
          "[framework][cancel][task_group]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto k = t.sys.spawn(keeper, s);
  auto fine = t.sys.spawn(answerer, s);
  auto bad = t.sys.spawn(refuser);
  auto gather = t.sys.spawn([](actor_base& self, actor k_in, actor fine_in, actor bad_in) -> behavior {
    return {
        [&self, fine_in](work w) -> task<int> {
          task_group g;
          int total = 0;
          for (int i = 0; i < w.id; ++i) g.add(self.request<int>(fine_in, work{i}, 60s), [&total](int v) { total += v; });
          g.add(self.delay(1s));
          auto done = co_await g.join();
          if (!done) co_return -1;
          co_return total;
        },
        [&self, k_in, bad_in](boom) -> task<int> {
          task_group g;
          g.add(self.request<int>(k_in, work{0}, 60s));
          g.add(self.request<int>(k_in, work{1}, 60s));
          g.add(self.request<int>(bad_in, work{2}, 60s));
          auto done = co_await g.join();
          co_return done ? 0 : static_cast<int>(done.error().code());
        },
    };
  }, k, fine, bad);
  auto sum = request<int>(gather, work{4}, 60s);
  CHECK(*t.await(sum) == 1 + 2 + 3 + 4);
  auto failed = request<int>(gather, boom{}, 60s);
  CHECK(*t.await(failed) == static_cast<int>(errc::user));
  t.run_until_idle();
  CHECK(s->cancels_seen + static_cast<int>(t.sys.cancelled_requests_dropped()) == 2);
}

TEST_CASE("task_group outlives nothing: left early or by an exception, its work is cancelled and its callbacks never run",
          "[framework][cancel][task_group]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto k = t.sys.spawn(keeper, s);
  auto ran = std::make_shared<int>(0);
  auto leaver = t.sys.spawn([](actor_base& self, actor k_in, std::shared_ptr<int> ran_in) -> behavior {
    return {
        [&self, k_in, ran_in](work w) -> task<int> {
          task_group g;
          g.add(self.request<int>(k_in, work{1}, 60s), [ran_in](result<int>) { ++*ran_in; });
          g.add(self.request<int>(k_in, work{2}, 60s), [ran_in](result<int>) { ++*ran_in; });
          co_await self.delay(1s);
          if (w.id == 0) co_return 0;  // leaves without join
          throw std::runtime_error("leaves by an exception");
        },
    };
  }, k, ran);
  auto f = request<int>(leaver, work{0}, 60s);
  t.run_until_idle();
  t.advance_time(1s);
  CHECK(*f.get() == 0);
  CHECK(s->started == 2);
  CHECK(s->cancels_seen == 2);
  CHECK(*ran == 0);
  auto g = request<int>(leaver, work{1}, 60s);
  t.run_until_idle();
  t.advance_time(1s);
  CHECK(g.get().error() == errc::handler_exception);
  CHECK(s->cancels_seen == 4);
  CHECK(*ran == 0);
}

TEST_CASE("cancelling the coroutine that awaits a task_group cancels the group", "[framework][cancel][task_group]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto k = t.sys.spawn(keeper, s);
  auto owner = t.sys.spawn([](actor_base& self, actor k_in) -> behavior {
    return {[&self, k_in](work) -> task<int> {
      task_group g;
      for (int i = 0; i < 3; ++i) g.add(self.request<int>(k_in, work{i}, 60s));
      auto done = co_await g.join();
      co_return done ? 0 : static_cast<int>(done.error().code());
    }};
  }, k);
  auto f = request<int>(owner, work{}, 60s);
  t.run_until_idle();
  REQUIRE(s->started == 3);
  CHECK(f.cancel());
  t.run_until_idle();
  CHECK(s->cancels_seen == 3);
}

TEST_CASE("task_group outside an actor is refused", "[framework][cancel][task_group]") {
  CHECK_THROWS_AS(task_group(), std::logic_error);
}

TEST_CASE("1,000,000 cancelled requests, and 100,000 cancelled coroutines, leave nothing behind",
          "[framework][cancel][stress]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto a = t.sys.spawn(answerer, s);
  auto k = t.sys.spawn(keeper, s);
  auto m = t.sys.spawn(middle, k, s);
  for (int round = 0; round < 100; ++round) {
    std::vector<future<int>> fs;
    fs.reserve(10'000);
    for (int i = 0; i < 10'000; ++i) {
      fs.push_back(request<int>(a, work{i}, 60s));
      fs.back().cancel();
    }
    t.run_until_idle();
  }
  CHECK(t.sys.cancelled_requests_dropped() == 1'000'000);
  CHECK(s->answered == 0);
  for (int round = 0; round < 10; ++round) {
    std::vector<future<int>> fs;
    fs.reserve(10'000);
    for (int i = 0; i < 10'000; ++i) fs.push_back(request<int>(m, work{i}, 60s));
    t.run_until_idle();
    for (auto& f : fs) f.cancel();
    t.run_until_idle();
  }
  CHECK(s->cancels_seen == 100'000);
  CHECK(s->awaited.size() == 100'000);
}

TEST_CASE("cancel races replies on real threads: one outcome each, and cancel() tells the truth",
          "[framework][cancel][threads]") {
  actor_system sys{two_workers()};
  auto s = std::make_shared<seen>();  // (answered is written by the worker: not read here)
  auto a = sys.spawn([](actor_base&) -> behavior { return {[](work w) { return w.id; }}; });
  constexpr int n = 20'000;
  std::atomic<int> values{0}, cancels{0}, others{0};
  std::vector<cancel_handle> handles;
  handles.reserve(n);
  for (int i = 0; i < n; ++i) {
    auto f = request<int>(a, work{i}, prompt);
    handles.push_back(f.canceller());
    (void)std::move(f).then([&](result<int> r) {
      if (r)
        values.fetch_add(1);
      else if (r.error() == errc::cancelled)
        cancels.fetch_add(1);
      else
        others.fetch_add(1);
    });
  }
  int said_cancelled = 0;
  std::thread canceller([&] {
    for (auto& h : handles) said_cancelled += h.cancel() ? 1 : 0;
  });
  canceller.join();
  // Every outcome arrives (a cancelled one at once; the others as the actor answers).
  // The actor answers in order, each reply's continuation running as it answers: once this
  // one is back, every outcome is in (the cancelled ones came on the canceller's thread).
  auto sync = request<int>(a, work{-1}, prompt).get();
  REQUIRE(sync);
  CHECK(values.load() + cancels.load() + others.load() == n);
  CHECK(values.load() + cancels.load() == n);
  CHECK(others.load() == 0);
  CHECK(cancels.load() == said_cancelled);
}

TEST_CASE("a blocked get() wakes with errc::cancelled when another thread cancels", "[framework][cancel][threads]") {
  actor_system sys{two_workers()};
  auto s = std::make_shared<seen>();
  auto k = sys.spawn(keeper, s);
  auto f = request<int>(k, work{1}, prompt);
  auto h = f.canceller();
  bool cancelled = false;
  std::thread other([&] { cancelled = h.cancel(); });
  auto r = f.get();
  other.join();
  CHECK(cancelled);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::cancelled);
}

TEST_CASE("cancelling the end of a 100,000-link chain, or of a 100,000-step loop, runs in bounded stack",
          "[framework][cancel]") {
  testing::test_system t;
  auto s = std::make_shared<seen>();
  auto k = t.sys.spawn(keeper, s);
  // A chain of then()s on a request the keeper never answers.
  auto f = request<int>(k, work{1}, 60s);
  for (int i = 0; i < 100'000; ++i) f = std::move(f).then([](int v) { return v + 1; });
  t.run_until_idle();
  REQUIRE(s->started == 1);
  CHECK(f.cancel());
  t.run_until_idle();
  CHECK(s->cancels_seen == 1);  // the cancel reached the request at the chain's start
  CHECK(f.get().error() == errc::cancelled);

  // An asynchronous loop: each step's future is flattened into the one before (forward_to).
  struct looper {
    static future<int> step(int i, const actor& to) {
      if (i == 100'000) return request<int>(to, work{i}, 60s);  // the last step waits on the keeper
      return make_ready_future(i).then([i, to](int) { return step(i + 1, to); });
    }
  };
  auto loop = looper::step(0, k);
  t.run_until_idle();
  REQUIRE(s->started == 2);
  CHECK(loop.cancel());
  t.run_until_idle();
  CHECK(s->cancels_seen == 2);
}

TEST_CASE("a then() step whose future was cancelled after its input arrived does not run",
          "[framework][cancel]") {
  testing::test_system t{7, testing::pick_order::fifo};
  auto s = std::make_shared<seen>();
  auto a = t.sys.spawn(answerer, s);
  auto k = t.sys.spawn(keeper, s);
  auto handle = std::make_shared<cancel_handle>();
  auto chain = t.sys.spawn([](actor_base& self, actor a_in, actor k_in, std::shared_ptr<cancel_handle> h) -> behavior {
    auto kept = std::make_shared<future<int>>();
    return {[&self, a_in, k_in, h, kept](work w) {
      *kept = self.request<int>(a_in, work{w.id}, 60s).then([&self, k_in](int v) {
        return self.request<int>(k_in, work{v}, 60s);  // the next step: must not be sent
      });
      *h = kept->canceller();
    }};
  }, a, k, handle);
  t.inject(actor(), chain, work{1});
  t.expect<work>(chain);
  t.expect<work>(a);  // answers: the then() step is now queued on `chain`
  CHECK(handle->cancel());
  t.run_until_idle();
  CHECK(s->started == 0);  // the keeper never got the next step's request
}
