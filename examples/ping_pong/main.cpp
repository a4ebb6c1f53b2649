// ping_pong: two actors bounce a counter back and forth, one message in flight.
//
// Shows: function-based actors, send with a sender, current_sender() to answer, a request from
// the main thread whose reply arrives when the game ends, and the clean shutdown of the system.
//
//   ping_pong [--rounds N] [--workers W]      (defaults: 1000000 rounds, 2 workers)
//
// Prints the rounds played, the time and the message rate, and exits 0 when the ball came
// back exactly N times.
#include "../common/cli.hpp"

#include <troupe/troupe.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

namespace {

struct ball {
  long remaining;
};
struct start_game {
  troupe::actor partner;
  long rounds;
};

// Answers every ball with the same ball, one round fewer.
troupe::behavior ponger(troupe::actor_base& self) {
  self.set_name("pong");
  return {[&self](ball b) { self.send(self.current_sender(), ball{b.remaining - 1}); }};
}

// Starts the game on request, counts the returns, answers the request when the game is over.
troupe::behavior pinger(troupe::actor_base& self) {
  self.set_name("ping");
  struct state {
    long returns = 0;
    troupe::response_promise<long> done;
  };
  auto st = std::make_shared<state>();
  return {
      [&self, st](start_game g) {
        st->done = self.make_response_promise<long>();
        self.send(g.partner, ball{g.rounds});
        return st->done;
      },
      [&self, st](ball b) {
        ++st->returns;
        if (b.remaining > 0)
          self.send(self.current_sender(), b);
        else
          st->done.deliver(st->returns);
      },
  };
}

}  // namespace

int main(int argc, char** argv) {
  example::cli cli("ping_pong", "Two actors exchange a ball N times on W workers.");
  long rounds = 1'000'000;
  std::size_t workers = 2;
  cli.add_option("--rounds", rounds, "N: round trips of the ball");
  cli.add_option("--workers", workers, "W: worker threads of the actor system (0: one per hardware thread)")
      ->check(CLI::Range(0, 1024));  // else CLI11 2.1 reads -1 as a huge unsigned number
  CLI11_PARSE(cli, argc, argv);
  rounds = std::max(1L, rounds);

  troupe::actor_system sys{cli.config({.worker_count = workers})};
  auto pong = sys.spawn(ponger);
  auto ping = sys.spawn(pinger);

  auto t0 = std::chrono::steady_clock::now();
  troupe::result<long> returns = troupe::request<long>(ping, start_game{pong, rounds}, 60s).get();
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (!returns) {
    std::printf("ping_pong failed: %s\n", returns.error().message().c_str());
    return 1;
  }
  std::printf("ping_pong: %ld rounds in %.3f s on %zu workers: %.0f messages/s\n", *returns, secs, workers,
              2.0 * static_cast<double>(*returns) / secs);
  return cli.finish(sys, *returns == rounds, "returns == rounds");
}
