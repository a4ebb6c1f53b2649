// trace_recorder: one actor_system's trace file, fed by per-thread ring buffers (see
// troupe/trace.hpp for what it records and troupe/trace_format.hpp for the file).
//
// Threads. Each thread that records gets a ring buffer of its own (created on its first record,
// under the recorder's lock, then found through a thread_local cache): it is the only producer
// of that ring, and the recorder's writer thread is its only consumer, so writing a record is a
// copy into the ring and one release store, with no lock and no allocation. When the ring is
// full the record is dropped and counted. The writer drains every ring into the file as one
// block per ring, every flush interval, when a producer finds its ring half full, and at stop.
//
// Ids. A run's id, a chain's id and a timer's id come from the thread's ring:
// (slot << 40) | serial, unique in the file without any shared counter.
#pragma once

#include <troupe/abstract_actor.hpp>
#include <troupe/detail/envelope.hpp>
#include <troupe/detail/timer.hpp>
#include <troupe/detail/trace_hooks.hpp>
#include <troupe/exit_reason.hpp>
#include <troupe/trace.hpp>
#include <troupe/trace_format.hpp>
#include <troupe/type_meta.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

struct iovec;

namespace spdlog {
class logger;
}

namespace troupe {
class actor_base;
class actor_system;
}  // namespace troupe

namespace troupe::detail {

/// Whether trace_ticks reads the time-stamp counter (set by the first recorder, before any
/// record is written: where the TSC is invariant, Linux's constant_tsc and nonstop_tsc).
extern std::atomic<bool> trace_use_tsc;
std::uint64_t trace_steady_ns() noexcept;

/// The clock of trace records: the time-stamp counter where it is invariant, else steady ns.
/// (Inline: reading it is a good part of what tracing costs per message.)
inline std::uint64_t trace_ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  if (trace_use_tsc.load(std::memory_order_relaxed)) [[likely]] return __rdtsc();
#endif
  return trace_steady_ns();
}

/// The end of the run this thread handled last (0: none, or the worker slept or an actor
/// terminated since): the next run starts then if its message had arrived by then, which
/// spares one clock read per run.
constinit inline thread_local std::uint64_t tls_last_run_end = 0;
inline std::uint64_t& last_run_end() noexcept { return tls_last_run_end; }

/// The run being handled on this thread (tracing on only): its id and its chain.
struct trace_context {
  std::uint64_t id = 0;
  std::uint64_t trace = 0;
  std::uint64_t generation = 0;  // the recorder whose ids these are (systems do not share ids)
};
/// This thread's context; runs and timers set it for their duration (trace_context_scope).
constinit inline thread_local trace_context tls_trace_context;
inline trace_context& current_trace_context() noexcept { return tls_trace_context; }
/// The context of the last run this thread handled: an actor that quits terminates after its
/// last run returned, and what it sends then (exit and down signals) is caused by that run.
constinit inline thread_local trace_context tls_last_run_context;

class trace_context_scope {
 public:
  explicit trace_context_scope(trace_context c) noexcept
      : saved_(std::exchange(current_trace_context(), c)) {}
  ~trace_context_scope() { current_trace_context() = saved_; }
  trace_context_scope(const trace_context_scope&) = delete;
  trace_context_scope& operator=(const trace_context_scope&) = delete;

 private:
  trace_context saved_;
};

class trace_recorder;

/// Sees what the recorder's writer drains, as it drains it (the inspector's live model): on the
/// writer thread, one drain at a time, never on the threads being recorded.
class trace_observer {
 public:
  virtual ~trace_observer() = default;
  /// The records `thread` wrote since its previous block, in order, whole (a block that wrapped
  /// around its ring is handed over contiguous); `dropped`: records it dropped before them.
  /// `records` null: the block was lost (no memory to make it contiguous); run records of that
  /// thread cannot be decoded again until one starts afresh (run_present2::reset).
  virtual void on_block(std::uint32_t thread, std::uint32_t dropped, const std::byte* records,
                        std::size_t size) noexcept = 0;
  /// After each drain (every flush interval while the system runs, and at stop).
  virtual void on_drained() noexcept {}
};

/// One thread's ring (single producer: its thread; single consumer: the writer).
class trace_ring {
 public:
  trace_ring(trace_recorder& owner, std::size_t bytes, std::uint32_t slot);

