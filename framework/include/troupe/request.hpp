// send and request from outside actors (and the shared machinery actors use too).
//
//   troupe::send(target, msg);                            // fire and forget, never blocks
//   troupe::future<R> f = troupe::request<R>(target, msg, timeout);
//   troupe::result<R> r = f.get();                        // block this (non-actor) thread
//
// Inside an actor use self.send / self.request instead, so that the receiver sees the actor as
// the sender. A request to an empty handle or a dead actor fails at once with
// errc::receiver_down; one that is not answered in time fails with errc::timeout (pass
// troupe::infinite for none); one whose reply has another type than R fails with
// errc::type_mismatch; one made without a timeout waits actor_system_config::request_timeout.
// A request made by an actor while it serves a request inherits what is left of that request's
// deadline (troupe::detached opts out), and is cancelled with it (guide, section 20).
// Messages are moved (or copied) into one heap envelope; any movable, sendable type is a message
// (sendable.hpp: nothing that points into the sender's memory), checked at compile time.
#pragma once

#include <troupe/abstract_actor.hpp>
#include <troupe/actor.hpp>
#include <troupe/detail/envelope.hpp>
#include <troupe/detail/system_access.hpp>
#include <troupe/future.hpp>
#include <troupe/sendable.hpp>
#include <troupe/time.hpp>
#include <troupe/typed_actor.hpp>

#include <type_traits>
#include <utility>

namespace troupe {

class actor_base;

/// Tag for actor_base::request: the request is not part of the request tree being served. It
/// does not inherit the served request's deadline, and cancelling the handler neither
/// cancels it nor interrupts a co_await on it (Go's context.WithoutCancel). A cancelled
/// coroutine handler makes its clean-up requests this way.
struct detached_t {
  explicit constexpr detached_t() = default;
};
inline constexpr detached_t detached{};

namespace detail {

/// A message sent to an empty handle: a dead letter of the sender's system (or the current
/// actor's), logged like any dead letter. A send from outside any actor has no system to count
/// in: it is dropped and logged at debug level through spdlog's default logger. A request's
/// reply handle fails with receiver_down as the envelope goes.
void dead_letter_to_nobody(envelope* e) noexcept;
/// Makes a request `self` is about to send part of the request tree it is serving (before it is
/// sent): links it into the wait chain (deadlock detection); unless `detached`, fails it at once
/// with errc::cancelled if the handler making it was cancelled, and shortens `timeout` to what
/// is left of the served request's deadline (failing it with errc::timeout if nothing is).
/// Returns the timeout to use, or duration::min() when it failed the request (then it is not
/// sent).
duration join_request_tree(actor_base& self, future_state_base& st, duration timeout, bool detached);

/// Fails a request made to an empty handle with errc::receiver_down (out of line: cold).
void fail_request_to_nobody(future_state_base& st);

/// Hands `e` to `to` (or bounces it when `to` is empty).
inline void deliver_to(const actor& to, envelope* e) noexcept {
  if (to)
    system_access::enqueue(*to.get(), e);
  else
    dead_letter_to_nobody(e);
}

template <class T>
void send_from(const actor& to, T&& msg, actor sender) {
  if constexpr (check_message<T>()) deliver_to(to, make_message(std::forward<T>(msg), std::move(sender)));
}

// (Always inlined into request(): its tree arguments are constants at each call site, and
// the call it would otherwise be costs more than it saves; measured with callgrind.)
template <class R, class T>
[[gnu::always_inline]] inline future<R> make_request(const actor& to, T&& msg, duration timeout, actor sender, actor_base* requester = nullptr,
                       bool detached = false) {
  if constexpr (!check_message<T>()) return future<R>();
  auto st = make_state<R>();
  if (detached) st->set_detached();
  if (!to) [[unlikely]] {
    fail_request_to_nobody(*st);
    return future<R>(std::move(st));
  }
  if (requester) {
    timeout = join_request_tree(*requester, *st, timeout, detached);
    if (timeout == duration::min()) [[unlikely]] return future<R>(std::move(st));
  }
  st->arm_timeout(to->system(), timeout);
  system_access::enqueue(*to.get(), make_message(std::forward<T>(msg), std::move(sender), reply_handle(st)));
  return future<R>(std::move(st));
}

}  // namespace detail

/// Sends `msg` to `to` with no sender.
template <class T>
void send(const actor& to, T&& msg) {
  detail::send_from(to, std::forward<T>(msg), actor());
}
template <class... Sigs, class T>
void send(const typed_actor<Sigs...>& to, T&& msg) {
  detail::check_accepts<std::remove_cvref_t<T>, Sigs...>();
  send(to.untyped(), std::forward<T>(msg));
}

/// Requests a reply of type R to `msg` from `to`.
template <class R, class T>
[[nodiscard]] future<R> request(const actor& to, T&& msg, duration timeout = default_timeout) {
  return detail::make_request<R>(to, std::forward<T>(msg), timeout, actor());
}
/// Typed request with the reply type spelled out: it must be the interface's.
template <class R, class... Sigs, class T>
[[nodiscard]] future<R> request(const typed_actor<Sigs...>& to, T&& msg, duration timeout = default_timeout) {
  if constexpr (!detail::check_reply_type<R, std::remove_cvref_t<T>, Sigs...>()) return future<R>();
  else return detail::make_request<R>(to.untyped(), std::forward<T>(msg), timeout, actor());
}
/// Typed request: R comes from the interface.
template <class... Sigs, class T>
[[nodiscard]] auto request(const typed_actor<Sigs...>& to, T&& msg, duration timeout = default_timeout) {
  using R = detail::reply_of_t<std::remove_cvref_t<T>, Sigs...>;
  return detail::make_request<R>(to.untyped(), std::forward<T>(msg), timeout, actor());
}

}  // namespace troupe
