// tcp: connections driven by actors, over the transport seam (transport.hpp).
//
// Each connection is a connection_core: the stream's handler, on the transport's loop. What it
// tells the owner (received, writable, closed) is sent from the loop. Credit for reading is an
// atomic the owner adds to (read()) and the loop spends (on_bytes); when it runs out the loop
// pauses reading, and the next read() resumes it (a Dekker pair of atomics, `starving`, so
// that read() posts to the loop only when reading is really paused).
//
// Writes made during an actor's activation are gathered (`out`) and handed to the stream when
// the activation ends (detail::defer_to_activation_end), so that a room that handles five
// lines in one activation writes each member once, not five times; outside an activation a
// write goes to the stream at once. While `out` holds bytes every later write, from any thread,
// appends to it, so the bytes keep the order in which the writes happened.
//
// A connection's as_actor() is a small actor (conn_watch) that monitors the owner (its exit
// closes the connection) and exits with the connection's close reason.
//
// Shutdown. Every message to an actor leaves from the loop. A tcp with a transport of its own
// stops it in its destructor (no handler runs after that); a tcp on a node's transport runs
// its shutdown as a task on the loop and waits for it: the task sends every connection's last
// messages, closes its stream (synchronously, on the loop), and marks the tcp gone, so that
// nothing later on the loop touches the actor system, which may be destroyed next.
#include <troupe/net/tcp.hpp>

#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>
#include <troupe/detail/activation.hpp>
#include <troupe/detail/future_state.hpp>
#include <troupe/exit_reason.hpp>
#include <troupe/net/node.hpp>
#include <troupe/net/transport.hpp>
#include <troupe/request.hpp>

#include <atomic>
#include <future>
#include <thread>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace troupe::net {

namespace detail {

/// To a connection's watcher: the connection ended with `reason`.
struct conn_ended {
  exit_reason reason;
};
/// To a connection's watcher: `owner` drives the connection now (monitor it).
struct conn_owner {
  actor owner;
};

/// Loop-only, shared by a tcp and its connections: set once the tcp is being destroyed.
struct tcp_life {
  bool gone = false;
};

struct connection_core final : stream_handler,
                                troupe::detail::deferred_flush,
                                std::enable_shared_from_this<connection_core> {
  connection_core(std::shared_ptr<stream> s, connection_options o, std::shared_ptr<tcp_life> l, std::uint64_t i)
      : io(std::move(s)), opts(o), life(std::move(l)), id(i), peer(io->peer()) {}

  // -- the loop --------------------------------------------------------------------------------

  std::size_t read_budget() override {
    std::size_t c = credit.load();
    if (c > 0 && has_owner.load()) return c;
    starving.store(true);
    c = credit.load();  // a read() that missed `starving` added its credit before this load
    if (c > 0 && has_owner.load() && starving.exchange(false)) return c;
    return 0;
  }

  void on_bytes(std::span<const std::byte> bytes) override {
    credit.fetch_sub(bytes.size());
    if (life->gone) return;
    auto [to, conn] = owner_and_handle();
    troupe::send(to, received{std::move(conn), std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size())});
  }

  void on_closed(const std::string& reason) override {
    end(reason);
    keep.reset();  // may destroy this
  }

  /// On the loop: the last messages (once): `closed` to the owner, the watcher's exit.
  void end(const std::string& reason) {
    std::shared_ptr<connection_ref> ref;
    actor to;
    {
      std::lock_guard lock(m);
      if (ended) return;
      ended = true;
      end_reason = reason;
      is_closed.store(true);
      to = std::exchange(owner, {});  // (the owner may hold this connection: no cycle left)
      has_owner.store(false);
      ref = std::exchange(strong_ref, {});
    }
    if (life->gone) return;
    if (!ref) ref = weak_ref.lock();
    if (to) troupe::send(to, closed{connection(std::move(ref)), error(errc::disconnected, reason)});
    troupe::send(watch, conn_ended{graceful.load() ? exit_reason() : exit_reason(error(errc::disconnected, reason))});
  }

  /// On the loop: a refused write's queue has drained.
  void send_writable() {
    want_writable.store(false);
    if (life->gone) return;
    auto [to, conn] = owner_and_handle();
    if (to) troupe::send(to, writable{std::move(conn)});
  }

  // -- any thread ------------------------------------------------------------------------------

