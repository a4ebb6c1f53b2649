// future_state<T>: the shared state behind a future and the sink of a request's reply.
//
// Concurrency contract. Three parties touch a state, each possibly on its own thread:
//   * completers: the replying actor (deliver), the timer (timeout), a dropped reply_handle
//     (receiver_down). The first to win claim() writes the result; the others are ignored.
//   * one consumer: whoever holds the future, attaching one continuation (then, co_await,
//     when_all...) or blocking in get().
//   * the timer queue, while a timeout is armed.
// The protocol is a single atomic flag word. A completer sets CLAIMED (exclusive right to write
// the result), writes it, then sets READY with release; a consumer stores its continuation, then
// sets HAS_CONTINUATION. Whichever of the two read-modify-writes comes second sees the other's
// bit and runs the continuation, so it runs exactly once, after the result is visible (acq_rel
// on both sides). A blocked get() sets HAS_WAITER and sleeps in a parking-lot bucket; the
// completer wakes the bucket only when that bit is set, so completion costs no syscall when
// nobody blocks.
//
// Continuations that run inline (attached to a ready state, or run by the completer) go through
// run_continuation(), a per-thread trampoline: up to a small nesting depth they run at once;
// deeper ones are queued and run by the outermost continuation on this thread when it returns.
// A chain of 100,000 `then`s, or an asynchronous loop whose step returns the next future, so
// runs in bounded stack.
#pragma once

#include <troupe/detail/envelope.hpp>
#include <troupe/detail/timer.hpp>
#include <troupe/detail/unique_function.hpp>
#include <troupe/result.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace troupe::detail {

/// Waits (not in an actor) until `ready()` or the deadline; returns ready().
class future_state_base;
/// Runs `st`'s continuation now, or (when continuations are already nested deeply on this
/// thread) queues it for the outermost one to run; see the header comment.
void run_continuation(future_state_base& st) noexcept;
bool park_until_ready(future_state_base& st, const time_point* deadline) noexcept;
void unpark_waiters(future_state_base& st) noexcept;
std::string type_mismatch_detail(const type_meta* expected, const type_meta* got);
/// Logs, at warn level, a failure nobody will look at: its future was dropped unconsumed
/// (JavaScript's "unhandled promise rejection"). Through the current actor's system's logger,
/// or the system whose timer thread this is; elsewhere through spdlog's default logger.
void report_unobserved_failure(const error& e) noexcept;
/// actor_system_config::request_timeout of `sys`.
duration default_request_timeout(const actor_system& sys) noexcept;

class future_state_base : public reply_sink, public timer_node {
 public:
  future_state_base() noexcept : timer_node(this) {}

  bool ready() const noexcept { return flags_.load(std::memory_order_acquire) & ready_bit; }

  void fail(error e) noexcept final {
    if (!claim()) return;
    error_.emplace(std::move(e));
    publish();
  }

  /// Completes the state with errc::cancelled, if it is still pending, and tells whoever
  /// produces its result (the receiver of a request, the source of a then(), the inputs of a
  /// when_all...) to stop. A state marked detached ignores cancel_kind::tree.
  void cancel(cancel_kind why) noexcept final { try_cancel(why); }
  /// cancel(), telling whether this call completed the state.
  bool try_cancel(cancel_kind why) noexcept {
    if (why == cancel_kind::tree && detached_) return false;
    return give_up(error(errc::cancelled));
  }

  time_point deadline() const noexcept final { return delay_ ? time_point::max() : armed_deadline(); }

  /// Makes a state just made (then()'s, a when_*'s: never a request's sink) watch `w`, its
  /// producer. Its watcher then changes only where ordered with its completion (forward_to
  /// before the inner future can complete; a cancel only after winning the claim), so it is let
  /// go without a compare-exchange.
  void watch_fresh(intrusive_ptr<cancellable> w) noexcept {
    derived_ = true;
    set_first_watcher(std::move(w));
  }

  /// Outside every request tree (troupe::detached): a cancelled tree does not cancel it.
  bool detached() const noexcept { return detached_; }
  void set_detached() noexcept { detached_ = true; }

  /// Runs `f` once the result is ready: right now on this thread if it already is, otherwise
  /// on the completing thread. Only one continuation per state.
  template <class F>
  void attach(F&& f) {
    cont_.emplace(std::forward<F>(f));
    if (flags_.fetch_or(continuation_bit, std::memory_order_acq_rel) & ready_bit) run_continuation(*this);
  }

  /// True once a completer has claimed the state (its result is written or being written).
  bool completed() const noexcept final { return flags_.load(std::memory_order_acquire) & claimed_bit; }

  /// Fails the state with errc::timeout after `after` (default_timeout: the system's request
  /// timeout) unless completed before.
  void arm_timeout(actor_system& sys, duration after) {
    if (after == default_timeout) after = default_request_timeout(sys);
#if TROUPE_TRACE_HOOKS
    trace_quiet = true;  // a request's timeout: recorded as a timeout, not as a timer
#endif
    if (after != infinite) arm_timer(sys, *this, after);
  }

