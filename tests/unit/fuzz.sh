#!/usr/bin/env bash
# The parsers' libFuzzer targets (tests/fuzz), a few seconds each from their
# seed corpora: a crash or a sanitizer report fails. `make fuzz` runs longer.
set -u
OUT=${OUT:-build}
BRIEF_SECONDS=${FUZZ_BRIEF_SECONDS:-5}
status=0
for name in http1 http2 hpack_lost; do
	bin=$OUT/fuzz/${name}_fuzz
	if [ ! -x "$bin" ]; then
		echo "FAIL fuzz_$name: $bin not built (make unit builds it)"
		status=1
		continue
	fi
	work=$(mktemp -d)
	if "$bin" -print_final_stats=1 -artifact_prefix="$OUT/fuzz/" -max_total_time="$BRIEF_SECONDS" "$work" "tests/fuzz/corpus/$name" >"$work.log" 2>&1; then
		echo "PASS fuzz_$name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work.log" | grep -o '[0-9]*$' || echo '?') runs)"
	else
		echo "FAIL fuzz_$name"
		tail -n 40 "$work.log" | sed 's/^/    | /'
		status=1
	fi
	rm -rf "$work" "$work.log"
done
exit $status