  /// Queues `bytes` (see the top of the file); false if the limit refuses them.
  bool put(std::string_view bytes) {
    std::lock_guard lock(out_m);
    // Gathering is for many small writes: a big batch goes to the stream now (which sends
    // what the socket takes at once), so that it never counts against the limit by itself.
    if (!out.empty() && out.size() + bytes.size() > gather_at_most) hand_over();
    const std::size_t queued = io->queued() + out.size();
    if (queued > 0 && queued + bytes.size() > opts.max_queued_bytes) return false;
    out.append(bytes);
    // Gathered until this activation ends; another thread's pending flush does not hold these
    // back (it may come later): this one defers its own, or hands everything over now.
    if (flush_deferred && deferred_by == std::this_thread::get_id()) return true;
    if (troupe::detail::defer_to_activation_end(std::shared_ptr<troupe::detail::deferred_flush>(shared_from_this()))) {
      flush_deferred = true;
      deferred_by = std::this_thread::get_id();
    } else {
      hand_over();
    }
    return true;
  }

  /// The activation that wrote ends: what it gathered goes to the stream.
  void flush() noexcept override {
    std::lock_guard lock(out_m);
    if (deferred_by == std::this_thread::get_id()) flush_deferred = false;
    try {
      hand_over();
    } catch (...) {  // out of memory: the bytes cannot go, nor can the connection go on
      out.clear();
      io->close("out of memory", false);
    }
  }

  /// Gives the stream what `out` holds (under out_m, so writers keep their order).
  void hand_over() {
    if (out.empty()) return;
    const auto* p = reinterpret_cast<const std::byte*>(out.data());
    io->write(std::vector<std::byte>(p, p + out.size()));
    out.clear();
  }
  void hand_over_now() {
    std::lock_guard lock(out_m);
    hand_over();
  }
  std::size_t queued() {
    std::lock_guard lock(out_m);
    return io->queued() + out.size();
  }

  void set_owner(const actor& a) {
    {
      std::unique_lock lock(m);
      if (ended) {
        // It ended before anyone owned it (refused by TLS, reset by the peer): the new owner
        // is told at once, as it would have been.
        const std::string why = end_reason;
        lock.unlock();
        troupe::send(a, closed{connection(weak_ref.lock()), error(errc::disconnected, why)});
        return;
      }
      owner = a;
      if (!strong_ref) strong_ref = weak_ref.lock();  // attached: the connection lives on its own
      has_owner.store(true);
    }
    troupe::send(watch, conn_owner{a});
    io->resume_reading();
  }

  /// The owner `a` exited: nothing more goes to it, and the connection closes.
  void owner_exited(const actor& a) {
    {
      std::lock_guard lock(m);
      if (owner != a) return;  // handed over meanwhile
      owner = {};
      has_owner.store(false);
    }
    close_gracefully();
  }

  /// The owner, and a handle for a message to it.
  std::pair<actor, connection> owner_and_handle() {
    std::lock_guard lock(m);
    return {owner, connection(strong_ref ? strong_ref : weak_ref.lock())};
  }

  // -- any thread ------------------------------------------------------------------------------


  void close_gracefully() {
    graceful.store(true);
    hand_over_now();  // what this activation wrote goes first
    io->close("closed by this side", true);
  }

  std::shared_ptr<stream> io;
  connection_options opts;
  std::shared_ptr<tcp_life> life;
  std::uint64_t id;
  std::string peer;
  actor watch;
  std::shared_ptr<connection_core> keep;  // itself, until on_closed (loop)
  std::mutex m;                           // guards the three below
  actor owner;
  bool ended = false;
  std::string end_reason;
  std::shared_ptr<connection_ref> strong_ref;  // once attached, until it ends
  std::weak_ptr<connection_ref> weak_ref;
  std::atomic<std::size_t> credit{0};
  std::atomic<bool> starving{false};
  std::atomic<bool> want_writable{false};
  std::atomic<bool> is_closed{false};
  std::atomic<bool> graceful{false};
  std::atomic<bool> attached{false};
  std::atomic<bool> has_owner{false};
  static constexpr std::size_t gather_at_most = 16 * 1024;
  std::mutex out_m;             // guards the two below
  std::string out;              // written during an activation, not handed to the stream yet
  bool flush_deferred = false;  // a flush() is due at the end of an activation on...
  std::thread::id deferred_by;  // ...this thread
};

/// What a `connection` holds: while any exists, an unattached connection stays open.
struct connection_ref {
  explicit connection_ref(std::shared_ptr<connection_core> c) noexcept : core(std::move(c)) {}
  ~connection_ref() {
    if (!core->attached.load()) core->io->close("nobody took the connection", false);
  }
  std::shared_ptr<connection_core> core;
};

/// as_actor(): exits with the connection; closes it when its owner exits, or when killed.
class conn_watch final : public actor_base {
 public:
  explicit conn_watch(std::weak_ptr<connection_core> c) : core_(std::move(c)) {}

 protected:
  behavior make_behavior() override {
    set_name("troupe.net.connection");
    return {
        [this](conn_ended& e) { quit(std::move(e.reason)); },
        [this](conn_owner& o) {
          if (owner_) demonitor(owner_);
          owner_ = std::move(o.owner);
          monitor(owner_);
        },
        [this](down_msg& d) {
          if (d.source != owner_) return;
          if (auto c = core_.lock()) c->owner_exited(owner_);
        },
    };
  }
  void on_exit(const exit_reason&) override {
    if (auto c = core_.lock(); c && !c->is_closed.load()) c->io->close("its actor was stopped", false);
    owner_ = {};  // the owner may hold the connection, which holds this actor
  }

