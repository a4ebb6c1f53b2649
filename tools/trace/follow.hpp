// follow: troupe-trace follow — the causal chain of one trace id as an indented tree.
//
// Every record of the chain (runs, replies, timeouts, suspensions, dead letters, timers) hangs
// under the run that caused it (`cause`), ordered by when it happened in that run; each line
// gives the time from the chain's first event, and for a run its mailbox wait and handler time.
// Without an id, the chain of the slowest request (the largest reply.ts - reply.sent) is shown,
// with the request's run marked.
//
// Chains can be 100,000+ hops deep: the tree is walked with an explicit stack, indentation
// stops growing at `max_indent` levels (deeper lines say "[depth N]"), and only `limit` lines
// are printed. Memory grows with the chain, not with the trace.
#pragma once

#include "catalog.hpp"

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>

namespace troupe::trace_tool {

struct follow_options {
  std::optional<std::uint64_t> id;  // a trace id, or the id of a run in the chain; none: the slowest request
  std::size_t limit = 200;          // lines of the tree printed (0: all)
  std::size_t max_indent = 40;      // levels of indentation
};

/// Prints the tree. Throws std::runtime_error when there is nothing to follow.
void follow(const trace_set& set, std::ostream& out, const follow_options& opt = {});

}  // namespace troupe::trace_tool
