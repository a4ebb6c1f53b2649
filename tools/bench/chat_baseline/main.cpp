// chat-baseline: a chat server in plain Boost.Asio, written without troupe. It is the reference
// ("baseline") that examples/chat_server is measured against in docs/performance.md: the same
// line protocol, no actors.
//
//   chat-baseline [--host 127.0.0.1] [--port 7000] [--threads 1] [--max-queued 262144]
//
// The protocol: lines ending in "\n" (a "\r" before it is dropped), at most 4096 bytes each (else
// "ERR line too long" and the connection is closed).
//   NICK <name>            -> OK                  (the nick before any NICK is guest<N>)
//   JOIN <room>            -> OK
//   LEAVE <room>           -> OK | ERR not in <room>
//   SAY <room> <text...>   -> every member, the sender included, gets MSG <room> <nick> <text...>
//                             (ERR not in <room> if the sender is not a member)
//   QUIT                   -> the connection is closed once what is queued for it is written
//   anything else          -> ERR unknown command
// A connection whose queued-but-unwritten bytes would go over --max-queued is dropped (a slow
// client). Prints "listening on <host>:<port>" at start; on SIGINT/SIGTERM prints one "stats:"
// line and exits 0.
//
// Design: one io_context run by --threads threads. Each connection has its socket, a read buffer
// with the line splitter, and a write queue of shared strings sent as one gathered async_write
// while later messages queue behind it. With one thread there are no strands and no locks (the
// mutexes below are switched off); with more, each connection's socket runs on its own strand,
// its write queue has a mutex, and the rooms are under a shared mutex (SAY reads, JOIN/LEAVE
// write). Lock order: the rooms, then a connection's queue.
#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::size_t max_line = 4096;           // bytes of a line, without its "\r\n"
constexpr std::size_t read_buffer_size = 16384;  // > the longest partial line (max_line + 1)
constexpr auto linger_time = std::chrono::seconds(2);  // QUIT / too long: wait this long for the peer's FIN

using message = std::shared_ptr<const std::string>;

message make_message(std::string_view s) { return std::make_shared<const std::string>(s); }
const message ok_reply = make_message("OK\n");
const message unknown_reply = make_message("ERR unknown command\n");
const message too_long_reply = make_message("ERR line too long\n");

// A mutex that does nothing when the server runs on one thread.
template <class Mutex>
class maybe_mutex {
 public:
  explicit maybe_mutex(bool on) : on_(on) {}
  void lock() {
    if (on_) m_.lock();
  }
  void unlock() {
    if (on_) m_.unlock();
  }
  void lock_shared() {
    if (on_) m_.lock_shared();
  }
  void unlock_shared() {
    if (on_) m_.unlock_shared();
  }

 private:
  Mutex m_;
  bool on_;
};

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7000;
  unsigned threads = 1;
  std::size_t max_queued = 262144;
};

struct counters {
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> dropped_slow{0};
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> deliveries{0};
};

class connection;

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// A room is its members; a room with no member is erased. An entry's address is stable while it
// exists (unordered_map nodes), so each member keeps a pointer to the entries of its rooms.
using room_map = std::unordered_map<std::string, std::vector<std::shared_ptr<connection>>, string_hash,
                                    std::equal_to<>>;
using room_entry = room_map::value_type;

struct server {
  server(asio::io_context& io, const options& opt);
  void accept();

  asio::io_context& ioc;
  const bool multi;  // more than one thread: strands and locks
  const std::size_t max_queued;
  counters stats;
  maybe_mutex<std::shared_mutex> rooms_mutex;
  room_map rooms;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(server& srv, tcp::socket socket, std::uint64_t id)
      : srv_(srv), socket_(std::move(socket)), nick_("guest" + std::to_string(id)), queue_mutex_(srv.multi) {}

  void start() { read(); }

  enum class push { queued, dropped, closed };

