// TLS (node_config::tls, make_tls_transport): certificates made by the test itself with
// OpenSSL (a CA, node certificates it signs, and an unrelated CA), written to a temporary
// directory.
#include "two_nodes.hpp"

#include <support/log_capture.hpp>

#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/logger.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

using namespace troupe;
using namespace troupe::test;

namespace {

namespace fs = std::filesystem;

struct key_deleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct cert_deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_deleter>;
using cert_ptr = std::unique_ptr<X509, cert_deleter>;

key_ptr make_key() { return key_ptr(EVP_EC_gen("P-256")); }

/// A certificate for `key` named `cn`, signed by `issuer` (self-signed when null; a CA).
cert_ptr make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key) {
  static long serial = 1;
  cert_ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 24 * 3600);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, issuer ? "CA:FALSE" : "critical,CA:TRUE");
  X509_add_ext(x.get(), ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return x;
}

void write_pem(const fs::path& path, X509* x) {
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  PEM_write_X509(f, x);
  std::fclose(f);
}
void write_pem(const fs::path& path, EVP_PKEY* k) {
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

/// A CA, two node certificates it signs, and a node certificate from an unrelated CA.
struct pki {
  fs::path dir = fs::temp_directory_path() / ("troupe-tls-" + std::to_string(::getpid()));
  pki() {
    fs::create_directories(dir);
    auto ca_key = make_key();
    auto ca = make_cert(ca_key.get(), "troupe test CA", nullptr, nullptr);
    write_pem(dir / "ca.pem", ca.get());
    for (const char* n : {"a", "b"}) {
      auto k = make_key();
      auto c = make_cert(k.get(), n, ca.get(), ca_key.get());
      write_pem(dir / (std::string(n) + ".pem"), c.get());
      write_pem(dir / (std::string(n) + ".key"), k.get());
    }
    auto other_ca_key = make_key();
    auto other_ca = make_cert(other_ca_key.get(), "someone else's CA", nullptr, nullptr);
    write_pem(dir / "other-ca.pem", other_ca.get());
    auto k = make_key();
    auto c = make_cert(k.get(), "stranger", other_ca.get(), other_ca_key.get());
    write_pem(dir / "stranger.pem", c.get());
    write_pem(dir / "stranger.key", k.get());
  }
  ~pki() { fs::remove_all(dir); }

  net::tls_config for_node(const std::string& n, const std::string& ca = "ca") const {
    return {(dir / (n + ".pem")).string(), (dir / (n + ".key")).string(), (dir / (ca + ".pem")).string(), true};
  }
};

net::node_config tls_config(const net::tls_config& tls) {
  auto cfg = config();
  cfg.tls = tls;
  return cfg;
}

}  // namespace

TEST_CASE("two nodes talk over TLS", "[net][tls]") {
  pki certs;
  pair_of_nodes p(tls_config(certs.for_node("a")), tls_config(certs.for_node("b")));
  auto r = request<std::int32_t>(p.remote, add{40, 2}, prompt).get();
  REQUIRE(r);
  CHECK(*r == 42);
  // Handles across TLS, and a lost TLS connection fails what waits on it.
  auto waiting = request<std::int32_t>(p.remote, hold{}, infinite);
  REQUIRE(request<std::int32_t>(p.remote, add{0, 0}, prompt).get());
  p.b.reset();
  auto lost = waiting.get(prompt);
  REQUIRE_FALSE(lost);
  CHECK(lost.error() == errc::disconnected);
}

TEST_CASE("a TLS node refuses plain TCP and certificates from another authority, with a logged reason", "[net][tls]") {
  pki certs;
  std::ostringstream log;
  actor_system_config sys_cfg = two_workers();
  sys_cfg.logger = capture(log);
  actor_system b_sys{sys_cfg};
  net::node b{b_sys, tls_config(certs.for_node("b"))};
  const auto port = b.listen("127.0.0.1", 0);
  actor_system a_sys{two_workers()};
  SECTION("a plain node") {
    net::node a{a_sys, config()};
    auto r = a.connect("127.0.0.1", port).get(prompt);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::disconnected);
  }
  SECTION("a certificate the node's CA did not sign") {
    net::node a{a_sys, tls_config(certs.for_node("stranger", "ca"))};
    auto r = a.connect("127.0.0.1", port).get(prompt);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::disconnected);
  }
  SECTION("raw bytes") {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket s(io);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    const std::string plain = "not a TLS client hello, just bytes\n";
    boost::asio::write(s, boost::asio::buffer(plain));
    std::vector<char> sink(1024);
    boost::system::error_code ec;
    while (!ec) s.read_some(boost::asio::buffer(sink), ec);  // until the node closes it
  }
  // The node went on serving: a proper TLS node connects.
  net::node good{a_sys, tls_config(certs.for_node("a"))};
  REQUIRE(good.connect("127.0.0.1", port).get(prompt));
  CHECK(log.str().find("the TLS handshake failed") != std::string::npos);
}

TEST_CASE("TLS files that cannot be loaded stop the node at construction", "[net][tls]") {
  actor_system sys{two_workers()};
  net::tls_config bad{"/nonexistent/cert.pem", "/nonexistent/key.pem", "/nonexistent/ca.pem", true};
  CHECK_THROWS_AS(net::node(sys, tls_config(bad)), std::invalid_argument);
}
