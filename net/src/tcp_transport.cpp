// TCP over Boost.Asio, plain or with TLS: one io_context, one loop thread. A plain stream reads
// by waiting for the socket to be readable and then reading into the loop's one buffer, so ten
// thousand idle connections hold no read buffer each; a TLS stream has a buffer of its own
// (OpenSSL reads ahead). Each read takes at most what the handler's read_budget() allows, and
// none while it is 0 (reading resumes on resume_reading()). On a plain stream a
// write from any thread goes straight to the socket (a non-blocking send) when nothing is
// queued before it, so a reply does not wait for the loop thread to wake up; what the socket
// does not take at once is queued under a small lock and flushed by the loop as one gathered
// write of everything queued meanwhile. A TLS stream (OpenSSL through asio::ssl) queues every
// write for the loop: its encryption state belongs to one thread, and nothing is written before
// its TLS handshake is done.
#include <troupe/net/transport.hpp>

#include <troupe/detail/system_access.hpp>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <system_error>
#include <thread>

namespace troupe::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// What one read takes at most (the loop's buffer, or a TLS stream's).
constexpr std::size_t read_chunk = 64 * 1024;
/// A close that flushes first closes anyway after this long (transport.hpp, stream::close).
constexpr std::chrono::seconds flush_on_close_limit{10};

template <bool Tls>
class asio_stream final : public stream, public std::enable_shared_from_this<asio_stream<Tls>> {
  using socket_type = std::conditional_t<Tls, asio::ssl::stream<tcp::socket>, tcp::socket>;
  using std::enable_shared_from_this<asio_stream<Tls>>::shared_from_this;

 public:
  /// `rbuf`: the loop's read buffer, which every plain stream of the loop reads into.
  asio_stream(std::shared_ptr<asio::io_context> io, tcp::socket s, std::shared_ptr<std::vector<std::byte>> rbuf)
    requires(!Tls)
      : io_(std::move(io)), socket_(std::move(s)), rbuf_(std::move(rbuf)) {
    init();
  }
  /// `server`: this side accepted the connection (the TLS handshake's roles).
  asio_stream(std::shared_ptr<asio::io_context> io, tcp::socket s, std::shared_ptr<asio::ssl::context> ctx, bool server)
    requires(Tls)
      : io_(std::move(io)), ctx_(std::move(ctx)), socket_(std::move(s), *ctx_), server_(server),
        rbuf_(std::make_shared<std::vector<std::byte>>(read_chunk)) {
    init();
  }

  void start(stream_handler& h) override {
    asio::post(socket_.get_executor(), [self = shared_from_this(), &h] {
      self->handler_ = &h;
      if (self->closed_) {
        self->finish(self->close_reason_);
        return;
      }
      if constexpr (Tls) {
        using ssl_stream = asio::ssl::stream<tcp::socket>;
        self->socket_.async_handshake(self->server_ ? ssl_stream::server : ssl_stream::client,
                                      [self](boost::system::error_code ec) {
                                        if (ec) return self->shut("the TLS handshake failed: " + ec.message());
                                        self->secured_ = true;
                                        self->flush();  // what the node wrote meanwhile
                                        self->read();
                                      });
      } else {
        self->read();
      }
    });
  }

