#include "inspector_model.hpp"

#include <troupe/error.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

namespace troupe::detail {

namespace fmt = troupe::trace_format;

// -- duration_buckets ---------------------------------------------------------------------------

// A duration equal to an edge is counted at most that long, as Prometheus' `le` buckets count.
int duration_buckets::bucket_of(std::uint64_t ns) noexcept {
  if (ns <= (std::uint64_t{1} << first_octave)) return 0;
  const std::uint64_t v = ns - 1;
  const int octave = std::bit_width(v) - 1;  // 2^octave <= v < 2^(octave + 1)
  if (octave >= first_octave + octaves) return count - 1;
  const int quarter = static_cast<int>((v >> (octave - 2)) & 3);  // the two bits after the top one
  return 1 + (octave - first_octave) * per_octave + quarter;
}

std::uint64_t duration_buckets::upper_edge(int bucket) noexcept {
  if (bucket <= 0) return std::uint64_t{1} << first_octave;
  if (bucket >= count - 1) return UINT64_MAX;
  const int octave = first_octave + (bucket - 1) / per_octave;
  const int quarter = (bucket - 1) % per_octave;
  return (std::uint64_t{1} << octave) + (std::uint64_t{static_cast<unsigned>(quarter) + 1} << (octave - 2));
}

// -- the model ----------------------------------------------------------------------------------

namespace {
constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint64_t tick_every = 1'000 * ms;  // the lint clock
constexpr std::size_t kept_dead_letters = 100;
constexpr std::size_t kept_lints = 200;
constexpr std::size_t kept_early_exits = 10'000;
constexpr std::uint64_t lint_linger = 60'000 * ms;  // a lint stays shown this long after it last fired

std::uint64_t ns_of(duration d) { return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()); }

const char* dead_letter_reason_name(std::uint32_t why) {
  switch (static_cast<fmt::dead_letter_reason>(why)) {
    case fmt::dead_letter_reason::not_alive: return "not alive";
    case fmt::dead_letter_reason::no_handler: return "no handler";
    case fmt::dead_letter_reason::mailbox_full: return "mailbox full";
    case fmt::dead_letter_reason::no_actor: return "no actor";
    default: return "other";
  }
}

std::string ms_text(std::uint64_t ns) {  // "12.3 ms", "2.5 s"
  char buf[32];
  if (ns >= 1'000'000'000)
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ns) / 1e9);
  else
    std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(ns) / 1e6);
  return buf;
}
}  // namespace

std::uint64_t inspector_model::now_ns() const noexcept { return manual_ ? manual_now_ : trace_steady_ns(); }

inspector_model::inspector_model(const inspect_config& cfg)
    : cfg_(cfg), started_ns_(trace_steady_ns()), last_tick_ns_(started_ns_) {}

void inspector_model::calibrate() noexcept {
  // On the first drain: the recorder has decided by then whether ticks are the TSC's.
  calibrated_ = true;
  tsc_ = trace_use_tsc.load(std::memory_order_relaxed);
  if (!tsc_) return;
  tick0_ = trace_ticks();
  ns0_ = trace_steady_ns();
  // A first rate (refined at every drain over the whole run).
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const std::uint64_t t = trace_ticks(), now = trace_steady_ns();
  if (t > tick0_ && now > ns0_) ns_per_tick_ = static_cast<double>(now - ns0_) / static_cast<double>(t - tick0_);
}

inspector_model::inspector_model(const inspect_config& cfg, std::uint64_t start_ns)
    : cfg_(cfg), calibrated_(true), manual_(true), manual_now_(start_ns), started_ns_(start_ns), last_tick_ns_(start_ns) {}

std::uint64_t inspector_model::to_ns(std::uint64_t ticks) const noexcept {
  if (!tsc_) return ticks;
  const double d = (static_cast<double>(ticks) - static_cast<double>(tick0_)) * ns_per_tick_;
  return static_cast<std::uint64_t>(std::max(0.0, static_cast<double>(ns0_) + d));
}

