// task<R>: the coroutine type for actor handlers.
//
// A handler may be a coroutine returning task<R>. Inside it, `co_await` a future (a request,
// when_all/when_any, self.delay(...)) yields a result<T> without blocking a worker; the
// coroutine resumes on its actor, as a message would, so it never runs concurrently with the
// actor's other handlers. When it finishes, `co_return value;` answers the request that started
// it (returning result<R> with an error answers with that error). A coroutine may also
// `co_await` another task<U> (a helper coroutine): that yields U and propagates exceptions like
// a function call.
//
// While a coroutine is suspended, the actor keeps processing other messages (await_mode::
// interleave, the default); actor_base::set_await_mode(await_mode::sequential) makes it hold
// ordinary messages back until every suspended coroutine of the actor has finished.
//
// An exception escaping a handler coroutine terminates its actor, like one thrown by a plain
// handler; the request it was answering fails with errc::handler_exception. If the actor dies
// while a coroutine is suspended, the coroutine is never resumed: its frame (with every task
// it awaits) is destroyed as the actor terminates, on the actor, after on_exit; destructors of
// its locals run then, and its request fails with errc::receiver_down at once.
//
// If the request a coroutine handler serves is cancelled (its requester called cancel(), or
// timed out), the coroutine resumes at its co_await with errc::cancelled, what it awaited is
// cancelled in turn, and from then on its requests fail at once with errc::cancelled and its
// co_awaits do not wait (except on troupe::detached requests). See the guide, section 20.
//
// A handler coroutine may take its message by value or by reference (const T&, T&&): the
// message stays alive, in its envelope, until the coroutine finishes.
//
// Tasks are lazy: nothing runs until the runtime (or an awaiting coroutine) starts them.
#pragma once

#include <troupe/detail/envelope.hpp>
#include <troupe/detail/task_promise_base.hpp>
#include <troupe/result.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <string>
#include <utility>

namespace troupe {

class actor_base;
template <class R>
class task;

namespace detail {

template <class R>
struct task_promise;

/// Answers the request (or reports the exception) of a detached handler coroutine.
template <class R>
void finish_detached(task_promise<R>& p) noexcept;

template <class R>
struct task_final_awaiter {
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<task_promise<R>> h) noexcept {
    auto& p = h.promise();
    if (p.continuation) return p.continuation;
    if (p.detached) {
      finish_detached(p);
      h.destroy();
    }
    return std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

template <class R>
struct task_promise : task_promise_base {
  std::optional<value_or_unit_t<R>> value;

  task<R> get_return_object() noexcept;
  task_final_awaiter<R> final_suspend() noexcept { return {}; }
  template <class U = R>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};

template <>
struct task_promise<void> : task_promise_base {
  std::optional<unit> value;
  task<void> get_return_object() noexcept;
  task_final_awaiter<void> final_suspend() noexcept { return {}; }
  void return_void() noexcept { value.emplace(); }
};

template <class R>
void finish_detached(task_promise<R>& p) noexcept {
  actor_base& self = *p.self;
  if (p.exception) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(p.exception);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    p.reply.fail(error(errc::handler_exception, what));
  } else if (p.value) {
    try {
      if constexpr (is_result<R>::value) {
        p.reply.complete(std::move(*p.value));
      } else {
        p.reply.deliver(std::move(*p.value));
      }
    } catch (...) {
      p.reply.fail(error(errc::handler_exception, "moving the reply threw"));
    }
  }
  task_finished(self, p, p.exception);
}

template <class R>
struct task_awaiter {
  std::coroutine_handle<task_promise<R>> h;
  bool await_ready() const noexcept { return false; }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> parent) noexcept {
    h.promise().continuation = parent;
    if constexpr (std::is_base_of_v<task_promise_base, P>) {
      h.promise().root = parent.promise().root ? parent.promise().root : std::coroutine_handle<>(parent);
      h.promise().owned_by_actor = parent.promise().owned_by_actor;
      h.promise().root_promise = parent.promise().root_promise;
    }
    return h;
  }
  R await_resume() {
    auto& p = h.promise();
    if (p.exception) std::rethrow_exception(p.exception);
    if constexpr (!std::is_void_v<R>) return std::move(*p.value);
  }
};

}  // namespace detail

template <class R = void>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<R>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = R;

  task() noexcept = default;
  explicit task(handle_type h) noexcept : h_(h) {}
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~task() {
    if (h_) h_.destroy();
  }

  /// Awaiting a task from another coroutine runs it and yields its value (or rethrows).
  detail::task_awaiter<R> operator co_await() && noexcept { return {h_}; }

  /// Runs the task as the handler of the envelope being dispatched on `self`: the runtime's
  /// entry point, not for user code. `keep` (if any) is the envelope the coroutine refers
  /// into; the task deletes it when it finishes. `exclusive`: the actor holds its other
  /// ordinary messages back until this coroutine finishes (troupe::sequential).
  void start_detached(actor_base& self, detail::reply_handle reply, detail::envelope* keep = nullptr,
                      bool exclusive = false) && {
    auto& p = h_.promise();
    p.exclusive = exclusive;
    detail::task_started(self, p);  // may throw (first coroutine of the actor): the task still owns the frame
    auto h = std::exchange(h_, {});
    p.self = &self;
    p.reply = std::move(reply);
    if (detail::reply_sink* served = p.reply.sink()) p.served_deadline = served->deadline();
    p.kept_message = keep;
    p.detached = true;
    p.owned_by_actor = true;
    p.root = h;
    p.root_promise = &p;
    detail::task_frame_ref(self);
    auto* prev = detail::set_running_task(self, &p);
    h.resume();
    detail::set_running_task(self, prev);
  }

 private:
  handle_type h_;
};

namespace detail {
template <class R>
task<R> task_promise<R>::get_return_object() noexcept {
  return task<R>(std::coroutine_handle<task_promise<R>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

template <class T>
struct is_task : std::false_type {};
template <class R>
struct is_task<task<R>> : std::true_type {};
}  // namespace detail

}  // namespace troupe
