// trace_recorder: rings, the writer thread, the file (see trace_recorder.hpp), and the hooks
// that header code calls (trace_hooks.hpp).
#include "trace_recorder.hpp"

#include "actor_internals.hpp"
#include "dead_letters.hpp"
#include "runtime_thread.hpp"

#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/detail/envelope.hpp>

#include <spdlog/logger.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <set>
#include <system_error>

#include <fcntl.h>
#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#define TROUPE_HAVE_TSC 1
#else
#define TROUPE_HAVE_TSC 0
#endif

namespace troupe::detail {

namespace fmt = trace_format;

#if TROUPE_TRACE_HOOKS
std::atomic<std::uint32_t> trace_recorders{0};
#endif

namespace {

/// The TSC is a usable trace clock when the CPU says it runs at a constant rate and does not
/// stop in idle states (Linux's constant_tsc and nonstop_tsc flags).
bool tsc_usable() {
#if TROUPE_HAVE_TSC
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0)
      return line.find(" constant_tsc") != std::string::npos && line.find(" nonstop_tsc") != std::string::npos;
  }
#endif
  return false;
}




std::atomic<std::uint64_t> next_generation{1};

/// Paths written in this process: a second system, even a later one, never overwrites the
/// first's file. Never destroyed: a traced system at namespace scope may use it before main and
/// after exit.
std::mutex& paths_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
std::set<std::string>& used_paths() {
  static auto* s = new std::set<std::string>;
  return *s;
}

std::string node_hex(node_id n) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(n.value));
  return buf;
}

void replace_all(std::string& s, std::string_view what, const std::string& with) {
  for (std::size_t at = 0; (at = s.find(what, at)) != std::string::npos; at += with.size()) s.replace(at, what.size(), with);
}

}  // namespace

std::atomic<bool> trace_use_tsc{false};

std::uint64_t trace_steady_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}



// -- the ring -----------------------------------------------------------------------------------

trace_ring::trace_ring(trace_recorder& owner, std::size_t bytes, std::uint32_t slot)
    : owner_(owner), data_(new std::byte[bytes]), cap_(bytes), slot_(slot), thread_(std::this_thread::get_id()) {}

void trace_ring::copy_in(std::uint64_t at, const void* src, std::size_t n) noexcept {
  const std::size_t off = at & (cap_ - 1);
  const std::size_t first = std::min(n, cap_ - off);
  std::memcpy(data_.get() + off, src, first);
  if (first < n) std::memcpy(data_.get(), static_cast<const std::byte*>(src) + first, n - first);
}

void trace_ring::drop() noexcept {
  dropped_.fetch_add(1, std::memory_order_relaxed);
  reset_runs_ = true;  // the reader will not see the run this codec state describes
  // The type_defs this thread wrote may be the ones lost: write them again when next used.
  std::fill(std::begin(types_seen_), std::end(types_seen_), nullptr);
  owner_.wake_writer();
}

bool trace_ring::put(const void* fixed, std::size_t size, std::string_view text, bool count_drop) noexcept {
  const std::size_t total = size + fmt::padded(text.size());
  const std::uint64_t h = head_local_;
  if (h + total - tail_seen_ > cap_ / 2) {
    // Over half full as far as this thread knows: see how far the writer got.
    tail_seen_ = tail_.load(std::memory_order_acquire);
    if (h + total - tail_seen_ > cap_) {
      if (count_drop) drop();
      return false;
    }
    if (h + total - tail_seen_ > cap_ / 2) owner_.wake_writer();  // drain now, not at the interval
  }
  copy_in(h, fixed, size);
  if (!text.empty()) {
    copy_in(h + size, text.data(), text.size());
    static constexpr std::byte zeros[8] = {};
    if (std::size_t pad = fmt::padded(text.size()) - text.size()) copy_in(h + size + text.size(), zeros, pad);
  }
  head_local_ = h + total;
  head_.store(head_local_, std::memory_order_release);
  return true;
}

bool trace_ring::type_key(const type_meta* t, std::uint64_t& key) noexcept {
  key = reinterpret_cast<std::uintptr_t>(t);
  if (!t) return true;
  const type_meta*& slot = types_seen_[(key >> 4) % type_cache_size];
  if (slot == t) return true;
  const std::string_view name = t->name.substr(0, 4096);
  fmt::type_def_record r{};
  r.h = {fmt::kind::type_def, 0, static_cast<std::uint16_t>(sizeof r + fmt::padded(name.size())),
         static_cast<std::uint32_t>(name.size())};
  r.type = key;
  if (!put(&r, sizeof r, name, false)) return false;  // metadata: not an event, not counted
  slot = t;
  return true;
}

