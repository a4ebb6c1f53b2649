// The node: connections and their handshake. All connection state lives on the transport's
// loop thread; the public functions post work there.
#include <troupe/net/node.hpp>

#include <troupe/net/serialization.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <spdlog/logger.h>

#include <array>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>
#include <stdexcept>

namespace troupe::net {

namespace {

using nonce = std::array<std::byte, 32>;
using mac = std::array<std::byte, 32>;

constexpr std::string_view handshake_label = "troupe handshake v1";

nonce fresh_nonce() {
  nonce n;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(n.data()), static_cast<int>(n.size())) != 1)
    throw std::runtime_error("troupe::net: no randomness for a handshake nonce");
  return n;
}

/// HMAC-SHA256(secret, label | nonce_a | nonce_b | u64 from | u64 to): what `from` proves to
/// `to`, over `to`'s fresh nonce first.
mac proof(const std::string& secret, const nonce& theirs, const nonce& mine, node_id from, node_id to) {
  std::vector<std::byte> data;
  writer w(data);
  w.bytes(handshake_label.data(), handshake_label.size());
  w.bytes(theirs.data(), theirs.size());
  w.bytes(mine.data(), mine.size());
  w.u64(from.value);
  w.u64(to.value);
  mac out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), reinterpret_cast<unsigned char*>(out.data()), &len);
  return out;
}

}  // namespace

struct node::impl final : std::enable_shared_from_this<node::impl>, handle_resolver {
  struct connection final : stream_handler {
    impl& owner;
    std::shared_ptr<stream> io;
    frame_decoder decoder;
    bool outgoing;
    nonce mine = fresh_nonce();
    nonce theirs{};
    node_id peer{};
    bool got_hello = false;
    bool peer_verified = false;  // its proof checked out
    bool welcomed = false;       // it accepted ours
    bool ready = false;
    bool closed = false;
    troupe::detail::state_ptr<node_id> connected;  // the connect() future, for outgoing connections
    // Type numbers of this connection, each direction its own (type_def frames).
    std::unordered_map<const message_type*, std::uint32_t> out_types;
    std::vector<const message_type*> in_types;  // null: a name this node has not registered

    connection(impl& o, std::shared_ptr<stream> s, bool out)
        : owner(o), io(std::move(s)), decoder(o.cfg.max_frame), outgoing(out) {}

    void on_bytes(std::span<const std::byte> bytes) override { owner.on_bytes(*this, bytes); }
    void on_closed(const std::string& reason) override { owner.on_closed(*this, reason); }
  };

  actor_system& sys;
  node_config cfg;
  std::unique_ptr<transport> net;
  // Loop-only state.
  std::vector<std::unique_ptr<connection>> conns;
  std::map<node_id, connection*> by_peer;
  std::uint64_t next_request = 1;
  struct pending_request {
    troupe::detail::reply_handle reply;
    node_id peer;
  };
  std::unordered_map<std::uint64_t, pending_request> requests;  // sent to remote actors
  struct pending_lookup {
    troupe::detail::state_ptr<actor> result;
    node_id peer;
    std::string name;
  };
  std::unordered_map<std::uint64_t, pending_lookup> lookups;
  // Shared with every thread that writes handles or publishes.
  std::mutex m;
  std::unordered_map<std::string, actor> published;
  std::unordered_map<actor_id, weak_actor> exported;  // local actors whose handles went out

  impl(actor_system& s, node_config c) : sys(s), cfg(std::move(c)) {
    if (cfg.secret.empty()) throw std::invalid_argument("troupe::net: a node needs a shared secret (node_config::secret)");
    if (!cfg.types) cfg.types = std::make_shared<type_registry>();
    net = cfg.transport_factory ? cfg.transport_factory() : make_tcp_transport();
  }

  /// Sends one frame on `c`: `body(w)` writes what follows the type byte.
  template <class Body>
  void send_frame(connection& c, frame_type type, Body&& body) {
    std::vector<std::byte> out;
    auto at = begin_frame(out, type);
    writer w(out, this);
    body(w);
    finish_frame(out, at, cfg.max_frame);
    c.io->write(std::move(out));
  }

