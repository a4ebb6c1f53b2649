// virtual_clock: a timer_service whose time moves only when a test moves it.
//
//   actor_system_config cfg;
//   cfg.timer_factory = [](actor_system& s) { return std::make_unique<testing::virtual_clock>(s); };
//
// Every timer of the system (request timeouts, delays, delayed/periodic sends, idle timeouts)
// then fires only inside advance()/advance_to()/fire_next(), on the calling thread, in deadline
// order (ties broken the same way in every identical run), each at its own deadline (now()
// reads that deadline while it fires). Thread-safe, so it also works with the real thread pool.
#pragma once

#include <troupe/timer_service.hpp>

#include <cstdint>
#include <mutex>
#include <optional>

namespace troupe {
class actor_system;
}

namespace troupe::testing {

class virtual_clock final : public timer_service {
 public:
  explicit virtual_clock(actor_system& sys);
  ~virtual_clock() override;

  time_point now() const noexcept override;
  void stop() noexcept override;
  void arm(detail::timer_node& node, time_point deadline) override;
  void cancel(detail::timer_node& node) noexcept override;
  std::size_t pending() const override;

  /// Moves time forward by `d`, firing every timer due by then; returns how many fired.
  std::size_t advance(duration d);
  /// Moves time to `t` (never backwards), firing every timer due by then.
  std::size_t advance_to(time_point t);
  /// Jumps to the earliest deadline and fires the timers due then; false if none is queued.
  bool fire_next();
  /// The earliest deadline, if any timer is queued.
  std::optional<time_point> next_deadline() const;

 private:
  struct impl;
  actor_system& sys_;
  mutable std::mutex m_;
  impl* impl_;
  time_point now_;
  bool stopping_ = false;
};

}  // namespace troupe::testing
