// future<T>: the eventual result of a request (or of anything asynchronous in troupe).
//
// Functions that start work and return a future (request, delay, when_all...) are
// [[nodiscard]]; then() is not, since a continuation that returns nothing is often the end of
// a chain.
//
// A future completes exactly once, with a value or a troupe::error; it never stays pending
// silently (requests time out, fail when their receiver dies, or fail at shutdown). It has one
// consumer, chosen once:
//   * `get()` / `get(timeout)` block the calling thread. Only for the application's own
//     threads: inside an actor, on a worker or the timer thread, or in a continuation that one
//     of those runs, get() would stall the runtime, so it returns errc::blocking_in_actor at
//     once (and logs the bug) instead of blocking.
//   * `then(f)` attaches a continuation and returns the future of its result.
//   * `co_await` inside a coroutine handler (task<R>) suspends without blocking a worker.
//   * when_all / when_any (when.hpp) combine several futures.
// Where continuations run: if attached inside an actor (a handler, a continuation or a
// coroutine), they run on that actor, as a message would, never concurrently with its
// handlers; the actor's state needs no lock. If attached elsewhere, they run on the thread
// that completes the future: keep them short and non-blocking. Chains of any length run in
// bounded stack (see future_state.hpp).
// Consuming an empty or already consumed future (get, then, co_await, forward_to, when_*) is
// not undefined: it completes with errc::invalid_future.
// Cancelling: `cancel()` (or `canceller().cancel()` from another thread) completes a pending
// future with errc::cancelled and tells its producer to stop, down the request tree (guide,
// section 20).
#pragma once

#include <troupe/detail/future_state.hpp>
#include <troupe/detail/task_promise_base.hpp>
#include <troupe/result.hpp>
#include <troupe/time.hpp>

#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

namespace troupe {

class actor_base;
template <class T>
class future;

namespace detail {

/// The actor whose handler or continuation this thread is running, or null.
actor_base* current_actor() noexcept;
/// A strong handle to `self` (which is running on this thread).
actor handle_of(actor_base* self) noexcept;
/// Enqueues a continuation envelope on `target` (dropped if the actor is gone). The envelope
/// holds `target` as its sender, so an actor with work queued for itself stays referenced: it
/// is not taken for unreferenced (and quit) between a reply's arrival and its continuation.
void post_continuation(actor target, continuation_envelope* e) noexcept;
/// Resumes `h` on `target` (held as above); destroys the frame if the actor is gone.
void post_resume(actor target, std::coroutine_handle<> h, std::coroutine_handle<> root, task_promise_base* task);

/// The root promise of the handler coroutine that `h` belongs to, if it is a task's.
template <class P>
task_promise_base* root_promise_of(std::coroutine_handle<P> h) noexcept {
  if constexpr (std::is_base_of_v<task_promise_base, P>)
    return h.promise().root_promise;
  else
    return nullptr;
}
/// Registers the handler coroutine `task` (a root, suspended) to be told, on its actor, if the
/// request it serves is cancelled; cancelling it then cancels what it awaits (task.awaiting).
void watch_served_request(task_promise_base& task) noexcept;
/// Runs an inline continuation with no current actor set (so that futures it touches do not
/// route to the actor that happens to be completing it); logs and swallows exceptions.
void run_detached(unique_function<void()>& fn) noexcept;
/// True where future::get() must not block: inside an actor, or on a runtime thread.
bool blocking_forbidden() noexcept;
/// Logs a future::get() called where it must not block.
void report_blocking_get() noexcept;
/// The error of consuming an empty or already consumed future.
inline error invalid_future_error() { return error(errc::invalid_future, "empty or already consumed future"); }
/// A state already failed with it (what an empty future stands for).
template <class T>
state_ptr<T> invalid_state() {
  auto st = make_state<T>();
  st->fail(invalid_future_error());
  return st;
}

/// Runs `work` when `st` is ready: on the current actor if there is one, else inline.
template <class Work>
void route_continuation(future_state_base& st, Work&& work) {
  if (actor_base* self = current_actor()) {
    // The work goes into the continuation envelope as it is (not wrapped twice), so that small
    // continuations allocate nothing but the envelope.
    st.attach([target = handle_of(self), w = std::forward<Work>(work)]() mutable {
      post_continuation(std::move(target), new continuation_envelope(std::move(w)));
    });
  } else {
    st.attach([w = unique_function<void()>(std::forward<Work>(work))]() mutable { run_detached(w); });
  }
}

template <class T>
struct is_future : std::false_type {};
template <class T>
struct is_future<future<T>> : std::true_type {};

template <class F, class T>
constexpr bool takes_result = std::is_invocable_v<F, result<T>>;

template <class F, class T>
auto invoke_with_value(F& f, result<T>&& r) {
  if constexpr (takes_result<F, T>) {
    return f(std::move(r));
  } else if constexpr (std::is_void_v<T>) {
    return f();
  } else {
    return f(std::move(*r));
  }
}

template <class F, class T>
using then_return_t = decltype(invoke_with_value(std::declval<F&>(), std::declval<result<T>&&>()));

/// The value type of the future that then() returns for a callback returning R.
template <class R>
struct then_value {
  using type = R;
};
template <class U>
struct then_value<result<U>> {
  using type = U;
};
template <class U>
struct then_value<future<U>> {
  using type = U;
};

/// Completes `out` with what `r` holds (a value, or an error).
template <class T>
void complete_from(future_state<T>& out, result<T>&& r) {
  if (!r) {
    out.fail(r.error());
  } else if constexpr (std::is_void_v<T>) {
    out.set_value(unit{});
  } else {
    out.set_value(std::move(*r));
  }
}


template <class T>
struct future_awaiter {
  state_ptr<T> st;
  future_awaiter(state_ptr<T> s) noexcept : st(std::move(s)) {}  // NOLINT
  future_awaiter(const future_awaiter&) = delete;
  future_awaiter& operator=(const future_awaiter&) = delete;
  // Destroyed unresumed (its coroutine was destroyed): tell the state nobody waits any more.
  ~future_awaiter() {
    if (st && !st->ready()) st->abandon();
  }
  bool await_ready() const noexcept { return !st || st->ready(); }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) {
    if (actor_base* self = current_actor()) {
      if (tracing()) [[unlikely]] trace_suspend();
      task = root_promise_of(h);
      // A cancelled coroutine does not wait (sticky cancellation): cancel what it awaits first,
      // so that attach() finds it complete and the coroutine resumes at once.
      if (task && task->cancelled) st->cancel(cancel_kind::tree);
      st->attach([target = handle_of(self), h = std::coroutine_handle<>(h), root = frame_to_destroy(h),
                  task = task]() mutable {
        post_resume(std::move(target), h, root, task);
      });
      if (task) {  // (after attach: if that threw, nothing refers to st)
        task->awaiting = st.get();
        // The first suspension of a coroutine serving a request: it is told if that is cancelled.
        if (!task->watcher && !task->cancelled && task->reply) watch_served_request(*task);
      }
    } else {
      st->attach([h] { h.resume(); });
    }
  }
  result<T> await_resume() {
    if (task) task->awaiting = nullptr;
    if (!st) return result<T>(invalid_future_error());
    return st->take();
  }
  task_promise_base* task = nullptr;  // the handler coroutine suspended here, if any
};

}  // namespace detail

