// graph: troupe-trace graph — who talks to whom, as a Graphviz DOT digraph: a node per actor
// (a cluster per node when several files are loaded), an edge sender → receiver per pair that
// exchanged messages, labelled with how many runs its messages caused and the most frequent
// message types. Messages sent from outside any actor come from "(outside)".
#pragma once

#include "catalog.hpp"

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace troupe::trace_tool {

struct graph_edge {
  std::uint64_t messages = 0;
  std::map<std::string, std::uint64_t> types;  // message type (or run kind) → count
};

/// sender → receiver, over every run of every file.
std::map<std::pair<actor_key, actor_key>, graph_edge> collect_edges(const trace_set& set);

struct graph_options {
  std::size_t types = 3;  // message types listed on each edge (0: counts only)
};

void write_graph(const trace_set& set, std::ostream& out, const graph_options& opt = {});

/// Where `program` is on a PATH-style list of directories, if anywhere.
std::optional<std::string> find_on_path(const std::string& program, const std::string& path_list);

/// Runs `dot -Tsvg dot_file -o svg_file`, finding dot on `path_list` (the PATH to use). Throws
/// std::runtime_error when dot is missing or fails.
void render_svg(const std::string& dot_file, const std::string& svg_file, const std::string& path_list);

}  // namespace troupe::trace_tool
