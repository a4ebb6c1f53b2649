// trace_format: the layout of a troupe trace file (version 1), shared by the recorder that
// writes it (framework) and troupe-trace that reads it (tools/trace). docs/tracing.md
// describes the same layout for readers in other languages.
//
// All integers are little-endian. A file is a file_header followed by blocks:
//
//   file_header | block_header records... | block_header records... | ...
//
// Each block holds records written by one thread (block_header::thread; 0 is the recorder's own
// writer thread, which writes clock records), in the order that thread wrote them. Blocks of
// different threads interleave in the order the writer drained them, so records are ordered by
// time within a thread, not across the file. Every record starts with a record_header whose
// `size` (a multiple of 8, at least 8) is the record's whole length; a reader skips kinds it does
// not know, so later minor additions stay readable. A file cut short (the process crashed) is
// valid up to its last whole block.
//
// Times are ticks of one clock per file (the CPU's time-stamp counter where it is invariant,
// else nanoseconds of the steady clock; file_header::flags says which). Clock records pair a
// tick count with the steady and the real-time clocks in nanoseconds, at the start and then
// about every flush; readers convert ticks to nanoseconds by interpolating between them, and
// use the real-time clock to line up files of several processes.
//
// Ids. Events that others refer to carry an id unique in the file: (thread slot << 40) | serial
// for runs, with bit 39 set as well for timers, and bit 39 alone with a serial for the chains
// started outside any run. A handled record's id is the "run" of one message; everything that
// run sends carries it as its `cause`, and its chain's id as its `trace` (0: not sampled).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace troupe::trace_format {

inline constexpr char magic[8] = {'T', 'R', 'O', 'U', 'P', 'E', 'T', 'R'};
inline constexpr std::uint32_t version = 1;
inline constexpr std::uint32_t block_magic = 0x314b4c42;  // "BLK1"

/// file_header::flags
inline constexpr std::uint64_t ticks_are_tsc = 1;

struct file_header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t header_size;  // sizeof(file_header) for version 1; readers skip the rest
  std::uint64_t node;         // the actor_system's node id
  std::uint64_t pid;
  std::uint64_t flags;
  std::uint64_t reserved;
};
static_assert(sizeof(file_header) == 48);

struct block_header {
  std::uint32_t magic;    // block_magic
  std::uint32_t size;     // bytes of records after this header
  std::uint32_t thread;   // the writing thread's slot (0: the recorder's writer thread)
  std::uint32_t dropped;  // records this thread dropped (buffer full) since its previous block
};
static_assert(sizeof(block_header) == 16);

enum class kind : std::uint8_t {
  padding = 0,      // skip (reserved: the recorder writes none today)
  clock = 1,        // clock_record
  type_def = 2,     // type_def_record: a message type's name
  spawn = 3,        // actor_record + the actor's type name
  name = 4,         // actor_record + the name the user gave it (actor_base::set_name)
  handled = 5,      // a run: one message (or continuation, resumption, signal); run_head + fields
  exit = 6,         // actor_record (+ reason text); flags: exit_category
  dead_letter = 7,  // dead_letter_record
  reply = 8,        // reply_record
  timeout = 9,      // reply_record whose request timed out (code: errc::timeout)
  suspend = 10,     // point_record: a handler coroutine suspended (cause: its current run)
  timer_armed = 11, // timer_record
  timer_fired = 12, // timer_record (flags 1: cancelled at shutdown)
  thread_name = 13, // string_record: the writing thread's name ("worker-0", "main", ...)
  unobserved = 14,  // point_record + the error's text: a failed future dropped unread; flags: errc
};

struct record_header {
  kind k;
  std::uint8_t flags;
  std::uint16_t size;  // the whole record, header included; a multiple of 8
  std::uint32_t aux;   // per kind (string length, mailbox depth, error code...)
};
static_assert(sizeof(record_header) == 8);

/// Text follows some records: aux bytes of it, then zero padding up to a multiple of 8.
inline constexpr std::size_t padded(std::size_t n) noexcept { return (n + 7) & ~std::size_t{7}; }

struct clock_record {
  record_header h;
  std::uint64_t ticks;
  std::uint64_t steady_ns;
  std::uint64_t realtime_ns;  // since the Unix epoch
};

/// aux = length of the name that follows.
struct type_def_record {
  record_header h;
  std::uint64_t type;  // the key handled and dead-letter records use
};

/// spawn, name, exit. aux = length of the text that follows (type name, given name, reason).
struct actor_record {
  record_header h;
  std::uint64_t ts;
  std::uint64_t actor;
  std::uint64_t other;  // spawn: the spawning actor (0: none); exit: the run it ended in
};

/// exit records: flags
enum class exit_category : std::uint8_t { normal = 0, unreferenced, shutdown, error, killed, other };