  void write(std::vector<std::byte> bytes) override {
    bool schedule = false;
    {
      std::lock_guard lock(m_);
      if (shut_) return;
      if (!Tls && !writing_ && pending_.empty()) {
        // Nothing before it: try the socket now, from this thread (the lock keeps the loop from
        // closing the descriptor meanwhile).
        const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent == static_cast<ssize_t>(bytes.size())) return;
        if (sent > 0) {
          bytes.erase(bytes.begin(), bytes.begin() + sent);
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          // The socket failed: the loop closes it and reports (its read fails too).
          asio::post(socket_.get_executor(), [self = shared_from_this(), why = std::string(std::strerror(errno))] {
            self->shut("write failed: " + why);
          });
          return;
        }
      }
      queued_.fetch_add(bytes.size(), std::memory_order_relaxed);
      enqueued_total_ += bytes.size();
      pending_.push_back(std::move(bytes));
      schedule = !flush_scheduled_;
      flush_scheduled_ = true;
    }
    if (schedule) asio::post(socket_.get_executor(), [self = shared_from_this()] { self->flush(); });
  }

  std::size_t queued() const override { return queued_.load(std::memory_order_relaxed); }

  // (These posts hold the stream weakly: after the loop has stopped, a post is never run, and
  // one holding the stream would keep it, and the loop's context, alive for good.)
  void resume_reading() override {
    asio::post(socket_.get_executor(), [w = this->weak_from_this()] {
      auto self = w.lock();
      if (!self || !self->paused_ || self->closed_) return;
      self->paused_ = false;
      self->read();
    });
  }

  void when_flushed(std::function<void(bool)> done) override {
    bool now = false;
    {
      std::lock_guard lock(m_);
      if (shut_ || (!writing_ && pending_.empty())) now = true;
      else flush_waiters_.emplace_back(enqueued_total_, std::move(done));
    }
    if (!now) return;
    if (io_->stopped()) return done(false);  // the loop is gone: so is the stream
    asio::post(socket_.get_executor(), [w = this->weak_from_this(), done = std::move(done)] {
      auto self = w.lock();
      done(self && !self->closed_);
    });
  }

  void close(const std::string& reason, bool flush) override {
    // (dispatch: on the loop it closes before it returns, which tcp's destructor relies on)
    asio::dispatch(socket_.get_executor(), [w = this->weak_from_this(), reason, flush] {
      auto self = w.lock();
      if (!self || self->closed_) return;
      if (flush && (self->writing_ || self->has_pending())) {
        if (self->close_after_flush_) return;
        self->close_after_flush_ = true;
        self->close_reason_ = reason;
        // A peer that does not read would hold the stream open for good: it gets a while.
        self->linger_ = std::make_unique<asio::steady_timer>(self->socket_.get_executor(), flush_on_close_limit);
        self->linger_->async_wait([w](boost::system::error_code ec) {
          if (auto s = w.lock(); s && !ec)
            s->shut(s->close_reason_ + " (what was queued was not taken within " +
                    std::to_string(flush_on_close_limit.count()) + " s)");
        });
        return;
      }
      self->shut(reason);
    });
  }

  std::string peer() const override { return peer_; }

  /// On the loop: closes the socket; the pending read completes with an error and reports.
  void shut(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    close_reason_ = reason;
    {
      std::lock_guard lock(m_);  // no write() is inside ::send on the descriptor after this
      shut_ = true;
    }
    fail_flush_waiters();
    if (linger_) linger_->cancel();
    boost::system::error_code ec;
    raw().shutdown(tcp::socket::shutdown_both, ec);
    raw().close(ec);
    finish(reason);  // now, not when the read it cancelled completes (which then does nothing)
  }

 private:
  tcp::socket& raw() {
    if constexpr (Tls) return socket_.next_layer();
    else return socket_;
  }

  void init() {
    boost::system::error_code ec;
    raw().set_option(tcp::no_delay(true), ec);
    if constexpr (!Tls) raw().non_blocking(true, ec);  // read() reads after a readiness wait
    fd_ = raw().native_handle();
    auto ep = raw().remote_endpoint(ec);
    peer_ = ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  bool has_pending() {
    std::lock_guard lock(m_);
    return !pending_.empty();
  }

  /// On the loop: reads once (at most what the handler's budget allows), or pauses.
  void read() {
    if (closed_) return finish(close_reason_);
    const std::size_t budget = handler_ ? handler_->read_budget() : 0;
    if (budget == 0) {
      paused_ = true;  // resume_reading() goes on
      return;
    }
    if constexpr (Tls) {
      socket_.async_read_some(asio::buffer(rbuf_->data(), std::min(budget, rbuf_->size())),
                              [self = shared_from_this()](boost::system::error_code ec, std::size_t n) { self->took(ec, n); });
    } else {
      socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->closed_) return self->took(ec ? ec : asio::error::operation_aborted, 0);
        // The budget may only have grown meanwhile (only on_bytes spends it).
        const std::size_t now = self->handler_ ? self->handler_->read_budget() : 0;
        if (now == 0) {
          self->paused_ = true;
          return;
        }
        std::size_t n = self->socket_.read_some(asio::buffer(self->rbuf_->data(), std::min(now, self->rbuf_->size())), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again || ec == asio::error::interrupted) {
          self->read();  // a spurious wake-up
          return;
        }
        self->took(ec, n);
      });
    }
  }

  /// On the loop: a read completed with `n` bytes in rbuf_, or failed.
  void took(boost::system::error_code ec, std::size_t n) {
    if (!ec && !closed_) {
      if (handler_) handler_->on_bytes(std::span<const std::byte>(rbuf_->data(), n));
      if (!closed_) {
        read();
        return;
      }
    }
    if (!closed_) {
      closed_ = true;
      close_reason_ = ec == asio::error::eof ? "the peer closed the connection" : ec.message();
      {
        std::lock_guard lock(m_);
        shut_ = true;
      }
      boost::system::error_code ignored;
      raw().close(ignored);
    }
    finish(close_reason_);
  }

  void flush() {
    {
      std::lock_guard lock(m_);
      flush_scheduled_ = false;
      if (writing_ || closed_ || !secured_ || pending_.empty()) return;
      in_flight_.swap(pending_);
      writing_ = true;
    }
    std::vector<asio::const_buffer> bufs;
    bufs.reserve(in_flight_.size());
    for (auto& b : in_flight_) bufs.emplace_back(b.data(), b.size());
    asio::async_write(socket_, bufs, [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      std::vector<std::function<void(bool)>> flushed;
      {
        std::lock_guard lock(self->m_);
        self->writing_ = false;
        self->written_total_ += n;
        while (!self->flush_waiters_.empty() && self->flush_waiters_.front().first <= self->written_total_) {
          flushed.push_back(std::move(self->flush_waiters_.front().second));
          self->flush_waiters_.pop_front();
        }
      }
      self->queued_.fetch_sub(n, std::memory_order_relaxed);
      self->in_flight_.clear();
      for (auto& f : flushed) f(!ec);
      if (ec) {
        self->shut("write failed: " + ec.message());
        return;
      }
      if (self->has_pending()) {
        self->flush();
      } else if (self->close_after_flush_) {
        self->shut(self->close_reason_);
      }
    });
  }

  void fail_flush_waiters() {
    std::deque<std::pair<std::uint64_t, std::function<void(bool)>>> waiters;
    {
      std::lock_guard lock(m_);
      waiters.swap(flush_waiters_);
    }
    for (auto& w : waiters) w.second(false);
  }

  void finish(const std::string& reason) {
    fail_flush_waiters();
    if (finished_ || !handler_) return;
    finished_ = true;
    auto* h = std::exchange(handler_, nullptr);
    h->on_closed(reason);
  }

  // The loop's context lives as long as any stream: a stream may outlive its transport in a
  // sender's hands (its writes are then ignored), and its socket must be destroyed first.
  std::shared_ptr<asio::io_context> io_;
  std::shared_ptr<asio::ssl::context> ctx_;  // (TLS) outlives the socket that uses it
  socket_type socket_;
  bool server_ = false;
  bool secured_ = !Tls;  // writes wait for the TLS handshake
  std::string peer_;
  std::shared_ptr<std::vector<std::byte>> rbuf_;  // the loop's (plain) or this stream's (TLS)
  stream_handler* handler_ = nullptr;
  // Loop-only state.
  bool paused_ = false;  // the handler's budget was 0: resume_reading() goes on
  std::unique_ptr<asio::steady_timer> linger_;  // a flushing close's deadline
  bool closed_ = false;
  bool finished_ = false;
  bool close_after_flush_ = false;
  std::string close_reason_;
  std::vector<std::vector<std::byte>> in_flight_;
  // Shared with writers on other threads.
  std::mutex m_;
  std::vector<std::vector<std::byte>> pending_;
  bool flush_scheduled_ = false;
  bool writing_ = false;  // an async_write is in flight (set and cleared on the loop)
  bool shut_ = false;     // the descriptor is closed or about to be: write() must not touch it
  std::uint64_t enqueued_total_ = 0;  // bytes ever put in pending_
  std::uint64_t written_total_ = 0;   // of those, bytes the socket took
  std::deque<std::pair<std::uint64_t, std::function<void(bool)>>> flush_waiters_;  // (enqueued_total_ then, done)
  int fd_ = -1;
  std::atomic<std::size_t> queued_{0};
};

