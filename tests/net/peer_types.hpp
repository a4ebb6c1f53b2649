// The messages that the multi-process tests, net_peer and the Python client exchange, and the
// registry that names them (the same on every side).
#pragma once

#include <troupe/net/type_registry.hpp>
#include <troupe/troupe.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace troupe::test::peer {

struct add {
  std::int32_t a;
  std::int32_t b;
};
struct record {
  std::int32_t n;
};
struct get_records {};
/// Asks the receiver to send `message` to `to` (a handle that may name a third node).
struct call_me_back {
  actor back;
  std::string text;
};
struct echoed {
  std::string text;
};
/// Asks a relay to send call_me_back{back, text} to `to`.
struct relay {
  actor to;
  actor back;
  std::string text;
};

/// To "worker": a coroutine handler that asks "holder" (which never answers) and awaits it; both
/// report what happens to "tracker" as strings.
struct slow_job {
  std::int32_t n;
};
/// To "holder": kept unanswered; its cancellation is reported.
struct hold_job {};
/// To "tracker": answered with the events reported so far, once there are at least `n`.
struct await_events {
  std::int32_t n;
};
/// To "worker": answered with the milliseconds left until the request's deadline (-1: none).
struct deadline_left {};

inline std::shared_ptr<net::type_registry> types() {
  auto t = std::make_shared<net::type_registry>();
  t->add<add>("peer.add");
  t->add<record>("peer.record");
  t->add<get_records>("peer.get_records");
  t->add<call_me_back>("peer.call_me_back");
  t->add<echoed>("peer.echoed");
  t->add<relay>("peer.relay");
  t->add<std::vector<std::int32_t>>("peer.ints");
  t->add<slow_job>("peer.slow_job");
  t->add<hold_job>("peer.hold_job");
  t->add<await_events>("peer.await_events");
  t->add<deadline_left>("peer.deadline_left");
  t->add<std::vector<std::string>>("peer.strings");
  return t;
}

}  // namespace troupe::test::peer
