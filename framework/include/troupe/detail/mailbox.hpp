// mailbox: an intrusive, lock-free, multi-producer single-consumer queue of envelopes that also
// tells producers when the consumer went idle, so that an actor is scheduled exactly once per
// idle-to-busy transition.
//
// Layout: producers push onto an atomic LIFO stack (`head_`); the consumer takes the whole
// stack at once with one exchange and reverses it into a private FIFO cache. Reversal restores
// push order, so messages from one sender arrive in the order they were sent. Two sentinel
// values of `head_` carry the consumer's state:
//   blocked  the consumer is idle (not scheduled). The push that replaces `blocked` with a node
//            returns `unblocked`, and that producer alone schedules the actor.
//   closed   the actor is dead; pushes fail and the producer bounces the envelope.
// Memory orders: a push is a CAS with acq_rel: release publishes the envelope's contents to the
// consumer's acquiring exchange; acquire matters for the push that replaces `blocked`: it
// synchronises with the consumer's release CAS that went idle, so the next activation (started
// by this producer, possibly on another worker) sees everything the previous one wrote. The
// consumer goes idle with a CAS from nullptr to `blocked`; if it fails, new envelopes arrived
// and it keeps going.
// A new mailbox starts busy (as if its consumer were running): the spawning thread plays the
// consumer while the actor initialises, then goes idle with try_block() or schedules the actor
// if messages arrived meanwhile.
// push() may be called from any thread; everything else only by the consumer (the thread that
// currently runs the actor).
#pragma once

#include <troupe/detail/envelope.hpp>

#include <atomic>

namespace troupe::detail {

class mailbox {
 public:
  enum class push_result { ok, unblocked, closed };

  mailbox() noexcept : head_(nullptr) {}
  mailbox(const mailbox&) = delete;
  mailbox& operator=(const mailbox&) = delete;
  ~mailbox() { delete_list(close()); }

  push_result push(envelope* e) noexcept {
    envelope* h = head_.load(std::memory_order_relaxed);
    for (;;) {
      if (h == closed()) return push_result::closed;
      e->next = h == blocked() ? nullptr : h;
      if (head_.compare_exchange_weak(h, e, std::memory_order_acq_rel, std::memory_order_relaxed))
        return h == blocked() ? push_result::unblocked : push_result::ok;
    }
  }

  /// Next envelope in FIFO order, or null when the mailbox is (momentarily) empty.
  envelope* pop() noexcept {
    if (!cache_head_ && !fetch()) return nullptr;
    envelope* e = cache_head_;
    cache_head_ = e->next;
    e->next = nullptr;
    return e;
  }

  /// Makes the consumer idle if nothing is pending. On success the next push returns
  /// `unblocked`; on failure there is more to pop.
  bool try_block() noexcept {
    if (cache_head_) return false;
    envelope* expected = nullptr;
    return head_.compare_exchange_strong(expected, blocked(), std::memory_order_acq_rel,
                                         std::memory_order_acquire);
  }

  /// Closes the mailbox for good and returns everything still in it, in FIFO order.
  envelope* close() noexcept {
    envelope* taken = head_.exchange(closed(), std::memory_order_acq_rel);
    envelope* rest = taken == blocked() || taken == closed() ? nullptr : reverse(taken);
    envelope* all = cache_head_;
    cache_head_ = nullptr;
    if (!all) return rest;
    envelope* tail = all;
    while (tail->next) tail = tail->next;
    tail->next = rest;
    return all;
  }

  bool closed_for_good() const noexcept {
    return head_.load(std::memory_order_acquire) == closed();
  }
  /// True when the consumer has nothing left in its cache (pushes may still be pending).
  bool cache_empty() const noexcept { return cache_head_ == nullptr; }

 private:
  static envelope* blocked() noexcept { return &sentinels_[0]; }
  static envelope* closed() noexcept { return &sentinels_[1]; }

  bool fetch() noexcept {
    envelope* h = head_.load(std::memory_order_relaxed);
    if (h == nullptr || h == blocked() || h == closed()) return false;
    h = head_.exchange(nullptr, std::memory_order_acquire);
    cache_head_ = reverse(h);
    return true;
  }
  static envelope* reverse(envelope* e) noexcept {
    envelope* out = nullptr;
    while (e) {
      envelope* next = e->next;
      e->next = out;
      out = e;
      e = next;
    }
    return out;
  }
  static void delete_list(envelope* e) noexcept {
    while (e) delete std::exchange(e, e->next);
  }

  static inline envelope sentinels_[2];
  std::atomic<envelope*> head_;
  envelope* cache_head_ = nullptr;
};

}  // namespace troupe::detail
