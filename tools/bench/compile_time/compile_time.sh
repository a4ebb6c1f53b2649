#!/bin/sh
# Compile-time cost of a troupe user's file, with CAF 0.17's hello world as the reference.
#
#   tools/bench/compile_time/compile_time.sh [--runs N] [--include DIR]
#
# Compiles, N times each (default 5), with the flags of the dev preset (-g) and of the release
# preset (-O2): the README quick start (extracted from README.md, as the docs test does), a
# file that only includes <troupe/troupe.hpp>, and their CAF counterparts. Prints the median
# CPU time (user + sys) of each. --include points at another troupe include directory (an
# older checkout, to measure a change before and after).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
runs=5
inc="$root/framework/include"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --include) inc=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--include DIR]" >&2; exit 2 ;;
  esac
done
cxx=${CXX:-g++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake -DIN="$root/README.md" -DOUT="$tmp/quick_start.cpp" -P "$root/tests/docs/extract_snippets.cmake"
echo '#include <troupe/troupe.hpp>' > "$tmp/troupe_include.cpp"
echo '#include <caf/all.hpp>' > "$tmp/caf_include.cpp"
# The definitions CMake gives a target linking spdlog (harmless when nothing includes spdlog).
spd="-DFMT_SHARED -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -DSPDLOG_SHARED_LIB"

median_cpu() {  # median_cpu <flags...> <file>: median user+sys seconds over $runs compiles
  i=0
  : > "$tmp/times"
  while [ $i -lt "$runs" ]; do
    /usr/bin/time -f "%U %S" -o "$tmp/t" $cxx -std=c++20 "$@" -c -o /dev/null
    awk '{ printf "%.2f\n", $1 + $2 }' "$tmp/t" >> "$tmp/times"
    i=$((i + 1))
  done
  sort -n "$tmp/times" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

printf '%-34s %10s %10s\n' "file (median CPU s of $runs)" "-g" "-O2"
for pair in "troupe README quick start:$tmp/quick_start.cpp:troupe" \
            "CAF 0.17 hello world:$here/caf_hello.cpp:caf" \
            "#include <troupe/troupe.hpp>:$tmp/troupe_include.cpp:troupe" \
            "#include <caf/all.hpp>:$tmp/caf_include.cpp:caf"; do
  name=${pair%%:*}; rest=${pair#*:}; file=${rest%%:*}; kind=${rest#*:}
  if [ "$kind" = troupe ]; then flags="$spd -I$inc"; else flags=""; fi
  # shellcheck disable=SC2086
  dbg=$(median_cpu $flags -g "$file")
  # shellcheck disable=SC2086
  opt=$(median_cpu $flags -O2 -DNDEBUG "$file")
  printf '%-34s %10s %10s\n' "$name" "$dbg" "$opt"
done
