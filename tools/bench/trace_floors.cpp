// The references of tracing's two cost figures (see the trace_hooks_off and ping_pong_traced
// workloads in main.cpp, and docs/tracing.md).
#include "bench.hpp"

#include <cstdio>
#include <memory>
#include <string>

namespace bench::floor_side {

double troupe_untraced(const sizes& s) { return troupe_side::ping_pong(s); }

double troupe_without_hooks(const sizes& s) {
  const std::string cmd = std::string(TROUPE_BENCH_NOHOOKS) + " " + std::to_string(s.ping_pong_round_trips) + " " +
                          std::to_string(s.workers);
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  check(p != nullptr, "cannot run " + cmd);
  double rate = 0;
  check(std::fscanf(p.get(), "%lf", &rate) == 1 && rate > 0, cmd + " gave no figure");
  check(pclose(p.release()) == 0, cmd + " failed");
  return rate;
}

}  // namespace bench::floor_side