  // -- starting connections (on the loop) ------------------------------------------------------

  connection& adopt(std::shared_ptr<stream> s, bool opened_here) {
    conns.push_back(std::make_unique<connection>(*this, std::move(s), opened_here));
    connection& c = *conns.back();
    c.io->start(c);
    send_frame(c, frame_type::hello, [&](writer& w) {
      w.integer(protocol_version);
      w.u64(sys.node().value);
      w.bytes(c.mine.data(), c.mine.size());
    });
    // A peer that never finishes (or never starts) its handshake is dropped.
    net->post_after(cfg.handshake_timeout, [self = weak_from_this(), conn = &c] {
      if (auto me = self.lock()) me->handshake_deadline(conn);
    });
    return c;
  }

  void handshake_deadline(connection* conn) {
    for (auto& c : conns)
      if (c.get() == conn && !c->ready && !c->closed)
        drop(*c, "the handshake did not finish within " +
                     std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(cfg.handshake_timeout).count()) +
                     " ms");
  }

  // -- frames (on the loop) ----------------------------------------------------------------------

  void on_bytes(connection& c, std::span<const std::byte> bytes) {
    if (c.closed) return;
    c.decoder.feed(bytes);
    frame_view f;
    while (!c.closed && c.decoder.next(f)) handle(c, f);
    if (!c.closed && c.decoder.failed()) drop(c, "malformed stream: " + c.decoder.error());
  }

  void handle(connection& c, const frame_view& f) {
    reader r(f.body, this);
    switch (f.type) {
      case frame_type::hello: {
        const auto version = r.integer<std::uint16_t>();
        const node_id peer{r.u64()};
        r.bytes(c.theirs.data(), c.theirs.size());
        if (!r.ok() || !r.at_end() || c.got_hello) return drop(c, "a malformed hello");
        c.got_hello = true;
        if (version != protocol_version)
          return refuse(c, "protocol version " + std::to_string(version) + " is not spoken here (this node speaks " +
                               std::to_string(protocol_version) + ")");
        if (peer == sys.node() || peer == node_id{}) return refuse(c, "the peer claims this node's id (or none)");
        c.peer = peer;
        const mac p = proof(cfg.secret, c.theirs, c.mine, sys.node(), peer);
        send_frame(c, frame_type::challenge, [&](writer& w) { w.bytes(p.data(), p.size()); });
        return;
      }
      case frame_type::challenge: {
        mac got{};
        r.bytes(got.data(), got.size());
        if (!r.ok() || !r.at_end() || !c.got_hello || c.peer_verified) return drop(c, "a malformed or early proof");
        const mac want = proof(cfg.secret, c.mine, c.theirs, c.peer, sys.node());
        if (CRYPTO_memcmp(got.data(), want.data(), want.size()) != 0)
          return refuse(c, "authentication failed (a different secret?)");
        c.peer_verified = true;
        send_frame(c, frame_type::welcome, [](writer&) {});
        return maybe_ready(c);
      }
      case frame_type::welcome:
        if (!r.at_end() || !c.got_hello || c.welcomed) return drop(c, "a malformed or early welcome");
        c.welcomed = true;
        return maybe_ready(c);
      case frame_type::refuse: {
        std::string reason;
        read(r, reason);
        const std::string why = "refused by the peer: " + (r.ok() ? reason : std::string("(no readable reason)"));
        return drop(c, why);
      }
      case frame_type::heartbeat:
        return;
      default:
        break;
    }
    if (!c.ready) return drop(c, "a frame of type " + std::to_string(static_cast<int>(f.type)) + " before the handshake");
    switch (f.type) {
      case frame_type::type_def: return on_type_def(c, r);
      case frame_type::message: return on_message(c, r);
      case frame_type::reply: return on_reply(c, r);
      case frame_type::lookup: return on_lookup(c, r);
      case frame_type::lookup_reply: return on_lookup_reply(c, r);
      default:
        return drop(c, "a frame of type " + std::to_string(static_cast<int>(f.type)) + " this node does not serve yet");
    }
  }

  // -- remote actors: incoming (on the loop) ---------------------------------------------------

  void on_type_def(connection& c, reader& r) {
    const std::uint32_t number = r.u32();
    std::string name;
    read(r, name);
    if (!r.ok() || !r.at_end() || number != c.in_types.size() || name.size() > type_registry::max_name_length)
      return drop(c, "a malformed type definition");
    c.in_types.push_back(cfg.types->find(name));  // null: not registered here (messages of it are refused)
    if (!c.in_types.back()) unknown_names.emplace(std::make_pair(&c, number), std::move(name));
  }

  std::string type_name_of(connection& c, std::uint32_t number) {
    auto it = unknown_names.find(std::make_pair(static_cast<const connection*>(&c), number));
    return it != unknown_names.end() ? it->second : std::string("?");
  }

  void on_message(connection& c, reader& r) {
    const actor_id from = r.u64();
    const actor_id to = r.u64();
    const std::uint64_t request = r.u64();
    const std::uint32_t number = r.u32();
    if (!r.ok() || number >= c.in_types.size()) return drop(c, "a malformed message header");
    const message_type* t = c.in_types[number];
    if (!t) {
      const std::string why = "the type \"" + type_name_of(c, number) + "\" is not registered on " + sys.node().to_string();
      if (request) return send_reply_error(c, request, error(errc::unhandled_message, why));
      sys.log(log_level::warn, "troupe::net: dropped a message from " + c.peer.to_string() + ": " + why);
      return troupe::detail::system_access::count_dead_letter(sys);
    }
    std::unique_ptr<troupe::detail::envelope> e(t->read_message(r));
    if (!e || !r.at_end()) return drop(c, std::string("a malformed message body: ") + (r.ok() ? "bytes left over" : r.failure()));
    actor target = local(to);
    if (!target) {
      if (request) return send_reply_error(c, request, error(errc::receiver_down, "no actor " + std::to_string(to) + " on " + sys.node().to_string()));
      return troupe::detail::system_access::count_dead_letter(sys);
    }
    if (from) e->sender = proxy(c.peer, from);
    if (request) e->reply = troupe::detail::reply_handle(make_reply_sink(c.peer, request));
    troupe::detail::system_access::enqueue(*target.get(), e.release());  // straight to the actor: no hop
  }

  void on_reply(connection& c, reader& r) {
    const std::uint64_t request = r.u64();
    const std::uint8_t status = r.u8();
    if (!r.ok() || status > 1) return drop(c, "a malformed reply header");
    auto it = requests.find(request);
    if (it == requests.end() || it->second.peer != c.peer) return drop(c, "a reply to no request of this node");
    troupe::detail::reply_handle reply = std::move(it->second.reply);
    requests.erase(it);
    if (status == 1) {
      error e(errc::user);
      read(r, e);
      if (!r.ok() || !r.at_end()) return drop(c, "a malformed error reply");
      return reply.fail(std::move(e));
    }
    const std::uint32_t number = r.u32();
    if (!r.ok() || number >= c.in_types.size()) return drop(c, "a malformed reply");
    const message_type* t = c.in_types[number];
    if (!t)
      return reply.fail(error(errc::type_mismatch, "the reply's type \"" + type_name_of(c, number) +
                                                       "\" is not registered on " + sys.node().to_string()));
    if (!reply.sink()) return;
    if (!t->read_reply(r, *reply.sink()) || !r.at_end()) return drop(c, "a malformed reply value");
  }

  void on_lookup(connection& c, reader& r) {
    const std::uint64_t request = r.u64();
    std::string name;
    read(r, name);
    if (!r.ok() || !r.at_end()) return drop(c, "a malformed lookup");
    actor found;
    {
      std::lock_guard lock(m);
      auto it = published.find(name);
      if (it != published.end()) {
        found = it->second;
        exported.emplace(found.id(), found);
      }
    }
    send_frame(c, frame_type::lookup_reply, [&](writer& w) {
      w.u64(request);
      w.u8(found ? 1 : 0);
      w.u64(found.id());
    });
  }

  void on_lookup_reply(connection& c, reader& r) {
    const std::uint64_t request = r.u64();
    const std::uint8_t found = r.u8();
    const actor_id id = r.u64();
    if (!r.ok() || !r.at_end() || found > 1) return drop(c, "a malformed lookup reply");
    auto it = lookups.find(request);
    if (it == lookups.end() || it->second.peer != c.peer) return drop(c, "a lookup reply to no lookup of this node");
    auto p = std::move(it->second);
    lookups.erase(it);
    if (found)
      p.result->set_value(proxy(c.peer, id));
    else
      p.result->fail(error(errc::receiver_down, "nothing is published as \"" + p.name + "\" on " + c.peer.to_string()));
  }

  // -- remote actors: outgoing -------------------------------------------------------------------

  /// A message for a remote actor, serialized on the sender's thread, sent from the loop.
  struct outgoing_message {
    node_id peer;
    actor_id to = 0;
    actor_id from = 0;
    const message_type* type = nullptr;
    std::vector<std::byte> payload;
    troupe::detail::reply_handle reply;
  };

  /// Any thread: takes `e` for actor `to` on `peer`.
  bool send_remote(node_id peer, actor_id to, std::unique_ptr<troupe::detail::envelope> e) noexcept {
    try {
      if (e->kind != troupe::detail::envelope_kind::message) return false;  // signals: not yet (issue 10)
      const message_type* t = cfg.types->find(e->type);
      if (!t) {
        const std::string why = std::string("the type ") + std::string(e->type ? e->type->name : "?") +
                                " is not registered for the wire (troupe::net::type_registry::add)";
        if (e->reply) {
          e->reply.fail(error(errc::unhandled_message, why));
        } else {
          sys.log(log_level::warn, "troupe::net: dead letter to " + peer.to_string() + ": " + why);
          troupe::detail::system_access::count_dead_letter(sys);
        }
        return false;
      }
      auto o = std::make_shared<outgoing_message>();
      o->peer = peer;
      o->to = to;
      o->type = t;
      if (e->sender && e->sender.node() == sys.node()) {
        o->from = e->sender.id();
        std::lock_guard lock(m);
        exported.emplace(o->from, e->sender);
      }
      writer w(o->payload, this);
      t->write_message(w, *e);
      o->reply = std::move(e->reply);
      net->post([self = weak_from_this(), o] {
        if (auto me = self.lock()) me->transmit(*o);
      });
      return true;
    } catch (const std::exception& ex) {
      if (e->reply) e->reply.fail(error(errc::handler_exception, std::string("cannot serialize: ") + ex.what()));
      return false;
    }
  }

  void transmit(outgoing_message& o) {
    auto it = by_peer.find(o.peer);
    if (it == by_peer.end()) {
      if (o.reply) o.reply.fail(error(errc::disconnected, "not connected to " + o.peer.to_string()));
      else troupe::detail::system_access::count_dead_letter(sys);
      return;
    }
    connection& c = *it->second;
    std::vector<std::byte> out;
    const std::uint32_t number = type_number(c, o.type, out);
    std::uint64_t request = 0;
    if (o.reply) {
      request = next_request++;
      requests.emplace(request, pending_request{std::move(o.reply), o.peer});
    }
    auto at = begin_frame(out, frame_type::message);
    writer w(out);
    w.u64(o.from);
    w.u64(o.to);
    w.u64(request);
    w.u32(number);
    out.insert(out.end(), o.payload.begin(), o.payload.end());
    try {
      finish_frame(out, at, cfg.max_frame);
    } catch (const std::length_error& ex) {
      auto p = requests.find(request);
      if (p != requests.end()) {
        p->second.reply.fail(error(errc::handler_exception, ex.what()));
        requests.erase(p);
      }
      if (!out.empty()) c.io->write(std::move(out));  // the type definition, if any
      return;
    }
    c.io->write(std::move(out));
  }

  /// The number of `t` on `c`'s outgoing side, appending its type_def frame to `out` if new.
  std::uint32_t type_number(connection& c, const message_type* t, std::vector<std::byte>& out) {
    auto [it, fresh] = c.out_types.emplace(t, static_cast<std::uint32_t>(c.out_types.size()));
    if (fresh) {
      auto at = begin_frame(out, frame_type::type_def);
      writer w(out);
      w.u32(it->second);
      write(w, t->name);
      finish_frame(out, at, cfg.max_frame);
    }
    return it->second;
  }

  void send_reply_error(connection& c, std::uint64_t request, const error& e) {
    send_frame(c, frame_type::reply, [&](writer& w) {
      w.u64(request);
      w.u8(1);
      write(w, e);
    });
  }

  /// Answers a remote request: serializes on the replying thread, sends from the loop.
  struct remote_reply final : troupe::detail::reply_sink {
    std::weak_ptr<impl> owner;
    node_id peer;
    std::uint64_t request;
    std::atomic<bool> done{false};

    remote_reply(std::weak_ptr<impl> o, node_id p, std::uint64_t r) : owner(std::move(o)), peer(p), request(r) {}

    void deliver(const type_meta* type, void* value) override {
      if (done.exchange(true)) return;
      auto me = owner.lock();
      if (!me) return;
      const message_type* t = me->cfg.types->find(type);
      if (!t) {
        post_error(*me, error(errc::unhandled_message, "the reply type " + std::string(type ? type->name : "?") +
                                                            " is not registered for the wire"));
        return;
      }
      auto payload = std::make_shared<std::vector<std::byte>>();
      try {
        writer w(*payload, me.get());
        t->write(w, value);
      } catch (const std::exception& ex) {
        post_error(*me, error(errc::handler_exception, std::string("cannot serialize the reply: ") + ex.what()));
        return;
      }
      me->net->post([self = owner, peer = peer, request = request, t, payload] {
        auto o = self.lock();
        if (!o) return;
        auto it = o->by_peer.find(peer);
        if (it == o->by_peer.end()) return;  // the requester's side fails it with disconnected
        std::vector<std::byte> out;
        const std::uint32_t number = o->type_number(*it->second, t, out);
        auto at = begin_frame(out, frame_type::reply);
        writer w(out);
        w.u64(request);
        w.u8(0);
        w.u32(number);
        out.insert(out.end(), payload->begin(), payload->end());
        finish_frame(out, at, o->cfg.max_frame);
        it->second->io->write(std::move(out));
      });
    }
    void fail(error e) noexcept override {
      if (done.exchange(true)) return;
      if (auto me = owner.lock()) post_error(*me, std::move(e));
    }
    bool completed() const noexcept override { return done.load(); }

    void post_error(impl& me, error e) noexcept {
      try {
        me.net->post([self = owner, peer = peer, request = request, e = std::move(e)] {
          auto o = self.lock();
          if (!o) return;
          auto it = o->by_peer.find(peer);
          if (it != o->by_peer.end()) o->send_reply_error(*it->second, request, e);
        });
      } catch (...) {
      }
    }
  };

  troupe::detail::intrusive_ptr<troupe::detail::reply_sink> make_reply_sink(node_id peer, std::uint64_t request) {
    return troupe::detail::make_intrusive<remote_reply>(weak_from_this(), peer, request);
  }

  // -- handles ------------------------------------------------------------------------------------

  /// A handle to actor `id` on `peer`.
  actor proxy(node_id peer, actor_id id);

  /// A local actor by id, if its handle went out (published or sent).
  actor local(actor_id id) {
    std::lock_guard lock(m);
    auto it = exported.find(id);
    return it == exported.end() ? actor() : it->second.lock();
  }

  actor resolve(node_id n, actor_id id) override { return n == sys.node() ? local(id) : proxy(n, id); }

  std::pair<node_id, actor_id> address_of(const actor& a) override {
    if (a.node() == sys.node()) {
      std::lock_guard lock(m);
      exported.emplace(a.id(), a);
    }
    return {a.node(), a.id()};
  }

  /// Names of types a peer defined that this node has not registered (for error messages).
  std::map<std::pair<const connection*, std::uint32_t>, std::string> unknown_names;

  void maybe_ready(connection& c) {
    if (!c.peer_verified || !c.welcomed || c.ready) return;
    c.ready = true;
    auto it = by_peer.find(c.peer);
    if (it != by_peer.end() && it->second != &c) {
      // Both nodes connected at once: keep the connection the smaller node id opened, on both
      // sides alike.
      connection& other = *it->second;
      const node_id smaller = std::min(sys.node(), c.peer);
      const node_id c_opener = c.outgoing ? sys.node() : c.peer;
      connection& loser = c_opener == smaller ? other : c;
      connection& winner = c_opener == smaller ? c : other;
      if (loser.connected) {
        std::exchange(loser.connected, {})->set_value(c.peer);
      }
      by_peer[c.peer] = &winner;
      drop(loser, "a duplicate connection (both nodes connected at once)", false);
      if (&winner != &c) return;
    }
    by_peer[c.peer] = &c;
    if (c.connected) std::exchange(c.connected, {})->set_value(c.peer);
  }

  void refuse(connection& c, const std::string& reason) {
    // Logged before the peer can learn of it (tests read the log once the refusal arrives).
    if (sys.should_log(log_level::warn))
      sys.logger().warn("troupe::net: refused {} {}: {}", c.outgoing ? "the node at" : "a connection from", c.io->peer(),
                        reason);
    send_frame(c, frame_type::refuse, [&](writer& w) { write(w, reason); });
    drop(c, "refused " + std::string(c.outgoing ? "the node at " : "a connection from ") + c.io->peer() + ": " + reason,
         false, true);
  }

  /// Closes `c` with a logged reason (warn when something was wrong, debug otherwise).
  void drop(connection& c, const std::string& reason, bool warn = true, bool flush = false) {
    if (c.closed) return;
    c.closed = true;
    if (warn && sys.should_log(log_level::warn))
      sys.logger().warn("troupe::net: closing the connection {} {}: {}", c.outgoing ? "to" : "from", c.io->peer(), reason);
    if (c.connected) std::exchange(c.connected, {})->fail(error(errc::disconnected, reason));
    forget(c, reason);
    c.io->close(reason, flush);
  }

  /// `c` is gone: requests and lookups that went through it fail with errc::disconnected.
  void forget(connection& c, const std::string& reason) {
    auto it = by_peer.find(c.peer);
    if (it == by_peer.end() || it->second != &c) return;
    by_peer.erase(it);
    const error lost(errc::disconnected, "the connection to " + c.peer.to_string() + " was lost: " + reason);
    for (auto r = requests.begin(); r != requests.end();) {
      if (r->second.peer == c.peer) {
        r->second.reply.fail(lost);
        r = requests.erase(r);
      } else {
        ++r;
      }
    }
    for (auto l = lookups.begin(); l != lookups.end();) {
      if (l->second.peer == c.peer) {
        l->second.result->fail(lost);
        l = lookups.erase(l);
      } else {
        ++l;
      }
    }
  }

  void on_closed(connection& c, const std::string& reason) {
    if (!c.closed) {
      c.closed = true;
      if (c.connected) std::exchange(c.connected, {})->fail(error(errc::disconnected, reason));
      forget(c, reason);
      if (c.ready && sys.should_log(log_level::info))
        sys.logger().info("troupe::net: the connection with {} closed: {}", c.peer.to_string(), reason);
    }
    // The stream calls nothing after on_closed: the connection can go (after this call returns).
    net->post([self = weak_from_this(), conn = &c] {
      if (auto me = self.lock()) {
        std::erase_if(me->unknown_names, [conn](const auto& n) { return n.first.first == conn; });
        std::erase_if(me->conns, [conn](const auto& p) { return p.get() == conn; });
      }
    });
  }
};

