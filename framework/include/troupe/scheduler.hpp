// The scheduler seam: who runs ready actors, and on which thread.
//
// Production uses the work-stealing thread pool (actor_system_config::worker_count workers).
// Tests can plug in another implementation through actor_system_config::scheduler_factory, for
// example a deterministic single-threaded scheduler that picks the next ready actor with a
// seeded generator.
//
// Contract for implementations:
//   * schedule(r) may be called from any thread, including from inside r->resume() of another
//     resumable on a worker. The caller has already taken a reference for the scheduler
//     (r->ref_for_scheduler()); the scheduler calls r->resume(...) later, exactly once per
//     schedule() call, and then either drops that reference (r->unref_for_scheduler()) when
//     resume returns `done`, or keeps it and schedules r again when it returns `resume_later`.
//   * resume() of one resumable never runs on two threads at once (the mailbox guarantees a
//     resumable is scheduled at most once at a time).
//   * stop() returns after every worker thread has exited; resumables still queued are resumed
//     until none is left (a dead actor's resume returns `done` at once).
//   * Shutdown order (actor_system's destructor): every actor gets a quit message, then
//     run_during_shutdown() is called, then the system waits for all actors to finish, then
//     the timers stop, then stop() is called.
#pragma once

#include <cstddef>
#include <memory>

namespace troupe {

class actor_system;

class resumable {
 public:
  enum class resume_result { done, resume_later };

  /// Runs up to `max_messages` messages (a fairness budget).
  virtual resume_result resume(std::size_t max_messages) noexcept = 0;
  virtual void ref_for_scheduler() noexcept = 0;
  virtual void unref_for_scheduler() noexcept = 0;

 protected:
  ~resumable() = default;
};

class scheduler {
 public:
  virtual ~scheduler() = default;
  virtual void start() = 0;
  virtual void schedule(resumable* r) noexcept = 0;
  virtual void stop() noexcept = 0;
  virtual std::size_t worker_count() const noexcept = 0;
  /// Called on the thread destroying the actor_system, after every actor was told to quit and
  /// before it waits for them. A scheduler without threads of its own (a test scheduler) runs
  /// ready actors here until none is left; the thread pool has nothing to do.
  virtual void run_during_shutdown() noexcept {}
};

}  // namespace troupe
