// supervisor: starts children from specifications and restarts them when they fail.
//
//   using namespace troupe::actors;
//   auto sup = spawn_supervisor(sys, {.strategy = restart_strategy::one_for_one,
//                                     .max_restarts = 3, .within = 5s},
//                               {{"db", [](actor_system& s) { return s.spawn(db_actor); }},
//                                {"cache", start_cache, restart_policy::transient}});
//   actor db = troupe::request(sup, child_named{"db"}, 1s).get().value();
//
// Strategies: one_for_one restarts the failed child; one_for_all stops and restarts all;
// rest_for_one stops and restarts the failed child and those started after it (in order).
// Policies: permanent children are always restarted, transient ones only after a non-normal
// exit, temporary ones never. Intensity: more than `max_restarts` restarts within `within`
// makes the supervisor give up: it exits with errc::user "restart intensity exceeded", which
// (through links) stops its children, and its own supervisor, if any, sees it fail. So a
// supervisor is itself a fine child of another supervisor (supervision trees).
//
// Stable names: a child's handle changes when it restarts. Clients ask the supervisor
// (`child_named{name}` -> the current handle), or give the supervisor a registry
// (options.names): every (re)start registers the child there under its name (the supervisor
// owns those names and takes them over).
#pragma once

#include <troupe/actor_system.hpp>
#include <troupe/actors/registry.hpp>
#include <troupe/time.hpp>
#include <troupe/typed_actor.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace troupe::actors {

enum class restart_strategy : std::uint8_t { one_for_one, one_for_all, rest_for_one };
enum class restart_policy : std::uint8_t { permanent, transient, temporary };

struct child_spec {
  std::string name;
  std::function<actor(actor_system&)> start;
  restart_policy policy = restart_policy::permanent;
};

struct supervisor_options {
  restart_strategy strategy = restart_strategy::one_for_one;
  int max_restarts = 3;
  duration within = std::chrono::seconds(5);
  /// If set, every (re)started child is registered there under its name.
  registry names = {};
};

struct child_named {
  std::string name;
};
/// Restarts performed so far.
struct restart_count {};

using supervisor = typed_actor<actor(child_named), int(restart_count)>;

supervisor spawn_supervisor(actor_system& sys, supervisor_options opts, std::vector<child_spec> children);

}  // namespace troupe::actors
