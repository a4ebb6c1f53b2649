// reader: trace_reader (header and block validation, plain POSIX pread so that sequential and
// random block reads share one file descriptor) and tick_clock.
#include "reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <limits>
#include <system_error>
#include <utility>

namespace troupe::trace_tool {

std::size_t fixed_size(tf::kind k) noexcept {
  switch (k) {
    case tf::kind::clock: return sizeof(tf::clock_record);
    case tf::kind::type_def: return sizeof(tf::type_def_record);
    case tf::kind::spawn:
    case tf::kind::name:
    case tf::kind::exit: return sizeof(tf::actor_record);
    case tf::kind::handled: return sizeof(tf::run_head);  // on disk; decoded to a handled_record
    case tf::kind::dead_letter: return sizeof(tf::dead_letter_record);
    case tf::kind::reply:
    case tf::kind::timeout: return sizeof(tf::reply_record);
    case tf::kind::suspend:
    case tf::kind::unobserved: return sizeof(tf::point_record);
    case tf::kind::timer_armed:
    case tf::kind::timer_fired: return sizeof(tf::timer_record);
    case tf::kind::thread_name: return sizeof(tf::string_record);
    case tf::kind::padding: break;
  }
  return sizeof(tf::record_header);
}

bool has_text(tf::kind k) noexcept {
  switch (k) {
    case tf::kind::type_def:
    case tf::kind::spawn:
    case tf::kind::name:
    case tf::kind::exit:
    case tf::kind::thread_name:
    case tf::kind::unobserved: return true;
    default: return false;
  }
}

std::string kind_name(tf::kind k) {
  switch (k) {
    case tf::kind::padding: return "padding";
    case tf::kind::clock: return "clock";
    case tf::kind::type_def: return "type_def";
    case tf::kind::spawn: return "spawn";
    case tf::kind::name: return "name";
    case tf::kind::handled: return "handled";
    case tf::kind::exit: return "exit";
    case tf::kind::dead_letter: return "dead_letter";
    case tf::kind::reply: return "reply";
    case tf::kind::timeout: return "timeout";
    case tf::kind::suspend: return "suspend";
    case tf::kind::timer_armed: return "timer_armed";
    case tf::kind::timer_fired: return "timer_fired";
    case tf::kind::thread_name: return "thread_name";
    case tf::kind::unobserved: return "unobserved";
  }
  return "kind " + std::to_string(static_cast<unsigned>(k));
}

// -- trace_reader --------------------------------------------------------------------------------

trace_reader::trace_reader(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), path_);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int e = errno;
    ::close(fd_);
    throw std::system_error(e, std::generic_category(), path_);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd_);
    throw trace_error(path_ + ": is a directory");
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
  try {
    read_header();
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

void trace_reader::read_header() {
  // The magic first: a foreign file is "not a trace", whatever its length, unless it is a
  // prefix of a trace's header (the recorder died while writing it).
  char magic[sizeof tf::magic] = {};
  const std::size_t have = static_cast<std::size_t>(std::min<std::uint64_t>(size_, sizeof magic));
  if (have > 0) read_exact(0, magic, have);
  if (std::memcmp(magic, tf::magic, have) != 0) throw trace_error(path_ + ": not a troupe trace (bad magic)");
  if (size_ < sizeof header_ || !read_exact(0, &header_, sizeof header_))
    throw trace_error(path_ + ": truncated header (" + std::to_string(size_) + " bytes)");
  if (header_.version > tf::version)
    throw trace_error(path_ + ": trace version " + std::to_string(header_.version) + " is newer than this tool (" +
                      std::to_string(tf::version) + ")");
  if (header_.version == 0) throw trace_error(path_ + ": trace version 0 is not a valid version");
  if (header_.header_size < sizeof header_ || header_.header_size % 8 != 0)
    throw trace_error(path_ + ": corrupt header: header_size " + std::to_string(header_.header_size));
  if (header_.header_size > size_) throw trace_error(path_ + ": truncated header (" + std::to_string(size_) + " bytes)");
  pos_ = header_.header_size;
}

trace_reader::~trace_reader() {
  if (fd_ >= 0) ::close(fd_);
}

trace_reader::trace_reader(trace_reader&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      size_(other.size_),
      header_(other.header_),
      pos_(other.pos_),
      truncated_(other.truncated_),
      runs_(std::move(other.runs_)),
      runs_at_(std::move(other.runs_at_)) {}

bool trace_reader::read_exact(std::uint64_t at, void* dst, std::size_t n) const {
  auto* out = static_cast<char*>(dst);
  while (n > 0) {
    const ::ssize_t got = ::pread(fd_, out, n, static_cast<::off_t>(at));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), path_);
    }
    if (got == 0) return false;
    out += got;
    at += static_cast<std::uint64_t>(got);
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

void trace_reader::corrupt(std::uint64_t at, const std::string& what) const {
  throw trace_error(path_ + ": corrupt trace at byte " + std::to_string(at) + ": " + what);
}

bool trace_reader::next(block& b) {
  if (pos_ >= size_) return false;
  const std::uint64_t left = size_ - pos_;
  tf::block_header bh{};
  if (left < sizeof bh) {
    truncated_ = left;
    pos_ = size_;
    return false;
  }
  read_exact(pos_, &bh, sizeof bh);
  if (bh.magic != tf::block_magic) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", bh.magic);
    corrupt(pos_, std::string("bad block magic ") + hex);
  }
  if (bh.size % 8 != 0) corrupt(pos_, "block size " + std::to_string(bh.size) + " is not a multiple of 8");
  if (bh.size > max_block_size) corrupt(pos_, "block size " + std::to_string(bh.size) + " is implausibly large");
  if (bh.size > left - sizeof bh) {  // the process died while this block was being written
    truncated_ = left;
    pos_ = size_;
    return false;
  }
  read_at(pos_, b);
  pos_ += sizeof bh + bh.size;
  return true;
}

