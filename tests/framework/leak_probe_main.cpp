// Leaks an actor on purpose: it keeps a strong handle to itself in a member, so it is never
// destroyed. Built under AddressSanitizer only; CTest (framework/leaked_actor_is_reported)
// expects LeakSanitizer to report it, which proves that the runtime's block cache does not hide
// leaked actors (cached blocks are zeroed, so no stale pointer keeps one reachable).
#include <troupe/troupe.hpp>

namespace {

struct self_keeper : troupe::actor_base {
  troupe::actor me;
  troupe::behavior make_behavior() override {
    me = handle();  // a cycle: the actor references itself
    return {[](int) {}};
  }
};

}  // namespace

int main() {
  troupe::actor_system sys;
  for (int i = 0; i < 3; ++i) sys.spawn<self_keeper>();
  // Traffic through the block cache, so that freed blocks held stale pointers before the fix.
  auto echo = sys.spawn([](troupe::actor_base&) -> troupe::behavior { return {[](int v) { return v; }}; });
  for (int i = 0; i < 1000; ++i) (void)troupe::request<int>(echo, i, troupe::infinite).get();
  return 0;
}
