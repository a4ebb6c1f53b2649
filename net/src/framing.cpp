// framing: the encoder of length-prefixed frames (the framers are in the header).
#include <troupe/net/framing.hpp>

#include <limits>
#include <stdexcept>

namespace troupe::net {

std::string length_prefixed(std::string_view payload) {
  if (payload.size() > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("troupe::net::length_prefixed: a frame of 4 GiB or more");
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string out;
  out.reserve(length_prefixed_framer::prefix_size + payload.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(payload);
  return out;
}

}  // namespace troupe::net
