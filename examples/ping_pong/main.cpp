// ping_pong: two actors bounce a counter back and forth, one message in flight.
//
// Shows: function-based actors, send with a sender, current_sender() to answer, a request from
// the main thread whose reply arrives when the game ends, and the clean shutdown of the system.
//
//   ping_pong [--rounds N] [--workers W]      (defaults: 1000000 rounds, 2 workers)
//
// Prints the rounds played, the time and the message rate, and exits 0 when the ball came
// back exactly N times.
#include <troupe/troupe.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

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
  return {[&self](ball b) { self.send(self.current_sender(), ball{b.remaining - 1}); }};
}

// Starts the game on request, counts the returns, answers the request when the game is over.
troupe::behavior pinger(troupe::actor_base& self) {
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

void usage() {
  std::puts("usage: ping_pong [--rounds N] [--workers W]\n"
            "  Two actors exchange a ball N times (default 1000000) on W workers (default 2).");
}

}  // namespace

int main(int argc, char** argv) {
  long rounds = 1'000'000;
  std::size_t workers = 2;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      usage();
      return 0;
    } else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) {
      rounds = std::atol(argv[++i]);
    } else if (!std::strcmp(argv[i], "--workers") && i + 1 < argc) {
      workers = static_cast<std::size_t>(std::atol(argv[++i]));
    } else {
      usage();
      return 2;
    }
  }
  if (rounds < 1) rounds = 1;

  troupe::actor_system sys{troupe::actor_system_config{.worker_count = workers}};
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
  const bool ok = *returns == rounds;
  std::printf("invariant (returns == rounds): %s\n", ok ? "ok" : "VIOLATED");
  return ok ? 0 : 1;
}
