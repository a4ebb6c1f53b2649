// The continuation trampoline (see future_state.hpp) and the per-thread "runtime thread" mark
// that future::get() consults (see runtime_thread.hpp).
#include <troupe/detail/future_state.hpp>

#include "runtime_thread.hpp"

#include <vector>

namespace troupe::detail {

namespace {
// Depth of inline continuations before the trampoline queues instead of nesting. Small enough
// that 16 nested continuations fit in any stack, large enough that ordinary chains never queue.
constexpr unsigned max_inline_depth = 16;

thread_local unsigned tls_depth = 0;
thread_local unsigned tls_runtime_depth = 0;
}  // namespace

// Runs on one thread only: the queue is that thread's, so it needs no synchronisation.
class continuation_trampoline {
 public:
  static void run(future_state_base& st) noexcept {
    if (tls_depth >= max_inline_depth) {
      st.add_ref();  // the queue's reference, dropped after the continuation ran
      st.deferred_next_ = nullptr;
      if (tail_)
        tail_->deferred_next_ = &st;
      else
        head_ = &st;
      tail_ = &st;
      return;
    }
    ++tls_depth;
    st.invoke_continuation();
    if (tls_depth == 1) {
      // The outermost continuation on this thread: run what deeper ones queued, each starting
      // from depth 1 again.
      while (future_state_base* next = head_) {
        head_ = next->deferred_next_;
        if (!head_) tail_ = nullptr;
        next->invoke_continuation();
        next->release();
      }
    }
    --tls_depth;
  }

 private:
  static thread_local future_state_base* head_;
  static thread_local future_state_base* tail_;
};

thread_local future_state_base* continuation_trampoline::head_ = nullptr;
thread_local future_state_base* continuation_trampoline::tail_ = nullptr;

void run_continuation(future_state_base& st) noexcept { continuation_trampoline::run(st); }

namespace {
thread_local unsigned tls_cancel_depth = 0;
thread_local std::vector<cancellable*>* tls_cancel_queue = nullptr;  // (made on first deep use)
}  // namespace

void tell_cancelled(cancellable* h) noexcept {
  if (tls_cancel_depth >= max_inline_depth) {
    try {
      if (!tls_cancel_queue) {
        static thread_local std::vector<cancellable*> queue;
        tls_cancel_queue = &queue;
      }
      tls_cancel_queue->push_back(h);
      return;
    } catch (...) {  // out of memory: tell it now, on this (deeper) stack
    }
  }
  ++tls_cancel_depth;
  h->cancel(cancel_kind::tree);
  h->release();
  if (tls_cancel_depth == 1 && tls_cancel_queue) {
    // The outermost cancel on this thread: tell what deeper ones queued, each from depth 1.
    // (Oldest first; a told watcher may queue more.)
    for (std::size_t i = 0; i < tls_cancel_queue->size(); ++i) {
      cancellable* next = (*tls_cancel_queue)[i];
      next->cancel(cancel_kind::tree);
      next->release();
    }
    tls_cancel_queue->clear();
  }
  --tls_cancel_depth;
}

namespace {
thread_local actor_system* tls_runtime_system = nullptr;
}

runtime_thread_scope::runtime_thread_scope(actor_system* sys) noexcept : prev_(tls_runtime_system) {
  ++tls_runtime_depth;
  if (sys) tls_runtime_system = sys;
}
runtime_thread_scope::~runtime_thread_scope() {
  --tls_runtime_depth;
  tls_runtime_system = prev_;
}
actor_system* runtime_system() noexcept { return tls_runtime_system; }
bool on_runtime_thread() noexcept { return tls_runtime_depth > 0; }

}  // namespace troupe::detail
