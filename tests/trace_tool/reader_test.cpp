// Tests of the trace reader: every record kind read back as written, the errors of files that
// are not (or no longer) readable traces, a file cut inside a block, and ticks → nanoseconds.
#include "reader.hpp"
#include "synthetic.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace trace_test;
using troupe::trace_tool::block;
using troupe::trace_tool::tick_clock;
using troupe::trace_tool::trace_error;
using troupe::trace_tool::trace_reader;

namespace {

/// All the blocks of a file, read in order.
std::vector<block> read_all(trace_reader& r) {
  std::vector<block> blocks;
  block b;
  while (r.next(b)) blocks.push_back(b);
  return blocks;
}

/// The message of the trace_error that opening and reading `path` throws.
std::string error_of(const std::string& path) {
  try {
    trace_reader r(path);
    read_all(r);
  } catch (const trace_error& e) {
    return e.what();
  }
  return "(no error)";
}

synthetic_trace three_blocks() {
  synthetic_trace t;
  t.block(0).clock(100, 1'000, 5'000);
  t.block(1).type_def(7, "ping").handled({.id = 1, .actor = 2, .type = 7, .sent = 110, .start = 120, .end = 130});
  t.block(2, 3).handled({.id = 2, .actor = 3, .type = 7, .sent = 115, .start = 125, .end = 135});
  return t;
}

}  // namespace

