// A local name registry: register an actor under a name, look it up, unregister it. Entries are
// removed when their actor dies (the registry monitors every registered actor), so a lookup
// never returns a dead actor for long: at most until the down message is handled.
//
//   troupe::actors::registry names = troupe::actors::spawn_registry(sys);
//   bool ok = troupe::request(names, troupe::actors::register_name{"db", db}, 1s).get().value();
//   troupe::actor found = troupe::request(names, troupe::actors::lookup_name{"db"}, 1s).get().value();
//
// Registering a name that a live actor holds fails (returns false); re-registering the same
// actor under its own name succeeds. An actor may hold several names.
#pragma once

#include <troupe/actor_system.hpp>
#include <troupe/typed_actor.hpp>

#include <string>

namespace troupe::actors {

struct register_name {
  std::string name;
  actor who;
};
struct lookup_name {
  std::string name;
};
struct unregister_name {
  std::string name;
};

/// The registry's interface: register -> true if the name is now `who`'s; lookup -> the actor
/// or an empty handle; unregister -> acknowledged (also when the name was free).
using registry = typed_actor<bool(register_name), actor(lookup_name), void(unregister_name)>;

registry spawn_registry(actor_system& sys);

}  // namespace troupe::actors
