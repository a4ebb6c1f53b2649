// sendable: what may travel in a message, checked at compile time on every send and request.
//
// troupe's contract is that actors share no mutable state. A message is moved (or copied) into
// the receiver, so values are safe; what is not safe is a message that still points into memory
// the sender keeps: a raw pointer, a reference, a std::string_view or std::span, or a
// std::shared_ptr / std::weak_ptr to mutable data. Such a message compiles to a data race.
// troupe rejects it at the send (or request, delegate, delayed send, reply), naming the member's
// type in the compiler's "in instantiation of troupe::detail::unsendable_member<Member, Message>"
// note. (A struct with a reference member is named as a whole: Boost.PFR reports references as
// the referred type, so troupe tells them apart by the struct not being initializable from {}.)
//
// The check recurses: through aggregates (structs without constructors, field by field with
// Boost.PFR), through standard containers and anything else with a value_type and begin/end,
// through std::optional, std::variant, std::pair, std::tuple, std::unique_ptr and
// std::shared_ptr<const T> (allowed: the data is immutable). Numbers, enums, strings, durations,
// time points, function pointers, troupe handles and errors are values.
//
// A class troupe cannot see into (one with constructors or private members) is trusted: its
// author decides what it shares. For a type troupe rejects but you know to be safe (a pointer to
// an immutable table that outlives the system, say), vouch for it:
//
//   template <> struct troupe::assume_sendable<my_type> : std::true_type {};
//
// Limits of the reflection: Boost.PFR cannot look into aggregates that have base classes or C
// array members (the compiler says so); give those a constructor, use std::array, or vouch.
#pragma once

#include <boost/pfr/core.hpp>

#include <chrono>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace troupe {

/// Specialize as std::true_type to vouch that T may be sent although troupe would reject it.
template <class T>
struct assume_sendable : std::false_type {};