// -- the recorder -------------------------------------------------------------------------------

std::string trace_recorder::resolve_path(const trace_config& cfg, node_id node) {
  std::string path = cfg.path;
  if (path.empty())
    if (const char* env = std::getenv("TROUPE_TRACE")) path = env;
  if (path.empty()) return path;
  replace_all(path, "{pid}", std::to_string(::getpid()));
  replace_all(path, "{node}", node_hex(node));
  return path;
}

trace_recorder::trace_recorder(const trace_config& cfg, std::string path, node_id node, spdlog::logger& log,
                               trace_observer* observer)
    : log_(log),
      observer_(observer),
      generation_(next_generation.fetch_add(1, std::memory_order_relaxed)),
      ring_bytes_(std::bit_ceil(std::clamp<std::size_t>(cfg.buffer_bytes, 64 * 1024, 64 * 1024 * 1024))),
      interval_(std::chrono::duration_cast<std::chrono::nanoseconds>(cfg.flush_interval)),
      sample_types_(cfg.sample_types),
      sample_actors_(cfg.sample_actors),
      sample_all_(cfg.sample_types.empty() && cfg.sample_actors.empty()) {
  if (!path.empty()) {
    std::lock_guard lock(paths_mutex());
    if (!used_paths().insert(path).second) {
      const std::string base = path + "-" + node_hex(node);
      path = base;
      for (int n = 2; !used_paths().insert(path).second; ++n) path = base + "-" + std::to_string(n);
    }
  }
  path_ = std::move(path);
  static const bool tsc = tsc_usable();  // decided once per process: every file agrees
  trace_use_tsc.store(tsc, std::memory_order_relaxed);
  if (!path_.empty()) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      const int err = errno;
      throw std::system_error(err, std::generic_category(), "troupe: cannot open trace file " + path_);
    }
    fmt::file_header h{};
    std::memcpy(h.magic, fmt::magic, sizeof h.magic);
    h.version = fmt::version;
    h.header_size = sizeof h;
    h.node = node.value;
    h.pid = static_cast<std::uint64_t>(::getpid());
    h.flags = tsc ? fmt::ticks_are_tsc : 0;
    iovec header{&h, sizeof h};
    write_all(&header, 1);
  }
  drain();  // the first clock record
  try {
    writer_ = std::thread([this] { writer_loop(); });
  } catch (...) {
    if (fd_ >= 0) ::close(fd_);
    throw;
  }
#if TROUPE_TRACE_HOOKS
  trace_recorders.fetch_add(1, std::memory_order_relaxed);
#endif
}

trace_recorder::~trace_recorder() { stop(); }


trace_ring& trace_recorder::ring_slow() {
  std::lock_guard lock(m_);
  const auto me = std::this_thread::get_id();
  for (auto& r : rings_)
    if (r->thread_ == me) {
      tls_trace_ring = {generation_, r.get()};  // this thread alternates between systems
      return *r;
    }
  rings_.push_back(std::make_unique<trace_ring>(*this, ring_bytes_, static_cast<std::uint32_t>(rings_.size() + 1)));
  trace_ring& r = *rings_.back();
  tls_trace_ring = {generation_, &r};
  char name[32] = "thread";
  pthread_getname_np(pthread_self(), name, sizeof name);
  const std::string_view text(name);
  fmt::string_record rec{};
  rec.h = {fmt::kind::thread_name, 0, static_cast<std::uint16_t>(sizeof rec + fmt::padded(text.size())),
           static_cast<std::uint32_t>(text.size())};
  r.put(&rec, sizeof rec, text, false);
  return r;
}

void trace_recorder::wake_writer() noexcept {
  if (wake_.load(std::memory_order_relaxed) || wake_.exchange(true, std::memory_order_relaxed)) return;
  // Through the lock: the writer checks the flag and goes to sleep under it, so the notify
  // cannot fall between the two.
  { std::lock_guard lock(m_); }
  cv_.notify_one();
}

void trace_recorder::writer_loop() {
  for (;;) {
    {
      std::unique_lock lock(m_);
      cv_.wait_for(lock, interval_, [&] { return stopping_ || wake_.load(std::memory_order_relaxed); });
      if (stopping_) return;
      if (hold_) {
        wake_.store(false, std::memory_order_relaxed);
        continue;
      }
    }
    wake_.store(false, std::memory_order_relaxed);
    drain();
  }
}

