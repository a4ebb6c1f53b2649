// behavior: the set of handlers an actor runs, dispatched by message type.
//
// A behavior is built from callables that take exactly one parameter, the message (by value,
// const&, & or &&); its decayed type selects the handler. Any movable type can be a message.
// What a handler returns is the reply when the message was a request:
//   R                    the reply (a plain send ignores it)
//   void                 an acknowledgement (troupe::unit)
//   result<R>            the reply, or an error for the requester
//   task<R>              a coroutine; the reply is what it co_returns
//   future<R>            the reply is that future's result, whenever it completes
//   response_promise<R>  answered later through the promise (actor_base::make_response_promise)
//   delegated<R>         answered by another actor (actor_base::delegate)
// A message no handler takes is a dead letter (counted, logged at debug level); a request no
// handler takes fails with errc::unhandled_message. Handlers are tried in order; the first
// whose type matches runs. become() replaces the behavior for the next message.
#pragma once

#include <troupe/actor_base.hpp>
#include <troupe/detail/envelope.hpp>
#include <troupe/future.hpp>
#include <troupe/response_promise.hpp>
#include <troupe/result.hpp>
#include <troupe/task.hpp>
#include <troupe/typed_actor.hpp>

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

namespace troupe {

namespace detail {

template <class F>
struct handler_traits : handler_traits<decltype(&F::operator())> {};
template <class C, class R, class A>
struct handler_traits<R (C::*)(A)> {
  using arg = A;
  using ret = R;
};
template <class C, class R, class A>
struct handler_traits<R (C::*)(A) const> : handler_traits<R (C::*)(A)> {};
template <class C, class R, class A>
struct handler_traits<R (C::*)(A) noexcept> : handler_traits<R (C::*)(A)> {};
template <class C, class R, class A>
struct handler_traits<R (C::*)(A) const noexcept> : handler_traits<R (C::*)(A)> {};
template <class R, class A>
struct handler_traits<R (*)(A)> {
  using arg = A;
  using ret = R;
};

template <class F>
using handler_message_t = std::remove_cvref_t<typename handler_traits<std::decay_t<F>>::arg>;
template <class F>
using handler_return_t = typename handler_traits<std::decay_t<F>>::ret;

/// The reply type a handler's return type stands for (see the table above).
template <class R>
struct reply_type {
  using type = R;
};
template <class R>
struct reply_type<result<R>> {
  using type = R;
};
template <class R>
struct reply_type<task<R>> {
  using type = typename reply_type<R>::type;
};
template <class R>
struct reply_type<future<R>> {
  using type = R;
};
template <class R>
struct reply_type<response_promise<R>> {
  using type = R;
};
template <class R>
struct reply_type<delegated<R>> {
  using type = R;
};

/// Sends what a handler returned to the requester, as the table above says.
template <class R>
void apply_handler_result(actor_base& self, envelope& e, R&& r) {
  using D = std::remove_cvref_t<R>;
  if constexpr (is_task<D>::value) {
    std::move(r).start_detached(self, std::move(e.reply));
  } else if constexpr (is_response_promise<D>::value || is_delegated<D>::value) {
    // answered elsewhere
  } else if constexpr (is_future<D>::value) {
    if (e.reply) {
      hold_reply(self, e.reply);
      auto st = std::move(r).release_state();
      auto& ref = *st;
      ref.attach([st = std::move(st), reply = std::move(e.reply)]() mutable { reply.complete(st->take()); });
    }
  } else if constexpr (is_result<D>::value) {
    e.reply.complete(std::move(r));
  } else {
    if (e.reply) e.reply.deliver(std::forward<R>(r));
  }
}

template <class F>
bool try_handler(F& f, actor_base& self, envelope& e) {
  using M = handler_message_t<F>;
  if (e.type != type_id<M>()) return false;
  auto& msg = static_cast<message_envelope<M>&>(e).value;
  using A = typename handler_traits<std::decay_t<F>>::arg;
  auto call = [&]() -> decltype(auto) {
    if constexpr (std::is_rvalue_reference_v<A> || !std::is_reference_v<A>)
      return f(std::move(msg));
    else
      return f(msg);
  };
  if constexpr (std::is_void_v<handler_return_t<F>>) {
    call();
    if (e.reply) e.reply.deliver(unit{});
  } else if constexpr (is_task<handler_return_t<F>>::value && std::is_reference_v<A>) {
    // The coroutine refers into the envelope: it keeps the envelope until it finishes.
    auto t = call();
    std::move(t).start_detached(self, std::move(e.reply), adopt_current_envelope(self));
  } else {
    apply_handler_result(self, e, call());
  }
  return true;
}

template <class... Fs>
class behavior_impl_of final : public behavior_impl {
 public:
  template <class... Gs>
  explicit behavior_impl_of(Gs&&... gs) : fs_(std::forward<Gs>(gs)...) {}

  bool invoke(actor_base& self, envelope& e) override {
    return std::apply([&](auto&... f) { return (try_handler(f, self, e) || ...); }, fs_);
  }

 private:
  std::tuple<Fs...> fs_;
};

}  // namespace detail

class behavior {
 public:
  behavior() noexcept = default;

  template <class... Fs>
    requires(sizeof...(Fs) > 0 && (!std::is_same_v<std::remove_cvref_t<Fs>, behavior> && ...))
  behavior(Fs&&... fs)  // NOLINT: implicit, so that `return {handler, handler};` works
      : impl_(std::make_unique<detail::behavior_impl_of<std::decay_t<Fs>...>>(std::forward<Fs>(fs)...)) {
  }

  /// False for the empty behavior (no handlers).
  explicit operator bool() const noexcept { return static_cast<bool>(impl_); }

  /// Takes the implementation out (the runtime's use).
  std::unique_ptr<detail::behavior_impl> release() && noexcept { return std::move(impl_); }

 private:
  std::unique_ptr<detail::behavior_impl> impl_;
};

/// A behavior checked against a typed interface: every signature R(M) of Sigs must have a
/// handler taking M whose return type stands for R (see the table at the top).
template <class... Sigs>
class typed_behavior {
 public:
  template <class... Fs>
    requires(sizeof...(Fs) > 0)
  typed_behavior(Fs&&... fs) : b_(std::forward<Fs>(fs)...) {  // NOLINT
    (check_signature<Sigs, std::decay_t<Fs>...>(), ...);
  }

  behavior unbox() && noexcept { return std::move(b_); }

 private:
  template <class Sig, class... Fs>
  static constexpr void check_signature() {
    using M = typename detail::signature<Sig>::message;
    using R = typename detail::signature<Sig>::reply;
    constexpr bool has_handler = (std::is_same_v<detail::handler_message_t<Fs>, M> || ...);
    static_assert(has_handler, "typed_behavior: no handler for a message type of the interface");
    constexpr bool reply_ok =
        ((!std::is_same_v<detail::handler_message_t<Fs>, M> ||
          std::is_same_v<typename detail::reply_type<detail::handler_return_t<Fs>>::type, R>) &&
         ...);
    static_assert(reply_ok, "typed_behavior: a handler's reply type differs from the interface");
  }

  behavior b_;
};

}  // namespace troupe