TEST_CASE("every record kind reads back as written") {
  synthetic_trace t(/*node*/ 9, tf::ticks_are_tsc, /*pid*/ 321);
  t.block(0).clock(1000, 2000, 3000);
  t.block(4, /*dropped*/ 2)
      .thread_name("worker-3")
      .type_def(77, "compute_msg")  // 11 bytes of text: padded to 16
      .spawn(5, "worker_actor", 10, 1)
      .name(5, "the worker", 11)
      .handled({.id = (4ull << 40) | 1, .trace = 99, .cause = 3, .actor = 5, .sender = 1, .type = 77, .sent = 20,
                .start = 30, .end = 45, .kind = tf::run_kind::continuation,
                .flags = tf::request_flag | tf::threw_flag, .depth = 6, .depth_left = 4})
      .dead_letter(50, 6, 5, 77, tf::dead_letter_reason::mailbox_full, 99, 8)
      .reply(60, 5, 99, 8, 12, 21, 3)
      .reply(61, 0, 99, 9, 0, 22, 5, tf::kind::timeout)
      .suspend(62, 5, 99, 8)
      .timer(tf::kind::timer_armed, 63, 444, 5, 99, 8, 1'000'000)
      .timer(tf::kind::timer_fired, 64, 444, 5, 99, 444, 0, 1)
      .exit(5, tf::exit_category::error, "", 70, 8);  // no text at all
  // A kind newer than this tool: 16 bytes that readers skip.
  const std::uint64_t future[2] = {200 | (16u << 16), 0};
  t.raw(future, sizeof future);
  const std::uint64_t padding = 8u << 16;  // kind 0: a padding record
  t.raw(&padding, sizeof padding);

  temp_dir dir;
  trace_reader reader(dir.write("all.trace", t));
  CHECK(reader.header().node == 9);
  CHECK(reader.header().pid == 321);
  CHECK(reader.header().flags == tf::ticks_are_tsc);

  auto blocks = read_all(reader);
  REQUIRE(blocks.size() == 2);
  CHECK_FALSE(reader.warning());
  CHECK(blocks[0].thread == 0);
  CHECK(blocks[1].thread == 4);
  CHECK(blocks[1].dropped == 2);
  CHECK(blocks[1].offset == t.block_offsets()[1]);

  std::vector<troupe::trace_tool::record_ref> recs(blocks[1].begin(), blocks[1].end());
  REQUIRE(recs.size() == 14);
  CHECK(recs[0].kind() == tf::kind::thread_name);
  CHECK(recs[0].text(sizeof(tf::string_record)) == "worker-3");

  REQUIRE(recs[1].kind() == tf::kind::type_def);
  CHECK(recs[1].as<tf::type_def_record>().type == 77);
  CHECK(recs[1].text(sizeof(tf::type_def_record)) == "compute_msg");
  CHECK(recs[1].size() == sizeof(tf::type_def_record) + 16);

  const auto spawn = recs[2].as<tf::actor_record>();
  CHECK(recs[2].kind() == tf::kind::spawn);
  CHECK(spawn.actor == 5);
  CHECK(spawn.other == 1);
  CHECK(spawn.ts == 10);
  CHECK(recs[2].text(sizeof spawn) == "worker_actor");
  CHECK(recs[3].kind() == tf::kind::name);
  CHECK(recs[3].text(sizeof spawn) == "the worker");

  REQUIRE(recs[4].kind() == tf::kind::handled);
  const auto h = recs[4].as<tf::handled_record>();
  CHECK(h.id == ((4ull << 40) | 1));
  CHECK(h.trace == 99);
  CHECK(h.cause == 3);
  CHECK(h.actor == 5);
  CHECK(h.sender == 1);
  CHECK(h.type == 77);
  CHECK(h.sent == 20);
  CHECK(h.start == 30);
  CHECK(h.end == 45);
  CHECK(h.ekind == static_cast<std::uint8_t>(tf::run_kind::continuation));
  CHECK(h.h.flags == (tf::request_flag | tf::threw_flag));
  CHECK(h.h.aux == 6);
  CHECK(h.depth_left == 4);

  const auto d = recs[5].as<tf::dead_letter_record>();
  CHECK(recs[5].kind() == tf::kind::dead_letter);
  CHECK(recs[5].aux() == static_cast<std::uint32_t>(tf::dead_letter_reason::mailbox_full));
  CHECK((d.ts == 50 && d.actor == 6 && d.sender == 5 && d.type == 77 && d.trace == 99 && d.cause == 8));

  const auto rep = recs[6].as<tf::reply_record>();
  CHECK(recs[6].kind() == tf::kind::reply);
  CHECK(recs[6].aux() == 3);
  CHECK((rep.ts == 60 && rep.actor == 5 && rep.trace == 99 && rep.cause == 8 && rep.request == 12 && rep.sent == 21));
  CHECK(recs[7].kind() == tf::kind::timeout);
  CHECK(recs[7].as<tf::reply_record>().request == 0);

  const auto s = recs[8].as<tf::point_record>();
  CHECK(recs[8].kind() == tf::kind::suspend);
  CHECK((s.ts == 62 && s.actor == 5 && s.trace == 99 && s.cause == 8));

  const auto armed = recs[9].as<tf::timer_record>();
  CHECK(recs[9].kind() == tf::kind::timer_armed);
  CHECK((armed.id == 444 && armed.delay_ns == 1'000'000 && armed.actor == 5));
  CHECK(recs[10].kind() == tf::kind::timer_fired);
  CHECK(recs[10].flags() == 1);

  CHECK(recs[11].kind() == tf::kind::exit);
  CHECK(recs[11].flags() == static_cast<std::uint8_t>(tf::exit_category::error));
  CHECK(recs[11].text(sizeof(tf::actor_record)).empty());

  // The unknown kind is there, whole, for readers to skip.
  CHECK(static_cast<int>(recs[12].kind()) == 200);
  CHECK(recs[12].size() == 16);
  CHECK(recs[13].kind() == tf::kind::padding);
}

