// counting_transport: TCP, counting the writes handed to each stream (each is at most a system
// call or two): what the write-gathering tests look at.
#pragma once

#include <troupe/net/transport.hpp>

#include <atomic>
#include <memory>

namespace troupe::test {

/// TCP, counting the writes handed to each stream (each is at most a system call or two).
class counting_transport final : public troupe::net::transport {
 public:
  explicit counting_transport(std::shared_ptr<std::atomic<int>> writes)
      : tcp_(troupe::net::make_tcp_transport()), writes_(std::move(writes)) {}
  std::uint16_t listen(const std::string& host, std::uint16_t port, accept_fn fn) override {
    return tcp_->listen(host, port, [this, fn = std::move(fn)](std::shared_ptr<troupe::net::stream> s) { fn(wrap(std::move(s))); });
  }
  void unlisten(std::uint16_t port) override { tcp_->unlisten(port); }
  void connect(const std::string& host, std::uint16_t port, connect_fn done) override {
    tcp_->connect(host, port, [this, done = std::move(done)](troupe::result<std::shared_ptr<troupe::net::stream>> s) {
      if (s) done(wrap(std::move(*s)));
      else done(s.error());
    });
  }
  void post(std::function<void()> fn) override { tcp_->post(std::move(fn)); }
  void post_after(troupe::duration d, std::function<void()> fn) override { tcp_->post_after(d, std::move(fn)); }
  bool on_loop() const override { return tcp_->on_loop(); }
  void stop() override { tcp_->stop(); }

 private:
  struct counted final : troupe::net::stream {
    std::shared_ptr<troupe::net::stream> inner;
    std::shared_ptr<std::atomic<int>> writes;
    void start(troupe::net::stream_handler& h) override { inner->start(h); }
    void write(std::vector<std::byte> bytes) override {
      ++*writes;
      inner->write(std::move(bytes));
    }
    std::size_t queued() const override { return inner->queued(); }
    void resume_reading() override { inner->resume_reading(); }
    void when_flushed(std::function<void(bool)> done) override { inner->when_flushed(std::move(done)); }
    void close(const std::string& reason, bool flush) override { inner->close(reason, flush); }
    std::string peer() const override { return inner->peer(); }
  };
  std::shared_ptr<troupe::net::stream> wrap(std::shared_ptr<troupe::net::stream> s) {
    auto c = std::make_shared<counted>();
    c->inner = std::move(s);
    c->writes = writes_;
    return c;
  }
  std::unique_ptr<troupe::net::transport> tcp_;
  std::shared_ptr<std::atomic<int>> writes_;
};


}  // namespace troupe::test