  /// A fresh id for a run, unique in the file: consecutive per thread (the run records' codec
  /// leaves them implied).
  std::uint64_t next_run_id() noexcept { return (std::uint64_t{slot_} << 40) | ++run_serial_; }
  /// A fresh id for anything else (a timer, a chain started on this thread), unique in the file.
  std::uint64_t next_id() noexcept { return (std::uint64_t{slot_} << 40) | (std::uint64_t{1} << 39) | ++serial_; }
  /// Appends a run record (compact, see trace_format::run_codec). False if dropped.
  bool put_run(const trace_format::handled_record& r) noexcept {
    constexpr std::size_t most = trace_format::run_codec::max_size;
    const std::uint64_t h = head_local_;
    const std::size_t off = h & (cap_ - 1);
    if (h + most - tail_seen_ <= cap_ / 2 && off + most <= cap_) [[likely]] {
      // Room, and no wrap: encode straight into the ring.
      const std::size_t n = runs_.encode(r, std::exchange(reset_runs_, false), reinterpret_cast<unsigned char*>(data_.get() + off));
      head_local_ = h + n;
      head_.store(head_local_, std::memory_order_release);
      return true;
    }
    unsigned char buf[most];
    const std::size_t n = runs_.encode(r, std::exchange(reset_runs_, false), buf);
    return put(buf, n);
  }

  /// Appends one record (`fixed` bytes, its header's size already set) followed by `text`
  /// (padded to 8). False if it was dropped (ring full).
  bool put(const void* fixed, std::size_t size, std::string_view text = {}, bool count_drop = true) noexcept;
  /// put() for a fixed-size record without text: the common case, inline with a constant size.
  template <class R>
  bool put(const R& r) noexcept {
    const std::uint64_t h = head_local_;
    const std::size_t off = h & (cap_ - 1);
    if (h + sizeof(R) - tail_seen_ > cap_ / 2 || off + sizeof(R) > cap_) [[unlikely]]
      return put(&r, sizeof(R));  // near full (maybe: look at the tail, wake the writer) or wrapping
    std::memcpy(data_.get() + off, &r, sizeof(R));
    head_local_ = h + sizeof(R);
    head_.store(head_local_, std::memory_order_release);
    return true;
  }
  /// Makes sure a type_def for `t` precedes records that use it in this ring, and gives its
  /// key (0 for no type). False if the ring had no room for it: then the record that would use
  /// it must be dropped too (drop()).
  bool type_key(const type_meta* t, std::uint64_t& key) noexcept;
  /// Counts a record as dropped.
  void drop() noexcept;

 private:
  friend class trace_recorder;
  void copy_in(std::uint64_t at, const void* src, std::size_t n) noexcept;

  trace_recorder& owner_;
  std::unique_ptr<std::byte[]> data_;
  std::size_t cap_;
  std::uint32_t slot_;
  std::thread::id thread_;
  // Producer's own.
  std::uint64_t head_local_ = 0;
  std::uint64_t tail_seen_ = 0;
  std::uint64_t serial_ = 0;
  std::uint64_t run_serial_ = 0;
  trace_format::run_codec runs_;
  bool reset_runs_ = true;  // the next run record starts the codec afresh (first, or after a drop)
  static constexpr std::size_t type_cache_size = 64;
  const type_meta* types_seen_[type_cache_size] = {};
  // Shared with the writer.
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::atomic<std::uint32_t> dropped_{0};
};

struct trace_ring_cache {
  std::uint64_t generation = 0;
  trace_ring* ring = nullptr;
};
constinit inline thread_local trace_ring_cache tls_trace_ring;

class trace_recorder {
 public:
  /// Opens the file and starts the writer; throws std::system_error if the file cannot be made.
  /// An empty `path` writes no file: the records only go to `observer` (which must then be
  /// given). The observer outlives the recorder's stop().
  trace_recorder(const trace_config& cfg, std::string path, node_id node, spdlog::logger& log,
                 trace_observer* observer = nullptr);
  ~trace_recorder();
  trace_recorder(const trace_recorder&) = delete;
  trace_recorder& operator=(const trace_recorder&) = delete;

