#!/usr/bin/env bash
# The libFuzzer targets of tests/fuzz/ (make fuzz), each run for
# FUZZ_SECONDS (default 5) from the seeds in tests/fuzz/seeds/NAME, if any
# (read, never written): a crash, leak or
# sanitizer report fails it. Run from the repository root:
# OUT=build tests/unit/fuzz.sh. One PASS or FAIL line per target.
set -u
OUT=${OUT:-build}
SECONDS_EACH=${FUZZ_SECONDS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

for src in tests/fuzz/*_fuzz.c; do
	name=$(basename "$src" .c)
	bin=$OUT/fuzz/$name
	if [ ! -x "$bin" ]; then
		echo "FAIL fuzz/$name: $bin is not built (make unit builds it)"
		status=1
		continue
	fi
	mkdir -p "$tmp/$name"
	if "$bin" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -print_final_stats=0 \
		-artifact_prefix="$tmp/$name-" \
		"$tmp/$name" $(ls -d "tests/fuzz/seeds/$name" 2>/dev/null) >"$tmp/$name.log" 2>&1; then
		echo "PASS fuzz/$name"
	else
		echo "FAIL fuzz/$name: its log ends:"
		tail -n 30 "$tmp/$name.log" | sed 's/^/    | /'
		status=1
	fi
done
exit $status
