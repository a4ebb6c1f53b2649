// chrome: troupe-trace chrome — the runs of a set of trace files as Chrome Trace Event Format
// JSON (what ui.perfetto.dev and chrome://tracing open).
//
// A process per file, a track (tid) per actor named after it, an "X" slice per run, a "C"
// counter per actor for its mailbox depth, and a flow arrow from each send to the run it
// caused. Within each track the events come out in time order (Perfetto needs no more; the
// tests check it), though runs of one actor are written by whichever worker thread ran them:
//
//  * Ordering: a k-way merge over the threads of every file, each thread's runs being in start
//    order; the merge holds one block per thread (the catalog pass kept the block offsets of
//    each thread). The send end of a flow lies in the past of the merge (a message waits in a
//    mailbox), so every event goes through a reorder buffer of `window` events that releases
//    the earliest once full: the output is ordered by time overall.
//  * Flows: drawn from the run `cause` (on the sender's track, at `sent`) to the run it caused
//    (at its start), only where that is sure to bind to both slices: the cause is one of the
//    last `window` runs merged (a bounded cache of id → actor, start, end), ran on the sender
//    (a local actor) and encloses `sent`, and `sent` is not before what the reorder buffer has
//    already written. A message that waited longer than the window loses its arrow (counted
//    in chrome_stats and reported), never the order or the binding of the others.
#pragma once

#include "catalog.hpp"

#include <cstddef>
#include <cstdint>
#include <iosfwd>

namespace troupe::trace_tool {

struct chrome_options {
  std::size_t window = 200'000;  // events held for reordering, and runs remembered as flow causes
};

struct chrome_stats {
  std::uint64_t runs = 0;           // slices written
  std::uint64_t flows = 0;          // arrows written
  std::uint64_t causes_unknown = 0; // a local cause that is not (or no longer) in the window
  std::uint64_t causes_elsewhere = 0;  // the cause ran on another actor than the sender, or not around `sent`
  std::uint64_t flows_too_late = 0;    // the send precedes what had been written already
  std::uint64_t runs_out_of_order = 0; // runs left out: a thread's runs out of order beyond the window
};

chrome_stats write_chrome(const trace_set& set, std::ostream& out, const chrome_options& opt = {});

}  // namespace troupe::trace_tool
