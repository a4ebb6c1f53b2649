// chrome: the k-way merge of the threads' runs, the reorder buffer, the flow rule and the JSON
// (see chrome.hpp for why it is built this way).
#include "chrome.hpp"

#include "format.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <ostream>
#include <queue>
#include <unordered_map>
#include <vector>

namespace troupe::trace_tool {

namespace {

/// The runs of one thread of one file, in the order that thread wrote them (by start: a thread
/// runs one handler at a time), read one block at a time.
class thread_cursor {
 public:
  thread_cursor(std::size_t file, trace_reader& reader, const std::vector<std::uint64_t>& blocks)
      : file_(file), reader_(&reader), blocks_(&blocks) {}

  /// Moves to the next run; false when the thread has no more.
  bool advance() {
    for (;;) {
      while (pos_ < b_.bytes.size()) {
        record_ref rec(b_.bytes.data() + pos_, 0);
        pos_ += rec.size();
        if (rec.kind() == tf::kind::handled) {
          head_ = rec.as<tf::handled_record>();
          return true;
        }
      }
      if (next_block_ == blocks_->size()) return false;
      reader_->read_at((*blocks_)[next_block_++], b_);
      pos_ = 0;
    }
  }
  const tf::handled_record& head() const noexcept { return head_; }
  std::size_t file() const noexcept { return file_; }

 private:
  std::size_t file_;
  trace_reader* reader_;
  const std::vector<std::uint64_t>* blocks_;
  std::size_t next_block_ = 0;
  block b_;
  std::size_t pos_ = 0;
  tf::handled_record head_{};
};

/// One event of the output, held in the reorder buffer until its turn.
struct event {
  std::int64_t ts = 0;   // ns on the shared timeline
  std::uint64_t seq = 0; // creation order: ties keep it (a slice before the flow end at its start)
  char ph = 'X';
  std::uint32_t pid = 0;
  std::uint32_t tid = 0;
  std::int64_t dur = 0;      // X
  std::uint64_t value = 0;   // C: mailbox depth; s, f: flow id
  std::size_t file = 0;      // X: the run, for its name and arguments
  tf::handled_record run{};
};

struct later {
  bool operator()(const event& a, const event& b) const noexcept {
    return a.ts != b.ts ? a.ts > b.ts : a.seq > b.seq;
  }
};

/// What the flow rule remembers of a recent run.
struct cached_run {
  std::uint64_t actor;
  std::uint32_t tid;
  std::uint64_t start;  // ticks
  std::uint64_t end;
};

struct track {
  std::uint32_t tid;
  std::int64_t depth = -1;  // the last mailbox depth written (-1: none yet)
};

class chrome_writer {
 public:
  chrome_writer(const trace_set& set, std::ostream& out, const chrome_options& opt)
      : set_(set), out_(out), window_(std::max<std::size_t>(opt.window, 1)), tracks_(set.files().size()),
        next_tid_(set.files().size(), 1), causes_(set.files().size()) {}

  chrome_stats run() {
    out_ << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    for (std::size_t fi = 0; fi < set_.files().size(); ++fi) {
      const file_info& f = set_.files()[fi];
      metadata(pid(fi), 0, "process_name",
               "node " + std::to_string(f.header.node) + " pid " + std::to_string(f.header.pid) + " (" + f.path + ")");
      metadata_sort(pid(fi), 0, "process_sort_index", fi);
    }
    merge();
    while (!pending_.empty()) release();
    out_ << "\n]}\n";
    return stats_;
  }

 private:
  static std::uint32_t pid(std::size_t file) noexcept { return static_cast<std::uint32_t>(file + 1); }

