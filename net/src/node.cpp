// The node: connections, their handshake, and remote actors. Receiving, the handshake, lookups
// and the proxies live on the transport's loop thread (no locks). Sending happens on the
// sender's own thread: under a connection's out_m, a frame is appended to its buffer, which is
// written when the sending actor's activation ends (or at once elsewhere). Locks, in the order
// they may nest: a connection's out_m, then requests_m or `m` (exported actors) or the
// stream's own; peers_m is never held with another. Nothing runs user code or enqueues to an
// actor while holding one (an enqueue can bounce and send again on the same connection).
#include <troupe/net/node.hpp>

#include <troupe/net/serialization.hpp>

#include <troupe/detail/activation.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <spdlog/logger.h>

#include <algorithm>
#include <array>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <shared_mutex>
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

/// What a signal frame carries (docs/protocol.md).
enum class signal_kind : std::uint8_t { link = 1, unlink = 2, monitor = 3, demonitor = 4, exit = 5, down = 6, kill = 7 };

std::optional<signal_kind> signal_of(troupe::detail::envelope_kind k) noexcept {
  using troupe::detail::envelope_kind;
  switch (k) {
    case envelope_kind::link: return signal_kind::link;
    case envelope_kind::unlink: return signal_kind::unlink;
    case envelope_kind::monitor: return signal_kind::monitor;
    case envelope_kind::demonitor: return signal_kind::demonitor;
    case envelope_kind::exit_signal: return signal_kind::exit;
    case envelope_kind::down_signal: return signal_kind::down;
    case envelope_kind::kill: return signal_kind::kill;
    default: return std::nullopt;  // the runtime's own (continuations, shutdown...): never sent to a proxy
  }
}

bool carries_reason(signal_kind k) noexcept { return k == signal_kind::exit || k == signal_kind::down || k == signal_kind::kill; }

/// A system signal for a local actor, as the runtime makes them.
template <class T>
troupe::detail::envelope* signal_envelope(troupe::detail::envelope_kind kind, T payload, actor sender) {
  auto* e = new troupe::detail::message_envelope<T>(std::move(payload));
  e->kind = kind;
  e->sender = std::move(sender);
  return e;
}

std::string millis(duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

using steady = std::chrono::steady_clock;

/// Until its handshake is done, a connection takes no frame larger than this (a hello is 47
/// bytes; a refusal carries a sentence): an unauthenticated peer cannot make a node buffer much.
constexpr std::size_t handshake_frame_limit = 4096;

/// A connection's requests from the peer that may still be unanswered: what a cancel frame, or
/// the connection's loss, cancels. Loop-only, so no lock. Answering a request (on any thread)
/// does not touch it: answered entries are swept out when the table has doubled since the
/// last sweep, so each request costs an append and a share of a sweep (no lock, no map node;
/// measured against a locked unordered_map, which cost a remote round trip about 4%), and the
/// table holds at most about twice what is pending. Ids from a well-behaved peer arrive in
/// increasing order, so a cancel finds its entry by binary search (by a scan otherwise).
class incoming_table {
 public:
  using sink_ptr = troupe::detail::intrusive_ptr<troupe::detail::reply_sink>;

  void add(std::uint64_t id, sink_ptr sink) {
    if (entries_.size() >= sweep_at_) sweep();
    if (!entries_.empty() && id <= entries_.back().first) sorted_ = false;
    entries_.emplace_back(id, std::move(sink));
  }

  /// The pending request `id`, taken out of the table (null: unknown, or answered already).
  sink_ptr take(std::uint64_t id) noexcept {
    auto it = sorted_ ? std::lower_bound(entries_.begin(), entries_.end(), id,
                                         [](const entry& e, std::uint64_t x) { return e.first < x; })
                      : std::find_if(entries_.begin(), entries_.end(), [id](const entry& e) { return e.first == id; });
    if (it == entries_.end() || it->first != id || !it->second || it->second->completed()) return nullptr;
    return std::move(it->second);  // (the empty entry goes at the next sweep)
  }

  /// Every entry, leaving the table empty.
  std::vector<std::pair<std::uint64_t, sink_ptr>> take_all() noexcept {
    sorted_ = true;
    sweep_at_ = min_sweep;
    return std::exchange(entries_, {});
  }

 private:
  using entry = std::pair<std::uint64_t, sink_ptr>;
  static constexpr std::size_t min_sweep = 64;

  void sweep() noexcept {
    std::erase_if(entries_, [](const entry& e) { return !e.second || e.second->completed(); });
    if (entries_.empty()) sorted_ = true;
    sweep_at_ = std::max(min_sweep, 2 * entries_.size());
  }

  std::vector<entry> entries_;
  std::size_t sweep_at_ = min_sweep;
  bool sorted_ = true;
};

}  // namespace

struct node::impl final : std::enable_shared_from_this<node::impl>, handle_resolver {
  struct dial {
    std::string host;
    std::uint16_t port;
    duration delay;            // the next redial's wait
    steady::time_point since;  // when the connection was lost
  };
  enum class watch_kind : std::uint8_t { link, monitor_out, monitor_in };
  /// A monitor or link between `local` (an actor here) and `remote` (on the peer).
  /// monitor_out: local monitors remote; monitor_in: remote monitors local.
  struct watch {
    actor_id local;
    actor_id remote;
    watch_kind kind;
  };

  /// One connection. Receiving and the handshake are loop-only; sending happens on any thread,
  /// under out_m: frames are appended to `out` and flushed as one write, at the end of the
  /// sending actor's activation (troupe/detail/activation.hpp) or at once elsewhere.
  struct connection final : stream_handler, troupe::detail::deferred_flush, std::enable_shared_from_this<connection> {
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
    steady::time_point last_heard = steady::now();  // for the failure detector
    // Where connect() dialled, for redialling when the connection is lost (outgoing only).
    std::shared_ptr<dial> dialled;
    bool redialled = false;  // a redial made this connection
    std::vector<const message_type*> in_types;  // the peer's type numbers; null: not registered here
    // Loop-only cache of the local actors messages here are addressed to.
    std::unordered_map<actor_id, weak_actor> targets;

    // -- the sending side (any thread, under out_m) --
    std::mutex out_m;
    std::vector<std::byte> out;    // frames not yet handed to the stream
    std::thread::id deferred_by;   // the thread whose running activation will flush `out`
    bool out_closed = false;       // lost: nothing more is sent on it
    std::unordered_map<const message_type*, std::uint32_t> out_types;  // our type numbers
    std::unordered_set<actor_id> announced;  // local senders already exported
    // Monitors and links across this connection, to fire (or clear) when it is lost.
    std::vector<watch> watches;
    // Local actors whose handles went to the peer inside values: kept alive while the
    // connection lasts, as a handle the peer holds would keep a local actor alive.
    std::unordered_map<actor_id, actor> held;
    // Requests from the peer not answered yet (loop-only): a cancel frame or the connection's
    // loss cancels them.
    incoming_table incoming;
    std::weak_ptr<impl> owner_ref;  // for work done after the node may be gone
    std::size_t max_queued;
    bool stalled = false;

