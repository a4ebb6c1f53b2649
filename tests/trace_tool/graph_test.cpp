// Tests of troupe-trace graph: the DOT edges and their counts, remote senders found in another
// node's file, and --svg without Graphviz.
#include "graph.hpp"
#include "synthetic.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace trace_test;
using namespace troupe::trace_tool;

namespace {

/// client (1) sends worker (2) three pings and a pong, worker sends db (3) two queries, and
/// client gets a start from outside any actor; a continuation has no sender and is no edge.
synthetic_trace talk_trace() {
  synthetic_trace t(1);
  t.block(1).type_def(1, "ping").type_def(2, "pong").type_def(3, "query").type_def(4, "start");
  t.name(1, "client").spawn(2, "worker_actor").spawn(3, "db_actor");
  t.handled({.id = 1, .actor = 1, .type = 4, .start = 1, .end = 2});
  for (std::uint64_t i = 0; i < 3; ++i) t.handled({.id = 10 + i, .actor = 2, .sender = 1, .type = 1, .start = 10 + i, .end = 11 + i});
  t.block(2).handled({.id = 20, .actor = 2, .sender = 1, .type = 2, .start = 20, .end = 21});
  t.handled({.id = 30, .actor = 3, .sender = 2, .type = 3, .start = 30, .end = 31});
  t.handled({.id = 31, .actor = 3, .sender = 2, .type = 3, .start = 32, .end = 33});
  t.handled({.id = 40, .actor = 2, .start = 40, .end = 41, .kind = tf::run_kind::continuation});
  return t;
}

std::string dot_of(const std::vector<std::string>& files, graph_options opt = {}) {
  std::ostringstream out;
  write_graph(trace_set::load(files), out, opt);
  return out.str();
}

}  // namespace

TEST_CASE("graph: who sends to whom, with counts and the most frequent types") {
  temp_dir dir;
  const std::string dot = dot_of({dir.write("talk.trace", talk_trace())});
  CAPTURE(dot);
  CHECK(dot.starts_with("// troupe-trace graph"));
  CHECK_THAT(dot, Catch::Contains("digraph troupe {"));
  CHECK_THAT(dot, Catch::Contains("  n1_1 [label=\"client\"];"));
  CHECK_THAT(dot, Catch::Contains("  n1_2 [label=\"worker_actor#2\"];"));
  CHECK_THAT(dot, Catch::Contains("  n1_outside [label=\"(outside)\", shape=ellipse];"));
  CHECK_THAT(dot, Catch::Contains("  n1_1 -> n1_2 [label=\"4\\nping ×3\\npong ×1\", penwidth=1.6];"));
  CHECK_THAT(dot, Catch::Contains("  n1_2 -> n1_3 [label=\"2\\nquery ×2\", penwidth=1.3];"));
  CHECK_THAT(dot, Catch::Contains("  n1_outside -> n1_1 [label=\"1\\nstart ×1\", penwidth=1.0];"));
  CHECK_THAT(dot, !Catch::Contains("continuation"));
  CHECK(dot.ends_with("}\n"));

  const auto edges = collect_edges(trace_set::load({dir.file("talk.trace")}));
  CHECK(edges.size() == 3);
  CHECK(edges.at({actor_key{1, 1}, actor_key{1, 2}}).messages == 4);

  SECTION("counts only") {
    const std::string plain = dot_of({dir.file("talk.trace")}, {.types = 0});
    CHECK_THAT(plain, Catch::Contains("n1_1 -> n1_2 [label=\"4\", penwidth=1.6];"));
  }
  SECTION("fewer types than there are") {
    const std::string one = dot_of({dir.file("talk.trace")}, {.types = 1});
    CHECK_THAT(one, Catch::Contains("n1_1 -> n1_2 [label=\"4\\nping ×3\\n(1 more types)\""));
  }
}

TEST_CASE("graph: a remote sender is found in the other node's file, and nodes are clusters") {
  synthetic_trace front(1), back(2);
  front.block(1).name(5, "front").handled({.id = 1, .actor = 5, .start = 1, .end = 2});
  back.block(1).type_def(9, "job").name(7, "back");
  back.handled({.id = 1, .actor = 7, .sender = 5, .type = 9, .start = 5, .end = 6, .flags = tf::remote_sender_flag});
  back.handled({.id = 2, .actor = 7, .sender = 5, .type = 9, .start = 7, .end = 8, .flags = tf::remote_sender_flag});
  // An actor id no loaded file knows.
  back.handled({.id = 3, .actor = 7, .sender = 77, .type = 9, .start = 9, .end = 10, .flags = tf::remote_sender_flag});
  temp_dir dir;
  const std::string dot = dot_of({dir.write("front.trace", front), dir.write("back.trace", back)});
  CAPTURE(dot);
  CHECK_THAT(dot, Catch::Contains("subgraph cluster_1 {"));
  CHECK_THAT(dot, Catch::Contains("subgraph cluster_2 {"));
  CHECK_THAT(dot, Catch::Contains("n1_5 [label=\"front@1\"];"));
  CHECK_THAT(dot, Catch::Contains("n1_5 -> n2_7 [label=\"2\\njob ×2\""));
  CHECK_THAT(dot, Catch::Contains("remote_77 -> n2_7 [label=\"1\\njob ×1\""));
}

TEST_CASE("graph: the command writes the DOT file, and --svg needs Graphviz") {
  temp_dir dir;
  const std::string trace = dir.write("talk.trace", talk_trace());
  const std::string out = dir.file("g.dot");
  SECTION("DOT only") {
    auto r = run_tool({"graph", trace, "-o", out});
    REQUIRE(r.status == 0);
    CHECK_THAT(read_file(out), Catch::Contains("n1_1 -> n1_2"));
  }
  SECTION("--svg with no dot on PATH: a clear error, the DOT file is there") {
    auto r = run_tool({"graph", trace, "-o", out, "--svg"}, dir.file("no-such-dir"));
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("--svg needs Graphviz's `dot` on PATH"));
    CHECK_THAT(read_file(out), Catch::Contains("n1_1 -> n1_2"));
  }
  SECTION("--svg runs dot") {
    // A stand-in for Graphviz's dot: writes what it was asked to, as dot -Tsvg IN -o OUT would.
    const std::string fake = dir.write("dot", "#!/bin/sh\n[ \"$1\" = -Tsvg ] && [ \"$3\" = -o ] && echo \"<svg>$2</svg>\" > \"$4\"\n");
    std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
    auto r = run_tool({"graph", trace, "-o", out, "--svg"}, "/nonexistent:" + dir.file(""));
    CHECK(r.status == 0);
    CHECK(read_file(dir.file("g.svg")) == "<svg>" + out + "</svg>\n");
  }
  SECTION("find_on_path") {
    CHECK(find_on_path("sh", "/nonexistent:/bin:/usr/bin").has_value());
    CHECK_FALSE(find_on_path("surely-not-a-program", "/bin:/usr/bin").has_value());
  }
}
