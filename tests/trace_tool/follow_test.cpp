// Tests of troupe-trace follow: the tree of a known chain (request → handler → sub-request →
// reply → continuation) in order and indented by cause, the slowest request found and marked,
// and a chain 100,000 runs deep.
#include "follow.hpp"
#include "synthetic.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace trace_test;
using namespace troupe::trace_tool;

namespace {

/// client (1) handles "start" (run 10) and asks worker (2) to "compute" (run 20, a request);
/// worker asks db (3) a "query" (run 30), suspends, and db replies; worker's continuation (run
/// 40) replies to the client, whose continuation (run 50) ends the chain. Ticks are ns. The
/// records are spread over threads and blocks out of causal order. Trace 600 is another,
/// faster chain.
synthetic_trace chain_trace() {
  synthetic_trace t(1);
  t.block(0).clock(0, 0, 1'000'000'000'000);
  t.block(2)
      .type_def(1, "start")
      .name(1, "client")
      .name(2, "worker")
      .name(3, "db")
      .handled({.id = 50, .trace = 500, .cause = 40, .actor = 1, .sent = 255, .start = 270, .end = 280,
                .kind = tf::run_kind::continuation})
      .reply(250, 2, 500, 40, 20, 50);  // worker answers compute: latency 200
  t.block(1)
      .type_def(2, "compute")
      .type_def(3, "query")
      .handled({.id = 10, .trace = 500, .actor = 1, .type = 1, .sent = 0, .start = 10, .end = 100})
      .handled({.id = 20, .trace = 500, .cause = 10, .actor = 2, .sender = 1, .type = 2, .sent = 50, .start = 60,
                .end = 150, .flags = tf::request_flag})
      .suspend(140, 2, 500, 20)
      .handled({.id = 40, .trace = 500, .cause = 30, .actor = 2, .sender = 3, .sent = 195, .start = 210,
                .end = 260, .kind = tf::run_kind::continuation});
  t.block(3)
      .handled({.id = 30, .trace = 500, .cause = 20, .actor = 3, .sender = 2, .type = 3, .sent = 120, .start = 130,
                .end = 200, .flags = tf::request_flag})
      .reply(190, 3, 500, 30, 30, 120)  // db answers query: latency 70
      // The other chain: a request answered in 10 ns.
      .handled({.id = 60, .trace = 600, .actor = 3, .type = 3, .sent = 1000, .start = 1002, .end = 1008,
                .flags = tf::request_flag})
      .reply(1010, 3, 600, 60, 60, 1000);
  return t;
}

std::string follow_text(const std::vector<std::string>& files, follow_options opt = {}) {
  std::ostringstream out;
  follow(trace_set::load(files), out, opt);
  return out.str();
}

/// The depth of a tree line: its indentation after the 13-character time column, in pairs.
std::size_t depth_of(const std::string& line) {
  const std::size_t text = line.find_first_not_of(' ', 13);
  return (text - 13) / 2;
}

}  // namespace

TEST_CASE("follow: the slowest request's chain, as a tree in causal and time order") {
  temp_dir dir;
  const std::string text = follow_text({dir.write("chain.trace", chain_trace())});
  CAPTURE(text);
  const auto lines = lines_of(text);
  REQUIRE(lines.size() == 2 + 8);
  CHECK(lines[0] == "slowest request: latency 200 ns, trace 500");
  // Times are from the chain's first event: run 10's start (its message has no sent stamp).
  CHECK(lines[1] == "trace 500: 8 events over 270 ns");

  // (time, depth, what) of each line of the tree.
  struct expected {
    const char* time;
    std::size_t depth;
    const char* text;
  };
  const expected tree[] = {
      {"+0 ns", 0, "client: start  wait 0 ns, handler 90 ns  [run 10]"},
      {"+50 ns", 1, "worker: compute (request) from client  wait 10 ns, handler 90 ns  [run 20]  <== slowest request (latency 200 ns)"},
      {"+120 ns", 2, "db: query (request) from worker  wait 10 ns, handler 70 ns  [run 30]"},
      {"+180 ns", 3, "reply from db to run 30, latency 70 ns"},
      {"+200 ns", 3, "worker: (continuation) from db  wait 15 ns, handler 50 ns  [run 40]"},
      {"+240 ns", 4, "reply from worker to run 20, latency 200 ns"},
      {"+260 ns", 4, "client: (continuation)  wait 15 ns, handler 10 ns  [run 50]"},
      {"+130 ns", 2, "worker suspends (co_await)"},
  };
  for (std::size_t i = 0; i < std::size(tree); ++i) {
    CAPTURE(i);
    const std::string& line = lines[2 + i];
    CHECK(line.substr(0, 11).find(tree[i].time) != std::string::npos);
    CHECK(line.substr(0, 11).ends_with(tree[i].time));  // right-aligned
    CHECK(depth_of(line) == tree[i].depth);
    CHECK(line.substr(13 + 2 * tree[i].depth) == tree[i].text);
  }
}