void trace_reader::read_at(std::uint64_t offset, block& b) {
  tf::block_header bh{};
  if (!read_exact(offset, &bh, sizeof bh)) corrupt(offset, "block header beyond the end of the file");
  if (bh.magic != tf::block_magic) corrupt(offset, "bad block magic");
  if (bh.size % 8 != 0 || bh.size > max_block_size) corrupt(offset, "bad block size");
  b.offset = offset;
  b.thread = bh.thread;
  b.dropped = bh.dropped;
  b.bytes.resize(bh.size);
  if (!read_exact(offset + sizeof bh, b.bytes.data(), bh.size)) corrupt(offset, "block runs past the end of the file");
  validate(b);
  decode_runs(b);
}

void trace_reader::decode_runs(block& b) {
  // The codec's state where this block starts: remembered if it was decoded before, else the
  // state its thread's previous block left.
  tf::run_codec codec;
  if (auto at = runs_at_.find(b.offset); at != runs_at_.end()) {
    codec = at->second;
  } else {
    thread_runs& t = runs_[b.thread];
    if (t.any && b.offset > t.last_offset) codec = t.codec;
    runs_at_.emplace(b.offset, codec);
  }
  bool has_runs = false;
  for (const record_ref r : b) has_runs |= r.kind() == tf::kind::handled;
  if (has_runs) {
    std::vector<std::byte> out;
    out.reserve(b.bytes.size() * 2);
    const std::uint64_t base = b.offset + sizeof(tf::block_header);
    for (const record_ref r : b) {
      const auto* raw = b.bytes.data() + (r.offset() - base);
      if (r.kind() != tf::kind::handled) {
        out.insert(out.end(), raw, raw + r.size());
        continue;
      }
      tf::handled_record d;
      if (!codec.decode(reinterpret_cast<const unsigned char*>(raw), r.size(), d))
        corrupt(r.offset(), "run record shorter than the fields it announces");
      d.h.size = sizeof d;
      const auto* p = reinterpret_cast<const std::byte*>(&d);
      out.insert(out.end(), p, p + sizeof d);
    }
    b.bytes = std::move(out);
  }
  thread_runs& t = runs_[b.thread];
  if (!t.any || b.offset > t.last_offset) {
    t.any = true;
    t.last_offset = b.offset;
    t.codec = codec;
  }
}

