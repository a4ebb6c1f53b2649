// when_all / when_any: combine futures, possibly of different types.
//
//   when_all(f1, f2, ...)     -> future<std::tuple<T1, T2, ...>>   (void becomes troupe::unit)
//   when_all(vector<future<T>>) -> future<std::vector<T>>         (in the input's order)
//   when_any(f1, f2, ...)     -> future<std::variant<T1, T2, ...>> (index() tells which one)
//   when_any(vector<future<T>>) -> future<std::pair<std::size_t, T>>
//
// when_all fails as soon as any input fails, with that input's error, and cancels the others
// (as asyncio's TaskGroup does, unlike gather): their results would be dropped, so their work
// stops. when_any completes with the first input that succeeds and cancels the others (the
// losers); it fails only when every input has failed, with the last error. Cancelling the
// combined future cancels every input. To keep an input running whatever happens to the
// others, make it a detached request (troupe::detached): these automatic cancellations pass
// over it. An empty vector gives a ready future (when_all: an empty vector; when_any:
// errc::cancelled).
//
// Internally the inputs complete on whatever thread completes them; only the combined future's
// continuation is routed (to the actor that attaches it, as for any future).
#pragma once

#include <troupe/future.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <tuple>
#include <variant>
#include <vector>

namespace troupe {

namespace detail {

template <class T>
using slot_t = value_or_unit_t<T>;

/// The inputs of a when_all / when_any, and their only owner: each input's continuation reaches
/// its state through this (no reference of its own). Filled before any continuation is
/// attached, then only read. Cancelling the combined future cancels the inputs, and the
/// combinator cancels the others when one input decides the outcome.
struct when_inputs : cancellable {
  std::vector<intrusive_ptr<future_state_base>> inputs;
  std::atomic<bool> decided{false};

  void cancel(cancel_kind why) noexcept override {
    for (auto& s : inputs) s->cancel(why);
  }
  /// Cancels every input but `decider` (a tree cancellation: detached inputs keep running).
  /// Only the first call does anything (the cancelled inputs' own completions call it again).
  void cancel_others(std::size_t decider) noexcept {
    if (decided.exchange(true, std::memory_order_acq_rel)) return;
    for (std::size_t i = 0; i < inputs.size(); ++i)
      if (i != decider) inputs[i]->cancel(cancel_kind::tree);
  }
  /// Input `i`'s result (its state is a future_state<T>); once, from its continuation.
  template <class T>
  result<T> take(std::size_t i) {
    return static_cast<future_state<T>&>(*inputs[i]).take();
  }
};

/// Moves the states of `fs` into `shared->inputs`, makes `out` watch them, then (only then: a
/// ready input's continuation may run at once and read the list) attaches
/// `on.template operator()<I>(shared, result)` to each.
template <class Shared, class Out, class On, class... Ts>
void attach_each(const intrusive_ptr<Shared>& shared, Out& out, On on, future<Ts>&... fs) {
  shared->inputs.reserve(sizeof...(Ts));
  (shared->inputs.emplace_back(std::move(fs).release_state()), ...);
  out->watch_fresh(shared);
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (shared->inputs[I]->attach([shared, on]() mutable {
       using T = std::tuple_element_t<I, std::tuple<Ts...>>;
       on.template operator()<I>(*shared, shared->template take<T>(I));
     }),
     ...);
  }(std::index_sequence_for<Ts...>{});
}

/// The same for a vector of futures: `on(shared, index, result)`.
template <class Shared, class Out, class On, class T>
void attach_all(const intrusive_ptr<Shared>& shared, Out& out, On on, std::vector<future<T>>& fs) {
  shared->inputs.reserve(fs.size());
  for (auto& f : fs) shared->inputs.emplace_back(std::move(f).release_state());
  out->watch_fresh(shared);
  for (std::size_t i = 0; i < shared->inputs.size(); ++i)
    shared->inputs[i]->attach([shared, on, i]() mutable { on(*shared, i, shared->template take<T>(i)); });
}

template <class... Ts>
struct when_all_state final : when_inputs {
  explicit when_all_state(state_ptr<std::tuple<slot_t<Ts>...>> o) : out(std::move(o)) {}
  std::atomic<std::size_t> remaining{sizeof...(Ts)};
  std::tuple<std::optional<slot_t<Ts>>...> values;
  state_ptr<std::tuple<slot_t<Ts>...>> out;

  template <std::size_t I, class T>
  void on_result(result<T>&& r) {
    if (!r) {
      out->fail(r.error());  // first failure wins; later completions are ignored by the state
      cancel_others(I);
    } else {
      if constexpr (std::is_void_v<T>) {
        std::get<I>(values).emplace();
      } else {
        std::get<I>(values).emplace(std::move(*r));
      }
    }
    // acq_rel: the last decrementer sees every slot written by the others.
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1 && !out->ready()) {
      std::apply([&](auto&... v) { out->set_value(std::move(*v)...); }, values);
    }
  }
};

}  // namespace detail

