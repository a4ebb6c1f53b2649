// Tests of troupe-trace summary on a trace whose numbers are known, and of its histogram.
#include "histogram.hpp"
#include "summary.hpp"
#include "synthetic.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace trace_test;
using namespace troupe::trace_tool;

namespace {

/// client (1) pings worker (2) four times, worker queries db (3) once, actor 9 (spawned
/// before tracing) runs a slow continuation; three dead letters, a reply and a timeout, and
/// seven dropped events. Ticks are nanoseconds (one steady clock record).
synthetic_trace known_trace() {
  synthetic_trace t(1);
  t.block(0).clock(0, 0, 1'700'000'000'000'000'000);
  t.block(1, /*dropped*/ 5)
      .type_def(100, "ping")
      .spawn(1, "client_actor")
      .name(1, "client")
      .spawn(2, "worker_actor")
      .spawn(3, "db_actor");
  const std::uint64_t handler[] = {10, 20, 30, 40}, wait[] = {1, 2, 3, 4};
  const std::uint32_t depth[] = {1, 3, 2, 1};
  std::uint64_t at = 100;
  for (int i = 0; i < 4; ++i) {
    t.handled({.id = 10 + static_cast<std::uint64_t>(i), .actor = 2, .sender = 1, .type = 100, .sent = at,
               .start = at + wait[i], .end = at + wait[i] + handler[i], .depth = depth[i]});
    at += 100;
  }
  t.block(2, /*dropped*/ 2)
      .type_def(101, "query")  // defined in another thread's block than the dead letters' below
      .handled({.id = 20, .actor = 3, .sender = 2, .type = 101, .sent = 1000, .start = 1100, .end = 1150,
                .flags = tf::request_flag, .depth = 2})
      .handled({.id = 21, .actor = 9, .start = 2000, .end = 7000, .kind = tf::run_kind::continuation});
  t.block(1)
      .dead_letter(1200, 3, 2, 101, tf::dead_letter_reason::not_alive)
      .dead_letter(1300, 3, 2, 101, tf::dead_letter_reason::not_alive)
      .dead_letter(1400, 0, 1, 100, tf::dead_letter_reason::no_actor)
      .reply(1200, 3, 5, 20, 20, 1000)
      .reply(3000, 0, 5, 10, 0, 1000, 6, tf::kind::timeout);
  return t;
}

/// The cells of a table row: runs of text separated by two spaces or more.
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::size_t i = line.find_first_not_of(' ');
  while (i != std::string::npos && i < line.size()) {
    std::size_t end = line.find("  ", i);
    out.push_back(line.substr(i, end == std::string::npos ? std::string::npos : end - i));
    if (end == std::string::npos) break;
    i = line.find_first_not_of(' ', end);
  }
  return out;
}

/// The table row whose first cell is `name`, after the line that starts with `after`.
std::vector<std::string> row_of(const std::string& text, const std::string& name, const std::string& after = "") {
  bool in = after.empty();
  for (const std::string& line : lines_of(text)) {
    if (!in) {
      in = line.starts_with(after);
      continue;
    }
    auto c = cells(line);
    if (!c.empty() && c[0] == name) return c;
  }
  return {};
}

}  // namespace

TEST_CASE("summary: counts, percentiles, peak depth, dead letters and drops of a known trace") {
  temp_dir dir;
  const trace_set set = trace_set::load({dir.write("known.trace", known_trace())});
  const summary_result s = summarize(set);

  CHECK(s.runs == 6);
  const actor_summary& worker = s.actors.at({1, 2});
  CHECK(worker.runs == 4);
  CHECK(worker.sent == 1);
  CHECK(worker.dead_letters == 2);
  CHECK(worker.peak_depth == 3);
  CHECK(worker.handler.percentile(50) == 20);
  CHECK(worker.handler.percentile(99) == 40);
  CHECK(worker.handler.max() == 40);
  CHECK(worker.wait.percentile(50) == 2);
  CHECK(worker.wait.max() == 4);

  const actor_summary& client = s.actors.at({1, 1});
  CHECK(client.runs == 0);
  CHECK(client.sent == 4);
  CHECK(client.dead_letters == 1);

  CHECK(s.types.at("ping").runs == 4);
  CHECK(s.types.at("ping").dead_letters == 1);
  CHECK(s.types.at("query").runs == 1);
  CHECK(s.types.at("query").requests == 1);
  CHECK(s.types.at("query").dead_letters == 2);
  CHECK(s.types.at("query").wait.max() == 100);
  CHECK(s.types.at("(continuation)").runs == 1);

  REQUIRE(s.slowest.size() == 6);
  CHECK(s.slowest[0].handler_ns == 5000);
  CHECK(s.slowest[0].actor.id == 9);
  CHECK(s.slowest[1].handler_ns == 50);
  CHECK(s.slowest[5].handler_ns == 10);

  CHECK(s.dead_letter_total == 3);
  CHECK(s.dead_letters.at({actor_key{1, 3}, "query", 1}) == 2);
  CHECK(s.dead_letters.at({actor_key{1, 0}, "ping", 4}) == 1);
  CHECK(s.dropped == 7);
  CHECK(s.replies == 1);
  CHECK(s.timeouts == 1);
  CHECK(s.request_latency.count() == 2);
  CHECK(s.request_latency.max() == 2000);

  // The report.
  std::ostringstream text;
  print_summary(set, s, text);
  const std::string out = text.str();
  CAPTURE(out);
  CHECK(row_of(out, "worker_actor#2") ==
        std::vector<std::string>{"worker_actor#2", "4", "1", "0", "20 ns", "40 ns", "40 ns", "2 ns", "4 ns", "4 ns", "3"});
  CHECK(row_of(out, "actor#9") ==
        std::vector<std::string>{"actor#9", "1", "0", "0", "5.00 µs", "5.00 µs", "5.00 µs", "0 ns", "0 ns", "0 ns", "1"});
  CHECK(row_of(out, "ping", "Message types") ==
        std::vector<std::string>{"ping", "4", "0", "0", "20 ns", "40 ns", "40 ns", "2 ns", "4 ns", "4 ns", "3"});
  CHECK(row_of(out, "db_actor#3", "Dead letters") == std::vector<std::string>{"db_actor#3", "query", "not alive", "2"});
  CHECK(row_of(out, "(empty handle)", "Dead letters") == std::vector<std::string>{"(empty handle)", "ping", "no actor", "1"});
  CHECK_THAT(out, Catch::Contains("Dead letters: 3"));
  CHECK_THAT(out, Catch::Contains("Dropped events: 7"));
  CHECK_THAT(out, Catch::Contains("thread 1: 5"));
  CHECK_THAT(out, Catch::Contains("1 replies (0 errors), 1 timeouts"));
  // The slowest run comes first in its table.
  const auto lines = lines_of(out);
  auto slowest = std::find(lines.begin(), lines.end(), "Slowest handlers");
  REQUIRE(slowest != lines.end());
  REQUIRE(slowest + 2 < lines.end());
  CHECK_THAT(*(slowest + 2), Catch::Contains("5.00 µs") && Catch::Contains("actor#9") && Catch::Contains("(continuation)"));
  // The client has a given name, shown alone; it only sent.
  CHECK(row_of(out, "client") == std::vector<std::string>{"client", "0", "4", "0", "-", "-", "-", "-", "-", "-", "0"});
}