 private:
  std::weak_ptr<connection_core> core_;
  actor owner_;
};

}  // namespace detail

using detail::connection_core;
using detail::connection_ref;

// -- connection ---------------------------------------------------------------------------------

connection_core* connection::core() const noexcept { return ref_ ? ref_->core.get() : nullptr; }

void connection::attach(const actor& owner) const {
  auto* c = core();
  if (!c || !owner) return;
  c->attached.store(true);
  c->set_owner(owner);
}

void connection::read(std::size_t max_bytes) const {
  auto* c = core();
  if (!c) return;
  c->credit.fetch_add(max_bytes ? max_bytes : c->opts.read_chunk);
  if (c->starving.exchange(false)) c->io->resume_reading();
}

result<std::size_t> connection::write(std::string_view bytes) const {
  auto* c = core();
  if (!c) return error(errc::disconnected, "an empty connection");
  if (c->is_closed.load()) return error(errc::disconnected, "the connection is closed");
  if (!c->put(bytes)) {
    if (!c->want_writable.exchange(true)) {
      c->hand_over_now();  // (so that "drained" means all of it)
      std::weak_ptr<connection_core> w = ref_->core;
      c->io->when_flushed([w](bool ok) {
        if (auto k = w.lock(); k && ok) k->send_writable();
      });
    }
    return error(errc::queue_full, std::to_string(c->queued()) + " bytes queued, the limit is " +
                                       std::to_string(c->opts.max_queued_bytes));
  }
  return c->queued();
}

future<void> connection::flush() const {
  auto st = troupe::detail::make_state<void>();
  auto* c = core();
  if (!c || c->is_closed.load()) {
    st->fail(error(errc::disconnected, "the connection is closed"));
    return future<void>(std::move(st));
  }
  c->hand_over_now();  // what this activation wrote counts
  c->io->when_flushed([st](bool ok) {
    if (ok) st->set_value(unit{});
    else st->fail(error(errc::disconnected, "the connection closed before the bytes were written"));
  });
  return future<void>(std::move(st));
}

std::size_t connection::queued() const noexcept {
  auto* c = core();
  return c ? c->queued() : 0;
}

void connection::close() const {
  if (auto* c = core()) c->close_gracefully();
}

void connection::abort(std::string reason) const {
  if (auto* c = core()) c->io->close(reason, false);
}

actor connection::as_actor() const {
  auto* c = core();
  return c ? c->watch : actor();
}

std::string connection::peer() const {
  auto* c = core();
  return c ? c->peer : std::string();
}

std::uint64_t connection::id() const noexcept {
  auto* c = core();
  return c ? c->id : 0;
}

// -- tcp ----------------------------------------------------------------------------------------

struct tcp::impl : std::enable_shared_from_this<tcp::impl> {
  impl(actor_system& s, std::unique_ptr<transport> own, transport* t, connection_options d)
      : sys(s), owned(std::move(own)), net(owned ? owned.get() : t), defaults(d) {}

  /// On the loop: a new stream becomes a connection.
  std::shared_ptr<connection_ref> adopt(std::shared_ptr<stream> s, connection_options opts) {
    static std::atomic<std::uint64_t> next_id{1};
    auto core = std::make_shared<connection_core>(std::move(s), opts, life, next_id.fetch_add(1));
    core->keep = core;
    core->watch = sys.spawn<detail::conn_watch>(std::weak_ptr<connection_core>(core));
    auto ref = std::make_shared<connection_ref>(core);
    core->weak_ref = ref;
    {
      std::lock_guard lock(m);
      std::erase_if(conns, [](const std::weak_ptr<connection_core>& w) { return w.expired(); });
      conns.push_back(core);
    }
    core->io->start(*core);
    return ref;
  }

  /// On the loop: what the destructor does with a shared transport (see the top of the file).
  void shut_down() {
    std::vector<std::shared_ptr<connection_core>> open;
    {
      std::lock_guard lock(m);
      for (auto& w : conns)
        if (auto c = w.lock()) open.push_back(std::move(c));
      conns.clear();
    }
    for (auto& c : open) c->end("the tcp object was destroyed");
    std::vector<troupe::detail::state_ptr<connection>> dialling;
    {
      std::lock_guard lock(m);
      dialling.swap(connecting);
    }
    for (auto& st : dialling)
      if (!st->ready()) st->fail(error(errc::disconnected, "the tcp object was destroyed"));
    life->gone = true;
    for (auto& c : open) c->io->close("the tcp object was destroyed", false);
  }

