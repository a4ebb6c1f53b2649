#!/usr/bin/env bash
# Installs the Debian packages troupe needs to build, test and benchmark, when any is missing.
# Idempotent and quick when everything is present (one dpkg-query, no network). Needs root
# (or sudo) only when something must be installed.
set -euo pipefail

packages=(
  cmake ninja-build g++            # toolchain (CMake >= 3.25, C++20)
  libboost1.81-dev                 # Boost.Asio for net/, Beast for the inspector
  libboost-json1.81-dev            # Boost.JSON: the inspector's documents
  libspdlog-dev                    # logging (brings libfmt-dev)
  libcli11-dev                     # command lines of the examples and troupe-bench
  catch2                           # unit tests (Catch2 v2, header-only)
  libssl-dev                       # HMAC-SHA256 for troupe::net's handshake
  libcaf-dev                       # CAF 0.17, the peer measured in tools/bench
  libasan8 libubsan1 libtsan2      # runtimes for the asan and tsan presets
  clang libclang-rt-14-dev         # the fuzz preset: clang 14 with libFuzzer
  python3                          # tests/net: a client of the wire protocol in another language
  graphviz                         # troupe-trace graph --svg renders the topology with dot
  chromium                         # the inspector's page test: a real (headless) browser
  prometheus                       # the inspector's /metrics: promtool checks it, a server scrapes it
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "bootstrap: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
