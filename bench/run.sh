#!/usr/bin/env bash
# make bench: how close plainsight is to the limit and to its peers.
#
# Runs every scenario uninstrumented, then instrumented (plainsight, and the
# peers bcc sslsniff and a bpftrace one-liner where they can run), on
# 127.0.0.1 only, and prints one table of ratios.  Writes $OUT/bench.json and
# $OUT/bench.md (the table for bench/README.md).  See bench/README.md.
#
# Knobs (environment):
#   PLAINSIGHT      binary under test            (default $OUT/plainsight)
#   PROBEC          spec compiler for P6         (default $OUT/probec)
#   OUT             build directory              (default build)
#   BENCH_BYTES     P1/P2 transfer size          (default 1g; k/m/g suffixes)
#   BENCH_CHUNK     SSL_write size in the pump   (default 16k)
#   BENCH_REPS      P1 repetitions, median       (default 3)
#   BENCH_PEER_REPS P1 repetitions for peers     (default 1)
#   BENCH_WRK       wrk duration for P3          (default 10s)
#   BENCH_PEERS     peers to run                 (default "sslsniff bpftrace"; "" for none)
#   BENCH_MAPSIZES  --mapsize values (KiB) tried when P2 < 1 at the defaults
#                   (default "262144 1048576"; the default ring is up to 65536)
#   BENCH_INSTALL   0: never apt-get install missing packages (default 1)
#   BENCH_ONLY      subset of scenarios to run, e.g. "P1 P2 P4" (default all)
#   BENCH_P4_RUNS   P4 starts per tracer, median  (default 9)
#   BENCH_P2_RUNS   P2 runs at the defaults; P2 is the worst (default 3)
#   BENCH_QUIET_WAIT seconds to wait, before each measured run, for other
#                   processes' uprobes on libssl to go away (default 20)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
OUT=${OUT:-build}
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac
PLAINSIGHT=${PLAINSIGHT:-$OUT/plainsight}
PROBEC=${PROBEC:-$OUT/probec}
BENCH_BYTES=${BENCH_BYTES:-1g}
BENCH_CHUNK=${BENCH_CHUNK:-16k}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_PEER_REPS=${BENCH_PEER_REPS:-1}
BENCH_WRK=${BENCH_WRK:-10s}
BENCH_PEERS=${BENCH_PEERS-sslsniff bpftrace}
BENCH_MAPSIZES=${BENCH_MAPSIZES:-262144 1048576}
BENCH_INSTALL=${BENCH_INSTALL:-1}
BENCH_ONLY=${BENCH_ONLY:-P1 P2 P3 P4 P5 P6}
BENCH_QUIET_WAIT=${BENCH_QUIET_WAIT:-20}
BENCH_P4_RUNS=${BENCH_P4_RUNS:-9}
P4_SETTLE_S=0.5       # seconds between two timed starts
BENCH_P2_RUNS=${BENCH_P2_RUNS:-3}

PUMP_TIMEOUT=300      # seconds for one transfer
READY_TIMEOUT=120     # seconds for a tracer to attach (bcc compiles first)
STOP_TIMEOUT=180      # seconds for a tracer to drain and exit after SIGINT

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
want() { [[ " $BENCH_ONLY " == *" $1 "* ]]; }

[ "$(id -u)" = 0 ] || die "needs root (eBPF, uprobes, apt-get)"

