// scatter_gather: ask several actors the same question, gather the answers that arrive before
// a deadline.
//
//   auto r = co_await troupe::actors::scatter_gather<price>(replicas, quote{item},
//                                                           troupe::actors::quorum(), 50ms);
//   if (r && r->complete) use(r->replies);        // a majority answered in time
//
// Policies: all() waits for every answer; first(k) completes as soon as k answers are in;
// quorum() as soon as a majority is. Whatever the policy, the result comes at the deadline at
// the latest: `complete` says whether the policy was satisfied, `replies` holds the answers
// received (in arrival order, with who sent them), `failures` the requests that failed (timed
// out, receiver down...). The future itself fails only if `targets` is empty (errc::cancelled).
// Call it inside an actor (then continuations run there) or from any thread.
#pragma once

#include <troupe/actor.hpp>
#include <troupe/future.hpp>
#include <troupe/request.hpp>

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace troupe::actors {

struct gather_policy {
  std::size_t needed;  // answers that satisfy the policy; 0 means all
};
inline gather_policy all() { return {0}; }
inline gather_policy first(std::size_t k) { return {k}; }
/// A majority of the targets.
inline gather_policy quorum() { return {static_cast<std::size_t>(-1)}; }

template <class R>
struct gathered {
  bool complete = false;
  std::vector<std::pair<actor, R>> replies;
  std::vector<std::pair<actor, error>> failures;
};

template <class R, class Msg>
[[nodiscard]] future<gathered<R>> scatter_gather(const std::vector<actor>& targets, const Msg& msg,
                                                 gather_policy policy, duration deadline) {
  auto out = troupe::detail::make_state<gathered<R>>();
  if (targets.empty()) {
    out->fail(error(errc::cancelled, "scatter_gather to no targets"));
    return future<gathered<R>>(std::move(out));
  }
  std::size_t needed = policy.needed;
  if (needed == 0 || needed > targets.size()) needed = targets.size();
  if (policy.needed == static_cast<std::size_t>(-1)) needed = targets.size() / 2 + 1;

  // Replies complete on whatever thread answers; the shared record is guarded by a mutex (a
  // few lock round trips per call, never on an actor's hot path).
  struct shared {
    std::mutex m;
    gathered<R> g;
    std::size_t pending;
    std::size_t needed;
    troupe::detail::state_ptr<gathered<R>> out;
    bool done = false;
  };
  auto sh = std::make_shared<shared>();
  sh->pending = targets.size();
  sh->needed = needed;
  sh->out = out;
  for (const actor& t : targets) {
    auto st = troupe::request<R>(t, msg, deadline).release_state();
    auto& ref = *st;
    ref.attach([st = std::move(st), sh, t]() mutable {
      result<R> r = st->take();
      std::optional<gathered<R>> finished;
      {
        std::lock_guard lock(sh->m);
        if (sh->done) return;
        if (r)
          sh->g.replies.emplace_back(t, std::move(*r));
        else
          sh->g.failures.emplace_back(t, r.error());
        --sh->pending;
        const bool enough = sh->g.replies.size() >= sh->needed;
        if (enough || sh->pending == 0) {
          sh->done = true;
          sh->g.complete = enough;
          finished.emplace(std::move(sh->g));
        }
      }
      if (finished) sh->out->set_value(std::move(*finished));
    });
  }
  return future<gathered<R>>(std::move(out));
}

}  // namespace troupe::actors
