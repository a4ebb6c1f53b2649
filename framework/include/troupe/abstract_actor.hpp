// abstract_actor: anything a handle can point at — a local actor, or (with troupe::net) a proxy
// for an actor on another node. Handles (actor.hpp) are the public face; this is the seam.
//
// Reference counting (all operations thread-safe):
//   strong_  counts strong handles (`actor`, the sender of every in-flight message, continuations
//            waiting to run on the actor). When it drops to zero the actor is told through
//            on_unreferenced(): a local actor then finishes what is in its mailbox and quits.
//   refs_    counts everything that needs the object's memory: weak handles, the scheduler while
//            the actor is queued, the system's registry while it is alive, suspended coroutine
//            frames, plus one unit held collectively by all strong references. At zero the object
//            is deleted.
// Only the actor itself may bring strong_ back from zero (by making a handle to itself while it
// runs); everyone else goes through try_strong_ref(), which fails at zero.
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>
#include <string>

namespace troupe {

class actor_system;

/// Identifies an actor within its node; never reused during the life of an actor_system.
using actor_id = std::uint64_t;

/// Identifies an actor_system (a node). Unique per process, random across processes.
struct node_id {
  std::uint64_t value = 0;
  friend auto operator<=>(const node_id&, const node_id&) = default;
  std::string to_string() const;
};

namespace detail {
struct envelope;
class system_access;
}

class abstract_actor {
 public:
  abstract_actor(const abstract_actor&) = delete;
  abstract_actor& operator=(const abstract_actor&) = delete;

  actor_id id() const noexcept { return id_; }
  /// The node this actor lives on (the local system's node for local actors).
  virtual node_id node() const noexcept;
  /// The local system this object belongs to (for a proxy: the system that reaches the node).
  actor_system& system() const noexcept { return *sys_; }

  std::uint32_t strong_count() const noexcept { return strong_.load(std::memory_order_acquire); }

 protected:
  friend class actor;
  friend class weak_actor;
  friend class detail::system_access;

  /// Delivers `e`, taking ownership, and never blocks. When the actor cannot take it (it is
  /// dead, or its mailbox is bounded and full) the envelope is bounced: a request completes
  /// with an error at once, a plain message is counted as a dead letter. Returns whether the
  /// envelope was accepted.
  virtual bool enqueue(detail::envelope* e) noexcept = 0;

  // -- reference counting (see the header comment; for handles and the runtime) ---------------
  void strong_ref() const noexcept {
    if (strong_.fetch_add(1, std::memory_order_relaxed) == 0)
      refs_.fetch_add(1, std::memory_order_relaxed);  // revival by the running actor itself
  }
  void strong_release() const noexcept;
  /// Takes a strong reference unless the count is already zero (the weak handle's lock()).
  bool try_strong_ref() const noexcept;
  void weak_ref() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void weak_release() const noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// Starts with one strong reference (the one spawn returns) and the collective weak unit.
  abstract_actor(actor_system* sys, actor_id id) noexcept : sys_(sys), id_(id) {}
  virtual ~abstract_actor() = default;

  /// Called once each time the last strong reference goes away, on the releasing thread.
  virtual void on_unreferenced() const noexcept {}

 private:
  actor_system* sys_;
  actor_id id_;
  mutable std::atomic<std::uint32_t> strong_{1};
  mutable std::atomic<std::uint32_t> refs_{1};
};

}  // namespace troupe
