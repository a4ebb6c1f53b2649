// follow: choosing the chain, collecting its records, building the cause tree (flat arrays, no
// recursion) and printing it.
#include "follow.hpp"

#include "format.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <ostream>
#include <stdexcept>
#include <unordered_map>
#include <variant>
#include <vector>

namespace troupe::trace_tool {

namespace {

constexpr std::size_t none = std::numeric_limits<std::size_t>::max();

/// One record of the chain.
struct item {
  std::size_t file = 0;
  tf::kind kind{};
  std::uint32_t aux = 0;
  std::uint64_t id = 0;     // runs and armed timers: what `cause` refers to
  std::uint64_t cause = 0;
  std::uint64_t when = 0;   // ticks: where it sits in its parent (a run: when it was sent)
  std::uint64_t shown = 0;  // ticks: the time printed (a run: its start)
  std::uint64_t until = 0;  // ticks: when it was over (a run: its end)
  std::variant<tf::handled_record, tf::reply_record, tf::point_record, tf::dead_letter_record, tf::timer_record> rec;
};

struct slowest_request {
  std::size_t file = 0;
  std::uint64_t trace = 0;
  std::uint64_t request = 0;  // the run that handled it
  std::uint64_t latency_ns = 0;
};

/// The reply with the largest latency among sampled requests.
std::optional<slowest_request> find_slowest_request(const trace_set& set) {
  std::optional<slowest_request> best;
  block b;
  for (std::size_t fi = 0; fi < set.files().size(); ++fi) {
    const file_info& f = set.files()[fi];
    trace_reader reader(f.path);
    while (reader.next(b)) {
      for (record_ref rec : b) {
        if (rec.kind() != tf::kind::reply) continue;
        const auto r = rec.as<tf::reply_record>();
        if (r.trace == 0 || r.sent == 0 || r.ts < r.sent) continue;
        const std::uint64_t ns = f.clock.duration_ns(r.ts - r.sent);
        if (!best || ns > best->latency_ns) best = slowest_request{fi, r.trace, r.request, ns};
      }
    }
  }
  return best;
}

/// An event at one moment (a reply, a timeout, a suspension, a dead letter) into `it`; its trace.
template <class R>
std::uint64_t point(item& it, const R& r) {
  it.cause = r.cause;
  it.when = it.shown = r.ts;
  it.rec = r;
  return r.trace;
}

/// The records of chain `trace` (of one file, or of all when `only_file` is none). Also finds
/// the chain of a run whose id is `run_id` (for an id given on the command line that is a run's).
void collect(const trace_set& set, std::uint64_t trace, std::size_t only_file, std::vector<item>& items,
             std::uint64_t run_id, std::optional<std::pair<std::size_t, std::uint64_t>>* run_trace) {
  block b;
  for (std::size_t fi = 0; fi < set.files().size(); ++fi) {
    if (only_file != none && fi != only_file) continue;
    trace_reader reader(set.files()[fi].path);
    while (reader.next(b)) {
      for (record_ref rec : b) {
        item it;
        it.file = fi;
        it.kind = rec.kind();
        it.aux = rec.aux();
        std::uint64_t t = 0;
        switch (rec.kind()) {
          case tf::kind::handled: {
            const auto r = rec.as<tf::handled_record>();
            if (run_trace && !*run_trace && r.id == run_id && r.trace != 0) *run_trace = std::pair{fi, r.trace};
            t = r.trace;
            it.id = r.id;
            it.cause = r.cause;
            it.when = sent_ticks(r);
            it.shown = r.start;
            it.until = end_ticks(r);
            it.rec = r;
            break;
          }
          case tf::kind::reply:
          case tf::kind::timeout: t = point(it, rec.as<tf::reply_record>()); break;
          case tf::kind::suspend: t = point(it, rec.as<tf::point_record>()); break;
          case tf::kind::dead_letter: t = point(it, rec.as<tf::dead_letter_record>()); break;
          case tf::kind::timer_armed:
          case tf::kind::timer_fired: {
            const auto r = rec.as<tf::timer_record>();
            t = r.trace;
            // A fired timer carries the arming's id: only the arming is what others refer to.
            if (rec.kind() == tf::kind::timer_armed) it.id = r.id;
            it.cause = rec.kind() == tf::kind::timer_armed ? r.cause : r.id;
            it.when = it.shown = r.ts;
            it.rec = r;
            break;
          }
          default: continue;
        }
        if (it.until == 0) it.until = it.shown;
        if (t == trace && trace != 0) items.push_back(std::move(it));
      }
    }
  }
}

struct file_id {
  std::size_t file;
  std::uint64_t id;
  bool operator==(const file_id&) const = default;
};
struct file_id_hash {
  std::size_t operator()(const file_id& k) const noexcept { return std::hash<std::uint64_t>()(k.id * 31 + k.file); }
};

class printer {
 public:
  printer(const trace_set& set, std::ostream& out, const follow_options& opt, std::int64_t origin,
          const std::optional<slowest_request>& marked)
      : set_(set), out_(out), opt_(opt), origin_(origin), marked_(marked) {}

