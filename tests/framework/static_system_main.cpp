// An actor_system at namespace scope: it is destroyed after main returns, after this thread's
// thread_local objects (the runtime's block cache among them). It must shut down cleanly. Run
// by CTest as framework/static_system; a crash at exit fails it.
#include <troupe/troupe.hpp>

#include <cstdio>

namespace {

struct ping {
  int value;
};
struct nudge {};  // an empty message: its envelope is the size of a system signal's

troupe::actor_system static_system;
troupe::actor static_echo;  // destroyed first (declared last): the actor is unreferenced at exit

}  // namespace

int main() {
  auto echo = static_system.spawn([](troupe::actor_base&) -> troupe::behavior {
    return {[](ping p) { return p.value + 1; }};
  });
  int sum = 0;
  // Enough traffic that this thread's block cache holds envelopes and future states.
  for (int i = 0; i < 10'000; ++i) {
    auto r = troupe::request<int>(echo, ping{i}, troupe::infinite).get();
    if (!r) return 1;
    sum += *r - i;
  }
  // Messages to a dead actor bounce on this thread: their envelopes land in its cache, in the
  // size class that the shutdown signals of the static system's destructor will use.
  auto gone = static_system.spawn([](troupe::actor_base& self) -> troupe::behavior {
    self.quit();
    return {[](nudge) {}};
  });
  for (int i = 0; i < 100; ++i) troupe::send(gone, nudge{});
  static_echo = echo;
  std::printf("static system: %d replies ok\n", sum);
  return sum == 10'000 ? 0 : 1;
}
