// graph: the edges of troupe-trace graph, their DOT rendering, and running Graphviz for --svg.
#include "graph.hpp"

#include "format.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <set>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace troupe::trace_tool {

std::map<std::pair<actor_key, actor_key>, graph_edge> collect_edges(const trace_set& set) {
  std::map<std::pair<actor_key, actor_key>, graph_edge> edges;
  block b;
  for (std::size_t fi = 0; fi < set.files().size(); ++fi) {
    trace_reader reader(set.files()[fi].path);
    while (reader.next(b)) {
      for (record_ref rec : b) {
        if (rec.kind() != tf::kind::handled) continue;
        const auto r = rec.as<tf::handled_record>();
        // Messages only: continuations and resumptions are an actor's own work (the reply
        // that woke them is a message already counted), signals are not communication.
        if (r.ekind != static_cast<std::uint8_t>(tf::run_kind::message)) continue;
        graph_edge& e = edges[{set.sender_key(fi, r), set.key(fi, r.actor)}];
        ++e.messages;
        ++e.types[set.run_label(fi, r)];
      }
    }
  }
  return edges;
}

namespace {

/// A DOT identifier for an actor: n<node>_<id>, "remote_<id>" for an unknown node.
std::string dot_id(actor_key k) {
  if (k.node == unknown_node) return "remote_" + std::to_string(k.id);
  return "n" + std::to_string(k.node) + (k.id == 0 ? std::string("_outside") : "_" + std::to_string(k.id));
}

}  // namespace

void write_graph(const trace_set& set, std::ostream& out, const graph_options& opt) {
  const auto edges = collect_edges(set);
  std::set<actor_key> actors;
  for (const auto& [ends, e] : edges) {
    actors.insert(ends.first);
    actors.insert(ends.second);
  }

  out << "// troupe-trace graph: sender -> receiver; labels: messages handled, then the most frequent types\n"
         "digraph troupe {\n"
         "  graph [rankdir=LR, fontname=\"Helvetica\"];\n"
         "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
         "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  // Nodes, in a cluster per troupe node when several are loaded.
  const bool clusters = set.node_count() > 1;
  std::uint64_t current = 0;
  bool open = false;
  for (const actor_key& a : actors) {
    if (clusters && (!open || a.node != current)) {
      if (open) out << "  }\n";
      current = a.node;
      open = true;
      out << "  subgraph cluster_" << (a.node == unknown_node ? std::string("remote") : std::to_string(a.node))
          << " {\n    label=" << dot_string(a.node == unknown_node ? "unknown node" : "node " + std::to_string(a.node))
          << ";\n";
    }
    out << (clusters ? "    " : "  ") << dot_id(a) << " [label=" << dot_string(set.actor_name(a))
        << (a.id == 0 ? ", shape=ellipse" : "") << "];\n";
  }
  if (open) out << "  }\n";

  for (const auto& [ends, e] : edges) {
    std::string label = format_count(e.messages);
    if (opt.types > 0) {
      std::vector<std::pair<std::uint64_t, std::string>> types;
      for (const auto& [name, n] : e.types) types.emplace_back(n, name);
      std::stable_sort(types.begin(), types.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      for (std::size_t i = 0; i < types.size() && i < opt.types; ++i)
        label += "\n" + types[i].second + " ×" + format_count(types[i].first);
      if (types.size() > opt.types) label += "\n(" + std::to_string(types.size() - opt.types) + " more types)";
    }
    char width[16];
    std::snprintf(width, sizeof width, "%.1f", 1.0 + std::log10(static_cast<double>(e.messages)));
    out << "  " << dot_id(ends.first) << " -> " << dot_id(ends.second) << " [label=" << dot_string(label)
        << ", penwidth=" << width << "];\n";
  }
  out << "}\n";
}

std::optional<std::string> find_on_path(const std::string& program, const std::string& path_list) {
  std::size_t begin = 0;
  while (begin <= path_list.size()) {
    std::size_t end = path_list.find(':', begin);
    if (end == std::string::npos) end = path_list.size();
    std::string dir = path_list.substr(begin, end - begin);
    if (dir.empty()) dir = ".";  // an empty PATH entry is the current directory
    const std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    begin = end + 1;
  }
  return std::nullopt;
}

void render_svg(const std::string& dot_file, const std::string& svg_file, const std::string& path_list) {
  const auto dot = find_on_path("dot", path_list);
  if (!dot) throw std::runtime_error("--svg needs Graphviz's `dot` on PATH (Debian: apt-get install graphviz); " + dot_file + " was written");
  std::vector<std::string> args{*dot, "-Tsvg", dot_file, "-o", svg_file};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::pid_t child = 0;
  if (int e = ::posix_spawn(&child, dot->c_str(), nullptr, nullptr, argv.data(), environ); e != 0)
    throw std::runtime_error("cannot run " + *dot + ": " + std::strerror(e));
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waiting for dot: " + std::string(std::strerror(errno)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(*dot + " failed to render " + svg_file + " (exit status " +
                             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
}

}  // namespace troupe::trace_tool