  void line(const item& it, std::size_t depth) {
    ++lines_;
    if (opt_.limit != 0 && lines_ > opt_.limit) return;
    std::string time = format_offset_ns(set_.timeline_ns(it.file, it.shown) - origin_);
    std::string text(time.size() < 11 ? 11 - display_width(time) : 0, ' ');
    text += time + "  ";
    text += std::string(2 * std::min(depth, opt_.max_indent), ' ');
    if (depth > opt_.max_indent) text += "[depth " + std::to_string(depth) + "] ";
    text += describe(it);
    out_ << text << '\n';
  }

  std::size_t lines() const noexcept { return lines_; }

 private:
  std::string actor(std::size_t file, std::uint64_t id) const { return set_.actor_name(set_.key(file, id)); }
  std::string ns(std::size_t file, std::uint64_t ticks) const { return format_ns(set_.files()[file].clock.duration_ns(ticks)); }

  std::string describe(const item& it) const {
    const std::size_t f = it.file;
    if (const auto* r = std::get_if<tf::handled_record>(&it.rec)) {
      std::string s = actor(f, r->actor) + ": " + set_.run_label(f, *r);
      if (r->h.flags & tf::request_flag) s += " (request)";
      if (r->sender != 0) s += " from " + set_.actor_name(set_.sender_key(f, *r));
      s += "  wait " + ns(f, r->start - sent_ticks(*r)) + ", handler " + ns(f, end_ticks(*r) - r->start);
      s += "  [run " + std::to_string(r->id) + "]";
      if (r->h.flags & tf::threw_flag) s += "  THREW";
      if (marked_ && marked_->file == f && marked_->request == r->id && r->id != 0)
        s += "  <== slowest request (latency " + format_ns(marked_->latency_ns) + ")";
      return s;
    }
    if (const auto* r = std::get_if<tf::reply_record>(&it.rec)) {
      const std::string latency = r->sent != 0 && r->ts >= r->sent ? ns(f, r->ts - r->sent) : "?";
      const std::string to = r->request != 0 ? "run " + std::to_string(r->request) : "a request that never ran";
      if (it.kind == tf::kind::timeout) return "timeout: no answer to " + to + " after " + latency;
      std::string s = "reply" + (r->actor != 0 ? " from " + actor(f, r->actor) : std::string()) + " to " + to +
                      ", latency " + latency;
      if (it.aux != 0) s += " (error " + std::to_string(it.aux) + ")";
      return s;
    }
    if (const auto* r = std::get_if<tf::point_record>(&it.rec)) return actor(f, r->actor) + " suspends (co_await)";
    if (const auto* r = std::get_if<tf::dead_letter_record>(&it.rec))
      return "dead letter: " + set_.type_name(f, r->type) + " to " +
             (r->actor != 0 ? actor(f, r->actor) : std::string("an empty handle")) + " from " + actor(f, r->sender) +
             " (" + dead_letter_reason_name(it.aux) + ")";
    const auto& r = std::get<tf::timer_record>(it.rec);
    if (it.kind == tf::kind::timer_armed)
      return (r.actor != 0 ? actor(f, r.actor) : std::string("(outside)")) + " arms a timer of " + format_ns(r.delay_ns) +
             "  [timer " + std::to_string(r.id) + "]";
    return "timer " + std::to_string(r.id) + ((r.h.flags & 1) ? " cancelled at shutdown" : " fires");
  }

