#include <support/test_actors.hpp>

#include <troupe/testing/test_system.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <future>

using namespace troupe;
using namespace troupe::test;

namespace {

// Reports its destruction through a std::promise the test waits on (no sleeping).
struct on_destroy {
  std::shared_ptr<std::promise<void>> p;
  ~on_destroy() {
    if (p) p->set_value();
  }
  on_destroy(std::shared_ptr<std::promise<void>> x) : p(std::move(x)) {}
  on_destroy(on_destroy&& o) noexcept : p(std::move(o.p)) {}
};

struct count_msg {};
struct get_count {};

}  // namespace

TEST_CASE("an unreferenced actor finishes its mailbox, then quits", "[framework][lifetime]") {
  actor_system sys{two_workers()};
  auto destroyed = std::make_shared<std::promise<void>>();
  auto gone = destroyed->get_future();
  auto counted = std::make_shared<std::atomic<int>>(0);
  {
    auto a = sys.spawn([](actor_base&, on_destroy guard, std::shared_ptr<std::atomic<int>> n) -> behavior {
      return {[g = std::move(guard), n](count_msg) { ++*n; }};
    }, on_destroy(destroyed), counted);
    for (int i = 0; i < 1000; ++i) send(a, count_msg{});
  }  // last handle gone: the actor handles the 1000 messages, then quits and drops its behavior
  REQUIRE(gone.wait_for(prompt) == std::future_status::ready);
  CHECK(counted->load() == 1000);
}

TEST_CASE("an actor stays alive while its own request is pending", "[framework][lifetime]") {
  actor_system sys{two_workers()};
  auto echo = sys.spawn(echo_plus_one);
  auto result = std::make_shared<std::promise<int>>();
  auto got = result->get_future();
  // Spawned and dropped at once: its pending request (and the continuation holding a handle
  // to it) keep it alive until the reply arrives.
  sys.spawn([](actor_base& self, actor e, std::shared_ptr<std::promise<int>> out) -> behavior {
    self.request<pong>(e, ping{41}, prompt).then([out](pong p) { out->set_value(p.value); });
    return {};
  }, echo, result);
  REQUIRE(got.wait_for(prompt) == std::future_status::ready);
  CHECK(got.get() == 42);
}

TEST_CASE("quit closes the mailbox and bounces what is left", "[framework][lifetime]") {
  actor_system sys{two_workers()};
  struct stop {};
  auto a = sys.spawn([](actor_base& self) -> behavior {
    return {[&self](stop) { self.quit(); }, [](count_msg) {}};
  });
  const auto before = sys.dead_letters();
  send(a, stop{});
  for (int i = 0; i < 10; ++i) send(a, count_msg{});
  // Every message behind `stop` becomes a dead letter, whether it was queued when the actor
  // quit or arrived after. A request confirms the actor is gone; its termination (which
  // bounces what was queued) has finished once the system has no actor left.
  auto r = request<void>(a, count_msg{}, prompt).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::receiver_down);
  sys.await_all_actors_done();
  CHECK(sys.dead_letters() == before + 10);
  // A handle held to the dead actor stays usable: a request through a copy of it fails at
  // once, even with no timeout.
  actor copy = a;
  CHECK(copy == a);
  auto again = request<void>(copy, count_msg{}, infinite).get(prompt);
  REQUIRE_FALSE(again);
  CHECK(again.error() == errc::receiver_down);
}

TEST_CASE("the system destructor stops actors that wait on each other", "[framework][lifetime]") {
  auto destroyed = std::make_shared<std::promise<void>>();
  auto gone = destroyed->get_future();
  {
    actor_system sys{two_workers()};
    struct hold {};
    auto sink = sys.spawn([](actor_base& self) -> behavior {
      auto kept = std::make_shared<std::vector<response_promise<int>>>();
      return {[&self, kept](hold) {
        kept->push_back(self.make_response_promise<int>());
        return kept->back();
      }};
    });
    auto waiter = sys.spawn([](actor_base& self, actor s, on_destroy guard) -> behavior {
      return {[&self, s, g = std::move(guard)](ping) -> task<int> {
        auto r = co_await self.request<int>(s, hold{}, infinite);  // never answered
        co_return r ? *r : -1;
      }};
    }, sink, on_destroy(destroyed));
    send(waiter, ping{});
    auto outside = request<int>(sink, hold{}, infinite);
    CHECK(sys.running_actors() == 2);
    // ~actor_system must not hang on the suspended coroutine, the held promises, or `outside`.
  }
  CHECK(gone.wait_for(prompt) == std::future_status::ready);
}

TEST_CASE("a pending request fails with receiver_down when the system shuts down", "[framework][lifetime]") {
  future<int> outside;
  {
    actor_system sys{two_workers()};
    struct hold {};
    auto sink = sys.spawn([](actor_base& self) -> behavior {
      auto kept = std::make_shared<response_promise<int>>();
      return {[&self, kept](hold) {
        *kept = self.make_response_promise<int>();
        return *kept;
      }};
    });
    outside = request<int>(sink, hold{}, infinite);
  }
  auto r = outside.get(prompt);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::receiver_down);
}

TEST_CASE("a delay is cancelled by shutdown", "[framework][lifetime]") {
  future<void> outside;
  {
    actor_system sys{two_workers()};
    auto a = sys.spawn([](actor_base& self) -> behavior {
      return {[&self](ping) { return self.delay(std::chrono::hours(1)); }};
    });
    outside = request<void>(a, ping{}, infinite);
  }
  auto r = outside.get(prompt);
  REQUIRE_FALSE(r);
  CHECK((r.error() == errc::cancelled || r.error() == errc::receiver_down));
}

TEST_CASE("an unreferenced actor does not quit while a resumption of its own is queued", "[framework][lifetime][deterministic]") {
  // FIFO order makes the fatal interleaving certain: the client's mailbox holds the
  // 'unreferenced' signal (its only handle was a temporary) in front of the resumption that the
  // echo's reply queued. The queued resumption must keep the client referenced.
  troupe::testing::test_system t{1, troupe::testing::pick_order::fifo};
  auto echo = t.sys.spawn(echo_plus_one);
  auto f = request<int>(t.sys.spawn([](actor_base& self, actor e) -> behavior {
                          return {[&self, e](ping p) -> task<int> {
                            int v = p.value;
                            for (int i = 0; i < 3; ++i) {
                              auto r = co_await self.request<pong>(e, ping{v}, prompt);
                              if (!r) co_return -1;
                              v = r->value;
                            }
                            co_return v;
                          }};
                        }, echo),
                        ping{0}, prompt);
  auto r = t.await(f);
  REQUIRE(r);
  CHECK(*r == 3);
}
