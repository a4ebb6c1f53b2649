// The remote workloads' server processes, and the floor they are measured against: a plain
// Boost.Asio TCP echo.
#include "bench.hpp"

#include <boost/asio.hpp>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <sys/wait.h>
#include <unistd.h>

namespace bench {

server_process::server_process(void (*body)(int, int, const sizes&), const sizes& s) {
  int port_pipe[2], stop_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(stop_pipe) != 0) throw bench_failure("pipe failed");
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw bench_failure("fork failed");
  if (pid == 0) {
    close(port_pipe[0]);
    close(stop_pipe[1]);
    int rc = 0;
    try {
      body(port_pipe[1], stop_pipe[0], s);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "server process: %s\n", e.what());
      rc = 3;
    }
    std::fflush(nullptr);
    _exit(rc);
  }
  pid_ = pid;
  close(port_pipe[1]);
  close(stop_pipe[0]);
  stop_fd_ = stop_pipe[1];
  unsigned short port = 0;
  const ssize_t got = read(port_pipe[0], &port, sizeof port);
  close(port_pipe[0]);
  if (got != static_cast<ssize_t>(sizeof port)) {
    close(stop_fd_);
    waitpid(pid_, nullptr, 0);
    throw bench_failure("the server process did not start");
  }
  port_ = port;
}

server_process::~server_process() {
  close(stop_fd_);  // the child's wait_for_stop returns
  int status = 0;
  waitpid(pid_, &status, 0);
}

void report_port(int port_fd, unsigned short port) {
  if (write(port_fd, &port, sizeof port) != static_cast<ssize_t>(sizeof port)) throw bench_failure("cannot report the port");
  close(port_fd);
}

void wait_for_stop(int stop_fd) {
  char c;
  while (read(stop_fd, &c, 1) > 0) {
  }
  close(stop_fd);
}

namespace floor_side {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr std::size_t echo_bytes = 16;

/// Echoes 16-byte records on one connection until it closes (blocking, one thread: the
/// cheapest correct server).
void echo_server(int port_fd, int stop_fd, const sizes&) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  report_port(port_fd, acceptor.local_endpoint().port());
  tcp::socket s = acceptor.accept();
  s.set_option(tcp::no_delay(true));
  std::array<char, echo_bytes> buf{};
  boost::system::error_code ec;
  while (!ec) {
    asio::read(s, asio::buffer(buf), ec);
    if (!ec) asio::write(s, asio::buffer(buf), ec);
  }
  wait_for_stop(stop_fd);
}

}  // namespace

double raw_tcp_rtt(const sizes& sz) {
  server_process server(echo_server, sz);
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  s.set_option(tcp::no_delay(true));
  std::array<char, echo_bytes> out{}, in{};
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < sz.remote_round_trips; ++i) {
    out[0] = static_cast<char>(i);
    asio::write(s, asio::buffer(out));
    asio::read(s, asio::buffer(in));
    check(in[0] == out[0], "raw_tcp_rtt: a wrong echo");
  }
  const double secs = seconds_since(t0);
  s.close();
  return static_cast<double>(sz.remote_round_trips) / secs;
}

}  // namespace floor_side
}  // namespace bench