void trace_reader::validate(const block& b) const {
  const std::size_t n = b.bytes.size();
  const std::uint64_t base = b.offset + sizeof(tf::block_header);
  std::size_t pos = 0;
  while (pos < n) {
    if (n - pos < sizeof(tf::record_header)) corrupt(base + pos, "partial record header at the end of a block");
    tf::record_header h;
    std::memcpy(&h, b.bytes.data() + pos, sizeof h);
    const std::string where = kind_name(h.k) + " record (in the block at byte " + std::to_string(b.offset) + ")";
    if (h.size == 0) corrupt(base + pos, where + " has size 0");
    if (h.size % 8 != 0) corrupt(base + pos, where + " has size " + std::to_string(h.size) + ", not a multiple of 8");
    if (h.size > n - pos)
      corrupt(base + pos, where + " of " + std::to_string(h.size) + " bytes runs past its block (" +
                              std::to_string(n - pos) + " bytes left)");
    const std::size_t fixed = fixed_size(h.k);
    if (h.size < fixed)
      corrupt(base + pos, where + " has size " + std::to_string(h.size) + ", less than its fixed " + std::to_string(fixed));
    if (has_text(h.k) && fixed + h.aux > h.size)
      corrupt(base + pos, where + " has " + std::to_string(h.aux) + " bytes of text, more than it holds");
    pos += h.size;
  }
}

std::optional<std::string> trace_reader::warning() const {
  if (truncated_ == 0) return std::nullopt;
  return "truncated: " + std::to_string(truncated_) + " bytes after the last whole block ignored";
}

// -- tick_clock ----------------------------------------------------------------------------------

void tick_clock::add(const tf::clock_record& c) noexcept {
  if (count_ == 0) first_ = c;
  last_ = c;
  ++count_;
}

bool tick_clock::rate_known() const noexcept {
  if (count_ >= 2 && last_.ticks != first_.ticks) return true;
  return !tsc_;
}

double tick_clock::ns_per_tick() const noexcept {
  if (count_ >= 2 && last_.ticks > first_.ticks && last_.steady_ns >= first_.steady_ns)
    return static_cast<double>(last_.steady_ns - first_.steady_ns) / static_cast<double>(last_.ticks - first_.ticks);
  return 1.0;
}

std::uint64_t tick_clock::duration_ns(std::uint64_t ticks) const noexcept {
  const long double ns = static_cast<long double>(ticks) * ns_per_tick();
  if (ns >= static_cast<long double>(std::numeric_limits<std::uint64_t>::max())) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(std::llround(ns));
}

namespace {
/// Times from a file are untrusted: a corrupt clock record can put them anywhere. Clamped to
/// +-2^62 ns (146 years), differences of two of them never overflow.
std::int64_t clamp_ns(long double ns) noexcept {
  constexpr long double bound = 4611686018427387904.0L;  // 2^62
  if (!(ns > -bound)) return -static_cast<std::int64_t>(bound);  // (also NaN)
  if (ns > bound) return static_cast<std::int64_t>(bound);
  return static_cast<std::int64_t>(std::llroundl(ns));
}
}  // namespace

std::int64_t tick_clock::steady_ns(std::uint64_t ticks) const noexcept {
  if (count_ == 0) return clamp_ns(static_cast<long double>(ticks));
  // Signed: ticks before the first clock record extrapolate backwards. Rounding a monotonic
  // function keeps it monotonic, which the chrome export relies on.
  const long double delta = static_cast<long double>(ticks) - static_cast<long double>(first_.ticks);
  return clamp_ns(static_cast<long double>(first_.steady_ns) + delta * ns_per_tick());
}

std::int64_t tick_clock::realtime_ns(std::uint64_t ticks) const noexcept {
  if (count_ == 0) return steady_ns(ticks);
  return clamp_ns(static_cast<long double>(steady_ns(ticks)) + static_cast<long double>(first_.realtime_ns) -
                  static_cast<long double>(first_.steady_ns));
}

}  // namespace troupe::trace_tool
