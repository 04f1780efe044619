#!/usr/bin/env bash
# `make test`: every check the project has, each stage reported, one summary line at the end.
#   scripts/test.sh              all stages
#   scripts/test.sh units lint   only those stages
# Stages: sanity (ansible-test), units (pytest tests/unit), integration (pytest against real lab
# hosts), molecule (scenarios on the lab), lint (ansible-lint production), collection (build,
# install, ansible-doc), ee (ansible-builder create).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
venv=$(scripts/bootstrap.sh) || { echo "test: bootstrap failed"; exit 1; }
export PATH="$venv/bin:$PATH"
# Test labs get their own names, so a demo lab (LAB_NAME=lab) a user has running is never touched.
export CROSSHOST_TEST_PREFIX=${CROSSHOST_TEST_PREFIX:-ci}

all_stages=(sanity units integration molecule lint collection ee)
stages=("$@"); [ ${#stages[@]} -eq 0 ] && stages=("${all_stages[@]}")

run_stage() {
  case "$1" in
    sanity) scripts/sanity.sh ;;
    units) python -m pytest -q -p no:cacheprovider tests/unit ;;
    integration) python -m pytest -q -p no:cacheprovider tests/integration ;;
    molecule) scripts/molecule.sh ;;
    lint) scripts/lint.sh ;;
    collection) scripts/collection_check.sh ;;
    ee) scripts/ee_check.sh ;;
    *) echo "unknown stage $1 (stages: ${all_stages[*]})"; return 2 ;;
  esac
}

passed=0; failed=0; report=()
t_all=$(date +%s)
for s in "${stages[@]}"; do
  echo "=== stage $s"
  t0=$(date +%s)
  if run_stage "$s"; then r=PASS; passed=$((passed + 1)); else r=FAIL; failed=$((failed + 1)); fi
  report+=("$(printf '%-12s %s %5ss' "$s" "$r" "$(( $(date +%s) - t0 ))")")
done
echo "=== summary ($(( $(date +%s) - t_all ))s)"
printf '  %s\n' "${report[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
