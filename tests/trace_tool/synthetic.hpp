// synthetic: builds troupe trace files for the tests of troupe-trace, record by record, from the
// structs of troupe/trace_format.hpp (so the tests and the recorder share one definition of the
// layout), plus a temporary directory to write them to and a way to run troupe-trace in-process.
#pragma once

#include <troupe/trace_format.hpp>

#include "cli.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace trace_test {

namespace tf = troupe::trace_format;

/// The fields of a handled record, with defaults, for designated initializers.
struct run {
  std::uint64_t id = 0;
  std::uint64_t trace = 0;
  std::uint64_t cause = 0;
  std::uint64_t actor = 0;
  std::uint64_t sender = 0;
  std::uint64_t type = 0;
  std::uint64_t sent = 0;
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  tf::run_kind kind = tf::run_kind::message;
  std::uint8_t flags = 0;
  std::uint32_t depth = 1;  // h.aux: the mailbox depth at arrival
  std::uint32_t depth_left = 0;
};

class synthetic_trace {
 public:
  explicit synthetic_trace(std::uint64_t node = 1, std::uint64_t flags = 0, std::uint64_t pid = 4242) {
    std::memcpy(header_.magic, tf::magic, sizeof header_.magic);
    header_.version = tf::version;
    header_.header_size = sizeof header_;
    header_.node = node;
    header_.pid = pid;
    header_.flags = flags;
  }

  tf::file_header& header() noexcept { return header_; }

  /// Starts a block of `thread`: the records that follow go into it.
  synthetic_trace& block(std::uint32_t thread, std::uint32_t dropped = 0) {
    blocks_.push_back({thread, dropped, {}});
    return *this;
  }

  synthetic_trace& clock(std::uint64_t ticks, std::uint64_t steady_ns, std::uint64_t realtime_ns) {
    tf::clock_record r{};
    r.h = head(tf::kind::clock, sizeof r);
    r.ticks = ticks;
    r.steady_ns = steady_ns;
    r.realtime_ns = realtime_ns;
    return put(r);
  }

  synthetic_trace& type_def(std::uint64_t key, std::string_view name) {
    tf::type_def_record r{};
    r.h = head(tf::kind::type_def, sizeof r, name);
    r.type = key;
    return put(r, name);
  }

  synthetic_trace& spawn(std::uint64_t actor, std::string_view type_name, std::uint64_t ts = 1, std::uint64_t parent = 0) {
    return actor_rec(tf::kind::spawn, 0, ts, actor, parent, type_name);
  }
  synthetic_trace& name(std::uint64_t actor, std::string_view name, std::uint64_t ts = 1) {
    return actor_rec(tf::kind::name, 0, ts, actor, 0, name);
  }
  synthetic_trace& exit(std::uint64_t actor, tf::exit_category category, std::string_view reason, std::uint64_t ts = 1,
                        std::uint64_t in_run = 0) {
    return actor_rec(tf::kind::exit, static_cast<std::uint8_t>(category), ts, actor, in_run, reason);
  }

  /// A run, encoded as the recorder does (compact, relative to the previous run of the same
  /// thread: see trace_format::run_codec). `reset` forces a self-contained record.
  synthetic_trace& handled(const run& x, bool reset = false) {
    tf::handled_record r{};
    r.h.flags = x.flags;
    r.h.aux = x.depth;
    r.depth_left = x.depth_left;
    r.ekind = static_cast<std::uint8_t>(x.kind);
    r.id = x.id;
    r.trace = x.trace;
    r.cause = x.cause;
    r.actor = x.actor;
    r.sender = x.sender;
    r.type = x.type;
    r.sent = x.sent;
    r.start = x.start;
    r.end = x.end;
    auto& b = current();
    auto [codec, fresh] = codecs_.try_emplace(b.thread);
    unsigned char buf[tf::run_codec::max_size];
    const std::size_t n = codec->second.encode(r, reset || fresh, buf);
    return raw(buf, n);
  }

  synthetic_trace& dead_letter(std::uint64_t ts, std::uint64_t actor, std::uint64_t sender, std::uint64_t type,
                               tf::dead_letter_reason why, std::uint64_t trace = 0, std::uint64_t cause = 0) {
    tf::dead_letter_record r{};
    r.h = head(tf::kind::dead_letter, sizeof r);
    r.h.aux = static_cast<std::uint32_t>(why);
    r.ts = ts;
    r.actor = actor;
    r.sender = sender;
    r.type = type;
    r.trace = trace;
    r.cause = cause;
    return put(r);
  }

  /// A reply (or, with k = timeout, a timeout): `code` is the errc (0: a value).
  synthetic_trace& reply(std::uint64_t ts, std::uint64_t actor, std::uint64_t trace, std::uint64_t cause,
                         std::uint64_t request, std::uint64_t sent, std::uint32_t code = 0,
                         tf::kind k = tf::kind::reply) {
    tf::reply_record r{};
    r.h = head(k, sizeof r);
    r.h.aux = code;
    r.ts = ts;
    r.actor = actor;
    r.trace = trace;
    r.cause = cause;
    r.request = request;
    r.sent = sent;
    return put(r);
  }

