// Contract 3 for requests an actor holds when it dies: wherever the request is kept (a
// response_promise member, a coroutine suspended on a long timer or request, a returned future,
// a promise captured by a continuation; tests/actors/pool_test.cpp has a pool routee), the requester learns at once, and the
// dead actor is not kept alive by what it held.
#include <support/test_actors.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>
#include <optional>

using namespace troupe;
using namespace troupe::test;

namespace {

struct hold {};
struct hold_via_then {};
struct hold_in_delay {};
struct hold_in_request {};
struct hold_in_future {};
struct hang {};  // never answered by anyone: the target of hold_in_request/hold_in_future

std::atomic<int> destroyed_holders{0};
std::atomic<int> frame_locals_destroyed{0};
std::atomic<int> holds_taken{0};  // coroutines that reached their co_await (notified)

/// Sets a flag when the coroutine frame that owns it is destroyed.
struct frame_local {
  frame_local() = default;
  frame_local(const frame_local&) = delete;
  ~frame_local() { frame_locals_destroyed.fetch_add(1); }
};

/// Holds one request in a member promise: the case that used to leak the actor.
struct member_holder : actor_base {
  response_promise<int> held;
  actor sink;  // a silent actor that never answers
  explicit member_holder(actor s) : sink(std::move(s)) {}
  ~member_holder() override { destroyed_holders.fetch_add(1); }

  behavior make_behavior() override {
    return {
        [this](hold) {
          held = make_response_promise<int>();
          return held;
        },
        [this](hold_via_then) {
          auto p = make_response_promise<int>();
          (void)request<int>(sink, hang{}, 1h).then([p](result<int> r) mutable { p.deliver(r ? *r : -1); });
          return p;
        },
        [this](hold_in_delay) -> task<int> {
          frame_local local;
          co_await delay(1h);
          co_return 1;
        },
        [this](hold_in_request) -> task<int> {
          frame_local local;
          holds_taken.fetch_add(1);
          holds_taken.notify_all();
          auto r = co_await request<int>(sink, hang{}, 1h);
          co_return r ? *r : -1;
        },
        [this](hold_in_future) { return request<int>(sink, hang{}, 1h); },
    };
  }
};

/// Takes every request and keeps it forever (until it dies).
behavior silent(actor_base& self) {
  auto kept = std::make_shared<std::vector<response_promise<int>>>();
  return {[&self, kept](hang) {
    kept->push_back(self.make_response_promise<int>());
    return kept->back();
  }};
}

template <class Msg>
void killed_holder_fails_its_request_promptly() {
  actor_system sys{two_workers()};
  auto sink = sys.spawn(silent);
  auto a = sys.spawn<member_holder>(sink);
  auto f = request<int>(a, Msg{}, infinite);
  // The request is held once the actor has handled it: a later request from the same sender is
  // answered after it. (A kill is urgent: sent at once it would overtake the request.)
  REQUIRE(request<int>(a, hang{}, prompt).get().error() == errc::unhandled_message);
  send_exit(a, exit_reason::kill());
  auto r = f.get(prompt);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::receiver_down);
}

}  // namespace

TEST_CASE("a request kept in a member response_promise fails at once when its actor is killed",
          "[framework][request][lifetime]") {
  killed_holder_fails_its_request_promptly<hold>();
}

TEST_CASE("a request kept in a promise captured by a continuation fails when its actor is killed",
          "[framework][request][lifetime]") {
  killed_holder_fails_its_request_promptly<hold_via_then>();
}

TEST_CASE("a request answered by a returned future fails when its actor is killed", "[framework][request][lifetime]") {
  killed_holder_fails_its_request_promptly<hold_in_future>();
}

TEST_CASE("a coroutine suspended on a 1 h delay is destroyed at once when its actor is killed",
          "[framework][coroutine][lifetime]") {
  const int before = frame_locals_destroyed.load();
  killed_holder_fails_its_request_promptly<hold_in_delay>();
  CHECK(frame_locals_destroyed.load() == before + 1);
}

TEST_CASE("a coroutine suspended on a 1 h request is destroyed at once when its actor is killed",
          "[framework][coroutine][lifetime]") {
  const int before = frame_locals_destroyed.load();
  killed_holder_fails_its_request_promptly<hold_in_request>();
  CHECK(frame_locals_destroyed.load() == before + 1);
}

TEST_CASE("actors holding requests in member promises are destroyed after they die", "[framework][lifetime]") {
  const int before = destroyed_holders.load();
  constexpr int n = 100;
  std::vector<future<int>> pending;
  {
    actor_system sys{two_workers()};
    auto sink = sys.spawn(silent);
    for (int i = 0; i < n; ++i) {
      auto a = sys.spawn<member_holder>(sink);
      pending.push_back(request<int>(a, hold{}, infinite));
      // Held once handled (a kill is urgent and would overtake it otherwise).
      REQUIRE(request<int>(a, hang{}, prompt).get().error() == errc::unhandled_message);
      send_exit(a, exit_reason::kill());
    }
    for (auto& f : pending) CHECK(f.get(prompt).error() == errc::receiver_down);
  }  // shutdown joins every thread: whatever is still alive now is leaked
  CHECK(destroyed_holders.load() == before + n);
}
