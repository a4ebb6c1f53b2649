// response_promise<R>: answer a request later, from another handler or a coroutine.
//
// Inside a handler, `auto p = self.make_response_promise<R>();` takes over the right to answer
// the request being handled. Keep the promise (it is copyable; all copies share one answer),
// return it from the handler (so typed interfaces can check R), and call p.deliver(value) or
// p.deliver(error) whenever the answer is known, from any handler or continuation of the same
// actor. The first answer counts; later ones are ignored. If every copy is dropped unanswered,
// the requester gets errc::broken_promise. If the actor terminates while a promise is still
// unanswered (wherever it is kept: a member, a capture of a continuation, a coroutine), the
// requester gets errc::receiver_down at once, as the actor terminates (after on_exit, which may
// still answer); a later deliver() is then ignored. A promise does not keep its actor alive.
// Either way a request is never left hanging. If the requester cancels (or times out),
// cancelled() turns true and an on_cancel() callback runs on the actor; a later deliver() is
// ignored.
//
// delegated<R>: the return type of actor_base::delegate(). Returning it tells the runtime that
// another actor now answers the request.
#pragma once

#include <troupe/actor.hpp>
#include <troupe/detail/envelope.hpp>
#include <troupe/detail/unique_function.hpp>

#include <memory>
#include <utility>

namespace troupe {

class actor_base;

namespace detail {
/// Makes `self` answer `reply` with receiver_down if it terminates before the reply is
/// completed elsewhere (a response_promise, a returned future). Defined in actor_base.cpp.
void hold_reply(actor_base& self, const reply_handle& reply);
/// Runs `fn` on the current actor once the requester of `reply` stops waiting (at once, through
/// the actor's mailbox, if it already has). Replaces an earlier callback for that request.
void on_request_cancelled(const reply_handle& reply, unique_function<void()> fn);
}  // namespace detail

template <class R>
class response_promise {
 public:
  response_promise() = default;
  /// Made by actor_base::make_response_promise: `owner` answers `h` with receiver_down if it
  /// terminates first.
  response_promise(detail::reply_handle h, actor_base& owner)
      : state_(h ? std::make_shared<holder>(std::move(h)) : nullptr) {
    if (state_) detail::hold_reply(owner, state_->handle);
  }

  /// False for a promise made while handling a plain send (nothing to answer), or once the
  /// request is answered (by this promise, or failed because its actor terminated).
  bool pending() const noexcept { return state_ && state_->handle.pending(); }

  /// True once the requester stopped waiting: it cancelled the request (or timed out). An
  /// answer would be ignored; the work behind it can stop.
  bool cancelled() const noexcept {
    auto* s = state_ ? state_->handle.sink() : nullptr;
    return s && s->cancelled();
  }
  /// Runs `fn` on this promise's actor (as a message would run, never concurrently with its
  /// handlers) when the requester stops waiting; soon, through the mailbox, if it already has.
  /// Call it from a handler of the actor that made the promise. One callback per request: a
  /// later call replaces the earlier one. Never runs once the request is answered.
  template <class F>
  void on_cancel(F&& fn) {
    if (state_ && state_->handle) detail::on_request_cancelled(state_->handle, std::forward<F>(fn));
  }

  template <class U = R>
    requires(!std::is_void_v<R>)
  void deliver(U&& value) {
    if (state_) state_->handle.deliver(static_cast<R>(std::forward<U>(value)));
  }
  void deliver()
    requires std::is_void_v<R>
  {
    if (state_) state_->handle.deliver(unit{});
  }
  void deliver(error e) {
    if (state_) state_->handle.fail(std::move(e));
  }

 private:
  struct holder {
    explicit holder(detail::reply_handle h) noexcept : handle(std::move(h)) {}
    holder(const holder&) = delete;
    holder& operator=(const holder&) = delete;
    // Ignored by the requester's sink if the actor already failed it with receiver_down.
    ~holder() { handle.fail(errc::broken_promise); }
    detail::reply_handle handle;
  };
  std::shared_ptr<holder> state_;
};

template <class R>
struct delegated {};

namespace detail {
template <class T>
struct is_response_promise : std::false_type {};
template <class R>
struct is_response_promise<response_promise<R>> : std::true_type {};
template <class T>
struct is_delegated : std::false_type {};
template <class R>
struct is_delegated<delegated<R>> : std::true_type {};
}  // namespace detail

}  // namespace troupe
