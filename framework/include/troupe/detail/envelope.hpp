// The envelope: one heap node per message, carrying the payload and its routing data.
//
// Envelopes are intrusive list nodes (`next`), so enqueueing allocates nothing beyond the
// envelope itself: payload and header share one allocation. Ownership passes with the pointer:
// whoever holds an envelope* must enqueue it, dispatch it, or delete it.
#pragma once

#include <troupe/actor.hpp>
#include <troupe/detail/ref_counted.hpp>
#include <troupe/detail/small_alloc.hpp>
#include <troupe/detail/trace_hooks.hpp>
#include <troupe/detail/intrusive_ptr.hpp>
#include <troupe/detail/unique_function.hpp>
#include <troupe/error.hpp>
#include <troupe/result.hpp>
#include <troupe/time.hpp>
#include <troupe/type_meta.hpp>

#include <atomic>

#include <coroutine>
#include <utility>

namespace troupe::detail {

/// One step of a request's wait chain: actor `id` (on `node`) made this request while working
/// for `parent` (the request it was handling, if that had a chain), from its handler coroutine
/// number `task` (0: not from a coroutine). Immutable once built; shared by every request down
/// the tree. Built only where waiting can deadlock (see actor_base's sequential coroutines).
struct call_link : ref_counted {
  call_link(actor_id i, node_id n, std::uint64_t t, intrusive_ptr<call_link> p) noexcept
      : id(i), node(n), task(t), parent(std::move(p)) {}
  actor_id id;
  node_id node;
  std::uint64_t task;
  intrusive_ptr<call_link> parent;
};

struct task_promise_base;

/// Why something is cancelled. `explicit_`: somebody asked for it (future::cancel, a scope's
/// cancel, a request cancelled across the wire). `tree`: it belongs to a request tree that is
/// being cancelled (its handler was cancelled); work started with troupe::detached is outside
/// every tree and ignores this kind.
enum class cancel_kind : std::uint8_t { explicit_, tree };

class cancellable;
/// Tells `h` to stop (cancel_kind::tree) and releases the reference the caller hands over. Bounded
/// stack: past a small nesting depth on this thread, the call is queued and made by the
/// outermost one (a chain of 100,000 then()s cancelled from its end does not recurse 100,000
/// deep). Defined in continuations.cpp.
void tell_cancelled(cancellable* h) noexcept;

/// Something that can be told to stop: a future's state (which then tells its own producer), a
/// handler coroutine, a remote request. cancel() may be called from any thread, any number of
/// times; only the first one that finds the work still running does anything.
class cancellable : public ref_counted {
 public:
  virtual void cancel(cancel_kind why) noexcept = 0;
};

/// Where a request's reply goes. A future's shared state is one; the net layer adds one that
/// sends the reply back over the wire. deliver() and fail() may be called from any thread; only
/// the first completion of a sink counts, later ones are ignored.
///
/// Cancellation flows the other way, from the requester to whoever works on the request: that
/// one registers itself with watch() (a coroutine handler, the future a handler returned, the
/// connection a request went out on); when the requester stops waiting (it cancelled, or its
/// timeout passed), mark_cancelled() tells it, once, always as cancel_kind::tree (the work
/// belongs to the requester's tree; a detached request is only stopped by a cancel() of its own
/// future). The slot holds null (nobody watches yet), the watcher (one reference), or a sentinel
/// once the requester gave up; the exchange and the compare-exchange on it decide who tells
/// whom, so a watcher is told exactly once even when it registers while the requester cancels.
/// A completion by the receiver lets the watcher go (drop_watcher); a cancel arriving after it
/// finds the sink completed and does nothing.
class reply_sink : public cancellable {
 public:
  reply_sink() noexcept = default;
  ~reply_sink() override {
    cancellable* h = hook_.load(std::memory_order_acquire);
    if (h && h != gave_up()) h->release();
  }

  /// `value` points at an object of type `type`; the sink moves from it.
  virtual void deliver(const type_meta* type, void* value) = 0;
  virtual void fail(error e) noexcept = 0;
  /// True once the sink has taken a completion (later ones are ignored). Any thread.
  virtual bool completed() const noexcept = 0;

  /// True once the requester stopped waiting (it cancelled the request, or timed out): nobody
  /// wants the answer, so the receiver may drop the work. Any thread.
  bool cancelled() const noexcept { return hook_.load(std::memory_order_acquire) == gave_up(); }

