// Delayed and periodic sends.
//
//   troupe::timer_handle t = troupe::periodic_send(target, 100ms, tick{});
//   troupe::delayed_send(target, 2s, reminder{});
//   t.cancel();
//
// Inside an actor, pass it first to make it the sender: troupe::delayed_send(self, to, 2s, msg),
// troupe::periodic_send(self, to, 100ms, tick{}). Timers do
// not keep actors alive: the target and the sender are held weakly; a timer whose target died
// stops (a one-shot one becomes a dead letter). A periodic timer fires at start + k * period
// (no drift) and copies its message each time, so the message type must be copyable. All times
// go through the system's timer_service, so tests can drive them with a virtual clock.
#pragma once

#include <troupe/actor.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/detail/envelope.hpp>
#include <troupe/detail/ref_counted.hpp>
#include <troupe/detail/timer.hpp>
#include <troupe/time.hpp>

#include <atomic>
#include <optional>
#include <type_traits>
#include <utility>

namespace troupe {

namespace detail {

class send_timer_base : public ref_counted, public timer_node {
 public:
  send_timer_base(const actor& target, const actor& sender, duration period)
      : timer_node(this), target_(target), sender_(sender), period_(period) {}

  void cancel() noexcept {
    cancelled_.store(true, std::memory_order_release);
    cancel_timer(*this);
  }
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }
  /// Arms the first shot (the system is the target's).
  void start(actor_system& sys, duration first) {
    sys_ = &sys;
    next_ = sys.timers().now() + first;
    sys.timers().arm(*this, next_);
  }

 protected:
  virtual envelope* make_envelope(bool last) = 0;

 private:
  void on_timer(bool cancelled) noexcept override {
    if (cancelled || this->cancelled()) return;
    abstract_actor* target = target_.address();
    if (!target) return;
    const bool periodic = period_ != duration::zero();
    envelope* e;
    try {
      e = make_envelope(!periodic);
    } catch (...) {
      return;
    }
    e->sender = sender_.lock();
    const bool delivered = system_access::enqueue(*target, e);
    if (periodic && delivered && !this->cancelled()) {
      next_ += period_;
      sys_->timers().arm(*this, next_);
    }
  }

  weak_actor target_;
  weak_actor sender_;
  duration period_;
  actor_system* sys_ = nullptr;
  time_point next_{};
  std::atomic<bool> cancelled_{false};
};

template <class T>
class send_timer final : public send_timer_base {
 public:
  send_timer(const actor& target, const actor& sender, duration period, T msg)
      : send_timer_base(target, sender, period), msg_(std::move(msg)) {}

 private:
  envelope* make_envelope(bool last) override {
    if constexpr (std::is_copy_constructible_v<T>) {
      if (!last) return new message_envelope<T>(msg_);
    }
    return new message_envelope<T>(std::move(msg_));
  }
  T msg_;
};

}  // namespace detail

/// Cancels a delayed or periodic send. Copyable; all copies control the same timer. Dropping
/// the handle does not cancel the timer.
class timer_handle {
 public:
  timer_handle() noexcept = default;
  explicit timer_handle(detail::intrusive_ptr<detail::send_timer_base> t) noexcept : t_(std::move(t)) {}
  /// Stops the timer; a shot already under way may still arrive.
  void cancel() noexcept {
    if (t_) t_->cancel();
  }
  /// False once cancelled (or for an empty handle).
  bool active() const noexcept { return t_ && !t_->cancelled(); }

 private:
  detail::intrusive_ptr<detail::send_timer_base> t_;
};

namespace detail {
template <class T>
timer_handle start_send_timer(const actor& to, const actor& sender, duration first, duration period, T&& msg) {
  if constexpr (!check_message<T>()) return {};
  if (!to) return {};
  using M = std::remove_cvref_t<T>;
  auto t = make_intrusive<send_timer<M>>(to, sender, period, M(std::forward<T>(msg)));
  t->start(to->system(), first);
  return timer_handle(std::move(t));
}
}  // namespace detail

/// Sends `msg` to `to` after `d`.
template <class T>
timer_handle delayed_send(const actor& to, duration d, T&& msg) {
  return detail::start_send_timer(to, actor(), d, duration::zero(), std::forward<T>(msg));
}

/// Sends a copy of `msg` to `to` every `period` (the first after one period).
template <class T>
timer_handle periodic_send(const actor& to, duration period, T msg) {
  static_assert(std::is_copy_constructible_v<T>, "periodic messages are copied for every shot");
  if (period <= duration::zero()) period = duration(1);
  return detail::start_send_timer(to, actor(), period, period, std::move(msg));
}

/// As delayed_send, with `self` as the sender.
template <class T>
timer_handle delayed_send(actor_base& self, const actor& to, duration d, T&& msg) {
  return detail::start_send_timer(to, self.handle(), d, duration::zero(), std::forward<T>(msg));
}

/// As periodic_send, with `self` as the sender.
template <class T>
timer_handle periodic_send(actor_base& self, const actor& to, duration period, T msg) {
  static_assert(std::is_copy_constructible_v<T>, "periodic messages are copied for every shot");
  if (period <= duration::zero()) period = duration(1);
  return detail::start_send_timer(to, self.handle(), period, period, std::move(msg));
}

}  // namespace troupe