TEST_CASE("follow: a given trace id, or the id of a run in the chain") {
  temp_dir dir;
  const std::string path = dir.write("chain.trace", chain_trace());
  SECTION("trace id") {
    const auto lines = lines_of(follow_text({path}, {.id = 600}));
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "trace 600: 2 events over 10 ns");
    CHECK_THAT(lines[1], Catch::EndsWith("db: query (request)  wait 2 ns, handler 6 ns  [run 60]"));
    CHECK_THAT(lines[2], Catch::EndsWith("  reply from db to run 60, latency 10 ns"));
  }
  SECTION("run id") {
    const std::string text = follow_text({path}, {.id = 30});
    CHECK_THAT(text, Catch::StartsWith("run 30 is in trace 500\ntrace 500: 8 events"));
  }
  SECTION("on the command line, FILE... ID") {
    auto r = run_tool({"follow", path, "600"});
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("trace 600: 2 events"));
    auto hex = run_tool({"follow", path, "--id", "0x258"});
    CHECK_THAT(hex.out, Catch::StartsWith("trace 600: 2 events"));
  }
  SECTION("an id of nothing") {
    auto r = run_tool({"follow", path, "12345"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("no record of trace 12345"));
  }
}

TEST_CASE("follow: a chain 100,000 runs deep, without recursion, indentation capped, lines limited") {
  constexpr std::uint64_t depth = 100'000;
  synthetic_trace t(1);
  t.block(0).clock(0, 0, 1'000'000'000'000);
  t.block(1).type_def(1, "hop");
  // Written deepest first, over blocks of 1,000 runs.
  for (std::uint64_t i = depth; i >= 1; --i) {
    if (i % 1000 == 0) t.block(1 + static_cast<std::uint32_t>(i / 1000 % 4));
    t.handled({.id = i, .trace = 7, .cause = i - 1, .actor = 1 + i % 3, .sender = 1 + (i - 1) % 3, .type = 1,
               .sent = 10 * i - 5, .start = 10 * i, .end = 10 * i + 4});
  }
  temp_dir dir;
  const std::string path = dir.write("deep.trace", t);

  SECTION("the first 200 lines") {
    const auto lines = lines_of(follow_text({path}, {.id = 7}));
    REQUIRE(lines.size() == 1 + 200 + 1);
    CHECK(lines[0] == "trace 7: 100,000 events over 1.00 ms");
    CHECK(depth_of(lines[1]) == 0);
    CHECK(depth_of(lines[40 + 1]) == 40);
    CHECK(lines[40 + 1].find("[depth") == std::string::npos);
    CHECK(depth_of(lines[41 + 1]) == 40);  // capped
    CHECK_THAT(lines[41 + 1], Catch::Contains("[depth 41] actor#"));
    CHECK_THAT(lines[200], Catch::Contains("[depth 199] "));
    CHECK(lines.back() == "... 99,800 more lines (--limit 0 shows all)");
  }
  SECTION("all of it") {
    const auto lines = lines_of(follow_text({path}, {.id = 7, .limit = 0}));
    REQUIRE(lines.size() == 1 + depth);
    CHECK_THAT(lines.back(), Catch::Contains("[depth 99999] ") && Catch::Contains("[run 100000]"));
  }
}

TEST_CASE("follow: nothing to follow is an error") {
  synthetic_trace t(1);
  t.block(1).handled({.id = 1, .actor = 1, .start = 1, .end = 2});
  temp_dir dir;
  auto r = run_tool({"follow", dir.write("plain.trace", t)});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("no sampled request was answered"));
}