    /// Hands `out` to the stream. The stream is written under out_m, so that batches reach it
    /// in the order their frames were appended (out_m, then the stream's own lock: never the
    /// other way round).
    void flush() noexcept override {
      std::lock_guard lock(out_m);
      if (deferred_by == std::this_thread::get_id()) deferred_by = {};
      write_out();
    }
    void write_out() noexcept {  // (out_m held)
      if (out.empty()) return;
      try {
        io->write(std::exchange(out, {}));
      } catch (...) {  // out of memory queueing it: the bytes are lost, so is the connection
        io->close("out of memory", false);
      }
      // A peer that does not read: bytes queue up here. Past the limit it is dropped (on the
      // loop) rather than holding this process's memory hostage.
      if (!stalled && io->queued() > max_queued) {
        stalled = true;
        if (auto me = owner_ref.lock()) {
          me->net->post([w = weak_from_this(), queued = io->queued()] {
            if (auto c = w.lock())
              if (auto o = c->owner_ref.lock())
                o->drop(*c, "the peer does not read what is sent to it (" + std::to_string(queued) +
                                " bytes queued, over node_config::max_queued_bytes)");
          });
        }
      }
    }

    /// After appending to `out` (out_m held): during an actor's activation, once per activation
    /// and thread, the frames wait for its end (one write for a burst of sends); anywhere else
    /// they go now.
    void flush_soon(std::unique_lock<std::mutex>&) {
      const auto me = std::this_thread::get_id();
      if (deferred_by == me) return;  // this activation flushes when it ends
      if (troupe::detail::defer_to_activation_end(std::shared_ptr<troupe::detail::deferred_flush>(shared_from_this()))) {
        deferred_by = me;
        return;
      }
      write_out();
    }

    connection(impl& o, std::shared_ptr<stream> s, bool opened_here)
        : owner(o), io(std::move(s)), decoder(handshake_frame_limit), outgoing(opened_here),
          owner_ref(o.weak_from_this()), max_queued(o.cfg.max_queued_bytes) {}

    void on_bytes(std::span<const std::byte> bytes) override { owner.on_bytes(*this, bytes); }
    void on_closed(const std::string& reason) override { owner.on_closed(*this, reason); }
  };

