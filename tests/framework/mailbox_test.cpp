#include <troupe/detail/mailbox.hpp>

#include <catch2/catch.hpp>

#include <thread>
#include <vector>

using namespace troupe::detail;

namespace {
struct item {
  int producer;
  int seq;
};
envelope* make(int producer, int seq) { return make_message(item{producer, seq}); }
const item& value(envelope* e) { return static_cast<message_envelope<item>*>(e)->value; }
}  // namespace

TEST_CASE("the mailbox reports the idle-to-busy transition exactly once", "[framework][mailbox]") {
  mailbox mb;  // starts busy (the spawning thread initialises the actor)
  CHECK(mb.try_block());
  CHECK(mb.push(make(0, 0)) == mailbox::push_result::unblocked);
  CHECK(mb.push(make(0, 1)) == mailbox::push_result::ok);
  CHECK_FALSE(mb.try_block());  // not empty
  envelope* a = mb.pop();
  envelope* b = mb.pop();
  CHECK(value(a).seq == 0);
  CHECK(value(b).seq == 1);
  delete a;
  delete b;
  CHECK(mb.pop() == nullptr);
  CHECK(mb.try_block());
  CHECK(mb.push(make(0, 2)) == mailbox::push_result::unblocked);
}

TEST_CASE("a closed mailbox refuses pushes and returns what it held in order", "[framework][mailbox]") {
  mailbox mb;
  for (int i = 0; i < 5; ++i) (void)mb.push(make(0, i));
  envelope* first = mb.pop();  // one in the consumer's cache, four still on the stack
  delete first;
  envelope* rest = mb.close();
  int expected = 1;
  while (rest) {
    envelope* e = std::exchange(rest, rest->next);
    CHECK(value(e).seq == expected++);
    delete e;
  }
  CHECK(expected == 5);
  envelope* late = make(0, 9);
  CHECK(mb.push(late) == mailbox::push_result::closed);
  delete late;  // a refused envelope stays with the caller
}

TEST_CASE("concurrent producers: FIFO per producer, exactly one wake-up per idle period", "[framework][mailbox]") {
  constexpr int producers = 4;
  constexpr int per_producer = 50'000;
  mailbox mb;
  REQUIRE(mb.try_block());
  std::atomic<int> wakeups{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i)
        if (mb.push(make(p, i)) == mailbox::push_result::unblocked) wakeups.fetch_add(1);
    });
  }
  // The consumer: drain; when empty, go idle, and only continue after a producer woke us.
  std::vector<int> next(producers, 0);
  int received = 0;
  int consumer_wakeups = 0;
  bool idle = true;
  while (received < producers * per_producer) {
    if (idle) {
      if (wakeups.load() == consumer_wakeups) continue;  // wait for the unblocking push
      ++consumer_wakeups;
      idle = false;
    }
    envelope* e = mb.pop();
    if (!e) {
      idle = mb.try_block();
      continue;
    }
    const item& it = value(e);
    CHECK(it.seq == next[static_cast<std::size_t>(it.producer)]);
    next[static_cast<std::size_t>(it.producer)] = it.seq + 1;
    ++received;
    delete e;
  }
  for (auto& t : threads) t.join();
  CHECK(received == producers * per_producer);
  CHECK(wakeups.load() == consumer_wakeups);
  delete mb.close();
}