  /// Makes `w` be told (w->cancel(cancel_kind::tree)) when the requester stops waiting, unless it
  /// already has: then returns false and registers nothing. Replaces an earlier watcher (the
  /// request changed hands). Any thread.
  bool watch(intrusive_ptr<cancellable> w) noexcept {
    cancellable* cur = hook_.load(std::memory_order_acquire);
    cancellable* mine = w.detach();
    while (cur != gave_up()) {
      if (hook_.compare_exchange_weak(cur, mine, std::memory_order_acq_rel, std::memory_order_acquire)) {
        if (cur) cur->release();
        return true;
      }
    }
    if (mine) mine->release();
    return false;
  }
  /// Stops `w` from being told (it finished the work): only if it is still the watcher.
  void unwatch(const cancellable* w) noexcept {
    cancellable* cur = hook_.load(std::memory_order_acquire);
    if (cur == w && hook_.compare_exchange_strong(cur, nullptr, std::memory_order_acq_rel)) cur->release();
  }

  /// The point in the system's timer clock after which the requester stops waiting
  /// (time_point::max(): none). Set before the request is sent; what requests made while
  /// serving it inherit. (A future's state keeps it in its timer: no field of its own, which
  /// keeps the state within four cache lines.)
  virtual time_point deadline() const noexcept { return time_point::max(); }

  /// Who waits on this request, transitively (set by the requester before the request is sent,
  /// read by the receiver): what deadlock detection follows.
  intrusive_ptr<call_link> chain;
#if TROUPE_TRACE_HOOKS
  /// Written when the request is enqueued and when it is received (tracing on only).
  trace_request_stamp trace;
#endif

 protected:
  /// The requester gave up: tells the watcher, once. False if it had already.
  bool mark_cancelled() noexcept {
    cancellable* h = hook_.exchange(gave_up(), std::memory_order_acq_rel);
    if (h == gave_up()) return false;
    if (h) tell_cancelled(h);  // (hands our reference over)
    return true;
  }
  /// The work is done: lets the watcher go (a chain of derived futures then frees as it
  /// completes, not all at once at its end). `alone`: nobody can watch() concurrently (see
  /// future_state_base::watch_fresh), so no compare-exchange is needed.
  void drop_watcher(bool alone = false) noexcept {
    cancellable* h = hook_.load(std::memory_order_acquire);
    if (!h || h == gave_up()) return;
    if (alone) {
      hook_.store(nullptr, std::memory_order_relaxed);
      h->release();
    } else if (hook_.compare_exchange_strong(h, nullptr, std::memory_order_acq_rel)) {
      h->release();
    }
  }
  /// Sets the watcher of a sink nobody else can see yet (just made, not shared): a plain store.
  void set_first_watcher(intrusive_ptr<cancellable> w) noexcept { hook_.store(w.detach(), std::memory_order_relaxed); }

 private:
  static cancellable* gave_up() noexcept { return reinterpret_cast<cancellable*>(alignof(cancellable)); }
  std::atomic<cancellable*> hook_{nullptr};
};

/// The right to answer one request, held by the request's envelope and then by whoever answers
/// (the handler's return, a response_promise, a delegated request, a coroutine). Move-only.
/// If it is destroyed unanswered the requester gets receiver_down, so a request is never left
/// pending silently.
class reply_handle {
 public:
  reply_handle() noexcept = default;
  explicit reply_handle(intrusive_ptr<reply_sink> s) noexcept : sink_(std::move(s)) {}
  reply_handle(reply_handle&&) noexcept = default;
  reply_handle& operator=(reply_handle&& o) noexcept {
    if (this != &o) {
      if (sink_) fail(errc::receiver_down);
      sink_ = std::move(o.sink_);
    }
    return *this;
  }
  ~reply_handle() {
    if (sink_) fail(errc::receiver_down);  // (tested here: an answered handle builds no error)
  }

  explicit operator bool() const noexcept { return static_cast<bool>(sink_); }
  /// True while the request still waits for its answer (nobody has completed the sink).
  bool pending() const noexcept { return sink_ && !sink_->completed(); }
  /// The sink, for the runtime's book-keeping (see actor_base: replies an actor holds).
  reply_sink* sink() const noexcept { return sink_.get(); }

