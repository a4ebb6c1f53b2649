// supervised_workers: a pool of workers behind a router; workers crash at random (seeded) and
// the pool replaces them. Every request still completes: with its answer, or with an error
// (the crash, or receiver_down for work queued at the crashed worker); none is lost or left to
// time out. Shows: troupe::actors::pool, monitors and replacement, errors as values.
//
//   supervised_workers [--workers W] [--jobs N] [--crash-per-mille P] [--seed S]
//                      (defaults: 4 workers, 10000 jobs, 5 per mille, seed 42)
#include "../common/cli.hpp"

#include <troupe/actors/pool.hpp>
#include <troupe/troupe.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <stdexcept>

using namespace std::chrono_literals;

namespace {
struct job {
  long n;
  bool crash;  // decided by the client from the seed, so a run is reproducible
};

troupe::behavior worker(troupe::actor_base& self) {
  self.set_name("worker");
  return {[](job j) -> long {
    if (j.crash) throw std::runtime_error("worker crashed");
    return j.n * j.n;
  }};
}
}  // namespace

int main(int argc, char** argv) {
  example::cli cli("supervised_workers", "N jobs on W workers; a job crashes its worker with probability P/1000.");
  long workers = 4, jobs = 10'000, per_mille = 5, seed = 42;
  cli.add_option("--workers", workers, "W: workers in the pool");
  cli.add_option("--jobs", jobs, "N: jobs sent to the pool");
  cli.add_option("--crash-per-mille", per_mille, "P: chance in 1000 that a job crashes its worker");
  cli.add_option("--seed", seed, "S: seed that picks the crashing jobs");
  CLI11_PARSE(cli, argc, argv);
  workers = std::max(1L, workers);
  jobs = std::max(1L, jobs);
  per_mille = std::clamp(per_mille, 0L, 1000L);
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));

  troupe::actor_system sys{cli.config()};
  auto pool = troupe::actors::spawn_pool<job, long>(
      sys, {.size = static_cast<std::size_t>(workers), .strategy = troupe::actors::routing::round_robin},
      [](troupe::actor_system& s) { return s.spawn(worker); });

  std::vector<troupe::future<long>> results;
  std::vector<bool> crash_job;
  long crashes = 0;
  for (long i = 0; i < jobs; ++i) {
    const bool crash = static_cast<long>(rng() % 1000) < per_mille;
    crashes += crash;
    crash_job.push_back(crash);
    results.push_back(troupe::request(pool, job{i, crash}, 30s));
  }
  // A crashing job fails with the crash (or receiver_down, if it was queued at a worker that
  // had crashed already); any other job is answered, or fails with receiver_down when it was
  // queued at a worker that crashed. Nothing else may happen.
  long ok = 0, crashed = 0, lost_with_worker = 0, other = 0;
  for (long i = 0; i < jobs; ++i) {
    auto r = results[static_cast<std::size_t>(i)].get();
    const bool crash = crash_job[static_cast<std::size_t>(i)];
    if (r && !crash && *r == i * i)
      ++ok;
    else if (!r && crash && r.error() == troupe::errc::handler_exception)
      ++crashed;
    else if (!r && r.error() == troupe::errc::receiver_down)
      ++lost_with_worker;
    else
      ++other;  // a wrong answer, a timeout, or a crash without one: must not happen
  }
  auto size = troupe::request(pool, troupe::actors::pool_size{}, 10s).get();
  std::printf("supervised_workers: %ld jobs, %ld crashes injected\n", jobs, crashes);
  std::printf("  answered %ld, failed with the crash %ld, failed as queued at a crashed worker %ld, other %ld\n", ok,
              crashed, lost_with_worker, other);
  std::printf("  pool size after the run: %zu (replacements keep it at %ld)\n", size ? *size : 0, workers);
  return cli.finish(sys, ok + crashed + lost_with_worker == jobs && other == 0 && crashed <= crashes &&
                             size && *size == static_cast<std::size_t>(workers),
                         "every job answered or failed with an error; no timeout; the pool kept its size");
}
