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
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <variant>
#include <vector>

namespace troupe {

namespace detail {

template <class T>
using slot_t = value_or_unit_t<T>;

/// The inputs of a when_all / when_any, for cancelling them: cancelling the combined future
/// cancels the inputs, and the combinator cancels the others when one input decides the outcome.
///
/// Each input's continuation holds its input (as it would without cancellation) and lets it go
/// as soon as it has run, so `inputs` are plain pointers, valid while that input's continuation
/// has not finished. A canceller pins the group (the high bits of `word`, whose low bits count
/// the inputs not finished yet: the one atomic operation each continuation does anyway), skips
/// the inputs marked done, and cancels the others. A continuation that finishes while a
/// canceller is at work keeps its input alive (in `kept`) until the group is destroyed, so a
/// canceller never touches a freed input, and the ordinary path costs no atomic operation more.
struct when_inputs : cancellable {
  static constexpr unsigned pin_shift = 40;
  static constexpr std::uint64_t pin = std::uint64_t{1} << pin_shift, count_mask = pin - 1;

  explicit when_inputs(std::size_t n) : inputs(new std::atomic<future_state_base*>[n]()), n_inputs(n),
                                        done(new std::atomic<bool>[n]()), word(n) {}

  // Input i, recorded just before its continuation is attached (null until then).
  std::unique_ptr<std::atomic<future_state_base*>[]> inputs;
  std::size_t n_inputs;
  std::unique_ptr<std::atomic<bool>[]> done;  // input i's continuation has run
  std::atomic<std::uint64_t> word;            // cancellers at work << pin_shift | inputs left
  std::atomic<bool> decided{false};
  std::mutex kept_m;
  std::vector<intrusive_ptr<future_state_base>> kept;

  void cancel(cancel_kind why) noexcept override { cancel_all_but(n_inputs, why); }
  /// Cancels every input but `decider` (a tree cancellation: detached inputs keep running).
  /// Only the first call does anything (the cancelled inputs' own completions call it again).
  void cancel_others(std::size_t decider) noexcept {
    if (decided.exchange(true, std::memory_order_acq_rel)) return;
    cancel_all_but(decider, cancel_kind::tree);
  }
  void cancel_all_but(std::size_t skip, cancel_kind why) noexcept {
    word.fetch_add(pin, std::memory_order_acq_rel);
    for (std::size_t i = 0; i < n_inputs; ++i) {
      if (i == skip || done[i].load(std::memory_order_acquire)) continue;
      if (future_state_base* in = inputs[i].load(std::memory_order_acquire)) in->cancel(why);
    }
    word.fetch_sub(pin, std::memory_order_acq_rel);
  }
  /// Once every input is attached: if one decided the outcome while the later ones were still
  /// being attached, those are cancelled now (the decider skipped them).
  void attached() noexcept {
    if (decided.load(std::memory_order_acquire)) cancel_all_but(n_inputs, cancel_kind::tree);
  }
  /// Input `i`'s continuation is done with its result (`st` is its reference to the input):
  /// returns how many inputs had not finished before this one.
  template <class T>
  std::uint64_t finish(std::size_t i, state_ptr<T>& st) noexcept {
    done[i].store(true, std::memory_order_release);
    const std::uint64_t old = word.fetch_sub(1, std::memory_order_acq_rel);
    if (old >> pin_shift) {  // a canceller may be touching it: keep it until the group goes
      try {
        std::lock_guard lock(kept_m);
        kept.emplace_back(std::move(st));
      } catch (...) {  // out of memory: leak it rather than free it under the canceller
        (void)st.detach();
      }
    }
    return old & count_mask;
  }
};

/// Attaches `on.template operator()<I>(shared, result, state)` to each of `fs`, recording each
/// in `shared->inputs` first, and makes `out` watch `shared`.
template <class Shared, class Out, class On, class... Ts>
void attach_each(const intrusive_ptr<Shared>& shared, Out& out, On on, future<Ts>&... fs) {
  out->watch_fresh(shared);
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          auto st = std::move(fs).release_state();
          auto& ref = *st;
          shared->inputs[I].store(&ref, std::memory_order_release);
          ref.attach([st = std::move(st), shared, on]() mutable { on.template operator()<I>(*shared, st->take(), st); });
        }(),
        ...);
  }(std::index_sequence_for<Ts...>{});
  shared->attached();
}

/// The same for a vector of futures: `on(shared, index, result, state)`.
template <class Shared, class Out, class On, class T>
void attach_all(const intrusive_ptr<Shared>& shared, Out& out, On on, std::vector<future<T>>& fs) {
  out->watch_fresh(shared);
  for (std::size_t i = 0; i < fs.size(); ++i) {
    auto st = std::move(fs[i]).release_state();
    auto& ref = *st;
    shared->inputs[i].store(&ref, std::memory_order_release);
    ref.attach([st = std::move(st), shared, on, i]() mutable { on(*shared, i, st->take(), st); });
  }
  shared->attached();
}

template <class... Ts>
struct when_all_state final : when_inputs {
  explicit when_all_state(state_ptr<std::tuple<slot_t<Ts>...>> o) : when_inputs(sizeof...(Ts)), out(std::move(o)) {}
  std::tuple<std::optional<slot_t<Ts>>...> values;
  state_ptr<std::tuple<slot_t<Ts>...>> out;

  template <std::size_t I, class T>
  void on_result(result<T>&& r, state_ptr<T>& st) {
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
    // acq_rel: the last one to finish sees every slot written by the others.
    if (finish(I, st) == 1 && !out->ready()) {
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
      shared, out,
      []<std::size_t I>(auto& sh, auto&& r, auto& st) { sh.template on_result<I>(std::move(r), st); }, fs...);
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
    using when_inputs::when_inputs;
    std::vector<std::optional<V>> values;
    detail::state_ptr<std::vector<V>> out;
  };
  auto shared = detail::make_intrusive<shared_state>(fs.size());
  shared->values.resize(fs.size());
  shared->out = out;
  detail::attach_all(
      shared, out,
      [](shared_state& sh, std::size_t i, result<T>&& r, detail::state_ptr<T>& st) {
        if (!r) {
          sh.out->fail(r.error());
          sh.cancel_others(i);
        } else if constexpr (std::is_void_v<T>) {
          sh.values[i].emplace();
        } else {
          sh.values[i].emplace(std::move(*r));
        }
        if (sh.finish(i, st) == 1 && !sh.out->ready()) {
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
    using when_inputs::when_inputs;
    std::atomic<std::size_t> failures{0};
    detail::state_ptr<V> out;
  };
  auto shared = detail::make_intrusive<shared_state>(sizeof...(Ts));
  shared->out = out;
  detail::attach_each(
      shared, out,
      []<std::size_t I>(shared_state& sh, auto&& r, auto& st) {
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
        sh.finish(I, st);
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
    using when_inputs::when_inputs;
    std::atomic<std::size_t> failures{0};
    std::size_t total = 0;
    detail::state_ptr<P> out;
  };
  auto shared = detail::make_intrusive<shared_state>(fs.size());
  shared->total = fs.size();
  shared->out = out;
  detail::attach_all(
      shared, out,
      [](shared_state& sh, std::size_t i, result<T>&& r, detail::state_ptr<T>& st) {
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
        sh.finish(i, st);
      },
      fs);
  return future<P>(std::move(out));
}

}  // namespace troupe
