#!/usr/bin/env bash
# `make test`: unit tests (plain and ASan+UBSan builds), then end-to-end tests
# with real programs. Every test prints one line: PASS name, FAIL name, or
# SKIP name: reason. The last line counts them.
set -u
OUT=${OUT:-build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== unit tests"
make --no-print-directory OUT="$OUT" unit 2>&1 | tee -a "$log"
echo "== end-to-end tests"
OUT="$OUT" python3 tests/e2e/run.py 2>&1 | tee -a "$log"

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
