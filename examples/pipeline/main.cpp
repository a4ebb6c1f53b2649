// pipeline: items flow source -> parse -> (throttle) -> enrich (slow) -> sink, with
// back-pressure. The enrich stage is slow (each item waits --slow-us microseconds, one item at a
// time: await_mode::sequential); a throttle in front of it lets 4 items in flight and queues 8
// more. The source keeps at most those 12 items open and waits for the oldest before sending
// more, so the slow stage sets the pace and no mailbox grows. Then a flooder that ignores the
// window fires 50 requests at once: the throttle refuses what does not fit (errc::mailbox_full)
// instead of queueing it. Shows: stages as actors, a coroutine driving requests in order,
// await_mode::sequential, troupe::actors::throttle.
//
//   pipeline [--items N] [--slow-us U]        (defaults: 2000 items, 200 us)
//
// Prints the rate the slow stage allows, the most items ever open, the flood's refusals, and
// checks that every item reached the sink exactly once and in order.
#include "../common/cli.hpp"

#include <troupe/actors/throttle.hpp>
#include <troupe/troupe.hpp>

#include <chrono>
#include <cstdio>
#include <deque>

using namespace std::chrono_literals;

namespace {
struct item {
  long seq;
  long value;
};
struct run {
  long items;
};
struct stats {};

// Doubles the value: fast.
troupe::behavior parse(troupe::actor_base& self) {
  self.set_name("parse");
  return {[](item i) { return item{i.seq, i.value * 2}; }};
}

// Adds one after a pause: slow, and one item at a time.
troupe::behavior enrich(troupe::actor_base& self, long slow_us) {
  self.set_name("enrich");
  self.set_await_mode(troupe::await_mode::sequential);
  return {[&self, slow_us](item i) -> troupe::task<item> {
    co_await self.delay(std::chrono::microseconds(slow_us));
    co_return item{i.seq, i.value + 1};
  }};
}

// Checks order and values.
troupe::behavior sink(troupe::actor_base& self) {
  self.set_name("sink");
  auto next = std::make_shared<long>(0);
  auto bad = std::make_shared<long>(0);
  return {
      [next, bad](item i) {
        if (i.seq != *next || i.value != i.seq * 2 + 1) ++*bad;
        ++*next;
      },
      [next, bad](stats) { return std::pair{*next, *bad}; },
  };
}

using gate_t = troupe::actors::throttle<item, item>;

// Keeps at most window + queue (12) items open at the throttle, in order: never refused.
troupe::behavior source(troupe::actor_base& self, troupe::actor parser, gate_t gate, troupe::actor out) {
  self.set_name("source");
  return {[&self, parser, gate, out](run r) -> troupe::task<long> {
    std::deque<troupe::future<item>> open;  // in order: the sink sees items in sequence
    long max_open = 0;
    for (long seq = 0; seq < r.items || !open.empty();) {
      if (seq < r.items && open.size() < 12) {
        auto parsed = co_await self.request<item>(parser, item{seq, seq}, 10s);
        if (!parsed) co_return -1;
        open.push_back(self.request(gate, *parsed, 10s));
        max_open = std::max(max_open, static_cast<long>(open.size()));
        ++seq;
        continue;
      }
      auto done = co_await std::move(open.front());  // waits for the slow stage: back-pressure
      open.pop_front();
      if (!done) co_return -1;
      self.send(out, *done);
    }
    co_return max_open;
  }};
}

// Ignores the window: fires `n` requests at once and counts how many the throttle refused.
troupe::behavior flooder(troupe::actor_base& self, gate_t gate) {
  self.set_name("flooder");
  return {[&self, gate](run r) -> troupe::task<std::pair<long, long>> {
    std::vector<troupe::future<item>> all;
    for (long i = 0; i < r.items; ++i) all.push_back(self.request(gate, item{i, i}, 10s));
    long accepted = 0, refused = 0;
    for (auto& f : all) {
      auto x = co_await std::move(f);
      if (x)
        ++accepted;
      else if (x.error() == troupe::errc::mailbox_full)
        ++refused;
    }
    co_return std::pair{accepted, refused};
  }};
}
}  // namespace

int main(int argc, char** argv) {
  example::cli cli("pipeline", "N items through parse -> throttle -> enrich (U us each) -> sink.");
  long items = 2000, slow_us = 200;
  cli.add_option("--items", items, "N: items the source sends");
  cli.add_option("--slow-us", slow_us, "U: microseconds the slow stage spends on each item");
  CLI11_PARSE(cli, argc, argv);
  items = std::max(1L, items);
  slow_us = std::max(0L, slow_us);

  troupe::actor_system sys{cli.config()};
  auto parser = sys.spawn(parse);
  auto enricher = sys.spawn(enrich, slow_us);
  auto gate = troupe::actors::spawn_throttle<item, item>(sys, enricher, {.window = 4, .max_queued = 8});
  auto out = sys.spawn(sink);
  auto src = sys.spawn(source, parser, gate, out);

  auto t0 = std::chrono::steady_clock::now();
  auto max_open = troupe::request<long>(src, run{items}, 60s).get();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto seen = troupe::request<std::pair<long, long>>(out, stats{}, 10s).get();
  // Then a producer that ignores the window: the throttle pushes back instead of queueing.
  auto flood = troupe::request<std::pair<long, long>>(sys.spawn(flooder, gate), run{50}, 60s).get();
  if (!max_open || *max_open < 0 || !seen || !flood) {
    std::puts("pipeline failed");
    return 1;
  }
  std::printf("pipeline: %ld items in %.3f s; the slow stage (%ld us per item) bounds it at ~%.0f items/s\n", items,
              secs, slow_us, slow_us ? 1e6 / static_cast<double>(slow_us) : 0.0);
  std::printf("  in order, at most %ld items open at the throttle (window 4 + queue 8)\n", *max_open);
  std::printf("  sink: %ld items, %ld out of order or wrong\n", seen->first, seen->second);
  std::printf("  a flood of 50 at once: %ld accepted, %ld refused with mailbox_full (back-pressure)\n", flood->first,
              flood->second);
  return cli.finish(sys, seen->first == items && seen->second == 0 && *max_open <= 12 && flood->second > 0 &&
                             flood->first + flood->second == 50,
                         "every item reached the sink once, in order; the flood was pushed back, not queued");
}
