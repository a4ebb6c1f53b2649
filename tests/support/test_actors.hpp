// Shared helpers for troupe's tests.
#pragma once

#include <troupe/troupe.hpp>

#include <chrono>

namespace troupe::test {

using namespace std::chrono_literals;

/// A generous bound for results that should come "at once": far below it in practice, but a
/// test that waits this long has found a request that did not fail promptly.
inline constexpr auto prompt = 10s;

/// A system with two workers, like the target machine.
inline actor_system_config two_workers() {
  actor_system_config cfg;
  cfg.worker_count = 2;
  return cfg;
}

struct ping {
  int value = 0;
  friend bool operator==(const ping&, const ping&) = default;
};
struct pong {
  int value = 0;
  friend bool operator==(const pong&, const pong&) = default;
};

/// Replies to ping{n} with pong{n + 1}.
inline behavior echo_plus_one(actor_base&) {
  return {[](ping p) { return pong{p.value + 1}; }};
}

/// echo_plus_one as a class-based actor.
class echo_class : public actor_base {
 protected:
  behavior make_behavior() override {
    return {[](ping p) { return pong{p.value + 1}; }};
  }
};

}  // namespace troupe::test