  template <class T>
  void deliver(T&& value) {
    if (auto s = std::move(sink_)) {
      if (tracing()) [[unlikely]] trace_reply(*s, 0);
      std::remove_cvref_t<T> v(std::forward<T>(value));
      s->deliver(type_id<T>(), &v);
    }
  }
  void fail(error e) noexcept {
    if (auto s = std::move(sink_)) {
      if (tracing()) [[unlikely]] trace_reply(*s, static_cast<std::uint32_t>(e.code()));
      s->fail(std::move(e));
    }
  }
  /// Answers with what `r` holds: its value (an acknowledgement for result<void>) or its error.
  template <class T>
  void complete(result<T>&& r) {
    if (!r)
      fail(r.error());
    else if constexpr (std::is_void_v<T>)
      deliver(unit{});
    else
      deliver(std::move(*r));
  }

 private:
  intrusive_ptr<reply_sink> sink_;
};

/// Ordinary kinds keep their order with user messages; kinds from first_urgent on are system
/// signals that the mailbox serves before ordinary envelopes (they may overtake them).
enum class envelope_kind : std::uint8_t {
  message,       // a user message (send or request)
  continuation,  // a future continuation to run on the actor
  resume,        // a suspended coroutine to resume on the actor
  unreferenced,  // the last strong handle went away (after what is queued: not urgent)
  idle_check,    // the idle-timeout timer fired
  first_urgent,
  shutdown = first_urgent,  // the actor system is shutting down: quit now
  exit_signal,   // a linked actor exited, or send_exit (payload: exit_msg)
  down_signal,   // a monitored actor exited (payload: down_msg)
  link,          // the sender links to this actor
  unlink,        // the sender removes its link
  monitor,       // the sender monitors this actor
  demonitor,     // the sender stops monitoring
  kill,          // quit now with the payload's reason, whatever the actor traps
};

struct envelope : uses_small_alloc {
  envelope* next = nullptr;
  const type_meta* type = nullptr;  // payload type, for message envelopes
  actor sender;                     // may be empty (sent from outside any actor)
  reply_handle reply;               // set for requests
  envelope_kind kind = envelope_kind::message;
  bool counted = false;             // counted against a bounded mailbox's capacity
#if TROUPE_TRACE_HOOKS
  bool trace_foreign = false;       // sent by someone else than the running actor: maybe remote
  trace_stamp trace;                // its causal context (tracing on only)
#endif

  envelope() noexcept = default;
  explicit envelope(envelope_kind k) noexcept : kind(k) {}
  envelope(const envelope&) = delete;
  envelope& operator=(const envelope&) = delete;
  virtual ~envelope() = default;
};

template <class T>
struct message_envelope final : envelope {
  template <class... Args>
  explicit message_envelope(Args&&... args) : value(std::forward<Args>(args)...) {
    type = type_id<T>();
  }
  T value;
};

/// Creates a message envelope for `msg` (decayed).
template <class T>
envelope* make_message(T&& msg, actor sender = {}, reply_handle reply = {}) {
  auto* e = new message_envelope<std::remove_cvref_t<T>>(std::forward<T>(msg));
  e->sender = std::move(sender);
  e->reply = std::move(reply);
  return e;
}

/// Runs a continuation on the actor; dropped unrun if the actor is gone.
struct continuation_envelope final : envelope {
  template <class F>
  explicit continuation_envelope(F&& f) : envelope(envelope_kind::continuation), fn(std::forward<F>(f)) {}
  unique_function<void()> fn;
};

/// Resumes a coroutine on the actor. If the actor is gone the envelope is destroyed unrun. A
/// handler coroutine's frame belongs to its actor, which destroys it when it terminates (see
/// actor_base), so then `abandon` is empty; a coroutine of another type is destroyed here
/// (`abandon`) rather than leaked.
struct resume_envelope final : envelope {
  resume_envelope(std::coroutine_handle<> h, std::coroutine_handle<> root, task_promise_base* t) noexcept
      : envelope(envelope_kind::resume), handle(h), abandon(root), task(t) {}
  ~resume_envelope() override {
    if (abandon) abandon.destroy();
  }
  /// Resumes the coroutine; the envelope no longer owns the frame.
  void run() {
    abandon = {};
    std::exchange(handle, {}).resume();
  }
  std::coroutine_handle<> handle;
  std::coroutine_handle<> abandon;
  task_promise_base* task;  // the handler coroutine (root) this resumption continues, if any
};

}  // namespace troupe::detail
