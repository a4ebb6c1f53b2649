// Messages that would share memory between actors, or are not messages at all, are rejected at
// the send with a message that names the problem. Each CASE_ block must fail to compile with
// the message after "expect:".
#include <troupe/troupe.hpp>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct order {  // fine: values all the way down
  int id;
  std::string item;
  std::vector<std::pair<std::string, int>> lines;
  std::shared_ptr<const std::vector<int>> shared_table;  // immutable: fine
};
struct tree {  // recursive: fine
  int value;
  std::vector<tree> children;
};
struct with_view {
  std::string_view name;
};
struct with_pointer {
  int* counter;
};
struct with_shared_mutable {
  std::shared_ptr<std::vector<int>> data;
};
struct nested {
  order o;
  std::map<int, std::vector<with_pointer>> deep;
};
struct with_span {
  std::span<int> values;
};
struct vouched {  // a pointer to a table that outlives the system: the user vouches for it
  const int* table;
};
template <>
struct troupe::assume_sendable<vouched> : std::true_type {};
struct not_movable {
  not_movable() = default;
  not_movable(const not_movable&) = delete;
  not_movable& operator=(const not_movable&) = delete;
};

static_assert(troupe::sendable<order> && troupe::sendable<tree> && troupe::sendable<vouched>);
static_assert(!troupe::sendable<with_view> && !troupe::sendable<nested>);

inline void sends(troupe::actor a) {
  static const int table[] = {1, 2, 3};
  troupe::send(a, order{1, "tea", {}, std::make_shared<const std::vector<int>>()});
  troupe::send(a, tree{1, {tree{2, {}}}});
  troupe::send(a, vouched{table});
  troupe::send(a, std::string("hello"));
#if defined(CASE_string_literal)  // expect: a string literal or char pointer is not a message.*std::string
  troupe::send(a, "hello");
#endif
#if defined(CASE_char_pointer)  // expect: a string literal or char pointer is not a message
  const char* text = "hello";
  troupe::send(a, text);
#endif
#if defined(CASE_c_array)  // expect: a C array is not a message
  int values[3] = {1, 2, 3};
  troupe::send(a, values);
#endif
#if defined(CASE_not_movable)  // expect: messages must be movable
  const not_movable n;
  troupe::send(a, n);
#endif
#if defined(CASE_string_view_member)  // expect: unsendable_member<std::basic_string_view<char>, with_view>
  troupe::send(a, with_view{"x"});
#endif
#if defined(CASE_raw_pointer_member)  // expect: unsendable_member<int\*, with_pointer>
  int n = 0;
  troupe::send(a, with_pointer{&n});
#endif
#if defined(CASE_shared_ptr_to_mutable)  // expect: unsendable_member<std::shared_ptr<std::vector<int> >, with_shared_mutable>
  troupe::send(a, with_shared_mutable{std::make_shared<std::vector<int>>()});
#endif
#if defined(CASE_deep_member)  // expect: unsendable_member<int\*, nested>
  troupe::send(a, nested{});
#endif
#if defined(CASE_span_member)  // expect: unsendable_member<std::span<int.*with_span>
  troupe::send(a, with_span{});
#endif
#if defined(CASE_request)  // expect: unsendable_member<int\*, with_pointer>
  auto f = troupe::request<int>(a, with_pointer{nullptr});
  (void)f;
#endif
#if defined(CASE_delayed_send)  // expect: unsendable_member<std::basic_string_view<char>, with_view>
  troupe::delayed_send(a, std::chrono::seconds(1), with_view{"x"});
#endif
#if defined(CASE_pointer_message)  // expect: unsendable_member<int\*, int\*>
  int m = 0;
  troupe::send(a, &m);
#endif
}

int main() {}

// A request's future must be used: dropping it hides its error.
#pragma GCC diagnostic error "-Wunused-result"
inline void drops(troupe::actor a) {
  auto kept = troupe::request<int>(a, order{});
  (void)kept;
#if defined(CASE_dropped_request_future)  // expect: ignoring return value
  troupe::request<int>(a, order{});
#endif
}

// More of what the sendable check promises: references, weak_ptr to mutable data, recursion
// through optional, variant and tuple, delegation, periodic sends and response promises.
struct with_reference {
  const int& r;
};
struct with_weak {
  std::weak_ptr<int> w;
};
struct deep_optional {
  std::optional<std::variant<int, std::tuple<std::string, std::string_view>>> o;
};
inline troupe::behavior more(troupe::actor_base& self, troupe::actor other) {
  return {
      [&self, other](order o) -> troupe::delegated<int> {
        (void)o;
#if defined(CASE_delegate)  // expect: unsendable_member<int\*, with_pointer>
        return self.delegate<int>(other, with_pointer{nullptr});
#endif
        return self.delegate<int>(other, order{});
      },
      [&self](tree t) -> troupe::response_promise<std::string> {
        (void)t;
#if defined(CASE_response_promise)  // expect: unsendable_member<std::basic_string_view<char>, std::basic_string_view<char> >
        (void)self.make_response_promise<std::string_view>();
#endif
        return self.make_response_promise<std::string>();
      },
  };
}
inline void more_sends(troupe::actor a) {
#if defined(CASE_reference_member)  // expect: unsendable_member<with_reference, with_reference>
  static const int x = 1;
  troupe::send(a, with_reference{x});
#endif
#if defined(CASE_weak_ptr_to_mutable)  // expect: unsendable_member<std::weak_ptr<int>, with_weak>
  troupe::send(a, with_weak{});
#endif
#if defined(CASE_deep_optional)  // expect: unsendable_member<std::basic_string_view<char>, deep_optional>
  troupe::send(a, deep_optional{});
#endif
#if defined(CASE_periodic_send)  // expect: unsendable_member<int\*, with_pointer>
  troupe::periodic_send(a, std::chrono::seconds(1), with_pointer{nullptr});
#endif
  (void)a;
}
static_assert(!troupe::sendable<with_reference>);  // PFR reflects a reference member, and it is refused