# ---- cleanup: every process we start and the temp dir, even on failure ----
T=
BG_PIDS=()
NGINX_PID=
cleanup() {
	local p i
	trap - EXIT INT TERM
	if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
		kill -TERM "$NGINX_PID" 2>/dev/null
	fi
	for p in "${BG_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -INT "$p" 2>/dev/null
	done
	for i in $(seq 30); do
		local alive=0
		for p in "${BG_PIDS[@]}" $NGINX_PID; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${BG_PIDS[@]}" $NGINX_PID; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	# nginx workers die with their master; make sure of it.
	if [ -n "$T" ] && [ -f "$T/nginx/nginx.pid" ]; then
		p=$(cat "$T/nginx/nginx.pid" 2>/dev/null)
		[ -n "$p" ] && kill -KILL "$p" 2>/dev/null
	fi
	wait 2>/dev/null
	[ -n "$T" ] && rm -rf "$T"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

T=$(mktemp -d /tmp/plainsight-bench.XXXXXX) || die "mktemp"
mkdir -p "$OUT/bench"

# ---- small helpers ---------------------------------------------------------
now() { echo "$EPOCHREALTIME"; }
fcalc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
median() { # numbers as arguments
	[ $# -gt 0 ] || { echo ""; return; }
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
is_num() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }
jstr() { # a JSON string literal
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/ }
	s=${s//$'\n'/ }
	s=${s//$'\r'/}
	printf '"%s"' "$s"
}
jval() { if is_num "$1"; then printf '%s' "$1"; else jstr "$1"; fi; }
to_bytes() {
	awk -v s="$1" 'BEGIN { n = s + 0; u = substr(s, length(s)); if (u ~ /[kK]/) n *= 1024; else if (u ~ /[mM]/) n *= 1048576; else if (u ~ /[gG]/) n *= 1073741824; printf "%d", n }'
}
# Waits up to $2 seconds for pid $1 to exit, then kills it; returns its status.
reap() {
	local pid=$1 limit=$2 i
	for ((i = 0; i < limit * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid still running after ${limit}s: killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
}
# Copies stdin to $1, each line prefixed with the time it was read.
ts_lines() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done > "$1"; }
# Polls file $1 for a line matching $2 while pid $3 lives, up to $4 seconds.
wait_line() {
	local f=$1 re=$2 pid=$3 limit=$4 i
	for ((i = 0; i < limit * 50; i++)); do
		grep -qaE -- "$re" "$f" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { grep -qaE -- "$re" "$f" 2>/dev/null; return; }
		sleep 0.02
	done
	return 1
}
# Samples VmRSS and VmHWM (KiB) of pid $1 into $2 every 0.2 s.
rss_sampler() {
	local pid=$1 out=$2 k v rest rss hwm
	while [ -r "/proc/$pid/status" ]; do
		rss= hwm=
		while read -r k v rest; do
			case $k in VmRSS:) rss=$v ;; VmHWM:) hwm=$v ;; esac
		done < "/proc/$pid/status" 2>/dev/null
		[ -n "$rss" ] && echo "$rss $hwm"
		sleep 0.2
	done > "$out"
}
last_err() { # the most telling line of a tracer's stderr
	local l
	l=$(grep -avE '^(Attaching|WARNING|Possibly lost|[0-9.]+ plainsight: attached)|RLIMIT_MEMLOCK|^\s*$' "$1" 2>/dev/null | sed -E 's/^[0-9]+\.[0-9]+ //' | grep -aiE 'error|fail|cannot|exception|not|denied' | tail -1)
	[ -n "$l" ] || l=$(sed -E 's/^[0-9]+\.[0-9]+ //' "$1" 2>/dev/null | grep -av '^\s*$' | tail -1)
	echo "${l:-no output}" | cut -c1-200
}

# Other tracers on libssl (another plainsight, a test suite) slow down every
# SSL call, the baseline included.  Count the processes holding such uprobes
# that are not ours, wait a while for them to go, and record what was seen.
FOREIGN_MAX=0
foreign_tracers() {
	command -v bpftool > /dev/null || { echo 0; return; }
	bpftool perf list 2>/dev/null | awk '/uprobe/ && /libssl/ { print $2 }' | sort -u |
		grep -vxF -f <(printf '%s\n' "${BG_PIDS[@]}" 0) | wc -l
}
quiet() {
	local n i
	# the last run's output, written back now and not during the next run (whose writer it would slow)
	sync
	for ((i = 0; i <= BENCH_QUIET_WAIT * 2; i++)); do
		n=$(foreign_tracers)
		[ "$n" = 0 ] && return 0
		[ $i = 0 ] && log "  waiting up to ${BENCH_QUIET_WAIT}s: $n other process(es) hold uprobes on libssl"
		sleep 0.5
	done
	log "  measuring anyway with $n other libssl tracer(s) attached"
	[ "$n" -gt "$FOREIGN_MAX" ] && FOREIGN_MAX=$n
	return 0
}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- results ---------------------------------------------------------------
declare -A R     # R[P1.plainsight]=value (number or "cannot run: ...")
declare -A D     # D[P1]="json members" of detail
add_detail() { D[$1]="${D[$1]:+${D[$1]}, }$2"; }

# ---- dependencies ----------------------------------------------------------
# Only what the chosen scenarios and peers need.  A fresh machine may have no
# apt lists yet (then apt-cache knows no candidate at all), so a missing
# package is first looked for after `apt-get update`; one that still cannot be
# installed stops the run with apt's own reason, never a table of "cannot run".
want_peer() { [[ " $BENCH_PEERS " == *" $1 "* ]]; }
needed_debs() {
	local d="gcc libc6-dev libssl-dev openssl"
	want P3 && d+=" nginx wrk"
	{ want P1 || want P3; } && d+=" tcpdump"   # the packet floor
	if want P1 || want P2 || want P3 || want P4 || want P5; then
		want_peer sslsniff && d+=" bpfcc-tools linux-headers-amd64"
		want_peer bpftrace && d+=" bpftrace"
	fi
	echo "$d"
}
missing_debs() {
	local p
	for p in $(needed_debs); do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
	done
}
apt_install() { # packages... ; apt's output in $T/apt.log
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
		--no-install-recommends "$@" > "$T/apt.log" 2>&1 < /dev/null
}
apt_reason() { # the line of apt's output that says why
	local l
	l=$(grep -aE '^(E|Err):' "$T/apt.log" | head -1)
	echo "${l:-$(tail -1 "$T/apt.log")}"
}
install_debs() {
	local missing p
	missing=$(missing_debs | tr '\n' ' ')
	[ -n "${missing// }" ] || return 0
	[ "$BENCH_INSTALL" = 1 ] ||
		die "missing packages: ${missing% } (BENCH_INSTALL=0; install them, or leave peers out with BENCH_PEERS=)"
	log "apt-get install $missing"
	# shellcheck disable=SC2086
	apt_install $missing && return 0
	log "apt-get install failed ($(apt_reason)); running apt-get update and trying again"
	apt-get -o DPkg::Lock::Timeout=600 update -q > "$T/apt.log" 2>&1 < /dev/null ||
		die "apt-get update failed: $(apt_reason)"
	# shellcheck disable=SC2086
	apt_install $missing && return 0
	for p in $missing; do
		apt_install "$p" || die "cannot install $p, which the bench needs: $(apt_reason)"
	done
}
install_debs
# bpftrace and bcc attach uprobes through tracefs.
if ! mountpoint -q /sys/kernel/tracing 2>/dev/null; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || log "could not mount tracefs"
fi

# ---- the pump --------------------------------------------------------------
PUMP=$OUT/bench/tls_pump
# --from wire (P1w, P2w, P3w): loopback's packets, decrypted with the secrets the probes find
WIRE_ARGS=(--from wire -i lo)
if [ ! -x "$PUMP" ] || [ "$ROOT/bench/tls_pump.c" -nt "$PUMP" ]; then
	log "building $PUMP"
	${CC:-cc} -O2 -Wall -Wextra -o "$PUMP" "$ROOT/bench/tls_pump.c" -lssl -lcrypto -lpthread ||
		die "cannot build the TLS pump"
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -keyout "$T/key.pem" -out "$T/cert.pem" > /dev/null 2>&1 ||
	die "openssl req failed"
LIBSSL=$(readlink -f "$(ldd "$PUMP" | awk '/libssl\.so/ { print $3 }')")
[ -f "$LIBSSL" ] || die "cannot find the libssl the pump uses"

NBYTES=$(to_bytes "$BENCH_BYTES")
CHUNK_BYTES=$(to_bytes "$BENCH_CHUNK")

FLOOR_TOOL=$OUT/bench/uprobe_floor
FLOOR_OBJ=$OUT/bench/uprobe_floor.bpf.o
FLOOR_OK=1
[ -x "$FLOOR_TOOL" ] && [ -f "$FLOOR_OBJ" ] || { FLOOR_OK=0; log "no uprobe floor: $FLOOR_TOOL not built (make bench-tools)"; }
# The copy floor's ring: plainsight's default (a 256th of the available
# memory, a power of two from 8 to 64 MiB; runtime/bpf/maps_ahead.c).
COPY_RING_MIB=8
while [ $COPY_RING_MIB -lt 64 ] &&
	[ $((COPY_RING_MIB * 2 * 1024 * 256)) -le "$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)" ]; do
	COPY_RING_MIB=$((COPY_RING_MIB * 2))
done

PS_OK=1
if [ ! -x "$PLAINSIGHT" ]; then
	PS_OK=0
	PS_WHY="cannot run: $PLAINSIGHT not built (make)"
	log "$PS_WHY"
fi

# The floors attach where plainsight attaches its data hooks, as -d names
# them (ssl_write_internal and ssl_read_internal on OpenSSL 3: every
# SSL_write/SSL_read of the pump and of nginx crosses exactly one). The
# same function matters: the kernel emulates some first instructions
# (push) and steps others out of line (sub), so the exported SSL_write
# (sub) costs a trap more per call than ssl_write_internal (push). Their
# count goes through the fourth argument (/ex), which the copy floor reads.
floor_sites() {
	local err=$T/sites.err pid
	"$PLAINSIGHT" tls --libssl "$LIBSSL" -d -q -w /dev/null 2> "$err" &
	pid=$!
	wait_line "$err" 'plainsight: attached' "$pid" 10
	kill -INT "$pid" 2>/dev/null
	reap "$pid" 5
	sed -nE 's/^plainsight: debug: [a-z]+: [A-Za-z0-9_]+ located at (0x[0-9a-f]+) in .*/\1\/ex/p' "$err" | sort -u | xargs
}
FLOOR_FUNCS=
[ $PS_OK = 1 ] && [ $FLOOR_OK = 1 ] && FLOOR_FUNCS=$(floor_sites)
if [ -z "$FLOOR_FUNCS" ]; then
	FLOOR_FUNCS="SSL_write SSL_read SSL_write_ex/ex SSL_read_ex/ex"
	log "the floors attach to $FLOOR_FUNCS (plainsight -d named no internal hook sites)"
fi

# ---- peers -----------------------------------------------------------------
SSLSNIFF=
SSLSNIFF_WHY=
KSRC=
setup_sslsniff() {
	local src=/usr/sbin/sslsniff-bpfcc common arch ver
	[ -f "$src" ] || { SSLSNIFF_WHY="cannot run: $src missing (bpfcc-tools not installed)"; return 1; }
	[ -x /usr/bin/python3 ] || { SSLSNIFF_WHY="cannot run: /usr/bin/python3 missing"; return 1; }
	if [ -d "/lib/modules/$(uname -r)/build/include" ]; then
		KSRC=
	else
		# Debian's headers come in two packages: -common (the source headers)
		# and -amd64 (config, generated headers).  BCC wants one tree.
		arch=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -1)
		[ -n "$arch" ] || { SSLSNIFF_WHY="cannot run: no kernel headers for $(uname -r) and linux-headers-amd64 not installed"; return 1; }
		ver=${arch#/usr/src/linux-headers-}; ver=${ver%-amd64}
		common=/usr/src/linux-headers-$ver-common
		[ -d "$common" ] || { SSLSNIFF_WHY="cannot run: $common missing"; return 1; }
		KSRC=$T/kheaders
		mkdir -p "$KSRC" && cp -a "$common/." "$KSRC/" && cp -a "$arch/." "$KSRC/" ||
			{ SSLSNIFF_WHY="cannot run: could not merge $common and $arch"; return 1; }
	fi
	# The 6.1 headers' min() (minmax.h) does not compile under BCC: use a
	# temporary copy of the script with that one use spelled out.
	SSLSNIFF=$T/sslsniff.py
	sed 's/min((size_t)MAX_BUF_SIZE, (size_t)len)/((size_t)len < (size_t)MAX_BUF_SIZE ? (size_t)len : (size_t)MAX_BUF_SIZE)/' \
		"$src" > "$SSLSNIFF"
	grep -q 'min((size_t)MAX_BUF_SIZE' "$SSLSNIFF" && log "sslsniff: min() patch did not apply; trying anyway"
	return 0
}
BPFTRACE_WHY=
setup_bpftrace() {
	command -v bpftrace > /dev/null || { BPFTRACE_WHY="cannot run: bpftrace not installed"; return 1; }
	mountpoint -q /sys/kernel/tracing || { BPFTRACE_WHY="cannot run: tracefs not mounted"; return 1; }
}
PY_SIGINT='import runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")'
PEERS=()
for peer in $BENCH_PEERS; do
	case $peer in
	sslsniff) setup_sslsniff && PEERS+=(sslsniff) || log "sslsniff: $SSLSNIFF_WHY" ;;
	bpftrace) setup_bpftrace && PEERS+=(bpftrace) || log "bpftrace: $BPFTRACE_WHY" ;;
	*) log "unknown peer $peer" ;;
	esac