namespace {

/// A handle's target on another node: what a local actor sends to, the node carries across.
class remote_actor final : public abstract_actor {
 public:
  remote_actor(actor_system& sys, std::weak_ptr<node::impl> owner, node_id peer, actor_id id)
      : abstract_actor(&sys, id), owner_(std::move(owner)), peer_(peer) {}

  node_id node() const noexcept override { return peer_; }

 protected:
  bool enqueue(troupe::detail::envelope* e) noexcept override {
    std::unique_ptr<troupe::detail::envelope> owned(e);
    if (auto me = owner_.lock()) return me->send_remote(peer_, id(), std::move(owned));
    if (owned->kind == troupe::detail::envelope_kind::message) {
      if (owned->reply)
        owned->reply.fail(error(errc::disconnected, "the node that reached " + peer_.to_string() + " is gone"));
      else
        troupe::detail::system_access::count_dead_letter(system());
    }
    return false;
  }

 private:
  std::weak_ptr<node::impl> owner_;
  node_id peer_;
};

}  // namespace

actor node::impl::proxy(node_id peer, actor_id id) {
  return troupe::detail::system_access::adopt(new remote_actor(sys, weak_from_this(), peer, id));
}

node::node(actor_system& sys, node_config cfg) : impl_(std::make_shared<impl>(sys, std::move(cfg))) {}

