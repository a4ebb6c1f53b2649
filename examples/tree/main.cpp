// tree: the skynet benchmark as a program. An actor spawns 10 children, each spawns 10 more,
// down to N leaves; each leaf answers its number, each parent the sum of its children's
// answers (when_all of 10 requests). Shows: spawning from a handler, requests and when_all,
// answering with a future, and actors that go away as soon as they are unreferenced.
//
//   tree [--leaves N]        (default 1,000,000; a power of 10)
//
// Checks the sum 0 + 1 + ... + (N-1) = N(N-1)/2.
#include "../common/cli.hpp"

#include <troupe/troupe.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

namespace {
struct sum_range {
  long first;
  long size;
};

troupe::behavior node(troupe::actor_base& self) {
  return {[&self](sum_range r) -> troupe::future<long> {
    if (r.size == 1) return troupe::make_ready_future(r.first);
    const long part = r.size / 10;
    std::vector<troupe::future<long>> children;
    for (long i = 0; i < 10; ++i)
      children.push_back(self.request<long>(self.system().spawn(node), sum_range{r.first + i * part, part}, troupe::infinite));
    return troupe::when_all(std::move(children)).then([](std::vector<long> sums) {
      long s = 0;
      for (long x : sums) s += x;
      return s;
    });
  }};
}
}  // namespace

int main(int argc, char** argv) {
  example::cli cli("tree", "Spawns a tree of actors 10 wide down to N leaves and sums them.");
  long want = 1'000'000;
  cli.add_option("--leaves", want, "N: leaves (rounded up to a power of 10)");
  CLI11_PARSE(cli, argc, argv);
  long leaves = 1;
  while (leaves < want) leaves *= 10;

  troupe::actor_system sys{cli.config()};
  auto t0 = std::chrono::steady_clock::now();
  auto sum = troupe::request<long>(sys.spawn(node), sum_range{0, leaves}, 60s).get();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!sum) {
    std::printf("tree failed: %s\n", sum.error().message().c_str());
    return 1;
  }
  std::printf("tree: %ld leaves (%ld actors) summed to %ld in %.3f s\n", leaves, (leaves * 10 - 1) / 9, *sum, secs);
  return cli.finish(sys, *sum == leaves * (leaves - 1) / 2, "sum == N(N-1)/2");
}
