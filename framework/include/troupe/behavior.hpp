// behavior: the set of handlers an actor runs, dispatched by message type.
//
// A behavior is built from callables that take exactly one parameter, the message (by value,
// const&, & or &&); its decayed type selects the handler. Any movable, sendable type can be a
// message (sendable.hpp). A handler with another shape (two parameters, a generic lambda, a
// second handler for the same type, a reply returned by reference) fails to compile with one
// error that says what to write instead.
// What a handler returns is the reply when the message was a request:
//   R                    the reply (a plain send ignores it)
//   void                 an acknowledgement (troupe::unit)
//   result<R>            the reply, or an error for the requester
//   task<R>              a coroutine; the reply is what it co_returns
//   future<R>            the reply is that future's result, whenever it completes
//   response_promise<R>  answered later through the promise (actor_base::make_response_promise)
//   delegated<R>         answered by another actor (actor_base::delegate)
// A message no handler takes goes to the actor's default handler if it set one
// (actor_base::set_default_handler), else it is a dead letter (counted; the first of each kind
// logged at warn level, later ones at debug); a request no handler takes fails with
// errc::unhandled_message. Exactly one handler takes each type; become() replaces the behavior
// for the next message. troupe::sequential(h) makes a coroutine handler hold the actor's other
// messages back while it is suspended.
#pragma once

#include <troupe/actor_base.hpp>
#include <troupe/detail/envelope.hpp>
#include <troupe/future.hpp>
#include <troupe/response_promise.hpp>
#include <troupe/result.hpp>
#include <troupe/sendable.hpp>
#include <troupe/task.hpp>
#include <troupe/typed_actor.hpp>

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

namespace troupe {

namespace detail {

/// A handler marked troupe::sequential (see below).
template <class F>
struct sequential_handler {
  F fn;
};
template <class F>
struct is_sequential_handler : std::false_type {};
template <class F>
struct is_sequential_handler<sequential_handler<F>> : std::true_type {};

/// What a callable takes and returns, when it has one non-template call operator (or is a
/// function pointer): `known` is false for generic lambdas and other overloaded callables.
template <class R, class... A>
struct signature_of {
  static constexpr bool known = true;
  static constexpr std::size_t arity = sizeof...(A);
  using ret = R;
  using arg = std::tuple_element_t<0, std::tuple<A..., void>>;
};
template <class F>
struct call_signature {
  static constexpr bool known = false;
  static constexpr std::size_t arity = 0;
};
template <class F>
  requires requires { &F::operator(); }
struct call_signature<F> : call_signature<decltype(&F::operator())> {};
template <class F>
struct call_signature<sequential_handler<F>> : call_signature<F> {};
template <class R, class... A>
struct call_signature<R (*)(A...)> : signature_of<R, A...> {};
template <class R, class... A>
struct call_signature<R (*)(A...) noexcept> : signature_of<R, A...> {};
#define TROUPE_CALL_SIGNATURE(QUALIFIERS) \
  template <class C, class R, class... A> \
  struct call_signature<R (C::*)(A...) QUALIFIERS> : signature_of<R, A...> {};
TROUPE_CALL_SIGNATURE()
TROUPE_CALL_SIGNATURE(const)
TROUPE_CALL_SIGNATURE(noexcept)
TROUPE_CALL_SIGNATURE(const noexcept)
TROUPE_CALL_SIGNATURE(&)
TROUPE_CALL_SIGNATURE(const&)
TROUPE_CALL_SIGNATURE(& noexcept)
TROUPE_CALL_SIGNATURE(const& noexcept)
#undef TROUPE_CALL_SIGNATURE

template <class F>
struct handler_traits {
  using arg = typename call_signature<F>::arg;
  using ret = typename call_signature<F>::ret;
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
      // The requester cancelling cancels the future that answers it (at once if it already did).
      if (!e.reply.sink()->watch(st)) ref.cancel(cancel_kind::tree);
      ref.attach([st = std::move(st), reply = std::move(e.reply)]() mutable { reply.complete(st->take()); });
    }
  } else if constexpr (is_result<D>::value) {
    e.reply.complete(std::move(r));
  } else {
    if (e.reply) e.reply.deliver(std::forward<R>(r));
  }
}

template <class F>
bool try_handler(F& handler, actor_base& self, envelope& e) {
  using M = handler_message_t<F>;
  if (e.type != type_id<M>()) return false;
  auto& msg = static_cast<message_envelope<M>&>(e).value;
  using A = typename handler_traits<std::decay_t<F>>::arg;
  constexpr bool exclusive = is_sequential_handler<F>::value;
  auto& f = [&]() -> auto& {
    if constexpr (exclusive)
      return handler.fn;
    else
      return handler;
  }();
  auto call = [&]() -> decltype(auto) {
    if constexpr (std::is_rvalue_reference_v<A> || !std::is_reference_v<A>)
      return f(std::move(msg));
    else
      return f(msg);
  };
  if constexpr (std::is_void_v<handler_return_t<F>>) {
    call();
    if (e.reply && !handler_stashed(self)) e.reply.deliver(unit{});
  } else if constexpr (is_task<handler_return_t<F>>::value) {
    no_stash_scope scope(self);
    auto t = call();
    // A coroutine that refers into its message keeps the envelope until it finishes.
    envelope* keep = std::is_reference_v<A> ? adopt_current_envelope(self) : nullptr;
    std::move(t).start_detached(self, std::move(e.reply), keep, exclusive);
  } else {
    auto r = call();
    if (!handler_stashed(self)) apply_handler_result(self, e, std::move(r));
  }
  return true;
}

