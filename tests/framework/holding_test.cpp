// Holding messages for later (stash, unstash_all, sequential handlers), the default handler for
// unmatched messages, and the dead-letter report.
#include <support/log_capture.hpp>
#include <support/test_actors.hpp>

#include <troupe/testing/test_system.hpp>

#include <catch2/catch.hpp>
#include <spdlog/logger.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace troupe;
using namespace troupe::test;

namespace {

struct deposit {
  int amount;
};
struct open_account {};
struct get_history {};
struct hold {};
struct release {};
struct die {};

/// An account that stashes deposits until it is opened, then serves them in order.
behavior account(actor_base& self) {
  auto history = std::make_shared<std::vector<int>>();
  return {
      [&self](deposit) { self.stash(); },
      [&self, history](open_account) {
        self.become({
            [history](deposit d) {
              history->push_back(d.amount);
              return static_cast<int>(history->size());
            },
            [history](get_history) { return *history; },
        });
        self.unstash_all();
      },
      [&self](get_history) -> std::vector<int> { return {static_cast<int>(self.stashed())}; },
      [&self](die) { self.quit(); },
  };
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

template <int N>
struct tag {};

}  // namespace

TEST_CASE("stashed messages wait for unstash_all and then run in their order", "[framework][stash]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(account);
  send(a, deposit{1});
  auto second = request<int>(a, deposit{2}, prompt);  // a request can be stashed too
  send(a, deposit{3});
  auto stashed = request<std::vector<int>>(a, get_history{}, prompt).get();
  REQUIRE(stashed);
  CHECK(*stashed == std::vector<int>{3});
  CHECK_FALSE(second.ready());
  send(a, open_account{});
  send(a, deposit{4});  // arrives after the stashed ones: handled after them
  auto r = second.get();
  REQUIRE(r);
  CHECK(*r == 2);
  auto history = request<std::vector<int>>(a, get_history{}, prompt).get();
  REQUIRE(history);
  CHECK(*history == std::vector<int>{1, 2, 3, 4});
  CHECK(sys.dead_letters() == 0);
}

TEST_CASE("a stashed request fails with receiver_down when its actor dies", "[framework][stash]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(account);
  auto f = request<int>(a, deposit{1}, infinite);
  send(a, die{});
  auto r = f.get(prompt);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::receiver_down);
}

TEST_CASE("stash outside an ordinary handler throws and says why", "[framework][stash]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn([](actor_base& self) -> behavior {
    return {[&self](hold) -> task<int> {
      self.stash();  // in a coroutine: refused
      co_return 0;
    }};
  });
  auto r = request<int>(a, hold{}, prompt).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::handler_exception);
  CHECK(r.error().detail().find("stash()") != std::string::npos);
}

TEST_CASE("the default handler sees unmatched messages and requests still fail", "[framework][stash]") {
  actor_system sys{two_workers()};
  auto seen = std::make_shared<std::vector<std::string>>();
  auto a = sys.spawn([seen](actor_base& self) -> behavior {
    self.set_default_handler([seen](const unmatched_message& m) {
      seen->push_back(std::string(m.type->name) + (m.is_request ? " request" : " send") +
                      (m.sender ? " from an actor" : " from outside"));
    });
    return {[seen](get_history) { return *seen; }};
  });
  send(a, 5);
  auto r = request<int>(a, std::string("x"), prompt).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::unhandled_message);
  auto log = request<std::vector<std::string>>(a, get_history{}, prompt).get();
  REQUIRE(log);
  REQUIRE(log->size() == 2);
  CHECK((*log)[0] == "int send from outside");
  CHECK((*log)[1].find("request from outside") != std::string::npos);
  CHECK(sys.dead_letters() == 0);  // handled by the default handler: not dead letters
}

TEST_CASE("a default handler can stash what the current behavior does not take", "[framework][stash]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn([](actor_base& self) -> behavior {
    self.set_default_handler([&self](const unmatched_message&) { self.stash(); });
    return {[&self](open_account) {
      self.become({[](deposit d) { return d.amount * 10; }});
      self.unstash_all();
    }};
  });
  auto f = request<int>(a, deposit{4}, prompt);
  send(a, open_account{});
  auto r = f.get();
  REQUIRE(r);
  CHECK(*r == 40);
}

