// CAF 0.17's reference point for compile time: a hello world in the style of CAF's own
// example (a mirror actor and a requester). Compiled by compile_time.sh, never built by CMake.
#include <caf/all.hpp>
#include <iostream>
#include <string>
using namespace caf;
behavior mirror(event_based_actor* self) {
  return {[=](const std::string& what) -> std::string {
    aout(self) << what << std::endl;
    return std::string(what.rbegin(), what.rend());
  }};
}
void hello_world(event_based_actor* self, const actor& buddy) {
  self->request(buddy, std::chrono::seconds(10), "Hello World!")
      .then([=](const std::string& what) { aout(self) << what << std::endl; });
}
void caf_main(actor_system& sys) {
  auto m = sys.spawn(mirror);
  sys.spawn(hello_world, m);
}
CAF_MAIN()
