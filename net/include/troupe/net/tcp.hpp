// tcp: servers and clients of your own protocols, whose connections are driven by actors.
//
//   troupe::net::tcp io{sys};                                // one I/O thread (or io{node}: the node's)
//   std::uint16_t port = io.listen("0.0.0.0", 7000, acceptor); // acceptor gets net::accepted{conn}
//   troupe::result<net::connection> c = io.connect("example.org", 80).get();
//
// A connection is an ordinary value (cheap to copy, any thread may use it). The actor that owns
// it, set by `attach(actor)`, is sent what happens on it, in order:
//   net::received{conn, bytes}   bytes that arrived (as many as the actor allowed with read())
//   net::writable{conn}          a refused write's queue has drained: write again
//   net::closed{conn, reason}    the connection ended (peer closed, failed, or closed here); last
//
// Back-pressure, reading: nothing is read until the owner asks with `read(n)`, which lets at most
// n more bytes arrive. An actor that calls read() once per received message reads "active once",
// as Erlang's gen_tcp does; one that calls read(window) at the start and read(bytes handled)
// after each message keeps a window of that many bytes. Either way its mailbox holds at most
// what it allowed: a slow actor slows its peer down (TCP's window fills), it never piles bytes
// up in memory.
//
// Back-pressure, writing: write() never blocks. It queues the bytes and returns how many bytes
// are queued, or refuses with errc::queue_full
// when they would pass connection_options::max_queued_bytes; then nothing was queued, and a
// `writable` message follows once the queue has drained. flush() gives a future that completes
// once everything written so far is handed to the operating system. A peer that does not read
// can make a writer's queue grow to the limit, never past it (except by one write: a write
// into an empty queue is always taken, so a single write larger than the limit can go).
//
// When bytes go: what an actor writes while it handles messages goes to the socket when that
// batch of messages (its activation) ends, gathered into one system call per connection; a
// write from any other thread goes at once (straight from that thread when nothing is queued
// before it). Bytes keep the order in which the writes happened, whichever actors made them.
//
// Lifetime: a connection closes when its owner exits (after writing what is queued), when
// close() or abort() is called, when the peer closes or the connection fails, when the tcp
// object is destroyed, or when nobody holds it before it is attached (an `accepted` message
// that no handler took). `as_actor()` is an actor that lives exactly as long as the connection
// and exits with its close reason: monitor it (a down_msg says the connection ended, and how),
// link to it (the owner dies with a failed connection unless it traps exits), or send_exit it
// (the connection is aborted).
//
// Framing: received bytes are cut wherever TCP cut them; feed them to a line_framer or a
// length_prefixed_framer (framing.hpp) to handle whole lines or frames.
//
// Threads: the connections' I/O runs on the transport's loop thread (a tcp made from a node
// shares the node's: one event loop per node). Messages go to the owner through its mailbox, so
// its handlers run on the actor system's workers as usual.
#pragma once

#include <troupe/actor.hpp>
#include <troupe/future.hpp>
#include <troupe/result.hpp>
#include <troupe/sendable.hpp>
#include <troupe/time.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace troupe {
class actor_system;
}

namespace troupe::net {

class node;
class transport;

struct connection_options {
  /// A write that would make more than this many bytes wait for the socket is refused with
  /// errc::queue_full (a `writable` message follows once the queue has drained).
  std::size_t max_queued_bytes = std::size_t{1} << 20;
  /// What read() allows when called without an argument.
  std::size_t read_chunk = 64 * 1024;
};

namespace detail {
struct connection_core;
struct connection_ref;
}  // namespace detail

/// A TCP connection (see the top of this file). Default-constructed: empty (every call fails
/// or does nothing).
class connection {
 public:
  connection() = default;

