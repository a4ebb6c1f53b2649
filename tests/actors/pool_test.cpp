#include <support/test_actors.hpp>

#include <troupe/actors/pool.hpp>
#include <troupe/testing/test_system.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <set>
#include <stdexcept>

using namespace troupe;
using namespace troupe::test;
using namespace troupe::actors;

/// Seeds each deterministic test runs with (TROUPE_SEED=<n> runs just seed n).
static constexpr std::size_t seeds = 100;

namespace {
struct job {
  int key;
};

// Answers with its own id, so tests can see which routee served a job; a negative key crashes it.
behavior id_worker(actor_base& self) {
  return {[&self](job j) {
    if (j.key < 0) throw std::runtime_error("crash");
    return self.handle().id();
  }};
}
routee_factory id_workers = [](actor_system& s) { return s.spawn(id_worker); };

using id_pool = pool<job, actor_id>;

std::vector<actor_id> serve(testing::test_system& t, id_pool& p, std::vector<int> keys) {
  std::vector<actor_id> out;
  for (int k : keys) {
    auto f = request(p, job{k}, prompt);
    out.push_back(*t.await(f));
  }
  return out;
}
}  // namespace

TEST_CASE("round robin serves the routees in turn", "[actors][pool]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    auto p = spawn_pool<job, actor_id>(t.sys, {.size = 3, .strategy = routing::round_robin}, id_workers);
    auto ids = serve(t, p, {0, 0, 0, 0, 0, 0});
    CHECK(ids[0] != ids[1]);
    CHECK(ids[1] != ids[2]);
    CHECK(ids[0] == ids[3]);
    CHECK(ids[1] == ids[4]);
    CHECK(ids[2] == ids[5]);
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}

TEST_CASE("consistent hashing sends a key to the same routee, and resizing moves few keys", "[actors][pool]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    auto key = [](const job& j) { return static_cast<std::uint64_t>(j.key); };
    auto p = spawn_pool<job, actor_id>(t.sys, {.size = 4, .strategy = routing::consistent_hash, .key = key}, id_workers);
    std::vector<int> keys;
    for (int k = 0; k < 200; ++k) keys.push_back(k);
    auto first = serve(t, p, keys);
    CHECK(serve(t, p, keys) == first);  // stable
    std::set<actor_id> used(first.begin(), first.end());
    CHECK(used.size() == 4);  // spread over every routee
    send(p, resize{5});
    auto after = serve(t, p, keys);
    int moved = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) moved += after[i] != first[i];
    CHECK(moved > 0);
    CHECK(moved < 80);  // about 1/5 of the keys move, not most of them
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}

TEST_CASE("random, broadcast and least_busy routing answer every request", "[actors][pool]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    for (auto strategy : {routing::random, routing::broadcast, routing::least_busy}) {
      auto spawned = std::make_shared<std::set<actor_id>>();
      routee_factory recording = [spawned](actor_system& s) {
        actor a = s.spawn(id_worker);
        spawned->insert(a.id());
        return a;
      };
      auto p = spawn_pool<job, actor_id>(t.sys, {.size = 3, .strategy = strategy}, recording);
      auto ids = serve(t, p, {1, 2, 3, 4, 5, 6});
      REQUIRE(ids.size() == 6);
      REQUIRE(spawned->size() == 3);
      for (auto id : ids) CHECK(spawned->count(id) == 1);  // answered by one of the pool's routees
    }
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}

TEST_CASE("a routee dying mid-request fails that request and is replaced", "[actors][pool]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    auto p = spawn_pool<job, actor_id>(t.sys, {.size = 2, .strategy = routing::round_robin}, id_workers);
    auto before = serve(t, p, {0, 0});
    // A negative key makes the routee throw: it dies with the request in hand. The requester
    // gets the error at once; the pool replaces the routee.
    auto doomed = request(p, job{-1}, prompt);
    auto r = t.await(doomed);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::handler_exception);
    t.run_until_idle();  // the down message reaches the pool
    auto size = request(p, pool_size{}, prompt);
    CHECK(*t.await(size) == 2);
    auto after = serve(t, p, {0, 0, 0, 0});
    std::set<actor_id> now(after.begin(), after.end());
    CHECK(now.size() == 2);
    CHECK(now.count(before[0]) == 0);  // the dead routee (served the first job of the round) is gone
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}

TEST_CASE("a pool client learns at once that the routee holding its request died", "[actors][pool][lifetime]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    std::vector<actor> routees;
    // Each routee holds a job in a coroutine that waits an hour (of virtual time) before answering.
    auto p = spawn_pool<job, actor_id>(t.sys, {.size = 1}, [&routees](actor_system& s) {
      auto a = s.spawn([](actor_base& self) -> behavior {
        return {[&self](job) -> task<actor_id> {
          co_await self.delay(1h);
          co_return self.handle().id();
        }};
      });
      routees.push_back(a);
      return a;
    });
    auto f = request(p, job{1}, infinite);
    t.run_until_idle();
    REQUIRE(routees.size() == 1);
    REQUIRE_FALSE(f.ready());
    send_exit(routees.front(), exit_reason::kill());
    t.run_until_idle();  // no virtual time passes: the answer must not wait for the routee's delay
    REQUIRE(f.ready());
    auto r = t.await(f);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::receiver_down);
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}

TEST_CASE("round robin delegates: the routee answers the requester, who stays the sender", "[actors][pool]") {
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    struct who {};
    // Each routee answers with the id of the message's sender as it sees it.
    routee_factory senders = [](actor_system& s) {
      return s.spawn([](actor_base& self) -> behavior {
        return {[&self](job) { return self.current_sender().id(); }};
      });
    };
    auto p = spawn_pool<job, actor_id>(t.sys, {.size = 2}, senders);
    auto client = t.sys.spawn([p](actor_base& self) -> behavior {
      return {[&self, p](who) -> task<actor_id> {
        auto r = co_await self.request(p, job{1}, infinite);
        co_return r ? *r : 0;
      }};
    });
    auto f = request<actor_id>(client, who{}, prompt);
    auto seen = t.await(f);
    REQUIRE(seen);
    CHECK(*seen == client.id());  // not the router's id: the request was delegated
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}