TEST_CASE("files that are not traces are refused with a clear message") {
  temp_dir dir;

  SECTION("wrong magic") {
    std::string bytes = three_blocks().bytes();
    bytes[0] = 'X';
    CHECK_THAT(error_of(dir.write("x.trace", bytes)), Catch::Contains("not a troupe trace (bad magic)"));
  }
  SECTION("garbage") {
    std::mt19937 rng(42);
    std::string bytes(4096, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    const std::string path = dir.write("garbage.bin", bytes);
    CHECK(error_of(path) == path + ": not a troupe trace (bad magic)");
  }
  SECTION("a text file shorter than a header") {
    CHECK_THAT(error_of(dir.write("short.txt", "hello")), Catch::Contains("not a troupe trace (bad magic)"));
  }
  SECTION("a newer version") {
    synthetic_trace t = three_blocks();
    t.header().version = 2;
    CHECK_THAT(error_of(dir.write("new.trace", t)), Catch::EndsWith("trace version 2 is newer than this tool (1)"));
  }
  SECTION("a header cut short") {
    const std::string bytes = three_blocks().bytes().substr(0, 20);
    CHECK_THAT(error_of(dir.write("cut.trace", bytes)), Catch::Contains("truncated header"));
  }
  SECTION("an empty file") {
    CHECK_THAT(error_of(dir.write("empty.trace", "")), Catch::Contains("truncated header"));
  }
  SECTION("a header size below version 1's") {
    synthetic_trace t = three_blocks();
    t.header().header_size = 40;
    CHECK_THAT(error_of(dir.write("hs.trace", t)), Catch::Contains("corrupt header"));
  }
}

TEST_CASE("a larger header is skipped") {
  synthetic_trace t = three_blocks();
  t.header().header_size = sizeof(tf::file_header) + 16;
  std::string bytes = t.bytes();
  bytes.insert(sizeof(tf::file_header), 16, '\x7f');  // a later version's extra fields
  temp_dir dir;
  trace_reader r(dir.write("big.trace", bytes));
  CHECK(read_all(r).size() == 3);
}

TEST_CASE("a file cut inside a block reads up to its last whole block") {
  const synthetic_trace t = three_blocks();
  const std::string whole = t.bytes();
  const std::size_t last = t.block_offsets().back();
  temp_dir dir;

  // Cut inside the last block's header, inside its records, and one byte short of its end.
  for (std::size_t cut : {last + 1, last + 15, last + 16, last + 40, whole.size() - 1}) {
    CAPTURE(cut);
    trace_reader r(dir.write("cut.trace", whole.substr(0, cut)));
    const auto blocks = read_all(r);
    CHECK(blocks.size() == 2);
    CHECK(r.truncated_bytes() == cut - last);
    REQUIRE(r.warning());
    CHECK(*r.warning() == "truncated: " + std::to_string(cut - last) + " bytes after the last whole block ignored");
  }
  SECTION("cut at a block boundary: no warning") {
    trace_reader r(dir.write("cut.trace", whole.substr(0, last)));
    CHECK(read_all(r).size() == 2);
    CHECK_FALSE(r.warning());
  }
}

TEST_CASE("corrupt blocks and records are errors that give the byte offset") {
  temp_dir dir;
  const std::size_t first = sizeof(tf::file_header);      // the first block's header
  const std::size_t record = first + sizeof(tf::block_header);  // its first record

  SECTION("bad block magic") {
    std::string bytes = three_blocks().bytes();
    bytes[first] = 'Z';
    CHECK_THAT(error_of(dir.write("c.trace", bytes)),
               Catch::Contains("corrupt trace at byte 48: bad block magic"));
  }
  SECTION("a record of size 0") {
    synthetic_trace t;
    const std::uint64_t zero[2] = {static_cast<std::uint64_t>(tf::kind::handled), 0};
    t.block(1).raw(zero, sizeof zero);
    CHECK_THAT(error_of(dir.write("c.trace", t)),
               Catch::Contains("corrupt trace at byte " + std::to_string(record) + ": handled record") &&
                   Catch::Contains("has size 0"));
  }
  SECTION("a record size that is not a multiple of 8") {
    synthetic_trace t;
    const std::uint64_t odd[2] = {static_cast<std::uint64_t>(tf::kind::clock) | (12u << 16), 0};
    t.block(1).type_def(1, "a").raw(odd, sizeof odd);
    CHECK_THAT(error_of(dir.write("c.trace", t)),
               Catch::Contains("corrupt trace at byte " + std::to_string(record + 24)) &&
                   Catch::Contains("size 12, not a multiple of 8"));
  }
  SECTION("a record that runs past its block") {
    synthetic_trace t;
    const std::uint64_t big[2] = {static_cast<std::uint64_t>(tf::kind::handled) | (88u << 16), 0};
    t.block(1).raw(big, sizeof big);
    CHECK_THAT(error_of(dir.write("c.trace", t)), Catch::Contains("runs past its block"));
  }
  SECTION("a record shorter than its kind") {
    synthetic_trace t;
    const std::uint64_t small[2] = {static_cast<std::uint64_t>(tf::kind::handled) | (16u << 16), 0};
    t.block(1).raw(small, sizeof small);
    CHECK_THAT(error_of(dir.write("c.trace", t)), Catch::Contains("less than its fixed 24"));
  }
  SECTION("text longer than its record") {
    synthetic_trace t;
    tf::type_def_record r{};
    r.h = {tf::kind::type_def, 0, sizeof r, 100};
    t.block(1).raw(&r, sizeof r);
    CHECK_THAT(error_of(dir.write("c.trace", t)), Catch::Contains("100 bytes of text"));
  }
  SECTION("corruption after good blocks: the good ones come first") {
    synthetic_trace t = three_blocks();
    std::string bytes = t.bytes() + std::string(32, 'q');
    trace_reader r(dir.write("c.trace", bytes));
    block b;
    for (int i = 0; i < 3; ++i) REQUIRE(r.next(b));
    CHECK_THROWS_WITH(r.next(b), Catch::Contains("corrupt trace at byte " + std::to_string(t.bytes().size())));
  }
}

TEST_CASE("read_at reads a block again by its offset") {
  const synthetic_trace t = three_blocks();
  temp_dir dir;
  trace_reader r(dir.write("t.trace", t));
  block b;
  r.read_at(t.block_offsets()[2], b);
  CHECK(b.thread == 2);
  CHECK(b.dropped == 3);
  CHECK((*b.begin()).as<tf::handled_record>().id == 2);
}

TEST_CASE("ticks become nanoseconds through the clock records") {
  SECTION("two clock records: a straight line through them, extrapolated") {
    tick_clock c(true);
    tf::clock_record a{}, b{};
    a.ticks = 1'000;
    a.steady_ns = 10'000;
    a.realtime_ns = 1'700'000'000'000'000'000;
    b.ticks = 5'000;
    b.steady_ns = 12'000;  // 0.5 ns per tick
    b.realtime_ns = 1'700'000'000'000'002'000;
    c.add(a);
    CHECK_FALSE(c.rate_known());
    c.add(b);
    CHECK(c.rate_known());
    CHECK(c.ns_per_tick() == Approx(0.5));
    CHECK(c.duration_ns(1'000) == 500);
    CHECK(c.steady_ns(3'000) == 11'000);
    CHECK(c.steady_ns(9'000) == 14'000);  // after the last record
    CHECK(c.steady_ns(0) == 9'500);       // before the first
    CHECK(c.realtime_ns(3'000) == 1'700'000'000'000'001'000);
  }
  SECTION("one clock record, steady ticks: ticks are nanoseconds") {
    tick_clock c(false);
    tf::clock_record a{};
    a.ticks = 500;
    a.steady_ns = 500;
    a.realtime_ns = 10'000;
    c.add(a);
    CHECK(c.rate_known());
    CHECK(c.duration_ns(123) == 123);
    CHECK(c.realtime_ns(600) == 10'100);
  }
  SECTION("no clock record") {
    tick_clock c(false);
    CHECK(c.steady_ns(42) == 42);
    CHECK(c.realtime_ns(42) == 42);
  }
}

TEST_CASE("troupe-trace exits non-zero with the reason for unreadable files") {
  temp_dir dir;
  SECTION("missing") {
    auto r = run_tool({"summary", dir.file("missing.trace")});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("missing.trace: No such file or directory"));
  }
  SECTION("foreign") {
    auto r = run_tool({"chrome", dir.write("notes.txt", "just some text, not a trace at all"), "-o", dir.file("o.json")});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("not a troupe trace (bad magic)"));
  }
  SECTION("newer") {
    synthetic_trace t = three_blocks();
    t.header().version = 7;
    auto r = run_tool({"graph", dir.write("new.trace", t), "-o", dir.file("g.dot")});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("trace version 7 is newer than this tool (1)"));
  }
  SECTION("corrupt") {
    std::string bytes = three_blocks().bytes();
    bytes[sizeof(tf::file_header) + 1] = 'Z';
    auto r = run_tool({"follow", dir.write("c.trace", bytes), "5"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("corrupt trace at byte 48"));
  }
  SECTION("a truncated file is read, with a warning") {
    const std::string whole = three_blocks().bytes();
    auto r = run_tool({"summary", dir.write("cut.trace", whole.substr(0, whole.size() - 8))});
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("warning: ") && Catch::Contains("bytes after the last whole block ignored"));
  }
  SECTION("a bad command line") {
    auto r = run_tool({"chrome", dir.file("x.trace")});  // no -o
    CHECK(r.status != 0);
    CHECK_THAT(r.err, Catch::Contains("--output is required"));
  }
}
