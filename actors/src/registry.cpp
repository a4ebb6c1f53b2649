#include <troupe/actors/registry.hpp>

#include <troupe/behavior.hpp>
#include <troupe/exit_reason.hpp>

#include <unordered_map>

namespace troupe::actors {
namespace {

registry::behavior_type registry_impl(actor_base& self) {
  self.set_name("registry");  // what troupe-trace shows
  auto names = std::make_shared<std::unordered_map<std::string, actor>>();
  // down_msg is handled too (outside the typed interface): the runtime sends it when a
  // monitored actor dies.
  return {
      [&self, names](register_name r) {
        if (!r.who) return false;
        auto [it, inserted] = names->try_emplace(r.name, r.who);
        if (!inserted && it->second != r.who) return false;
        if (inserted) self.monitor(r.who);
        return true;
      },
      [names](lookup_name l) {
        auto it = names->find(l.name);
        return it == names->end() ? actor() : it->second;
      },
      [names](unregister_name u) { names->erase(u.name); },
      [names](down_msg d) {
        std::erase_if(*names, [&](const auto& entry) { return entry.second == d.source; });
      },
  };
}

}  // namespace

registry spawn_registry(actor_system& sys) { return sys.spawn(registry_impl); }

}  // namespace troupe::actors