done
peer_why() { # why a configured peer is not in PEERS
	case $1 in sslsniff) echo "$SSLSNIFF_WHY" ;; bpftrace) echo "$BPFTRACE_WHY" ;; esac
}
BPFTRACE_STRLEN_MAX=200   # bpftrace 0.17: buf() and str() copy at most 200 bytes

# ---- starting and stopping a tracer ------------------------------------------
# start_tracer KIND TAG PIDFILTER OUTFILE [extra args]
# Starts a tracer in the background, waits until it has attached.  Sets
# TR_PID, TR_ERR (its stderr, lines time-stamped for plainsight), TR_T0 (start
# time) and TR_READY (time of the ready line); returns 1 with TR_WHY set if it
# never got ready.
start_tracer() {
	local kind=$1 tag=$2 pidf=$3 out=$4 ready_in ready_re ready_limit=$READY_TIMEOUT
	shift 4
	TR_ERR=$T/$tag.err TR_WHY= TR_READY= TR_PID=
	rm -f "$TR_ERR" "$out" "$T/$tag.ready"
	TR_T0=$(now)
	case $kind in
	plainsight)
		"$PLAINSIGHT" tls -q -w "$out" ${pidf:+-p "$pidf"} "$@" 2> >(ts_lines "$TR_ERR") &
		ready_in=$TR_ERR ready_re='^[0-9.]+ plainsight: attached' ready_limit=30
		;;
	sslsniff)
		# The header line comes once every probe is attached.  A background
		# job starts with SIGINT ignored, and then Python raises no
		# KeyboardInterrupt: give the script its Ctrl-C back so it stops
		# cleanly and flushes its output.
		BCC_KERNEL_SOURCE=$KSRC /usr/bin/python3 -c "$PY_SIGINT" "$SSLSNIFF" -g -n ${pidf:+-p "$pidf"} \
			--max-buffer-size "$CHUNK_BYTES" "$@" > "$out" 2> "$TR_ERR" &
		ready_in=$out ready_re='^FUNC +TIME'
		;;
	bpftrace)
		# BEGIN fires after every other probe is attached.
		local filt=
		[ -n "$pidf" ] && filt="/pid == $pidf/"
		BPFTRACE_STRLEN=$BPFTRACE_STRLEN_MAX bpftrace -e \
			"uprobe:$LIBSSL:SSL_write $filt { printf(\"%d %r\\n\", arg2, buf(arg1, arg2)); } BEGIN { printf(\"ready\\n\"); }" \
			"$@" > "$out" 2> "$TR_ERR" &
		ready_in=$out ready_re='^ready$'
		;;
	floor|floorcopy)
		# Not a peer: the cost of the uprobe traps alone, with empty
		# entry and return programs of our own (bench/uprobe_floor.c);
		# floorcopy adds the least a capture does: the bytes copied into a
		# ring that is emptied and thrown away.
		local copy=()
		[ "$kind" = floorcopy ] && copy=(--copy "$COPY_RING_MIB")
		"$FLOOR_TOOL" "${copy[@]}" "$FLOOR_OBJ" "$LIBSSL" "${pidf:-0}" $FLOOR_FUNCS > "$out" 2> "$TR_ERR" &
		ready_in=$out ready_re='^ready$'
		;;
	pktfloor)
		# Not a peer: what capturing the packets alone costs, the floor
		# of --from wire: tcpdump takes the same packets (filter "$@")
		# and throws them away, decrypting and writing nothing.
		tcpdump -i lo -n -q -s 0 -B 131072 -w /dev/null "$@" > "$out" 2> "$TR_ERR" &
		ready_in=$TR_ERR ready_re='listening on'
		;;
	*)
		TR_WHY="cannot run: no tracer $kind"
		return 1
		;;
	esac
	TR_PID=$!
	BG_PIDS+=("$TR_PID")
	if wait_line "$ready_in" "$ready_re" "$TR_PID" "$ready_limit"; then
		# plainsight's stderr lines carry their time: its attached line's is the moment
		if [ "$kind" = plainsight ]; then
			TR_READY=$(awk '/plainsight: attached/ { print $1; exit }' "$TR_ERR")
		else
			TR_READY=$(now)
		fi
		return 0
	fi
	TR_WHY="cannot run: $(last_err "$TR_ERR")"
	kill -0 "$TR_PID" 2>/dev/null || TR_WHY="$TR_WHY (exited)"
	kill -INT "$TR_PID" 2>/dev/null
	reap "$TR_PID" 5
	return 1
}
stop_tracer() {
	kill -INT "$TR_PID" 2>/dev/null
	reap "$TR_PID" "$STOP_TIMEOUT"
	local rc=$?
	sleep 0.05   # let the stderr time-stamper finish
	return $rc
}