/// handled_record::ekind: what ran.
enum class run_kind : std::uint8_t {
  message = 0,       // a message (flags & request_flag: a request)
  continuation = 1,  // a future's continuation (then/when_all...), typically a reply arriving
  resume = 2,        // a suspended coroutine resuming (co_await completed)
  unreferenced = 3,
  idle_check = 4,
  shutdown = 5,
  exit_signal = 6,
  down_signal = 7,
  link = 8,
  unlink = 9,
  monitor = 10,
  demonitor = 11,
  kill = 12,
};

/// Run records: h.flags
inline constexpr std::uint8_t request_flag = 1;        // the message is a request
inline constexpr std::uint8_t remote_sender_flag = 2;  // `sender` is an actor of another node
inline constexpr std::uint8_t threw_flag = 4;          // the handler threw (the actor failed)

/// One run on an actor, as readers see it (decoded from its run record, see run_codec):
/// h.aux = the mailbox depth at its start, itself included.
struct handled_record {
  record_header h;
  std::uint32_t depth_left;  // ordinary messages still queued when this run started
  std::uint8_t ekind;        // run_kind
  std::uint8_t pad[3];
  std::uint64_t id;
  std::uint64_t trace;
  std::uint64_t cause;   // the run that sent it (0: sent from outside any traced run)
  std::uint64_t actor;
  std::uint64_t sender;  // 0: none
  std::uint64_t type;    // a type_def key; 0 for signals, continuations and resumptions
  std::uint64_t sent;    // ticks when it was enqueued
  std::uint64_t start;   // ticks when the run started
  std::uint64_t end;     // ticks when it returned
};
static_assert(sizeof(handled_record) == 88);

/// On disk a run is compact (kind::handled): this 24-byte head, then only the fields that the
/// previous run record of the same thread (same block_header::thread, in file order) does not
/// imply, as u64s in the order of the `present` bits below. Implied values:
///   id     the previous run's id + 1        trace  the previous run's trace
///   cause  the previous run's id            actor  the previous run's actor (or its sender, a_swap)
///   sender the previous sender (or the previous actor, s_swap)    type  the previous type
///   start  the previous run's end           sent = start - wait      end = start + run
/// The first run of a thread, and the first after the thread dropped records, has `reset`: the
/// previous run counts as all zeros. A ping-pong run is 24 bytes instead of 88.
struct run_head {
  record_header h;  // kind handled; flags: request_flag...; aux: depth at the start
  std::uint8_t ekind;
  std::uint8_t present;   // run_present bits
  std::uint8_t present2;  // run_present2 bits
  std::uint8_t reserved;
  std::uint32_t wait;        // start - sent, in ticks (unless p2_sent)
  std::uint32_t run;         // end - start, in ticks (unless p2_end)
  std::uint32_t depth_left;
};
static_assert(sizeof(run_head) == 24);

namespace run_present {
inline constexpr std::uint8_t id = 1, trace = 2, cause = 4, actor = 8, a_swap = 16, sender = 32, s_swap = 64,
                              type = 128;
}
namespace run_present2 {
inline constexpr std::uint8_t start = 1, sent = 2, end = 4, reset = 8;
}

/// Encodes and decodes run records for one thread's sequence (one codec per thread slot).
class run_codec {
 public:
  static constexpr std::size_t max_size = sizeof(run_head) + 9 * 8;

  /// Writes `r` (h.flags, h.aux, depth_left, ekind and the fields) into `out`; returns its size.
  /// `reset`: the previous run is not known to the reader (first record, or records dropped).
  std::size_t encode(const handled_record& r, bool reset, unsigned char* out) noexcept {
    if (reset) prev_ = {};
    std::uint8_t present = 0;
    std::uint8_t present2 = reset ? run_present2::reset : 0;
    std::uint32_t wait = 0, run = 0;
    unsigned char* p = out + sizeof(run_head);
    auto field = [&](std::uint8_t& bits, std::uint8_t bit, std::uint64_t v) {
      bits |= bit;
      std::memcpy(p, &v, 8);
      p += 8;
    };
    if (r.id != prev_.id + 1) field(present, run_present::id, r.id);
    if (r.trace != prev_.trace) field(present, run_present::trace, r.trace);
    if (r.cause != prev_.id) field(present, run_present::cause, r.cause);
    if (r.actor != prev_.actor) {
      if (r.actor == prev_.sender)
        present |= run_present::a_swap;
      else
        field(present, run_present::actor, r.actor);
    }
    if (r.sender != prev_.sender) {
      if (r.sender == prev_.actor)
        present |= run_present::s_swap;
      else
        field(present, run_present::sender, r.sender);
    }
    if (r.type != prev_.type) field(present, run_present::type, r.type);
    if (r.start != prev_.end) field(present2, run_present2::start, r.start);
    if (r.start < r.sent || r.start - r.sent > 0xffffffffu)
      field(present2, run_present2::sent, r.sent);
    else
      wait = static_cast<std::uint32_t>(r.start - r.sent);
    if (r.end < r.start || r.end - r.start > 0xffffffffu)
      field(present2, run_present2::end, r.end);
    else
      run = static_cast<std::uint32_t>(r.end - r.start);
    const auto size = static_cast<std::uint16_t>(p - out);
    // The head, field by field (one store each: no wide reload of a half-written struct).
    const record_header h{kind::handled, r.h.flags, size, r.h.aux};
    std::memcpy(out + offsetof(run_head, h), &h, sizeof h);
    out[offsetof(run_head, ekind)] = r.ekind;
    out[offsetof(run_head, present)] = present;
    out[offsetof(run_head, present2)] = present2;
    out[offsetof(run_head, reserved)] = 0;
    std::memcpy(out + offsetof(run_head, wait), &wait, 4);
    std::memcpy(out + offsetof(run_head, run), &run, 4);
    std::memcpy(out + offsetof(run_head, depth_left), &r.depth_left, 4);
    prev_ = r;
    return size;
  }

