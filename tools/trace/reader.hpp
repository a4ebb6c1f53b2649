// reader: a streaming reader of one troupe trace file (the layout in troupe/trace_format.hpp),
// and the conversion of its ticks to nanoseconds.
//
// trace_reader validates the file header on construction and then hands out one block at a
// time, either in file order (next) or at an offset seen before (read_at, for the k-way merge
// of troupe-trace chrome): memory stays at one block per caller-held `block`, never the file.
// Every record of a block is checked when the block is read (size, alignment, the fixed part of
// the kinds this tool knows, their trailing text), so the code that decodes records can trust
// them; a file that ends inside a block is readable up to its last whole block (the recorder
// crashed) and says how many bytes it ignored.
#pragma once

#include <troupe/trace_format.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace troupe::trace_tool {

namespace tf = troupe::trace_format;

/// A file that is not a trace, is newer than this tool, or is corrupt. what() names the file
/// and, for corruption, the byte offset.
class trace_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One record inside a block that trace_reader has validated.
class record_ref {
 public:
  record_ref(const std::byte* data, std::uint64_t file_offset) noexcept : data_(data), offset_(file_offset) {}

  tf::record_header header() const noexcept {
    tf::record_header h;
    std::memcpy(&h, data_, sizeof h);
    return h;
  }
  tf::kind kind() const noexcept { return header().k; }
  std::uint8_t flags() const noexcept { return header().flags; }
  std::uint32_t aux() const noexcept { return header().aux; }
  std::size_t size() const noexcept { return header().size; }
  /// Where the record starts in the file (for messages).
  std::uint64_t offset() const noexcept { return offset_; }

  /// A copy of the record's fixed part. Records are copied rather than cast in place: the
  /// bytes come from a plain buffer, and a copy of at most 88 bytes costs nothing next to I/O.
  template <class T>
  T as() const {
    static_assert(std::is_trivially_copyable_v<T>);
    if (size() < sizeof(T)) throw trace_error("record at byte " + std::to_string(offset_) + " is shorter than its kind");
    T r;
    std::memcpy(&r, data_, sizeof r);
    return r;
  }

  /// The text that follows a record's fixed part of `fixed` bytes (aux bytes of it).
  std::string_view text(std::size_t fixed) const noexcept {
    const std::size_t n = std::min<std::size_t>(aux(), size() > fixed ? size() - fixed : 0);
    return {reinterpret_cast<const char*>(data_ + fixed), n};
  }

 private:
  const std::byte* data_;
  std::uint64_t offset_;
};

/// One block: the records one thread wrote, as read from the file.
struct block {
  std::uint64_t offset = 0;   // where the block header starts in the file
  std::uint32_t thread = 0;   // the writing thread's slot (0: the recorder's writer thread)
  std::uint32_t dropped = 0;  // records that thread dropped since its previous block
  std::vector<std::byte> bytes;  // the records (validated by trace_reader)

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = record_ref;
    using difference_type = std::ptrdiff_t;
    using reference = record_ref;
    using pointer = void;
    iterator() = default;
    iterator(const block* b, std::size_t pos) noexcept : b_(b), pos_(pos) {}
    record_ref operator*() const noexcept {
      return {b_->bytes.data() + pos_, b_->offset + sizeof(tf::block_header) + pos_};
    }
    iterator& operator++() noexcept {
      pos_ += (**this).size();
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const iterator& o) const noexcept { return pos_ == o.pos_; }

   private:
    const block* b_ = nullptr;
    std::size_t pos_ = 0;
  };
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, bytes.size()}; }
};

/// The smallest size a record of a known kind can have (its fixed part); 8 for unknown kinds,
/// which readers skip.
std::size_t fixed_size(tf::kind k) noexcept;
/// Whether a record of this kind carries aux bytes of text after its fixed part.
bool has_text(tf::kind k) noexcept;
/// The kind's name as the format spells it ("handled", "dead_letter"...), "kind N" otherwise.
std::string kind_name(tf::kind k);

/// Reads one trace file, one block at a time.
class trace_reader {
 public:
  /// Opens `path` and validates its header; throws trace_error (or std::system_error when the
  /// file cannot be opened).
  explicit trace_reader(std::string path);
  ~trace_reader();
  trace_reader(const trace_reader&) = delete;
  trace_reader& operator=(const trace_reader&) = delete;
  trace_reader(trace_reader&& other) noexcept;
  trace_reader& operator=(trace_reader&&) = delete;