# ---- one transfer ------------------------------------------------------------
# run_pump TAG KIND [tracer args]: KIND is none, plainsight, sslsniff or
# bpftrace.  Sets PUMP_MIBS (throughput), PUMP_PID, PUMP_OUT (tracer output),
# RSS file; returns 1 with RUN_WHY set on failure.
run_pump() {
	local tag=$1 kind=$2
	shift 2
	RUN_WHY= PUMP_MIBS= PUMP_PID= PUMP_OUT=$T/$tag.out
	local pf=$T/$tag.pump wrapper sampler=
	rm -f "$pf" "$T/$tag.rss"
	quiet
	timeout -s KILL "$PUMP_TIMEOUT" "$PUMP" -c "$T/cert.pem" -k "$T/key.pem" \
		-n "$NBYTES" -b "$CHUNK_BYTES" -g > "$pf" 2> "$pf.err" &
	wrapper=$!
	BG_PIDS+=("$wrapper")
	if ! wait_line "$pf" '^ready [0-9]+' "$wrapper" 10; then
		RUN_WHY="pump did not start: $(tail -1 "$pf.err")"
		kill -KILL "$wrapper" 2>/dev/null; wait "$wrapper" 2>/dev/null
		return 1
	fi
	PUMP_PID=$(awk '/^ready/ { print $2 }' "$pf")
	# the tracer's arguments may name the pump's port: a capture filter of that port alone
	PUMP_PORT=$(awk '/^ready/ { print $4 }' "$pf")
	if [ "$kind" != none ]; then
		if ! start_tracer "$kind" "$tag" "$PUMP_PID" "$PUMP_OUT" "${@//@PUMP_PORT@/$PUMP_PORT}"; then
			RUN_WHY=$TR_WHY
			kill -KILL "$PUMP_PID" 2>/dev/null; wait "$wrapper" 2>/dev/null
			return 1
		fi
		rss_sampler "$TR_PID" "$T/$tag.rss" &
		sampler=$!
		BG_PIDS+=("$sampler")
	fi
	kill -USR1 "$PUMP_PID"
	wait "$wrapper"
	local prc=$?
	if [ "$kind" != none ]; then
		stop_tracer
		TR_RC=$?
		kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
	fi
	if [ $prc != 0 ] || ! grep -q '^bytes=' "$pf"; then
		RUN_WHY="pump failed (status $prc): $(tail -1 "$pf.err")"
		return 1
	fi
	PUMP_MIBS=$(sed -nE 's/.* mib_per_s=([0-9.]+).*/\1/p' "$pf")
	return 0
}
# rss_stats FILE...: "peak_mib steady_mib" (peak: highest VmHWM, steady:
# median VmRSS over the second half of each run's samples).
rss_stats() {
	awk '
	FNR == 1 { f++ }
	{ n[f]++; rss[f, n[f]] = $1; if ($2 > peak) peak = $2; if ($1 > peak) peak = $1 }
	END {
		m = 0
		for (i = 1; i <= f; i++)
			for (j = int(n[i] / 2) + 1; j <= n[i]; j++) v[++m] = rss[i, j]
		if (m == 0) { print ""; exit }
		# sort v
		for (i = 2; i <= m; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
		med = (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
		printf "%.1f %.1f\n", peak / 1024, med / 1024
	}' "$@" 2>/dev/null
}
# Captured payload bytes and lost events in a peer's output.
sslsniff_counts() { # file errfile pid -> "captured lost"
	local c l
	c=$(grep -aE "^(WRITE/SEND|READ/RECV) +[0-9.]+ +[^ ].* $3 +[0-9]+ *\$" "$1" | awk '{ s += $NF } END { printf "%d", s }')
	# Truncated events say how many bytes they dropped.
	l=$(grep -aoE 'TRUNCATED, [0-9]+ bytes lost' "$1" | awk '{ s += $2 } END { printf "%d", s }')
	c=$((c - l))
	l=$(grep -aoE 'Possibly lost [0-9]+ samples' "$2" | awk '{ s += $3 } END { printf "%d", s }')
	echo "$c $l"
}
bpftrace_counts() { # file errfile -> "captured lost"
	local c l
	c=$(awk '/^[0-9]+ / { n = length($0) - length($1) - 1; x = gsub(/\\x[0-9a-f][0-9a-f]/, ""); s += n - 3 * x } END { printf "%d", s }' "$1")
	l=$(grep -aoE 'Lost [0-9]+ events' "$2" | awk '{ s += $2 } END { printf "%d", s }')
	echo "$c $l"
}

# floor_ratios P1|P3 FLOOR: each tracer's ratio next to the floor's, as
# P1f/P3f (the floor is the best any uprobe-based capture can do).
# floor_ratios P1|P3 COPY_FLOOR c: the same against the copy floor (P1c/P3c).
floor_ratios() {
	local k v
	for k in plainsight $BENCH_PEERS; do
		v=${R[$1.$k]:-}
		is_num "$v" && [ "$(fcalc "($2 > 0)" 0)" = 1 ] && R[$1${3:-f}.$k]=$(fcalc "$v / $2" 3)
	done
}

HAVE_P1_BASE=
# ---- P1, P2, P5: bulk transfer --------------------------------------------------
if want P1 || want P2 || want P5; then
	log "P1: TLS bulk transfer, $BENCH_BYTES in ${BENCH_CHUNK} SSL_writes, $BENCH_REPS runs each"
	base=() mine=() mine_rss=() mine_bytes=() mine_lost=() floor=() copyf=() pktf=() minew=()
	run_pump warm none > /dev/null 2>&1
	for ((r = 1; r <= BENCH_REPS; r++)); do
		if run_pump "base$r" none; then base+=("$PUMP_MIBS"); log "  baseline run $r: $PUMP_MIBS MiB/s"
		else log "  baseline run $r failed: $RUN_WHY"; fi
		if [ $FLOOR_OK = 1 ]; then
			if run_pump "floor$r" floor; then floor+=("$PUMP_MIBS"); log "  uprobe floor run $r: $PUMP_MIBS MiB/s"
			else log "  uprobe floor run $r failed: $RUN_WHY"; fi
			rm -f "$PUMP_OUT"
			if run_pump "copy$r" floorcopy; then
				copyf+=("$PUMP_MIBS")
				log "  copy floor run $r: $PUMP_MIBS MiB/s, $(grep -a '^copied' "$PUMP_OUT")"
			else log "  copy floor run $r failed: $RUN_WHY"; fi
			rm -f "$PUMP_OUT"
		fi
		[ $PS_OK = 1 ] || continue
		if run_pump "ps$r" plainsight -m text; then
			mine+=("$PUMP_MIBS"); mine_rss+=("$T/ps$r.rss")
			st=$(sed -nE 's/^[0-9.]+ plainsight: stopped: ([0-9]+) records, ([0-9]+) bytes captured, ([0-9]+) bytes lost.*/\2 \3/p' "$TR_ERR")
			mine_bytes+=("${st% *}"); mine_lost+=("${st#* }")
			log "  plainsight run $r: $PUMP_MIBS MiB/s, captured ${st% *} bytes, ${st#* } lost"
		else
			log "  plainsight run $r failed: $RUN_WHY"; PS_FAIL=$RUN_WHY
		fi
		rm -f "$PUMP_OUT"
		# --from wire: only the secrets hooks; the packets of lo decrypted in plainsight
		if run_pump "psw$r" plainsight "${WIRE_ARGS[@]}" -m text tcp port @PUMP_PORT@; then
			minew+=("$PUMP_MIBS")
			st=$(sed -nE 's/^[0-9.]+ plainsight: stopped: ([0-9]+) records, ([0-9]+) bytes captured, ([0-9]+) bytes lost.*/\2 \3/p' "$TR_ERR")
			log "  plainsight --from wire run $r: $PUMP_MIBS MiB/s, captured ${st% *} bytes"
		else
			log "  plainsight --from wire run $r failed: $RUN_WHY"; PSW_FAIL=$RUN_WHY
		fi
		rm -f "$PUMP_OUT"
		if command -v tcpdump > /dev/null; then
			if run_pump "pkt$r" pktfloor tcp port @PUMP_PORT@; then pktf+=("$PUMP_MIBS"); log "  packet floor run $r: $PUMP_MIBS MiB/s"
			else log "  packet floor run $r failed: $RUN_WHY"; fi
			rm -f "$PUMP_OUT"
		fi
	done
	B=$(median "${base[@]}")
	if [ -z "$B" ]; then
		for k in plainsight $BENCH_PEERS; do R[P1.$k]="cannot run: the baseline transfer failed: $RUN_WHY"; done
	else
		HAVE_P1_BASE=1
		add_detail P1 "\"baseline_mib_per_s\": $B, \"bytes\": $NBYTES, \"chunk\": $CHUNK_BYTES, \"runs\": $BENCH_REPS"
		if [ $PS_OK = 0 ]; then R[P1.plainsight]=$PS_WHY
		elif [ ${#mine[@]} = 0 ]; then R[P1.plainsight]=${PS_FAIL:-cannot run}
		else
			M=$(median "${mine[@]}")
			R[P1.plainsight]=$(fcalc "$M / $B" 3)
			add_detail P1 "\"plainsight_mib_per_s\": $M, \"plainsight_mode\": \"text -w FILE -p PID\""
			read -r pk sd <<< "$(rss_stats "${mine_rss[@]}")"
			[ -n "${pk:-}" ] && R[P5.plainsight]="{\"peak\": $pk, \"steady\": $sd}"
		fi
		if [ $PS_OK = 0 ]; then R[P1w.plainsight]=$PS_WHY
		elif [ ${#minew[@]} = 0 ]; then R[P1w.plainsight]=${PSW_FAIL:-cannot run}
		else
			M=$(median "${minew[@]}")
			R[P1w.plainsight]=$(fcalc "$M / $B" 3)
			add_detail P1 "\"plainsight_wire_mib_per_s\": $M, \"plainsight_wire_mode\": \"${WIRE_ARGS[*]} -m text -w FILE -p PID tcp port PORT\""
		fi
		# Peers
		for peer in $BENCH_PEERS; do
			if [[ " ${PEERS[*]} " != *" $peer "* ]]; then R[P1.$peer]=$(peer_why "$peer"); continue; fi
			pm=() prss=()
			for ((r = 1; r <= BENCH_PEER_REPS; r++)); do
				if run_pump "$peer$r" "$peer"; then
					pm+=("$PUMP_MIBS"); prss+=("$T/$peer$r.rss")
					if [ "$peer" = sslsniff ]; then
						read -r cap lost <<< "$(sslsniff_counts "$PUMP_OUT" "$TR_ERR" "$PUMP_PID")"
						sent=$((2 * NBYTES))
					else
						read -r cap lost <<< "$(bpftrace_counts "$PUMP_OUT" "$TR_ERR")"
						sent=$NBYTES
					fi
					log "  $peer run $r: $PUMP_MIBS MiB/s, captured $cap of $sent bytes, $lost lost events"
					if [ "$r" = 1 ]; then
						R[P2.$peer]=$(fcalc "$cap / $sent" 6)
						add_detail P2 "\"${peer}_captured\": $cap, \"${peer}_sent\": $sent, \"${peer}_lost_events\": $lost"
					fi
				else
					log "  $peer run $r failed: $RUN_WHY"
					R[P1.$peer]=$RUN_WHY; R[P2.$peer]=$RUN_WHY
					break
				fi
				rm -f "$PUMP_OUT"
			done
			if [ ${#pm[@]} -gt 0 ]; then
				M=$(median "${pm[@]}")
				R[P1.$peer]=$(fcalc "$M / $B" 3)
				add_detail P1 "\"${peer}_mib_per_s\": $M"
				read -r pk sd <<< "$(rss_stats "${prss[@]}")"
				[ -n "${pk:-}" ] && R[P5.$peer]="{\"peak\": $pk, \"steady\": $sd}"
			fi
		done
		if [ ${#floor[@]} -gt 0 ]; then
			F=$(median "${floor[@]}")
			FLOOR1=$(fcalc "$F / $B" 3)
			add_detail P1 "\"uprobe_floor\": $FLOOR1, \"uprobe_floor_mib_per_s\": $F"
			floor_ratios P1 "$FLOOR1"
		fi
		if [ ${#pktf[@]} -gt 0 ]; then
			F=$(median "${pktf[@]}")
			PKT1=$(fcalc "$F / $B" 3)
			add_detail P1 "\"packet_floor\": $PKT1, \"packet_floor_mib_per_s\": $F"
		fi
		if [ ${#copyf[@]} -gt 0 ]; then
			F=$(median "${copyf[@]}")
			COPY1=$(fcalc "$F / $B" 3)
			add_detail P1 "\"copy_floor\": $COPY1, \"copy_floor_mib_per_s\": $F, \"copy_floor_ring_mib\": $COPY_RING_MIB"
			floor_ratios P1 "$COPY1" c
		fi
		add_detail P1 "\"sslsniff_settings\": \"-g -n -p PID --max-buffer-size $CHUNK_BYTES\", \"bpftrace_program\": $(jstr "uprobe:$LIBSSL:SSL_write /pid == PID/ { printf(\"%d %r\\n\", arg2, buf(arg1, arg2)); }")"
		add_detail P2 "\"sslsniff_note\": \"SSL_write + SSL_read payload from its output\", \"bpftrace_note\": \"SSL_write only; buf() copies at most $BPFTRACE_STRLEN_MAX bytes in bpftrace 0.17\""
	fi

	# P2: completeness, json mode, the pump's own bytes (-p).
	if [ $PS_OK = 0 ]; then R[P2.plainsight]=$PS_WHY
	elif [ -n "$HAVE_P1_BASE" ]; then
		p2_run() { # extra args -> sets P2_RATIO P2_LOST P2_SUMMARY
			P2_RATIO= P2_LOST= P2_SUMMARY=
			run_pump p2 plainsight -m json "$@" || { P2_WHY=$RUN_WHY; return 1; }
			P2_SUMMARY=$(tail -c 4096 "$PUMP_OUT" | grep -a '^{"summary"' | tail -1)
			rm -f "$PUMP_OUT"
			[ -n "$P2_SUMMARY" ] || { P2_WHY="no {\"summary\"} line at the end of the json output"; return 1; }
			local cap
			cap=$(sed -nE 's/^\{"summary": \{.*"bytes": ([0-9]+).*/\1/p' <<< "$P2_SUMMARY")
			P2_LOST=$(sed -nE 's/^[0-9.]+ plainsight: stopped: .* ([0-9]+) bytes lost.*/\1/p' "$TR_ERR")
			P2_CAP=$cap
			P2_MIBS=$PUMP_MIBS
			P2_RATIO=$(awk -v c="$cap" -v s="$((2 * NBYTES))" 'BEGIN { if (c == s) print "1.000"; else printf "%.6f", c / s }')
		}
		# Every run must be complete, not the best of them: P2 is the worst of BENCH_P2_RUNS.
		P2_WORST= P2_WORST_LOST=0 p2_all=
		for ((r = 1; r <= BENCH_P2_RUNS; r++)); do
			if ! p2_run; then R[P2.plainsight]=$P2_WHY; P2_WORST=; break; fi
			log "P2 run $r: captured $P2_CAP of $((2 * NBYTES)) bytes (ratio $P2_RATIO), $P2_LOST lost, at $P2_MIBS MiB/s"
			p2_all+="${p2_all:+, }{\"ratio\": $P2_RATIO, \"lost\": ${P2_LOST:-null}, \"mib_per_s\": $P2_MIBS}"
			if [ -z "$P2_WORST" ] || [ "$(fcalc "($P2_RATIO < $P2_WORST)" 0)" = 1 ]; then
				P2_WORST=$P2_RATIO
				S=$(sed -E 's/^\{"summary": (.*)\}$/\1/' <<< "$P2_SUMMARY")
			fi
			[ "${P2_LOST:-0}" != 0 ] && P2_WORST_LOST=$P2_LOST
		done
		if [ -n "$P2_WORST" ]; then
			R[P2.plainsight]=$P2_WORST
			add_detail P2 "\"plainsight_runs\": [$p2_all], \"plainsight_sent\": $((2 * NBYTES)), \"plainsight_worst_summary\": $S, \"plainsight_mode\": \"json -w FILE -p PID\""
			# --lossless on a ring far too small for the burst: complete all the same, at what cost
			if p2_run --lossless --mapsize 1024; then
				log "P2 --lossless --mapsize 1024: ratio $P2_RATIO, $P2_LOST lost, at $P2_MIBS MiB/s ($(fcalc "$P2_MIBS / $B" 3) of the baseline)"
				add_detail P2 "\"plainsight_lossless_1mib_ring\": {\"ratio\": $P2_RATIO, \"lost\": ${P2_LOST:-null}, \"mib_per_s\": $P2_MIBS, \"of_baseline\": $(fcalc "$P2_MIBS / $B" 3), \"held_back\": $(sed -nE 's/.*"held_back": ([0-9]+).*/\1/p' <<< "$P2_SUMMARY")}"
			else
				log "P2 --lossless failed: $P2_WHY"
			fi
			if [ "$P2_WORST" != 1.000 ] || [ "$P2_WORST_LOST" != 0 ]; then
				reach=
				for ms in $BENCH_MAPSIZES; do
					if p2_run --mapsize "$ms"; then
						log "P2: --mapsize $ms: ratio $P2_RATIO, $P2_LOST lost, at $P2_MIBS MiB/s"
						add_detail P2 "\"plainsight_mapsize_$ms\": {\"ratio\": $P2_RATIO, \"lost\": ${P2_LOST:-null}, \"mib_per_s\": $P2_MIBS}"
						if [ "$P2_RATIO" = 1.000 ] && [ "${P2_LOST:-0}" = 0 ]; then reach="--mapsize $ms"; break; fi
					else
						log "P2: --mapsize $ms failed: $P2_WHY"
						add_detail P2 "\"plainsight_mapsize_$ms\": $(jstr "$P2_WHY")"
					fi
				done
				P2_SETTING=${reach:-"none of --mapsize $BENCH_MAPSIZES"}
				add_detail P2 "\"plainsight_complete_with\": $(jstr "$P2_SETTING")"
			fi
		else
			R[P2.plainsight]=$P2_WHY
		fi
		# P2 --from wire: the same transfer decrypted from the packets; the worst run
		P2W_WORST= p2w_all=
		for ((r = 1; r <= BENCH_P2_RUNS; r++)); do
			if ! p2_run "${WIRE_ARGS[@]}" tcp port @PUMP_PORT@; then R[P2w.plainsight]=$P2_WHY; P2W_WORST=; break; fi
			wire_counts=$(sed -nE 's/.*"wire": (\{.*\})\}\}[[:space:]]*$/\1/p' <<< "$P2_SUMMARY")
			log "P2 --from wire run $r: captured $P2_CAP of $((2 * NBYTES)) bytes (ratio $P2_RATIO) at $P2_MIBS MiB/s; ${wire_counts:-no wire counters}"
			p2w_all+="${p2w_all:+, }{\"ratio\": $P2_RATIO, \"mib_per_s\": $P2_MIBS, \"wire\": ${wire_counts:-null}}"
			if [ -z "$P2W_WORST" ] || [ "$(fcalc "($P2_RATIO < $P2W_WORST)" 0)" = 1 ]; then P2W_WORST=$P2_RATIO; fi
		done
		if [ -n "$P2W_WORST" ]; then
			R[P2w.plainsight]=$P2W_WORST
			add_detail P2 "\"plainsight_wire_runs\": [$p2w_all], \"plainsight_wire_mode\": \"${WIRE_ARGS[*]} -m json -w FILE -p PID tcp port PORT\""
		fi
	fi
fi

# ---- P3: nginx + wrk ----------------------------------------------------------
WRK_ARGS=(-t2 -c16 -d"$BENCH_WRK")
wrk_rps() { # url -> sets WRK_RPS (requests/s) and WRK_WHY (errors wrk saw)
	quiet
	# In the background and waited for, so that Ctrl-C is not held up.
	timeout 120 wrk "${WRK_ARGS[@]}" "$1" > "$T/wrk.out" 2>&1 &
	BG_PIDS+=($!)
	wait $!
	WRK_RPS=$(sed -nE 's/^Requests\/sec: +([0-9.]+).*/\1/p' "$T/wrk.out")
	WRK_WHY=$(grep -E 'Non-2xx|Socket errors' "$T/wrk.out" | tr -s ' ' | head -2 | tr '\n' ';')
}
start_nginx() {
	local d=$T/nginx port try
	mkdir -p "$d/www" "$d/tmp"
	head -c 1024 /dev/zero | tr '\0' 'x' > "$d/www/small.txt"
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 30000))
		cat > "$d/nginx.conf" <<-EOF
		user root;
		worker_processes auto;
		pid $d/nginx.pid;
		error_log $d/error.log warn;
		events { worker_connections 1024; }
		http {
		    access_log off;
		    client_body_temp_path $d/tmp/body;
		    proxy_temp_path $d/tmp/proxy;
		    fastcgi_temp_path $d/tmp/fastcgi;
		    uwsgi_temp_path $d/tmp/uwsgi;
		    scgi_temp_path $d/tmp/scgi;
		    keepalive_requests 10000000;
		    keepalive_timeout 120s;
		    default_type text/plain;
		    server {
		        listen 127.0.0.1:$port ssl;
		        ssl_certificate $T/cert.pem;
		        ssl_certificate_key $T/key.pem;
		        root $d/www;
		    }
		}
		EOF
		rm -f "$d/nginx.pid"
		if nginx -c "$d/nginx.conf" -p "$d" -e "$d/error.log" > "$d/start.log" 2>&1; then
			local i
			for i in $(seq 50); do [ -s "$d/nginx.pid" ] && break; sleep 0.05; done
			NGINX_PID=$(cat "$d/nginx.pid" 2>/dev/null)
			NGINX_URL=https://127.0.0.1:$port/small.txt
			[ -n "$NGINX_PID" ] && return 0
		fi
		grep -q 'Address already in use' "$d/start.log" "$d/error.log" 2>/dev/null || break
	done
	NGINX_WHY="nginx did not start: $(tail -1 "$d/start.log")"
	return 1
}
# p3_floor KIND TAG KEY WHAT [ARGS...]: wrk under one of the floors (no
# peer, no plainsight); P3_FLOOR is its ratio to the baseline, and the
# detail gets KEY and KEY_rps.
p3_floor() {
	local kind=$1 tag=$2 key=$3 what=$4
	shift 4
	P3_FLOOR=
	start_tracer "$kind" "$tag" "" "$T/$tag.out" "$@" || return 1
	wrk_rps "$NGINX_URL"
	stop_tracer
	[ -n "$WRK_RPS" ] || return 1
	P3_FLOOR=$(fcalc "$WRK_RPS / $B3" 3)
	add_detail P3 "\"$key\": $P3_FLOOR, \"${key}_rps\": $WRK_RPS"
	log "  $what: $WRK_RPS requests/s"
}
if want P3; then
	log "P3: nginx over HTTPS, wrk ${WRK_ARGS[*]}"
	if ! command -v nginx > /dev/null || ! command -v wrk > /dev/null; then
		for k in plainsight $BENCH_PEERS; do R[P3.$k]="cannot run: nginx or wrk not installed"; done
	elif ! start_nginx; then
		for k in plainsight $BENCH_PEERS; do R[P3.$k]="cannot run: $NGINX_WHY"; done
	else
		timeout 30 wrk -t2 -c16 -d2s "$NGINX_URL" > /dev/null 2>&1 &   # warm-up
		BG_PIDS+=($!)
		wait $!
		wrk_rps "$NGINX_URL"
		B3=$WRK_RPS
		if [ -z "$B3" ] || [ -n "$WRK_WHY" ]; then
			for k in plainsight $BENCH_PEERS; do R[P3.$k]="cannot run: baseline wrk failed ${WRK_WHY}"; done
		else
			log "  baseline: $B3 requests/s"
			add_detail P3 "\"baseline_rps\": $B3, \"wrk\": \"${WRK_ARGS[*]}\", \"body_bytes\": 1024"
			p3k=(plainsight $BENCH_PEERS)
			[ $FLOOR_OK = 1 ] && p3k+=(floor floorcopy)
			for k in "${p3k[@]}"; do
				if [ "$k" = floorcopy ]; then
					p3_floor floorcopy p3copy copy_floor "copy floor (the bytes copied out and thrown away)" &&
						COPY3=$P3_FLOOR && floor_ratios P3 "$COPY3" c
					continue
				fi
				if [ "$k" = floor ]; then
					p3_floor floor p3floor uprobe_floor "uprobe floor (empty entry and return programs)" &&
						FLOOR3=$P3_FLOOR && floor_ratios P3 "$FLOOR3"
					continue
				fi
				if [ "$k" = plainsight ] && [ $PS_OK = 0 ]; then R[P3.plainsight]=$PS_WHY; continue; fi
				if [ "$k" != plainsight ] && [[ " ${PEERS[*]} " != *" $k "* ]]; then R[P3.$k]=$(peer_why "$k"); continue; fi
				args=()
				[ "$k" = plainsight ] && args=(-m text)
				if ! start_tracer "$k" "p3$k" "" "$T/p3$k.out" "${args[@]}"; then
					R[P3.$k]=$TR_WHY; log "  $k: $TR_WHY"; continue
				fi
				wrk_rps "$NGINX_URL"
				rps=$WRK_RPS
				stop_tracer
				if [ -z "$rps" ]; then R[P3.$k]="cannot run: wrk failed under $k ${WRK_WHY}"
				else
					R[P3.$k]=$(fcalc "$rps / $B3" 3)
					add_detail P3 "\"${k}_rps\": $rps"
					log "  $k: $rps requests/s ${WRK_WHY}"
					if [ "$k" = plainsight ]; then
						st=$(sed -nE 's/^[0-9.]+ plainsight: stopped: (.*)/\1/p' "$TR_ERR")
						add_detail P3 "\"plainsight_stopped\": $(jstr "$st")"
					fi
				fi
				rm -f "$T/p3$k.out"
			done
			# --from wire: nginx's port on lo, every worker's connections
			p3port=${NGINX_URL##*:} p3port=${p3port%%/*}
			if [ $PS_OK = 0 ]; then R[P3w.plainsight]=$PS_WHY
			elif ! start_tracer plainsight p3wire "" "$T/p3wire.out" "${WIRE_ARGS[@]}" -m text tcp port "$p3port"; then
				R[P3w.plainsight]=$TR_WHY; log "  plainsight --from wire: $TR_WHY"
			fi
			if [ -z "${R[P3w.plainsight]:-}" ]; then
				wrk_rps "$NGINX_URL"
				rps=$WRK_RPS
				stop_tracer
				if [ -z "$rps" ]; then R[P3w.plainsight]="cannot run: wrk failed under plainsight --from wire ${WRK_WHY}"
				else
					R[P3w.plainsight]=$(fcalc "$rps / $B3" 3)
					st=$(sed -nE 's/^[0-9.]+ plainsight: (stopped: .*|wire: .*)/\1/p' "$TR_ERR" | tr '\n' ' ')
					add_detail P3 "\"plainsight_wire_rps\": $rps, \"plainsight_wire_stopped\": $(jstr "$st")"
					log "  plainsight --from wire: $rps requests/s ${WRK_WHY}"
				fi
				rm -f "$T/p3wire.out"
			fi
			command -v tcpdump > /dev/null &&
				p3_floor pktfloor p3pkt packet_floor "packet floor (tcpdump -w /dev/null, nginx's port)" \
					tcp port "$p3port" && PKT3=$P3_FLOOR
		fi
		kill -QUIT "$NGINX_PID" 2>/dev/null
		for i in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$NGINX_PID" 2>/dev/null
		NGINX_PID=
	fi
fi

# ---- P4: time to attach ----------------------------------------------------------
# Timed by bench/ready_time.py, from fork to the tracer's ready line as it is
# written: start_tracer's time stamps and polling would add tens of ms.
time_start() { # kind [tracer args...]: prints ms, or fails
	local kind=$1
	shift
	case $kind in
	plainsight)
		python3 "$ROOT/bench/ready_time.py" stderr 'plainsight: attached' "$READY_TIMEOUT" \
			"$PLAINSIGHT" tls -q -w /dev/null "$@" ;;
	sslsniff)
		env BCC_KERNEL_SOURCE="$KSRC" python3 "$ROOT/bench/ready_time.py" stdout '^FUNC +TIME' "$READY_TIMEOUT" \
			/usr/bin/python3 -c "$PY_SIGINT" "$SSLSNIFF" -g -n --max-buffer-size "$CHUNK_BYTES" ;;
	bpftrace)
		BPFTRACE_STRLEN=$BPFTRACE_STRLEN_MAX python3 "$ROOT/bench/ready_time.py" stdout '^ready$' "$READY_TIMEOUT" \
			bpftrace -e "uprobe:$LIBSSL:SSL_write { printf(\"%d %r\\n\", arg2, buf(arg1, arg2)); } BEGIN { printf(\"ready\\n\"); }" ;;
	esac
}
if want P4; then
	log "P4: start to probes attached, median of $BENCH_P4_RUNS"
	for k in plainsight $BENCH_PEERS; do
		if [ "$k" = plainsight ] && [ $PS_OK = 0 ]; then R[P4.plainsight]=$PS_WHY; continue; fi
		if [ "$k" != plainsight ] && [[ " ${PEERS[*]} " != *" $k "* ]]; then R[P4.$k]=$(peer_why "$k"); continue; fi
		if [ "$k" = plainsight ]; then
			# The first start on a kernel builds plainsight's cache of the
			# kernel types CO-RE needs (--btf-cache): timed apart, with an
			# empty cache of its own; the start that follows fills the
			# default cache, if it was empty, unmeasured.
			if cold=$(time_start plainsight --btf-cache "$T/btf-cache-cold"); then
				add_detail P4 "\"plainsight_first_start_ms\": $cold"
				log "  plainsight, first start on this kernel (builds the CO-RE types cache): $cold ms"
			fi
			time_start plainsight >/dev/null
		fi
		ts=()
		for ((r = 1; r <= BENCH_P4_RUNS; r++)); do
			# after the last run's exit the kernel frees its maps on a
			# worker of its own (a 64 MiB ring is milliseconds of it): a
			# start right after shares the CPU with that, not with nothing
			sleep "$P4_SETTLE_S"
			t=$(time_start "$k") || { R[P4.$k]="cannot run: did not attach within ${READY_TIMEOUT}s"; break; }
			ts+=("$t")
		done
		if [ ${#ts[@]} = "$BENCH_P4_RUNS" ]; then
			R[P4.$k]=$(median "${ts[@]}")
			add_detail P4 "\"${k}_runs_ms\": [$(IFS=,; echo "${ts[*]}")]"
			log "  $k: ${R[P4.$k]} ms (runs: ${ts[*]})"
		fi
	done
	add_detail P4 "\"note\": \"from fork to the ready line (bench/ready_time.py). plainsight: its 'attached' stderr line; sslsniff: its header line (includes the BCC compile); bpftrace: BEGIN output\""
fi

# ---- P6: compile all specs -----------------------------------------------------
if want P6; then
	specs=(specs/*/*.spec)
	if [ ! -x "$PROBEC" ]; then
		R[P6.plainsight]="cannot run: $PROBEC not built"
	elif [ ! -e "${specs[0]}" ]; then
		R[P6.plainsight]="cannot run: no specs/*/*.spec"
	else
		ts=()
		for r in 1 2 3 4 5; do
			rm -rf "$T/p6"; mkdir -p "$T/p6"
			t0=$(now)
			if ! "$PROBEC" -o "$T/p6" "${specs[@]}" > "$T/p6.log" 2>&1; then
				R[P6.plainsight]="cannot run: probec failed: $(tail -1 "$T/p6.log" | cut -c1-200)"; ts=(); break
			fi
			ts+=("$(ms_between "$t0" "$(now)")")
		done
		if [ ${#ts[@]} = 5 ]; then
			R[P6.plainsight]=$(median "${ts[@]}")
			add_detail P6 "\"runs_ms\": [$(IFS=,; echo "${ts[*]}")], \"specs\": ${#specs[@]}"
			log "P6: probec ${R[P6.plainsight]} ms"
		fi
	fi
fi
if want P5 && [ -z "${R[P5.plainsight]:-}" ]; then
	R[P5.plainsight]=${R[P1.plainsight]:-cannot run: needs P1}
	is_num "${R[P5.plainsight]}" && R[P5.plainsight]="cannot run: no memory samples"
fi
for peer in $BENCH_PEERS; do
	if want P5 && [ -z "${R[P5.$peer]:-}" ] && [ -n "${R[P1.$peer]:-}" ] && ! is_num "${R[P1.$peer]}"; then
		R[P5.$peer]=${R[P1.$peer]}
	fi
done

# ---- report --------------------------------------------------------------------
CORES=$(nproc)
KERNEL=$(uname -r)
CPU=$(sed -nE 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1)
MEM_MIB=$(awk '/^MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
OSSL=$(openssl version 2>/dev/null)
PSV=$("$PLAINSIGHT" -V 2>/dev/null | head -1)
GITREV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)

cell() { # value for the table
	local v=${R[$1]:-}
	if [ -z "$v" ]; then echo "-"
	elif [[ $v == \{* ]]; then
		sed -nE 's/\{"peak": ([0-9.]+), "steady": ([0-9.]+)\}/\1 \/ \2/p' <<< "$v"
	else echo "$v"
	fi
}
ROWS=(
	"P1|bulk TLS throughput, captured / uncaptured|>= 0.90"
	"P1f|P1 / the uprobe floor's P1|>= 0.95"
	"P1c|P1 / the copy floor's P1|"
	"P2|completeness: bytes captured / sent|= 1.000"
	"P3|nginx HTTPS req/s, captured / uncaptured|>= 0.85"
	"P3f|P3 / the uprobe floor's P3|>= 0.95"
	"P3c|P3 / the copy floor's P3|"
	"P1w|P1 with --from wire (packets decrypted)|>= 0.95"
	"P2w|P2 with --from wire|= 1.000"
	"P3w|P3 with --from wire|>= 0.95"
	"P4|start to probes attached, ms (median of $BENCH_P4_RUNS)|<= 50"
	"P5|resident memory during P1, MiB peak / steady|<= 20"
	"P6|compile all specs, ms (median of 5)|<= 1000"
)
COLS=(plainsight $BENCH_PEERS)
{
	printf '%-4s %-46s' "" "scenario"
	for c in "${COLS[@]}"; do printf ' | %-14s' "$c"; done
	printf ' | %s\n' "target"
	for row in "${ROWS[@]}"; do
		IFS='|' read -r id what target <<< "$row"
		want "${id:0:2}" || continue
		printf '%-4s %-46s' "$id" "$what"
		for c in "${COLS[@]}"; do
			v=$(cell "$id.$c")
			[[ $id == P6 || $id == P?w ]] && [ "$c" != plainsight ] && v="n/a"
			[ ${#v} -gt 14 ] && [[ $v == cannot* ]] && v="cannot run*"
			printf ' | %-14s' "$v"
		done
		printf ' | %s\n' "$target"
	done
} > "$T/table.txt"
echo
echo "plainsight bench: $DATE, $CORES cores, kernel $KERNEL, $CPU; load $LOAD_START at start"
[ "$FOREIGN_MAX" = 0 ] || echo "warning: up to $FOREIGN_MAX other libssl tracer(s) were attached during some runs: numbers are pessimistic"
cat "$T/table.txt"
[ -n "${P2_SETTING:-}" ] && echo "P2: complete (1.000, 0 lost) with: $P2_SETTING"
for k in "${!R[@]}"; do
	[[ ${R[$k]} == cannot* ]] && echo "  * $k: ${R[$k]}"
done | sort
[ -n "${B:-}" ] && echo "P1 baseline $B MiB/s; P3 baseline ${B3:-?} req/s"
[ -n "${FLOOR1:-}${FLOOR3:-}" ] && echo "uprobe floor (our empty entry+return programs on $FLOOR_FUNCS): P1 ${FLOOR1:--}, P3 ${FLOOR3:--}; copy floor (the bytes copied out, thrown away): P1 ${COPY1:--}, P3 ${COPY3:--}; packet floor (tcpdump, the same packets, thrown away): P1 ${PKT1:--}, P3 ${PKT3:--}"

# Markdown copy for bench/README.md
{
	printf '| | scenario |'; for c in "${COLS[@]}"; do printf ' %s |' "$c"; done; printf ' target |\n'
	printf '|---|---|'; for c in "${COLS[@]}"; do printf -- '---|'; done; printf -- '---|\n'
	for row in "${ROWS[@]}"; do
		IFS='|' read -r id what target <<< "$row"
		want "${id:0:2}" || continue
		printf '| %s | %s |' "$id" "$what"
		for c in "${COLS[@]}"; do
			v=$(cell "$id.$c")
			[[ $id == P6 || $id == P?w ]] && [ "$c" != plainsight ] && v="n/a"
			printf ' %s |' "$v"
		done
		printf ' %s |\n' "$target"
	done
	echo
	echo "Measured $DATE on $CORES cores, kernel $KERNEL, $CPU, ${MEM_MIB} MiB; $OSSL; $PSV${GITREV:+ (git $GITREV)}; load average $LOAD_START at start."
	[ "$FOREIGN_MAX" = 0 ] || echo "Up to $FOREIGN_MAX other libssl tracer(s) were attached during some runs."
	[ -n "${B:-}" ] && echo "P1 baseline ${B} MiB/s ($BENCH_BYTES in $BENCH_CHUNK writes); P3 baseline ${B3:-?} requests/s."
	[ -n "${P2_SETTING:-}" ] && echo "P2 reaches 1.000 with 0 lost with: $P2_SETTING."
	[ -n "${FLOOR1:-}${FLOOR3:-}" ] && echo "Uprobe floor (bench/uprobe_floor: empty entry and return programs on $FLOOR_FUNCS): P1 ${FLOOR1:--}, P3 ${FLOOR3:--}. Copy floor (\`uprobe_floor --copy $COPY_RING_MIB\`: the bytes each call moved copied into a ring, emptied and thrown away): P1 ${COPY1:--}, P3 ${COPY3:--}. Packet floor (tcpdump -w /dev/null on the packets --from wire takes): P1 ${PKT1:--}, P3 ${PKT3:--}."
	for k in "${!R[@]}"; do [[ ${R[$k]} == cannot* ]] && echo "- $k: ${R[$k]}"; done | sort
} > "$OUT/bench.md"

# JSON
{
	printf '{\n'
	for id in P1 P1f P1c P1w P2 P2w P3 P3f P3c P3w P4 P5 P6; do
		printf '  "%s": {' "$id"
		sep=
		for c in plainsight $BENCH_PEERS; do
			v=${R[$id.$c]:-}
			[ -n "$v" ] || continue
			if [[ $v == \{* ]]; then printf '%s"%s": %s' "$sep" "$c" "$v"
			else printf '%s"%s": %s' "$sep" "$c" "$(jval "$v")"; fi
			sep=", "
		done
		printf '},\n'
	done
	printf '  "detail": {'
	sep=
	for id in P1 P2 P3 P4 P5 P6; do
		[ -n "${D[$id]:-}" ] || continue
		printf '%s"%s": {%s}' "$sep" "$id" "${D[$id]}"
		sep=", "
	done
	printf '},\n'
	printf '  "machine": {"cores": %s, "kernel": %s, "cpu": %s, "mem_mib": %s, "date": %s, "openssl": %s, "plainsight": %s, "git": %s, "loadavg_start": %s, "loadavg_end": %s, "foreign_libssl_tracers_max": %s}\n' \
		"$CORES" "$(jstr "$KERNEL")" "$(jstr "$CPU")" "${MEM_MIB:-null}" "$(jstr "$DATE")" "$(jstr "$OSSL")" "$(jstr "$PSV")" "$(jstr "$GITREV")" \
		"$(jstr "$LOAD_START")" "$(jstr "$(cut -d' ' -f1-3 /proc/loadavg)")" "$FOREIGN_MAX"
	printf '}\n'
} > "$OUT/bench.json"
if command -v jq > /dev/null && ! jq . "$OUT/bench.json" > /dev/null 2>&1; then
	log "warning: $OUT/bench.json is not valid JSON"
fi
log "wrote $OUT/bench.json and $OUT/bench.md"