void inspector_model::on_block(std::uint32_t thread, std::uint32_t dropped, const std::byte* records,
                               std::size_t size) noexcept {
  std::lock_guard lock(m_);
  if (!calibrated_) calibrate();
  if (!records) {
    lost_[thread] = true;
    ++lost_blocks_;
    return;
  }
  dropped_ += dropped;  // (a run after dropped records starts its codec afresh: run_present2::reset)
  try {
    for (std::size_t at = 0; at + sizeof(fmt::record_header) <= size;) {
      fmt::record_header h;
      std::memcpy(&h, records + at, sizeof h);
      if (h.size < sizeof h || at + h.size > size) break;  // (our own recorder's: cannot happen)
      on_record(thread, records + at, h.size);
      at += h.size;
    }
  } catch (...) {  // out of memory: the model misses what is left of the block, and the
    lost_[thread] = true;  // thread's runs until its codec starts afresh
  }
}

void inspector_model::on_drained() noexcept { on_drained_at(0); }

void inspector_model::on_drained_at(std::uint64_t at) noexcept {
  std::lock_guard lock(m_);
  if (!calibrated_) calibrate();
  // (The clock is read under the lock, next to the ticks: a reader holding it must not skew
  // the calibration.)
  const std::uint64_t now = manual_ ? at : trace_steady_ns();
  manual_now_ = now;
  if (tsc_) {  // recalibrate over the whole run so far
    const std::uint64_t t = trace_ticks();
    if (t > tick0_ && now > ns0_ + 10 * ms)
      ns_per_tick_ = static_cast<double>(now - ns0_) / static_cast<double>(t - tick0_);
  }
  if (now - last_tick_ns_ >= tick_every) {
    try {
      tick(now);
    } catch (...) {
    }
    last_tick_ns_ = now;
  }
}

inspected_actor* inspector_model::follow(std::uint64_t id) {
  if (id == 0) return nullptr;
  auto it = actors_.find(id);
  if (it != actors_.end()) return &it->second;
  return nullptr;
}

inspected_group& inspector_model::group_of(const inspected_actor& a) {
  return groups_[a.name.empty() ? a.type : a.name];
}

template <class R>
static R copy_record(const std::byte* rec) {
  R r;
  std::memcpy(&r, rec, sizeof r);
  return r;
}

static std::string_view text_after(const std::byte* rec, std::size_t size, std::size_t fixed, std::uint32_t n) {
  if (size <= fixed) return {};
  return {reinterpret_cast<const char*>(rec + fixed), std::min<std::size_t>(n, size - fixed)};
}

