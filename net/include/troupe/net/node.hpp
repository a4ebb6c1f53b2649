// node: an actor_system's presence on the network.
//
//   troupe::net::node_config cfg;
//   cfg.secret = "shared secret";                    // every node of the cluster knows it
//   troupe::net::node n{sys, cfg};
//   std::uint16_t port = n.listen("127.0.0.1", 0);   // 0: any free port
//   troupe::result<troupe::node_id> peer = n.connect("127.0.0.1", 4000).get();
//
// Connections. A node listens on host:port and connects to other nodes; there is one
// connection per pair of nodes (when both connect at once, both keep the connection that the
// node with the smaller id opened). Every connection starts with a handshake: both sides send
// the protocol version, their node id and a fresh random nonce, then prove that they know the
// shared secret with an HMAC-SHA256 over both nonces (the secret never crosses the wire, and a
// recorded handshake cannot be replayed: the other side's nonce is new each time). A peer with
// another protocol version or a wrong secret is refused: it gets a refuse frame with the
// reason, the connection closes, and the node logs the reason (warn) through its system's
// logger. A peer that does not finish its handshake within handshake_timeout is dropped, and
// malformed or oversized frames close the connection they came on with a logged reason; the
// node keeps serving every other connection.
//
// Remote actors. publish(actor, name) makes a local actor reachable; lookup(peer, name) gives a
// handle to it that other code uses like a local one: send and request (then, get, co_await,
// when_all) work unchanged, messages from one sender keep their order, and a request to a
// remote actor that is not there fails at once with errc::receiver_down. Message and reply
// types cross the wire only if registered in node_config::types on both sides; an unregistered
// type fails at the sender (a request with errc::unhandled_message, a send is a dead letter).
// When a connection is lost, requests waiting on it fail with errc::disconnected; sends to a
// node this node is not connected to are dead letters.
//
// Destroy the node before its actor_system.
//
// Status (issue 10): monitoring and linking remote actors, heartbeats and reconnection come
// next.
#pragma once

#include <troupe/actor_system.hpp>
#include <troupe/future.hpp>
#include <troupe/net/frame.hpp>
#include <troupe/net/transport.hpp>
#include <troupe/net/type_registry.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace troupe::net {

struct node_config {
  /// The cluster's shared secret (required: a node without one refuses to start).
  std::string secret;
  /// Message types that may cross the wire (the built-ins only, unless you add yours).
  std::shared_ptr<const type_registry> types = std::make_shared<type_registry>();
  /// The largest frame this node accepts (and sends).
  std::size_t max_frame = default_max_frame;
  /// A connection whose handshake is not done by then is dropped.
  duration handshake_timeout = std::chrono::seconds(5);
  /// Makes the transport (tests plug in a simulated network); empty: TCP.
  std::function<std::unique_ptr<transport>()> transport_factory = {};
};

/// What a node knows of one of its connections (for tests and the inspector).
struct connection_info {
  node_id peer;        // node_id{} until the handshake is done
  std::string address; // the peer's address
  bool outgoing;       // this node opened it
  bool ready;          // the handshake is done
};

class node {
 public:
  /// Attaches a node to `sys` (its id is sys.node()). Throws std::invalid_argument without a
  /// secret.
  node(actor_system& sys, node_config cfg);
  /// Closes every connection and listener, then stops the network thread.
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  node_id id() const noexcept;
  actor_system& system() const noexcept;

  /// Accepts connections on host:port; returns the port (useful with port 0). Throws
  /// std::system_error if it cannot listen there.
  std::uint16_t listen(const std::string& host, std::uint16_t port);
  /// Connects to the node at host:port: the future completes with its id once the handshake is
  /// done, or fails with errc::disconnected (cannot connect, refused: the reason is in the
  /// detail) or errc::timeout. Connecting to a node already connected gives its id at once.
  [[nodiscard]] future<node_id> connect(const std::string& host, std::uint16_t port);

  /// Makes `a` (a local actor) reachable by other nodes under `name` (replacing what was
  /// published under it).
  void publish(const actor& a, std::string name);
  void unpublish(const std::string& name);
  /// The actor published as `name` on the connected node `peer`: a handle that works like a
  /// local one (send, request). Fails with errc::receiver_down if nothing is published under
  /// that name there, errc::disconnected if `peer` is not connected.
  [[nodiscard]] future<actor> lookup(node_id peer, std::string name);

  /// The connections now (blocks briefly for the network thread's answer).
  std::vector<connection_info> connections() const;

  struct impl;  // (public only so that the implementation's own helpers can name it)

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace troupe::net