  synthetic_trace& suspend(std::uint64_t ts, std::uint64_t actor, std::uint64_t trace, std::uint64_t cause) {
    tf::point_record r{};
    r.h = head(tf::kind::suspend, sizeof r);
    r.ts = ts;
    r.actor = actor;
    r.trace = trace;
    r.cause = cause;
    return put(r);
  }

  /// timer_armed or timer_fired.
  synthetic_trace& timer(tf::kind k, std::uint64_t ts, std::uint64_t id, std::uint64_t actor, std::uint64_t trace,
                         std::uint64_t cause, std::uint64_t delay_ns, std::uint8_t flags = 0) {
    tf::timer_record r{};
    r.h = head(k, sizeof r);
    r.h.flags = flags;
    r.ts = ts;
    r.id = id;
    r.actor = actor;
    r.trace = trace;
    r.cause = cause;
    r.delay_ns = delay_ns;
    return put(r);
  }

  synthetic_trace& thread_name(std::string_view name) {
    tf::string_record r{};
    r.h = head(tf::kind::thread_name, sizeof r, name);
    return put(r, name);
  }

  /// Any bytes, appended to the current block as they are (for corrupt files).
  synthetic_trace& raw(const void* data, std::size_t n) {
    auto& b = current();
    b.bytes.append(static_cast<const char*>(data), n);
    return *this;
  }

  /// The whole file.
  std::string bytes() const {
    std::string out(reinterpret_cast<const char*>(&header_), sizeof header_);
    for (const auto& b : blocks_) {
      tf::block_header bh{tf::block_magic, static_cast<std::uint32_t>(b.bytes.size()), b.thread, b.dropped};
      out.append(reinterpret_cast<const char*>(&bh), sizeof bh);
      out += b.bytes;
    }
    return out;
  }

  /// Where each block header starts in bytes().
  std::vector<std::size_t> block_offsets() const {
    std::vector<std::size_t> at;
    std::size_t pos = sizeof header_;
    for (const auto& b : blocks_) {
      at.push_back(pos);
      pos += sizeof(tf::block_header) + b.bytes.size();
    }
    return at;
  }

 private:
  struct pending_block {
    std::uint32_t thread;
    std::uint32_t dropped;
    std::string bytes;
  };

  static tf::record_header head(tf::kind k, std::size_t fixed, std::string_view text = {}) {
    tf::record_header h{};
    h.k = k;
    h.size = static_cast<std::uint16_t>(fixed + tf::padded(text.size()));
    h.aux = static_cast<std::uint32_t>(text.size());
    return h;
  }

  pending_block& current() {
    if (blocks_.empty()) block(1);
    return blocks_.back();
  }

  template <class R>
  synthetic_trace& put(const R& r, std::string_view text = {}) {
    auto& b = current();
    b.bytes.append(reinterpret_cast<const char*>(&r), sizeof r);
    b.bytes += text;
    b.bytes.append(tf::padded(text.size()) - text.size(), '\0');
    return *this;
  }

  synthetic_trace& actor_rec(tf::kind k, std::uint8_t flags, std::uint64_t ts, std::uint64_t actor, std::uint64_t other,
                             std::string_view text) {
    tf::actor_record r{};
    r.h = head(k, sizeof r, text);
    r.h.flags = flags;
    r.ts = ts;
    r.actor = actor;
    r.other = other;
    return put(r, text);
  }

  tf::file_header header_{};
  std::vector<pending_block> blocks_;
  std::map<std::uint32_t, tf::run_codec> codecs_;  // per thread, as the recorder's rings
};

/// A fresh directory under the system's temporary directory, removed with its files.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("troupe-trace-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  std::string file(std::string_view name) const { return (path_ / name).string(); }

  /// Writes bytes to a file of this directory; returns its path.
  std::string write(std::string_view name, std::string_view bytes) const {
    const std::string p = file(name);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + p);
    return p;
  }
  std::string write(std::string_view name, const synthetic_trace& t) const { return write(name, t.bytes()); }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// troupe-trace's outcome, run in this process.
struct tool_result {
  int status = 0;
  std::string out;
  std::string err;
};

/// Runs troupe-trace with these arguments (without the program name). `path_env` is the PATH
/// it searches for Graphviz's dot.
inline tool_result run_tool(std::vector<std::string> args, const std::string& path_env = "/nonexistent") {
  args.insert(args.begin(), "troupe-trace");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  tool_result r;
  r.status = troupe::trace_tool::run_cli(static_cast<int>(argv.size()), argv.data(), out, err, path_env);
  r.out = out.str();
  r.err = err.str();
  return r;
}

/// The lines of a text.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace trace_test
