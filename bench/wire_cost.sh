#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/wire_cost.sh: what --from wire costs plainsight itself, in CPU
# seconds per GiB, independent of how busy the machine is (a ratio of
# throughputs is not, on a shared machine). One tls_pump transfer of
# BENCH_BYTES per output, plainsight run under `perf stat` as
#   plainsight tls --from wire -i lo -m text -w OUTPUT -p PID -q tcp port PORT
# and, with WIRE_COST_PROFILE=DIR, under `perf record --call-graph dwarf` (WIRE_COST_CALLGRAPH)
# into DIR/NAME.data.
#
#   sudo bench/wire_cost.sh                      # -w FILE, then -w /dev/null
#   BENCH_BYTES=256m WIRE_COST_OUTPUTS=null WIRE_COST_PROFILE=/tmp/prof bench/wire_cost.sh
#
# Prints one line per output: CPU seconds (user, system) per GiB pumped, and
# plainsight's `wire:` and `stopped:` lines, so a run that lost bytes shows.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/build}
PLAINSIGHT=${PLAINSIGHT:-$OUT/plainsight}
BYTES=${BENCH_BYTES:-1g}
OUTPUTS=${WIRE_COST_OUTPUTS:-file null}
PROFILE=${WIRE_COST_PROFILE:-}
PUMP=$OUT/bench/tls_pump

die() { echo "wire_cost: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (plainsight attaches probes)"
command -v perf > /dev/null || die "no perf (apt-get install linux-perf)"
[ -x "$PLAINSIGHT" ] || die "no $PLAINSIGHT (make)"
if [ ! -x "$PUMP" ] || [ "$ROOT/bench/tls_pump.c" -nt "$PUMP" ]; then
	mkdir -p "$OUT/bench"
	${CC:-cc} -O2 -Wall -Wextra -o "$PUMP" "$ROOT/bench/tls_pump.c" -lssl -lcrypto -lpthread ||
		die "cannot build $PUMP"
fi
[ -z "$PROFILE" ] || mkdir -p "$PROFILE" || die "cannot make $PROFILE"

T=$(mktemp -d /tmp/wire_cost.XXXXXX) || die "mktemp"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2> /dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 -keyout "$T/key.pem" \
	-out "$T/cert.pem" 2> /dev/null || die "cannot make a certificate"

# wait_for FILE REGEX PID SECONDS: 0 once a line of FILE matches, 1 if PID ends or time runs out first.
wait_for() {
	local i
	for ((i = 0; i < $4 * 10; i++)); do
		grep -Eq "$2" "$1" 2> /dev/null && return 0
		kill -0 "$3" 2> /dev/null || return 1
		sleep 0.1
	done
	return 1
}

# bytes: BENCH_BYTES in bytes (k, m, g binary suffixes)
bytes() {
	local n=${BYTES%[kKmMgG]}
	case $BYTES in
	*[kK]) echo $((n << 10)) ;; *[mM]) echo $((n << 20)) ;; *[gG]) echo $((n << 30)) ;; *) echo "$n" ;;
	esac
}

measure() { # name output
	local name=$1 output=$2 pump_pid port perf_pid ps_pid
	local -a perf_cmd=(perf stat -o "$T/$name.stat" --)
	[ -z "$PROFILE" ] || perf_cmd=(perf record --call-graph "${WIRE_COST_CALLGRAPH:-dwarf}" -o "$PROFILE/$name.data" --)
	"$PUMP" -c "$T/cert.pem" -k "$T/key.pem" -n "$BYTES" -g > "$T/$name.pump" 2>&1 &
	PIDS+=($!)
	wait_for "$T/$name.pump" '^ready [0-9]+ port [0-9]+' $! 10 || die "tls_pump did not start: $(tail -1 "$T/$name.pump")"
	read -r _ pump_pid _ port < "$T/$name.pump"
	"${perf_cmd[@]}" "$PLAINSIGHT" tls --from wire -i lo -m text -w "$output" -p "$pump_pid" -q tcp port "$port" \
		2> "$T/$name.err" &
	perf_pid=$!
	PIDS+=($perf_pid)
	wait_for "$T/$name.err" 'plainsight: attached' $perf_pid 30 || die "plainsight did not attach: $(tail -3 "$T/$name.err")"
	ps_pid=$(pgrep -P $perf_pid -x plainsight) || die "plainsight's pid not found"
	kill -USR1 "$pump_pid"
	wait "$pump_pid" || die "tls_pump failed: $(tail -1 "$T/$name.pump")"
	sleep 0.5
	kill -INT "$ps_pid"
	wait $perf_pid
	local pumped seconds
	pumped=$(bytes)
	seconds=$(sed -nE 's/.* seconds=([0-9.]+).*/\1/p' "$T/$name.pump")
	if [ -z "$PROFILE" ]; then
		awk -v name="$name" -v gib="$pumped" -v s="$seconds" '
			BEGIN { gib /= 1073741824 }
			/seconds user/ { u = $1 } /seconds sys/ { y = $1 }
			/task-clock/ { gsub(",", "", $1); t = $1 / 1000 }
			END { printf "%s: %.2f CPU-s per GiB (user %.2f, sys %.2f), pump %.2f s\n", name, t / gib, u / gib, y / gib, s }' \
			"$T/$name.stat"
	else
		echo "$name: profile in $PROFILE/$name.data (perf report -i $PROFILE/$name.data --no-children), pump $seconds s"
	fi
	sed -nE 's/^plainsight: (wire: .*|stopped: .*)/    \1/p' "$T/$name.err"
}

for o in $OUTPUTS; do
	case $o in
	file) measure file "$T/out.txt"; rm -f "$T/out.txt" ;;
	null) measure null /dev/null ;;
	*) die "WIRE_COST_OUTPUTS: 'file' or 'null', not '$o'" ;;
	esac
done
