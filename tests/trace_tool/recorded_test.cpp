// troupe-trace on what the recorder really wrote: a request that goes through a coroutine and a
// response promise, followed from the file back to its tree, and the other commands on the
// same file.
#include "synthetic.hpp"

#include <troupe/troupe.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <vector>

using namespace trace_test;
using namespace std::chrono_literals;

namespace {

struct order {
  int qty;
};
struct lookup {
  int qty;
};
struct restock {};
struct price {
  int cents;
};

/// front (a coroutine) asks the store; the store keeps a response promise until a restock
/// arrives, which it asks the supplier for; the supplier answers, the store delivers.
troupe::behavior supplier(troupe::actor_base& self) {
  self.set_name("supplier");
  return {[](restock) { return price{250}; }};
}

troupe::behavior store(troupe::actor_base& self, troupe::actor sup) {
  self.set_name("store");
  auto waiting = std::make_shared<std::vector<std::pair<troupe::response_promise<price>, int>>>();
  return {[&self, sup, waiting](lookup l) {
    waiting->emplace_back(self.make_response_promise<price>(), l.qty);
    self.request<price>(sup, restock{}, 5s).then([waiting](price p) {
      for (auto& [promise, qty] : *waiting) promise.deliver(price{p.cents * qty});
      waiting->clear();
    });
    return waiting->back().first;
  }};
}

troupe::behavior front(troupe::actor_base& self, troupe::actor st) {
  self.set_name("front");
  return {[&self, st](order o) -> troupe::task<int> {
    auto p = co_await self.request<price>(st, lookup{o.qty}, 5s);
    co_return p ? p->cents : -1;
  }};
}

}  // namespace

TEST_CASE("follow: a recorded request through a coroutine and a response promise, as a tree") {
  temp_dir dir;
  const std::string path = dir.file("shop.trace");
  {
    troupe::actor_system_config cfg;
    cfg.worker_count = 2;
    cfg.trace.path = path;
    troupe::actor_system sys{cfg};
    auto sup = sys.spawn(supplier);
    auto st = sys.spawn(store, sup);
    auto fr = sys.spawn(front, st);
    auto r = troupe::request<int>(fr, order{3}, 5s).get();
    REQUIRE(r);
    REQUIRE(*r == 750);
  }
  const tool_result f = run_tool({"follow", path, "--limit", "0"});
  INFO(f.out << f.err);
  REQUIRE(f.status == 0);
  const auto lines = lines_of(f.out);
  // The chain, in causal order, each line indented under its cause:
  //   front: order (request)                  the request from outside
  //     store: lookup (request)               the coroutine's request
  //       supplier: restock (request)         the store's own request
  //         reply from supplier
  //         store: (continuation)             the then(), woken by the supplier's reply
  //           reply from store                the response promise, delivered there
  //           front: (resume)                 the coroutine, woken by that reply
  //             reply from front              its co_return answers the order
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"front: ", "order (request)"},   {"store: ", "lookup (request)"}, {"supplier: ", "restock (request)"},
      {"reply from supplier", ""},      {"store: ", "(continuation)"},   {"reply from store", ""},
      {"front: ", "(resume)"},          {"reply from front", ""},
  };
  std::vector<std::size_t> indents;
  std::size_t at = 0;
  for (const auto& line : lines) {
    if (at == expected.size()) break;
    if (line.find(expected[at].first) == std::string::npos || line.find(expected[at].second) == std::string::npos)
      continue;
    const std::size_t text = line.find(expected[at].first);
    indents.push_back(text);
    ++at;
  }
  REQUIRE(at == expected.size());  // all of them, in this order
  CHECK(indents[1] > indents[0]);   // lookup under order
  CHECK(indents[2] > indents[1]);   // restock under lookup
  CHECK(indents[3] > indents[2]);   // the supplier's reply under restock
  CHECK(indents[4] == indents[3]);  // the continuation: caused by the restock run too
  CHECK(indents[5] > indents[4]);   // the store's reply, from the continuation
  CHECK(indents[6] == indents[5]);  // the resumption: caused by the continuation that replied
  CHECK(indents[7] > indents[6]);   // front's reply, from the resumed coroutine

  // The same file through the other commands.
  const tool_result s = run_tool({"summary", path});
  CHECK(s.status == 0);
  CHECK(s.out.find("front") != std::string::npos);
  CHECK(s.out.find("store") != std::string::npos);
  const tool_result g = run_tool({"graph", path, "-o", dir.file("shop.dot")});
  CHECK(g.status == 0);
  const tool_result c = run_tool({"chrome", path, "-o", dir.file("shop.json")});
  CHECK(c.status == 0);
}