template <class... Ts>
[[nodiscard]] future<std::tuple<detail::slot_t<Ts>...>> when_all(future<Ts>... fs) {
  auto out = detail::make_state<std::tuple<detail::slot_t<Ts>...>>();
  auto shared = detail::make_intrusive<detail::when_all_state<Ts...>>(out);
  detail::attach_each(
      shared, out, []<std::size_t I>(auto& sh, auto&& r) { sh.template on_result<I>(std::move(r)); }, fs...);
  return future<std::tuple<detail::slot_t<Ts>...>>(std::move(out));
}

template <class T>
[[nodiscard]] future<std::vector<detail::slot_t<T>>> when_all(std::vector<future<T>> fs) {
  using V = detail::slot_t<T>;
  auto out = detail::make_state<std::vector<V>>();
  if (fs.empty()) {
    out->set_value();
    return future<std::vector<V>>(std::move(out));
  }
  struct shared_state final : detail::when_inputs {
    std::atomic<std::size_t> remaining;
    std::vector<std::optional<V>> values;
    detail::state_ptr<std::vector<V>> out;
  };
  auto shared = detail::make_intrusive<shared_state>();
  shared->remaining.store(fs.size(), std::memory_order_relaxed);
  shared->values.resize(fs.size());
  shared->out = out;
  detail::attach_all(
      shared, out,
      [](shared_state& sh, std::size_t i, result<T>&& r) {
        if (!r) {
          sh.out->fail(r.error());
          sh.cancel_others(i);
        } else if constexpr (std::is_void_v<T>) {
          sh.values[i].emplace();
        } else {
          sh.values[i].emplace(std::move(*r));
        }
        if (sh.remaining.fetch_sub(1, std::memory_order_acq_rel) == 1 && !sh.out->ready()) {
          std::vector<V> all;
          all.reserve(sh.values.size());
          for (auto& v : sh.values) all.push_back(std::move(*v));
          sh.out->set_value(std::move(all));
        }
      },
      fs);
  return future<std::vector<V>>(std::move(out));
}

template <class... Ts>
[[nodiscard]] future<std::variant<detail::slot_t<Ts>...>> when_any(future<Ts>... fs) {
  using V = std::variant<detail::slot_t<Ts>...>;
  auto out = detail::make_state<V>();
  struct shared_state final : detail::when_inputs {
    std::atomic<std::size_t> failures{0};
    detail::state_ptr<V> out;
  };
  auto shared = detail::make_intrusive<shared_state>();
  shared->out = out;
  detail::attach_each(
      shared, out,
      []<std::size_t I>(shared_state& sh, auto&& r) {
        if (r) {
          if constexpr (std::is_void_v<std::tuple_element_t<I, std::tuple<Ts...>>>) {
            sh.out->set_value(std::in_place_index<I>);
          } else {
            sh.out->set_value(std::in_place_index<I>, std::move(*r));
          }
          sh.cancel_others(I);  // the losers
        } else if (sh.failures.fetch_add(1, std::memory_order_acq_rel) + 1 == sizeof...(Ts)) {
          sh.out->fail(r.error());
        }
      },
      fs...);
  return future<V>(std::move(out));
}

template <class T>
[[nodiscard]] future<std::pair<std::size_t, detail::slot_t<T>>> when_any(std::vector<future<T>> fs) {
  using P = std::pair<std::size_t, detail::slot_t<T>>;
  auto out = detail::make_state<P>();
  if (fs.empty()) {
    out->fail(error(errc::cancelled, "when_any of no futures"));
    return future<P>(std::move(out));
  }
  struct shared_state final : detail::when_inputs {
    std::atomic<std::size_t> failures{0};
    std::size_t total = 0;
    detail::state_ptr<P> out;
  };
  auto shared = detail::make_intrusive<shared_state>();
  shared->total = fs.size();
  shared->out = out;
  detail::attach_all(
      shared, out,
      [](shared_state& sh, std::size_t i, result<T>&& r) {
        if (r) {
          if constexpr (std::is_void_v<T>) {
            sh.out->set_value(i, unit{});
          } else {
            sh.out->set_value(i, std::move(*r));
          }
          sh.cancel_others(i);  // the losers
        } else if (sh.failures.fetch_add(1, std::memory_order_acq_rel) + 1 == sh.total) {
          sh.out->fail(r.error());
        }
      },
      fs);
  return future<P>(std::move(out));
}

}  // namespace troupe
