// system_access: the runtime's private door into actors, handles and the system.
//
// What the runtime's own parts (mailboxes, schedulers, timers, the registry, troupe::net's
// proxies, the test scheduler) need and user code must not touch lives behind this class:
// delivering a raw envelope, reference counting, making a handle from a raw pointer (which
// could revive a dead actor's strong count), the scheduler and the registry of a system.
// Everything here is `detail`: not part of the API, free to change.
#pragma once

#include <troupe/abstract_actor.hpp>
#include <troupe/actor.hpp>

#include <functional>
#include <string>

namespace troupe {

class actor_base;
class resumable;
class scheduler;

namespace detail {

struct envelope;
class actor_registry;
class blocking_pool;
class dead_letter_log;
class trace_recorder;

class system_access {
 public:
  // -- any actor (local or proxy) -----------------------------------------------------------
  /// abstract_actor::enqueue: delivers `e`, taking ownership (bounces it when refused).
  static bool enqueue(const abstract_actor& a, envelope* e) noexcept {
    return const_cast<abstract_actor&>(a).enqueue(e);
  }
  static void weak_ref(const abstract_actor& a) noexcept { a.weak_ref(); }
  static void weak_release(const abstract_actor& a) noexcept { a.weak_release(); }
  /// A strong handle from a raw pointer: only for an actor known to be alive (itself running,
  /// or held strongly by the caller), since it bypasses try_strong_ref's check.
  static actor handle(abstract_actor* p) noexcept { return actor(p); }
  /// Takes over a strong reference the caller owns.
  static actor adopt(abstract_actor* p) noexcept { return actor::adopt(p); }

  // -- the system (defined in actor_system.cpp) -----------------------------------------------
  static scheduler& sched(actor_system& sys) noexcept;
  static actor_registry& registry(actor_system& sys) noexcept;
  static blocking_pool& blocking_jobs(actor_system& sys) noexcept;
  static void count_dead_letter(actor_system& sys) noexcept;
  static void count_cancelled_drop(actor_system& sys) noexcept;
  /// Marks the calling thread, for the rest of its life, as one that serves actors (like
  /// troupe::net's network thread): future::get() there fails with errc::blocking_in_actor
  /// instead of blocking the thread that would complete what it waits for.
  static void mark_runtime_thread() noexcept;
  static dead_letter_log& dead_letters(actor_system& sys) noexcept;
  /// The system's trace recorder while it records, else null.
  static trace_recorder* tracer(actor_system& sys) noexcept;
  /// Adds a source of Prometheus metrics to what the inspector's /metrics serves (troupe::net's
  /// node adds its counters): `append` writes complete metric families (text format 0.0.4),
  /// on the inspector's thread. Removing it (with the same key) waits for a call in progress.
  static void add_metrics(actor_system& sys, const void* key, std::function<void(std::string&)> append);
  static void remove_metrics(actor_system& sys, const void* key) noexcept;

  // -- local actors (defined in actor_runtime.cpp) --------------------------------------------
  /// Runs make_behavior on the calling thread. Throws what make_behavior throws, after
  /// terminating the actor.
  static void initialize(actor_base& a);
  /// For an actor spawned on a system that is shutting down or shut down: terminates it at
  /// once, unstarted (no make_behavior, no hooks), so that everything sent to it bounces.
  static void refuse_start(actor_base& a) noexcept;
  /// The actor as schedulers see it (actor_base inherits resumable privately).
  static resumable* as_resumable(actor_base& a) noexcept;
};

}  // namespace detail
}  // namespace troupe
