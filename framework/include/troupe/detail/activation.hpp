// Work deferred to the end of the running actor's activation (the batch of messages a worker
// runs it for). troupe::net uses it to gather the frames one activation sends to a node into
// one write: a burst of sends costs one system call, and a single reply goes out as soon as
// its handler's activation ends.
#pragma once

#include <memory>

namespace troupe::detail {

class deferred_flush {
 public:
  /// Runs on the actor's thread when the activation that deferred it ends.
  virtual void flush() noexcept = 0;

 protected:
  ~deferred_flush() = default;
};

/// On the thread running an actor's activation: remembers `f` (the caller avoids adding the
/// same one twice) and returns true. Anywhere else (a thread of your own, the network thread)
/// returns false: flush now.
bool defer_to_activation_end(std::shared_ptr<deferred_flush> f) noexcept;

}  // namespace troupe::detail