  /// Decodes the run record at `in` (`size` bytes, its header's size) into `r`; false if the
  /// record is malformed (shorter than its fields).
  bool decode(const unsigned char* in, std::size_t size, handled_record& r) noexcept {
    run_head h;
    if (size < sizeof h) return false;
    std::memcpy(&h, in, sizeof h);
    if (h.present2 & run_present2::reset) prev_ = {};
    const unsigned char* p = in + sizeof h;
    const unsigned char* end = in + size;
    bool ok = true;
    auto field = [&](std::uint64_t implied) {
      if (end - p < 8) {
        ok = false;
        return implied;
      }
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      p += 8;
      return v;
    };
    r = {};
    r.h = h.h;
    r.ekind = h.ekind;
    r.depth_left = h.depth_left;
    r.id = h.present & run_present::id ? field(0) : prev_.id + 1;
    r.trace = h.present & run_present::trace ? field(0) : prev_.trace;
    r.cause = h.present & run_present::cause ? field(0) : prev_.id;
    r.actor = h.present & run_present::actor ? field(0) : h.present & run_present::a_swap ? prev_.sender : prev_.actor;
    r.sender = h.present & run_present::sender ? field(0) : h.present & run_present::s_swap ? prev_.actor : prev_.sender;
    r.type = h.present & run_present::type ? field(0) : prev_.type;
    r.start = h.present2 & run_present2::start ? field(0) : prev_.end;
    r.sent = h.present2 & run_present2::sent ? field(0) : r.start - h.wait;
    r.end = h.present2 & run_present2::end ? field(0) : r.start + h.run;
    if (!ok) return false;
    prev_ = r;
    return true;
  }

 private:
  handled_record prev_{};
};

/// dead_letter_record: h.aux = dead_letter_reason
enum class dead_letter_reason : std::uint32_t { not_alive = 1, no_handler = 2, mailbox_full = 3, no_actor = 4, other = 5 };

struct dead_letter_record {
  record_header h;
  std::uint64_t ts;
  std::uint64_t actor;  // the receiver (0: an empty handle)
  std::uint64_t sender;
  std::uint64_t type;
  std::uint64_t trace;
  std::uint64_t cause;
};

/// reply and timeout: h.aux = the troupe::errc it completed with (0: a value). With
/// reply_left_flag in h.flags, a u64 follows the record (h.size says so): the nanoseconds that
/// were left before the requester's deadline when it was answered (0: none); without it the
/// request had no deadline (or the recorder is older).
inline constexpr std::uint8_t reply_left_flag = 1;
struct reply_record {
  record_header h;
  std::uint64_t ts;
  std::uint64_t actor;    // who answered (0: not an actor, e.g. the timer)
  std::uint64_t trace;
  std::uint64_t cause;    // the run that answered
  std::uint64_t request;  // the run that received the request (0: it never ran)
  std::uint64_t sent;     // ticks when the request was made
};

/// suspend; unobserved (flags: the troupe::errc; aux: the length of the error's text that follows).
struct point_record {
  record_header h;
  std::uint64_t ts;
  std::uint64_t actor;
  std::uint64_t trace;
  std::uint64_t cause;
};

/// timer_armed and timer_fired.
struct timer_record {
  record_header h;
  std::uint64_t ts;
  std::uint64_t id;     // the arming event's id (timer_fired refers to it)
  std::uint64_t actor;  // who armed it (0: not an actor)
  std::uint64_t trace;
  std::uint64_t cause;
  std::uint64_t delay_ns;  // armed: how long until it fires
};

/// thread_name: aux = length of the name that follows.
struct string_record {
  record_header h;
};

}  // namespace troupe::trace_format
