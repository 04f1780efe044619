#!/usr/bin/env bash
# `make bench`: data-plane and control-plane figures of every scheme on the local lab; writes
# docs/benchmarks.md and docs/benchmarks.png (see benchmarks/bench.py for the method).
#   BENCH_SECONDS=4 BENCH_REPS=5 BENCH_PINGS=100 BENCH_TCP=1000   per-scheme measurement settings
#   BENCH_SCHEMES="direct macvlan swarm kv"                        a subset to run
#   BENCH_LAB_PREFIX=bench                                         labs <prefix>d, m, o, k
#   BENCH_SCALE_SIZES="3 10" BENCH_SCALE_MACVLAN=0 BENCH_SCALE_SWARM=1   control plane at scale (0: skip); labs <prefix>s<N>
#   BENCH_CLOUD_SIZES="3 10 25 50"                                 route-table writes at scale in moto (0: skip; no lab)
#   BENCH_FASTPATH=1 BENCH_PROFILE=1 BENCH_PIN=0                   fast-path sides, perf profile per side, CPU pinning
#   scripts/bench.sh --render .cache/bench/results.json             re-render the docs only
# Runs as root. Every lab it brings up is brought down again, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(scripts/bootstrap.sh)
prefix=${BENCH_LAB_PREFIX:-bench}
export BENCH_LAB_PREFIX=$prefix
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  for suffix in d m o k; do
    if [ -e ".lab/$prefix$suffix" ] || ip netns list 2>/dev/null | grep -q "^$prefix$suffix-"; then
      LAB_NAME=$prefix$suffix python3 lab/lab.py down || rc=1
    fi
  done
  # the scale labs (benchmarks/bench_scale.py): <prefix, at most 7 letters>s<hosts>
  local scale=${prefix:0:7}s lab
  for lab in $( (ls .lab 2>/dev/null; ip netns list 2>/dev/null | sed 's/[- ].*//') | grep -E "^${scale}[0-9]+$" | sort -u); do
    LAB_NAME=$lab python3 lab/lab.py down || rc=1
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$venv/bin/python" benchmarks/bench.py "$@"
