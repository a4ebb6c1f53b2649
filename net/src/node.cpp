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

struct node::impl : std::enable_shared_from_this<node::impl> {
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

  impl(actor_system& s, node_config c) : sys(s), cfg(std::move(c)) {
    if (cfg.secret.empty()) throw std::invalid_argument("troupe::net: a node needs a shared secret (node_config::secret)");
    if (!cfg.types) cfg.types = std::make_shared<type_registry>();
    net = cfg.transport_factory ? cfg.transport_factory() : make_tcp_transport();
  }

  // -- starting connections (on the loop) ------------------------------------------------------

  connection& adopt(std::shared_ptr<stream> s, bool outgoing) {
    conns.push_back(std::make_unique<connection>(*this, std::move(s), outgoing));
    connection& c = *conns.back();
    c.io->start(c);
    std::vector<std::byte> out;
    auto at = begin_frame(out, frame_type::hello);
    writer w(out);
    w.integer(protocol_version);
    w.u64(sys.node().value);
    w.bytes(c.mine.data(), c.mine.size());
    finish_frame(out, at, cfg.max_frame);
    c.io->write(std::move(out));
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
    reader r(f.body);
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
        std::vector<std::byte> out;
        auto at = begin_frame(out, frame_type::challenge);
        auto p = proof(cfg.secret, c.theirs, c.mine, sys.node(), peer);
        out.insert(out.end(), p.begin(), p.end());
        finish_frame(out, at, cfg.max_frame);
        c.io->write(std::move(out));
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
        std::vector<std::byte> out;
        finish_frame(out, begin_frame(out, frame_type::welcome), cfg.max_frame);
        c.io->write(std::move(out));
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
        if (!c.ready) return drop(c, "a frame of type " + std::to_string(static_cast<int>(f.type)) + " before the handshake");
        return drop(c, "a frame of type " + std::to_string(static_cast<int>(f.type)) + " this node does not serve yet");
    }
  }

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
    std::vector<std::byte> out;
    auto at = begin_frame(out, frame_type::refuse);
    writer w(out);
    write(w, reason);
    finish_frame(out, at, cfg.max_frame);
    c.io->write(std::move(out));
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
    auto it = by_peer.find(c.peer);
    if (it != by_peer.end() && it->second == &c) by_peer.erase(it);
    c.io->close(reason, flush);
  }

  void on_closed(connection& c, const std::string& reason) {
    if (!c.closed) {
      c.closed = true;
      if (c.connected) std::exchange(c.connected, {})->fail(error(errc::disconnected, reason));
      auto it = by_peer.find(c.peer);
      if (it != by_peer.end() && it->second == &c) by_peer.erase(it);
      if (c.ready && sys.should_log(log_level::info))
        sys.logger().info("troupe::net: the connection with {} closed: {}", c.peer.to_string(), reason);
    }
    // The stream calls nothing after on_closed: the connection can go (after this call returns).
    net->post([self = weak_from_this(), conn = &c] {
      if (auto me = self.lock()) std::erase_if(me->conns, [conn](const auto& p) { return p.get() == conn; });
    });
  }
};

node::node(actor_system& sys, node_config cfg) : impl_(std::make_shared<impl>(sys, std::move(cfg))) {}

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
