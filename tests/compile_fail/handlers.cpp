// Handler mistakes a new user makes, each rejected with one error that says what to write.
// Each CASE_ block must fail to compile with the message after "expect:".
#include <troupe/troupe.hpp>

#include <string>

struct add {
  int a;
  int b;
};
struct reset {};

inline troupe::behavior calculator(troupe::actor_base& self) {
  static int total = 0;
  return {
      [](add m) { return m.a + m.b; },
      troupe::sequential([&self](reset) -> troupe::task<int> {
        co_await self.delay(std::chrono::milliseconds(1));
        co_return 0;
      }),
#if defined(CASE_two_parameters)  // expect: a handler takes exactly one parameter, the message
      [](int a, int b) { return a + b; },
#endif
#if defined(CASE_no_parameter)  // expect: a handler takes exactly one parameter, the message
      []() {},
#endif
#if defined(CASE_generic_lambda)  // expect: generic lambda .* cannot be dispatched by type
      [](const auto&) {},
#endif
#if defined(CASE_duplicate_handler)  // expect: duplicate_handler<add>.*take the same message type
      [](add m) { return m.a - m.b; },
#endif
#if defined(CASE_reply_by_reference)  // expect: a handler returns its reply by value
      [](std::string s) -> const int& { (void)s; return total; },
#endif
#if defined(CASE_sequential_plain_handler)  // expect: only a coroutine handler .* can be troupe::sequential
      troupe::sequential([](std::string s) { (void)s; }),
#endif
#if defined(CASE_reply_not_sendable)  // expect: unsendable_member<std::basic_string_view<char>
      [](std::string s) -> std::string_view { (void)s; return "x"; },
#endif
  };
}

using typed_calc = troupe::typed_actor<int(add)>;

inline void typed(troupe::actor_system& sys) {
  typed_calc c = sys.spawn([](troupe::actor_base&) -> typed_calc::behavior_type { return {[](add m) { return m.a + m.b; }}; });
  auto f = troupe::request(c, add{1, 2});
  (void)f;
#if defined(CASE_typed_wrong_reply_type)  // expect: reply type
  auto g = troupe::request<long>(c, add{1, 2});
  (void)g;
#endif
#if defined(CASE_typed_message_not_accepted)  // expect: does not accept this message type
  troupe::send(c, reset{});
#endif
}

int main() {
  troupe::actor_system sys;
  auto a = sys.spawn(calculator);
  (void)a;
  typed(sys);
}

// A class-based typed actor must implement its whole interface.
class partial : public troupe::typed_actor_base<int(add), void(reset)> {
 protected:
  behavior_type make_typed_behavior() override {
    return {
        [](add m) { return m.a + m.b; },
#if defined(CASE_typed_class_missing_handler)  // expect: no handler for a message type of the interface
#else
        [](reset) {},
#endif
    };
  }
};

inline auto spawn_partial(troupe::actor_system& sys) { return sys.spawn<partial>(); }
