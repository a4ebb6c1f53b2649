#include <support/test_actors.hpp>

#include <troupe/actors/supervisor.hpp>
#include <troupe/testing/test_system.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace troupe;
using namespace troupe::test;
using namespace troupe::actors;

/// Seeds each deterministic test runs with (TROUPE_SEED=<n> runs just seed n).
static constexpr std::size_t seeds = 100;

namespace {
struct boom {};
struct finish {};

behavior fragile(actor_base& self) {
  return {
      [](boom) -> int { throw std::runtime_error("boom"); },
      [&self](finish) { self.quit(); },
      [](ping p) { return pong{p.value + 1}; },
  };
}
std::function<actor(actor_system&)> start_fragile = [](actor_system& s) { return s.spawn(fragile); };

actor child(testing::test_system& t, supervisor& sup, const char* name) {
  auto f = request(sup, child_named{name}, prompt);
  return *t.await(f);
}
int restarts(testing::test_system& t, supervisor& sup) {
  auto f = request(sup, restart_count{}, prompt);
  return *t.await(f);
}
void crash(testing::test_system& t, const actor& a) {
  send(a, boom{});
  t.run_until_idle();
}
}  // namespace

TEST_CASE("one_for_one restarts only the failed child", "[actors][supervisor]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    auto sup = spawn_supervisor(t.sys, {.strategy = restart_strategy::one_for_one},
                                {{"a", start_fragile}, {"b", start_fragile}});
    auto a = child(t, sup, "a"), b = child(t, sup, "b");
    crash(t, a);
    auto a2 = child(t, sup, "a");
    CHECK(a2 != a);
    CHECK(child(t, sup, "b") == b);
    CHECK(restarts(t, sup) == 1);
    auto f = request<pong>(a2, ping{1}, prompt);
    CHECK(t.await(f)->value == 2);
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}

TEST_CASE("one_for_all and rest_for_one restart the right children", "[actors][supervisor]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    auto all = spawn_supervisor(t.sys, {.strategy = restart_strategy::one_for_all},
                                {{"a", start_fragile}, {"b", start_fragile}, {"c", start_fragile}});
    auto a = child(t, all, "a"), b = child(t, all, "b"), c = child(t, all, "c");
    crash(t, b);
    CHECK(child(t, all, "a") != a);
    CHECK(child(t, all, "b") != b);
    CHECK(child(t, all, "c") != c);
    CHECK(restarts(t, all) == 1);  // one failure, one (group) restart

    auto rest = spawn_supervisor(t.sys, {.strategy = restart_strategy::rest_for_one},
                                 {{"a", start_fragile}, {"b", start_fragile}, {"c", start_fragile}});
    a = child(t, rest, "a"), b = child(t, rest, "b"), c = child(t, rest, "c");
    crash(t, b);
    CHECK(child(t, rest, "a") == a);
    CHECK(child(t, rest, "b") != b);
    CHECK(child(t, rest, "c") != c);
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}

TEST_CASE("restart policies: transient and temporary children", "[actors][supervisor]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    auto sup = spawn_supervisor(t.sys, {},
                                {{"t", start_fragile, restart_policy::transient},
                                 {"tmp", start_fragile, restart_policy::temporary}});
    auto tr = child(t, sup, "t");
    send(tr, finish{});  // a normal exit: a transient child stays down
    t.run_until_idle();
    CHECK_FALSE(child(t, sup, "t"));
    crash(t, child(t, sup, "tmp"));  // a temporary child is never restarted
    CHECK_FALSE(child(t, sup, "tmp"));
    CHECK(restarts(t, sup) == 0);
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}

TEST_CASE("exceeding the restart intensity stops the supervisor and its children", "[actors][supervisor]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    auto sup = spawn_supervisor(t.sys, {.max_restarts = 2, .within = std::chrono::seconds(10)},
                                {{"a", start_fragile}, {"b", start_fragile}});
    auto watcher_log = std::make_shared<std::vector<exit_reason>>();
    auto watcher = t.sys.spawn([](actor_base& self, actor s, std::shared_ptr<std::vector<exit_reason>> log) -> behavior {
      self.monitor(s);
      return {[log](down_msg d) { log->push_back(d.reason); }};
    }, sup, watcher_log);
    t.run_until_idle();
    auto b = child(t, sup, "b");
    crash(t, child(t, sup, "a"));
    crash(t, child(t, sup, "a"));
    CHECK(restarts(t, sup) == 2);
    crash(t, child(t, sup, "a"));  // the third within 10 s: give up
    REQUIRE(watcher_log->size() == 1);
    CHECK((*watcher_log)[0].code() == exit_code::error);
    auto dead = request<pong>(b, ping{1}, prompt);
    CHECK(t.await(dead).error() == errc::receiver_down);  // its children went with it

    // Spread out in (virtual) time, the same number of crashes is fine.
    auto patient = spawn_supervisor(t.sys, {.max_restarts = 2, .within = std::chrono::seconds(10)},
                                    {{"a", start_fragile}});
    for (int i = 0; i < 5; ++i) {
      crash(t, child(t, patient, "a"));
      t.advance_time(std::chrono::seconds(6));
    }
    CHECK(restarts(t, patient) == 5);
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}

TEST_CASE("supervisors of supervisors, and stable names through a registry", "[actors][supervisor]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    auto names = spawn_registry(t.sys);
    auto start_inner = [names](actor_system& s) -> actor {
      return spawn_supervisor(s, {.max_restarts = 1, .within = std::chrono::seconds(10), .names = names},
                              {{"worker", start_fragile}});
    };
    auto outer = spawn_supervisor(t.sys, {}, {{"inner", start_inner}});
    t.run_until_idle();
    auto lookup = [&] {
      auto f = request(names, lookup_name{"worker"}, prompt);
      return *t.await(f);
    };
    auto w1 = lookup();
    REQUIRE(w1);
    crash(t, w1);  // restarted by the inner supervisor: the name follows
    auto w2 = lookup();
    CHECK(w2 != w1);
    auto inner1 = child(t, outer, "inner");
    crash(t, w2);  // the inner one gives up; the outer one restarts it (and with it the worker)
    CHECK(child(t, outer, "inner") != inner1);
    auto w3 = lookup();
    REQUIRE(w3);
    auto f = request<pong>(w3, ping{1}, prompt);
    CHECK(t.await(f)->value == 2);
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}