void trace_recorder::stop() noexcept {
  {
    std::lock_guard lock(m_);
    if (stopped_) return;
    stopped_ = stopping_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
#if TROUPE_TRACE_HOOKS
  trace_recorders.fetch_sub(1, std::memory_order_relaxed);
#endif
  drain();
  std::lock_guard lock(drain_m_);
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

void trace_recorder::write_all(iovec* at, int count) noexcept {
  std::size_t want = 0;
  for (int i = 0; i < count; ++i) want += at[i].iov_len;
  while (want > 0 && !write_failed_) {
    const ssize_t w = ::writev(fd_, at, count);
    if (w < 0) {
      if (errno == EINTR) continue;
      write_failed_ = true;
      log_.error("troupe: writing trace file {} failed ({}); tracing stops", path_, std::strerror(errno));
      return;
    }
    bytes_.fetch_add(static_cast<std::size_t>(w), std::memory_order_relaxed);
    want -= static_cast<std::size_t>(w);
    auto left = static_cast<std::size_t>(w);  // skip what was written, part of an iovec too
    while (count > 0 && left >= at->iov_len) {
      left -= at->iov_len;
      ++at;
      --count;
    }
    if (count > 0) {
      at->iov_base = static_cast<char*>(at->iov_base) + left;
      at->iov_len -= left;
    }
  }
}

void trace_recorder::drain() noexcept {
  std::lock_guard dl(drain_m_);
  const bool to_file = fd_ >= 0 && !write_failed_;
  if (!to_file && !observer_) return;
  // A clock record first (thread 0's block): it lets readers turn ticks into nanoseconds.
  struct {
    fmt::block_header b;
    fmt::clock_record c;
  } clock{};
  clock.b = {fmt::block_magic, sizeof(fmt::clock_record), 0, 0};
  clock.c.h = {fmt::kind::clock, 0, sizeof(fmt::clock_record), 0};
  clock.c.ticks = trace_ticks();
  clock.c.steady_ns = trace_steady_ns();
  clock.c.realtime_ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                       std::chrono::system_clock::now().time_since_epoch())
                                                       .count());
  iovec one{&clock, sizeof clock};
  if (to_file) write_all(&one, 1);

  std::vector<trace_ring*> rings;
  {
    std::lock_guard lock(m_);
    rings.reserve(rings_.size());
    for (auto& r : rings_) rings.push_back(r.get());
  }
  for (trace_ring* r : rings) {
    const std::uint32_t dropped = r->dropped_.exchange(0, std::memory_order_relaxed);
    const std::uint64_t head = r->head_.load(std::memory_order_acquire);
    const std::uint64_t tail = r->tail_.load(std::memory_order_relaxed);
    if (head == tail && dropped == 0) continue;
    dropped_.fetch_add(dropped, std::memory_order_relaxed);
    fmt::block_header b{fmt::block_magic, static_cast<std::uint32_t>(head - tail), r->slot_, dropped};
    const std::size_t off = tail & (r->cap_ - 1);
    const std::size_t n = head - tail;
    const std::size_t first = std::min(n, r->cap_ - off);
    iovec iov[3] = {{&b, sizeof b}, {r->data_.get() + off, first}, {r->data_.get(), n - first}};
    if (to_file && !write_failed_) write_all(iov, first < n ? 3 : 2);
    if (observer_) {
      const std::byte* records = r->data_.get() + off;
      if (first < n) {  // (wrapped: one contiguous copy, in a buffer the writer keeps)
        try {
          wrapped_.assign(records, records + first);
          wrapped_.insert(wrapped_.end(), r->data_.get(), r->data_.get() + (n - first));
          records = wrapped_.data();
        } catch (...) {  // out of memory: the observer is told it lost the block
          records = nullptr;
        }
      }
      observer_->on_block(r->slot_, dropped, records, records ? n : 0);
    }
    r->tail_.store(head, std::memory_order_release);
  }
  if (observer_) observer_->on_drained();
}

trace_recorder* trace_recorder::of(actor_system& sys) noexcept { return system_access::tracer(sys); }

trace_recorder* trace_recorder::current() noexcept {
  if (tls_current) return of(tls_current->system());
  if (actor_system* sys = runtime_system()) return of(*sys);
  return nullptr;
}

void trace_recorder::hold(bool on) noexcept {
  {
    std::lock_guard lock(m_);
    hold_ = on;
  }
  cv_.notify_one();
}

void trace_hold_writer(actor_system& sys, bool hold) noexcept {
  if (trace_recorder* t = trace_recorder::of(sys)) t->hold(hold);
}

trace_stats trace_recorder::stats() const {
  trace_stats s;
  s.enabled = true;
  s.path = path_;
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  return s;
}

