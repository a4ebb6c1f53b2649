// summary: the second pass of troupe-trace summary (one block at a time, every file in file
// order: the statistics do not depend on the order of runs) and its text report.
#include "summary.hpp"

#include "format.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>

namespace troupe::trace_tool {

namespace {

void add_run(run_stats& s, const tf::handled_record& r, std::uint64_t handler_ns, std::uint64_t wait_ns) {
  ++s.runs;
  if (r.h.flags & tf::request_flag) ++s.requests;
  if (r.h.flags & tf::threw_flag) ++s.threw;
  s.peak_depth = std::max(s.peak_depth, r.h.aux);
  s.handler.add(handler_ns);
  s.wait.add(wait_ns);
}

/// Keeps the `n` slowest runs: a min-heap by handler time (ties: the smaller id is slower, so
/// that the output does not depend on the order of blocks).
class slowest_runs {
 public:
  explicit slowest_runs(std::size_t n) : n_(n) {}
  void offer(slow_run r) {
    if (heap_.size() == n_ && !faster(heap_.front(), r)) return;
    heap_.push_back(std::move(r));
    std::push_heap(heap_.begin(), heap_.end(), slower);
    if (heap_.size() > n_) {
      std::pop_heap(heap_.begin(), heap_.end(), slower);
      heap_.pop_back();
    }
  }
  std::vector<slow_run> take() && {
    std::sort(heap_.begin(), heap_.end(), slower);
    return std::move(heap_);
  }

