// response_promise<R>: answer a request later, from another handler or a coroutine.
//
// Inside a handler, `auto p = self.make_response_promise<R>();` takes over the right to answer
// the request being handled. Keep the promise (it is copyable; all copies share one answer),
// return it from the handler (so typed interfaces can check R), and call p.deliver(value) or
// p.deliver(error) whenever the answer is known, from any handler or continuation of the same
// actor. The first answer counts; later ones are ignored. If every copy is dropped unanswered,
// the requester gets errc::broken_promise — or errc::receiver_down when the promise goes away
// because its actor quit. Either way a request is never left hanging.
//
// delegated<R>: the return type of actor_base::delegate(). Returning it tells the runtime that
// another actor now answers the request.
#pragma once

#include <troupe/actor.hpp>
#include <troupe/detail/envelope.hpp>

#include <memory>
#include <utility>

namespace troupe {

namespace detail {
/// True once the local actor `a` has terminated (its mailbox is closed).
bool has_terminated(const abstract_actor* a) noexcept;
}  // namespace detail

template <class R>
class response_promise {
 public:
  response_promise() = default;
  /// Made by actor_base::make_response_promise; `owner` is the answering actor.
  response_promise(detail::reply_handle h, const actor& owner)
      : state_(h ? std::make_shared<holder>(std::move(h), owner) : nullptr) {}

  /// False for a promise made while handling a plain send (nothing to answer) or already
  /// answered.
  bool pending() const noexcept { return state_ && static_cast<bool>(state_->handle); }

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
    // A weak reference on the owner: keeps its memory (to ask has_terminated) but not the actor.
    holder(detail::reply_handle h, const actor& o) noexcept : handle(std::move(h)), owner(o.get()) {
      if (owner) owner->weak_ref();
    }
    holder(const holder&) = delete;
    holder& operator=(const holder&) = delete;
    ~holder() {
      if (handle)
        handle.fail(!owner || detail::has_terminated(owner) ? errc::receiver_down : errc::broken_promise);
      if (owner) owner->weak_release();
    }
    detail::reply_handle handle;
    abstract_actor* owner;
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
