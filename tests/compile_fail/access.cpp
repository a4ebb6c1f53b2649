// The runtime's internals are not reachable from user code (issue 9: a raw-pointer handle
// could revive a dead actor's strong count; enqueue, resume and the scheduler are the
// runtime's). Each CASE_ block must fail to compile with the message after "expect:".
#include <troupe/troupe.hpp>

struct ping {};

inline void use(troupe::actor_system& sys, troupe::actor a) {
  troupe::send(a, ping{});
  (void)sys.timers().now();
#if defined(CASE_raw_pointer_handle)  // expect: private within this context
  troupe::actor revived(a.get());
#endif
#if defined(CASE_enqueue)  // expect: (protected|private) within this context
  a->enqueue(nullptr);
#endif
#if defined(CASE_strong_ref)  // expect: (protected|private) within this context
  a->strong_ref();
#endif
#if defined(CASE_scheduler)  // expect: (private|no member named)
  (void)sys.sched();
#endif
#if defined(CASE_registry)  // expect: (private|no member named)
  (void)sys.registry();
#endif
}

int main() {}

inline void resume_from_outside(troupe::actor_base& self) {
#if defined(CASE_resume)  // expect: (inaccessible|private)
  static_cast<troupe::resumable&>(self).resume(1);
#endif
  (void)self;
}
