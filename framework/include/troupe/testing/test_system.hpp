// test_system: an actor system for deterministic tests, and an expectation API.
//
//   troupe::testing::test_system t{seed};                // deterministic scheduler + virtual clock
//   auto pong = t.sys.spawn(ponger);
//   auto ping = t.sys.spawn(pinger, pong);
//   t.inject(troupe::actor(), ping, start{3});            // a message from "outside"
//   t.expect<start>(ping);                                // ping's next message is a start: run it
//   t.expect<ball>(pong, t.from(ping), ball{3});          // from ping, equal to ball{3}
//   t.expect<ball>(ping, [](const ball& b) { return b.n == 2; });
//   t.run_until_idle();
//   t.advance_time(1s);                                   // fires due timers; actors then run
//
// Nothing runs unless the test says so: expect/allow run exactly the one message they check;
// run_until_idle() runs ready actors (in the seed's order) until none is ready; run_all() also
// jumps the clock to each next timer until no timer is left. A failed expectation throws
// troupe::testing::expectation_failure, whose message names the seed to replay it with
// (TROUPE_SEED=<seed> replays any test built on default_seed()).
#pragma once

#include <troupe/actor_system.hpp>
#include <troupe/detail/envelope.hpp>
#include <troupe/future.hpp>
#include <troupe/testing/deterministic_scheduler.hpp>
#include <troupe/testing/virtual_clock.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace troupe::detail {
/// The test system's view of an actor's mailbox (test thread only, with nothing else running).
class testing_access {
 public:
  static envelope* peek(const actor& a);
};
}  // namespace troupe::detail

namespace troupe::testing {

class expectation_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// TROUPE_SEED from the environment, else `fallback`.
std::uint64_t default_seed(std::uint64_t fallback = 1);

/// Matcher: the message's sender.
struct from_matcher {
  actor sender;
};

class test_system {
 public:
  explicit test_system(std::uint64_t seed = default_seed(), pick_order order = pick_order::seeded);
  ~test_system();
  test_system(const test_system&) = delete;
  test_system& operator=(const test_system&) = delete;

  deterministic_scheduler& sched() noexcept { return *sched_; }
  virtual_clock& clock() noexcept { return *clock_; }
  std::uint64_t seed() const noexcept { return seed_; }

  static from_matcher from(actor a) { return {std::move(a)}; }

  /// Delivers `msg` to `to` as if `from` had sent it (`from` may be empty). Runs nothing.
  template <class T>
  void inject(const actor& from, const actor& to, T&& msg) {
    detail::deliver_to(to, detail::make_message(std::forward<T>(msg), from));
  }

  /// Checks that the next message `receiver` will handle is a T matching every matcher (a
  /// from(sender), a value compared with ==, or a predicate on const T&), then runs it.
  template <class T, class... Matchers>
  void expect(const actor& receiver, Matchers&&... matchers) {
    if (auto why = mismatch<T>(receiver, matchers...)) fail("expect", receiver, *why);
    sched_->run_actor(receiver);
  }

  /// Runs the next message of `receiver` if it is a matching T; returns whether it did.
  template <class T, class... Matchers>
  bool allow(const actor& receiver, Matchers&&... matchers) {
    if (mismatch<T>(receiver, matchers...)) return false;
    sched_->run_actor(receiver);
    return true;
  }

  /// Fails if the next message of `receiver` is a matching T. Runs nothing.
  template <class T, class... Matchers>
  void disallow(const actor& receiver, Matchers&&... matchers) {
    if (!mismatch<T>(receiver, matchers...)) fail("disallow", receiver, "the next message matches");
  }

  /// Runs ready actors, one message at a time in the seed's order, until none is ready.
  std::size_t run_until_idle() { return sched_->run_until_idle(); }
  /// Like run_until_idle, then jumps the clock to the next timer, and again, until no actor is
  /// ready and no timer is left (at most `max_timer_jumps` jumps).
  std::size_t run_all(std::size_t max_timer_jumps = 1'000'000);
  /// Advances the virtual clock by `d`: at each timer deadline on the way, fires what is due
  /// and runs actors until idle (so timers they arm in between fire too), then runs until idle.
  std::size_t advance_time(duration d);

  /// Runs actors (and timers) until `f` is ready; fails if the system goes idle first.
  template <class T>
  result<T> await(future<T>& f) {
    while (!f.ready()) {
      if (sched_->run_once()) continue;
      if (!clock_->fire_next()) fail("await", actor(), "the system is idle and the future is not ready");
    }
    return f.get();
  }

  actor_system sys;

 private:
  template <class T, class... Matchers>
  std::optional<std::string> mismatch(const actor& receiver, Matchers&... matchers) {
    detail::envelope* e = sched_->is_ready(receiver) ? detail::testing_access::peek(receiver) : nullptr;
    if (!e) return std::string("it has no message ready (expected ") + std::string(type_id<T>()->name) + ")";
    if (e->kind != detail::envelope_kind::message && e->kind != detail::envelope_kind::exit_signal &&
        e->kind != detail::envelope_kind::down_signal)
      return std::string("its next envelope is a runtime signal, not a message");
    if (e->type != type_id<T>())
      return "its next message is a " + std::string(e->type ? e->type->name : "?") + ", not a " +
             std::string(type_id<T>()->name);
    const T& value = static_cast<detail::message_envelope<T>*>(e)->value;
    std::optional<std::string> why;
    (check(why, value, *e, matchers), ...);
    return why;
  }

  template <class T, class M>
  static void check(std::optional<std::string>& why, const T& value, const detail::envelope& e, const M& m) {
    if (why) return;
    if constexpr (std::is_same_v<M, from_matcher>) {
      if (!(e.sender == m.sender)) why = "it comes from " + e.sender.to_string() + ", not " + m.sender.to_string();
    } else if constexpr (std::is_invocable_r_v<bool, const M&, const T&>) {
      if (!m(value)) why = "the predicate rejects it";
    } else {
      if (!(value == m)) why = "its value differs";
    }
  }

  [[noreturn]] void fail(const char* what, const actor& receiver, const std::string& why) const;

  std::uint64_t seed_;
  deterministic_scheduler* sched_;
  virtual_clock* clock_;
};

/// What for_each_seed found.
struct [[nodiscard]] seed_report {
  std::size_t runs = 0;
  std::optional<std::uint64_t> failing_seed;
  std::string failure;
};

/// Runs `body(seed)` for seeds first, first+1, ... (count runs), stopping at the first that
/// throws; prints that seed and how to replay it. With TROUPE_SEED set, runs only that seed.
[[nodiscard]] seed_report for_each_seed(std::size_t count, const std::function<void(std::uint64_t)>& body,
                          std::uint64_t first = 1);

}  // namespace troupe::testing
