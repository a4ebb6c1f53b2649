// summary: troupe-trace summary — per actor and per message type, how many runs, how long their
// handlers took and their messages waited (p50, p99, max), the peak mailbox depth; the slowest
// runs, dead letters, requests and dropped events.
//
// summarize() computes the numbers (tests check them), print_summary() renders them. Durations
// go into log_histogram (≤ 0.8% error, bounded memory) in nanoseconds, converted with each
// file's own clock so that files of different machines can be summed.
#pragma once

#include "catalog.hpp"
#include "histogram.hpp"

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace troupe::trace_tool {

struct run_stats {
  std::uint64_t runs = 0;
  std::uint64_t requests = 0;
  std::uint64_t threw = 0;
  std::uint32_t peak_depth = 0;  // the largest mailbox depth at arrival (handled_record::h.aux)
  log_histogram handler;         // end - start, ns
  log_histogram wait;            // start - sent, ns
};

struct actor_summary : run_stats {
  std::uint64_t sent = 0;          // runs elsewhere of messages it sent
  std::uint64_t dead_letters = 0;  // messages it sent that became dead letters
};

struct type_summary : run_stats {
  std::uint64_t dead_letters = 0;
};

/// One of the slowest runs (by handler time).
struct slow_run {
  std::uint64_t handler_ns = 0;
  std::uint64_t wait_ns = 0;
  std::int64_t at_ns = 0;  // its start, from the earliest event of all files
  std::size_t file = 0;
  actor_key actor;
  std::string label;  // message type or run kind
  std::uint64_t id = 0;
  std::uint64_t trace = 0;
  std::uint8_t flags = 0;
};

struct summary_result {
  std::map<actor_key, actor_summary> actors;
  std::map<std::string, type_summary> types;  // by type name (the same type across files)
  std::vector<slow_run> slowest;              // slowest first, at most slowest_count
  // (receiver, type, reason) → count
  std::map<std::tuple<actor_key, std::string, std::uint32_t>, std::uint64_t> dead_letters;
  std::uint64_t dead_letter_total = 0;
  std::uint64_t runs = 0;
  std::uint64_t dropped = 0;
  std::uint64_t replies = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t reply_errors = 0;  // replies that completed with an error code
  log_histogram request_latency;   // reply.ts - reply.sent, replies and timeouts, ns
  std::int64_t span_ns = 0;        // from the earliest to the latest event

  static constexpr std::size_t slowest_count = 10;
};

summary_result summarize(const trace_set& set);

struct summary_options {
  std::size_t top = 20;  // rows per actor/type table (0: all)
};

void print_summary(const trace_set& set, const summary_result& s, std::ostream& out, const summary_options& opt = {});

}  // namespace troupe::trace_tool