  // Queues `m` for this client. From any thread (under the rooms' lock for a SAY).
  push deliver(const message& m) {
    bool drop = false;
    bool start = false;
    {
      std::lock_guard lock(queue_mutex_);
      if (!open_) return push::closed;
      if (queued_bytes_ + m->size() > srv_.max_queued) {
        drop = true;
        open_ = false;
      } else {
        queue_.push_back(m);
        queued_bytes_ += m->size();
        start = !std::exchange(writing_, true);
      }
    }
    if (drop) {
      srv_.stats.dropped_slow.fetch_add(1, std::memory_order_relaxed);
      // Later, on its strand: the caller may be iterating a room this connection is in.
      asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close_now(); });
      return push::dropped;
    }
    if (start) {
      if (srv_.multi)
        asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->write(); });
      else
        write();
    }
    return push::queued;
  }

 private:
  // --- reading (on the strand) ---

  void read() {
    socket_.async_read_some(asio::buffer(buffer_.data() + buffered_, buffer_.size() - buffered_),
                            [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(error_code ec, std::size_t n) {
    if (closed_) return;
    if (ec) {
      if (ec == asio::error::eof) {
        peer_closed_ = true;  // it may still read: what is queued is written first
        close_gracefully();
      } else {
        close_now();
      }
      return;
    }
    const char* line_start = buffer_.data();
    const char* scan = buffer_.data() + buffered_;  // the bytes before have no '\n'
    const char* const end = scan + n;
    while (const void* found = std::memchr(scan, '\n', static_cast<std::size_t>(end - scan))) {
      const char* nl = static_cast<const char*>(found);
      std::string_view line(line_start, static_cast<std::size_t>(nl - line_start));
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() > max_line) return line_too_long();
      if (!handle(line)) return;  // QUIT
      line_start = scan = nl + 1;
    }
    const auto rest = static_cast<std::size_t>(end - line_start);
    // Without its end yet: over the limit already, unless its last byte is a '\r' to drop.
    if (rest > max_line + 1 || (rest == max_line + 1 && line_start[rest - 1] != '\r')) return line_too_long();
    if (rest != 0 && line_start != buffer_.data()) std::memmove(buffer_.data(), line_start, rest);
    buffered_ = rest;
    read();
  }

  void line_too_long() {
    deliver(too_long_reply);
    close_gracefully();
  }

  // One line, without its end. False when the connection is closing (stop reading).
  bool handle(std::string_view line) {
    const auto space = line.find(' ');
    const std::string_view command = line.substr(0, space);
    const std::string_view arg = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    // NICK, JOIN and LEAVE take one non-empty word; SAY a room word, one space and any text.
    const bool one_word = !arg.empty() && arg.find(' ') == std::string_view::npos;
    if (command == "SAY") {
      const auto room_end = arg.find(' ');
      if (room_end == 0 || room_end == std::string_view::npos)
        deliver(unknown_reply);
      else
        say(arg.substr(0, room_end), arg.substr(room_end + 1));
    } else if (command == "JOIN" && one_word) {
      join(arg);
    } else if (command == "LEAVE" && one_word) {
      leave(arg);
    } else if (command == "NICK" && one_word) {
      nick_.assign(arg);
      deliver(ok_reply);
    } else if (line == "QUIT") {
      close_gracefully();
      return false;
    } else {
      deliver(unknown_reply);
    }
    return true;
  }

  room_entry* my_room(std::string_view name) const {
    for (room_entry* r : rooms_)
      if (r->first == name) return r;
    return nullptr;
  }

  void join(std::string_view name) {
    if (!my_room(name)) {
      std::unique_lock lock(srv_.rooms_mutex);
      auto it = srv_.rooms.find(name);
      if (it == srv_.rooms.end()) it = srv_.rooms.try_emplace(std::string(name)).first;
      it->second.push_back(shared_from_this());
      rooms_.push_back(&*it);
    }
    deliver(ok_reply);
  }

  void leave(std::string_view name) {
    const auto it = std::find_if(rooms_.begin(), rooms_.end(), [&](room_entry* r) { return r->first == name; });
    if (it == rooms_.end()) return not_in(name);
    {
      std::unique_lock lock(srv_.rooms_mutex);
      remove_from(*it);
    }
    rooms_.erase(it);
    deliver(ok_reply);
  }

  void leave_all_rooms() {
    if (rooms_.empty()) return;
    std::unique_lock lock(srv_.rooms_mutex);
    for (room_entry* r : rooms_) remove_from(r);
    rooms_.clear();
  }

  // Under the rooms' exclusive lock.
  void remove_from(room_entry* r) {
    auto& members = r->second;
    const auto me = std::find_if(members.begin(), members.end(), [&](const auto& c) { return c.get() == this; });
    if (me != members.end()) {
      std::swap(*me, members.back());
      members.pop_back();
    }
    if (members.empty()) srv_.rooms.erase(srv_.rooms.find(r->first));
  }

  void say(std::string_view name, std::string_view text) {
    room_entry* r = my_room(name);
    if (!r) return not_in(name);
    auto line = std::make_shared<std::string>();
    line->reserve(4 + name.size() + 1 + nick_.size() + 1 + text.size() + 1);
    line->append("MSG ").append(name).append(" ").append(nick_).append(" ").append(text).append("\n");
    const message m = std::move(line);
    std::uint64_t queued = 0;
    {
      std::shared_lock lock(srv_.rooms_mutex);
      for (const auto& member : r->second)
        if (member->deliver(m) == push::queued) ++queued;
    }
    srv_.stats.messages_in.fetch_add(1, std::memory_order_relaxed);
    srv_.stats.deliveries.fetch_add(queued, std::memory_order_relaxed);
  }

  void not_in(std::string_view name) {
    std::string reply;
    reply.reserve(11 + name.size() + 1);
    reply.append("ERR not in ").append(name).append("\n");
    deliver(std::make_shared<const std::string>(std::move(reply)));
  }

  // --- writing (on the strand; one write at a time) ---

  void write() {
    {
      std::lock_guard lock(queue_mutex_);
      if (closed_ || queue_.empty()) {
        writing_ = false;
        return;
      }
      gather_.clear();
      for (const auto& m : queue_) gather_.emplace_back(m->data(), m->size());
      in_flight_ = queue_.size();
      in_flight_bytes_ = queued_bytes_;
    }
    // Messages queued from now on stay behind these (deque::push_back keeps the strings where they
    // are) and go in the next write. A span: async_write keeps a copy of the sequence, not of gather_.
    asio::async_write(socket_, std::span<const asio::const_buffer>(gather_),
                      [self = shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(error_code ec) {
    bool more = false;
    {
      std::lock_guard lock(queue_mutex_);
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(in_flight_));
      queued_bytes_ -= in_flight_bytes_;
      in_flight_ = in_flight_bytes_ = 0;
      if (!ec && !closed_) {
        more = !queue_.empty();
        writing_ = more;
      }
    }
    if (ec || closed_) return close_now();
    if (more) return write();
    if (closing_) finish_close();
  }

  // --- closing (on the strand) ---

  // QUIT, the peer's EOF, a line too long: out of the rooms, no more deliveries, and closed once
  // what is queued is written.
  void close_gracefully() {
    if (closing_ || closed_) return;
    closing_ = true;
    leave_all_rooms();
    bool idle = false;
    {
      std::lock_guard lock(queue_mutex_);
      open_ = false;
      idle = !writing_;
    }
    if (idle) finish_close();  // else on_write calls it when the queue is empty
  }

  // Everything written: send our FIN, then wait (a while) for the peer's before closing, so that
  // the bytes it sent and we did not read do not turn the close into a reset that loses the reply.
  void finish_close() {
    if (closed_) return;
    if (peer_closed_) return close_now();
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    linger_.emplace(socket_.get_executor());
    linger_->expires_after(linger_time);
    linger_->async_wait([self = shared_from_this()](error_code) { self->close_now(); });
    drain();
  }

  void drain() {
    socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec || self->closed_)
        self->close_now();
      else
        self->drain();
    });
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    {
      std::lock_guard lock(queue_mutex_);
      open_ = false;
    }
    error_code ignored;
    socket_.close(ignored);  // the pending read and write complete with operation_aborted
    if (linger_) linger_->cancel();
    leave_all_rooms();
  }

  server& srv_;
  tcp::socket socket_;  // its executor is the connection's strand when multi
  std::string nick_;
  std::vector<room_entry*> rooms_;
  std::array<char, read_buffer_size> buffer_;
  std::size_t buffered_ = 0;  // bytes of an unfinished line at the front of buffer_
  bool closing_ = false;      // close_gracefully ran
  bool closed_ = false;       // close_now ran
  bool peer_closed_ = false;  // EOF read
  std::optional<asio::steady_timer> linger_;
  std::vector<asio::const_buffer> gather_;  // the write in flight
  std::size_t in_flight_ = 0;               // its messages (the front of queue_)
  std::size_t in_flight_bytes_ = 0;

  // Shared with the deliverers.
  maybe_mutex<std::mutex> queue_mutex_;
  std::deque<message> queue_;
  std::size_t queued_bytes_ = 0;  // written only when the write completes: in flight included
  bool writing_ = false;          // a write is in flight or about to start
  bool open_ = true;              // takes deliveries
};