void inspector_model::on_record(std::uint32_t thread, const std::byte* rec, std::size_t size) {
  fmt::record_header h;
  std::memcpy(&h, rec, sizeof h);
  switch (h.k) {
    case fmt::kind::type_def: {
      if (size < sizeof(fmt::type_def_record)) return;
      auto r = copy_record<fmt::type_def_record>(rec);
      type_names_.try_emplace(r.type, text_after(rec, size, sizeof r, h.aux));
      return;
    }
    case fmt::kind::spawn: {
      if (size < sizeof(fmt::actor_record)) return;
      auto r = copy_record<fmt::actor_record>(rec);
      ++spawned_;
      if (actors_.size() >= cfg_.max_actors) {
        ++untracked_;
        return;
      }
      inspected_actor& a = actors_[r.actor];
      a.id = r.actor;
      a.parent = r.other;
      a.type = std::string(text_after(rec, size, sizeof r, h.aux));
      a.spawned_ns = to_ns(r.ts);
      auto& g = group_of(a);
      ++g.actors;
      ++g.running;
      if (auto e = early_exits_.find(r.actor); e != early_exits_.end()) {
        early_exit x = std::move(e->second);
        early_exits_.erase(e);
        apply_exit(a, x.category, std::move(x.text), x.ns);
      }
      return;
    }
    case fmt::kind::name: {
      if (size < sizeof(fmt::actor_record)) return;
      auto r = copy_record<fmt::actor_record>(rec);
      if (inspected_actor* a = follow(r.actor)) {
        auto& old = group_of(*a);
        --old.actors;
        if (a->alive) --old.running;
        a->name = std::string(text_after(rec, size, sizeof r, h.aux));
        auto& g = group_of(*a);
        ++g.actors;
        if (a->alive) ++g.running;
      }
      return;
    }
    case fmt::kind::exit: {
      if (size < sizeof(fmt::actor_record)) return;
      auto r = copy_record<fmt::actor_record>(rec);
      ++exited_;
      const auto cat = static_cast<fmt::exit_category>(h.flags);
      std::string text(text_after(rec, size, sizeof r, h.aux));
      if (inspected_actor* a = follow(r.actor)) return apply_exit(*a, cat, std::move(text), to_ns(r.ts));
      if (untracked_) return;  // (likely one of the actors not followed: not worth keeping)
      // Rings are drained one after the other: an actor's exit (on one thread) can come before
      // its spawn (on another). Kept until the spawn comes, for a while.
      early_exits_[r.actor] = early_exit{cat, std::move(text), to_ns(r.ts)};
      early_order_.push_back(r.actor);
      while (early_order_.size() > kept_early_exits) {
        early_exits_.erase(early_order_.front());
        early_order_.pop_front();
      }
      return;
    }
    case fmt::kind::dead_letter: {
      if (size < sizeof(fmt::dead_letter_record)) return;
      auto r = copy_record<fmt::dead_letter_record>(rec);
      ++dead_letters_total_;
      inspected_dead_letter d;
      d.ts_ns = to_ns(r.ts);
      d.receiver = r.actor;
      d.sender = r.sender;
      auto t = type_names_.find(r.type);
      d.type = t != type_names_.end() ? t->second : std::string();
      d.reason = dead_letter_reason_name(h.aux);
      dead_letters_.push_back(std::move(d));
      if (dead_letters_.size() > kept_dead_letters) dead_letters_.pop_front();
      return;
    }
    case fmt::kind::reply:
    case fmt::kind::timeout: {
      if (size < sizeof(fmt::reply_record)) return;
      auto r = copy_record<fmt::reply_record>(rec);
      inspected_actor* a = follow(r.actor);
      if (a && h.k == fmt::kind::reply) ++a->replies;
      if (!(h.flags & fmt::reply_left_flag) || size < sizeof r + 8 || r.sent == 0) return;
      std::uint64_t left = 0;
      std::memcpy(&left, rec + sizeof r, 8);
      const std::uint64_t at = to_ns(r.ts), sent = to_ns(r.sent);
      const std::uint64_t waited = at > sent ? at - sent : 0;
      const double total = static_cast<double>(waited) + static_cast<double>(left);
      if (total <= 0 || static_cast<double>(waited) <= cfg_.slow_request * total) return;
      const double share = static_cast<double>(waited) / total;
      char pct[16];
      std::snprintf(pct, sizeof pct, "%.0f%%", share * 100);
      if (h.k == fmt::kind::timeout)
        raise("slow_request", 0, "a request timed out after " + ms_text(waited) + " (its receiver did not answer in time)",
              share * 100, at);
      else
        raise("slow_request", r.actor,
              (a ? (a->name.empty() ? a->type : a->name) : std::string("an actor")) + " answered a request after " +
                  std::string(pct) + " of its timeout (" + ms_text(waited) + " of " +
                  ms_text(static_cast<std::uint64_t>(total)) + ")",
              share * 100, at);
      return;
    }
    case fmt::kind::unobserved: {
      if (size < sizeof(fmt::point_record)) return;
      auto r = copy_record<fmt::point_record>(rec);
      ++unobserved_;
      const inspected_actor* a = follow(r.actor);
      raise("unobserved_failure", r.actor,
            std::string("a future ") + (a ? "of " + (a->name.empty() ? a->type : a->name) + " " : std::string()) +
                "failed with \"" + std::string(text_after(rec, size, sizeof r, h.aux)) +
                "\" and was dropped without anyone looking at its result",
            1, to_ns(r.ts));
      return;
    }
    case fmt::kind::handled: {
      if (lost_[thread] && !(size >= sizeof(fmt::run_head) &&
                             (std::to_integer<std::uint8_t>(rec[offsetof(fmt::run_head, present2)]) & fmt::run_present2::reset)))
        return;  // (cannot be decoded after a lost block until the codec starts afresh)
      lost_[thread] = false;
      fmt::handled_record r;
      if (!codecs_[thread].decode(reinterpret_cast<const unsigned char*>(rec), size, r)) return;
      on_run(r);
      return;
    }
    default:
      return;
  }
}