/// Cancels one future from anywhere (see future::canceller). Empty: cancel() does nothing.
class cancel_handle {
 public:
  cancel_handle() noexcept = default;
  explicit cancel_handle(detail::intrusive_ptr<detail::future_state_base> st) noexcept : st_(std::move(st)) {}
  /// As future::cancel: true if this call cancelled it (it was still pending).
  bool cancel() const noexcept { return st_ && st_->try_cancel(detail::cancel_kind::explicit_); }
  explicit operator bool() const noexcept { return static_cast<bool>(st_); }

 private:
  detail::intrusive_ptr<detail::future_state_base> st_;
};

template <class T>
class future {
 public:
  using value_type = T;

  future() noexcept = default;
  explicit future(detail::state_ptr<T> st) noexcept : st_(std::move(st)) {}
  future(future&&) noexcept = default;
  future& operator=(future&& o) noexcept {
    if (this != &o) {
      if (st_) st_->drop_consumer();
      st_ = std::exchange(o.st_, {});
    }
    return *this;
  }
  /// Dropping a future that was not consumed (then, co_await, get) is fine; but if it fails,
  /// nobody sees the error, so it is logged at warn level (see report_unobserved_failure).
  ~future() {
    if (st_) st_->drop_consumer();
  }
  future(const future&) = delete;
  future& operator=(const future&) = delete;

  /// False for a default-constructed or already consumed future.
  bool valid() const noexcept { return static_cast<bool>(st_); }
  /// True once the result is there (get() would not block).
  bool ready() const noexcept { return st_ && st_->ready(); }

  /// Blocks until the result is there and returns it; consumes the future. On the application's own
  /// threads only (see the header comment).
  result<T> get() {
    if (auto e = precheck()) return std::move(*e);
    st_->wait(nullptr);
    return std::exchange(st_, {})->take();
  }

  /// Blocks at most `timeout`. On errc::timeout the future stays valid (and the request keeps
  /// going): call get() again, or drop it. On the application's own threads only.
  result<T> get(duration timeout) {
    if (auto e = precheck()) return std::move(*e);
    time_point deadline = timeout == infinite ? time_point::max() : clock::now() + timeout;
    if (!st_->wait(&deadline)) return errc::timeout;
    return std::exchange(st_, {})->take();
  }

