#include <troupe/actors/supervisor.hpp>

#include <troupe/behavior.hpp>
#include <troupe/exit_reason.hpp>
#include <troupe/request.hpp>

#include <spdlog/logger.h>

#include <deque>
#include <memory>

namespace troupe::actors {
namespace {

struct child {
  child_spec spec;
  actor handle;  // empty when not running (a temporary child that exited)
};

struct state {
  supervisor_options opts;
  std::vector<child> children;
  std::deque<time_point> restarts;  // within the intensity window
  int total_restarts = 0;
};

void start(actor_base& self, state& st, child& c) {
  c.handle = c.spec.start(self.system());
  self.link_to(c.handle);
  if (st.opts.names) {
    // The supervisor owns its children's names: take the name over (the registry may not have
    // seen the old child's death yet; when it does, it only drops entries naming the dead one).
    send(st.opts.names, unregister_name{c.spec.name});
    send(st.opts.names, register_name{c.spec.name, c.handle});
  }
}

void stop(actor_base& self, child& c) {
  if (!c.handle) return;
  self.unlink_from(c.handle);  // its exit is ours to cause: no exit_msg wanted
  send_exit(c.handle, exit_reason::kill());
  c.handle.reset();
}

/// Records a restart; false when the intensity limit is exceeded.
bool allow_restart(actor_base& self, state& st) {
  const time_point now = self.system().timers().now();
  while (!st.restarts.empty() && now - st.restarts.front() > st.opts.within) st.restarts.pop_front();
  if (static_cast<int>(st.restarts.size()) >= st.opts.max_restarts) return false;
  st.restarts.push_back(now);
  ++st.total_restarts;
  return true;
}

bool wants_restart(const child& c, const exit_reason& why) {
  switch (c.spec.policy) {
    case restart_policy::permanent: return true;
    case restart_policy::transient: return !why.is_normal();
    case restart_policy::temporary: return false;
  }
  return false;
}

supervisor::behavior_type supervisor_impl(actor_base& self, supervisor_options opts, std::vector<child_spec> specs) {
  self.set_name("supervisor");  // what troupe-trace shows
  self.trap_exit(true);
  auto st = std::make_shared<state>();
  st->opts = std::move(opts);
  for (auto& s : specs) st->children.push_back({std::move(s), {}});
  for (auto& c : st->children) start(self, *st, c);
  return {
      [st](child_named n) {
        for (auto& c : st->children)
          if (c.spec.name == n.name) return c.handle;
        return actor();
      },
      [st](restart_count) { return st->total_restarts; },
      [&self, st](exit_msg m) {
        auto& cs = st->children;
        std::size_t i = 0;
        while (i < cs.size() && cs[i].handle != m.source) ++i;
        if (i == cs.size()) {  // not a child: a linked parent or send_exit; behave as untrapped
          if (!m.reason.is_normal()) self.quit(m.reason);
          return;
        }
        cs[i].handle.reset();
        if (!wants_restart(cs[i], m.reason)) return;
        if (!allow_restart(self, *st)) {
          self.system().logger().warn("supervisor actor#{}: restart intensity exceeded, giving up", self.handle().id());
          for (auto& c : cs) stop(self, c);
          self.quit(error(errc::user, "restart intensity exceeded"));
          return;
        }
        std::size_t first = i, last = i + 1;  // the range to restart
        if (st->opts.strategy == restart_strategy::one_for_all) first = 0, last = cs.size();
        if (st->opts.strategy == restart_strategy::rest_for_one) last = cs.size();
        for (std::size_t k = first; k < last; ++k)
          if (k != i) stop(self, cs[k]);
        for (std::size_t k = first; k < last; ++k)
          if (k == i || cs[k].spec.policy != restart_policy::temporary) start(self, *st, cs[k]);
      },
  };
}

}  // namespace

supervisor spawn_supervisor(actor_system& sys, supervisor_options opts, std::vector<child_spec> children) {
  return sys.spawn(supervisor_impl, std::move(opts), std::move(children));
}

}  // namespace troupe::actors
