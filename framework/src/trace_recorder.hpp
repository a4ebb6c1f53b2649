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

namespace spdlog {
class logger;
}

namespace troupe {
class actor_base;
class actor_system;
}  // namespace troupe

namespace troupe::detail {

/// The clock of trace records: the time-stamp counter where it is invariant, else steady ns.
std::uint64_t trace_ticks() noexcept;

/// The run being handled on this thread (tracing on only): its id and its chain.
struct trace_context {
  std::uint64_t id = 0;
  std::uint64_t trace = 0;
};
/// This thread's context; runs and timers set it for their duration (trace_context_scope).
trace_context& current_trace_context() noexcept;

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

/// One thread's ring (single producer: its thread; single consumer: the writer).
class trace_ring {
 public:
  trace_ring(trace_recorder& owner, std::size_t bytes, std::uint32_t slot);

  /// A fresh id, unique in the file.
  std::uint64_t next_id() noexcept { return (std::uint64_t{slot_} << 40) | ++serial_; }

  /// Appends one record (`fixed` bytes, its header's size already set) followed by `text`
  /// (padded to 8). False if it was dropped (ring full).
  bool put(const void* fixed, std::size_t size, std::string_view text = {}, bool count_drop = true) noexcept;
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
  static constexpr std::size_t type_cache_size = 64;
  const type_meta* types_seen_[type_cache_size] = {};
  // Shared with the writer.
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::atomic<std::uint32_t> dropped_{0};
};

class trace_recorder {
 public:
  /// Opens the file and starts the writer; throws std::system_error if the file cannot be made.
  trace_recorder(const trace_config& cfg, std::string path, node_id node, spdlog::logger& log);
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
  trace_ring& ring() noexcept;
  /// Drains every ring and stops the writer; records written after this are lost. Idempotent.
  void stop() noexcept;
  trace_stats stats() const;
  void hold(bool on) noexcept;
  const std::string& path() const noexcept { return path_; }

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
  void write_all(const void* p, std::size_t n) noexcept;
  static bool name_matches(const std::vector<std::string>& names, std::string_view n) noexcept;

  std::string path_;
  spdlog::logger& log_;
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
  std::atomic<std::size_t> bytes_{0};
};

}  // namespace troupe::detail
