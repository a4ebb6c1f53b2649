// The deterministic scheduler: the same seed gives the same run; a failing order is found by
// trying seeds and replayed exactly from its seed.
#include <support/test_actors.hpp>

#include <troupe/testing/test_system.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

using namespace troupe;
using namespace troupe::test;

namespace {

struct deposit {
  int amount;
};
struct withdraw {
  int amount;
};
struct go {};
struct relay {
  int hops;
};
struct get_balance {};

// An account whose invariant (never negative) holds only if deposits arrive before the
// withdrawal. Nothing in the program orders them: it depends on which actor runs first.
behavior account(actor_base&) {
  auto balance = std::make_shared<int>(0);
  auto violated = std::make_shared<bool>(false);
  return {
      [balance](deposit d) { *balance += d.amount; },
      [balance, violated](withdraw w) {
        *balance -= w.amount;
        if (*balance < 0) *violated = true;
      },
      [violated](get_balance) { return *violated; },
  };
}

// Sends `msg` to the account after a chain of `hops` self-sends, so it competes with others.
template <class Msg>
behavior courier(actor_base& self, actor acct, Msg msg, int hops) {
  return {
      [&self, hops](go) { self.send(self.handle(), relay{hops}); },
      [&self, acct, msg](relay r) {
        if (r.hops > 0)
          self.send(self.handle(), relay{r.hops - 1});
        else
          self.send(acct, msg);
      },
  };
}

/// One run: 3 depositors (1 hop each) and one withdrawer (`withdraw_hops` hops) race; returns
/// the invariant's verdict and a trace of the schedule.
// With 10 hops the withdrawal usually arrives last: the invariant breaks in about 1% of the
// schedules (4 of seeds 1..300, the first being 67), rare enough that a plain test run would
// likely never see it.
constexpr int withdraw_hops = 10;

bool run_bank(std::uint64_t seed, std::string* trace = nullptr,
              testing::pick_order order = testing::pick_order::seeded) {
  testing::test_system t{seed, order};
  auto acct = t.sys.spawn(account);
  std::vector<actor> couriers;
  for (int i = 0; i < 3; ++i) couriers.push_back(t.sys.spawn(courier<deposit>, acct, deposit{1}, 1));
  couriers.push_back(t.sys.spawn(courier<withdraw>, acct, withdraw{3}, withdraw_hops));
  for (auto& c : couriers) t.inject(actor(), c, go{});
  while (t.sched().run_once())
    if (trace) *trace += std::to_string(t.sched().ready_count());
  auto violated = request<bool>(acct, get_balance{}, prompt);
  return !*t.await(violated);
}

}  // namespace

TEST_CASE("the same seed gives the same schedule", "[framework][deterministic]") {
  for (std::uint64_t seed : {std::uint64_t{1}, std::uint64_t{7}, std::uint64_t{12345}}) {
    std::string a, b;
    run_bank(seed, &a);
    run_bank(seed, &b);
    CHECK(a == b);
  }
  std::string x, y;
  run_bank(1, &x);
  run_bank(2, &y);
  CHECK(x != y);  // and other seeds explore other orders
}

TEST_CASE("seeds find an order-dependent bug, and its seed replays it every time", "[framework][deterministic]") {
  auto report = testing::for_each_seed(300, [](std::uint64_t seed) {
    if (!run_bank(seed)) throw std::runtime_error("balance went negative");
  });
  REQUIRE(report.failing_seed);  // found within a few hundred seeds
  INFO("failing seed: " << *report.failing_seed << " after " << report.runs << " runs");
  if (!std::getenv("TROUPE_SEED"))  // (a replay runs just the one seed)
    CHECK(report.runs > 1);          // the earlier seeds passed: the bug depends on the order
  CHECK(report.failure == "balance went negative");
  for (int replay = 0; replay < 20; ++replay) CHECK_FALSE(run_bank(*report.failing_seed));
  for (std::uint64_t ok = 1; ok < *report.failing_seed; ++ok) CHECK(run_bank(ok));
  // FIFO order is one fixed schedule, whatever the seed: deposits (fewer hops) win there.
  std::string fifo_trace, other_trace;
  CHECK(run_bank(*report.failing_seed, &fifo_trace, testing::pick_order::fifo));
  CHECK(run_bank(*report.failing_seed + 1, &other_trace, testing::pick_order::fifo));
  CHECK(fifo_trace == other_trace);
}

TEST_CASE("expectations check sender, type and value, and name the seed on failure", "[framework][deterministic]") {
  testing::test_system t{99};
  auto echo = t.sys.spawn([](actor_base& self) -> behavior {
    return {[&self](ping p) { self.send(self.current_sender(), pong{p.value + 1}); }};
  });
  auto client = t.sys.spawn([](actor_base& self, actor e) -> behavior {
    return {[&self, e](go) { self.send(e, ping{41}); }, [](pong) {}};
  }, echo);
  t.inject(actor(), client, go{});
  t.disallow<ping>(client);
  t.expect<go>(client);
  CHECK_FALSE(t.allow<pong>(echo));  // echo's next message is a ping, not a pong
  t.expect<ping>(echo, t.from(client), [](const ping& p) { return p.value == 41; });
  t.expect<pong>(client, t.from(echo), pong{42});
  CHECK(t.sched().ready_count() == 0);

  t.inject(actor(), echo, ping{1});
  try {
    t.expect<ping>(echo, ping{2});
    FAIL("a mismatching expectation must throw");
  } catch (const testing::expectation_failure& e) {
    const std::string what = e.what();
    CHECK(what.find("TROUPE_SEED=99") != std::string::npos);
    CHECK(what.find("value differs") != std::string::npos);
  }
}


TEST_CASE("a test system's node id comes from its seed", "[framework][deterministic]") {
  testing::test_system a{7}, b{7}, c{8};
  CHECK(a.sys.node() == b.sys.node());  // the same seed replays the same ids (and hashes)
  CHECK(a.sys.node() != c.sys.node());
  CHECK(a.sys.node() != node_id{});
  actor_system_config cfg;
  cfg.node = node_id{42};
  actor_system fixed{cfg};
  CHECK(fixed.node() == node_id{42});
}