template <bool Tls>
class asio_transport final : public transport {
  using stream_type = asio_stream<Tls>;

 public:
  asio_transport()
    requires(!Tls)
      : work_(asio::make_work_guard(io_)), thread_([this] { run(); }) {}
  explicit asio_transport(std::shared_ptr<asio::ssl::context> ctx)
    requires(Tls)
      : ctx_(std::move(ctx)), work_(asio::make_work_guard(io_)), thread_([this] { run(); }) {}
  ~asio_transport() override { stop(); }

  /// The loop thread: it serves actors (a continuation attached outside any actor may run
  /// here), so a blocking get() on it fails instead of stalling every connection.
  void run() {
    troupe::detail::system_access::mark_runtime_thread();
    io_.run();
  }

  std::uint16_t listen(const std::string& host, std::uint16_t port, accept_fn on_accept) override {
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive);
    auto acceptor = std::make_shared<tcp::acceptor>(io_);
    const tcp::endpoint ep = results.begin()->endpoint();
    acceptor->open(ep.protocol());
    acceptor->set_option(tcp::acceptor::reuse_address(true));
    acceptor->bind(ep);
    acceptor->listen();
    const auto bound = acceptor->local_endpoint().port();
    {
      std::lock_guard lock(m_);
      acceptors_.push_back(acceptor);
    }
    asio::post(io_, [this, acceptor, on_accept = std::move(on_accept)]() mutable { accept(acceptor, std::move(on_accept)); });
    return bound;
  }

  void unlisten(std::uint16_t port) override {
    asio::post(io_, [this, port] {
      std::lock_guard lock(m_);
      std::erase_if(acceptors_, [port](const std::shared_ptr<tcp::acceptor>& a) {
        boost::system::error_code ec;
        if (a->local_endpoint(ec).port() != port || ec) return false;
        a->close(ec);
        return true;
      });
    });
  }

  void connect(const std::string& host, std::uint16_t port, connect_fn done) override {
    auto resolver = std::make_shared<tcp::resolver>(io_);
    {
      std::lock_guard lock(m_);
      if (stopped_.load()) return done(error(errc::disconnected, "the node is stopping"));
      std::erase_if(resolving_, [](const auto& w) { return w.expired(); });
      resolving_.push_back(resolver);
    }
    resolver->async_resolve(host, std::to_string(port), [this, resolver, done = std::move(done), host, port](
                                                            boost::system::error_code ec, tcp::resolver::results_type results) mutable {
      if (ec || stopped_.load()) {
        done(error(errc::disconnected, stopped_.load() ? std::string("the node is stopping")
                                                       : "cannot resolve " + host + ": " + ec.message()));
        return;
      }
      auto socket = std::make_shared<tcp::socket>(io_);
      {
        std::lock_guard lock(m_);
        std::erase_if(connecting_, [](const auto& w) { return w.expired(); });
        connecting_.push_back(socket);
      }
      asio::async_connect(*socket, results, [this, socket, done = std::move(done), host, port](
                                                boost::system::error_code cec, const tcp::endpoint&) mutable {
        if (cec || stopped_.load()) {
          boost::system::error_code ignored;
          socket->close(ignored);
          const bool refused = cec == asio::error::connection_refused && !stopped_.load();
          done(error(refused ? errc::connection_refused : errc::disconnected,
                     stopped_.load() ? std::string("the node is stopping")
                                     : "cannot connect to " + host + ":" + std::to_string(port) + ": " + cec.message()));
          return;
        }
        done(track(make_stream(std::move(*socket), false)));
      });
    });
  }

  void post(std::function<void()> fn) override { asio::post(io_, std::move(fn)); }

  void post_after(duration d, std::function<void()> fn) override {
    if (stopped_.load()) return;
    auto timer = std::make_shared<asio::steady_timer>(io_, d);
    {
      std::lock_guard lock(m_);
      std::erase_if(timers_, [](const std::weak_ptr<asio::steady_timer>& w) { return w.expired(); });
      timers_.push_back(timer);
    }
    timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) {
      if (!ec) fn();
    });
  }

  bool on_loop() const override { return std::this_thread::get_id() == thread_.get_id(); }

  void stop() override {
    {
      std::lock_guard lock(m_);  // (connect() checks stopped_ under it)
      if (stopped_.exchange(true)) return;
    }
    asio::post(io_, [this] {
      std::lock_guard lock(m_);
      for (auto& a : acceptors_) {
        boost::system::error_code ec;
        a->close(ec);
      }
      for (auto& w : streams_)
        if (auto s = w.lock()) s->shut("the node is stopping");
      for (auto& w : timers_)
        if (auto t = w.lock()) t->cancel();
      // Connects in flight end now (their handlers see stopped_ and hand out no stream).
      for (auto& w : resolving_)
        if (auto r = w.lock()) r->cancel();
      for (auto& w : connecting_)
        if (auto c = w.lock()) {
          boost::system::error_code ec;
          c->close(ec);
        }
    });
    work_.reset();
    // Closing every socket ends every pending operation; the loop then runs out of work.
    if (thread_.joinable()) thread_.join();
  }

 private:
  void accept(const std::shared_ptr<tcp::acceptor>& acceptor, accept_fn on_accept) {
    acceptor->async_accept([this, acceptor, on_accept = std::move(on_accept)](boost::system::error_code ec,
                                                                               tcp::socket socket) mutable {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
      if (!ec) {
        on_accept(track(make_stream(std::move(socket), true)));
        accept(acceptor, std::move(on_accept));
        return;
      }
      // Another error (out of file descriptors, say): try again shortly, not in a busy loop.
      auto pause = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
      pause->async_wait([this, pause, acceptor, on_accept = std::move(on_accept)](boost::system::error_code wec) mutable {
        if (!wec && !stopped_.load()) accept(acceptor, std::move(on_accept));
      });
    });
  }

  std::shared_ptr<stream_type> make_stream(tcp::socket socket, bool server) {
    if constexpr (Tls) return std::make_shared<stream_type>(io_ptr_, std::move(socket), ctx_, server);
    else return std::make_shared<stream_type>(io_ptr_, std::move(socket), rbuf_);
  }

  std::shared_ptr<stream> track(std::shared_ptr<stream_type> s) {
    std::lock_guard lock(m_);
    std::erase_if(streams_, [](const std::weak_ptr<stream_type>& w) { return w.expired(); });
    streams_.push_back(s);
    return s;
  }

  std::shared_ptr<asio::ssl::context> ctx_;  // (TLS)
  std::shared_ptr<asio::io_context> io_ptr_ = std::make_shared<asio::io_context>();
  asio::io_context& io_ = *io_ptr_;
  std::shared_ptr<std::vector<std::byte>> rbuf_ = std::make_shared<std::vector<std::byte>>(read_chunk);  // (plain)
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::mutex m_;
  std::vector<std::weak_ptr<asio::steady_timer>> timers_;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors_;
  std::vector<std::weak_ptr<stream_type>> streams_;
  std::vector<std::weak_ptr<tcp::resolver>> resolving_;
  std::vector<std::weak_ptr<tcp::socket>> connecting_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;  // last: starts after everything above is built
};

}  // namespace