void inspector_model::apply_exit(inspected_actor& a, fmt::exit_category cat, std::string text, std::uint64_t now) {
  if (!a.alive) return;
  a.alive = false;
  a.exited_ns = now;
  a.depth_now = 0;
  for (std::uint64_t peer : a.links)  // (its links break as it exits; its peers list it no more)
    if (inspected_actor* p = follow(peer)) std::erase(p->links, a.id);
  a.exit_reason = cat == fmt::exit_category::normal ? "normal" : text.empty() ? "abnormal" : std::move(text);
  --group_of(a).running;
  exited_order_.push_back(a.id);
  if ((cat == fmt::exit_category::error || cat == fmt::exit_category::killed) && a.parent) {
    auto& q = child_failures_[a.parent];
    q.push_back(now);
    std::sort(q.begin(), q.end());  // (exits from several threads come in any order)
    const std::uint64_t window = ns_of(cfg_.restart_window);
    while (!q.empty() && q.front() + window < q.back()) q.pop_front();
    if (q.size() >= cfg_.restart_storm) {
      const inspected_actor* p = follow(a.parent);
      raise("restart_storm", a.parent,
            std::to_string(q.size()) + " children of " + (p ? (p->name.empty() ? p->type : p->name) : "an actor") +
                " failed within " + ms_text(window) + " (a restart storm)",
            static_cast<double>(q.size()), now);
    }
  }
  retire_exited();
}

