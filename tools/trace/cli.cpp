// cli: troupe-trace's subcommands (CLI11) and their error handling.
#include "cli.hpp"

#include "chrome.hpp"
#include "follow.hpp"
#include "format.hpp"
#include "graph.hpp"
#include "summary.hpp"

#include <CLI/CLI.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <vector>

namespace troupe::trace_tool {

namespace {

/// A decimal or 0x-hexadecimal id.
std::optional<std::uint64_t> parse_id(const std::string& s) {
  if (s.empty()) return std::nullopt;
  const bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  const std::string digits = hex ? s.substr(2) : s;
  if (digits.empty() || digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") != std::string::npos)
    return std::nullopt;
  try {
    return std::stoull(digits, nullptr, hex ? 16 : 10);
  } catch (const std::out_of_range&) {
    return std::nullopt;
  }
}

/// An output file ("-": standard output), failing clearly when it cannot be written.
class output {
 public:
  output(const std::string& path, std::ostream& stdout_stream) : path_(path) {
    if (path == "-") {
      out_ = &stdout_stream;
      return;
    }
    file_.open(path, std::ios::binary | std::ios::trunc);
    if (!file_) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    out_ = &file_;
  }
  std::ostream& stream() { return *out_; }
  void close() {
    out_->flush();
    if (file_.is_open()) file_.close();
    if (!*out_ || (path_ != "-" && file_.fail())) throw std::runtime_error("error writing " + path_);
  }

 private:
  std::string path_;
  std::ofstream file_;
  std::ostream* out_ = nullptr;
};

void print_warnings(const trace_set& set, std::ostream& err) {
  for (const std::string& w : set.warnings()) err << "troupe-trace: warning: " << w << '\n';
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err, const std::string& path_env) {
  CLI::App app("troupe-trace: reads the trace files troupe's recorder writes", "troupe-trace");
  app.require_subcommand(1);

  std::vector<std::string> files;
  std::string output_path;

  summary_options summary_opt;
  auto* summary_cmd = app.add_subcommand("summary", "per actor and message type: runs, handler time, mailbox wait, depth; slowest runs, dead letters, drops");
  summary_cmd->add_option("files", files, "trace files")->required();
  summary_cmd->add_option("--top", summary_opt.top, "rows per table (0: all)")->capture_default_str();

  chrome_options chrome_opt;
  auto* chrome_cmd = app.add_subcommand("chrome", "Chrome Trace Event JSON (open it in ui.perfetto.dev or chrome://tracing)");
  chrome_cmd->add_option("files", files, "trace files")->required();
  chrome_cmd->add_option("-o,--output", output_path, "the JSON file to write (-: standard output)")->required();
  chrome_cmd->add_option("--window", chrome_opt.window, "events held to order the output, runs remembered to draw flows")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  graph_options graph_opt;
  bool svg = false;
  auto* graph_cmd = app.add_subcommand("graph", "who sends to whom, as a Graphviz DOT graph");
  graph_cmd->add_option("files", files, "trace files")->required();
  graph_cmd->add_option("-o,--output", output_path, "the DOT file to write (-: standard output)")->required();
  graph_cmd->add_flag("--svg", svg, "also run `dot -Tsvg` (Graphviz) next to the DOT file");
  graph_cmd->add_option("--types", graph_opt.types, "message types listed per edge")->capture_default_str();

  follow_options follow_opt;
  std::vector<std::string> follow_args;
  std::string follow_id;
  auto* follow_cmd = app.add_subcommand("follow", "the causal tree of one trace (default: the slowest request)");
  follow_cmd->add_option("files", follow_args, "trace files, then optionally a trace id (or the id of a run in it)")->required();
  follow_cmd->add_option("--id", follow_id, "the trace id (or a run's id) to follow");
  follow_cmd->add_option("--limit", follow_opt.limit, "lines printed (0: all)")->capture_default_str();
  follow_cmd->add_option("--depth", follow_opt.max_indent, "levels of indentation before [depth N]")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err);
  }

  try {
    if (*follow_cmd) {
      // FILE... [ID]: the last argument is the id when it is a number and not a file.
      if (follow_args.size() >= 2 && !std::filesystem::exists(follow_args.back()))
        if (auto id = parse_id(follow_args.back())) {
          follow_opt.id = id;
          follow_args.pop_back();
        }
      if (!follow_id.empty()) {
        follow_opt.id = parse_id(follow_id);
        if (!follow_opt.id) throw std::runtime_error("--id " + follow_id + " is not a number");
      }
      files = follow_args;
    }

    const trace_set set = trace_set::load(files);

    if (*summary_cmd) {
      print_summary(set, summarize(set), out, summary_opt);
    } else if (*chrome_cmd) {
      print_warnings(set, err);
      output o(output_path, out);
      const chrome_stats s = write_chrome(set, o.stream(), chrome_opt);
      o.close();
      err << "troupe-trace: " << format_count(s.runs) << " runs, " << format_count(s.flows) << " flows written to "
          << output_path << '\n';
      if (s.flows_too_late > 0 || s.causes_unknown > 0)
        err << "troupe-trace: no arrow for " << format_count(s.causes_unknown + s.flows_too_late)
            << " messages whose sending run is not in the trace or more than --window " << chrome_opt.window
            << " events back\n";
      if (s.causes_elsewhere > 0)
        err << "troupe-trace: no arrow for " << format_count(s.causes_elsewhere)
            << " messages whose cause is not a run of their sender around the time they were sent\n";
      if (s.runs_out_of_order > 0)
        err << "troupe-trace: warning: " << format_count(s.runs_out_of_order)
            << " runs left out: their thread wrote them out of order by more than --window events\n";
    } else if (*graph_cmd) {
      if (svg && output_path == "-") throw std::runtime_error("--svg needs -o FILE, not standard output");
      print_warnings(set, err);
      output o(output_path, out);
      write_graph(set, o.stream(), graph_opt);
      o.close();
      if (svg) {
        const std::string svg_path = std::filesystem::path(output_path).replace_extension(".svg").string();
        render_svg(output_path, svg_path, path_env);
        err << "troupe-trace: wrote " << output_path << " and " << svg_path << '\n';
      }
    } else if (*follow_cmd) {
      print_warnings(set, err);
      follow(set, out, follow_opt);
    }
    out.flush();
    return 0;
  } catch (const std::exception& e) {
    err << "troupe-trace: error: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace troupe::trace_tool