void node::publish(const actor& a, std::string name) {
  if (!a) throw std::invalid_argument("troupe::net: publish needs an actor");
  if (a.node() != id()) throw std::invalid_argument("troupe::net: only local actors can be published");
  std::lock_guard lock(impl_->m);
  impl_->exported.emplace(a.id(), a);
  impl_->published[std::move(name)] = a;
}

void node::unpublish(const std::string& name) {
  std::lock_guard lock(impl_->m);
  impl_->published.erase(name);
}

future<actor> node::lookup(node_id peer, std::string name) {
  auto st = troupe::detail::make_state<actor>();
  impl_->net->post([weak = std::weak_ptr<impl>(impl_), st, peer, name = std::move(name)]() mutable {
    auto me = weak.lock();
    if (!me) return st->fail(error(errc::disconnected, "the node stopped"));
    auto it = me->by_peer.find(peer);
    if (it == me->by_peer.end()) return st->fail(error(errc::disconnected, "not connected to " + peer.to_string()));
    const std::uint64_t request = me->next_request++;
    me->send_frame(*it->second, frame_type::lookup, [&](writer& w) {
      w.u64(request);
      write(w, name);
    });
    me->lookups.emplace(request, impl::pending_lookup{st, peer, std::move(name)});
  });
  return future<actor>(std::move(st));
}

