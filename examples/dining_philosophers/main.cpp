// dining_philosophers: N philosophers share N forks around a table; each must hold both
// neighbouring forks to eat. A waiter actor hands out fork pairs: a philosopher asks (a
// request), the waiter answers when both forks are free, in order of asking, and never gives
// a fork that an earlier waiting philosopher needs to a later one. So nobody deadlocks (the
// waiter holds all the state; no philosopher ever holds one fork while waiting for the other)
// and nobody starves (a waiting philosopher is served before anyone who asked later and needs
// the same forks). Shows: response promises queued and answered later, coroutine actors.
//
//   dining_philosophers [--philosophers N] [--meals M]   (defaults: 5 philosophers, 1000 meals each)
//
// Checks that every philosopher ate M meals and that two neighbours never ate at once.
#include "../common/cli.hpp"

#include <troupe/troupe.hpp>

#include <chrono>
#include <cstdio>
#include <deque>

using namespace std::chrono_literals;

namespace {
struct want_forks {
  long who;
};
struct done_eating {
  long who;
};
struct report_violations {};
struct dine {
  long meals;
};

troupe::behavior waiter(troupe::actor_base& self, long n) {
  self.set_name("waiter");
  struct state {
    std::vector<bool> fork_taken;
    std::vector<bool> eating;
    std::deque<std::pair<long, troupe::response_promise<void>>> queue;
    long violations = 0;
  };
  auto st = std::make_shared<state>();
  st->fork_taken.assign(static_cast<std::size_t>(n), false);
  st->eating.assign(static_cast<std::size_t>(n), false);
  auto left = [n](long p) { return static_cast<std::size_t>(p); };
  auto right = [n](long p) { return static_cast<std::size_t>((p + 1) % n); };
  // Serves the queue in order; a fork wanted by an earlier waiter is reserved for it.
  auto serve = [st, left, right, n] {
    std::vector<bool> reserved(static_cast<std::size_t>(n), false);
    for (auto it = st->queue.begin(); it != st->queue.end();) {
      const long p = it->first;
      const auto l = left(p), r = right(p);
      if (!st->fork_taken[l] && !st->fork_taken[r] && !reserved[l] && !reserved[r]) {
        st->fork_taken[l] = st->fork_taken[r] = true;
        const long before = (p + n - 1) % n, after = (p + 1) % n;
        if (st->eating[static_cast<std::size_t>(before)] || st->eating[static_cast<std::size_t>(after)]) ++st->violations;
        st->eating[static_cast<std::size_t>(p)] = true;
        it->second.deliver();
        it = st->queue.erase(it);
      } else {
        reserved[l] = reserved[r] = true;
        ++it;
      }
    }
  };
  return {
      [&self, st, serve](want_forks w) {
        st->queue.emplace_back(w.who, self.make_response_promise<void>());
        auto promise = st->queue.back().second;
        serve();
        return promise;
      },
      [st, serve, left, right](done_eating d) {
        st->eating[static_cast<std::size_t>(d.who)] = false;
        st->fork_taken[left(d.who)] = st->fork_taken[right(d.who)] = false;
        serve();
      },
      [st](report_violations) { return st->violations; },
  };
}

troupe::behavior philosopher(troupe::actor_base& self, long id, troupe::actor w) {
  self.set_name("philosopher");
  return {[&self, id, w](dine d) -> troupe::task<long> {
    long meals = 0;
    for (long i = 0; i < d.meals; ++i) {
      auto granted = co_await self.request<void>(w, want_forks{id}, 30s);
      if (!granted) co_return meals;
      ++meals;  // eating (instantly; the interleaving with the neighbours is what matters)
      self.send(w, done_eating{id});
    }
    co_return meals;
  }};
}
}  // namespace

int main(int argc, char** argv) {
  example::cli cli("dining_philosophers", "N philosophers each eat M meals, forks handed out by a waiter.");
  long n = 5, meals = 1000;
  cli.add_option("--philosophers", n, "N: philosophers around the table (at least 2)");
  cli.add_option("--meals", meals, "M: meals each philosopher eats");
  CLI11_PARSE(cli, argc, argv);
  n = std::max(2L, n);
  meals = std::max(1L, meals);

  troupe::actor_system sys{cli.config()};
  auto w = sys.spawn(waiter, n);
  std::vector<troupe::future<long>> eaten;
  for (long i = 0; i < n; ++i) eaten.push_back(troupe::request<long>(sys.spawn(philosopher, i, w), dine{meals}, 60s));
  bool all_fed = true;
  for (long i = 0; i < n; ++i) {
    auto m = eaten[static_cast<std::size_t>(i)].get();
    std::printf("philosopher %ld ate %ld meals\n", i, m ? *m : -1);
    all_fed = all_fed && m && *m == meals;
  }
  auto violations = troupe::request<long>(w, report_violations{}, 10s).get();
  std::printf("neighbours eating at once: %ld\n", violations ? *violations : -1);
  return cli.finish(sys, all_fed && violations && *violations == 0,
                         "everyone ate every meal (no deadlock, no starvation); neighbours never ate together");
}
