// A pool of identical workers behind a router.
//
//   auto pool = troupe::actors::spawn_pool<job, result>(sys, {.size = 4, .strategy =
//       troupe::actors::routing::round_robin}, [](troupe::actor_system& s) { return s.spawn(worker); });
//   troupe::future<result> r = troupe::request(pool, job{...}, 1s);
//
// The router spawns `size` routees with the factory and forwards each Msg to one of them (or
// all, for broadcast). round_robin, random and consistent_hash delegate: the routee answers the
// requester directly, and the original sender stays the sender. broadcast and least_busy relay:
// the router requests, then passes the answer on (it must see the answers to pick the first, or
// to count what is outstanding). Strategies:
//   round_robin      in turn
//   random           uniformly, from a seeded generator (seed in the options; the same seed picks
//                    the same routees on every standard library)
//   broadcast        to every routee; a request is answered by the first routee that answers
//   consistent_hash  by `key(msg)` with jump consistent hashing: the same key goes to the same
//                    routee, and resizing moves only the keys it must
//   least_busy       to the routee with the fewest requests from this router still unanswered
//                    (the "smallest mailbox": what the router can know without peeking)
// Routees are monitored: one that dies is replaced by a new one from the factory (a request it
// held fails with receiver_down at the requester, promptly). `resize{n}` grows or shrinks the
// pool (removed routees finish what they have, then quit); `pool_size{}` answers the size.
#pragma once

#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>
#include <troupe/detail/random.hpp>
#include <troupe/exit_reason.hpp>
#include <troupe/typed_actor.hpp>
#include <troupe/when.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

namespace troupe::actors {

enum class routing : std::uint8_t { round_robin, random, broadcast, consistent_hash, least_busy };

template <class Msg>
struct pool_options {
  std::size_t size = 4;
  routing strategy = routing::round_robin;
  /// For consistent_hash: the key of a message.
  std::function<std::uint64_t(const Msg&)> key = {};
  /// For random.
  std::uint64_t seed = 1;
};

struct resize {
  std::size_t size;
};
struct pool_size {};

template <class Msg, class Reply>
using pool = typed_actor<Reply(Msg), void(resize), std::size_t(pool_size)>;

using routee_factory = std::function<actor(actor_system&)>;

/// Jump consistent hash (Lamping and Veach, 2014): maps `key` to a bucket in [0, buckets) so
/// that growing from n to n+1 buckets moves only 1/(n+1) of the keys.
std::size_t jump_consistent_hash(std::uint64_t key, std::size_t buckets) noexcept;

namespace detail {

struct routee {
  actor handle;
  std::size_t outstanding = 0;  // least_busy: requests forwarded and not yet answered
};

template <class Msg, class Reply>
typename pool<Msg, Reply>::behavior_type pool_impl(actor_base& self, pool_options<Msg> opts, routee_factory make) {
  self.set_name("pool");  // what troupe-trace shows
  struct state {
    pool_options<Msg> opts;
    routee_factory make;
    std::vector<routee> routees;
    std::size_t next = 0;
    std::mt19937_64 rng;
  };
  auto st = std::make_shared<state>();
  st->opts = std::move(opts);
  st->make = std::move(make);
  st->rng.seed(st->opts.seed);
  auto add_routee = [&self, st] {
    actor a = st->make(self.system());
    self.monitor(a);
    st->routees.push_back({a, 0});
  };
  for (std::size_t i = 0; i < st->opts.size; ++i) add_routee();

  using result_type = future<Reply>;
  return {
      [&self, st](Msg m) -> result_type {
        auto& rs = st->routees;
        if (rs.empty()) return make_error_future<Reply>(error(errc::receiver_down, "the pool has no routees"));
        switch (st->opts.strategy) {
          case routing::broadcast: {
            std::vector<future<Reply>> all;
            for (auto& r : rs) all.push_back(self.request<Reply>(r.handle, m, infinite));
            auto first = when_any(std::move(all));
            if constexpr (std::is_void_v<Reply>)
              return std::move(first).then([](std::pair<std::size_t, unit>) {});
            else
              return std::move(first).then([](std::pair<std::size_t, Reply> p) { return std::move(p.second); });
          }
          case routing::least_busy: {
            auto it = std::min_element(rs.begin(), rs.end(),
                                       [](const routee& a, const routee& b) { return a.outstanding < b.outstanding; });
            ++it->outstanding;
            actor target = it->handle;
            return self.request<Reply>(target, std::move(m), infinite).then([st, target](result<Reply> r) {
              for (auto& x : st->routees)
                if (x.handle == target && x.outstanding > 0) --x.outstanding;
              return r;
            });
          }
          default: {
            std::size_t i = 0;
            if (st->opts.strategy == routing::round_robin) {
              i = st->next++ % rs.size();
            } else if (st->opts.strategy == routing::random) {
              i = troupe::detail::bounded_random(st->rng(), rs.size());
            } else {
              i = jump_consistent_hash(st->opts.key ? st->opts.key(m) : 0, rs.size());
            }
            // Delegated: the routee answers the requester directly. The returned future is empty
            // and ignored (the request's reply went with the message).
            self.delegate<Reply>(rs[i].handle, std::move(m));
            return result_type();
          }
        }
      },
      [add_routee, st](resize r) mutable {
        while (st->routees.size() < r.size) add_routee();
        if (st->routees.size() > r.size) st->routees.resize(r.size);  // dropped handles: they finish, then quit
      },
      [st](pool_size) { return st->routees.size(); },
      [st, add_routee](down_msg d) mutable {
        auto& rs = st->routees;
        auto it = std::find_if(rs.begin(), rs.end(), [&](const routee& r) { return r.handle == d.source; });
        if (it == rs.end()) return;  // removed by a resize
        rs.erase(it);
        add_routee();  // replaced (the new one goes last; round robin goes on)
      },
  };
}

}  // namespace detail

template <class Msg, class Reply>
pool<Msg, Reply> spawn_pool(actor_system& sys, pool_options<Msg> opts, routee_factory make) {
  return sys.spawn(detail::pool_impl<Msg, Reply>, std::move(opts), std::move(make));
}

}  // namespace troupe::actors
