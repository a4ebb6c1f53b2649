// Tests of troupe-trace chrome: the output is valid JSON, every flow binds to a slice at both
// ends, and every track's events are in time order, including an actor whose runs two threads
// wrote in interleaved blocks, random workloads, a window too small for some flows, and files
// of two nodes lined up by their real-time clocks.
#include <boost/json.hpp>

#include "chrome.hpp"
#include "synthetic.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <sstream>

using namespace trace_test;
using namespace troupe::trace_tool;
namespace json = boost::json;

namespace {

/// What validate() found in a Chrome JSON file.
struct checked {
  std::size_t slices = 0;
  std::size_t flows = 0;
  std::size_t counters = 0;
  std::vector<std::string> problems;                       // broken rules
  std::map<std::pair<std::int64_t, std::int64_t>, std::string> track_names;  // (pid, tid) → thread_name
  std::map<std::int64_t, std::string> process_names;
  std::vector<json::object> x;                             // the slices, in output order
};

std::int64_t ns_of(const json::value& ts) { return std::llround(ts.to_number<double>() * 1000.0); }

/// Parses the JSON and checks the three rules of the export.
checked validate(const std::string& text) {
  checked c;
  const json::value doc = json::parse(text);  // throws on invalid JSON
  const json::array& events = doc.at("traceEvents").as_array();
  using track = std::pair<std::int64_t, std::int64_t>;
  std::map<track, std::vector<std::pair<std::int64_t, std::int64_t>>> slices;  // per track: [start, end]
  std::map<track, std::int64_t> last_ts;
  std::map<std::pair<std::int64_t, std::string>, std::int64_t> last_counter;
  struct end_point {
    track where;
    std::int64_t ts;
    bool bp_e = false;
  };
  std::map<std::uint64_t, std::vector<end_point>> starts, finishes;

  for (const json::value& v : events) {
    const json::object& e = v.as_object();
    const std::string ph(e.at("ph").as_string());
    const std::int64_t pid = e.at("pid").to_number<std::int64_t>();
    if (ph == "M") {
      const std::string name(e.at("name").as_string());
      if (name == "thread_name")
        c.track_names[{pid, e.at("tid").to_number<std::int64_t>()}] = e.at("args").at("name").as_string().c_str();
      if (name == "process_name") c.process_names[pid] = e.at("args").at("name").as_string().c_str();
      continue;
    }
    const track t{pid, e.at("tid").to_number<std::int64_t>()};
    const std::int64_t ts = ns_of(e.at("ts"));
    if (ts < 0) c.problems.push_back("negative ts");
    // Rule: within a track, non-decreasing ts in output order.
    if (auto it = last_ts.find(t); it != last_ts.end() && ts < it->second)
      c.problems.push_back("track " + std::to_string(t.second) + " goes back from " + std::to_string(it->second) +
                           " to " + std::to_string(ts) + " (" + ph + ")");
    last_ts[t] = ts;
    if (ph == "X") {
      ++c.slices;
      slices[t].emplace_back(ts, ts + ns_of(e.at("dur")));
      c.x.push_back(e);
    } else if (ph == "s" || ph == "f") {
      const auto id = e.at("id").to_number<std::uint64_t>();
      end_point p{t, ts, e.contains("bp") && e.at("bp").as_string() == "e"};
      (ph == "s" ? starts : finishes)[id].push_back(p);
    } else if (ph == "C") {
      ++c.counters;
      const std::pair<std::int64_t, std::string> series{pid, e.at("name").as_string().c_str()};
      if (auto it = last_counter.find(series); it != last_counter.end() && ts < it->second)
        c.problems.push_back("counter " + series.second + " goes back in time");
      last_counter[series] = ts;
    } else {
      c.problems.push_back("unexpected ph " + ph);
    }
  }

  // Rule: every flow's start lies inside a slice of its track, its end at a slice's start.
  for (const auto& [id, s] : starts) {
    auto f = finishes.find(id);
    if (s.size() != 1 || f == finishes.end() || f->second.size() != 1) {
      c.problems.push_back("flow " + std::to_string(id) + " lacks a single start and end");
      continue;
    }
    ++c.flows;
    const auto& in = slices[s[0].where];
    if (std::none_of(in.begin(), in.end(), [&](auto sl) { return sl.first <= s[0].ts && s[0].ts <= sl.second; }))
      c.problems.push_back("flow " + std::to_string(id) + " starts outside any slice of its track");
    const end_point& e = f->second[0];
    const auto& at = slices[e.where];
    if (!e.bp_e) c.problems.push_back("flow " + std::to_string(id) + " end without bp:e");
    if (std::none_of(at.begin(), at.end(), [&](auto sl) { return sl.first == e.ts; }))
      c.problems.push_back("flow " + std::to_string(id) + " ends where no slice starts");
  }
  for (const auto& [id, f] : finishes)
    if (!starts.contains(id)) c.problems.push_back("flow " + std::to_string(id) + " has no start");
  // Every track with slices is named.
  for (const auto& [t, s] : slices)
    if (!c.track_names.contains(t)) c.problems.push_back("track " + std::to_string(t.second) + " has no name");
  return c;
}

std::string export_json(const std::vector<std::string>& files, chrome_options opt = {}, chrome_stats* stats = nullptr) {
  const trace_set set = trace_set::load(files);
  std::ostringstream out;
  const chrome_stats s = write_chrome(set, out, opt);
  if (stats) *stats = s;
  return out.str();
}

/// Actor 1 ("a") runs five times, on thread 1 and thread 2 in turn, their blocks interleaved;
/// actor 2 ("b") receives from it. Two of b's runs get an arrow; the others cannot: a remote
/// sender, an unrecorded cause, a send outside the cause's run.
synthetic_trace split_actor_trace() {
  synthetic_trace t(1);
  t.block(0).clock(0, 0, 1'700'000'000'000'000'000);
  t.block(1).type_def(1, "ping").type_def(2, "pong").name(1, "a", 90).name(2, "b", 90);
  t.handled({.id = 101, .actor = 1, .type = 1, .sent = 90, .start = 100, .end = 110})
      .handled({.id = 103, .actor = 1, .type = 1, .sent = 290, .start = 300, .end = 310});
  t.block(2)
      .handled({.id = 102, .actor = 1, .type = 1, .sent = 190, .start = 200, .end = 210, .depth = 3, .depth_left = 2})
      .handled({.id = 104, .actor = 1, .type = 1, .sent = 390, .start = 400, .end = 410});
  t.block(1)
      .handled({.id = 105, .actor = 1, .type = 1, .sent = 490, .start = 500, .end = 510})
      .handled({.id = 201, .trace = 7, .cause = 101, .actor = 2, .sender = 1, .type = 2, .sent = 105, .start = 520,
                .end = 530});
  t.block(2)
      .handled({.id = 202, .trace = 7, .cause = 104, .actor = 2, .sender = 1, .type = 2, .sent = 405, .start = 600,
                .end = 610})
      .handled({.id = 203, .trace = 7, .cause = 999, .actor = 2, .sender = 1, .type = 2, .sent = 650, .start = 700,
                .end = 710})
      .handled({.id = 204, .trace = 7, .cause = 105, .actor = 2, .sender = 1, .type = 2, .sent = 505, .start = 720,
                .end = 730, .flags = tf::remote_sender_flag})
      .handled({.id = 205, .trace = 7, .cause = 105, .actor = 2, .sender = 1, .type = 2, .sent = 600, .start = 740,
                .end = 750});
  return t;
}

/// A random workload: `runs` runs of 20 actors on 3 threads (an actor on one thread at a time),
/// most caused by a recent run, written in blocks of 1-8 runs whose threads interleave at random.
synthetic_trace random_trace(unsigned seed, int runs) {
  std::mt19937 rng(seed);
  synthetic_trace t(3);
  t.block(0).clock(0, 0, 1'000'000'000);
  std::vector<std::uint64_t> thread_time(3, 0), actor_free(21, 0);
  std::vector<run> done;
  std::vector<std::vector<run>> per_thread(3);
  for (int i = 0; i < runs; ++i) {
    const unsigned th = rng() % 3;
    const std::uint64_t a = 1 + rng() % 20;
    const std::uint64_t start = std::max(thread_time[th], actor_free[a]) + rng() % 50;
    run r{.id = (std::uint64_t{th + 1} << 40) | static_cast<std::uint64_t>(i + 1), .actor = a, .type = 1 + rng() % 3,
          .sent = start - std::min<std::uint64_t>(start, rng() % 20), .start = start, .end = start + 1 + rng() % 100,
          .depth = static_cast<std::uint32_t>(1 + rng() % 5), .depth_left = static_cast<std::uint32_t>(rng() % 4)};
    if (!done.empty() && rng() % 4 != 0) {
      const run& c = done[done.size() - 1 - rng() % std::min<std::size_t>(done.size(), 60)];
      if (c.start <= start) {
        r.cause = c.id;
        r.sender = c.actor;
        r.trace = 1;
        r.sent = c.start + rng() % (std::min(c.end, start) - c.start + 1);
      }
    }
    thread_time[th] = actor_free[a] = r.end;
    done.push_back(r);
    per_thread[th].push_back(r);
  }
  std::vector<std::size_t> next(3, 0);
  for (;;) {
    std::vector<unsigned> pending;
    for (unsigned th = 0; th < 3; ++th)
      if (next[th] < per_thread[th].size()) pending.push_back(th);
    if (pending.empty()) break;
    const unsigned th = pending[rng() % pending.size()];
    t.block(th + 1);
    for (unsigned n = 1 + rng() % 8; n > 0 && next[th] < per_thread[th].size(); --n) t.handled(per_thread[th][next[th]++]);
  }
  return t;
}

}  // namespace

TEST_CASE("chrome: an actor split across two threads' interleaved blocks comes out in order, with bound flows") {
  temp_dir dir;
  chrome_stats stats;
  const std::string text = export_json({dir.write("split.trace", split_actor_trace())}, {}, &stats);
  const checked c = validate(text);
  CAPTURE(text);
  CHECK(c.problems == std::vector<std::string>{});
  CHECK(c.slices == 10);
  CHECK(c.flows == 2);
  CHECK(stats.runs == 10);
  CHECK(stats.flows == 2);
  CHECK(stats.causes_unknown == 1);    // 203: run 999 is not in the trace
  CHECK(stats.causes_elsewhere == 1);  // 205: sent after its cause had ended
  CHECK(c.process_names.at(1).starts_with("node 1 pid 4242"));

  // a's five runs (from tick 100 on), in time order on one track though two threads wrote them.
  std::vector<std::int64_t> a_starts;
  for (const json::object& x : c.x)
    if (c.track_names.at({x.at("pid").to_number<std::int64_t>(), x.at("tid").to_number<std::int64_t>()}) == "a")
      a_starts.push_back(ns_of(x.at("ts")));
  CHECK(a_starts == std::vector<std::int64_t>{10, 110, 210, 310, 410});

  // A slice's name and arguments.
  auto it = std::find_if(c.x.begin(), c.x.end(), [](const json::object& x) { return x.at("args").at("id") == 201; });
  REQUIRE(it != c.x.end());
  CHECK(it->at("name") == "pong");
  CHECK(it->at("args").at("cause") == 101);
  CHECK(it->at("args").at("sender") == "a");
  CHECK(ns_of(it->at("args").at("wait_us")) == 415);
  CHECK(ns_of(it->at("dur")) == 10);
  // Times are relative to the earliest event (the names, and a's first message, at tick 90).
  CHECK(ns_of(c.x.front().at("ts")) == 10);
  CHECK(c.counters >= 2);  // a's mailbox went 0 → 2 → 0
}

TEST_CASE("chrome: random interleavings keep every rule") {
  temp_dir dir;
  for (unsigned seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    const std::string path = dir.write("random.trace", random_trace(seed, 3000));
    chrome_stats stats;
    const checked c = validate(export_json({path}, {}, &stats));
    CHECK(c.problems == std::vector<std::string>{});
    CHECK(c.slices == 3000);
    CHECK(c.flows == stats.flows);
    CHECK(stats.flows > 1500);  // most runs have a recorded cause in the window
    CHECK(stats.causes_elsewhere == 0);
  }
}

TEST_CASE("chrome: a window too small for long waits drops arrows, never the order") {
  temp_dir dir;
  SECTION("random workload") {
    const std::string path = dir.write("random.trace", random_trace(4, 3000));
    chrome_stats wide, narrow;
    export_json({path}, {}, &wide);
    const checked c = validate(export_json({path}, {.window = 8}, &narrow));
    CHECK(c.problems == std::vector<std::string>{});
    CHECK(c.slices == 3000);
    CHECK(narrow.flows < wide.flows);
    CHECK(narrow.flows == c.flows);
  }
  SECTION("the split actor") {
    chrome_stats stats;
    const checked c = validate(export_json({dir.write("split.trace", split_actor_trace())}, {.window = 2}, &stats));
    CHECK(c.problems == std::vector<std::string>{});
    CHECK(c.slices == 10);
    CHECK(c.flows < 2);
  }
}

TEST_CASE("chrome: files of two nodes share a timeline by their real-time clocks") {
  synthetic_trace a(1, 0, 100), b(2, tf::ticks_are_tsc, 200);
  a.block(0).clock(5'000, 5'000, 1'000'000'000'000'000'500);  // 500 ns after b's origin
  a.block(1).name(10, "front", 5'000).handled({.id = 1, .actor = 10, .sent = 5'000, .start = 5'000, .end = 5'100});
  b.block(0).clock(0, 0, 1'000'000'000'000'000'000).clock(2'000, 1'000, 1'000'000'000'000'001'000);  // 2 ticks/ns
  b.block(3).name(20, "back", 0).handled({.id = 1, .actor = 20, .sender = 10, .type = 0, .sent = 0, .start = 0, .end = 400,
                                       .flags = tf::remote_sender_flag});
  temp_dir dir;
  const checked c = validate(export_json({dir.write("a.trace", a), dir.write("b.trace", b)}));
  CHECK(c.problems == std::vector<std::string>{});
  REQUIRE(c.process_names.size() == 2);
  REQUIRE(c.x.size() == 2);
  // b's run first (at 0, 200 ns long: 400 ticks at 2 per ns), then a's at 500 ns.
  CHECK(c.x[0].at("pid") == 2);
  CHECK(ns_of(c.x[0].at("ts")) == 0);
  CHECK(ns_of(c.x[0].at("dur")) == 200);
  CHECK(c.x[1].at("pid") == 1);
  CHECK(ns_of(c.x[1].at("ts")) == 500);
  CHECK(ns_of(c.x[1].at("dur")) == 100);
  // The remote sender is named from the other file.
  CHECK(c.x[0].at("args").at("sender") == "front@1");
  CHECK(c.flows == 0);
}

TEST_CASE("chrome: the command writes the file and reports what it drew") {
  temp_dir dir;
  const std::string out = dir.file("out.json");
  auto r = run_tool({"chrome", dir.write("split.trace", split_actor_trace()), "-o", out});
  REQUIRE(r.status == 0);
  CHECK_THAT(r.err, Catch::Contains("10 runs, 2 flows written to " + out));
  const checked c = validate(read_file(out));
  CHECK(c.problems == std::vector<std::string>{});
  CHECK(c.slices == 10);
}