bool trace_recorder::name_matches(const std::vector<std::string>& names, std::string_view n) noexcept {
  std::string_view last = n;
  if (auto at = n.rfind("::"); at != std::string_view::npos) last = n.substr(at + 2);
  for (auto& want : names)
    if (want == n || want == last) return true;
  return false;
}

bool trace_recorder::sample_root(const actor_base* sender, const type_meta* type) const noexcept {
  if (sample_all_) return true;
  if (type && name_matches(sample_types_, type->name)) return true;
  if (sender && !sample_actors_.empty()) {
    if (name_matches(sample_actors_, sender->name())) return true;
    try {
      if (name_matches(sample_actors_, actor_type_name(*sender))) return true;
    } catch (...) {
    }
  }
  return false;
}

}  // namespace troupe::detail

// -- events -------------------------------------------------------------------------------------

namespace troupe::detail {

#if TROUPE_TRACE_HOOKS

namespace {

template <class R>
void init_header(R& r, fmt::kind k, std::size_t text = 0, std::uint32_t aux = 0, std::uint8_t flags = 0) noexcept {
  r.h.k = k;
  r.h.flags = flags;
  r.h.size = static_cast<std::uint16_t>(sizeof(R) + fmt::padded(text));
  r.h.aux = text ? static_cast<std::uint32_t>(text) : aux;
}

/// Text of a record is cut to what the 16-bit record size can hold.
std::string_view clip(std::string_view s) noexcept { return s.substr(0, 4096); }

}  // namespace


void trace_recorder::stamp(envelope& e) noexcept {
  e.trace.sent = trace_ticks();
  e.trace_foreign = e.sender && e.sender.get() != tls_current;  // (then the run checks its node)
  if (const trace_context* c = context()) {
    e.trace.trace = c->trace;
    e.trace.cause = c->id;
  } else if (sample_all_ || (e.kind == envelope_kind::message && sample_root(tls_current, e.type))) {
    e.trace.trace = next_root_id();  // a new chain starts here
  }
  if (reply_sink* s = e.reply.sink(); s && s->trace.sent.load(std::memory_order_relaxed) == 0) {
    s->trace.trace.store(e.trace.trace, std::memory_order_relaxed);
    s->trace.cause.store(e.trace.cause, std::memory_order_relaxed);
    s->trace.sent.store(e.trace.sent, std::memory_order_relaxed);
  }
}

void trace_recorder::record_spawn(const actor_base& a) noexcept {
  try {
    std::string type = actor_type_name(a);
    fmt::actor_record r{};
    init_header(r, fmt::kind::spawn, clip(type).size());
    r.ts = trace_ticks();
    r.actor = a.id();
    r.other = tls_current ? tls_current->id() : 0;
    ring().put(&r, sizeof r, clip(type));
  } catch (...) {  // out of memory for the name: the spawn goes unrecorded
  }
}

void trace_recorder::record_name(const actor_base& a, std::string_view name) noexcept {
  fmt::actor_record r{};
  init_header(r, fmt::kind::name, clip(name).size());
  r.ts = trace_ticks();
  r.actor = a.id();
  ring().put(&r, sizeof r, clip(name));
}

void trace_recorder::record_exit(const actor_base& a, const exit_reason& reason) noexcept {
  try {
    fmt::exit_category cat = fmt::exit_category::other;
    switch (reason.code()) {
      case exit_code::normal: cat = fmt::exit_category::normal; break;
      case exit_code::shutdown: cat = fmt::exit_category::shutdown; break;
      case exit_code::kill: cat = fmt::exit_category::killed; break;
      case exit_code::error:
      case exit_code::exception: cat = fmt::exit_category::error; break;
    }
    std::string text = reason.is_normal() ? std::string() : reason.to_string();
    fmt::actor_record r{};
    init_header(r, fmt::kind::exit, clip(text).size(), 0, static_cast<std::uint8_t>(cat));
    r.ts = trace_ticks();
    r.actor = a.id();
    const trace_context* c = context();
    r.other = c ? c->id : 0;
    ring().put(&r, sizeof r, clip(text));
  } catch (...) {
  }
}

void trace_recorder::record_unobserved(std::uint32_t code, std::string_view text) noexcept {
  fmt::point_record r{};
  init_header(r, fmt::kind::unobserved, clip(text).size(), 0, static_cast<std::uint8_t>(code));
  r.ts = trace_ticks();
  r.actor = tls_current ? tls_current->id() : 0;
  if (const trace_context* c = context()) {
    r.trace = c->trace;
    r.cause = c->id;
  }
  ring().put(&r, sizeof r, clip(text));
}

void trace_recorder::record_dead_letter(const abstract_actor* receiver, const envelope& e,
                                        fmt::dead_letter_reason why) noexcept {
  trace_ring& ring = this->ring();
  fmt::dead_letter_record r{};
  init_header(r, fmt::kind::dead_letter, 0, static_cast<std::uint32_t>(why));
  r.ts = trace_ticks();
  r.actor = receiver ? receiver->id() : 0;
  r.sender = e.sender.id();
  r.trace = e.trace.trace;
  r.cause = e.trace.cause;
  if (ring.type_key(e.type, r.type))
    ring.put(r);
  else
    ring.drop();
}

void trace_recorder::record_arm(timer_node& n, duration delay) noexcept {
  const trace_context* c = context();
  if (n.trace_quiet) {  // a request's timeout: fires in the requester's context
    n.trace_trace = c ? c->trace : 0;
    n.trace_cause = c ? c->id : 0;
    return;
  }
  trace_ring& ring = this->ring();
  fmt::timer_record r{};
  init_header(r, fmt::kind::timer_armed);
  r.ts = trace_ticks();
  r.id = ring.next_id();
  r.actor = tls_current ? tls_current->id() : 0;
  r.trace = c ? c->trace : sample_all_ ? r.id : 0;
  r.cause = c ? c->id : 0;
  r.delay_ns = static_cast<std::uint64_t>(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count()));
  n.trace_trace = r.trace;
  n.trace_cause = r.id;
  if (r.trace) ring.put(r);
}