  actor_system& sys;
  std::unique_ptr<transport> owned;
  transport* net;
  connection_options defaults;
  std::shared_ptr<detail::tcp_life> life = std::make_shared<detail::tcp_life>();
  mutable std::mutex m;
  std::vector<std::weak_ptr<connection_core>> conns;
  std::vector<std::uint16_t> ports;
  std::vector<troupe::detail::state_ptr<connection>> connecting;  // connect()s not done yet
};

tcp::tcp(actor_system& sys, connection_options defaults)
    : impl_(std::make_shared<impl>(sys, make_tcp_transport(), nullptr, defaults)) {}

tcp::tcp(node& n, connection_options defaults) : impl_(std::make_shared<impl>(n.system(), nullptr, &n.network(), defaults)) {}

tcp::tcp(actor_system& sys, transport& t, connection_options defaults)
    : impl_(std::make_shared<impl>(sys, nullptr, &t, defaults)) {}

tcp::~tcp() {
  if (impl_->owned) {
    impl_->owned->stop();  // every stream closes; no handler runs after it
    return;
  }
  std::vector<std::uint16_t> ports;
  {
    std::lock_guard lock(impl_->m);
    ports = impl_->ports;
  }
  for (auto p : ports) impl_->net->unlisten(p);
  if (impl_->net->on_loop()) {
    impl_->shut_down();
    return;
  }
  std::promise<void> done;
  impl_->net->post([me = impl_, &done] {
    me->shut_down();
    done.set_value();
  });
  done.get_future().wait();
}

std::uint16_t tcp::listen(const std::string& host, std::uint16_t port, const actor& acceptor) {
  return listen(host, port, acceptor, impl_->defaults);
}

std::uint16_t tcp::listen(const std::string& host, std::uint16_t port, const actor& acceptor, connection_options opts) {
  std::weak_ptr<impl> weak = impl_;
  // The port is known once listen() returns, which a first connection may beat to the loop:
  // its callback waits for it (microseconds, once).
  auto bound = std::make_shared<std::promise<std::uint16_t>>();
  std::shared_future<std::uint16_t> port_of = bound->get_future().share();
  const std::uint16_t p = impl_->net->listen(host, port, [weak, acceptor, opts, port_of](std::shared_ptr<stream> s) {
    auto me = weak.lock();
    if (!me || me->life->gone) return s->close("the tcp object was destroyed", false);
    auto ref = me->adopt(std::move(s), opts);
    troupe::send(acceptor, accepted{connection(std::move(ref)), port_of.get()});
  });
  bound->set_value(p);
  std::lock_guard lock(impl_->m);
  impl_->ports.push_back(p);
  return p;
}

void tcp::unlisten(std::uint16_t port) {
  {
    std::lock_guard lock(impl_->m);
    std::erase(impl_->ports, port);
  }
  impl_->net->unlisten(port);
}

future<connection> tcp::connect(const std::string& host, std::uint16_t port, duration timeout) {
  return connect(host, port, timeout, impl_->defaults);
}

future<connection> tcp::connect(const std::string& host, std::uint16_t port, duration timeout, connection_options opts) {
  auto st = troupe::detail::make_state<connection>();
  std::weak_ptr<impl> weak = impl_;
  impl_->net->post([weak, st, host, port, timeout, opts] {
    auto me = weak.lock();
    if (!me || me->life->gone) return st->fail(error(errc::disconnected, "the tcp object was destroyed"));
    {
      std::lock_guard lock(me->m);
      std::erase_if(me->connecting, [](const auto& c) { return c->ready(); });
      me->connecting.push_back(st);
    }
    // Runs on the loop, as does the connect's completion: st->ready() decides which came first.
    me->net->post_after(timeout, [st, host, port, timeout] {
      if (!st->ready())
        st->fail(error(errc::timeout, "no connection to " + host + ":" + std::to_string(port) + " within " +
                                          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) + " ms"));
    });
    me->net->connect(host, port, [weak, st, opts](result<std::shared_ptr<stream>> s) {
      auto owner = weak.lock();
      if (st->ready()) {  // timed out meanwhile
        if (s) (*s)->close("the connect timed out", false);
        return;
      }
      if (!s) return st->fail(s.error());
      if (!owner || owner->life->gone) {
        (*s)->close("the tcp object was destroyed", false);
        return st->fail(error(errc::disconnected, "the tcp object was destroyed"));
      }
      st->set_value(connection(owner->adopt(std::move(*s), opts)));
    });
  });
  return future<connection>(std::move(st));
}

std::size_t tcp::open_connections() const {
  std::lock_guard lock(impl_->m);
  std::size_t n = 0;
  for (auto& w : impl_->conns)
    if (auto c = w.lock(); c && !c->is_closed.load()) ++n;
  return n;
}

}  // namespace troupe::net
