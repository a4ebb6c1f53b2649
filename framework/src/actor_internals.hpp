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

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace troupe {

namespace detail {

/// A FIFO of envelopes linked through their `next` (owned: deleted with the queue).
struct envelope_queue {
  envelope* head = nullptr;
  envelope* tail = nullptr;
  std::size_t size = 0;

  envelope_queue() = default;
  envelope_queue(const envelope_queue&) = delete;
  envelope_queue& operator=(const envelope_queue&) = delete;
  ~envelope_queue() {
    while (head) delete std::exchange(head, head->next);
  }
  bool empty() const noexcept { return head == nullptr; }
  void push_back(envelope* e) noexcept {
    e->next = nullptr;
    if (tail)
      tail->next = e;
    else
      head = e;
    tail = e;
    ++size;
  }
  envelope* pop_front() noexcept {
    envelope* e = head;
    if (!e) return nullptr;
    head = e->next;
    if (!head) tail = nullptr;
    e->next = nullptr;
    --size;
    return e;
  }
  /// Moves all of `other` in front of this queue's envelopes, in their order.
  void splice_front(envelope_queue& other) noexcept {
    if (other.empty()) return;
    other.tail->next = head;
    if (!tail) tail = other.tail;
    head = other.head;
    size += other.size;
    other.head = other.tail = nullptr;
    other.size = 0;
  }
  /// Takes the whole list out (the caller owns it).
  envelope* release() noexcept {
    size = 0;
    tail = nullptr;
    return std::exchange(head, nullptr);
  }
};


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
  // Ordinary messages waiting to be handled before the mailbox: held back while a sequential
  // coroutine is suspended, or put back by unstash_all().
  envelope_queue front;
  // Messages the user stashed (actor_base::stash), until unstash_all().
  envelope_queue stash;
  // Runs for messages no handler takes (actor_base::set_default_handler).
  unique_function<void(const unmatched_message&)> default_handler;
  // Running handler coroutines marked troupe::sequential (or all of them in
  // await_mode::sequential): while one is suspended, ordinary messages are held back.
  std::uint32_t exclusive_tasks = 0;
  // The handler coroutine running now (its requests link to the request it serves), and the
  // number the next one gets.
  task_promise_base* running_task = nullptr;
  std::uint64_t next_task_serial = 1;
  // Behaviors replaced while a handler (or a coroutine started by one) may still run in them;
  // destroyed once no handler and no handler coroutine is running.
  std::vector<std::unique_ptr<behavior_impl>> retired;
  // Requests this actor answers later (response promises, returned futures): failed with
  // receiver_down if it terminates first. Answered ones are swept out when the list has doubled.
  std::vector<intrusive_ptr<reply_sink>> held_replies;
  std::size_t sweep_at = 16;
  // Running handler coroutines (a list through their promises; see task_promise_base).
  task_promise_base* live_tasks = nullptr;
  // The name given with set_name.
  std::string name;
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