  actor_system& sys;
  node_config cfg;
  std::unique_ptr<transport> net;
  // Loop-only state.
  std::vector<std::shared_ptr<connection>> conns;
  // Counters (node_stats). The loop's own are written by the loop only (a relaxed load and
  // store, no read-modify-write); frames and bytes sent are added by any sending thread.
  struct {
    std::atomic<std::uint64_t> opened{0}, open{0}, dropped{0}, reconnects{0}, frames_in{0}, bytes_in{0};
    std::atomic<std::uint64_t> frames_out{0}, bytes_out{0};
  } counts;
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {  // (single writer)
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // The ready connection to each peer: written on the loop, read by senders on any thread.
  mutable std::shared_mutex peers_m;
  std::map<node_id, std::shared_ptr<connection>> by_peer;
  std::atomic<std::uint64_t> next_request{1};
  struct pending_request {
    troupe::detail::reply_handle reply;  // empty once cancelled: the reply the peer still sends is ignored
    const connection* conn;  // the connection it went out on
    std::weak_ptr<connection> wconn;
  };
  std::mutex requests_m;
  std::unordered_map<std::uint64_t, pending_request> requests;  // sent to remote actors
  struct pending_lookup {  // (loop-only)
    troupe::detail::state_ptr<actor> result;
    const connection* conn;
    std::string name;
  };
  std::unordered_map<std::uint64_t, pending_lookup> lookups;
  // Shared with every thread that writes handles or publishes.
  std::mutex m;
  std::unordered_map<std::string, actor> published;
  std::unordered_map<actor_id, weak_actor> exported;  // local actors whose handles went out
  std::size_t exported_sweep_at = 1024;
  std::vector<weak_actor> node_watchers;  // monitor_nodes
  // Loop-only: one proxy per remote actor while anyone holds it (equal handles, one object).
  struct address_hash {
    std::size_t operator()(const std::pair<node_id, actor_id>& k) const noexcept {
      return std::hash<std::uint64_t>()(k.second * 0x9e3779b97f4a7c15ULL ^ k.first.value);
    }
  };
  std::unordered_map<std::pair<node_id, actor_id>, actor, address_hash> proxies;
  std::size_t proxies_sweep_at = 1024;
  bool ticking = false;  // the heartbeat timer is armed

  impl(actor_system& s, node_config c) : sys(s), cfg(std::move(c)) {
    if (cfg.secret.empty()) throw std::invalid_argument("troupe::net: a node needs a shared secret (node_config::secret)");
    if (!cfg.types) cfg.types = std::make_shared<type_registry>();
    net = cfg.transport_factory ? cfg.transport_factory() : cfg.tls ? make_tls_transport(*cfg.tls) : make_tcp_transport();
  }

  /// Appends one frame to `c.out` (out_m held): `body(w)` writes what follows the type byte. A
  /// frame over the size limit is taken back, and std::length_error thrown.
  template <class Body>
  void append_frame(connection& c, frame_type type, Body&& body) {
    const std::size_t at = begin_frame(c.out, type);
    try {
      writer w(c.out, this);
      body(w);
      finish_frame(c.out, at, cfg.max_frame);
      counts.frames_out.fetch_add(1, std::memory_order_relaxed);
      counts.bytes_out.fetch_add(c.out.size() - at, std::memory_order_relaxed);
    } catch (...) {
      c.out.resize(at);
      throw;
    }
  }

  /// Sends one frame on `c` (at once, or at the end of the running actor's activation).
  template <class Body>
  void send_frame(connection& c, frame_type type, Body&& body) {
    std::unique_lock lock(c.out_m);
    if (c.out_closed) return;
    append_frame(c, type, body);
    c.flush_soon(lock);
  }

  /// The ready connection to `peer`, if any (any thread).
  std::shared_ptr<connection> connection_to(node_id peer) const {
    std::shared_lock lock(peers_m);
    auto it = by_peer.find(peer);
    return it == by_peer.end() ? nullptr : it->second;
  }

  // -- starting connections (on the loop) ------------------------------------------------------

  /// Starts the handshake on a new stream; null if refused (too many handshakes at once).
  connection* adopt(std::shared_ptr<stream> s, bool opened_here) {
    bump(counts.opened);
    bump(counts.open);
    if (!opened_here) {
      std::size_t pending = 0;
      for (auto& c : conns) pending += !c->ready && !c->closed && !c->outgoing;
      if (pending >= cfg.max_pending_handshakes) {
        if (sys.should_log(log_level::warn))
          sys.logger().warn("troupe::net: closing the connection from {}: {} handshakes are already in progress",
                            s->peer(), pending);
        s->close("too many handshakes in progress");
        return nullptr;
      }
    }
    conns.push_back(std::make_shared<connection>(*this, std::move(s), opened_here));
    connection& c = *conns.back();
    c.io->start(c);
    send_frame(c, frame_type::hello, [&](writer& w) {
      w.integer(protocol_version);
      w.u64(sys.node().value);
      w.bytes(c.mine.data(), c.mine.size());
    });
    // A peer that never finishes (or never starts) its handshake is dropped.
    net->post_after(cfg.handshake_timeout, [self = weak_from_this(), conn = c.weak_from_this()] {
      auto me = self.lock();
      auto late = conn.lock();
      if (me && late && !late->ready && !late->closed)
        me->drop(*late, "the handshake did not finish within " + millis(me->cfg.handshake_timeout));
    });
    return &c;
  }

  // -- frames (on the loop) ----------------------------------------------------------------------

  void on_bytes(connection& c, std::span<const std::byte> bytes) {
    if (c.closed) return;
    c.last_heard = steady::now();
    bump(counts.bytes_in, bytes.size());
    c.decoder.feed(bytes);
    frame_view f;
    while (!c.closed && c.decoder.next(f)) {
      bump(counts.frames_in);
      handle(c, f);
    }
    if (!c.closed && c.decoder.failed()) drop(c, "malformed stream: " + c.decoder.error());
  }

  void handle(connection& c, const frame_view& f) {
    reader r(f.body, this);
    switch (f.type) {
      case frame_type::hello: {
        const auto version = r.integer<std::uint16_t>();
        // The version first: another version's hello may be laid out differently.
        if (r.ok() && version != protocol_version && !c.got_hello)
          return refuse(c, "protocol version " + std::to_string(version) + " is not spoken here (this node speaks " +
                               std::to_string(protocol_version) + ")");
        const node_id peer{r.u64()};
        r.bytes(c.theirs.data(), c.theirs.size());
        if (!r.ok() || !r.at_end() || c.got_hello) return drop(c, "a malformed hello");
        c.got_hello = true;
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
        return drop(c, why, true, false, false);
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
      case frame_type::signal: return on_signal(c, r);
      case frame_type::cancel: return on_cancel(c, r);
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
    const std::uint64_t budget_us = request ? r.u64() : 0;
    const std::uint32_t number = r.u32();
    if (!r.ok() || number >= c.in_types.size()) return drop(c, "a malformed message header");
    const message_type* t = c.in_types[number];
    if (!t) {
      const std::string why = "the type \"" + type_name_of(c, number) + "\" is not registered on " + sys.node().to_string();
      if (request) return send_reply_error(c, request, error(errc::unhandled_message, why));
      return dead_letter("from " + c.peer.to_string() + ": " + why);
    }
    std::unique_ptr<troupe::detail::envelope> e(t->read_message(r));
    if (!e || !r.at_end()) return drop(c, std::string("a malformed message body: ") + (r.ok() ? "bytes left over" : r.failure()));
    abstract_actor* target = target_of(c, to);
    if (!target) {
      if (request) return send_reply_error(c, request, error(errc::receiver_down, "no actor " + std::to_string(to) + " on " + sys.node().to_string()));
      return dead_letter("from " + c.peer.to_string() + " to actor " + std::to_string(to) + ": no such actor here");
    }
    if (from) e->sender = proxy(c.peer, from);
    if (request) {
      time_point deadline = time_point::max();
      // A budget past what the clock can hold (about 292 years) is as good as none; checked
      // before converting (a budget from the wire must not overflow the conversion).
      constexpr std::uint64_t max_budget_us =
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(duration::max()).count());
      if (budget_us && budget_us < max_budget_us) {
        // The requester's deadline, on this node's clock: what requests made here inherit.
        const duration left = std::chrono::duration_cast<duration>(
            std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(budget_us)));
        const time_point now = sys.timers().now();
        if (left < time_point::max() - now) deadline = now + left;
      }
      auto sink = make_reply_sink(c, request, deadline);
      c.incoming.add(request, sink);
      e->reply = troupe::detail::reply_handle(std::move(sink));
    }
    // Straight to the actor, no hop; one that has exited bounces it (receiver_down, dead letter).
    troupe::detail::system_access::enqueue(*target, e.release());
  }

  /// The peer no longer wants the reply to `request`: the work here is cancelled (dropped if not
  /// started) and the request answered at once with errc::cancelled, so that every request
  /// still gets exactly one reply. A request already answered: nothing to do.
  void on_cancel(connection& c, reader& r) {
    const std::uint64_t request = r.u64();
    if (!r.ok() || !r.at_end()) return drop(c, "a malformed cancel");
    // (A remote_reply: cancelling it answers it, too.)
    if (auto sink = c.incoming.take(request)) sink->cancel(troupe::detail::cancel_kind::explicit_);
  }

  /// The local actor `id` that messages arriving on `c` are for: its address, valid while the
  /// per-connection cache holds it (loop-only), or null.
  abstract_actor* target_of(connection& c, actor_id id) {
    auto it = c.targets.find(id);
    if (it != c.targets.end()) return it->second.address();
    weak_actor w = local(id);
    if (!w.address()) return nullptr;
    if (c.targets.size() >= 4096) c.targets.clear();  // (a bound; entries are found again)
    return c.targets.emplace(id, std::move(w)).first->second.address();
  }

  // -- monitors, links and exits (on the loop) ---------------------------------------------------

  /// A signal frame: u8 kind, u64 from (an actor on the sender's node, 0: none), u64 to (one
  /// here), and for exit, down and kill the exit reason.
  void on_signal(connection& c, reader& r) {
    using troupe::detail::envelope_kind;
    const std::uint8_t k = r.u8();
    const actor_id from = r.u64();
    const actor_id to = r.u64();
    if (!r.ok() || k < 1 || k > 7) return drop(c, "a malformed signal");
    const auto kind = static_cast<signal_kind>(k);
    exit_reason reason;
    if (carries_reason(kind)) read(r, reason);
    if (!r.ok() || !r.at_end()) return drop(c, std::string("a malformed signal: ") + (r.ok() ? "bytes left over" : r.failure()));
    if (from == 0 && kind != signal_kind::exit && kind != signal_kind::kill) return drop(c, "a signal without a sender");
    const actor source = from ? proxy(c.peer, from) : actor();
    const weak_actor target = local(to);
    if (!target.address()) {
      // Nothing here by that id: a monitor or link learns it at once, like a local one would.
      const exit_reason gone(error(errc::receiver_down, "no actor " + std::to_string(to) + " on " + sys.node().to_string()));
      if (kind == signal_kind::monitor) send_signal_frame(c, signal_kind::down, to, from, &gone);
      if (kind == signal_kind::link) send_signal_frame(c, signal_kind::exit, to, from, &gone);
      return;
    }
    {
      std::lock_guard lock(c.out_m);
      note_signal(c, kind, to, from, true);
    }
    troupe::detail::envelope* e = nullptr;
    switch (kind) {
      case signal_kind::link: e = new troupe::detail::envelope(envelope_kind::link); break;
      case signal_kind::unlink: e = new troupe::detail::envelope(envelope_kind::unlink); break;
      case signal_kind::monitor: e = new troupe::detail::envelope(envelope_kind::monitor); break;
      case signal_kind::demonitor: e = new troupe::detail::envelope(envelope_kind::demonitor); break;
      case signal_kind::exit: e = signal_envelope(envelope_kind::exit_signal, exit_msg{source, std::move(reason)}, source); break;
      case signal_kind::kill: e = signal_envelope(envelope_kind::kill, exit_msg{source, std::move(reason)}, source); break;
      case signal_kind::down: e = signal_envelope(envelope_kind::down_signal, down_msg{source, std::move(reason)}, source); break;
    }
    e->sender = source;
    troupe::detail::system_access::enqueue(*target.address(), e);
  }

  /// Keeps the record of the monitors and links that cross `c` (out_m held), for lost():
  /// `incoming` for a signal from the peer (then `from` is the remote actor), else one to it.
  void note_signal(connection& c, signal_kind kind, actor_id local_id, actor_id remote_id, bool incoming) {
    const watch_kind mine = incoming ? watch_kind::monitor_in : watch_kind::monitor_out;
    const watch_kind theirs = incoming ? watch_kind::monitor_out : watch_kind::monitor_in;
    switch (kind) {
      case signal_kind::link: add_link(c, local_id, remote_id); break;
      case signal_kind::unlink:
      case signal_kind::exit: remove_link(c, local_id, remote_id); break;
      case signal_kind::monitor: c.watches.push_back({local_id, remote_id, mine}); break;
      case signal_kind::demonitor: remove_one(c, local_id, remote_id, mine); break;
      case signal_kind::down: remove_one(c, local_id, remote_id, theirs); break;
      case signal_kind::kill: break;
    }
  }

  void add_link(connection& c, actor_id local_id, actor_id remote_id) {
    for (const auto& w : c.watches)
      if (w.kind == watch_kind::link && w.local == local_id && w.remote == remote_id) return;
    c.watches.push_back({local_id, remote_id, watch_kind::link});
  }
  void remove_link(connection& c, actor_id local_id, actor_id remote_id) {
    std::erase_if(c.watches, [&](const watch& w) {
      return w.kind == watch_kind::link && w.local == local_id && w.remote == remote_id;
    });
  }
  void remove_one(connection& c, actor_id local_id, actor_id remote_id, watch_kind kind) {
    auto it = std::find_if(c.watches.begin(), c.watches.end(), [&](const watch& w) {
      return w.kind == kind && w.local == local_id && w.remote == remote_id;
    });
    if (it != c.watches.end()) c.watches.erase(it);
  }

  void send_signal_frame(connection& c, signal_kind kind, actor_id from, actor_id to, const exit_reason* reason) {
    send_frame(c, frame_type::signal, [&](writer& w) {
      w.u8(static_cast<std::uint8_t>(kind));
      w.u64(from);
      w.u64(to);
      if (carries_reason(kind)) write(w, reason ? *reason : exit_reason());
    });
  }

  void on_reply(connection& c, reader& r) {
    const std::uint64_t request = r.u64();
    const std::uint8_t status = r.u8();
    if (!r.ok() || status > 1) return drop(c, "a malformed reply header");
    troupe::detail::reply_handle reply;
    bool known = false;
    {
      std::lock_guard lock(requests_m);
      auto it = requests.find(request);
      if (it != requests.end() && it->second.conn == &c) {
        known = true;
        reply = std::move(it->second.reply);
        requests.erase(it);
      }
    }
    if (!known) return drop(c, "a reply to no request of this node");
    if (!reply) return;  // cancelled here: the peer's answer (or its acknowledgement) goes nowhere
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
    if (!t->read_reply(r, *reply.sink()) || !r.at_end()) {
      reply.fail(error(errc::disconnected, "the reply was malformed, and the connection to " + c.peer.to_string() +
                                               " was closed"));  // (no-op if the value was delivered)
      return drop(c, "a malformed reply value");
    }
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
    if (it == lookups.end() || it->second.conn != &c) return drop(c, "a lookup reply to no lookup of this node");
    auto p = std::move(it->second);
    lookups.erase(it);
    if (found)
      p.result->set_value(proxy(c.peer, id));
    else
      p.result->fail(error(errc::receiver_down, "nothing is published as \"" + p.name + "\" on " + c.peer.to_string()));
  }

  // -- remote actors: outgoing -------------------------------------------------------------------

  /// Counts a dead letter and logs why: at warn level at most once a second (with how many were
  /// not shown), at debug level otherwise. Any thread.
  void dead_letter(const std::string& what) noexcept {
    troupe::detail::system_access::count_dead_letter(sys);
    try {
      std::size_t hidden = 0;
      bool warn = false;
      {
        std::lock_guard lock(dead_letter_m);
        const auto now = steady::now();
        if (now - last_dead_letter_warning >= std::chrono::seconds(1)) {
          warn = true;
          last_dead_letter_warning = now;
          hidden = std::exchange(dead_letters_hidden, 0);
        } else {
          ++dead_letters_hidden;
        }
      }
      if (warn && sys.should_log(log_level::warn))
        sys.logger().warn("troupe::net: dead letter {}{}", what,
                          hidden ? " (and " + std::to_string(hidden) + " more not shown)" : std::string());
      else if (!warn && sys.should_log(log_level::debug))
        sys.logger().debug("troupe::net: dead letter {}", what);
    } catch (...) {
    }
  }
  std::mutex dead_letter_m;
  steady::time_point last_dead_letter_warning{};
  std::size_t dead_letters_hidden = 0;

  /// Writes handles for one peer: exports local actors and collects them, so that the
  /// connection keeps them alive.
  struct handle_collector final : handle_resolver {
    impl& me;
    std::vector<actor>& out;
    handle_collector(impl& m, std::vector<actor>& o) : me(m), out(o) {}
    actor resolve(node_id n, actor_id id) override { return me.resolve(n, id); }
    std::pair<node_id, actor_id> address_of(const actor& a) override {
      if (a.node() == me.sys.node()) out.push_back(a);
      return me.address_of(a);
    }
  };

  /// Keeps the local actors named in a value alive while `c` lasts (out_m held).
  static void hold(connection& c, std::vector<actor>& handles) {
    for (auto& a : handles) c.held.try_emplace(a.id(), std::move(a));
  }

  /// A value serialized on the sending thread, before the connection's lock is taken: into a
  /// buffer each thread reuses (no allocation per message once it has grown).
  struct encoded {
    std::vector<std::byte>& bytes;
    std::vector<actor> handles;  // local actors named in it (usually none: no allocation)
    explicit encoded(std::vector<std::byte>& b) : bytes(b) { bytes.clear(); }
    ~encoded() {
      if (bytes.capacity() > (std::size_t{1} << 20)) std::vector<std::byte>().swap(bytes);  // (a huge one once)
    }
  };
  static std::vector<std::byte>& scratch() {
    thread_local std::vector<std::byte> buffer;
    return buffer;
  }

  /// The number of `t` on `c`'s outgoing side, appending its type_def frame to `c.out` first
  /// if it is new (out_m held).
  std::uint32_t type_number(connection& c, const message_type* t) {
    const auto placed = c.out_types.emplace(t, static_cast<std::uint32_t>(c.out_types.size()));
    const auto it = placed.first;  // (not a structured binding: the lambda below uses it)
    if (placed.second) {
      try {
        append_frame(c, frame_type::type_def, [&](writer& w) {
          w.u32(it->second);
          write(w, t->name);
        });
      } catch (...) {
        c.out_types.erase(it);
        throw;
      }
    }
    return it->second;
  }

  /// The sender's id for the wire (0: none, or not local), exported once per connection
  /// (out_m held).
  actor_id sender_id(connection& c, const actor& sender) {
    if (!sender || sender.node() != sys.node()) return 0;
    if (c.announced.insert(sender.id()).second) export_actor(sender);
    return sender.id();
  }

  /// Any thread: takes `e` for actor `to` on `peer`, and writes it to the connection (no hop to
  /// the network thread).
  bool send_remote(node_id peer, actor_id to, std::unique_ptr<troupe::detail::envelope> e) noexcept {
    using troupe::detail::envelope_kind;
    try {
      if (e->kind != envelope_kind::message) return send_signal_remote(peer, to, std::move(e));
      const message_type* t = cfg.types->find(e->type);
      if (!t) {
        const std::string why = std::string("the type ") + std::string(e->type ? e->type->name : "?") +
                                " is not registered for the wire (troupe::net::type_registry::add)";
        if (e->reply)
          e->reply.fail(error(errc::unhandled_message, why));
        else
          dead_letter("to " + peer.to_string() + ": " + why);
        return false;
      }
      if (e->reply && e->reply.sink()->cancelled()) return false;  // nobody waits for it: not sent
      auto c = connection_to(peer);
      if (!c) return not_connected(peer, to, *e);
      encoded value(scratch());
      {
        handle_collector handles(*this, value.handles);
        writer w(value.bytes, &handles);
        t->write_message(w, *e);
      }
      if (value.bytes.size() + 37 > cfg.max_frame) {  // (37: the longest message header)
        const error big(errc::handler_exception, "the message does not fit in a frame (node_config::max_frame is " +
                                                     std::to_string(cfg.max_frame) + " bytes)");
        if (e->reply) e->reply.fail(big);
        else dead_letter("to " + peer.to_string() + ": " + std::string(big.detail()));
        return false;
      }
      std::unique_lock lock(c->out_m);
      if (c->out_closed) {
        lock.unlock();
        return not_connected(peer, to, *e);
      }
      const std::uint32_t number = type_number(*c, t);
      const actor_id from = sender_id(*c, e->sender);
      const std::uint64_t request = e->reply ? next_request.fetch_add(1, std::memory_order_relaxed) : 0;
      std::uint64_t budget_us = 0;  // the time the requester still waits (0: no limit)
      if (request) {
        const time_point deadline = e->reply.sink()->deadline();
        if (deadline != time_point::max()) {
          const auto left = std::chrono::ceil<std::chrono::microseconds>(deadline - sys.timers().now()).count();
          budget_us = left > 0 ? static_cast<std::uint64_t>(left) : 1;
        }
      }
      hold(*c, value.handles);
      append_frame(*c, frame_type::message, [&](writer& w) {
        if (request)
          w.integers(from, to, request, budget_us, number);
        else
          w.integers(from, to, request, number);
        w.bytes(value.bytes.data(), value.bytes.size());
      });
      troupe::detail::intrusive_ptr<troupe::detail::reply_sink> sink;
      if (request) {
        // Registered before the frame leaves (it leaves under out_m, which we hold): its reply
        // cannot come first, and lost() (which closes under out_m) fails it if it never comes.
        sink = troupe::detail::intrusive_ptr<troupe::detail::reply_sink>(e->reply.sink());
        std::lock_guard rl(requests_m);
        requests.emplace(request, pending_request{std::move(e->reply), c.get(), c});
      }
      c->flush_soon(lock);
      lock.unlock();
      // If the requester stops waiting, the peer is told (a cancel frame). Registered outside
      // the lock (replacing a watcher may run a destructor); if the requester already gave up
      // (before or since the frame was written), the cancel goes now.
      if (sink && !sink->watch(troupe::detail::make_intrusive<remote_cancel>(weak_from_this(), request)))
        cancel_remote(request);
      return true;
    } catch (const std::exception& ex) {
      if (e->reply) e->reply.fail(error(errc::handler_exception, std::string("cannot serialize: ") + ex.what()));
      return false;
    }
  }

  /// Watches a request sent to a remote actor: when its requester stops waiting (a cancel, a
  /// timeout), the peer is told.
  struct remote_cancel final : troupe::detail::cancellable {
    remote_cancel(std::weak_ptr<impl> o, std::uint64_t r) noexcept : owner(std::move(o)), request(r) {}
    std::weak_ptr<impl> owner;
    std::uint64_t request;
    void cancel(troupe::detail::cancel_kind) noexcept override {
      if (auto me = owner.lock()) me->cancel_remote(request);
    }
  };

  /// Sends a cancel frame for `request` (still pending: its reply, when it comes, is ignored).
  void cancel_remote(std::uint64_t request) noexcept {
    std::shared_ptr<connection> c;
    troupe::detail::reply_handle gone;  // (released outside the lock)
    {
      std::lock_guard lock(requests_m);
      auto it = requests.find(request);
      if (it == requests.end() || !it->second.reply) return;
      gone = std::move(it->second.reply);
      c = it->second.wconn.lock();
    }
    if (!c) return;
    try {
      send_frame(*c, frame_type::cancel, [&](writer& w) { w.u64(request); });
    } catch (...) {  // out of memory: the peer works on; its reply is ignored
    }
  }

  /// A message for a node this node is not connected to: fails at once.
  bool not_connected(node_id peer, actor_id to, troupe::detail::envelope& e) {
    if (e.reply)
      e.reply.fail(error(errc::disconnected, "not connected to " + peer.to_string()));
    else
      dead_letter("to actor " + std::to_string(to) + " on " + peer.to_string() + ": not connected to it");
    return false;
  }

  /// Any thread: a link, monitor, exit... from a local actor (or none) to actor `to` on `peer`.
  bool send_signal_remote(node_id peer, actor_id to, std::unique_ptr<troupe::detail::envelope> e) {
    using troupe::detail::envelope_kind;
    const auto kind = signal_of(e->kind);
    if (!kind) return false;
    exit_reason reason;
    if (e->kind == envelope_kind::down_signal)
      reason = static_cast<troupe::detail::message_envelope<down_msg>&>(*e).value.reason;
    else if (e->kind == envelope_kind::exit_signal || e->kind == envelope_kind::kill)
      reason = static_cast<troupe::detail::message_envelope<exit_msg>&>(*e).value.reason;
    const bool local_sender = e->sender && e->sender.node() == sys.node();
    if (!local_sender && *kind != signal_kind::exit && *kind != signal_kind::kill)
      return false;  // links and monitors from outside any local actor: nobody to tell
    if (auto c = connection_to(peer)) {
      std::unique_lock lock(c->out_m);
      if (!c->out_closed) {
        const actor_id from = sender_id(*c, e->sender);
        note_signal(*c, *kind, from, to, false);
        append_frame(*c, frame_type::signal, [&](writer& w) {
          w.u8(static_cast<std::uint8_t>(*kind));
          w.u64(from);
          w.u64(to);
          if (carries_reason(*kind)) write(w, reason);
        });
        c->flush_soon(lock);
        return true;
      }
    }
    // Not connected: a monitor or link fires at once, as for a dead local actor (on the loop,
    // which owns the proxies).
    if (local_sender && (*kind == signal_kind::monitor || *kind == signal_kind::link)) {
      net->post([self = weak_from_this(), sender = std::move(e->sender), peer, to, monitor = *kind == signal_kind::monitor] {
        auto me = self.lock();
        if (!me) return;
        using troupe::detail::envelope_kind;
        const exit_reason lost(error(errc::disconnected, "not connected to " + peer.to_string()));
        const actor target = me->proxy(peer, to);
        troupe::detail::system_access::enqueue(
            *sender.get(), monitor ? signal_envelope(envelope_kind::down_signal, down_msg{target, lost}, target)
                                   : signal_envelope(envelope_kind::exit_signal, exit_msg{target, lost}, target));
      });
    }
    return false;
  }

  void send_reply_error(connection& c, std::uint64_t request, const error& e) {
    send_frame(c, frame_type::reply, [&](writer& w) {
      w.u64(request);
      w.u8(1);
      write(w, e);
    });
  }

  /// Answers a remote request: serialized and written on the replying thread.
  struct remote_reply final : troupe::detail::reply_sink {
    std::weak_ptr<impl> owner;
    std::weak_ptr<connection> conn;
    std::uint64_t request;
    std::atomic<bool> done{false};

    time_point until;  // the requester's deadline, on this node's clock

    remote_reply(std::weak_ptr<impl> o, std::weak_ptr<connection> c, std::uint64_t r, time_point d)
        : owner(std::move(o)), conn(std::move(c)), request(r), until(d) {}

    time_point deadline() const noexcept override { return until; }

    void deliver(const type_meta* type, void* value) override {
      if (done.exchange(true)) return;
      auto keep = owner.lock();
      auto c = conn.lock();
      drop_watcher();
      if (!keep || !c) return;  // the connection is gone: the requester fails it with disconnected
      impl& me = *keep;
      const message_type* t = me.cfg.types->find(type);
      if (!t) {
        send_error(*c, error(errc::unhandled_message, "the reply type " + std::string(type ? type->name : "?") +
                                                          " is not registered for the wire"));
        return;
      }
      try {
        encoded reply(scratch());
        {
          handle_collector handles(me, reply.handles);
          writer w(reply.bytes, &handles);
          t->write(w, value);
        }
        std::unique_lock lock(c->out_m);
        if (c->out_closed) return;
        const std::uint32_t number = me.type_number(*c, t);
        me.append_frame(*c, frame_type::reply, [&](writer& w) {
          w.integers(request, std::uint8_t{0}, number);
          w.bytes(reply.bytes.data(), reply.bytes.size());
        });
        hold(*c, reply.handles);
        c->flush_soon(lock);
      } catch (const std::exception& ex) {
        send_error(*c, error(errc::handler_exception, std::string("cannot send the reply: ") + ex.what()));
      }
    }
    void fail(error e) noexcept override {
      if (done.exchange(true)) return;
      auto keep = owner.lock();
      auto c = conn.lock();
      drop_watcher();
      if (!keep || !c) return;
      send_error(*c, std::move(e));
    }
    bool completed() const noexcept override { return done.load(); }
    /// The requester stopped waiting (a cancel frame, or the connection was lost): whoever
    /// works on the request here is told, and the request is answered with errc::cancelled at
    /// once (on a lost connection nothing goes out), so it still gets exactly one reply.
    void cancel(troupe::detail::cancel_kind) noexcept override {
      if (done.exchange(true)) return;
      mark_cancelled();
      auto keep = owner.lock();
      auto c = conn.lock();
      if (!keep || !c) return;
      send_error(*c, error(errc::cancelled, "cancelled by the requester"));
    }

    void send_error(connection& c, error e) noexcept {
      try {
        c.owner.send_reply_error(c, request, e);
      } catch (...) {  // out of memory, or an error detail too long for a frame: nothing to do
      }
    }
  };

  troupe::detail::intrusive_ptr<troupe::detail::reply_sink> make_reply_sink(connection& c, std::uint64_t request,
                                                                             time_point deadline) {
    return troupe::detail::make_intrusive<remote_reply>(weak_from_this(), c.weak_from_this(), request, deadline);
  }

  // -- handles ------------------------------------------------------------------------------------

  /// A handle to actor `id` on `peer` (on the loop: the proxies are loop-only).
  actor proxy(node_id peer, actor_id id);

  /// Remembers that a local actor's handle went out (any thread; takes the lock).
  void export_actor(const actor& a) {
    std::lock_guard lock(m);
    if (exported.size() >= exported_sweep_at) {
      // Forget actors that have exited: messages to them then fail as to an unknown id.
      std::erase_if(exported, [](const auto& e) { return e.second.expired(); });
      exported_sweep_at = std::max<std::size_t>(1024, 2 * exported.size());
    }
    exported.emplace(a.id(), a);
  }

  /// A local actor by id, if its handle went out (published or sent): a weak handle, whose
  /// address takes envelopes even after the actor exited (they bounce as for a local sender).
  weak_actor local(actor_id id) {
    std::lock_guard lock(m);
    auto it = exported.find(id);
    return it == exported.end() ? weak_actor() : it->second;
  }

  actor resolve(node_id n, actor_id id) override {
    if (n == sys.node()) {
      // (A handle to a local actor that exited, or that never went out, comes back empty.)
      return local(id).lock();
    }
    return proxy(n, id);
  }

  std::pair<node_id, actor_id> address_of(const actor& a) override {
    if (a.node() == sys.node()) export_actor(a);
    return {a.node(), a.id()};
  }

  /// Names of types a peer defined that this node has not registered (for error messages).
  std::map<std::pair<const connection*, std::uint32_t>, std::string> unknown_names;

  void maybe_ready(connection& c) {
    if (!c.peer_verified || !c.welcomed || c.ready) return;
    c.ready = true;
    c.decoder.set_limit(cfg.max_frame);
    auto self = c.shared_from_this();
    std::shared_ptr<connection> other;
    {
      std::unique_lock lock(peers_m);
      auto it = by_peer.find(c.peer);
      if (it == by_peer.end() || it->second == self) {
        by_peer[c.peer] = self;
      } else {
        // Both nodes connected at once: keep the connection the smaller node id opened, on both
        // sides alike.
        // The same choice on both sides: the smaller (opener's id, opener's nonce) wins.
        other = it->second;
        auto key = [this](const connection& x) {
          return std::make_pair(x.outgoing ? sys.node() : x.peer, x.outgoing ? x.mine : x.theirs);
        };
        if (key(c) < key(*other)) it->second = self;
      }
    }
    if (other) {
      const bool c_won = connection_to(c.peer) == self;
      connection& loser = c_won ? *other : c;
      connection& winner = c_won ? c : *other;
      if (loser.connected) std::exchange(loser.connected, {})->set_value(c.peer);
      if (loser.dialled && !winner.dialled) winner.dialled = std::exchange(loser.dialled, {});
      // What went out on the loser in the meantime fails as on any lost connection (requests
      // with disconnected, monitors fire); what is sent from now on takes the winner.
      drop(loser, "a duplicate connection (both nodes connected at once)", false, true, false);
      if (!c_won) return;
    } else {
      tell_watchers(node_up{c.peer, c.io->peer()});
    }
    if (c.redialled && sys.should_log(log_level::info))
      sys.logger().info("troupe::net: reconnected to {} at {}", c.peer.to_string(), c.io->peer());
    if (c.dialled) c.dialled->delay = cfg.reconnect_delay_min;
    if (c.connected) std::exchange(c.connected, {})->set_value(c.peer);
    arm_heartbeat();
  }

  // -- node events, heartbeats, redialling (on the loop) ----------------------------------------------

  template <class Event>
  void tell_watchers(const Event& ev) {
    std::vector<actor> to;
    {
      std::lock_guard lock(m);
      std::erase_if(node_watchers, [](const weak_actor& w) { return w.expired(); });
      for (auto& w : node_watchers)
        if (auto a = w.lock()) to.push_back(std::move(a));
    }
    for (auto& a : to) troupe::send(a, ev);
  }

  void arm_heartbeat() {
    if (ticking) return;
    ticking = true;
    net->post_after(cfg.heartbeat_interval, [self = weak_from_this()] {
      if (auto me = self.lock()) me->heartbeat();
    });
  }

  /// Every heartbeat_interval while a connection is up: sends a heartbeat on each, and closes
  /// those that brought nothing for failure_timeout.
  void heartbeat() {
    ticking = false;
    const auto now = steady::now();
    bool any = false;
    for (auto& p : conns) {
      connection& c = *p;
      if (!c.ready || c.closed) continue;
      if (cfg.failure_timeout > duration::zero() && now - c.last_heard > cfg.failure_timeout) {
        drop(c, "nothing heard from " + c.peer.to_string() + " for " + millis(now - c.last_heard) +
                    ": presumed down (failure_timeout is " + millis(cfg.failure_timeout) + ")");
        continue;
      }
      send_frame(c, frame_type::heartbeat, [](writer&) {});
      any = true;
    }
    if (any) arm_heartbeat();  // idle (no connection): no timer
  }

  /// Dials `d` again after its delay (on the loop).
  void redial(std::shared_ptr<dial> d) {
    bump(counts.reconnects);
    if (steady::now() - d->since > cfg.reconnect_for) {
      if (sys.should_log(log_level::warn))
        sys.logger().warn("troupe::net: gave up reconnecting to {}:{} after {}", d->host, d->port, millis(cfg.reconnect_for));
      return;
    }
    const duration wait = d->delay;
    d->delay = std::min<duration>(d->delay * 2, cfg.reconnect_delay_max);
    net->post_after(wait, [self = weak_from_this(), d] {
      auto me = self.lock();
      if (!me) return;
      me->net->connect(d->host, d->port, [self, d](result<std::shared_ptr<stream>> s) {
        auto owner = self.lock();
        if (!owner) return;
        connection* c = s ? owner->adopt(std::move(*s), true) : nullptr;
        if (!c) return owner->redial(d);
        c->dialled = d;
        c->redialled = true;
      });
    });
  }

  void refuse(connection& c, const std::string& reason) {
    // Logged before the peer can learn of it (tests read the log once the refusal arrives).
    if (sys.should_log(log_level::warn))
      sys.logger().warn("troupe::net: refused {} {}: {}", c.outgoing ? "the node at" : "a connection from", c.io->peer(),
                        reason);
    send_frame(c, frame_type::refuse, [&](writer& w) { write(w, reason); });
    drop(c, "refused " + std::string(c.outgoing ? "the node at " : "a connection from ") + c.io->peer() + ": " + reason,
         false, true, false);
  }

  /// Closes `c` with a logged reason (warn when something was wrong, debug otherwise).
  /// `redial`: a connection that connect() made is dialled again (not after a refusal).
  void drop(connection& c, const std::string& reason, bool warn = true, bool flush = false, bool redial_it = true) {
    if (c.closed) return;
    c.closed = true;
    if (warn) bump(counts.dropped);
    if (warn && sys.should_log(log_level::warn))
      sys.logger().warn("troupe::net: closing the connection {} {}: {}", c.outgoing ? "to" : "from", c.io->peer(), reason);
    if (flush) c.flush();  // (a refusal, say: it goes out before the close)
    lost(c, reason, redial_it);
    c.io->close(reason, flush);
  }

  /// `c` is gone: requests and lookups that went through it fail with errc::disconnected,
  /// monitors and links across it fire, watchers hear node_down, and a dialled connection is
  /// dialled again.
  void lost(connection& c, const std::string& reason, bool redial_it) {
    counts.open.store(counts.open.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    if (c.connected) std::exchange(c.connected, {})->fail(error(errc::disconnected, reason));
    if (redial_it && cfg.reconnect && c.dialled && (c.ready || c.redialled)) {
      if (c.ready) {
        c.dialled->since = steady::now();
        c.dialled->delay = cfg.reconnect_delay_min;
      }
      redial(std::exchange(c.dialled, {}));
    }
    // Nothing more goes out on it; what it held is let go (outside the locks: releasing a
    // handle or failing a request can run code that sends).
    std::vector<watch> watches;
    std::unordered_map<actor_id, actor> held;
    {
      std::lock_guard lock(c.out_m);
      c.out_closed = true;
      watches.swap(c.watches);
      held.swap(c.held);
    }
    bool was_current = false;
    {
      std::unique_lock lock(peers_m);
      auto it = by_peer.find(c.peer);
      if (it != by_peer.end() && it->second.get() == &c) {
        by_peer.erase(it);
        was_current = true;
      }
    }
    const error gone(errc::disconnected, "the connection to " + c.peer.to_string() + " was lost: " + reason);
    std::vector<troupe::detail::reply_handle> failed;
    {
      std::lock_guard lock(requests_m);
      for (auto r = requests.begin(); r != requests.end();) {
        if (r->second.conn == &c) {
          failed.push_back(std::move(r->second.reply));
          r = requests.erase(r);
        } else {
          ++r;
        }
      }
    }
    for (auto& f : failed) f.fail(gone);
    // The peer's requests: nobody waits for them any more, so the work on them stops.
    for (auto& [id, sink] : c.incoming.take_all())
      if (sink) sink->cancel(troupe::detail::cancel_kind::explicit_);  // (one answered already: nothing)
    for (auto l = lookups.begin(); l != lookups.end();) {
      if (l->second.conn == &c) {
        l->second.result->fail(gone);
        l = lookups.erase(l);
      } else {
        ++l;
      }
    }
    fire_watches(c.peer, watches, gone);
    if (was_current) tell_watchers(node_down{c.peer, gone});
  }

  /// Monitors of actors on the lost peer fire, links break on this side (the peer breaks its
  /// own), and the peer's monitors of local actors are removed.
  void fire_watches(node_id peer, const std::vector<watch>& watches, const error& gone) {
    using troupe::detail::envelope_kind;
    for (const watch& w : watches) {
      const weak_actor target = local(w.local);
      if (!target.address()) continue;
      const actor other = proxy(peer, w.remote);
      troupe::detail::envelope* e = nullptr;
      switch (w.kind) {
        case watch_kind::link: e = signal_envelope(envelope_kind::exit_signal, exit_msg{other, exit_reason(gone)}, other); break;
        case watch_kind::monitor_out: e = signal_envelope(envelope_kind::down_signal, down_msg{other, exit_reason(gone)}, other); break;
        case watch_kind::monitor_in:
          e = new troupe::detail::envelope(envelope_kind::demonitor);
          e->sender = other;
          break;
      }
      troupe::detail::system_access::enqueue(*target.address(), e);
    }
  }

  void on_closed(connection& c, const std::string& reason) {
    if (!c.closed) {
      c.closed = true;
      if (c.ready && sys.should_log(log_level::info))
        sys.logger().info("troupe::net: the connection with {} closed: {}", c.peer.to_string(), reason);
      else if (!c.ready && sys.should_log(log_level::warn))
        sys.logger().warn("troupe::net: the connection {} {} closed before its handshake was done: {}",
                          c.outgoing ? "to" : "from", c.io->peer(), reason);
      lost(c, reason, true);
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
    using troupe::detail::envelope_kind;
    if (auto me = owner_.lock()) return me->send_remote(peer_, id(), std::move(owned));
    // The node is gone: as for a node that is not connected.
    const error gone(errc::disconnected, "the node that reached " + peer_.to_string() + " is gone");
    try {
      if (owned->kind == envelope_kind::message) {
        if (owned->reply)
          owned->reply.fail(gone);
        else
          troupe::detail::system_access::count_dead_letter(system());
      } else if (owned->sender && (owned->kind == envelope_kind::monitor || owned->kind == envelope_kind::link)) {
        const actor self = troupe::detail::system_access::handle(this);
        troupe::detail::system_access::enqueue(
            *owned->sender.get(), owned->kind == envelope_kind::monitor
                                      ? signal_envelope(envelope_kind::down_signal, down_msg{self, exit_reason(gone)}, self)
                                      : signal_envelope(envelope_kind::exit_signal, exit_msg{self, exit_reason(gone)}, self));
      }
    } catch (...) {  // out of memory: nothing more to do
    }
    return false;
  }

 private:
  std::weak_ptr<node::impl> owner_;
  node_id peer_;
};

}  // namespace

actor node::impl::proxy(node_id peer, actor_id id) {
  auto it = proxies.find({peer, id});
  if (it != proxies.end()) return it->second;
  if (proxies.size() >= proxies_sweep_at) {
    // Proxies nobody else holds go (a later handle makes a new one, equal to the old).
    std::erase_if(proxies, [](const auto& p) { return p.second.get()->strong_count() == 1; });
    proxies_sweep_at = std::max<std::size_t>(1024, 2 * proxies.size());
  }
  actor a = troupe::detail::system_access::adopt(new remote_actor(sys, weak_from_this(), peer, id));
  proxies.emplace(std::make_pair(peer, id), a);
  return a;
}

void node::monitor_nodes(const actor& watcher) {
  if (!watcher) throw std::invalid_argument("troupe::net: monitor_nodes needs an actor");
  std::lock_guard lock(impl_->m);
  impl_->node_watchers.emplace_back(watcher);
}

node::node(actor_system& sys, node_config cfg) : impl_(std::make_shared<impl>(sys, std::move(cfg))) {
  // The counters in the inspector's /metrics (while this node lives).
  troupe::detail::system_access::add_metrics(sys, this, [me = impl_.get()](std::string& out) {
    const auto put = [&out](const char* name, const char* type, const char* help, std::uint64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
             std::to_string(v) + "\n";
    };
    constexpr auto r = std::memory_order_relaxed;
    put("troupe_net_connections_opened_total", "counter", "Connections accepted or dialled.", me->counts.opened.load(r));
    put("troupe_net_connections", "gauge", "Connections open now.", me->counts.open.load(r));
    put("troupe_net_connections_dropped_total", "counter", "Connections closed by this node for a logged reason.",
        me->counts.dropped.load(r));
    put("troupe_net_reconnects_total", "counter", "Redials of lost connections.", me->counts.reconnects.load(r));
    put("troupe_net_frames_sent_total", "counter", "Frames sent.", me->counts.frames_out.load(r));
    put("troupe_net_frames_received_total", "counter", "Frames received.", me->counts.frames_in.load(r));
    put("troupe_net_sent_bytes_total", "counter", "Bytes of frames sent.", me->counts.bytes_out.load(r));
    put("troupe_net_received_bytes_total", "counter", "Bytes received.", me->counts.bytes_in.load(r));
  });
}

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
    auto c = me->connection_to(peer);
    if (!c) return st->fail(error(errc::disconnected, "not connected to " + peer.to_string()));
    const std::uint64_t request = me->next_request++;
    me->send_frame(*c, frame_type::lookup, [&](writer& w) {
      w.u64(request);
      write(w, name);
    });
    me->lookups.emplace(request, impl::pending_lookup{st, c.get(), std::move(name)});
  });
  return future<actor>(std::move(st));
}

