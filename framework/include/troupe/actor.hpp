// Actor handles: `actor` (strong) and `weak_actor`.
//
// A handle is the only way to talk to an actor. It is one pointer wide, cheap to copy (one
// atomic increment), comparable, hashable and printable, and it may point at a local actor or,
// with troupe::net, at an actor on another node: user code does not change. Equality and order
// are by (node, actor id), so two handles to the same remote actor compare equal even when they
// came through different proxies.
//
// A strong handle keeps the actor alive: a local actor whose last strong handle is gone finishes
// the messages already in its mailbox and then quits. A weak_actor does not keep it alive;
// lock() gives a strong handle while the actor lives.
#pragma once

#include <troupe/abstract_actor.hpp>

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <utility>

namespace troupe {

namespace detail {
class system_access;
}

class actor {
 public:
  actor() noexcept = default;
  actor(std::nullptr_t) noexcept {}  // NOLINT
  actor(const actor& o) noexcept : p_(o.p_) {
    if (p_) p_->strong_ref();
  }
  actor(actor&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  actor& operator=(const actor& o) noexcept {
    actor(o).swap(*this);
    return *this;
  }
  actor& operator=(actor&& o) noexcept {
    actor(std::move(o)).swap(*this);
    return *this;
  }
  ~actor() {
    if (p_) p_->strong_release();
  }
  void swap(actor& o) noexcept { std::swap(p_, o.p_); }
  void reset() noexcept { actor().swap(*this); }

  explicit operator bool() const noexcept { return p_ != nullptr; }
  /// 0 for an empty handle.
  actor_id id() const noexcept { return p_ ? p_->id() : 0; }
  /// node_id{} for an empty handle.
  node_id node() const noexcept { return p_ ? p_->node() : node_id{}; }
  abstract_actor* get() const noexcept { return p_; }
  abstract_actor* operator->() const noexcept { return p_; }

  /// "actor#42@node-1f3a..." or "actor#null".
  std::string to_string() const;

  friend bool operator==(const actor& a, const actor& b) noexcept {
    return a.p_ == b.p_ || (a.p_ && b.p_ && a.id() == b.id() && a.node() == b.node());
  }
  friend std::strong_ordering operator<=>(const actor& a, const actor& b) noexcept {
    if (auto c = a.node() <=> b.node(); c != 0) return c;
    return a.id() <=> b.id();
  }

 private:
  friend class weak_actor;
  friend class detail::system_access;
  /// Adds a strong reference to `p` (which may be null): only for the runtime (a raw pointer
  /// could be a dead actor's, whose strong count must stay at zero).
  explicit actor(abstract_actor* p) noexcept : p_(p) {
    if (p_) p_->strong_ref();
  }
  /// Takes over a strong reference the caller owns.
  static actor adopt(abstract_actor* p) noexcept {
    actor a;
    a.p_ = p;
    return a;
  }

  abstract_actor* p_ = nullptr;
};

std::ostream& operator<<(std::ostream& os, const actor& a);

class weak_actor {
 public:
  weak_actor() noexcept = default;
  weak_actor(const actor& a) noexcept : p_(a.get()) {  // NOLINT: like weak_ptr from shared_ptr
    if (p_) p_->weak_ref();
  }
  weak_actor(const weak_actor& o) noexcept : p_(o.p_) {
    if (p_) p_->weak_ref();
  }
  weak_actor(weak_actor&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  weak_actor& operator=(weak_actor o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~weak_actor() {
    if (p_) p_->weak_release();
  }

  /// A strong handle while the actor lives (has strong references), else an empty one.
  actor lock() const noexcept {
    return p_ && p_->try_strong_ref() ? actor::adopt(p_) : actor();
  }
  /// True when no strong reference is left (the actor quit or is about to).
  bool expired() const noexcept { return !p_ || p_->strong_count() == 0; }
  actor_id id() const noexcept { return p_ ? p_->id() : 0; }
  node_id node() const noexcept { return p_ ? p_->node() : node_id{}; }
  /// The actor's address, valid while this weak handle lives, whether or not the actor does;
  /// for the runtime's system signals (enqueue works on a dead actor: it bounces).
  abstract_actor* address() const noexcept { return p_; }

  friend bool operator==(const weak_actor& a, const weak_actor& b) noexcept {
    return a.id() == b.id() && a.node() == b.node();
  }
  friend bool operator==(const weak_actor& a, const actor& b) noexcept {
    return a.id() == b.id() && a.node() == b.node();
  }

 private:
  abstract_actor* p_ = nullptr;
};

}  // namespace troupe

template <>
struct std::hash<troupe::actor> {
  std::size_t operator()(const troupe::actor& a) const noexcept {
    return std::hash<std::uint64_t>()(a.id() * 0x9e3779b97f4a7c15ULL ^ a.node().value);
  }
};
template <>
struct std::hash<troupe::weak_actor> {
  std::size_t operator()(const troupe::weak_actor& a) const noexcept {
    return std::hash<std::uint64_t>()(a.id() * 0x9e3779b97f4a7c15ULL ^ a.node().value);
  }
};
