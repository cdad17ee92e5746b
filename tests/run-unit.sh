#!/usr/bin/env bash
# Runs the unit test binaries named on the command line and the unit test
# scripts (tests/unit/*.sh). Each prints PASS/FAIL/SKIP lines.
set -u
status=0
for bin in "$@"; do
	"$bin" || status=1
done
for script in tests/unit/*.sh; do
	[ -e "$script" ] || continue
	bash "$script" || status=1
done
exit $status