  const std::string& path() const noexcept { return path_; }
  const tf::file_header& header() const noexcept { return header_; }
  std::uint64_t file_size() const noexcept { return size_; }

  /// Reads the next whole block into `b` (reusing its buffer). False at the end of the file,
  /// including a tail cut inside a block (then truncated_bytes() says how much was ignored).
  /// Throws trace_error on a corrupt block.
  bool next(block& b);

  /// Reads the block whose header starts at `offset` (one next() returned before).
  void read_at(std::uint64_t offset, block& b);

  // Run records are compact on disk, each relative to the previous run of its thread
  // (trace_format::run_codec). The reader hands them out decoded, as 88-byte handled_records,
  // so that block::bytes holds only fixed-layout records; record offsets after a run record are
  // then offsets in the decoded block. Decoding a block needs the codec's state at its start:
  // it is remembered per block (a few bytes per block, never per record), so blocks can be read
  // again in any order once each thread's blocks were read in order.

  /// Bytes after the last whole block, once next() has reached them (0: the file ends cleanly).
  std::uint64_t truncated_bytes() const noexcept { return truncated_; }
  /// "truncated: N bytes after the last whole block ignored", when there were such bytes.
  std::optional<std::string> warning() const;

  /// Blocks larger than this are taken for corruption (the recorder writes a few MiB at most).
  static constexpr std::uint32_t max_block_size = 256u << 20;

 private:
  void read_header();
  /// Reads exactly n bytes at `at`; false if the file ends first.
  bool read_exact(std::uint64_t at, void* dst, std::size_t n) const;
  /// Checks every record of a block just read; throws trace_error naming the byte offset.
  void validate(const block& b) const;
  [[noreturn]] void corrupt(std::uint64_t at, const std::string& what) const;
  /// Replaces the run records of a validated block by their decoded form.
  void decode_runs(block& b);


  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  tf::file_header header_{};
  std::uint64_t pos_ = 0;  // the next block's offset, for next()
  std::uint64_t truncated_ = 0;

  struct thread_runs {
    std::uint64_t last_offset = 0;  // the last block decoded in order
    bool any = false;
    tf::run_codec codec;            // the state after it
  };
  std::map<std::uint32_t, thread_runs> runs_;
  std::map<std::uint64_t, tf::run_codec> runs_at_;  // block offset -> codec state at its start
};

/// Ticks → nanoseconds for one file, from its clock records: a straight line through the first
/// and the latest clock record (the TSC of one machine runs at a constant rate, so a line is
/// as good as a piecewise fit and needs no memory), extrapolated beyond them. With a single
/// clock record and ticks that are not the TSC, ticks are nanoseconds of the steady clock. The
/// real-time clock is taken at the first record and follows the steady clock from there (so an
/// NTP step during the trace does not bend the timeline).
class tick_clock {
 public:
  explicit tick_clock(bool ticks_are_tsc = false) noexcept : tsc_(ticks_are_tsc) {}

  void add(const tf::clock_record& c) noexcept;

  /// Nanoseconds per tick (1 when unknown).
  double ns_per_tick() const noexcept;
  /// False when the ticks are the TSC and fewer than two clock records (with different ticks)
  /// were seen: durations are then shown as if ticks were nanoseconds.
  bool rate_known() const noexcept;
  std::size_t records() const noexcept { return count_; }

  /// A duration in ticks, in nanoseconds.
  std::uint64_t duration_ns(std::uint64_t ticks) const noexcept;
  /// The steady clock at `ticks`, in nanoseconds (ticks themselves when there is no clock record).
  std::int64_t steady_ns(std::uint64_t ticks) const noexcept;
  /// The real-time clock at `ticks`, in nanoseconds since the Unix epoch (as steady_ns when
  /// there is no clock record: such a file cannot be lined up with others).
  std::int64_t realtime_ns(std::uint64_t ticks) const noexcept;

 private:
  bool tsc_;
  std::size_t count_ = 0;
  tf::clock_record first_{};
  tf::clock_record last_{};
};

}  // namespace troupe::trace_tool
