#!/usr/bin/env bash
# `make test`: unit tests (plain and ASan+UBSan builds), then end-to-end tests
# with real programs. Every test prints one line: PASS name, FAIL name, or
# SKIP name: reason. The last line counts them.
set -u
OUT=${OUT:-build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# A stage that fails without naming a failed test (a build error, a crash)
# still counts as one failure.
stage() {
	local name=$1 before
	shift
	before=$(grep -c '^FAIL ' "$log")
	"$@" 2>&1 | tee -a "$log"
	local status=${PIPESTATUS[0]}
	if [ "$status" -ne 0 ] && [ "$(grep -c '^FAIL ' "$log")" -eq "$before" ]; then
		echo "FAIL $name: exited with status $status without naming a failed test" | tee -a "$log"
	fi
}

# Every corpus (other OpenSSL builds, Node.js executables) before any test
# reads one: a fresh machine fetches them once, a warm cache downloads nothing.
# What cannot be fetched makes the tests that need it skip, loudly.
echo "== corpora"
tests/corpus/fetch.sh all 2>&1 | tail -n 20 || echo "corpora: some could not be fetched; the tests that need them skip"
echo "== unit tests"
stage unit-stage make --no-print-directory OUT="$OUT" unit
echo "== end-to-end tests"
stage e2e-stage env OUT="$OUT" python3 tests/e2e/run.py

passed=$(grep -c '^PASS ' "$log")
failed=$(grep -c '^FAIL ' "$log")
skipped=$(grep -c '^SKIP ' "$log")
if [ "$skipped" -gt 0 ]; then
	echo "skipped tests (not passed):"
	grep '^SKIP ' "$log" | sed 's/^/  /'
fi
if [ "$failed" -gt 0 ]; then
	echo "failed tests:"
	grep '^FAIL ' "$log" | sed 's/^/  /'
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
