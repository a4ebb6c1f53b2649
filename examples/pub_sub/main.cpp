// pub_sub: a chat room on a topic. Users join (subscribe), post (publish), and leave
// (unsubscribe); one user crashes and the topic drops it. Shows: troupe::actors::topic,
// monitors at work, and per-publisher order for every subscriber.
//
//   pub_sub [--users N] [--posts P]        (defaults: 5 users, 20 posts each)
//
// Checks that each user got exactly the posts published while it was in the room (in each
// author's order), and that the crashed user was dropped.
#include "../common/cli.hpp"

#include <troupe/actors/topic.hpp>
#include <troupe/troupe.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>

using namespace std::chrono_literals;

namespace {
struct post {
  long author;
  long n;
};
struct inbox {};
struct crash {};

// Records what it reads; checks each author's posts come in order.
troupe::behavior user(troupe::actor_base& self) {
  self.set_name("user");
  auto seen = std::make_shared<std::map<long, long>>();  // author -> next expected n
  auto received = std::make_shared<long>(0);
  auto out_of_order = std::make_shared<long>(0);
  return {
      [=](post p) {
        auto& next = (*seen)[p.author];
        if (p.n != next) ++*out_of_order;
        next = p.n + 1;
        ++*received;
      },
      [=](inbox) { return std::pair{*received, *out_of_order}; },
      [](crash) { throw std::runtime_error("user crashed"); },
  };
}
}  // namespace

int main(int argc, char** argv) {
  example::cli cli("pub_sub", "N users each post P messages in a chat room.");
  long n = 5, posts = 20;
  cli.add_option("--users", n, "N: users in the room (at least 3)");
  cli.add_option("--posts", posts, "P: posts per user and round");
  CLI11_PARSE(cli, argc, argv);
  n = std::max(3L, n);
  posts = std::max(1L, posts);

  troupe::actor_system sys{cli.config()};
  auto room = troupe::actors::spawn_topic<post>(sys);
  std::vector<troupe::actor> users;
  for (long i = 0; i < n; ++i) {
    users.push_back(sys.spawn(user));
    troupe::request(room, troupe::actors::subscribe{users.back()}, 10s).get().value();  // joined
  }
  std::printf("pub_sub: %ld users joined\n", n);

  // Round 1: everyone posts; everyone (including the author) reads every post.
  for (long i = 0; i < n; ++i)
    for (long k = 0; k < posts; ++k) troupe::send(room, post{i, k});

  // User 0 leaves, user 1 crashes (the topic sees it die and drops it).
  troupe::request(room, troupe::actors::unsubscribe{users[0]}, 10s).get().value();
  troupe::send(users[1], crash{});
  while (*troupe::request(room, troupe::actors::subscribers{}, 10s).get() != static_cast<std::size_t>(n - 2)) {
  }  // wait until the topic has handled the down message (a few round trips)
  std::printf("pub_sub: user 0 left, user 1 crashed and was dropped; %ld remain\n", n - 2);

  // Round 2: the remaining users post again (continuing their numbering).
  for (long i = 2; i < n; ++i)
    for (long k = posts; k < 2 * posts; ++k) troupe::send(room, post{i, k});

  // A round trip to the topic first: it has then passed every post on (its sends to the users
  // are queued before our inbox requests, which come after its reply).
  auto left = troupe::request(room, troupe::actors::subscribers{}, 10s).get();
  bool ok = left && *left == static_cast<std::size_t>(n - 2);
  for (long i = 0; i < n; ++i) {
    if (i == 1) continue;  // crashed
    auto box = troupe::request<std::pair<long, long>>(users[static_cast<std::size_t>(i)], inbox{}, 10s).get();
    const long expected = i == 0 ? n * posts : n * posts + (n - 2) * posts;
    std::printf("  user %ld read %ld posts (expected %ld), %ld out of order\n", i, box ? box->first : -1, expected,
                box ? box->second : -1);
    ok = ok && box && box->first == expected && box->second == 0;
  }
  return cli.finish(sys, ok, "each user read exactly the posts made while it was in the room, in order");
}
