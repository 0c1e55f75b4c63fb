#!/usr/bin/env bash
# Runs the test suites repeatedly on a fresh clone of this checkout's HEAD and prints the
# pass counts. Flaky tests show up here, not one run in a few on someone else's branch.
#
#   scripts/soak-tests.sh N        npm test, N times
#   scripts/soak-tests.sh N M      and then npm run test:e2e, M times
#
# Only committed work is tested (a clone of HEAD). Logs of failed runs are kept in the
# directory printed at the end. Exits non-zero if any run failed.
set -u

usage() { echo "usage: $0 N [M]   (N runs of npm test, M runs of npm run test:e2e)" >&2; exit 2; }
[[ "${1:-}" =~ ^[0-9]+$ ]] || usage
N=$1
M=${2:-0}
[[ "$M" =~ ^[0-9]+$ ]] || usage

root=$(git rev-parse --show-toplevel) || exit 2
head=$(git -C "$root" rev-parse HEAD) || exit 2
work=$(mktemp -d "${TMPDIR:-/tmp}/meridian-soak.XXXXXX")
logs="$work/logs"
mkdir -p "$logs"
cleanup() { rm -rf "$work/repo"; }
trap cleanup EXIT

echo "soak: $head (fresh clone in $work/repo)"
git clone --quiet --no-checkout "$root" "$work/repo" && git -C "$work/repo" checkout --quiet --detach "$head" || { echo "soak: clone failed" >&2; exit 1; }
cd "$work/repo" || exit 1
if ! npm ci --no-audit --no-fund > "$logs/npm-ci.log" 2>&1; then
  echo "soak: npm ci failed; log: $logs/npm-ci.log" >&2
  exit 1
fi

failed=0
# soak <label> <count> <npm args...>
soak() {
  local label=$1 count=$2 passed=0 i start
  shift 2
  for ((i = 1; i <= count; i++)); do
    start=$(date +%s)
    if npm "$@" > "$logs/$label.$i.log" 2>&1; then
      passed=$((passed + 1))
      rm -f "$logs/$label.$i.log"
      echo "  $label run $i: passed ($(($(date +%s) - start)) s)"
    else
      echo "  $label run $i: FAILED ($(($(date +%s) - start)) s), log: $logs/$label.$i.log"
      grep -E '^✖ |^not ok' "$logs/$label.$i.log" | head -5 | sed 's/^/    /'
    fi
  done
  echo "npm $*: $passed/$count passed"
  [[ $passed -eq $count ]] || failed=1
}

soak test "$N" test
if [[ $M -gt 0 ]]; then soak test-e2e "$M" run test:e2e; fi

if [[ $failed -ne 0 ]]; then
  echo "soak: some runs failed; logs in $logs"
  exit 1
fi
rm -rf "$work"
trap - EXIT
echo "soak: all runs passed"
