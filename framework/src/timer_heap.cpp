#include "timer_heap.hpp"

#include "runtime_thread.hpp"
#include "trace_recorder.hpp"

#include <troupe/actor_system.hpp>
#include <troupe/timer_service.hpp>

#include <optional>

namespace troupe::detail {

using access = timer_queue_access;

bool timer_heap::push(timer_node& n) {
  heap_.push_back(&n);
  access::index(n) = heap_.size() - 1;
  sift_up(heap_.size() - 1);
  return access::index(n) == 0;
}

timer_node& timer_heap::pop_front() noexcept {
  timer_node& n = *heap_.front();
  remove(n);
  return n;
}

bool timer_heap::remove(timer_node& n) noexcept {
  std::size_t i = access::index(n);
  if (i == timer_node::not_queued) return false;
  access::index(n) = timer_node::not_queued;
  timer_node* last = heap_.back();
  heap_.pop_back();
  if (last != &n) {
    place(i, last);
    sift_up(i);
    sift_down(access::index(*last));
  }
  return true;
}

void timer_heap::claim(actor_system& sys, timer_node& n, time_point deadline) noexcept {
#if TROUPE_TRACE_HOOKS
  if (tracing())
    if (trace_recorder* t = system_access::tracer(sys)) t->record_arm(n, deadline - sys.timers().now());
#else
  (void)deadline;
#endif
  access::owner(n)->add_ref();
  access::system(n).store(&sys, std::memory_order_release);
}

void timer_heap::fire(timer_node& n, bool cancelled) noexcept {
  actor_system* sys = access::system(n).exchange(nullptr, std::memory_order_acq_rel);
  const ref_counted* owner = access::owner(n);
  runtime_thread_scope on_runtime(sys);  // what the timer completes runs here: no blocking get()
#if TROUPE_TRACE_HOOKS
  std::optional<trace_context_scope> context;  // it fires in the chain that armed it
  if (sys && n.trace_trace && tracing()) {
    trace_recorder* t = system_access::tracer(*sys);
    if (t) t->record_fire(n, cancelled);
    context.emplace(trace_context{n.trace_cause, n.trace_trace, t ? t->generation() : 0});
  }
#endif
  n.on_timer(cancelled);
  owner->release();
}

void timer_heap::release_cancelled(timer_node& n) noexcept {
  access::system(n).store(nullptr, std::memory_order_release);
  access::owner(n)->release();
}

void timer_heap::place(std::size_t i, timer_node* n) noexcept {
  heap_[i] = n;
  access::index(*n) = i;
}

void timer_heap::sift_up(std::size_t i) noexcept {
  timer_node* n = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (!(access::deadline(*n) < access::deadline(*heap_[parent]))) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, n);
}

void timer_heap::sift_down(std::size_t i) noexcept {
  timer_node* n = heap_[i];
  const std::size_t size = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && access::deadline(*heap_[child + 1]) < access::deadline(*heap_[child])) ++child;
    if (!(access::deadline(*heap_[child]) < access::deadline(*n))) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, n);
}

time_point arm_timer(actor_system& sys, timer_node& node, duration after) {
  if (after == infinite) return time_point::max();
  auto now = sys.timers().now();
  time_point deadline = after >= time_point::max() - now ? time_point::max() : now + after;
  sys.timers().arm(node, deadline);
  return deadline;
}

void cancel_timer(timer_node& node) noexcept {
  if (actor_system* sys = timer_queue_access::system(node).load(std::memory_order_acquire))
    sys->timers().cancel(node);
}

}  // namespace troupe::detail