  /// Its only consumer is gone for good (a destroyed coroutine that awaited it): a delay stops
  /// its timer now rather than holding memory until the deadline.
  void abandon() noexcept {
    if (delay_ && armed()) cancel_timer(*this);
  }

  /// The future was dropped without consuming this state: a failure is reported (once, by
  /// whichever of this call and the completion comes second), except errc::cancelled, which
  /// only says that the work was called off (by someone who knows it).
  void drop_consumer() noexcept {
    if (flags_.fetch_or(dropped_bit, std::memory_order_acq_rel) & ready_bit) report_if_failed();
  }

  /// Blocks the calling (non-actor) thread until ready or the deadline passes.
  bool wait(const time_point* until) noexcept {
    if (ready()) return true;
    flags_.fetch_or(waiter_bit, std::memory_order_acq_rel);
    return park_until_ready(*this, until);
  }

 protected:
  static constexpr std::uint8_t claimed_bit = 1, ready_bit = 2, continuation_bit = 4, waiter_bit = 8,
                                dropped_bit = 16;

  /// The consumer's side stops waiting with `e`: completes the state (if pending) and tells its
  /// producer (always as a tree cancellation: see reply_sink).
  bool give_up(error e) noexcept {
    if (!claim()) return false;
    error_.emplace(std::move(e));
    mark_cancelled();
    publish();
    return true;
  }

  void report_if_failed() noexcept {
    if (error_ && error_->code() != errc::cancelled) report_unobserved_failure(*error_);
  }

  bool claim() noexcept {
    return !(flags_.fetch_or(claimed_bit, std::memory_order_acquire) & claimed_bit);
  }
  void publish() noexcept {
    if (armed()) cancel_timer(*this);
    drop_watcher(derived_);
    auto prev = flags_.fetch_or(ready_bit, std::memory_order_acq_rel);
    if (prev & waiter_bit) unpark_waiters(*this);
    if (prev & continuation_bit) run_continuation(*this);
    if (prev & dropped_bit) report_if_failed();
  }

  void on_timer(bool cancelled) noexcept override {
    if (!cancelled && tracing()) [[unlikely]] trace_timeout(*this);
    // The requester stops waiting: its receiver is told (and may drop the work).
    give_up(cancelled ? errc::cancelled : errc::timeout);
  }

  std::optional<error> error_;
  bool delay_ = false;
  bool detached_ = false;
  bool derived_ = false;  // made by then() or a when_*: see watch_fresh

 private:
  friend class continuation_trampoline;
  void invoke_continuation() noexcept {
    auto c = std::move(cont_);
    c();
  }

  // (Ordered so that the pointer fills the gap before cont_'s 16-byte alignment: a state of a
  // word-sized value stays within 256 bytes, four cache lines.)
  std::atomic<std::uint8_t> flags_{0};
  future_state_base* deferred_next_ = nullptr;  // the trampoline's queue (this thread's only)
  unique_function<void()> cont_;
};

template <class T>
class future_state final : public future_state_base {
 public:
  using value_type = value_or_unit_t<T>;

  void deliver(const type_meta* type, void* value) override {
    if (type != type_id<value_type>()) {
      if constexpr (std::is_void_v<T>) {
        // A request whose caller wants no value accepts any reply as an acknowledgement.
        set_value(unit{});
        return;
      } else {
        fail(error(errc::type_mismatch, type_mismatch_detail(type_id<value_type>(), type)));
        return;
      }
    }
    set_value(std::move(*static_cast<value_type*>(value)));
  }

  template <class... Args>
  void set_value(Args&&... args) {
    if (!claim()) return;
    value_.emplace(std::forward<Args>(args)...);
    publish();
  }

  /// Completes with success (not errc::timeout) when the armed timer fires: a delay.
  void arm_delay(actor_system& sys, duration after)
    requires std::is_void_v<T>
  {
    delay_ = true;
    arm_timer(sys, *this, after);
  }

  /// Moves the result out; valid once, after ready().
  result<T> take() {
    if (error_) return std::move(*error_);
    if constexpr (std::is_void_v<T>) {
      return {};
    } else {
      return result<T>(std::in_place, std::move(*value_));
    }
  }

 private:
  void on_timer(bool cancelled) noexcept override;

  std::optional<value_type> value_;
};

template <class T>
void future_state<T>::on_timer(bool cancelled) noexcept {
  if constexpr (std::is_void_v<T>) {
    if (delay_ && !cancelled) {
      set_value(unit{});
      return;
    }
  }
  future_state_base::on_timer(cancelled);
}

template <class T>
using state_ptr = intrusive_ptr<future_state<T>>;

template <class T>
state_ptr<T> make_state() {
  return make_intrusive<future_state<T>>();
}

}  // namespace troupe::detail