std::unique_ptr<transport> make_tcp_transport() { return std::make_unique<asio_transport<false>>(); }

std::unique_ptr<transport> make_tls_transport(const tls_config& cfg) {
  namespace ssl = asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  auto load = [](const char* what, const std::string& path, auto&& fn) {
    if (path.empty()) throw std::invalid_argument(std::string("troupe::net: TLS needs ") + what);
    boost::system::error_code ec;
    fn(path, ec);
    if (ec) throw std::invalid_argument(std::string("troupe::net: cannot load the TLS ") + what + " " + path + ": " + ec.message());
  };
  load("certificate chain (tls_config::certificate_chain)", cfg.certificate_chain,
       [&](const std::string& p, boost::system::error_code& ec) { ctx->use_certificate_chain_file(p, ec); });
  load("private key (tls_config::private_key)", cfg.private_key,
       [&](const std::string& p, boost::system::error_code& ec) { ctx->use_private_key_file(p, ssl::context::pem, ec); });
  if (cfg.verify_peer) {
    load("certificate authorities (tls_config::ca_certificates)", cfg.ca_certificates,
         [&](const std::string& p, boost::system::error_code& ec) { ctx->load_verify_file(p, ec); });
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }
  return std::make_unique<asio_transport<true>>(std::move(ctx));
}

}  // namespace troupe::net
