#!/bin/sh
# ab_compare.sh: what a change costs, as paired ratios of two troupe-bench builds.
#
#   tools/bench/ab_compare.sh BEFORE/troupe-bench AFTER/troupe-bench [PAIRS] [WORKLOAD...]
#
# Runs troupe's side of each workload (troupe-bench --only troupe, one rep) with the two builds
# back to back, PAIRS times (default 20), alternating which goes first, and prints for each
# workload the median of after/before over the pairs with its quartiles. Pairing adjacent runs
# cancels most of this machine's drift; an A/A run (the same binary twice) shows the noise left
# (on the 2-core VM: medians within 1%, quartiles about +-4%).
# Build BEFORE from a worktree: git worktree add /tmp/before <commit>; cd /tmp/before &&
# cmake --preset release && cmake --build --preset release --target troupe-bench.
set -eu
before=$1
after=$2
pairs=${3:-20}
shift 2
[ $# -gt 0 ] && shift
workloads=${*:-request_response_then request_response_await scatter_gather}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
figure() { "$1" --only troupe --workload "$2" --reps 1 2>/dev/null | awk '{print $3}'; }
i=0
while [ $i -lt "$pairs" ]; do
  for w in $workloads; do
    if [ $((i % 2)) -eq 0 ]; then
      b=$(figure "$before" "$w"); a=$(figure "$after" "$w")
    else
      a=$(figure "$after" "$w"); b=$(figure "$before" "$w")
    fi
    echo "$w $b $a" >> "$out"
  done
  i=$((i + 1))
done
python3 - "$out" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    w, b, a = line.split()
    rows.setdefault(w, []).append((float(b), float(a)))
print(f"{'workload':26} {'pairs':>5} {'after/before':>13} {'q1':>7} {'q3':>7}   (higher: after is faster)")
for w, v in rows.items():
    r = sorted(a / b for b, a in v)
    q = statistics.quantiles(r, n=4) if len(r) > 1 else [r[0], r[0], r[0]]
    print(f"{w:26} {len(r):>5} {statistics.median(r):>13.3f} {q[0]:>7.3f} {q[2]:>7.3f}")
EOF