  void merge() {
    // One reader per file (its cursors share the descriptor), one cursor per thread.
    std::vector<trace_reader> readers;
    readers.reserve(set_.files().size());
    std::vector<std::unique_ptr<thread_cursor>> cursors;
    for (std::size_t fi = 0; fi < set_.files().size(); ++fi) {
      readers.emplace_back(set_.files()[fi].path);
      for (const auto& [slot, t] : set_.files()[fi].threads) cursors.push_back(std::make_unique<thread_cursor>(fi, readers.back(), t.blocks));
    }
    // The heap: the cursor whose next run starts first on the shared timeline.
    using entry = std::pair<std::int64_t, std::size_t>;  // (start ns, cursor)
    std::priority_queue<entry, std::vector<entry>, std::greater<>> heap;
    auto push = [&](std::size_t c) {
      if (cursors[c]->advance()) heap.emplace(set_.timeline_ns(cursors[c]->file(), cursors[c]->head().start), c);
    };
    for (std::size_t c = 0; c < cursors.size(); ++c) push(c);
    while (!heap.empty()) {
      const std::size_t c = heap.top().second;
      heap.pop();
      add_run(cursors[c]->file(), cursors[c]->head());
      push(c);
    }
  }

  void add_run(std::size_t fi, const tf::handled_record& r) {
    const std::int64_t start = set_.timeline_ns(fi, r.start);
    if (written_any_ && start < watermark_) {
      // Only a thread whose runs are out of order by more than the window gets here; writing
      // the run would break its track's order, so it is left out (and cannot be a cause).
      ++stats_.runs_out_of_order;
      return;
    }
    track& t = track_of(fi, r.actor);
    ++stats_.runs;

    event x;
    x.ts = start;
    x.ph = 'X';
    x.pid = pid(fi);
    x.tid = t.tid;
    x.dur = set_.timeline_ns(fi, end_ticks(r)) - start;
    x.file = fi;
    x.run = r;
    push(std::move(x));

    if (static_cast<std::int64_t>(r.depth_left) != t.depth) {
      t.depth = r.depth_left;
      event c;
      c.ts = start;
      c.ph = 'C';
      c.pid = pid(fi);
      c.tid = t.tid;
      c.value = r.depth_left;
      c.file = fi;
      c.run.actor = r.actor;
      push(std::move(c));
    }

    flow_to(fi, r, t.tid, start);
    remember(fi, r, t.tid);
    while (pending_.size() > window_) release();
  }

  /// The flow rule (chrome.hpp): an arrow only where both of its ends bind to a slice.
  void flow_to(std::size_t fi, const tf::handled_record& r, std::uint32_t tid, std::int64_t start) {
    // A message's arrow starts in its sender's run; a continuation's or a resumption's in the
    // run that completed what it waited for (a reply, on another actor): its cause.
    const bool message = r.ekind == static_cast<std::uint8_t>(tf::run_kind::message);
    if (r.cause == 0 || (message && (r.sender == 0 || (r.h.flags & tf::remote_sender_flag)))) return;
    auto it = causes_[fi].find(r.cause);
    if (it == causes_[fi].end()) {
      ++stats_.causes_unknown;
      return;
    }
    const cached_run& c = it->second;
    const std::uint64_t sent = sent_ticks(r);
    if ((message && c.actor != r.sender) || sent < c.start || sent > c.end) {
      ++stats_.causes_elsewhere;
      return;
    }
    const std::int64_t sent_ns = set_.timeline_ns(fi, sent);
    if (written_any_ && sent_ns < watermark_) {
      ++stats_.flows_too_late;
      return;
    }
    const std::uint64_t id = ++stats_.flows;
    event s;
    s.ts = sent_ns;
    s.ph = 's';
    s.pid = pid(fi);
    s.tid = c.tid;
    s.value = id;
    push(std::move(s));
    event f;
    f.ts = start;
    f.ph = 'f';
    f.pid = pid(fi);
    f.tid = tid;
    f.value = id;
    push(std::move(f));
  }

  void remember(std::size_t fi, const tf::handled_record& r, std::uint32_t tid) {
    causes_[fi][r.id] = {r.actor, tid, r.start, end_ticks(r)};
    fifo_.emplace_back(fi, r.id);
    if (fifo_.size() > window_) {
      causes_[fifo_.front().first].erase(fifo_.front().second);
      fifo_.pop_front();
    }
  }

  track& track_of(std::size_t fi, std::uint64_t actor) {
    auto [it, fresh] = tracks_[fi].try_emplace(actor, track{next_tid_[fi]});
    if (fresh) {
      ++next_tid_[fi];
      metadata(pid(fi), it->second.tid, "thread_name", set_.actor_name(set_.key(fi, actor)));
      metadata_sort(pid(fi), it->second.tid, "thread_sort_index", it->second.tid);
    }
    return it->second;
  }

