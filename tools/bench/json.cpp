// Boost.JSON's implementation, compiled once for troupe-bench (its documented header-only
// mode), so no compiled libboost_json is needed. Elsewhere: #include <boost/json.hpp>.
#include <boost/json/src.hpp>
