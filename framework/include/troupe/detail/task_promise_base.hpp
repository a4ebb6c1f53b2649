// The part of a task coroutine's promise that awaiters outside task.hpp need to see: which
// frame to destroy if a suspended chain of coroutines is abandoned (its actor died).
#pragma once

#include <troupe/detail/envelope.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>

namespace troupe {
class actor_base;
}

namespace troupe::detail {

struct task_promise_base;
class future_state_base;
class cancellable;

/// The handler coroutine `p` (a root) lets go of the watcher it registered on its request.
void task_watcher_gone(task_promise_base& p) noexcept;

/// Book-keeping of a handler coroutine started by the runtime (defined in actor_base.cpp): the
/// actor keeps a list of its running handler coroutines and destroys those still suspended
/// when it terminates.
void task_started(actor_base& self, task_promise_base& p);
void task_finished(actor_base& self, task_promise_base& p, std::exception_ptr ex) noexcept;
void task_frame_ref(actor_base& self) noexcept;
/// Marks `p` (a handler coroutine's root promise, or null) as the one running on `self` now, so
/// that requests it makes are linked to the request it serves; returns the previous one.
task_promise_base* set_running_task(actor_base& self, task_promise_base* p) noexcept;
void task_frame_unref(actor_base& self) noexcept;

struct task_promise_base {
  std::coroutine_handle<> continuation;  // the awaiting parent coroutine, if any
  std::coroutine_handle<> root;          // the outermost frame, destroyed if the chain is abandoned
  std::exception_ptr exception;
  // Set when the runtime runs the task as a handler:
  actor_base* self = nullptr;
  reply_handle reply;
  // The envelope of the message a handler coroutine took by reference: kept (and deleted) here,
  // so the reference stays valid across suspensions.
  envelope* kept_message = nullptr;
  // The actor's list of running handler coroutines (roots only).
  task_promise_base* live_prev = nullptr;
  task_promise_base* live_next = nullptr;
  bool detached = false;
  // True for every frame of a chain whose root is a handler coroutine: the actor owns it.
  bool owned_by_actor = false;
  // A handler coroutine that holds the actor's other ordinary messages back while suspended
  // (troupe::sequential, or await_mode::sequential).
  bool exclusive = false;
  // The root frame's promise (this one for a root), and the root's number on its actor.
  task_promise_base* root_promise = nullptr;
  std::uint64_t serial = 0;
  // Cancellation (roots only): the future the chain is suspended on now (held by its awaiter),
  // the watcher registered on the request it serves (at its first suspension), and whether
  // that request was cancelled (then every later co_await fails at once with errc::cancelled).
  future_state_base* awaiting = nullptr;
  cancellable* watcher = nullptr;
  bool cancelled = false;
  // The served request's deadline (what the coroutine's requests inherit), read once at start.
  time_point served_deadline = time_point::max();

  task_promise_base() = default;
  task_promise_base(const task_promise_base&) = delete;
  ~task_promise_base() {
    if (watcher) task_watcher_gone(*this);
    delete kept_message;
    if (detached && self) task_frame_unref(*self);
  }
  std::suspend_always initial_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }
};


/// The frame to destroy instead of resuming `h` when its actor is gone: none for a chain that
/// its actor owns (the actor destroys it when it terminates), the root of another chain of
/// task coroutines (which owns the rest), or `h` itself for other coroutine types.
template <class P>
std::coroutine_handle<> frame_to_destroy(std::coroutine_handle<P> h) noexcept {
  if constexpr (std::is_base_of_v<task_promise_base, P>) {
    if (h.promise().owned_by_actor) return {};
    if (h.promise().root) return h.promise().root;
  }
  return h;
}

}  // namespace troupe::detail
