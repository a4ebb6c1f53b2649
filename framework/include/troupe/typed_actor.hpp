// typed_actor<Sigs...>: a handle whose message interface is known at compile time.
//
// Each signature `R(M)` says: the actor accepts messages of type M and answers requests for
// them with an R (void: an acknowledgement). Sending or requesting a type the interface does
// not list is a compile error, and request() returns future<R> with R taken from the interface.
// Spawning a function that returns typed_behavior<Sigs...> yields a typed_actor<Sigs...>, and
// typed_behavior checks at compile time that its handlers implement every signature.
//
//   using calculator = troupe::typed_actor<int(add), void(reset)>;
//   calculator calc = sys.spawn([](troupe::actor_base&) {
//     return calculator::behavior_type{[](add a) { return a.x + a.y; }, [](reset) {}};
//   });
//   troupe::future<int> sum = troupe::request(calc, add{1, 2}, 1s);
#pragma once

#include <troupe/actor.hpp>

#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>

namespace troupe {

template <class... Sigs>
class typed_behavior;

template <class... Sigs>
class typed_actor {
 public:
  using behavior_type = typed_behavior<Sigs...>;

  typed_actor() noexcept = default;
  /// Unchecked: the caller vouches that `a` implements the interface.
  explicit typed_actor(actor a) noexcept : a_(std::move(a)) {}

  const actor& untyped() const noexcept { return a_; }
  /// Widening to an untyped handle is implicit (it loses the compile-time checks, nothing else).
  operator const actor&() const noexcept { return a_; }  // NOLINT
  explicit operator bool() const noexcept { return static_cast<bool>(a_); }
  actor_id id() const noexcept { return a_.id(); }
  node_id node() const noexcept { return a_.node(); }
  std::string to_string() const { return a_.to_string(); }

  friend bool operator==(const typed_actor& a, const typed_actor& b) noexcept { return a.a_ == b.a_; }
  friend auto operator<=>(const typed_actor& a, const typed_actor& b) noexcept { return a.a_ <=> b.a_; }

 private:
  actor a_;
};

namespace detail {

template <class Sig>
struct signature;
template <class R, class M>
struct signature<R(M)> {
  using reply = R;
  using message = M;
};

template <class M, class... Sigs>
struct reply_of {
  static constexpr std::size_t matches =
      (std::size_t{0} + ... + (std::is_same_v<typename signature<Sigs>::message, M> ? 1 : 0));
  static_assert(matches > 0, "the actor's typed interface does not accept this message type");
  static_assert(matches < 2, "the typed interface lists this message type twice");
  static constexpr std::size_t index = [] {
    constexpr bool hit[] = {std::is_same_v<typename signature<Sigs>::message, M>...};
    for (std::size_t i = 0; i < sizeof...(Sigs); ++i)
      if (hit[i]) return i;
    return std::size_t{0};
  }();
  using type = std::tuple_element_t<index, std::tuple<typename signature<Sigs>::reply...>>;
};
template <class M, class... Sigs>
using reply_of_t = typename reply_of<M, Sigs...>::type;

/// For request<R>(typed_handle, msg): R must be the reply type the interface declares.
template <class R, class M, class... Sigs>
constexpr bool check_reply_type() {
  using Declared = reply_of_t<M, Sigs...>;
  static_assert(std::is_same_v<R, Declared>,
                "troupe: the reply type asked for in request<R>(...) differs from the reply type the typed "
                "interface declares for this message: drop the <R> (a typed request deduces it) or fix the "
                "interface");
  return std::is_same_v<R, Declared>;
}

template <class M, class... Sigs>
constexpr void check_accepts() {
  (void)sizeof(reply_of<M, Sigs...>);
}

}  // namespace detail
}  // namespace troupe

template <class... Sigs>
struct std::hash<troupe::typed_actor<Sigs...>> {
  std::size_t operator()(const troupe::typed_actor<Sigs...>& a) const noexcept {
    return std::hash<troupe::actor>()(a.untyped());
  }
};
