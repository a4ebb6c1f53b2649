// catalog: the first pass over each trace file (see catalog.hpp) and the names it yields.
#include "catalog.hpp"

#include <algorithm>

namespace troupe::trace_tool {

std::string run_kind_name(std::uint8_t ekind) {
  switch (static_cast<tf::run_kind>(ekind)) {
    case tf::run_kind::message: return "message";
    case tf::run_kind::continuation: return "continuation";
    case tf::run_kind::resume: return "resume";
    case tf::run_kind::unreferenced: return "unreferenced";
    case tf::run_kind::idle_check: return "idle_check";
    case tf::run_kind::shutdown: return "shutdown";
    case tf::run_kind::exit_signal: return "exit_signal";
    case tf::run_kind::down_signal: return "down_signal";
    case tf::run_kind::link: return "link";
    case tf::run_kind::unlink: return "unlink";
    case tf::run_kind::monitor: return "monitor";
    case tf::run_kind::demonitor: return "demonitor";
    case tf::run_kind::kill: return "kill";
  }
  return "run_kind " + std::to_string(ekind);
}

std::string exit_category_name(std::uint8_t category) {
  switch (static_cast<tf::exit_category>(category)) {
    case tf::exit_category::normal: return "normal";
    case tf::exit_category::unreferenced: return "unreferenced";
    case tf::exit_category::shutdown: return "shutdown";
    case tf::exit_category::error: return "error";
    case tf::exit_category::killed: return "killed";
    case tf::exit_category::other: return "other";
  }
  return "category " + std::to_string(category);
}

std::string dead_letter_reason_name(std::uint32_t reason) {
  switch (static_cast<tf::dead_letter_reason>(reason)) {
    case tf::dead_letter_reason::not_alive: return "not alive";
    case tf::dead_letter_reason::no_handler: return "no handler";
    case tf::dead_letter_reason::mailbox_full: return "mailbox full";
    case tf::dead_letter_reason::no_actor: return "no actor";
    case tf::dead_letter_reason::other: return "other";
  }
  return "reason " + std::to_string(reason);
}

trace_set trace_set::load(const std::vector<std::string>& paths) {
  trace_set set;
  set.files_.reserve(paths.size());
  for (const std::string& path : paths) {
    trace_reader reader(path);
    set.files_.emplace_back();
    set.files_.back().path = path;
    set.files_.back().header = reader.header();
    set.files_.back().clock = tick_clock((reader.header().flags & tf::ticks_are_tsc) != 0);
    set.scan(set.files_.size() - 1, reader);
  }
  // Given names are shown alone when they identify one actor of their node.
  for (auto& [node, info] : set.nodes_)
    for (auto& [id, a] : info.actors)
      if (!a.name.empty()) ++info.name_uses[a.name];
  // The shared timeline starts at the earliest event of any file.
  bool any = false;
  std::int64_t first = 0, last = 0;
  for (const file_info& f : set.files_) {
    if (f.first_tick > f.last_tick) continue;  // no timed event
    const std::int64_t a = f.clock.realtime_ns(f.first_tick), b = f.clock.realtime_ns(f.last_tick);
    first = any ? std::min(first, a) : a;
    last = any ? std::max(last, b) : b;
    any = true;
  }
  set.origin_ns_ = first;
  set.span_ns_ = last - first;
  return set;
}

void trace_set::scan(std::size_t file, trace_reader& reader) {
  file_info& f = files_[file];
  node_info& node = nodes_[f.header.node];
  auto seen = [&f](std::uint64_t t) {
    f.first_tick = std::min(f.first_tick, t);
    f.last_tick = std::max(f.last_tick, t);
  };
  block b;
  while (reader.next(b)) {
    thread_info& t = f.threads[b.thread];
    t.blocks.push_back(b.offset);
    t.dropped += b.dropped;
    f.dropped += b.dropped;
    for (record_ref rec : b) {
      ++f.records;
      switch (rec.kind()) {
        case tf::kind::clock: f.clock.add(rec.as<tf::clock_record>()); break;
        case tf::kind::type_def: {
          const auto r = rec.as<tf::type_def_record>();
          node.types.try_emplace(r.type, rec.text(sizeof r));  // a repeated key keeps its name
          break;
        }
        case tf::kind::spawn:
        case tf::kind::name:
        case tf::kind::exit: {
          const auto r = rec.as<tf::actor_record>();
          actor_info& a = node.actors[r.actor];
          const std::string_view text = rec.text(sizeof r);
          if (rec.kind() == tf::kind::spawn) {
            a.type = text;
          } else if (rec.kind() == tf::kind::name) {
            a.name = text;
          } else {
            a.exited = true;
            a.exit = static_cast<tf::exit_category>(rec.flags());
            a.exit_reason = text;
          }
          seen(r.ts);
          break;
        }
        case tf::kind::handled: {
          const auto r = rec.as<tf::handled_record>();
          ++f.runs;
          seen(sent_ticks(r));
          seen(end_ticks(r));
          break;
        }
        case tf::kind::dead_letter: seen(rec.as<tf::dead_letter_record>().ts); break;
        case tf::kind::reply:
        case tf::kind::timeout: seen(rec.as<tf::reply_record>().ts); break;
        case tf::kind::suspend: seen(rec.as<tf::point_record>().ts); break;
        case tf::kind::timer_armed:
        case tf::kind::timer_fired: seen(rec.as<tf::timer_record>().ts); break;
        case tf::kind::thread_name: t.name = rec.text(sizeof(tf::string_record)); break;
        default: break;  // padding, and kinds newer than this tool
      }
    }
  }
  if (auto w = reader.warning()) {
    f.warning = *w;
    warnings_.push_back(f.path + ": " + *w);
  }
  if (!f.clock.rate_known())
    warnings_.push_back(f.path + ": the tick rate is unknown (fewer than two clock records): ticks are shown as ns");
}

std::string trace_set::type_name(std::size_t file, std::uint64_t type) const {
  const node_info& node = nodes_.at(node_of(file));
  if (auto it = node.types.find(type); it != node.types.end()) return it->second;
  return "type#" + std::to_string(type);
}

std::string trace_set::run_label(std::size_t file, const tf::handled_record& r) const {
  if (r.ekind == static_cast<std::uint8_t>(tf::run_kind::message) && r.type != 0) return type_name(file, r.type);
  return "(" + run_kind_name(r.ekind) + ")";
}

actor_key trace_set::sender_key(std::size_t file, const tf::handled_record& r) const {
  const std::uint64_t here = node_of(file);
  if (r.sender == 0 || !(r.h.flags & tf::remote_sender_flag)) return {here, r.sender};
  std::uint64_t found = unknown_node;
  for (const auto& [node, info] : nodes_) {
    if (node == here || !info.actors.contains(r.sender)) continue;
    if (found != unknown_node) return {unknown_node, r.sender};  // ambiguous
    found = node;
  }
  return {found, r.sender};
}

const actor_info* trace_set::actor(actor_key k) const {
  auto n = nodes_.find(k.node);
  if (n == nodes_.end()) return nullptr;
  auto a = n->second.actors.find(k.id);
  return a == n->second.actors.end() ? nullptr : &a->second;
}

std::string trace_set::actor_name(actor_key k) const {
  if (k.id == 0) return "(outside)";
  const std::string id = std::to_string(k.id);
  if (k.node == unknown_node) return "remote actor#" + id;
  std::string name;
  if (const actor_info* a = actor(k); a && !a->name.empty()) {
    const auto& uses = nodes_.at(k.node).name_uses;
    auto it = uses.find(a->name);
    name = it != uses.end() && it->second > 1 ? a->name + "#" + id : a->name;
  } else if (a && !a->type.empty()) {
    name = a->type + "#" + id;
  } else {
    name = "actor#" + id;
  }
  if (nodes_.size() > 1) name += "@" + std::to_string(k.node);
  return name;
}

}  // namespace troupe::trace_tool
