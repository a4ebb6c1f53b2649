// A whole trace file in memory, for tests of the recorder (small files only; troupe-trace's
// reader in tools/trace is the streaming one). Parses strictly: a malformed file throws.
#pragma once

#include <troupe/trace_format.hpp>

#include <cstdint>
#include <cstring>
#include <cstdio>
#include <memory>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace troupe::test {

namespace tf = troupe::trace_format;

/// An actor record (spawn, name, exit) with its text.
struct actor_event {
  tf::actor_record r;
  std::string text;
};

struct trace_file {
  tf::file_header header{};
  std::vector<tf::handled_record> runs;
  std::vector<actor_event> spawns, names, exits;
  std::vector<tf::dead_letter_record> dead_letters;
  std::vector<tf::reply_record> replies, timeouts;
  std::vector<tf::point_record> suspends;
  std::vector<tf::timer_record> armed, fired;
  std::vector<tf::clock_record> clocks;
  std::map<std::uint64_t, std::string> types;  // type_def key -> name
  std::vector<std::string> thread_names;
  std::uint64_t dropped = 0;
  std::size_t blocks = 0;
  std::size_t trailing = 0;  // bytes after the last whole block (a cut file)

  std::string type_name(std::uint64_t key) const {
    auto it = types.find(key);
    return it == types.end() ? std::string() : it->second;
  }
  /// Runs of messages of the type named `name` (as type_meta spells it).
  std::vector<tf::handled_record> runs_of(const std::string& name) const {
    std::vector<tf::handled_record> out;
    for (auto& r : runs)
      if (type_name(r.type) == name) out.push_back(r);
    return out;
  }
  const actor_event* spawn_of(std::uint64_t actor) const {
    for (auto& s : spawns)
      if (s.r.actor == actor) return &s;
    return nullptr;
  }
};

template <class R>
R read_as(const std::string& bytes, std::size_t at) {
  R r;
  std::memcpy(&r, bytes.data() + at, sizeof r);
  return r;
}

/// Reads `path`; throws std::runtime_error on anything malformed (a cut-off last block is not
/// malformed: it is counted in `trailing`).
inline trace_file read_trace(const std::string& path) {
  // (stdio rather than istreambuf_iterator, which GCC's -O2 -Wnull-dereference trips over)
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string bytes;
  char chunk[65536];
  for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, in.get())) > 0;) bytes.append(chunk, n);
  trace_file f;
  if (bytes.size() < sizeof f.header) throw std::runtime_error("short header");
  f.header = read_as<tf::file_header>(bytes, 0);
  if (std::memcmp(f.header.magic, tf::magic, sizeof tf::magic) != 0) throw std::runtime_error("bad magic");
  if (f.header.version != tf::version) throw std::runtime_error("bad version");
  std::map<std::uint32_t, tf::run_codec> codecs;  // run records are decoded per thread
  std::size_t at = f.header.header_size;
  while (at < bytes.size()) {
    if (bytes.size() - at < sizeof(tf::block_header)) {
      f.trailing = bytes.size() - at;
      break;
    }
    const auto b = read_as<tf::block_header>(bytes, at);
    if (b.magic != tf::block_magic) throw std::runtime_error("bad block magic at " + std::to_string(at));
    if (bytes.size() - at - sizeof b < b.size) {
      f.trailing = bytes.size() - at;
      break;
    }
    ++f.blocks;
    f.dropped += b.dropped;
    const std::size_t end = at + sizeof b + b.size;
    tf::run_codec& codec = codecs[b.thread];
    std::size_t p = at + sizeof b;
    while (p < end) {
      if (end - p < sizeof(tf::record_header)) throw std::runtime_error("cut record");
      const auto h = read_as<tf::record_header>(bytes, p);
      if (h.size < 8 || h.size % 8 || h.size > end - p) throw std::runtime_error("bad record size");
      auto text = [&](std::size_t fixed) { return bytes.substr(p + fixed, h.aux); };
      switch (h.k) {
        case tf::kind::handled: {
          tf::handled_record r;
          if (!codec.decode(reinterpret_cast<const unsigned char*>(bytes.data() + p), h.size, r))
            throw std::runtime_error("bad run record");
          f.runs.push_back(r);
          break;
        }
        case tf::kind::spawn: f.spawns.push_back({read_as<tf::actor_record>(bytes, p), text(sizeof(tf::actor_record))}); break;
        case tf::kind::name: f.names.push_back({read_as<tf::actor_record>(bytes, p), text(sizeof(tf::actor_record))}); break;
        case tf::kind::exit: f.exits.push_back({read_as<tf::actor_record>(bytes, p), text(sizeof(tf::actor_record))}); break;
        case tf::kind::dead_letter: f.dead_letters.push_back(read_as<tf::dead_letter_record>(bytes, p)); break;
        case tf::kind::reply: f.replies.push_back(read_as<tf::reply_record>(bytes, p)); break;
        case tf::kind::timeout: f.timeouts.push_back(read_as<tf::reply_record>(bytes, p)); break;
        case tf::kind::suspend: f.suspends.push_back(read_as<tf::point_record>(bytes, p)); break;
        case tf::kind::timer_armed: f.armed.push_back(read_as<tf::timer_record>(bytes, p)); break;
        case tf::kind::timer_fired: f.fired.push_back(read_as<tf::timer_record>(bytes, p)); break;
        case tf::kind::clock: f.clocks.push_back(read_as<tf::clock_record>(bytes, p)); break;
        case tf::kind::type_def: {
          const auto t = read_as<tf::type_def_record>(bytes, p);
          f.types[t.type] = text(sizeof t);
          break;
        }
        case tf::kind::thread_name: f.thread_names.push_back(text(sizeof(tf::string_record))); break;
        default: break;
      }
      p += h.size;
    }
    at = end;
  }
  return f;
}

}  // namespace troupe::test
