// The runtime's tracing hooks (see troupe/trace.hpp): what code in headers calls, and the
// causal stamp every envelope carries.
//
// Every hook is guarded by tracing(): one relaxed load of a process-wide count of running
// recorders and a branch, so an untraced process pays almost nothing. The hooks themselves
// are out of line (framework/src/trace_recorder.cpp). TROUPE_TRACE_HOOKS=0 (the CMake option
// TROUPE_TRACE_HOOKS=OFF) compiles them out; it is a public definition of the library, so that
// every translation unit agrees on the envelope's layout.
#pragma once

#include <atomic>
#include <cstdint>

#ifndef TROUPE_TRACE_HOOKS
#define TROUPE_TRACE_HOOKS 1
#endif

namespace troupe {
class actor_system;
}

namespace troupe::detail {

class reply_sink;

/// The causal context of one envelope, written when it is enqueued (tracing on only).
struct trace_stamp {
  std::uint64_t trace = 0;  // the chain (0: not recorded)
  std::uint64_t cause = 0;  // the run that sent it (0: none)
  std::uint64_t sent = 0;   // ticks when enqueued
};

/// What a request's reply sink remembers, for the reply and timeout records. Written by the
/// requester's and the receiver's threads and read by whoever completes the request (the timer
/// thread, for a timeout, may do so at any moment): relaxed atomics, since they are only
/// diagnostics and plain loads and stores on the machines we run on.
struct trace_request_stamp {
  std::atomic<std::uint64_t> trace{0};
  std::atomic<std::uint64_t> cause{0};    // the run that made the request
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> request{0};  // the run that received it
};

#if TROUPE_TRACE_HOOKS
/// How many recorders run in this process (any system).
extern std::atomic<std::uint32_t> trace_recorders;
inline bool tracing() noexcept { return trace_recorders.load(std::memory_order_relaxed) != 0; }
#else
constexpr bool tracing() noexcept { return false; }
#endif

/// A request is answered (code 0) or failed (the errc) through `s`, by the current thread.
void trace_reply(reply_sink& s, std::uint32_t code) noexcept;
/// A request's timeout fired (on the timer thread).
void trace_timeout(reply_sink& s) noexcept;
/// The current handler coroutine suspends at a co_await.
void trace_suspend() noexcept;
/// For tests: while held, `sys`'s trace writer does not drain the buffers (so that a test can
/// fill one); shutdown still drains them.
void trace_hold_writer(actor_system& sys, bool hold) noexcept;

}  // namespace troupe::detail