tcp::endpoint endpoint_of(asio::io_context& io, const std::string& host, std::uint16_t port) {
  error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) return {address, port};
  tcp::resolver resolver(io);
  return *resolver.resolve(host, std::to_string(port)).begin();
}

server::server(asio::io_context& io, const options& opt)
    : ioc(io),
      multi(opt.threads > 1),
      max_queued(opt.max_queued),
      rooms_mutex(multi),
      acceptor(io, endpoint_of(io, opt.host, opt.port)),
      accept_retry(io) {
  acceptor.listen(asio::socket_base::max_listen_connections);
}

void server::accept() {
  const asio::any_io_executor ex = multi ? asio::any_io_executor(asio::make_strand(ioc))
                                         : asio::any_io_executor(ioc.get_executor());
  acceptor.async_accept(ex, [this](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {  // out of descriptors, say: try again a little later
      std::fprintf(stderr, "accept: %s\n", ec.message().c_str());
      accept_retry.expires_after(std::chrono::milliseconds(50));
      accept_retry.async_wait([this](error_code e) {
        if (!e) accept();
      });
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const auto id = stats.connections.fetch_add(1, std::memory_order_relaxed) + 1;
    std::make_shared<connection>(*this, std::move(socket), id)->start();
    accept();
  });
}

void raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  // On stderr: stdout's first line is the "listening on" a script waits for.
  std::fprintf(stderr, "open files limit: %llu\n", static_cast<unsigned long long>(limit.rlim_cur));
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  CLI::App app{"chat-baseline: the line-protocol chat server in plain Boost.Asio (no troupe)"};
  app.add_option("--host", opt.host, "address to listen on")->capture_default_str();
  app.add_option("--port", opt.port, "port to listen on (0: any free port)")->capture_default_str();
  app.add_option("--threads", opt.threads, "threads running the io_context")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  app.add_option("--max-queued", opt.max_queued, "bytes queued for a client before it is dropped")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  raise_open_files_limit();
  asio::io_context ioc(static_cast<int>(opt.threads));
  try {
    server srv(ioc, opt);
    const auto local = srv.acceptor.local_endpoint();
    std::printf("listening on %s:%u\n", local.address().to_string().c_str(), static_cast<unsigned>(local.port()));
    std::fflush(stdout);

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](error_code, int) {
      error_code ignored;
      srv.acceptor.close(ignored);
      ioc.stop();
    });
    srv.accept();

    std::vector<std::thread> threads;
    for (unsigned i = 1; i < opt.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : threads) t.join();

    std::printf("stats: connections=%llu dropped_slow=%llu messages_in=%llu deliveries=%llu\n",
                static_cast<unsigned long long>(srv.stats.connections.load()),
                static_cast<unsigned long long>(srv.stats.dropped_slow.load()),
                static_cast<unsigned long long>(srv.stats.messages_in.load()),
                static_cast<unsigned long long>(srv.stats.deliveries.load()));
    std::fflush(stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chat-baseline: %s\n", e.what());
    return 1;
  }
  return 0;
}
