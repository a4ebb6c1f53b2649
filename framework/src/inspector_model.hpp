// inspector_model: what the inspector shows, kept up to date from the trace recorder's drains
// (trace_observer), on the recorder's writer thread. The threads being observed never see it:
// they only write records into their own rings, as tracing does, so observing them costs them
// no lock. Readers (the inspector's HTTP thread) take a snapshot under the model's own mutex.
//
// Times are nanoseconds of the steady clock (ticks are converted with a calibration taken at
// every drain). Memory is bounded: at most `max_actors` actors are followed one by one (the
// rest are only counted), the most recent exited actors are kept, edges only join followed
// actors, each followed actor keeps its last `recent_runs` runs, and dead letters and lints
// their last few. (Groups, one per actor type or name, are not retired.)
#pragma once

#include "trace_recorder.hpp"

#include <troupe/inspect.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace troupe::detail {

/// The buckets of a duration_histogram: quarter octaves, from 64 ns to about 4.6 minutes.
/// Bucket b holds (upper_edge(b - 1), upper_edge(b)].
struct duration_buckets {
  static constexpr int octaves = 32, per_octave = 4, first_octave = 6;  // 2^6 ns .. 2^38 ns
  static constexpr int count = octaves * per_octave + 2;                // + under and over
  static int bucket_of(std::uint64_t ns) noexcept;
  static std::uint64_t upper_edge(int bucket) noexcept;
};

/// Counts of durations in duration_buckets: a quantile is its bucket's upper edge, at most 25%
/// above the true value, and the Prometheus buckets are exact (their bounds are bucket edges).
/// `Count` is 32 bits for an actor's own (a bucket saturates at 2^32 - 1) and 64 for the
/// per-type groups that /metrics exports, whose buckets must keep counting.
template <class Count>
class basic_duration_histogram {
 public:
  void add(std::uint64_t ns) noexcept {
    Count& c = counts_[static_cast<std::size_t>(duration_buckets::bucket_of(ns))];
    if (c != std::numeric_limits<Count>::max()) ++c;
    ++count_;
    sum_ += ns;
    max_ = std::max(max_, ns);
  }
  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return max_; }
  std::uint64_t sum() const noexcept { return sum_; }
  /// The q-quantile (0 < q <= 1), in ns: the upper edge of the bucket it falls in (0: empty).
  std::uint64_t quantile(double q) const noexcept {
    if (count_ == 0) return 0;
    const auto want = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    for (int b = 0; b < duration_buckets::count; ++b) {
      seen += counts_[static_cast<std::size_t>(b)];
      if (seen >= want) return std::min(duration_buckets::upper_edge(b), max_);
    }
    return max_;
  }
  /// How many took at most `ns` (exact at bucket edges, which the Prometheus buckets are).
  std::uint64_t at_most(std::uint64_t ns) const noexcept {
    std::uint64_t n = 0;
    for (int b = 0; b < duration_buckets::count && duration_buckets::upper_edge(b) <= ns; ++b)
      n += counts_[static_cast<std::size_t>(b)];
    return n;
  }
  void merge(const basic_duration_histogram& o) noexcept {
    for (std::size_t b = 0; b < counts_.size(); ++b) {
      const Count room = std::numeric_limits<Count>::max() - counts_[b];
      counts_[b] = static_cast<Count>(counts_[b] + std::min<Count>(room, o.counts_[b]));
    }
    count_ += o.count_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
  }

 private:
  std::array<Count, duration_buckets::count> counts_{};
  std::uint64_t count_ = 0, max_ = 0, sum_ = 0;
};
using duration_histogram = basic_duration_histogram<std::uint32_t>;
using wide_duration_histogram = basic_duration_histogram<std::uint64_t>;

/// One run, as the detail view lists it.
struct inspected_run {
  std::uint64_t start_ns = 0;
  std::uint64_t wait_ns = 0;
  std::uint64_t run_ns = 0;
  std::uint64_t sender = 0;
  std::uint64_t type = 0;  // a type key (see inspector_model::type_name)
  std::uint32_t depth = 0;
  std::uint8_t kind = 0;   // trace_format::run_kind
  bool request = false;
  bool threw = false;
  bool remote = false;  // the sender is on another node (sender: 0)
};

struct inspected_actor {
  std::uint64_t id = 0;
  std::uint64_t parent = 0;  // the actor that spawned it (0: none)
  std::string type;
  std::string name;
  bool alive = true;
  std::string exit_reason;  // once it exited
  std::uint64_t spawned_ns = 0, exited_ns = 0, last_run_ns = 0;
  std::uint64_t last_start_ns = 0;  // (the latest run seen: runs come in ring order, not time order)
  std::uint32_t depth_now = 0, depth_peak = 0;
  std::uint64_t handled = 0, requests = 0, threw = 0, sent = 0, replies = 0;
  duration_histogram handler, wait;
  std::vector<std::uint64_t> children;  // (filled in snapshots, from the parents the spawns named)
  std::vector<std::uint64_t> links, monitors;
  std::deque<inspected_run> recent;
  // Mailbox growth: the depth seen at the last few ticks of the lint clock.
  std::array<std::uint32_t, 6> depth_ticks{};
  int depth_tick_count = 0;
};

struct inspected_edge {
  std::uint64_t from = 0, to = 0;
  std::uint64_t count = 0;
  std::uint64_t count_at_tick = 0;
  double per_second = 0;
};