void trace_recorder::record_fire(const timer_node& n, bool cancelled) noexcept {
  if (n.trace_quiet || !n.trace_trace) return;
  fmt::timer_record r{};
  init_header(r, fmt::kind::timer_fired, 0, 0, cancelled ? 1 : 0);
  r.ts = trace_ticks();
  r.id = n.trace_cause;
  r.trace = n.trace_trace;
  r.cause = n.trace_cause;
  ring().put(r);
}

void trace_recorder::record_reply(fmt::kind k, const reply_sink& s, std::uint32_t code) noexcept {
  const trace_context* c = context();
  fmt::reply_record r{};
  init_header(r, k, 0, code);
  r.ts = trace_ticks();
  r.actor = tls_current ? tls_current->id() : 0;
  constexpr auto relaxed = std::memory_order_relaxed;
  const std::uint64_t request_trace = s.trace.trace.load(relaxed);
  r.trace = request_trace ? request_trace : c ? c->trace : 0;
  if (!r.trace) return;  // not sampled
  r.cause = k == fmt::kind::timeout ? s.trace.cause.load(relaxed) : c ? c->id : 0;
  r.request = s.trace.request.load(relaxed);
  r.sent = s.trace.sent.load(relaxed);
  // What was left of the requester's time (the inspector's slow-request lint).
  const time_point deadline = s.deadline();
  actor_system* sys = tls_current ? &tls_current->system() : runtime_system();
  if (deadline == time_point::max() || !sys) return void(ring().put(r));
  struct {
    fmt::reply_record r;
    std::uint64_t left_ns;
  } with_left{r, 0};
  const time_point now = sys->timers().now();
  with_left.left_ns = deadline > now ? static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count()) : 0;
  with_left.r.h.flags |= fmt::reply_left_flag;
  with_left.r.h.size = sizeof with_left;
  ring().put(with_left);
}

void trace_reply(reply_sink& s, std::uint32_t code) noexcept {
  if (s.completed()) return;  // the requester already has its outcome: this one is dropped
  if (trace_recorder* rec = trace_recorder::current()) rec->record_reply(fmt::kind::reply, s, code);
}

void trace_timeout(reply_sink& s) noexcept {
  if (s.completed()) return;
  if (trace_recorder* rec = trace_recorder::current()) rec->record_reply(fmt::kind::timeout, s, static_cast<std::uint32_t>(errc::timeout));
}

void trace_suspend() noexcept {
  if (!tls_current) return;
  if (trace_recorder* rec = trace_recorder::of(tls_current->system())) {
    const trace_context* c = rec->context();
    if (!c) return;
    fmt::point_record r{};
    init_header(r, fmt::kind::suspend);
    r.ts = trace_ticks();
    r.actor = tls_current->id();
    r.trace = c->trace;
    r.cause = c->id;
    rec->ring().put(r);
  }
}

#else   // the hooks are compiled out: nothing calls these but dead branches

void trace_reply(reply_sink&, std::uint32_t) noexcept {}
void trace_timeout(reply_sink&) noexcept {}
void trace_suspend() noexcept {}

#endif  // TROUPE_TRACE_HOOKS

}  // namespace troupe::detail