  const trace_set& set_;
  std::ostream& out_;
  const follow_options& opt_;
  std::int64_t origin_;
  const std::optional<slowest_request>& marked_;
  std::size_t lines_ = 0;
};

}  // namespace

void follow(const trace_set& set, std::ostream& out, const follow_options& opt) {
  // Which chain.
  std::optional<slowest_request> marked;
  std::uint64_t trace = 0;
  std::size_t only_file = none;
  std::vector<item> items;
  if (opt.id) {
    trace = *opt.id;
    std::optional<std::pair<std::size_t, std::uint64_t>> run_trace;
    collect(set, trace, none, items, *opt.id, &run_trace);
    if (items.empty() && run_trace) {  // the id of a run: follow its chain
      only_file = run_trace->first;
      trace = run_trace->second;
      collect(set, trace, only_file, items, 0, nullptr);
      out << "run " << *opt.id << " is in trace " << trace << '\n';
    }
    if (items.empty()) throw std::runtime_error("no record of trace " + std::to_string(*opt.id) + " (nor a sampled run of that id)");
  } else {
    marked = find_slowest_request(set);
    if (!marked) throw std::runtime_error("no sampled request was answered in this trace: give a trace id to follow");
    trace = marked->trace;
    only_file = marked->file;  // trace ids are unique within a file only
    collect(set, trace, only_file, items, 0, nullptr);
    out << "slowest request: latency " << format_ns(marked->latency_ns) << ", trace " << trace << '\n';
  }

  // The tree: parent by cause (within the record's file), children ordered by when they
  // happened in their parent, as flat arrays (children of i: kids[first[i] .. first[i+1])).
  const std::size_t n = items.size();
  std::unordered_map<file_id, std::size_t, file_id_hash> by_id;
  by_id.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    if (items[i].id != 0) by_id.try_emplace(file_id{items[i].file, items[i].id}, i);
  std::vector<std::size_t> parent(n, none);
  for (std::size_t i = 0; i < n; ++i) {
    if (items[i].cause == 0) continue;
    auto p = by_id.find(file_id{items[i].file, items[i].cause});
    if (p != by_id.end() && p->second != i) parent[i] = p->second;
  }
  std::vector<std::size_t> first(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i)
    if (parent[i] != none) ++first[parent[i] + 1];
  std::partial_sum(first.begin(), first.end(), first.begin());
  std::vector<std::size_t> kids(first[n]);
  {
    std::vector<std::size_t> fill(first.begin(), first.end() - 1);
    for (std::size_t i = 0; i < n; ++i)
      if (parent[i] != none) kids[fill[parent[i]]++] = i;
  }
  auto by_time = [&](std::size_t a, std::size_t b) {
    const std::int64_t ta = set.timeline_ns(items[a].file, items[a].when), tb = set.timeline_ns(items[b].file, items[b].when);
    return ta != tb ? ta < tb : a < b;
  };
  for (std::size_t i = 0; i < n; ++i) std::sort(kids.begin() + static_cast<std::ptrdiff_t>(first[i]), kids.begin() + static_cast<std::ptrdiff_t>(first[i + 1]), by_time);
  std::vector<std::size_t> roots;
  for (std::size_t i = 0; i < n; ++i)
    if (parent[i] == none) roots.push_back(i);
  std::sort(roots.begin(), roots.end(), by_time);

  std::int64_t origin = std::numeric_limits<std::int64_t>::max(), last = std::numeric_limits<std::int64_t>::min();
  for (const item& it : items) {
    origin = std::min(origin, set.timeline_ns(it.file, it.when));
    last = std::max(last, set.timeline_ns(it.file, it.until));
  }
  out << "trace " << trace << ": " << format_count(n) << " events over "
      << format_ns(static_cast<std::uint64_t>(std::max<std::int64_t>(0, last - origin))) << '\n';

  // Depth first, with an explicit stack: a chain can be far deeper than the call stack.
  printer print(set, out, opt, origin, marked);
  std::vector<bool> visited(n, false);
  std::vector<std::pair<std::size_t, std::size_t>> stack;  // (item, depth)
  std::size_t next_root = 0;
  for (;;) {
    if (stack.empty()) {
      while (next_root < roots.size() && visited[roots[next_root]]) ++next_root;
      if (next_root < roots.size()) {
        stack.emplace_back(roots[next_root++], 0);
      } else {
        // Records on a cycle of causes (a corrupt file) have no root: start from the earliest.
        std::size_t start = none;
        for (std::size_t i = 0; i < n; ++i)
          if (!visited[i] && (start == none || by_time(i, start))) start = i;
        if (start == none) break;
        stack.emplace_back(start, 0);
      }
    }
    const auto [i, depth] = stack.back();
    stack.pop_back();
    if (visited[i]) continue;
    visited[i] = true;
    print.line(items[i], depth);
    for (std::size_t k = first[i + 1]; k > first[i]; --k)  // reversed: the earliest child on top
      if (!visited[kids[k - 1]]) stack.emplace_back(kids[k - 1], depth + 1);
  }
  if (opt.limit != 0 && print.lines() > opt.limit)
    out << "... " << format_count(print.lines() - opt.limit) << " more lines (--limit 0 shows all)\n";
}

}  // namespace troupe::trace_tool