TEST_CASE("summary: tables keep the top rows, by total handler time") {
  synthetic_trace t;
  t.block(1);
  for (std::uint64_t a = 1; a <= 30; ++a) t.handled({.id = a, .actor = a, .start = 0, .end = a * 10});
  temp_dir dir;
  const std::string path = dir.write("many.trace", t);
  auto r = run_tool({"summary", path, "--top", "5"});
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("Actors (top 5 of 30 by total handler time; --top 0 for all)"));
  CHECK_FALSE(row_of(r.out, "actor#30").empty());
  CHECK_FALSE(row_of(r.out, "actor#26").empty());
  CHECK(row_of(r.out, "actor#25").empty());
  auto all = run_tool({"summary", path, "--top", "0"});
  CHECK_FALSE(row_of(all.out, "actor#1").empty());
}

TEST_CASE("summary: durations of a TSC file are converted with its clock records") {
  synthetic_trace t(1, tf::ticks_are_tsc);
  t.block(0).clock(1'000, 0, 1'000).clock(3'001'000, 1'000'000, 1'001'000);  // 3 ticks per ns
  t.block(1).handled({.id = 1, .actor = 4, .sent = 1'000, .start = 31'000, .end = 61'000});
  temp_dir dir;
  const trace_set set = trace_set::load({dir.write("tsc.trace", t)});
  const summary_result s = summarize(set);
  CHECK(s.actors.at({1, 4}).handler.max() == 10'000);
  CHECK(s.actors.at({1, 4}).wait.max() == 10'000);
}

TEST_CASE("log_histogram: buckets tile the values, small values are exact, percentiles within 1%") {
  SECTION("every value falls in its bucket") {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 100'000; ++i) {
      const std::uint64_t v = rng() >> (rng() % 64);
      const std::size_t b = log_histogram::index(v);
      REQUIRE(b < log_histogram::bucket_count);
      REQUIRE(log_histogram::lower(b) <= v);
      REQUIRE(v - log_histogram::lower(b) < log_histogram::width(b));
      // Relative width: at most 1/64 of the bucket's values.
      if (v >= 128) REQUIRE(log_histogram::width(b) * 64 <= log_histogram::lower(b));
    }
    CHECK(log_histogram::index(~std::uint64_t{0}) == log_histogram::bucket_count - 1);
    CHECK(log_histogram::lower(log_histogram::index(127)) == 127);
    CHECK(log_histogram::lower(log_histogram::index(128)) == 128);
  }
  SECTION("exact below 128") {
    log_histogram h;
    for (std::uint64_t v = 1; v <= 100; ++v) h.add(v);
    CHECK(h.percentile(50) == 50);
    CHECK(h.percentile(99) == 99);
    CHECK(h.percentile(100) == 100);
    CHECK(h.percentile(1) == 1);
    CHECK(h.min() == 1);
  }
  SECTION("within 1/128 of the exact percentile over wide ranges") {
    std::mt19937_64 rng(11);
    std::lognormal_distribution<double> dist(12.0, 3.0);  // ~160 µs median, decades either way
    log_histogram h;
    std::vector<std::uint64_t> values;
    for (int i = 0; i < 200'000; ++i) {
      const auto v = static_cast<std::uint64_t>(dist(rng)) + 1;
      values.push_back(v);
      h.add(v);
    }
    CHECK(h.dense());
    std::sort(values.begin(), values.end());
    for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
      CAPTURE(p);
      const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
      const double exact = static_cast<double>(values[rank - 1]);
      const double got = static_cast<double>(h.percentile(p));
      CHECK(std::abs(got - exact) <= exact / 128.0 + 0.5);
    }
    CHECK(h.max() == values.back());
  }
  SECTION("sparse while few buckets are used") {
    log_histogram h;
    h.add(1'000'000, 5);
    h.add(3);
    CHECK_FALSE(h.dense());
    CHECK(h.count() == 6);
    CHECK(h.percentile(50) >= 1'000'000 - 1'000'000 / 128);
  }
}