struct inspected_dead_letter {
  std::uint64_t ts_ns = 0;
  std::uint64_t receiver = 0, sender = 0;
  std::string type;
  std::string reason;
};

struct inspected_lint {
  std::string kind;      // "slow_handler", "growing_mailbox", ...
  std::uint64_t actor = 0;  // 0: system-wide
  std::string detail;    // a sentence for people
  double value = 0;      // the figure that tripped it (ms, messages, per second...)
  std::uint64_t since_ns = 0, last_ns = 0;
};

/// A per actor type (or named actor) aggregate, for /metrics.
struct inspected_group {
  std::uint64_t actors = 0, running = 0, handled = 0;
  wide_duration_histogram handler, wait;
};

/// A copy of the model for one response.
struct inspector_snapshot {
  std::uint64_t now_ns = 0;
  std::uint64_t started_ns = 0;
  std::vector<inspected_actor> actors;   // followed actors (all, or one for a detail view)
  std::vector<inspected_edge> edges;
  std::vector<inspected_dead_letter> dead_letters;  // the most recent
  std::vector<inspected_lint> lints;     // active ones
  std::map<std::string, inspected_group> groups;
  std::uint64_t handled = 0, dead_letters_total = 0, spawned = 0, exited = 0, untracked = 0;
  std::uint64_t unobserved_failures = 0;
  std::uint64_t dropped_records = 0, lost_blocks = 0;  // what the model never saw
  double dead_letters_per_second = 0;
  std::unordered_map<std::uint64_t, std::string> type_names;  // for the runs' type keys
};

class inspector_model final : public trace_observer {
 public:
  /// Fed by a live recorder: ticks are calibrated against the steady clock.
  explicit inspector_model(const inspect_config& cfg);
  /// For tests: ticks are nanoseconds, and time is what on_drained_at() says (from `start_ns`).
  inspector_model(const inspect_config& cfg, std::uint64_t start_ns);

  void on_block(std::uint32_t thread, std::uint32_t dropped, const std::byte* records,
                std::size_t size) noexcept override;
  void on_drained() noexcept override;
  /// on_drained() at `now_ns` (the test clock).
  void on_drained_at(std::uint64_t now_ns) noexcept;

  /// What every view needs; `detail`: only that actor (with its recent runs), else every
  /// followed actor (without them).
  inspector_snapshot snapshot(std::uint64_t detail = 0) const;

  /// The model's clock now, in ns (the snapshot's time base): the steady clock, or the test's.
  std::uint64_t now_ns() const noexcept;

 private:
  void on_record(std::uint32_t thread, const std::byte* rec, std::size_t size);
  void on_run(const trace_format::handled_record& r);
  inspected_actor* follow(std::uint64_t id);
  std::uint64_t to_ns(std::uint64_t ticks) const noexcept;
  void calibrate() noexcept;
  void tick(std::uint64_t now);  // the lint clock (about once a second)
  void raise(std::string kind, std::uint64_t actor, std::string detail, double value, std::uint64_t now);
  inspected_group& group_of(const inspected_actor& a);
  void retire_exited();
  void apply_exit(inspected_actor& a, trace_format::exit_category cat, std::string text, std::uint64_t now);

  const inspect_config cfg_;
  mutable std::mutex m_;
  // Writer thread only (no lock needed, but kept under m_ where readers see the result).
  std::unordered_map<std::uint32_t, trace_format::run_codec> codecs_;
  std::unordered_map<std::uint32_t, bool> lost_;  // a thread whose runs cannot be decoded
  // Calibration: ticks to ns.
  std::uint64_t tick0_ = 0, ns0_ = 0;
  double ns_per_tick_ = 1.0;
  bool calibrated_ = false;
  bool tsc_ = false;
  bool manual_ = false;  // the test clock
  std::uint64_t manual_now_ = 0;

  std::uint64_t started_ns_;
  std::uint64_t last_tick_ns_ = 0;
  std::unordered_map<std::uint64_t, std::string> type_names_;
  std::unordered_map<std::uint64_t, inspected_actor> actors_;
  std::deque<std::uint64_t> exited_order_;  // followed actors that exited, oldest first
  std::map<std::pair<std::uint64_t, std::uint64_t>, inspected_edge> edges_;
  std::deque<inspected_dead_letter> dead_letters_;
  std::uint64_t dead_letters_total_ = 0, dead_letters_at_tick_ = 0;
  double dead_letters_per_second_ = 0;
  std::deque<inspected_lint> lints_;
  std::map<std::string, inspected_group> groups_;
  // Restart storms: per parent, when its children exited with an error recently.
  std::unordered_map<std::uint64_t, std::deque<std::uint64_t>> child_failures_;
  // Exits seen before their actor's spawn (drained from another thread's ring first).
  struct early_exit {
    trace_format::exit_category category;
    std::string text;
    std::uint64_t ns;
  };
  std::unordered_map<std::uint64_t, early_exit> early_exits_;
  std::deque<std::uint64_t> early_order_;
  std::uint64_t handled_ = 0, spawned_ = 0, exited_ = 0, untracked_ = 0, unobserved_ = 0;
  std::uint64_t dropped_ = 0, lost_blocks_ = 0;
};

}  // namespace troupe::detail
