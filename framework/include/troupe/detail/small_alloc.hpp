// small_alloc: a per-thread cache of small blocks for the runtime's own short-lived objects
// (envelopes, future states, actors, behaviors).
//
// Blocks are grouped in 16-byte size classes up to 512 bytes (larger ones go straight to
// ::operator new/delete). Each thread keeps a free list per class; a block freed on another
// thread than the one that allocated it joins the freeing thread's list. Lists are kept as two
// "magazines" of up to 64 blocks; when both are full, one moves as a whole to a shared depot,
// where a thread whose magazines are empty picks it up: a sender that only allocates and a receiver that only frees meet there, one
// lock round trip per 64 messages. glibc's own per-thread cache keeps 7 blocks per size, far too
// few for actors that exchange bursts of messages (measured in docs/performance.md). The lists
// need no synchronisation (one owner each); they go back to the system allocator when their
// thread ends.
//
// The cache is on in every build, the sanitizer builds included, so that CI tests the code
// that ships. Under AddressSanitizer cached blocks are poisoned (a use after free is still
// reported) and zeroed (stale pointers in them cannot hide a leak from LeakSanitizer). A thread
// whose cache is already destroyed (static destruction after main) bypasses it: an actor_system
// at namespace scope is safe.
#pragma once

#include <cstddef>
#include <new>

namespace troupe::detail {

void* small_allocate(std::size_t n);
void small_deallocate(void* p, std::size_t n) noexcept;

/// Gives a class (and everything derived from it) the cache: `struct x : uses_small_alloc`.
/// Needs sized deallocation, which C++ provides through virtual destructors.
struct uses_small_alloc {
  static void* operator new(std::size_t n) { return small_allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept { small_deallocate(p, n); }
  // Over-aligned types bypass the cache.
  static void* operator new(std::size_t n, std::align_val_t a) { return ::operator new(n, a); }
  static void operator delete(void* p, std::size_t n, std::align_val_t a) noexcept { ::operator delete(p, n, a); }
};

}  // namespace troupe::detail