node::~node() {
  impl_->net->stop();  // no handler runs after this: the connections can go with impl_
}

node_id node::id() const noexcept { return impl_->sys.node(); }
actor_system& node::system() const noexcept { return impl_->sys; }

std::uint16_t node::listen(const std::string& host, std::uint16_t port) {
  std::weak_ptr<impl> weak = impl_;
  return impl_->net->listen(host, port, [weak](std::shared_ptr<stream> s) {
    if (auto me = weak.lock()) me->adopt(std::move(s), false);
  });
}

future<node_id> node::connect(const std::string& host, std::uint16_t port) {
  auto st = troupe::detail::make_state<node_id>();
  std::weak_ptr<impl> weak = impl_;
  impl_->net->connect(host, port, [weak, st](result<std::shared_ptr<stream>> s) {
    auto me = weak.lock();
    if (!me) {
      st->fail(error(errc::disconnected, "the node stopped"));
      return;
    }
    if (!s) {
      st->fail(s.error());
      return;
    }
    me->adopt(std::move(*s), true).connected = st;
  });
  return future<node_id>(std::move(st));
}

std::vector<connection_info> node::connections() const {
  if (impl_->net->on_loop()) throw std::logic_error("troupe::net: node::connections() on the network thread");
  std::promise<std::vector<connection_info>> p;
  auto f = p.get_future();
  impl_->net->post([me = impl_, &p] {
    std::vector<connection_info> out;
    for (auto& c : me->conns)
      if (!c->closed) out.push_back({c->peer, c->io->peer(), c->outgoing, c->ready});
    p.set_value(std::move(out));
  });
  return f.get();
}

}  // namespace troupe::net
