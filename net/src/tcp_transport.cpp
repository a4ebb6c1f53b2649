// TCP over Boost.Asio: one io_context, one loop thread. A write from any thread goes straight
// to the socket (a non-blocking send) when nothing is queued before it, so a reply does not wait
// for the loop thread to wake up; what the socket does not take at once is queued under a small
// lock and flushed by the loop as one gathered write of everything queued meanwhile.
#include <troupe/net/transport.hpp>

#include <boost/asio.hpp>

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <system_error>
#include <thread>

namespace troupe::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class tcp_stream final : public stream, public std::enable_shared_from_this<tcp_stream> {
 public:
  tcp_stream(std::shared_ptr<asio::io_context> io, tcp::socket s) : io_(std::move(io)), socket_(std::move(s)) {
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    fd_ = socket_.native_handle();
    auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void start(stream_handler& h) override {
    asio::post(socket_.get_executor(), [self = shared_from_this(), &h] {
      self->handler_ = &h;
      if (self->closed_) {
        self->finish(self->close_reason_);
        return;
      }
      self->read();
    });
  }

  void write(std::vector<std::byte> bytes) override {
    bool schedule = false;
    {
      std::lock_guard lock(m_);
      if (shut_) return;
      if (!writing_ && pending_.empty()) {
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
      pending_.push_back(std::move(bytes));
      schedule = !flush_scheduled_;
      flush_scheduled_ = true;
    }
    if (schedule) asio::post(socket_.get_executor(), [self = shared_from_this()] { self->flush(); });
  }

  std::size_t queued() const override { return queued_.load(std::memory_order_relaxed); }

  void close(const std::string& reason, bool flush) override {
    asio::post(socket_.get_executor(), [self = shared_from_this(), reason, flush] {
      if (self->closed_) return;
      if (flush && (self->writing_ || self->has_pending())) {
        self->close_after_flush_ = true;
        self->close_reason_ = reason;
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
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    if (!reading_) finish(reason);
  }

 private:
  bool has_pending() {
    std::lock_guard lock(m_);
    return !pending_.empty();
  }

  void read() {
    reading_ = true;
    socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      self->reading_ = false;
      if (!ec && !self->closed_) {
        if (self->handler_) self->handler_->on_bytes(std::span<const std::byte>(self->buf_.data(), n));
        if (!self->closed_) {
          self->read();
          return;
        }
      }
      if (!self->closed_) {
        self->closed_ = true;
        self->close_reason_ = ec == asio::error::eof ? "the peer closed the connection" : ec.message();
        {
          std::lock_guard lock(self->m_);
          self->shut_ = true;
        }
        boost::system::error_code ignored;
        self->socket_.close(ignored);
      }
      self->finish(self->close_reason_);
    });
  }

  void flush() {
    {
      std::lock_guard lock(m_);
      flush_scheduled_ = false;
      if (writing_ || closed_ || pending_.empty()) return;
      in_flight_.swap(pending_);
      writing_ = true;
    }
    std::vector<asio::const_buffer> bufs;
    bufs.reserve(in_flight_.size());
    for (auto& b : in_flight_) bufs.emplace_back(b.data(), b.size());
    asio::async_write(socket_, bufs, [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      {
        std::lock_guard lock(self->m_);
        self->writing_ = false;
      }
      self->queued_.fetch_sub(n, std::memory_order_relaxed);
      self->in_flight_.clear();
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

  void finish(const std::string& reason) {
    if (finished_ || !handler_) return;
    finished_ = true;
    auto* h = std::exchange(handler_, nullptr);
    h->on_closed(reason);
  }

  // The loop's context lives as long as any stream: a stream may outlive its transport in a
  // sender's hands (its writes are then ignored), and its socket must be destroyed first.
  std::shared_ptr<asio::io_context> io_;
  tcp::socket socket_;
  std::string peer_;
  std::array<std::byte, 64 * 1024> buf_;
  stream_handler* handler_ = nullptr;
  // Loop-only state.
  bool reading_ = false;
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
  int fd_ = -1;
  std::atomic<std::size_t> queued_{0};
};

class tcp_transport final : public transport {
 public:
  tcp_transport() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~tcp_transport() override { stop(); }

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

  void connect(const std::string& host, std::uint16_t port, connect_fn done) override {
    auto resolver = std::make_shared<tcp::resolver>(io_);
    resolver->async_resolve(host, std::to_string(port), [this, resolver, done = std::move(done), host, port](
                                                            boost::system::error_code ec, tcp::resolver::results_type results) mutable {
      if (ec) {
        done(error(errc::disconnected, "cannot resolve " + host + ": " + ec.message()));
        return;
      }
      auto socket = std::make_shared<tcp::socket>(io_);
      asio::async_connect(*socket, results, [this, socket, done = std::move(done), host, port](
                                                boost::system::error_code cec, const tcp::endpoint&) mutable {
        if (cec) {
          done(error(errc::disconnected, "cannot connect to " + host + ":" + std::to_string(port) + ": " + cec.message()));
          return;
        }
        done(track(std::make_shared<tcp_stream>(io_ptr_, std::move(*socket))));
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
    if (stopped_.exchange(true)) return;
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
      if (!ec) on_accept(track(std::make_shared<tcp_stream>(io_ptr_, std::move(socket))));
      // Other errors (too many open files, say) skip this connection and keep accepting.
      accept(acceptor, std::move(on_accept));
    });
  }

  std::shared_ptr<stream> track(std::shared_ptr<tcp_stream> s) {
    std::lock_guard lock(m_);
    std::erase_if(streams_, [](const std::weak_ptr<tcp_stream>& w) { return w.expired(); });
    streams_.push_back(s);
    return s;
  }

  std::shared_ptr<asio::io_context> io_ptr_ = std::make_shared<asio::io_context>();
  asio::io_context& io_ = *io_ptr_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::mutex m_;
  std::vector<std::weak_ptr<asio::steady_timer>> timers_;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors_;
  std::vector<std::weak_ptr<tcp_stream>> streams_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;  // last: starts after everything above is built
};

}  // namespace

std::unique_ptr<transport> make_tcp_transport() { return std::make_unique<tcp_transport>(); }

}  // namespace troupe::net
