// The transport seam: what a node needs from the network, and nothing more, so that a
// simulated network can replace TCP in tests (and so that TLS, or another transport, is one
// more implementation).
//
// A transport runs an event loop on threads of its own. It opens byte streams (connect,
// accept) and calls every handler on its loop; a node keeps its receiving and handshake state
// on that loop (no lock), while senders on any thread write to streams directly. Everything
// here may be called from any thread unless said otherwise.
#pragma once

#include <troupe/error.hpp>
#include <troupe/result.hpp>
#include <troupe/time.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace troupe::net {

/// What a stream reports to its owner, on the transport's loop.
class stream_handler {
 public:
  /// Bytes arrived (valid during the call only).
  virtual void on_bytes(std::span<const std::byte> bytes) = 0;
  /// The stream is closed: by the peer, by an error, or by close(). Called once; after it,
  /// nothing more is called on this handler.
  virtual void on_closed(const std::string& reason) = 0;
  /// How many more bytes the handler takes now, asked on the loop before each read: a read
  /// hands on_bytes at most that many, and 0 pauses reading until stream::resume_reading().
  /// This is how a slow consumer holds its peer back (TCP's window fills; nothing piles up
  /// here). The default takes everything.
  virtual std::size_t read_budget() { return static_cast<std::size_t>(-1); }

 protected:
  ~stream_handler() = default;
};

/// One ordered, reliable byte stream to a peer (a TCP connection).
class stream {
 public:
  virtual ~stream() = default;
  /// Starts reading; `h` must outlive the stream or the on_closed call.
  virtual void start(stream_handler& h) = 0;
  /// Queues `bytes` for sending, in order. Writes queued while one is in flight go out
  /// together (one system call for many frames). Never blocks.
  virtual void write(std::vector<std::byte> bytes) = 0;
  /// Bytes queued and not yet written: what back-pressure looks at.
  virtual std::size_t queued() const = 0;
  /// Reading paused because read_budget() said 0: ask it again, and read on if it allows.
  /// (A no-op while reading is not paused.)
  virtual void resume_reading() = 0;
  /// Calls `done(true)` on the loop once every byte written before this call has been handed
  /// to the operating system, or `done(false)` if the stream closes first.
  virtual void when_flushed(std::function<void(bool)> done) = 0;
  /// Closes the stream; queued bytes are flushed first when `flush` is true (for 10 s at most:
  /// a peer that does not read cannot hold the stream open). on_closed follows.
  /// Called on the loop without `flush`, the stream is closed when it returns (its pending
  /// when_flushed calls are done).
  virtual void close(const std::string& reason, bool flush = false) = 0;
  /// "127.0.0.1:5000", for logs.
  virtual std::string peer() const = 0;
};

class transport {
 public:
  using accept_fn = std::function<void(std::shared_ptr<stream>)>;
  using connect_fn = std::function<void(result<std::shared_ptr<stream>>)>;

  virtual ~transport() = default;
  /// Listens on host:port (port 0: any free port) and returns the bound port; calls
  /// `on_accept` on the loop for each new stream. Throws std::system_error if it cannot bind.
  virtual std::uint16_t listen(const std::string& host, std::uint16_t port, accept_fn on_accept) = 0;
  /// Stops listening on `port` (streams it accepted stay open).
  virtual void unlisten(std::uint16_t port) = 0;
  /// Opens a stream to host:port; `done` runs on the loop with the stream or an error:
  /// errc::connection_refused when nothing listens there, else errc::disconnected (the reason
  /// is in the detail).
  virtual void connect(const std::string& host, std::uint16_t port, connect_fn done) = 0;
  /// Runs `fn` on the loop.
  virtual void post(std::function<void()> fn) = 0;
  /// Runs `fn` on the loop after `d`, unless the transport stops first.
  virtual void post_after(duration d, std::function<void()> fn) = 0;
  /// True on the transport's loop thread.
  virtual bool on_loop() const = 0;
  /// Closes every listener and stream and stops the loop; no handler runs after it returns.
  /// Must not be called on the loop.
  virtual void stop() = 0;
};

/// The production transport: TCP over Boost.Asio, with one loop thread.
std::unique_ptr<transport> make_tcp_transport();

/// TLS for node connections (PEM files). Both sides present a certificate and check the
/// other's against `ca_certificates` (mutual TLS); the node's HMAC handshake then runs inside
/// the encrypted stream as usual. Peers are not checked by host name (nodes connect by
/// address): trust comes from the CA, and from the shared secret.
struct tls_config {
  std::string certificate_chain;  // this node's certificate (and intermediates)
  std::string private_key;        // its private key
  std::string ca_certificates;    // the authorities a peer's certificate must chain to
  bool verify_peer = true;        // false: encrypt only, accept any certificate (tests)
};

/// TCP with TLS over Boost.Asio's SSL layer (OpenSSL; TLS 1.2 or later). Throws
/// std::invalid_argument if a file cannot be loaded.
std::unique_ptr<transport> make_tls_transport(const tls_config& cfg);

}  // namespace troupe::net