TEST_CASE("a sequential handler holds other messages back while suspended", "[framework][stash]") {
  testing::test_system t;
  // The gate keeps requests until released.
  auto gate = t.sys.spawn([](actor_base& self) -> behavior {
    auto held = std::make_shared<std::vector<response_promise<int>>>();
    return {
        [&self, held](hold) {
          held->push_back(self.make_response_promise<int>());
          return held->back();
        },
        [held](release) {
          for (auto& p : *held) p.deliver(1);
          held->clear();
        },
    };
  });
  auto log = std::make_shared<std::vector<std::string>>();
  auto a = t.sys.spawn([log, gate](actor_base& self) -> behavior {
    return {
        troupe::sequential([&self, log, gate](open_account) -> task<void> {
          log->push_back("sequential start");
          co_await self.request<int>(gate, hold{}, infinite);
          log->push_back("sequential end");
        }),
        [&self, log, gate](deposit) -> task<void> {  // an ordinary coroutine: interleaves
          log->push_back("interleaved start");
          co_await self.request<int>(gate, hold{}, infinite);
          log->push_back("interleaved end");
        },
        [log](ping) { log->push_back("ping"); },
    };
  });
  send(a, deposit{1});
  t.run_until_idle();
  send(a, ping{});  // the interleaving coroutine does not hold it back
  t.run_until_idle();
  CHECK(*log == std::vector<std::string>{"interleaved start", "ping"});
  send(a, open_account{});
  t.run_until_idle();
  send(a, ping{});  // held back while the sequential coroutine waits
  t.run_until_idle();
  CHECK(*log == std::vector<std::string>{"interleaved start", "ping", "sequential start"});
  send(gate, release{});
  t.run_until_idle();
  CHECK(log->size() == 6);
  CHECK((*log)[5] == "ping");  // served after the sequential coroutine ended
  CHECK(std::count(log->begin(), log->end(), "sequential end") == 1);
  CHECK(std::count(log->begin(), log->end(), "interleaved end") == 1);
}

TEST_CASE("the first dead letter of a kind is logged at warn and later ones at debug", "[framework][dead_letters]") {
  std::ostringstream out;
  auto cfg = two_workers();
  cfg.logger = capture(out);
  {
    actor_system sys{cfg};
    auto a = sys.spawn(echo_plus_one);
    for (int i = 0; i < 3; ++i) send(a, i);
    send(a, std::string("x"));
    REQUIRE(request<pong>(a, ping{1}, prompt).get());  // the mailbox is FIFO: all were handled
    CHECK(sys.dead_letters() == 4);
  }
  const std::string text = out.str();
  CHECK(count(text, "warning|dead letter: a int sent to actor#") == 1);
  CHECK(count(text, "no handler takes it") == 2);  // int once, std::string once
  CHECK(count(text, "set_default_handler") == 2);
}

TEST_CASE("dead-letter warnings are rate-limited per system", "[framework][dead_letters]") {
  std::ostringstream out;
  auto cfg = two_workers();
  cfg.logger = capture(out);
  cfg.log_level = log_level::debug;
  {
    actor_system sys{cfg};
    auto a = sys.spawn(echo_plus_one);
    [&]<int... N>(std::integer_sequence<int, N...>) { (send(a, tag<N>{}), ...); }(std::make_integer_sequence<int, 15>{});
    REQUIRE(request<pong>(a, ping{1}, prompt).get());
    CHECK(sys.dead_letters() == 15);
  }
  const std::string text = out.str();
  // Fifteen first occurrences inside one second: ten warnings, the rest at debug level.
  CHECK(count(text, "warning|dead letter") == 10);
  CHECK(count(text, "warning|dead letter") + count(text, "debug|dead letter") == 15);
}

TEST_CASE("a message an actor sends to an empty handle is a dead letter of its system", "[framework][dead_letters]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn([](actor_base& self) -> behavior {
    return {[&self](ping p) {
      self.send(actor(), p);
      return pong{};
    }};
  });
  REQUIRE(request<pong>(a, ping{}, prompt).get());
  CHECK(sys.dead_letters() == 1);
}