void inspector_model::on_run(const fmt::handled_record& r) {
  ++handled_;
  const auto kind = static_cast<fmt::run_kind>(r.ekind);
  // A remote sender's id is another node's: not one of ours (no edge, link or monitor).
  const bool remote = r.h.flags & fmt::remote_sender_flag;
  const std::uint64_t sender = remote ? 0 : r.sender;
  inspected_actor* a = follow(r.actor);
  if (sender && sender != r.actor && kind == fmt::run_kind::message) {
    if (inspected_actor* s = follow(sender)) {
      ++s->sent;
      if (a) {  // (edges between followed actors only: bounded with them)
        auto& e = edges_[{sender, r.actor}];
        e.from = sender;
        e.to = r.actor;
        ++e.count;
      }
    }
  }
  if (!a) return;
  const std::uint64_t start = to_ns(r.start);
  const std::uint64_t run_ns = r.end > r.start ? to_ns(r.end) - start : 0;
  const bool message = kind == fmt::run_kind::message;
  const std::uint64_t wait_ns = message && r.start > r.sent ? start - to_ns(r.sent) : 0;
  if ((kind == fmt::run_kind::link || kind == fmt::run_kind::unlink) && sender) {
    // A link is made (or undone) by one side, which tells the other: both list it.
    inspected_actor* other = follow(sender);
    std::erase(a->links, sender);
    if (other) std::erase(other->links, a->id);
    if (kind == fmt::run_kind::link) {
      a->links.push_back(sender);
      if (other) other->links.push_back(a->id);
    }
  } else if ((kind == fmt::run_kind::monitor || kind == fmt::run_kind::demonitor) && sender) {
    auto& m = a->monitors;  // who monitors this actor
    if (kind == fmt::run_kind::monitor) {
      m.push_back(sender);
    } else if (auto it = std::find(m.begin(), m.end(), sender); it != m.end()) {
      m.erase(it);  // (one demonitor undoes one monitor)
    }
  }
  ++a->handled;
  if (r.h.flags & fmt::request_flag) ++a->requests;
  if (r.h.flags & fmt::threw_flag) ++a->threw;
  // An actor runs on any worker, and each worker's ring is drained in turn: its runs come in
  // the order of their rings, not of time. The latest one says the depth now.
  if (start >= a->last_start_ns) {
    a->last_start_ns = start;
    a->last_run_ns = start + run_ns;
    a->depth_now = r.depth_left;
  }
  a->depth_peak = std::max(a->depth_peak, r.h.aux);
  a->handler.add(run_ns);
  if (message) a->wait.add(wait_ns);
  auto& g = group_of(*a);
  ++g.handled;
  g.handler.add(run_ns);
  if (message) g.wait.add(wait_ns);
  if (cfg_.recent_runs) {
    inspected_run x;
    x.start_ns = start;
    x.wait_ns = wait_ns;
    x.run_ns = run_ns;
    x.sender = sender;
    x.remote = remote;
    x.type = r.type;
    x.depth = r.h.aux;
    x.kind = r.ekind;
    x.request = r.h.flags & fmt::request_flag;
    x.threw = r.h.flags & fmt::threw_flag;
    auto at = a->recent.end();  // (in time order: see above)
    while (at != a->recent.begin() && std::prev(at)->start_ns > x.start_ns) --at;
    a->recent.insert(at, x);
    while (a->recent.size() > cfg_.recent_runs) a->recent.pop_front();
  }
  if (run_ns > ns_of(cfg_.slow_handler)) {
    auto t = type_names_.find(r.type);
    raise("slow_handler", a->id,
          "a handler of " + (a->name.empty() ? a->type : a->name) +
              (t != type_names_.end() ? " for " + t->second : std::string()) + " ran " + ms_text(run_ns) +
              ", blocking its worker",
          static_cast<double>(run_ns) / 1e6, start + run_ns);
  }
}

void inspector_model::raise(std::string kind, std::uint64_t actor, std::string detail, double value, std::uint64_t now) {
  for (auto& l : lints_)
    if (l.kind == kind && l.actor == actor) {
      l.detail = std::move(detail);
      l.value = std::max(l.value, value);
      l.last_ns = now;
      return;
    }
  inspected_lint l;
  l.kind = std::move(kind);
  l.actor = actor;
  l.detail = std::move(detail);
  l.value = value;
  l.since_ns = l.last_ns = now;
  lints_.push_back(std::move(l));
  if (lints_.size() > kept_lints) lints_.pop_front();
}