  /// The recorder `sys` writes to, or null (tracing off for it, or stopped).
  static trace_recorder* of(actor_system& sys) noexcept;
  /// The recorder of the actor running on this thread, or of the system whose runtime thread
  /// (timer, network) this is; null if none records.
  static trace_recorder* current() noexcept;
  /// The path a system's recorder writes to: the config's, else TROUPE_TRACE's, with {pid} and
  /// {node} replaced (empty: tracing off).
  static std::string resolve_path(const trace_config& cfg, node_id node);

  /// This thread's ring (made on first use).
  trace_ring& ring() noexcept {
    if (tls_trace_ring.generation == generation_) [[likely]] return *tls_trace_ring.ring;
    return ring_slow();
  }
  /// Drains every ring and stops the writer; records written after this are lost. Idempotent.
  void stop() noexcept;
  trace_stats stats() const;
  void hold(bool on) noexcept;
  const std::string& path() const noexcept { return path_; }
  std::uint64_t generation() const noexcept { return generation_; }
  /// This thread's context if it is one of this recorder's runs (else none: a new chain).
  const trace_context* context() const noexcept {
    const trace_context& c = tls_trace_context;
    return c.trace && c.generation == generation_ ? &c : nullptr;
  }
  /// An id for a chain started outside any run (threads that record nothing get no ring).
  std::uint64_t next_root_id() noexcept {
    return (std::uint64_t{1} << 39) | (root_serial_.fetch_add(1, std::memory_order_relaxed) + 1);
  }

  // -- events (on the calling thread; each is one record in its ring) --------------------------
  /// Writes `e`'s causal stamp as it is enqueued: the current run's chain, or a new chain.
  void stamp(envelope& e) noexcept;
  void record_spawn(const actor_base& a) noexcept;
  void record_name(const actor_base& a, std::string_view name) noexcept;
  void record_exit(const actor_base& a, const exit_reason& reason) noexcept;
  void record_dead_letter(const abstract_actor* receiver, const envelope& e,
                          trace_format::dead_letter_reason why) noexcept;
  /// A timer is armed: remembers the context it fires in.
  void record_arm(timer_node& n, duration delay) noexcept;
  void record_fire(const timer_node& n, bool cancelled) noexcept;
  void record_reply(trace_format::kind k, const reply_sink& s, std::uint32_t code) noexcept;
  /// A failed future was dropped without anyone looking at its result (on the dropping thread).
  void record_unobserved(std::uint32_t code, std::string_view text) noexcept;

  /// Whether a message sent outside any recorded chain starts one.
  bool sample_root(const actor_base* sender, const type_meta* type) const noexcept;
  bool sampling_all() const noexcept { return sample_all_; }

 private:
  friend class trace_ring;
  trace_ring& ring_slow();
  void wake_writer() noexcept;
  void writer_loop();
  void drain() noexcept;
  void write_clock(std::vector<std::byte>& out);
  /// Writes all of `count` iovecs (or logs the failure and stops tracing).
  void write_all(iovec* at, int count) noexcept;
  static bool name_matches(const std::vector<std::string>& names, std::string_view n) noexcept;

  std::string path_;
  spdlog::logger& log_;
  trace_observer* observer_;
  std::vector<std::byte> wrapped_;  // (the writer's: a block that wrapped, made contiguous)
  int fd_ = -1;
  std::uint64_t generation_;  // tells this recorder's rings from those of a dead one at the same address
  std::size_t ring_bytes_;
  std::chrono::nanoseconds interval_;
  std::vector<std::string> sample_types_;
  std::vector<std::string> sample_actors_;
  bool sample_all_;

  mutable std::mutex m_;  // rings_, and the writer's sleep
  std::condition_variable cv_;
  std::vector<std::unique_ptr<trace_ring>> rings_;
  std::atomic<bool> wake_{false};
  bool stopping_ = false;
  bool hold_ = false;  // trace_hold_writer
  bool stopped_ = false;
  std::thread writer_;
  std::mutex drain_m_;  // one drain at a time (writer, stop)
  bool write_failed_ = false;

  std::atomic<std::size_t> dropped_{0};
  std::atomic<std::uint64_t> root_serial_{0};
  std::atomic<std::size_t> bytes_{0};
};

}  // namespace troupe::detail