node::~node() {
  troupe::detail::system_access::remove_metrics(impl_->sys, this);
  impl_->net->stop();  // no handler runs after this: the connections can go with impl_
}

node_stats node::stats() const noexcept {
  constexpr auto r = std::memory_order_relaxed;
  const auto& c = impl_->counts;
  return {c.opened.load(r),     c.open.load(r),      c.dropped.load(r),  c.reconnects.load(r),
          c.frames_out.load(r), c.frames_in.load(r), c.bytes_out.load(r), c.bytes_in.load(r)};
}

node_id node::id() const noexcept { return impl_->sys.node(); }
actor_system& node::system() const noexcept { return impl_->sys; }

transport& node::network() noexcept { return *impl_->net; }

std::uint16_t node::listen(const std::string& host, std::uint16_t port) {
  std::weak_ptr<impl> weak = impl_;
  return impl_->net->listen(host, port, [weak](std::shared_ptr<stream> s) {
    if (auto me = weak.lock()) me->adopt(std::move(s), false);
  });
}

future<node_id> node::connect(const std::string& host, std::uint16_t port) {
  auto st = troupe::detail::make_state<node_id>();
  std::weak_ptr<impl> weak = impl_;
  impl_->net->post([weak, st, host, port] {
    auto me = weak.lock();
    if (!me) return st->fail(error(errc::disconnected, "the node stopped"));
    // Connected to that address already (by an earlier connect): its id at once.
    for (auto& c : me->conns)
      if (c->ready && !c->closed && c->dialled && c->dialled->host == host && c->dialled->port == port)
        return st->set_value(c->peer);
    // Neither the TCP connect nor the handshake may take longer than connect_timeout.
    me->net->post_after(me->cfg.connect_timeout, [weak, st, host, port] {
      auto owner = weak.lock();
      if (!owner || st->ready()) return;
      const std::string why = "no connection to " + host + ":" + std::to_string(port) + " within " + millis(owner->cfg.connect_timeout);
      for (auto& c : owner->conns)
        if (c->connected == st) {
          c->connected = {};
          owner->drop(*c, why, true, false, false);
        }
      st->fail(error(errc::timeout, why));
    });
    me->net->connect(host, port, [weak, st, host, port](result<std::shared_ptr<stream>> s) {
      auto owner = weak.lock();
      if (st->ready()) {  // timed out meanwhile
        if (s) (*s)->close("the connect timed out", false);
        return;
      }
      if (!owner) return st->fail(error(errc::disconnected, "the node stopped"));
      if (!s)  // (a node reports every failure to connect as disconnected, with the reason)
        return st->fail(s.error() == errc::connection_refused ? error(errc::disconnected, std::string(s.error().detail())) : s.error());
      if (auto* c = owner->adopt(std::move(*s), true)) {
        c->connected = st;
        c->dialled = std::make_shared<impl::dial>(impl::dial{host, port, owner->cfg.reconnect_delay_min, steady::now()});
      } else {
        st->fail(error(errc::disconnected, "the node refused to start a connection"));
      }
    });
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