  /// Makes `owner` the actor that receives this connection's messages (received, writable,
  /// closed), and ties the connection to it: it closes when the owner exits. Reading starts
  /// once the owner has allowed some with read(). Attaching again hands the connection over.
  /// A connection that ended before it was attached sends the new owner `closed` at once.
  void attach(const actor& owner) const;
  /// Lets at most `max_bytes` more bytes arrive (added to what earlier calls allowed and did
  /// not use); 0 means connection_options::read_chunk. Any thread; cheap when reading is on.
  void read(std::size_t max_bytes = 0) const;
  /// Queues `bytes` for the peer and returns the bytes now queued (0: all sent already), or
  /// fails: errc::queue_full (nothing queued; a `writable` message follows once the queue has
  /// drained) or errc::disconnected (the connection is closed). Never blocks.
  result<std::size_t> write(std::string_view bytes) const;
  /// Completes once every byte written before this call has been handed to the operating
  /// system; fails with errc::disconnected if the connection closes first.
  [[nodiscard]] future<void> flush() const;
  /// Bytes written and not yet taken by the socket.
  std::size_t queued() const noexcept;
  /// Closes after the queued bytes are written (or after 10 s, if the peer does not take
  /// them); the owner then gets `closed` (its reason: errc::disconnected, "closed by this
  /// side").
  void close() const;
  /// Closes now: what is queued is dropped.
  void abort(std::string reason = "aborted by this side") const;
  /// An actor that exits when the connection ends: normally when this side closed it, with
  /// errc::disconnected and the reason otherwise (see the top of this file).
  actor as_actor() const;
  /// The peer's address, "127.0.0.1:5000".
  std::string peer() const;
  /// Unique per process, for maps and logs.
  std::uint64_t id() const noexcept;
  /// False for an empty connection.
  explicit operator bool() const noexcept { return static_cast<bool>(ref_); }

  friend bool operator==(const connection& a, const connection& b) noexcept { return a.id() == b.id(); }

  /// (for the implementation)
  explicit connection(std::shared_ptr<detail::connection_ref> r) noexcept : ref_(std::move(r)) {}
  detail::connection_core* core() const noexcept;

 private:
  std::shared_ptr<detail::connection_ref> ref_;
};

/// To the listener's actor: a connection was accepted. Attach it to the actor that will drive
/// it (often a new one: `conn.attach(sys.spawn<session>(conn))`).
struct accepted {
  connection conn;
  std::uint16_t port;  // the listening port it came in on
};
/// To the owner: bytes arrived (at most what read() allowed).
struct received {
  connection conn;
  std::string bytes;
};
/// To the owner: a write was refused (errc::queue_full) and the queue has drained since.
struct writable {
  connection conn;
};
/// To the owner: the connection ended, the last message it sends. `reason` is
/// errc::disconnected with how: "the peer closed the connection", "closed by this side", an
/// error from the operating system, ...
struct closed {
  connection conn;
  error reason;
};

/// Listens and connects (see the top of this file). Destroy it before the actor system (and
/// before the node it was made from): its destructor closes its listeners and connections.
class tcp {
 public:
  /// With an I/O thread of its own.
  explicit tcp(actor_system& sys, connection_options defaults = {});
  /// On a node's I/O thread (and its transport: TLS if the node uses TLS).
  explicit tcp(node& n, connection_options defaults = {});
  /// On any transport (tests plug in a simulated one); `t` must outlive this object.
  tcp(actor_system& sys, transport& t, connection_options defaults = {});
  ~tcp();
  tcp(const tcp&) = delete;
  tcp& operator=(const tcp&) = delete;

  /// Accepts connections on host:port (port 0: any free port, returned) and sends `acceptor` an
  /// `accepted` message for each (with `opts`, or this tcp's defaults). Throws
  /// std::system_error if it cannot listen there.
  std::uint16_t listen(const std::string& host, std::uint16_t port, const actor& acceptor,
                       connection_options opts);
  std::uint16_t listen(const std::string& host, std::uint16_t port, const actor& acceptor);
  /// Stops accepting on `port` (connections already accepted stay open).
  void unlisten(std::uint16_t port);
  /// Connects to host:port: the future gives the connection (not attached yet), or fails with
  /// errc::connection_refused (nothing listens there), errc::timeout (not connected within
  /// `timeout`), or errc::disconnected (cannot resolve the host, unreachable, tcp destroyed).
  /// Without `opts`, the connection has this tcp's defaults.
  [[nodiscard]] future<connection> connect(const std::string& host, std::uint16_t port,
                                           duration timeout = std::chrono::seconds(10));
  [[nodiscard]] future<connection> connect(const std::string& host, std::uint16_t port, duration timeout,
                                           connection_options opts);

  /// Connections open now (made or accepted by this object).
  std::size_t open_connections() const;

  struct impl;  // (public only so that the implementation's own helpers can name it)

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace troupe::net

/// A connection is a thread-safe handle: sending it is sharing nothing mutable.
template <>
struct troupe::assume_sendable<troupe::net::connection> : std::true_type {};
