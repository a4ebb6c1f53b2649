// fan_out_fan_in: a coordinator asks every worker for part of a computation at once and
// gathers the answers before a deadline: all of them, or a quorum when some are slow. Shows:
// scatter_gather (troupe::actors) with all() and quorum(), when_all, and partial results
// reported as such.
//
//   fan_out_fan_in [--workers N] [--slow K] [--deadline-ms D]   (defaults: 8 workers, 2 slow, 200 ms)
//
// Each worker sums the squares of its slice of 1..N*1000; K workers answer only after 5 s.
// Checks: with all() and no slow workers the total is exact; with the slow ones, quorum()
// completes before the deadline with a majority, and all() reports a partial result at the
// deadline.
#include "../common/cli.hpp"

#include <troupe/actors/scatter_gather.hpp>
#include <troupe/troupe.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <cstdio>

using namespace std::chrono_literals;

namespace {
struct slice {
  long from, to;  // [from, to)
};

troupe::behavior worker(troupe::actor_base& self, bool slow) {
  self.set_name(slow ? "slow worker" : "worker");
  return {[&self, slow](slice s) -> troupe::task<long> {
    if (slow) co_await self.delay(5s);
    long sum = 0;
    for (long i = s.from; i < s.to; ++i) sum += i * i;
    co_return sum;
  }};
}

long sum_of_squares(long n) { return (n - 1) * n * (2 * n - 1) / 6; }  // 0..n-1
}  // namespace

int main(int argc, char** argv) {
  example::cli cli("fan_out_fan_in", "Scatter a sum over N workers, K of them slow; gather within D ms.");
  long n = 8, slow = 2, deadline_ms = 200;
  cli.add_option("--workers", n, "N: workers (at least 3)");
  cli.add_option("--slow", slow, "K: workers that answer only after 5 s (fewer than half)");
  cli.add_option("--deadline-ms", deadline_ms, "D: deadline of each gather, in milliseconds");
  CLI11_PARSE(cli, argc, argv);
  n = std::max(3L, n);
  slow = std::clamp(slow, 0L, n / 2 - (n % 2 == 0 ? 1 : 0));
  const auto deadline = std::chrono::milliseconds(std::max(1L, deadline_ms));
  const long per = 1000;

  troupe::actor_system sys{cli.config()};
  std::vector<troupe::actor> fast_workers, mixed;
  for (long i = 0; i < n; ++i) fast_workers.push_back(sys.spawn(worker, false));
  for (long i = 0; i < n; ++i) mixed.push_back(sys.spawn(worker, i < slow));

  // 1. Everyone fast: all() gathers every part; the parts add up to the exact total. Each
  //    worker gets its own slice, so the requests go out one by one and meet in when_all.
  std::vector<troupe::future<long>> parts;
  for (long i = 0; i < n; ++i)
    parts.push_back(troupe::request<long>(fast_workers[static_cast<std::size_t>(i)], slice{i * per, (i + 1) * per}, deadline));
  auto sums = troupe::when_all(std::move(parts)).get();
  long total = 0;
  if (sums)
    for (long s : *sums) total += s;
  const bool exact = sums && total == sum_of_squares(n * per);
  std::printf("all workers fast: total %ld (%s)\n", total, exact ? "exact" : "WRONG");

  // 2. Some slow: a quorum answers in time; all() reports what it had at the deadline.
  auto t0 = std::chrono::steady_clock::now();
  auto q = troupe::actors::scatter_gather<long>(mixed, slice{0, per}, troupe::actors::quorum(), deadline).get();
  double q_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  auto a = troupe::actors::scatter_gather<long>(mixed, slice{0, per}, troupe::actors::all(), deadline).get();
  if (!q || !a) {
    std::puts("fan_out_fan_in failed");
    return 1;
  }
  std::printf("%ld of %ld slow: quorum complete=%s with %zu replies after %.1f ms; all() complete=%s, %zu replies, %zu failures (%s)\n",
              slow, n, q->complete ? "yes" : "no", q->replies.size(), q_ms, a->complete ? "yes" : "no",
              a->replies.size(), a->failures.size(),
              a->failures.empty() ? "-" : std::string(troupe::to_string(a->failures[0].second.code())).c_str());
  const bool quorum_ok = q->complete && q->replies.size() >= static_cast<std::size_t>(n / 2 + 1);
  const bool partial_ok = slow == 0 ? a->complete
                                    : (!a->complete && a->replies.size() == static_cast<std::size_t>(n - slow) &&
                                       a->failures.size() == static_cast<std::size_t>(slow));
  return cli.finish(sys, exact && quorum_ok && partial_ok,
                         "exact total; a quorum in time; partial results reported as partial");
}
