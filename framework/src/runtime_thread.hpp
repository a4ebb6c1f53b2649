// Marks the threads (or stretches of a thread) that run the runtime itself: workers, the timer
// thread, and a test scheduler or virtual clock while it runs actors or fires timers. Blocking
// there would stall actors or timers that the awaited result may depend on, so future::get()
// refuses to (errc::blocking_in_actor) on such a thread, as it does inside an actor.
#pragma once

namespace troupe {
class actor_system;
}

namespace troupe::detail {

class runtime_thread_scope {
 public:
  /// `sys`: the system this stretch works for, when one is known (the timer thread).
  explicit runtime_thread_scope(actor_system* sys = nullptr) noexcept;
  ~runtime_thread_scope();
  runtime_thread_scope(const runtime_thread_scope&) = delete;
  runtime_thread_scope& operator=(const runtime_thread_scope&) = delete;

 private:
  actor_system* prev_;
};

/// The system of the innermost runtime_thread_scope that named one, or null.
actor_system* runtime_system() noexcept;

/// True inside a runtime_thread_scope on this thread.
bool on_runtime_thread() noexcept;

}  // namespace troupe::detail