template <class T>
inline constexpr bool dependent_false = false;

/// Instantiated only for two handlers of one message type: the compiler's note names it.
template <class Message>
struct duplicate_handler {
  static_assert(dependent_false<Message>,
                "troupe: two handlers of this behavior take the same message type `Message` (see "
                "\"duplicate_handler<Message>\" above); only the first would ever run. Merge them into one.");
};

/// Checks one handler; each failure is one readable error at the user's behavior.
template <class F>
constexpr bool check_handler() {
  using S = call_signature<F>;
  if constexpr (!S::known) {
    static_assert(dependent_false<F>,
                  "troupe: a handler must take one message of a concrete type, as in [](my_message m) {...}. "
                  "A generic lambda ([](auto m), [](const auto& m)) or an overloaded callable cannot be "
                  "dispatched by type: write one handler per message type, and catch the rest with "
                  "self.set_default_handler(...).");
    return false;
  } else if constexpr (S::arity != 1) {
    static_assert(dependent_false<F>,
                  "troupe: a handler takes exactly one parameter, the message. Several values (CAF-style "
                  "[](int a, int b)) go in one struct: struct add { int a; int b; }; [](add m) {...}. A handler "
                  "for a message without data takes an empty struct: struct tick {}; [](tick) {...}.");
    return false;
  } else if constexpr (std::is_reference_v<typename S::ret>) {
    static_assert(dependent_false<F>,
                  "troupe: a handler returns its reply by value (a reference would point into the actor's "
                  "state): return a copy, or declare the lambda's return type without &.");
    return false;
  } else if constexpr (is_sequential_handler<F>::value && !is_task<typename S::ret>::value) {
    static_assert(dependent_false<F>,
                  "troupe: only a coroutine handler (one returning troupe::task<R>) can be troupe::sequential: "
                  "an ordinary handler already runs alone.");
    return false;
  } else if constexpr (!std::is_void_v<typename reply_type<typename S::ret>::type>) {
    return check_sendable<typename reply_type<typename S::ret>::type>();
  } else {
    return true;
  }
}

template <class F, class... Rest>
constexpr bool check_unique_messages() {
  if constexpr (sizeof...(Rest) == 0) {
    return true;
  } else {
    using M = handler_message_t<F>;
    if constexpr ((std::is_same_v<M, handler_message_t<Rest>> || ...)) {
      (void)sizeof(duplicate_handler<M>);
      return false;
    } else {
      return check_unique_messages<Rest...>();
    }
  }
}

/// True when the handlers make a valid behavior; otherwise the first problem fails to compile
/// with a message that says what to write instead.
template <class... Fs>
constexpr bool check_handlers() {
  if constexpr (!(check_handler<Fs>() && ...))
    return false;
  else
    return check_unique_messages<Fs...>();
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

/// Marks a coroutine handler as sequential: while it is suspended at a co_await, the actor
/// holds its other ordinary messages back (in order) and serves them when it finishes, so the
/// coroutine has the actor's state to itself across its co_awaits. Other handlers still
/// interleave (await_mode::interleave); await_mode::sequential makes every coroutine handler
/// sequential. Continuations, coroutine resumptions and system signals are never held back.
///
///   return {troupe::sequential([this](transfer t) -> troupe::task<bool> { ... }), ...};
template <class F>
detail::sequential_handler<std::decay_t<F>> sequential(F&& f) {
  return {std::forward<F>(f)};
}

class behavior {
 public:
  behavior() noexcept = default;

  template <class... Fs>
    requires(sizeof...(Fs) > 0 && (!std::is_same_v<std::remove_cvref_t<Fs>, behavior> && ...))
  behavior(Fs&&... fs) {  // NOLINT: implicit, so that `return {handler, handler};` works
    if constexpr (detail::check_handlers<std::decay_t<Fs>...>())
      impl_ = std::make_unique<detail::behavior_impl_of<std::decay_t<Fs>...>>(std::forward<Fs>(fs)...);
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
    if constexpr (detail::check_handlers<std::decay_t<Fs>...>()) (check_signature<Sigs, std::decay_t<Fs>...>(), ...);
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

/// The base of a class-based actor with a typed interface: state lives in members, and
/// spawn<T>() returns a typed_actor<Sigs...>. Implement make_typed_behavior(); typed_behavior
/// checks at compile time that the handlers cover the interface.
///
///   class counter : public troupe::typed_actor_base<int(get), void(add)> {
///     int n_ = 0;
///     behavior_type make_typed_behavior() override {
///       return {[this](get) { return n_; }, [this](add a) { n_ += a.by; }};
///     }
///   };
///   troupe::typed_actor<int(get), void(add)> c = sys.spawn<counter>();
template <class... Sigs>
class typed_actor_base : public actor_base {
 public:
  using interface_type = typed_actor<Sigs...>;
  using behavior_type = typed_behavior<Sigs...>;

  /// A typed handle to this actor.
  interface_type typed_handle() noexcept { return interface_type(handle()); }

 protected:
  /// The initial behavior; runs once, inside spawn, before the handle is returned.
  virtual behavior_type make_typed_behavior() = 0;

 private:
  behavior make_behavior() final { return make_typed_behavior().unbox(); }
};

}  // namespace troupe