namespace detail {

template <class... T>
struct type_list {};

/// How the check sees a type: a value (fine), a leaf that shares memory (rejected), or a
/// composite whose parts are checked in turn.
enum class send_verdict { value, shares_memory, composite };

template <class T>
concept iterable_container = requires(const T& t) {
  typename T::value_type;
  std::begin(t);
  std::end(t);
};

template <class T>
constexpr bool reflectable_aggregate() {
  return std::is_class_v<T> && std::is_aggregate_v<T> && !std::is_polymorphic_v<T> && !std::is_empty_v<T>;
}

template <class T, class Seq>
struct pfr_fields;

template <class T>
concept value_initializable = requires { T{}; };

/// Boost.PFR reports a reference member as its referred type. But an aggregate with a
/// reference member cannot be initialized from {}, while one whose fields all can, can: that
/// difference gives the reference away.
template <class T, std::size_t... I>
constexpr bool has_reference_member(std::index_sequence<I...>) {
  return !value_initializable<T> &&
         (value_initializable<std::remove_cv_t<boost::pfr::tuple_element_t<I, T>>> && ...);
}
template <class T, std::size_t... I>
struct pfr_fields<T, std::index_sequence<I...>> {
  using type = type_list<boost::pfr::tuple_element_t<I, T>...>;
};

/// The default rule, for types no specialization below names.
template <class T>
struct send_parts {
  static constexpr send_verdict verdict = [] {
    if constexpr (std::is_reference_v<T>) return send_verdict::shares_memory;
    else if constexpr (std::is_pointer_v<T>)
      return std::is_function_v<std::remove_pointer_t<T>> ? send_verdict::value : send_verdict::shares_memory;
    else if constexpr (std::is_scalar_v<T>) return send_verdict::value;  // numbers, enums, nullptr
    else if constexpr (std::is_array_v<T> || iterable_container<T>)
      return send_verdict::composite;
    else if constexpr (reflectable_aggregate<T>())
      return has_reference_member<T>(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{}) ? send_verdict::shares_memory
                                                                                            : send_verdict::composite;
    else return send_verdict::value;  // a class with constructors or private members: trusted
  }();
  static auto parts_of() {
    if constexpr (verdict != send_verdict::composite) return type_list<>{};
    else if constexpr (std::is_array_v<T>) return type_list<std::remove_extent_t<T>>{};
    else if constexpr (iterable_container<T>) return type_list<typename T::value_type>{};
    else return typename pfr_fields<T, std::make_index_sequence<boost::pfr::tuple_size_v<T>>>::type{};
  }
  using parts = decltype(parts_of());
};

template <class T, class Parts, send_verdict V = send_verdict::composite>
struct composite_parts {
  static constexpr send_verdict verdict = V;
  using parts = Parts;
};
template <class C, class Tr>
struct send_parts<std::basic_string_view<C, Tr>> : composite_parts<void, type_list<>, send_verdict::shares_memory> {};
template <class E, std::size_t N>
struct send_parts<std::span<E, N>> : composite_parts<void, type_list<>, send_verdict::shares_memory> {};
template <class E>
struct send_parts<std::shared_ptr<E>>
    : composite_parts<void, type_list<E>, std::is_const_v<E> ? send_verdict::composite : send_verdict::shares_memory> {};
template <class E>
struct send_parts<std::weak_ptr<E>>
    : composite_parts<void, type_list<E>, std::is_const_v<E> ? send_verdict::composite : send_verdict::shares_memory> {};
template <class E, class D>
struct send_parts<std::unique_ptr<E, D>> : composite_parts<void, type_list<std::remove_extent_t<E>>> {};
template <class E>
struct send_parts<std::optional<E>> : composite_parts<void, type_list<E>> {};
template <class... E>
struct send_parts<std::variant<E...>> : composite_parts<void, type_list<E...>> {};
template <class... E>
struct send_parts<std::tuple<E...>> : composite_parts<void, type_list<E...>> {};
template <class A, class B>
struct send_parts<std::pair<A, B>> : composite_parts<void, type_list<A, B>> {};
template <class R, class P>
struct send_parts<std::chrono::duration<R, P>> : composite_parts<void, type_list<>, send_verdict::value> {};
template <class Clock, class D>
struct send_parts<std::chrono::time_point<Clock, D>> : composite_parts<void, type_list<>, send_verdict::value> {};

template <class T, class... Seen>
constexpr bool sendable_value();

template <class... Seen, class... P>
constexpr bool all_sendable(type_list<P...>) {
  return (sendable_value<P, Seen...>() && ...);
}

/// Whether T is safe to send (T as declared: a member's reference or cv-qualifiers kept).
/// `Seen` are the types being checked further up, so that a recursive type (a tree whose node
/// holds a vector of nodes) is not checked forever: its other members decide.
template <class T, class... Seen>
constexpr bool sendable_value() {
  using U = std::remove_cv_t<T>;
  if constexpr (assume_sendable<std::remove_cvref_t<T>>::value || (std::is_same_v<U, Seen> || ...)) return true;
  else if constexpr (send_parts<U>::verdict == send_verdict::shares_memory) return false;
  else if constexpr (send_parts<U>::verdict == send_verdict::value) return true;
  else return all_sendable<U, Seen...>(typename send_parts<U>::parts{});
}

/// Instantiated only for a message that fails the check: the compiler's note names both types.
template <class Member, class Message>
struct unsendable_member {
  static_assert(sizeof(Member*) == 0,
                "troupe: this message is not sendable: a member of type `Member` (see \"unsendable_member<Member, "
                "Message>\" above) points into memory its sender keeps (a raw pointer, reference, string_view, "
                "span, or shared_ptr to non-const data), which would share state between actors. Send a value "
                "instead (std::string, std::vector, std::shared_ptr<const T>), or vouch for the type with "
                "`template <> struct troupe::assume_sendable<T> : std::true_type {};`.");
};

template <class Message, class T, class... Seen>
constexpr bool diagnose_unsendable();

template <class Message, class... Seen, class... P>
constexpr bool diagnose_parts(type_list<P...>) {
  // The first part that fails is diagnosed; || stops there.
  return ((!sendable_value<P, Seen...>() && diagnose_unsendable<Message, P, Seen...>()) || ...);
}

template <class Message, class T, class... Seen>
constexpr bool diagnose_unsendable() {
  using U = std::remove_cv_t<T>;
  if constexpr (sendable_value<T, Seen...>()) {
    return false;
  } else if constexpr (send_parts<U>::verdict == send_verdict::shares_memory) {
    (void)sizeof(unsendable_member<T, Message>);
    return true;
  } else {
    return diagnose_parts<Message, U, Seen...>(typename send_parts<U>::parts{});
  }
}

/// Checks M on a send; fails to compile with a message naming the offending member otherwise.
template <class M>
constexpr bool check_sendable() {
  if constexpr (!sendable_value<M>()) diagnose_unsendable<M, M>();
  return sendable_value<M>();
}

template <class T>
inline constexpr bool dependent_false_v = false;

/// The checks of every send, request, delegate, delayed send and reply on the argument type T
/// (as forwarded): true when it may be sent; otherwise one readable compile error at the call.
template <class T>
constexpr bool check_message() {
  using D = std::remove_cvref_t<T>;
  using E = std::remove_cv_t<std::remove_pointer_t<std::decay_t<D>>>;
  if constexpr ((std::is_array_v<D> || std::is_pointer_v<D>) && std::is_same_v<E, char>) {
    static_assert(dependent_false_v<T>,
                  "troupe: a string literal or char pointer is not a message (it points into the sender's "
                  "memory): send a std::string, e.g. std::string(\"hello\"), or a struct holding one.");
    return false;
  } else if constexpr (std::is_array_v<D>) {
    static_assert(dependent_false_v<T>, "troupe: a C array is not a message: send a std::array or std::vector.");
    return false;
  } else if constexpr (!std::is_object_v<D> || !std::is_move_constructible_v<D>) {
    static_assert(dependent_false_v<T>,
                  "troupe: messages must be movable (or copyable) objects: give the type a move constructor, "
                  "or hold what cannot move in a std::unique_ptr.");
    return false;
  } else {
    return check_sendable<D>();
  }
}

}  // namespace detail

/// True when a T may be sent: it shares no mutable memory with its sender (see the header).
template <class T>
concept sendable = detail::sendable_value<std::remove_cvref_t<T>>();

}  // namespace troupe