  void push(event e) {
    e.seq = seq_++;
    pending_.push(std::move(e));
  }

  void release() {
    const event& e = pending_.top();
    watermark_ = e.ts;
    written_any_ = true;
    write(e);
    pending_.pop();
  }

  void separator() {
    if (!first_) out_ << ",\n";
    first_ = false;
  }

  void metadata(std::uint32_t p, std::uint32_t tid, const char* what, const std::string& name) {
    separator();
    out_ << "{\"ph\":\"M\",\"pid\":" << p << ",\"tid\":" << tid << ",\"name\":\"" << what
         << "\",\"args\":{\"name\":" << json_string(name) << "}}";
  }
  void metadata_sort(std::uint32_t p, std::uint32_t tid, const char* what, std::size_t index) {
    separator();
    out_ << "{\"ph\":\"M\",\"pid\":" << p << ",\"tid\":" << tid << ",\"name\":\"" << what
         << "\",\"args\":{\"sort_index\":" << index << "}}";
  }

  void write(const event& e) {
    separator();
    out_ << "{\"ph\":\"" << e.ph << "\",\"pid\":" << e.pid << ",\"tid\":" << e.tid << ",\"ts\":" << format_us(e.ts);
    switch (e.ph) {
      case 'X': {
        const tf::handled_record& r = e.run;
        const file_info& f = set_.files()[e.file];
        out_ << ",\"dur\":" << format_us(e.dur) << ",\"cat\":\"run\",\"name\":" << json_string(set_.run_label(e.file, r))
             << ",\"args\":{\"id\":" << r.id << ",\"trace\":" << r.trace << ",\"cause\":" << r.cause
             << ",\"sender\":" << json_string(set_.actor_name(set_.sender_key(e.file, r))) << ",\"sender_id\":" << r.sender
             << ",\"kind\":" << json_string(run_kind_name(r.ekind))
             << ",\"wait_us\":" << format_us(static_cast<std::int64_t>(f.clock.duration_ns(r.start - sent_ticks(r))))
             << ",\"depth\":" << r.h.aux << ",\"depth_left\":" << r.depth_left;
        if (r.h.flags & tf::request_flag) out_ << ",\"request\":true";
        if (r.h.flags & tf::remote_sender_flag) out_ << ",\"remote_sender\":true";
        if (r.h.flags & tf::threw_flag) out_ << ",\"threw\":true";
        out_ << "}}";
        break;
      }
      case 'C':
        out_ << ",\"name\":" << json_string("mailbox " + set_.actor_name(set_.key(e.file, e.run.actor)))
             << ",\"args\":{\"depth\":" << e.value << "}}";
        break;
      case 's': out_ << ",\"cat\":\"send\",\"name\":\"send\",\"id\":" << e.value << "}"; break;
      case 'f': out_ << ",\"bp\":\"e\",\"cat\":\"send\",\"name\":\"send\",\"id\":" << e.value << "}"; break;
      default: out_ << "}"; break;
    }
  }

  const trace_set& set_;
  std::ostream& out_;
  std::size_t window_;
  chrome_stats stats_;
  std::vector<std::unordered_map<std::uint64_t, track>> tracks_;  // per file: actor → track
  std::vector<std::uint32_t> next_tid_;
  std::vector<std::unordered_map<std::uint64_t, cached_run>> causes_;  // per file: run id → run
  std::deque<std::pair<std::size_t, std::uint64_t>> fifo_;              // (file, id), oldest first
  std::priority_queue<event, std::vector<event>, later> pending_;
  std::uint64_t seq_ = 0;
  std::int64_t watermark_ = 0;  // the ts of the last event written
  bool written_any_ = false;
  bool first_ = true;
};

}  // namespace

chrome_stats write_chrome(const trace_set& set, std::ostream& out, const chrome_options& opt) {
  return chrome_writer(set, out, opt).run();
}

}  // namespace troupe::trace_tool
