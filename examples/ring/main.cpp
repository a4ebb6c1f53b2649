// ring: the Savina thread ring. N actors in a circle pass a token M hops; each hop is one
// message to the next actor. Shows: actors that know their neighbour, a message chain that
// stays on one worker (the LIFO hand-off), and a request answered when the token stops.
//
//   ring [--actors N] [--hops M]        (defaults: 503 actors, 5,000,000 hops)
//
// Prints the rate and checks that the hops counted by all nodes add up to M.
#include "../common/cli.hpp"

#include <troupe/troupe.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

namespace {
struct token {
  long hops_left;
};
struct link_to_next {
  troupe::actor next;
};
struct start {
  long hops;
};
struct count_and_unlink {};

// Passes the token on; the node where it runs out answers the request that started the run.
troupe::behavior node(troupe::actor_base& self, std::shared_ptr<troupe::response_promise<long>> done) {
  auto next = std::make_shared<troupe::actor>();
  auto seen = std::make_shared<long>(0);
  return {
      [next](link_to_next l) { *next = std::move(l.next); },
      [&self, next, done, seen](token t) {
        ++*seen;
        if (t.hops_left == 0)
          done->deliver(0);
        else
          self.send(*next, token{t.hops_left - 1});
      },
      [&self, next, done](start s) {
        *done = self.make_response_promise<long>();
        self.send(*next, token{s.hops - 1});
        return *done;
      },
      [next, seen](count_and_unlink) {
        next->reset();  // break the ring so that the actors can go away
        return *seen;
      },
  };
}
}  // namespace

int main(int argc, char** argv) {
  example::cli cli("ring", "N actors pass a token M hops around a ring.");
  long n = 503, hops = 5'000'000;
  cli.add_option("--actors", n, "N: actors in the ring (at least 2)");
  cli.add_option("--hops", hops, "M: hops in all");
  CLI11_PARSE(cli, argc, argv);
  n = std::max(2L, n);
  hops = std::max(1L, hops);

  troupe::actor_system sys{cli.config()};
  auto done = std::make_shared<troupe::response_promise<long>>();
  std::vector<troupe::actor> ring;
  for (long i = 0; i < n; ++i) ring.push_back(sys.spawn(node, done));
  for (std::size_t i = 0; i < ring.size(); ++i) troupe::send(ring[i], link_to_next{ring[(i + 1) % ring.size()]});

  auto t0 = std::chrono::steady_clock::now();
  auto finished = troupe::request<long>(ring[0], start{hops}, 60s).get();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!finished) {
    std::printf("ring failed: %s\n", finished.error().message().c_str());
    return 1;
  }
  long total = 0;
  for (auto& a : ring) total += troupe::request<long>(a, count_and_unlink{}, 10s).get().value_or(0);
  std::printf("ring: %ld actors, %ld hops in %.3f s (%.0f hops/s)\n", n, hops, secs, static_cast<double>(hops) / secs);
  return cli.finish(sys, total == hops, "hops counted by the nodes == hops");
}
