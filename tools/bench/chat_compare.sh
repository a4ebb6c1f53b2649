#!/usr/bin/env bash
# chat_compare: examples/chat_server against the plain Boost.Asio chat-baseline, the same
# chat_load run against each, alternating, several times; prints the medians and the ratios
# (troupe / baseline) as a Markdown table (docs/performance.md, "Connections").
#
#   tools/bench/chat_compare.sh [build dir] [reps] [chat_load options...]
#   tools/bench/chat_compare.sh build/release 5 --clients 10000 --rate 10000 --seconds 10
set -euo pipefail
build=${1:-build/release}
reps=${2:-3}
shift $(( $# >= 2 ? 2 : $# ))
load=("$@")
[ ${#load[@]} -eq 0 ] && load=(--clients 10000 --rate 10000 --seconds 10)

loader=$build/examples/chat_load/chat_load
servers=("troupe:$build/examples/chat_server/chat_server" "baseline:$build/tools/bench/chat_baseline/chat-baseline")
for s in "${servers[@]}"; do [ -x "${s#*:}" ] || { echo "missing ${s#*:}: build the release preset first" >&2; exit 1; }; done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for ((i = 1; i <= reps; i++)); do
  for s in "${servers[@]}"; do
    name=${s%%:*}
    "$loader" --server "${s#*:}" "${load[@]}" > "$out/$name.$i" 2>&1 || { echo "run $i of $name failed:" >&2; cat "$out/$name.$i" >&2; exit 1; }
    echo "run $i $name: $(grep -E '^delivered' "$out/$name.$i" | sed 's/.*: //'), $(grep -E '^latency' "$out/$name.$i" | sed 's/latency (send to delivery): //')" >&2
  done
done

# median FIELD NAME: the median over the runs of one figure.
median() {
  local pattern=$1 name=$2
  for f in "$out/$name".*; do grep -E "$pattern" "$f" | head -1; done | sed -E "s/$pattern//" | awk '{print $1}' | sort -g |
    awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
figure() {  # NAME PATTERN (the number right after the pattern)
  median "$2" "$1"
}

echo "chat_load ${load[*]}; $reps runs each, alternating; medians"
echo
echo "| figure | troupe chat_server | plain Asio baseline | troupe / baseline |"
echo "|---|---:|---:|---:|"
row() {  # LABEL PATTERN
  local t b
  t=$(figure troupe "$2")
  b=$(figure baseline "$2")
  printf "| %s | %s | %s | %s |\n" "$1" "$t" "$b" "$(awk -v t="$t" -v b="$b" 'BEGIN { if (b > 0) printf "%.2fx", t / b; else print "-" }')"
}
row "delivered messages/s" '^delivered [0-9]+ of [0-9]+: '
row "latency p50 (us)" '^latency \(send to delivery\): p50 '
row "latency p99 (us)" '^latency \(send to delivery\): p50 [0-9]+ us, p99 '
row "latency max (us)" '^latency \(send to delivery\): p50 [0-9]+ us, p99 [0-9]+ us, max '
row "server CPU per delivery (us)" '^server CPU: [0-9.]+ s \('
row "server RSS, connected (MiB)" '^server RSS: [0-9.]+ MiB before, '
row "server RSS, peak (MiB)" '^server RSS: [0-9.]+ MiB before, [0-9.]+ MiB connected, '
