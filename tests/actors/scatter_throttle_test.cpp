#include <support/test_actors.hpp>

#include <troupe/actors/scatter_gather.hpp>
#include <troupe/actors/throttle.hpp>
#include <troupe/testing/test_system.hpp>

#include <catch2/catch.hpp>

using namespace troupe;
using namespace troupe::test;
using namespace troupe::actors;

/// Seeds each deterministic test runs with (TROUPE_SEED=<n> runs just seed n).
static constexpr std::size_t seeds = 100;

namespace {
struct hold {};
// Answers ping, or never (keeps the promise) for hold-mode servers.
behavior server(actor_base& self, bool silent) {
  auto kept = std::make_shared<std::vector<response_promise<pong>>>();
  return {[&self, silent, kept](ping p) -> response_promise<pong> {
    auto rp = self.make_response_promise<pong>();
    if (silent)
      kept->push_back(rp);
    else
      rp.deliver(pong{p.value + 1});
    return rp;
  }};
}
}  // namespace

TEST_CASE("scatter_gather: all, first k and quorum, with a deadline", "[actors][scatter]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    std::vector<actor> servers;
    for (int i = 0; i < 3; ++i) servers.push_back(t.sys.spawn(server, false));
    servers.push_back(t.sys.spawn(server, true));  // never answers

    auto quick = scatter_gather<pong>(std::vector<actor>(servers.begin(), servers.begin() + 3), ping{1}, all(), prompt);
    auto r = t.await(quick);
    REQUIRE(r);
    CHECK(r->complete);
    CHECK(r->replies.size() == 3);

    auto q = scatter_gather<pong>(servers, ping{1}, quorum(), std::chrono::milliseconds(100));
    auto rq = t.await(q);  // 3 of 4 answer: a majority
    CHECK(rq->complete);
    CHECK(rq->replies.size() >= 3);

    auto f2 = scatter_gather<pong>(servers, ping{1}, first(2), std::chrono::milliseconds(100));
    auto r2 = t.await(f2);
    CHECK(r2->complete);
    CHECK(r2->replies.size() == 2);

    // all() with one silent server: at the deadline, partial results, reported as such.
    auto partial = scatter_gather<pong>(servers, ping{1}, all(), std::chrono::milliseconds(100));
    auto rp = t.await(partial);  // the virtual clock jumps to the deadline when all else is idle
    REQUIRE(rp);
    CHECK_FALSE(rp->complete);
    CHECK(rp->replies.size() == 3);
    REQUIRE(rp->failures.size() == 1);
    CHECK(rp->failures[0].first == servers[3]);
    CHECK(rp->failures[0].second == errc::timeout);
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}

TEST_CASE("throttle bounds in-flight work and refuses beyond its queue", "[actors][throttle]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    auto slow = t.sys.spawn(server, true);  // answers nothing until we let it
    auto gate = spawn_throttle<ping, pong>(t.sys, slow, {.window = 2, .max_queued = 3});
    std::vector<future<pong>> fs;
    for (int i = 0; i < 8; ++i) fs.push_back(request(gate, ping{i}, prompt));
    t.run_until_idle();
    auto stats = request(gate, throttle_stats{}, prompt);
    auto s = *t.await(stats);
    CHECK(s.in_flight == 2);
    CHECK(s.queued == 3);
    CHECK(s.refused == 3);
    int refused = 0;
    for (auto& f : fs)
      if (f.ready() && f.get().error() == errc::mailbox_full) ++refused;
    CHECK(refused == 3);
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}

TEST_CASE("throttle passes everything through when the producer awaits", "[actors][throttle]") {
  // Every seed: the behaviour must not depend on the order actors happen to run in.
  const auto report = testing::for_each_seed(seeds, [](std::uint64_t seed) {
    INFO("seed " << seed << " (replay with TROUPE_SEED=" << seed << ")");
    testing::test_system t{seed};
    auto fast = t.sys.spawn(server, false);
    auto gate = spawn_throttle<ping, pong>(t.sys, fast, {.window = 2, .max_queued = 0});
    for (int i = 0; i < 20; ++i) {
      auto f = request(gate, ping{i}, prompt);
      CHECK(t.await(f)->value == i + 1);
    }
  });
  REQUIRE_FALSE(report.failing_seed);  // an expectation failure names its seed on stderr
}
