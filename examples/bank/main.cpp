// bank: accounts are actors; clients move money between random accounts concurrently. A
// transfer withdraws (refused if the balance is short) and then deposits. Money is conserved:
// the total at the end equals the total at the start. Shows: coroutines awaiting several
// requests in sequence, result<T> errors, and that per-actor state needs no lock.
//
//   bank [--accounts A] [--clients C] [--transfers T] [--seed S]
//        (defaults: 100 accounts, 8 clients, 20000 transfers each, seed 7)
#include "../common/cli.hpp"

#include <troupe/troupe.hpp>

#include <chrono>
#include <cstdio>
#include <random>

using namespace std::chrono_literals;

namespace {
struct withdraw {
  long amount;
};
struct deposit {
  long amount;
};
struct balance {};
struct go {
  long transfers;
  std::uint64_t seed;
};

troupe::behavior account(troupe::actor_base& self, long opening) {
  self.set_name("account");
  auto money = std::make_shared<long>(opening);
  return {
      [money](withdraw w) -> troupe::result<long> {
        if (w.amount > *money) return troupe::error(troupe::errc::user, "insufficient funds");
        *money -= w.amount;
        return *money;
      },
      [money](deposit d) { *money += d.amount; },
      [money](balance) { return *money; },
  };
}

troupe::behavior client(troupe::actor_base& self, std::vector<troupe::actor> accounts) {
  self.set_name("client");
  return {[&self, accounts](go g) -> troupe::task<std::pair<long, long>> {
    std::mt19937_64 rng(g.seed);
    long done = 0, refused = 0;
    for (long i = 0; i < g.transfers; ++i) {
      auto& from = accounts[rng() % accounts.size()];
      auto& to = accounts[rng() % accounts.size()];
      const long amount = static_cast<long>(rng() % 50) + 1;
      auto w = co_await self.request<long>(from, withdraw{amount}, 10s);
      if (!w) {
        ++refused;
        continue;
      }
      auto d = co_await self.request<void>(to, deposit{amount}, 10s);
      if (!d) co_return std::pair{-1L, -1L};  // money in flight lost: must not happen
      ++done;
    }
    co_return std::pair{done, refused};
  }};
}
}  // namespace

int main(int argc, char** argv) {
  example::cli cli("bank", "C clients make T transfers each between A accounts; money is conserved.");
  long n_accounts = 100, n_clients = 8, transfers = 20'000, seed_arg = 7;
  cli.add_option("--accounts", n_accounts, "A: accounts (at least 2)");
  cli.add_option("--clients", n_clients, "C: clients, all at once");
  cli.add_option("--transfers", transfers, "T: transfers per client");
  cli.add_option("--seed", seed_arg, "S: seed of the random transfers (client c uses S + c)");
  CLI11_PARSE(cli, argc, argv);
  n_accounts = std::max(2L, n_accounts);
  n_clients = std::max(1L, n_clients);
  transfers = std::max(1L, transfers);
  const auto seed = static_cast<std::uint64_t>(seed_arg);
  const long opening = 1000;

  troupe::actor_system sys{cli.config()};
  std::vector<troupe::actor> accounts;
  for (long i = 0; i < n_accounts; ++i) accounts.push_back(sys.spawn(account, opening));
  std::vector<troupe::future<std::pair<long, long>>> runs;
  auto t0 = std::chrono::steady_clock::now();
  for (long c = 0; c < n_clients; ++c)
    runs.push_back(troupe::request<std::pair<long, long>>(sys.spawn(client, accounts), go{transfers, seed + static_cast<std::uint64_t>(c)}, 120s));
  long done = 0, refused = 0;
  bool all_ok = true;
  for (auto& r : runs) {
    auto x = r.get();
    if (!x) std::printf("  a client failed: %s\n", x.error().message().c_str());
    all_ok = all_ok && x && x->first >= 0;
    if (x) done += x->first, refused += x->second;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long total = 0;
  for (auto& a : accounts) total += troupe::request<long>(a, balance{}, 10s).get().value_or(-1'000'000);
  std::printf("bank: %ld transfers done, %ld refused (insufficient funds) in %.3f s\n", done, refused, secs);
  std::printf("  total money: %ld at the start, %ld at the end\n", n_accounts * opening, total);
  return cli.finish(sys, all_ok && total == n_accounts * opening && done + refused == n_clients * transfers,
                         "money is conserved and every transfer completed or was refused");
}
