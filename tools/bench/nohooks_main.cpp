// troupe-bench-nohooks: ping_pong on troupe built with TROUPE_TRACE_HOOKS=OFF, so that
// troupe-bench can measure what the tracing hooks cost while tracing is off (the
// trace_hooks_off workload runs this program as its reference).
//
//   troupe-bench-nohooks ROUND_TRIPS WORKERS    prints ping_pong's msgs/s
#include "bench.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: troupe-bench-nohooks ROUND_TRIPS WORKERS\n");
    return 2;
  }
  bench::sizes s;
  s.ping_pong_round_trips = std::atol(argv[1]);
  s.workers = static_cast<std::size_t>(std::atol(argv[2]));
  try {
    std::printf("%.17g\n", bench::troupe_side::ping_pong(s));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe-bench-nohooks: %s\n", e.what());
    return 3;
  }
  return 0;
}