 private:
  static bool slower(const slow_run& a, const slow_run& b) {
    if (a.handler_ns != b.handler_ns) return a.handler_ns > b.handler_ns;
    return std::tie(a.file, a.id) < std::tie(b.file, b.id);
  }
  static bool faster(const slow_run& a, const slow_run& b) { return slower(b, a); }
  std::size_t n_;
  std::vector<slow_run> heap_;  // heap_.front(): the fastest kept
};

}  // namespace

summary_result summarize(const trace_set& set) {
  summary_result s;
  slowest_runs slowest(summary_result::slowest_count);
  block b;
  for (std::size_t fi = 0; fi < set.files().size(); ++fi) {
    const file_info& f = set.files()[fi];
    s.dropped += f.dropped;
    trace_reader reader(f.path);
    while (reader.next(b)) {
      for (record_ref rec : b) {
        switch (rec.kind()) {
          case tf::kind::handled: {
            const auto r = rec.as<tf::handled_record>();
            const std::uint64_t handler_ns = f.clock.duration_ns(end_ticks(r) - r.start);
            const std::uint64_t wait_ns = f.clock.duration_ns(r.start - sent_ticks(r));
            const actor_key who = set.key(fi, r.actor);
            ++s.runs;
            add_run(s.actors[who], r, handler_ns, wait_ns);
            std::string label = set.run_label(fi, r);
            add_run(s.types[label], r, handler_ns, wait_ns);
            if (r.sender != 0) ++s.actors[set.sender_key(fi, r)].sent;
            slowest.offer({handler_ns, wait_ns, set.timeline_ns(fi, r.start), fi, who, std::move(label), r.id, r.trace,
                           r.h.flags});
            break;
          }
          case tf::kind::dead_letter: {
            const auto r = rec.as<tf::dead_letter_record>();
            const std::string type = set.type_name(fi, r.type);
            ++s.dead_letter_total;
            ++s.dead_letters[{set.key(fi, r.actor), type, rec.aux()}];
            ++s.types[type].dead_letters;
            if (r.sender != 0) ++s.actors[set.key(fi, r.sender)].dead_letters;
            break;
          }
          case tf::kind::reply:
          case tf::kind::timeout: {
            const auto r = rec.as<tf::reply_record>();
            if (rec.kind() == tf::kind::timeout)
              ++s.timeouts;
            else {
              ++s.replies;
              if (rec.aux() != 0) ++s.reply_errors;
            }
            if (r.sent != 0 && r.ts >= r.sent) s.request_latency.add(f.clock.duration_ns(r.ts - r.sent));
            break;
          }
          default: break;
        }
      }
    }
  }
  s.slowest = std::move(slowest).take();
  s.span_ns = set.span_ns();
  return s;
}

namespace {

/// p50, p99, max of a histogram, as three cells ("-" when it is empty).
void add_percentiles(std::vector<std::string>& row, const log_histogram& h) {
  if (h.count() == 0) {
    row.insert(row.end(), 3, "-");
    return;
  }
  row.push_back(format_ns(h.percentile(50)));
  row.push_back(format_ns(h.percentile(99)));
  row.push_back(format_ns(h.max()));
}

/// The rows, the most handler time in total first (then the most runs; actors that only
/// sent, types that only became dead letters, last).
template <class Map>
std::vector<typename Map::const_iterator> by_total_time(const Map& m) {
  std::vector<typename Map::const_iterator> rows;
  for (auto it = m.begin(); it != m.end(); ++it) rows.push_back(it);
  std::stable_sort(rows.begin(), rows.end(), [](auto a, auto b) {
    if (a->second.handler.sum() != b->second.handler.sum()) return a->second.handler.sum() > b->second.handler.sum();
    return a->second.runs > b->second.runs;
  });
  return rows;
}

void print_heading(std::ostream& out, const std::string& what, std::size_t shown, std::size_t total) {
  out << '\n' << what;
  if (shown < total) out << " (top " << shown << " of " << format_count(total) << " by total handler time; --top 0 for all)";
  out << '\n';
}

}  // namespace

void print_summary(const trace_set& set, const summary_result& s, std::ostream& out, const summary_options& opt) {
  out << "troupe trace summary: " << set.files().size() << (set.files().size() == 1 ? " file" : " files") << ", "
      << format_count(s.runs) << " runs over " << format_ns(static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.span_ns)))
      << '\n';
  for (const file_info& f : set.files()) {
    out << "  " << f.path << ": node " << f.header.node << ", pid " << f.header.pid << ", " << format_count(f.runs)
        << " runs, " << f.threads.size() << " threads, ticks: "
        << ((f.header.flags & tf::ticks_are_tsc) ? "TSC" : "steady ns");
    if (f.header.flags & tf::ticks_are_tsc) {
      char rate[32];
      std::snprintf(rate, sizeof rate, " (%.3f GHz)", 1.0 / f.clock.ns_per_tick());
      out << rate;
    }
    out << '\n';
  }
  for (const std::string& w : set.warnings()) out << "  warning: " << w << '\n';

  const std::size_t top = opt.top == 0 ? static_cast<std::size_t>(-1) : opt.top;

  auto actors = by_total_time(s.actors);
  const std::size_t actor_rows = std::min(actors.size(), top);
  print_heading(out, "Actors", actor_rows, actors.size());
  text_table at({"actor", "runs", "sent", "threw", "handler p50", "p99", "max", "wait p50", "p99", "max", "peak depth"});
  for (std::size_t i = 0; i < actor_rows; ++i) {
    const auto& [key, a] = *actors[i];
    std::vector<std::string> row{set.actor_name(key), format_count(a.runs), format_count(a.sent), format_count(a.threw)};
    add_percentiles(row, a.handler);
    add_percentiles(row, a.wait);
    row.push_back(format_count(a.peak_depth));
    at.add(std::move(row));
  }
  at.print(out);

  auto types = by_total_time(s.types);
  const std::size_t type_rows = std::min(types.size(), top);
  print_heading(out, "Message types", type_rows, types.size());
  text_table tt({"type", "runs", "requests", "threw", "handler p50", "p99", "max", "wait p50", "p99", "max", "peak depth"});
  for (std::size_t i = 0; i < type_rows; ++i) {
    const auto& [name, t] = *types[i];
    std::vector<std::string> row{name, format_count(t.runs), format_count(t.requests), format_count(t.threw)};
    add_percentiles(row, t.handler);
    add_percentiles(row, t.wait);
    row.push_back(format_count(t.peak_depth));
    tt.add(std::move(row));
  }
  tt.print(out);

  out << "\nSlowest handlers\n";
  text_table st({"#", "handler", "wait", "at", "actor", "message", "run id", "trace"}, "rrrrllrr");
  for (std::size_t i = 0; i < s.slowest.size(); ++i) {
    const slow_run& r = s.slowest[i];
    std::string label = r.label;
    if (r.flags & tf::request_flag) label += " (request)";
    if (r.flags & tf::threw_flag) label += " (threw)";
    st.add({std::to_string(i + 1), format_ns(r.handler_ns), format_ns(r.wait_ns), format_offset_ns(r.at_ns),
            set.actor_name(r.actor), label, std::to_string(r.id), std::to_string(r.trace)});
  }
  st.print(out);

  out << "\nRequests: " << format_count(s.replies) << " replies (" << format_count(s.reply_errors) << " errors), "
      << format_count(s.timeouts) << " timeouts";
  if (s.request_latency.count() > 0)
    out << "; latency p50 " << format_ns(s.request_latency.percentile(50)) << ", p99 "
        << format_ns(s.request_latency.percentile(99)) << ", max " << format_ns(s.request_latency.max());
  out << '\n';

  out << "\nDead letters: " << format_count(s.dead_letter_total) << '\n';
  if (!s.dead_letters.empty()) {
    std::vector<std::pair<std::uint64_t, decltype(s.dead_letters)::const_iterator>> rows;
    for (auto it = s.dead_letters.begin(); it != s.dead_letters.end(); ++it) rows.emplace_back(it->second, it);
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    text_table dt({"receiver", "type", "reason", "count"}, "lllr");
    for (const auto& [n, it] : rows) {
      const auto& [receiver, type, reason] = it->first;
      dt.add({receiver.id == 0 ? std::string("(empty handle)") : set.actor_name(receiver), type,
              dead_letter_reason_name(reason), format_count(n)});
    }
    dt.print(out);
  }

  out << "\nDropped events: " << format_count(s.dropped) << '\n';
  for (const file_info& f : set.files())
    for (const auto& [slot, t] : f.threads)
      if (t.dropped > 0)
        out << "  " << f.path << ": thread " << slot << (t.name.empty() ? "" : " (" + t.name + ")") << ": "
            << format_count(t.dropped) << '\n';
}

}  // namespace troupe::trace_tool
