// throttle: back-pressure between a fast producer and a slow consumer.
//
//   auto gate = troupe::actors::spawn_throttle<job, done>(sys, slow_consumer,
//                                                         {.window = 8, .max_queued = 64});
//   auto r = co_await self.request(gate, job{...}, 10s);   // errc::mailbox_full when overloaded
//
// The throttle forwards requests to the consumer with at most `window` of them in flight (a
// sliding window: one more goes out each time one is answered) and holds the others, in order,
// up to `max_queued`. Beyond that it refuses at once with errc::mailbox_full, so a producer that
// outruns the consumer is told to slow down instead of growing a mailbox without limit. A
// producer that awaits each reply (or keeps at most N requests open) never sees a refusal.
// `throttle_stats{}` answers {in_flight, queued, refused}.
#pragma once

#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>
#include <troupe/response_promise.hpp>
#include <troupe/typed_actor.hpp>

#include <deque>
#include <memory>
#include <utility>

namespace troupe::actors {

struct throttle_options {
  std::size_t window = 8;
  std::size_t max_queued = 64;
};

struct throttle_stats {};
struct throttle_counts {
  std::size_t in_flight = 0;
  std::size_t queued = 0;
  std::size_t refused = 0;
};

template <class Msg, class Reply>
using throttle = typed_actor<Reply(Msg), throttle_counts(throttle_stats)>;

namespace detail {
template <class Msg, class Reply>
typename throttle<Msg, Reply>::behavior_type throttle_impl(actor_base& self, actor consumer, throttle_options opts) {
  self.set_name("throttle");  // what troupe-trace shows
  struct state {
    actor consumer;
    throttle_options opts;
    std::deque<std::pair<Msg, response_promise<Reply>>> waiting;
    throttle_counts counts;
  };
  auto st = std::make_shared<state>();
  st->consumer = std::move(consumer);
  st->opts = opts;
  // Sends one request to the consumer; when it is answered, the next waiting one goes out.
  auto dispatch = std::make_shared<std::function<void(Msg, response_promise<Reply>)>>();
  *dispatch = [&self, st, weak = std::weak_ptr(dispatch)](Msg m, response_promise<Reply> p) {
    ++st->counts.in_flight;
    self.request<Reply>(st->consumer, std::move(m), infinite).then([st, weak, p](result<Reply> r) mutable {
      --st->counts.in_flight;
      if (r) {
        if constexpr (std::is_void_v<Reply>)
          p.deliver();
        else
          p.deliver(std::move(*r));
      } else {
        p.deliver(r.error());
      }
      if (!st->waiting.empty())
        if (auto d = weak.lock()) {
          auto [next, promise] = std::move(st->waiting.front());
          st->waiting.pop_front();
          --st->counts.queued;
          (*d)(std::move(next), std::move(promise));
        }
    });
  };
  return {
      [&self, st, dispatch](Msg m) -> response_promise<Reply> {
        auto p = self.make_response_promise<Reply>();
        if (st->counts.in_flight < st->opts.window) {
          (*dispatch)(std::move(m), p);
        } else if (st->waiting.size() < st->opts.max_queued) {
          st->waiting.emplace_back(std::move(m), p);
          ++st->counts.queued;
        } else {
          ++st->counts.refused;
          p.deliver(error(errc::mailbox_full, "throttle: window and queue full"));
        }
        return p;
      },
      [st](throttle_stats) { return st->counts; },
  };
}
}  // namespace detail

template <class Msg, class Reply>
throttle<Msg, Reply> spawn_throttle(actor_system& sys, actor consumer, throttle_options opts = {}) {
  return sys.spawn(detail::throttle_impl<Msg, Reply>, std::move(consumer), opts);
}

}  // namespace troupe::actors