  /// Attaches `f`, called with the result<T> (or, if `f` takes a T, only on success: an error
  /// skips it and passes through). Returns the future of what `f` returns; a returned result<U>
  /// or future<U> is flattened into future<U>. If `f` throws, the returned future fails with
  /// errc::handler_exception (and, on an actor, the actor terminates as if a handler threw).
  template <class F>
  auto then(F f) && {
    using R = detail::then_return_t<F, T>;
    using U = typename detail::then_value<R>::type;
    auto next = detail::make_state<U>();
    auto src = std::move(*this).release_state();
    auto& src_ref = *src;
    next->watch_fresh(src);  // cancelling what then() returns cancels this future's producer
    if (src_ref.detached()) next->set_detached();
    detail::route_continuation(src_ref, [src = std::move(src), next, f = std::move(f)]() mutable {
      result<T> r = src->take();
      if constexpr (!detail::takes_result<F, T>) {
        if (!r) {
          next->fail(r.error());
          return;
        }
        // The future then() returned was cancelled meanwhile (after this value arrived): the
        // next step is not wanted. (A callback taking result<T> runs whatever happens.)
        if (next->completed()) return;
      }
      try {
        if constexpr (std::is_void_v<R>) {
          detail::invoke_with_value(f, std::move(r));
          next->set_value(unit{});
        } else if constexpr (is_result<R>::value) {
          detail::complete_from(*next, detail::invoke_with_value(f, std::move(r)));
        } else if constexpr (detail::is_future<R>::value) {
          R inner = detail::invoke_with_value(f, std::move(r));
          std::move(inner).forward_to(next);
        } else {
          next->set_value(detail::invoke_with_value(f, std::move(r)));
        }
      } catch (const std::exception& ex) {
        next->fail(error(errc::handler_exception, ex.what()));
        throw;
      } catch (...) {
        next->fail(error(errc::handler_exception, "unknown exception"));
        throw;
      }
    });
    return future<U>(std::move(next));
  }

  /// Stops waiting: if the result is not there yet, the future completes at once with
  /// errc::cancelled (its continuation, co_await or get() sees that, exactly once) and whoever
  /// would have produced the result is told: the receiver of a request drops it if it has not
  /// started it, or cancels the handler working on it (guide: Cancellation); a then() or
  /// when_*() cancels what it was built from; a delay stops its timer. Returns false, and does
  /// nothing, if the result was already there (or the future is empty). Any thread; the future
  /// stays valid, to be consumed as usual.
  bool cancel() noexcept { return st_ && st_->try_cancel(detail::cancel_kind::explicit_); }
  /// A copyable, thread-safe handle that cancels this future (JavaScript's AbortController):
  /// for another thread, or for after the future was consumed (then, co_await, get).
  cancel_handle canceller() const noexcept { return cancel_handle(st_); }

  /// co_await yields result<T>; on an actor the coroutine resumes on that actor.
  detail::future_awaiter<T> operator co_await() && noexcept { return {std::exchange(st_, {})}; }

  /// Completes `out` with this future's result, on whichever thread completes this one.
  template <class U>
  void forward_to(detail::state_ptr<U> out) && {
    auto src = std::move(*this).release_state();
    auto& src_ref = *src;
    if (!out->watch(src)) src_ref.cancel(detail::cancel_kind::tree);  // `out` was already cancelled
    src_ref.attach([src = std::move(src), out = std::move(out)]() mutable {
      detail::complete_from(*out, src->take());
    });
  }

  /// The shared state, for combinators (when_all, when_any). Consumes the future; an empty
  /// one gives a state failed with errc::invalid_future.
  detail::state_ptr<T> release_state() && {
    if (!st_) return detail::invalid_state<T>();
    return std::exchange(st_, {});
  }

 private:
  std::optional<result<T>> precheck() {
    if (!st_) return result<T>(detail::invalid_future_error());
    if (detail::blocking_forbidden()) {
      detail::report_blocking_get();
      return result<T>(errc::blocking_in_actor);
    }
    return std::nullopt;
  }

  detail::state_ptr<T> st_;
};

/// A future that is already complete with `value`.
template <class T>
future<std::remove_cvref_t<T>> make_ready_future(T&& value) {
  auto st = detail::make_state<std::remove_cvref_t<T>>();
  st->set_value(std::forward<T>(value));
  return future<std::remove_cvref_t<T>>(std::move(st));
}
inline future<void> make_ready_future() {
  auto st = detail::make_state<void>();
  st->set_value(unit{});
  return future<void>(std::move(st));
}
/// A future that is already failed with `e`.
template <class T>
future<T> make_error_future(error e) {
  auto st = detail::make_state<T>();
  st->fail(std::move(e));
  return future<T>(std::move(st));
}

}  // namespace troupe
