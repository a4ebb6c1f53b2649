// topic<T>: publish/subscribe for messages of type T.
//
//   auto chat = troupe::actors::spawn_topic<chat_line>(sys);
//   troupe::send(chat, troupe::actors::subscribe{alice});
//   troupe::send(chat, chat_line{"hello"});        // every subscriber gets a copy
//
// A topic actor keeps its subscribers, sends each published T to every one of them (in
// subscription order, with the topic as the sender; the publisher's order is kept per
// subscriber), monitors them and drops
// those that die. subscribe/unsubscribe are acknowledged when sent as requests; subscribing
// twice is harmless. T must be copyable. A request `subscribers{}` answers the current count.
#pragma once

#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>
#include <troupe/exit_reason.hpp>
#include <troupe/typed_actor.hpp>

#include <algorithm>
#include <memory>
#include <type_traits>
#include <vector>

namespace troupe::actors {

struct subscribe {
  actor who;
};
struct unsubscribe {
  actor who;
};
struct subscribers {};

template <class T>
using topic = typed_actor<void(subscribe), void(unsubscribe), std::size_t(subscribers), void(T)>;

namespace detail {
template <class T>
typename topic<T>::behavior_type topic_impl(actor_base& self) {
  self.set_name("topic");  // what troupe-trace shows
  auto subs = std::make_shared<std::vector<actor>>();
  return {
      [&self, subs](subscribe s) {
        if (s.who && std::find(subs->begin(), subs->end(), s.who) == subs->end()) {
          subs->push_back(s.who);
          self.monitor(s.who);
        }
      },
      [&self, subs](unsubscribe u) {
        auto it = std::find(subs->begin(), subs->end(), u.who);
        if (it != subs->end()) {
          subs->erase(it);
          self.demonitor(u.who);
        }
      },
      [subs](subscribers) { return subs->size(); },
      [&self, subs](const T& msg) {
        for (auto& s : *subs) self.send(s, msg);
      },
      [subs](down_msg d) { std::erase(*subs, d.source); },
  };
}
}  // namespace detail

template <class T>
topic<T> spawn_topic(actor_system& sys) {
  static_assert(std::is_copy_constructible_v<T>, "published messages are copied to every subscriber");
  return sys.spawn(detail::topic_impl<T>);
}

}  // namespace troupe::actors
