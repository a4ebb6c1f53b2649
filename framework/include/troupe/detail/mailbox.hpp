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
// System envelopes (exit, down, link, kill, shutdown...) are urgent: the consumer keeps them at
// the front of its cache (in FIFO order among themselves), and a producer of one raises
// `urgent_pending_` so the consumer fetches it even while its cache of ordinary messages is long.
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
    // Read before publishing: once the CAS succeeds the consumer may take and free `e`.
    const bool urgent = is_urgent(*e);
    envelope* h = head_.load(std::memory_order_relaxed);
    for (;;) {
      if (h == closed()) return push_result::closed;
      e->next = h == blocked() ? nullptr : h;
      if (head_.compare_exchange_weak(h, e, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        if (urgent && h != blocked()) urgent_pending_.store(true, std::memory_order_release);
        return h == blocked() ? push_result::unblocked : push_result::ok;
      }
    }
  }

  /// Next envelope (urgent ones first, each kind in FIFO order), or null when the mailbox is
  /// (momentarily) empty.
  envelope* pop() noexcept {
    envelope* e = peek();
    if (!e) return nullptr;
    cache_ = e->next;
    if (e == urgent_tail_) urgent_tail_ = nullptr;
    if (!is_urgent(*e)) --cached_;
    e->next = nullptr;
    return e;
  }

  /// The envelope pop() would return next, left in place.
  envelope* peek() noexcept {
    // A cheap relaxed look first (the common case: no signal); on a hit, take the flag with an
    // acquire exchange: it pairs with the producer's release store, and unlike a load followed
    // by a store it cannot erase a flag another producer raised in between (whose signal would
    // then wait behind the whole cache). fetch() then sees the signal: its exchange on head_
    // reads the latest list.
    if (urgent_pending_.load(std::memory_order_relaxed) &&
        urgent_pending_.exchange(false, std::memory_order_acquire))
      fetch();
    if (!cache_ && !fetch()) return nullptr;
    return cache_;
  }

  /// Makes the consumer idle if nothing is pending. On success the next push returns
  /// `unblocked`; on failure there is more to pop.
  bool try_block() noexcept {
    if (cache_) return false;
    envelope* expected = nullptr;
    return head_.compare_exchange_strong(expected, blocked(), std::memory_order_acq_rel,
                                         std::memory_order_acquire);
  }

  /// Closes the mailbox for good and returns everything still in it, in FIFO order.
  envelope* close() noexcept {
    envelope* taken = head_.exchange(closed(), std::memory_order_acq_rel);
    envelope* rest = taken == blocked() || taken == closed() ? nullptr : reverse(taken);
    envelope* all = std::exchange(cache_, nullptr);
    urgent_tail_ = nullptr;
    cached_ = 0;
    if (!all) return rest;
    envelope* tail = all;
    while (tail->next) tail = tail->next;
    tail->next = rest;
    return all;
  }

  bool closed_for_good() const noexcept {
    return head_.load(std::memory_order_acquire) == closed();
  }
  /// Ordinary envelopes the consumer has taken in and not popped yet: the mailbox's depth as of
  /// its last fetch (pushes since are not counted). Consumer only; what the tracer records.
  std::uint32_t cached() const noexcept { return cached_; }
  /// True when the consumer has nothing left in its cache (pushes may still be pending).
  bool cache_empty() const noexcept { return cache_ == nullptr; }

  static bool is_urgent(const envelope& e) noexcept { return e.kind >= envelope_kind::first_urgent; }

 private:
  static envelope* blocked() noexcept { return &sentinels_[0]; }
  static envelope* closed() noexcept { return &sentinels_[1]; }

  /// Moves everything pushed so far into the consumer's cache: ordinary envelopes at its end,
  /// urgent ones after the urgent envelopes already at its front.
  bool fetch() noexcept {
    envelope* h = head_.load(std::memory_order_relaxed);
    if (h == nullptr || h == blocked() || h == closed()) return false;
    h = head_.exchange(nullptr, std::memory_order_acquire);
    // h is newest-first. Walk it, building the ordinary and the urgent lists oldest-first by
    // pushing at their fronts.
    envelope* normal = nullptr;
    envelope* urgent = nullptr;
    envelope* urgent_last = nullptr;
    while (h) {
      envelope* next = h->next;
      if (is_urgent(*h)) {
        h->next = urgent;
        if (!urgent) urgent_last = h;
        urgent = h;
      } else {
        h->next = normal;
        normal = h;
        ++cached_;
      }
      h = next;
    }
    if (normal) {
      if (!cache_) {
        cache_ = normal;
      } else {  // only after an urgent signal interrupted a batch: rare, so a walk is fine
        envelope* t = urgent_tail_ ? urgent_tail_ : cache_;
        while (t->next) t = t->next;
        t->next = normal;
      }
    }
    if (urgent) {
      if (urgent_tail_) {
        urgent_last->next = urgent_tail_->next;
        urgent_tail_->next = urgent;
      } else {
        urgent_last->next = cache_;
        cache_ = urgent;
      }
      urgent_tail_ = urgent_last;
    }
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
  envelope* cache_ = nullptr;        // consumer-owned FIFO: urgent envelopes first, then the rest
  envelope* urgent_tail_ = nullptr;  // the last urgent envelope in cache_, if any
  std::atomic<bool> urgent_pending_{false};
  std::uint32_t cached_ = 0;         // ordinary envelopes in cache_
};

}  // namespace troupe::detail
