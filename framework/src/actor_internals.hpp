// The parts of actor_base's implementation that its source files share (framework/src only).
//
// actor_base's implementation is split along its seams:
//   actor_runtime.cpp    the glue the headers call (current actor, continuations, coroutine
//                        bookkeeping, held replies, spawn scope), construction, become, quit
//   actor_mailbox.cpp    enqueue, bounce (what a dead or full actor does with an envelope), the
//                        stash, the order messages are taken in
//   actor_dispatch.cpp   start-up, activation (resume), dispatch to the behavior, dead letters
//   actor_links.cpp      links, monitors, exit and down signals
//   actor_idle.cpp       the idle timeout
//   actor_lifecycle.cpp  failing, termination, send_exit
//
// One activation (resume) runs on one worker and processes up to the message budget. Only the
// thread that won the mailbox's idle-to-busy transition runs it, so the actor's fields
// (behavior_, current_, extras_, state_) are touched by one thread at a time; the scheduler's
// queue hand-offs order one activation before the next.
#pragma once

#include <troupe/actor_base.hpp>
#include <troupe/detail/envelope.hpp>
#include <troupe/detail/unique_function.hpp>
#include <troupe/exit_reason.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace troupe {

namespace detail {


/// The parts of an actor that most actors never use, allocated on first use so that an idle
/// actor stays small.
struct lifecycle_extras {
  std::vector<weak_actor> links;
  std::vector<weak_actor> monitors;  // actors monitoring this one
  unique_function<void(const exit_reason&)> exit_handler;
  std::optional<exit_reason> reason;  // the pending (then final) exit reason, if not normal
  bool trap_exit = false;
  // Idle timeout.
  duration idle_timeout = infinite;
  unique_function<void()> idle_fn;
  time_point last_activity{};
  intrusive_ptr<ref_counted> idle_timer;
  // Ordinary messages held back in await_mode::sequential while coroutines are suspended.
  envelope* stash_head = nullptr;
  envelope* stash_tail = nullptr;
  // Behaviors replaced while a handler (or a coroutine started by one) may still run in them;
  // destroyed once no handler and no handler coroutine is running.
  std::vector<std::unique_ptr<behavior_impl>> retired;
  // Requests this actor answers later (response promises, returned futures): failed with
  // receiver_down if it terminates first. Answered ones are swept out when the list has doubled.
  std::vector<intrusive_ptr<reply_sink>> held_replies;
  std::size_t sweep_at = 16;
  // Running handler coroutines (a list through their promises; see task_promise_base).
  task_promise_base* live_tasks = nullptr;

  ~lifecycle_extras() {
    while (stash_head) delete std::exchange(stash_head, stash_head->next);
  }
};


/// The actor whose handler or initialisation runs on this thread (null elsewhere).
constinit inline thread_local actor_base* tls_current = nullptr;

/// Sets the current actor for a scope (activations and initialisation nest: spawn inside a
/// handler initialises the child on the same thread).
class current_scope {
 public:
  explicit current_scope(actor_base* a) noexcept : prev_(std::exchange(tls_current, a)) {}
  ~current_scope() { tls_current = prev_; }
  current_scope(const current_scope&) = delete;
  current_scope& operator=(const current_scope&) = delete;

 private:
  actor_base* prev_;
};

/// The what() of an exception, for logs and error details.
std::string exception_text(std::exception_ptr ex);

/// A system signal carrying `payload` (exit_msg, down_msg).
template <class T>
envelope* make_signal(envelope_kind kind, T payload, actor sender) {
  auto* e = new message_envelope<T>(std::move(payload));
  e->kind = kind;
  e->sender = std::move(sender);
  return e;
}

/// Stops the idle timer, if armed (actor_idle.cpp).
void stop_idle_timer(lifecycle_extras& x) noexcept;

}  // namespace detail
}  // namespace troupe
