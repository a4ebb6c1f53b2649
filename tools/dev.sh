#!/usr/bin/env bash
# The two README commands, on a fresh Debian machine:
#   tools/dev.sh demo   installs what is missing, builds (release) and runs examples/ping_pong
#   tools/dev.sh test   installs what is missing, builds (dev preset) and runs every test
# Extra arguments after `demo` go to the demo program.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/bootstrap.sh

case "${1:-}" in
  demo)
    shift
    cmake --preset release >/dev/null
    cmake --build --preset release --target ping_pong
    exec build/release/examples/ping_pong/ping_pong "$@"
    ;;
  test)
    exec cmake --workflow --preset dev
    ;;
  *)
    echo "usage: tools/dev.sh demo [args...] | test" >&2
    exit 2
    ;;
esac
