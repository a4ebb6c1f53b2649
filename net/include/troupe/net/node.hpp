// node: an actor_system's presence on the network.
//
//   troupe::net::node_config cfg;
//   cfg.secret = "shared secret";                    // every node of the cluster knows it
//   troupe::net::node n{sys, cfg};
//   std::uint16_t port = n.listen("127.0.0.1", 0);   // 0: any free port
//   troupe::result<troupe::node_id> peer = n.connect("127.0.0.1", 4000).get();
//
// Connections. A node listens on host:port and connects to other nodes; there is one
// connection per pair of nodes (when both connect at once, both sides keep the same one, and
// what was sent on the other in that instant fails as on a lost connection: requests with
// errc::disconnected, monitors fire). Every connection starts with a handshake: both sides send
// the protocol version, their node id and a fresh random nonce, then prove that they know the
// shared secret with an HMAC-SHA256 over both nonces (the secret never crosses the wire, and a
// recorded handshake cannot be replayed: the other side's nonce is new each time). A peer with
// another protocol version or a wrong secret is refused: it gets a refuse frame with the
// reason, the connection closes, and the node logs the reason (warn) through its system's
// logger. A peer that does not finish its handshake within handshake_timeout is dropped, and
// malformed or oversized frames close the connection they came on with a logged reason; the
// node keeps serving every other connection. With node_config::tls, connections run over TLS
// with certificates on both sides (transport.hpp, tls_config), the handshake above inside it.
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
// Cancellation. Cancelling a request to a remote actor (future::cancel, a cancelled handler's
// request tree, a when_any loser), or its timeout passing, sends a cancel frame: the work it
// started on the other node stops there as it would locally (guide, section 20). A request
// carries what is left of its timeout, which requests made while serving it inherit. When a
// connection is lost, the requests the peer made here are cancelled.
//
// Monitors and links. monitor, link and send_exit work on remote handles as on local ones: a
// local actor that monitors a remote one gets its down_msg (with the exit reason) when it
// exits, links propagate exits both ways, and send_exit (kill included) reaches the remote
// actor. Monitoring or linking a remote actor that does not exist gives a down or exit with
// errc::receiver_down at once. When the connection to a node is lost, every monitor of an
// actor there fires with errc::disconnected, every link across it breaks with that reason (on
// both sides, as in Erlang), and monitors that remote actors held on local ones are removed.
//
// Lifetimes. A handle sent to another node inside a message or reply keeps the actor alive
// while the connection to that node lasts, as a local handle would (an actor that quits still
// quits). A published actor lives while published. The sender of a message is not kept alive
// by the message: a reply to current_sender() after it exited is a dead letter. Messages to an
// actor that has exited fail like local ones (receiver_down for a request, a dead letter for
// a send).
//
// Failure detection. Each side sends a heartbeat every heartbeat_interval; a connection that
// brings nothing (no frame, no heartbeat) for failure_timeout is presumed dead and closed, with
// everything above. A process killed outright is noticed sooner: its sockets close.
//
// Reconnection. When a connection that connect() made is lost (not refused), the node dials
// the same address again after reconnect_delay_min, doubling the delay up to
// reconnect_delay_max, for at most reconnect_for; a refusal (wrong secret) stops it. While no
// connection is up, sends to that node are dead letters (logged) and requests fail at once
// with errc::disconnected; nothing is buffered for later. A restarted peer process usually has
// a new node id, so look its actors up again (monitor_nodes tells when it is back).
//
// Node events. monitor_nodes(a) sends actor `a` a node_up when a connection becomes ready and
// a node_down when it is lost.
//
// Destroy the node before its actor_system.
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
#include <optional>
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
  /// A connection whose peer lets more than this many bytes queue up (it does not read) is
  /// closed, with a logged reason: sending never buffers without bound.
  std::size_t max_queued_bytes = std::size_t{64} << 20;
  /// connect() fails with errc::timeout if it is not connected (TCP and handshake) by then.
  duration connect_timeout = std::chrono::seconds(10);
  /// Heartbeats go out this often on every connection.
  duration heartbeat_interval = std::chrono::seconds(1);
  /// A connection that brings no frame for this long is presumed dead and closed (0: never).
  duration failure_timeout = std::chrono::seconds(10);
  /// Redial a lost connection that connect() made (false: never).
  bool reconnect = true;
  /// The first redial waits this long; each failed attempt doubles it, up to the max.
  duration reconnect_delay_min = std::chrono::milliseconds(100);
  duration reconnect_delay_max = std::chrono::seconds(5);
  /// Redialling stops (with a logged warning) this long after the connection was lost.
  duration reconnect_for = std::chrono::minutes(1);
  /// Connections accepted but not yet through their handshake, at most (a flood of
  /// connections beyond it is closed at once, with a logged reason).
  std::size_t max_pending_handshakes = 64;
  /// TLS for every connection of this node (both sides need it: a plain node cannot talk to
  /// a TLS one, and the attempt is logged); empty: plain TCP.
  std::optional<tls_config> tls;
  /// Makes the transport (tests plug in a simulated network); empty: TCP, or TLS with `tls`.
  std::function<std::unique_ptr<transport>()> transport_factory = {};
};

/// What a node knows of one of its connections (for tests and the inspector).
struct connection_info {
  node_id peer;        // node_id{} until the handshake is done
  std::string address; // the peer's address
  bool outgoing;       // this node opened it
  bool ready;          // the handshake is done
};

/// What a node has done so far (node::stats(); the inspector's /metrics serves the same as
/// troupe_net_* metrics). Bytes are those of frames, headers included.
struct node_stats {
  std::uint64_t connections_opened = 0;   // accepted or dialled, redials included
  std::uint64_t connections_open = 0;     // now
  std::uint64_t connections_dropped = 0;  // closed by this node for a logged reason (malformed input, a stalled peer...)
  std::uint64_t reconnects = 0;           // redials of a lost connection
  std::uint64_t frames_sent = 0, frames_received = 0;
  std::uint64_t bytes_sent = 0, bytes_received = 0;
};

/// Sent to the actors given to node::monitor_nodes when a connection to `peer` becomes ready.
struct node_up {
  node_id peer;
  std::string address;  // "host:port" of the connection
};
/// Sent when the connection to `peer` is lost (`reason` says how: errc::disconnected).
struct node_down {
  node_id peer;
  error reason = errc::disconnected;
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
  /// detail) or errc::timeout (connect_timeout). Connecting again to an address this node is
  /// connected to (by an earlier connect) gives the id at once.
  [[nodiscard]] future<node_id> connect(const std::string& host, std::uint16_t port);

  /// Makes `a` (a local actor) reachable by other nodes under `name` (replacing what was
  /// published under it).
  void publish(const actor& a, std::string name);
  void unpublish(const std::string& name);
  /// The actor published as `name` on the connected node `peer`: a handle that works like a
  /// local one (send, request). Fails with errc::receiver_down if nothing is published under
  /// that name there, errc::disconnected if `peer` is not connected.
  [[nodiscard]] future<actor> lookup(node_id peer, std::string name);

  /// Sends `watcher` a node_up or node_down message each time a connection to another node
  /// becomes ready or is lost, until the watcher exits.
  void monitor_nodes(const actor& watcher);

  /// The node's transport: its I/O thread, which a net::tcp made from this node shares.
  net::transport& network() noexcept;

  /// The connections now (blocks briefly for the network thread's answer).
  std::vector<connection_info> connections() const;
  /// The node's counters (any thread; each is read on its own, not as one snapshot).
  node_stats stats() const noexcept;

  struct impl;  // (public only so that the implementation's own helpers can name it)

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace troupe::net
