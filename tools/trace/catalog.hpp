// catalog: what every troupe-trace command needs to know before it reads the runs of a set of
// trace files: per file its header, clock, the block offsets of each thread and the events it
// dropped; per node the message type names and the actors' names.
//
// A type_def may come after the records that use its key (in another thread's block), and the
// tick rate is only known once clock records have been seen, so the commands make this cheap
// first pass over every file, then a second pass over the runs. The catalog's memory grows with
// the number of actors, types and blocks, never with the number of records.
//
// Actors are keyed by (node, actor id) across files: several files of one node (one process
// traced several times) share their actors; a remote sender is looked up among the other nodes.
#pragma once

#include "reader.hpp"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace troupe::trace_tool {

/// The node of a remote actor that none of the loaded files knows.
inline constexpr std::uint64_t unknown_node = std::numeric_limits<std::uint64_t>::max();

struct actor_key {
  std::uint64_t node = 0;
  std::uint64_t id = 0;  // 0: no actor (sent from outside any actor)
  friend auto operator<=>(const actor_key&, const actor_key&) = default;
};

struct actor_info {
  std::string type;  // from the spawn record
  std::string name;  // from the name record (what the user called it)
  bool exited = false;
  tf::exit_category exit = tf::exit_category::normal;
  std::string exit_reason;
};

struct node_info {
  std::unordered_map<std::uint64_t, std::string> types;
  std::unordered_map<std::uint64_t, actor_info> actors;
  std::unordered_map<std::string, std::uint32_t> name_uses;  // given name → actors that carry it
};

struct thread_info {
  std::vector<std::uint64_t> blocks;  // file offsets of this thread's blocks, in file order
  std::uint64_t dropped = 0;
  std::string name;  // from its thread_name record
};

struct file_info {
  std::string path;
  tf::file_header header{};
  tick_clock clock;
  std::map<std::uint32_t, thread_info> threads;  // by slot
  std::uint64_t dropped = 0;
  std::uint64_t runs = 0;
  std::uint64_t records = 0;
  // The earliest and latest tick of any event (a run's sent/start/end, a record's ts).
  std::uint64_t first_tick = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t last_tick = 0;
  std::optional<std::string> warning;  // the reader's truncation warning
};

/// The time a run's message was enqueued, never after its start (signals may carry no stamp).
inline std::uint64_t sent_ticks(const tf::handled_record& r) noexcept {
  return r.sent == 0 || r.sent > r.start ? r.start : r.sent;
}
/// The run's end, never before its start.
inline std::uint64_t end_ticks(const tf::handled_record& r) noexcept { return r.end < r.start ? r.start : r.end; }

/// The name of a run kind ("continuation", "exit_signal"...).
std::string run_kind_name(std::uint8_t ekind);
std::string exit_category_name(std::uint8_t category);
std::string dead_letter_reason_name(std::uint32_t reason);

class trace_set {
 public:
  /// Reads every file once (the catalog pass). Throws trace_error / std::system_error.
  static trace_set load(const std::vector<std::string>& paths);

  const std::vector<file_info>& files() const noexcept { return files_; }
  std::size_t node_count() const noexcept { return nodes_.size(); }
  std::uint64_t node_of(std::size_t file) const noexcept { return files_[file].header.node; }

  /// A message type's name, or "type#<key>" when no type_def names it.
  std::string type_name(std::size_t file, std::uint64_t type) const;
  /// What a run ran: its message type's name, or "(continuation)", "(exit_signal)"...
  std::string run_label(std::size_t file, const tf::handled_record& r) const;

  actor_key key(std::size_t file, std::uint64_t actor) const noexcept { return {node_of(file), actor}; }
  /// The sender of a run: on this node, or (remote_sender_flag) on the one other loaded node
  /// that knows an actor of that id; unknown_node when none or several do.
  actor_key sender_key(std::size_t file, const tf::handled_record& r) const;
  /// For display: the given name ("name#id" when several actors share it), else the spawn
  /// type as "type#id", else "actor#id"; "(outside)" for id 0. With several nodes loaded, the
  /// node follows ("worker#3@2").
  std::string actor_name(actor_key k) const;
  const actor_info* actor(actor_key k) const;

  /// A tick of a file on the timeline shared by all files: real-time nanoseconds since the
  /// earliest event of any file. Monotonic in ticks, so events keep their order.
  std::int64_t timeline_ns(std::size_t file, std::uint64_t ticks) const noexcept {
    return files_[file].clock.realtime_ns(ticks) - origin_ns_;
  }
  /// The real time of the earliest event (ns since the Unix epoch, when the files have clocks).
  std::int64_t origin_ns() const noexcept { return origin_ns_; }
  /// The latest event on the timeline.
  std::int64_t span_ns() const noexcept { return span_ns_; }

  /// Warnings gathered while loading (truncated files, an unknown tick rate).
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }

 private:
  void scan(std::size_t file, trace_reader& reader);

  std::vector<file_info> files_;
  std::map<std::uint64_t, node_info> nodes_;
  std::vector<std::string> warnings_;
  std::int64_t origin_ns_ = 0;
  std::int64_t span_ns_ = 0;
};

}  // namespace troupe::trace_tool