void inspector_model::tick(std::uint64_t now) {
  const double secs = static_cast<double>(now - last_tick_ns_) / 1e9;
  for (auto& [key, e] : edges_) {
    e.per_second = static_cast<double>(e.count - e.count_at_tick) / secs;
    e.count_at_tick = e.count;
  }
  dead_letters_per_second_ = static_cast<double>(dead_letters_total_ - dead_letters_at_tick_) / secs;
  dead_letters_at_tick_ = dead_letters_total_;
  if (dead_letters_per_second_ > cfg_.dead_letters_per_second) {
    char v[32];
    std::snprintf(v, sizeof v, "%.0f", dead_letters_per_second_);
    raise("dead_letters", 0, std::string(v) + " dead letters per second", dead_letters_per_second_, now);
  }
  const std::uint64_t idle_leak = ns_of(cfg_.idle_leak);
  for (auto& [id, a] : actors_) {
    if (!a.alive) continue;
    // Mailbox growth: the depth at each tick; growing at each of the last five, past the limit.
    if (a.depth_tick_count < static_cast<int>(a.depth_ticks.size())) {
      a.depth_ticks[static_cast<std::size_t>(a.depth_tick_count++)] = a.depth_now;
    } else {
      std::rotate(a.depth_ticks.begin(), a.depth_ticks.begin() + 1, a.depth_ticks.end());
      a.depth_ticks.back() = a.depth_now;
    }
    if (a.depth_tick_count == static_cast<int>(a.depth_ticks.size()) && a.depth_now > cfg_.growing_mailbox &&
        std::adjacent_find(a.depth_ticks.begin(), a.depth_ticks.end(), std::greater_equal<>()) == a.depth_ticks.end()) {
      raise("growing_mailbox", id,
            "the mailbox of " + (a.name.empty() ? a.type : a.name) + " grew at each of the last " +
                std::to_string(a.depth_ticks.size() - 1) + " seconds, to " + std::to_string(a.depth_now) +
                " messages (its senders outrun it)",
            a.depth_now, now);
    }
    if (a.handled > 0 && a.sent == 0 && a.replies == 0 && a.spawned_ns + idle_leak < now) {
      raise("idle_leak", id,
            (a.name.empty() ? a.type : a.name) + " has received " + std::to_string(a.handled) +
                " messages in " + ms_text(now - a.spawned_ns) +
                " but never sent or answered one, and has not exited (a likely leak)",
            static_cast<double>(a.handled), now);
    }
  }
  std::erase_if(lints_, [&](const inspected_lint& l) { return l.last_ns + lint_linger < now; });
  // Edges of actors no longer kept (swept here: one pass a second, not one per retirement).
  std::erase_if(edges_, [&](const auto& e) {
    return !actors_.count(e.first.first) || !actors_.count(e.first.second);
  });
  retire_exited();
}

void inspector_model::retire_exited() {
  while (exited_order_.size() > cfg_.keep_exited) {
    const std::uint64_t id = exited_order_.front();
    exited_order_.pop_front();
    auto it = actors_.find(id);
    if (it == actors_.end()) continue;
    auto& g = group_of(it->second);
    --g.actors;
    actors_.erase(it);
    child_failures_.erase(id);  // (its edges go at the next tick: see tick())
  }
}

inspector_snapshot inspector_model::snapshot(std::uint64_t detail) const {
  inspector_snapshot s;
  std::lock_guard lock(m_);
  s.now_ns = now_ns();
  s.started_ns = started_ns_;
  // Children come from the parents the spawns named (whichever order they were drained in).
  if (detail) {
    auto it = actors_.find(detail);
    if (it != actors_.end()) {
      s.actors.push_back(it->second);
      for (const auto& [id, a] : actors_)
        if (a.parent == detail) s.actors.back().children.push_back(id);
      std::sort(s.actors.back().children.begin(), s.actors.back().children.end());
    }
  } else {
    s.actors.reserve(actors_.size());
    for (const auto& [id, a] : actors_) {
      s.actors.push_back(a);
      s.actors.back().recent.clear();
    }
    std::sort(s.actors.begin(), s.actors.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
    for (const auto& a : s.actors) {
      auto p = std::lower_bound(s.actors.begin(), s.actors.end(), a.parent,
                                [](const inspected_actor& x, std::uint64_t id) { return x.id < id; });
      if (a.parent && p != s.actors.end() && p->id == a.parent) p->children.push_back(a.id);
    }
  }
  s.edges.reserve(edges_.size());
  for (const auto& [key, e] : edges_)
    if (actors_.count(e.from) && actors_.count(e.to)) s.edges.push_back(e);
  s.dropped_records = dropped_;
  s.lost_blocks = lost_blocks_;
  s.dead_letters.assign(dead_letters_.begin(), dead_letters_.end());
  s.lints.assign(lints_.begin(), lints_.end());
  s.groups = groups_;
  s.handled = handled_;
  s.dead_letters_total = dead_letters_total_;
  s.dead_letters_per_second = dead_letters_per_second_;
  s.spawned = spawned_;
  s.exited = exited_;
  s.untracked = untracked_;
  s.unobserved_failures = unobserved_;
  s.type_names = type_names_;
  return s;
}

}  // namespace troupe::detail
