#!/usr/bin/env bash
# probec's tests, run from the repository root: OUT=build tests/unit/compiler.sh
#
#   errors.test         cases of a spec and its exact diagnostics: each must fail
#                       with exactly those on stderr, writing nothing
#   golden/demo.spec    must generate exactly golden/expected/*
#   specs/openssl       must compile (with its layout files); its BPF must build and
#                       pass the kernel verifier; a mistake in a layout file names it
#
# Every case runs twice: with $OUT/probec and with an ASan+UBSan build of the
# same sources ($OUT/asan/probec, built here). One PASS/FAIL line per case.
set -u
OUT=${OUT:-build}
DIR=tests/unit/compiler
tmp=$(mktemp -d)
pin=""
status=0

cleanup() {
	[ -n "$pin" ] && rm -rf "$pin"
	rm -rf "$tmp"
}
trap cleanup EXIT

pass() { echo "PASS compiler/$1"; }
fail() { echo "FAIL compiler/$1"; status=1; }

# ---- the sanitized probec -----------------------------------------------------
build_asan() {
	mkdir -p "$OUT/asan" &&
	cc -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=undefined -Icompiler -Icommon -I"$OUT/compiler" \
		-o "$OUT/asan/probec" compiler/*.c common/*.c "$OUT/compiler/parser.tab.c" "$OUT/compiler/lexer.c"
}

# ---- cases ----------------------------------------------------------------------
# Splits errors.test into $tmp/cases/NAME.spec and NAME.expected, and lists the names.
split_error_cases() {
	rm -rf "$tmp/cases" && mkdir -p "$tmp/cases" &&
	awk -v dir="$tmp/cases" '
		function flush() { if (file != "") { printf "%s", kept > file; close(file) } kept = ""; blanks = "" }
		/^=== / { flush(); name = $2; print name; file = dir "/" name ".spec"; next }
		/^--- stderr$/ && file ~ /\.spec$/ { flush(); file = dir "/" name ".expected"; next }
		file == "" { next }
		/^$/ { blanks = blanks "\n"; next }
		{ kept = kept blanks $0 "\n"; blanks = "" }
		END { flush() }
	' "$DIR/errors.test"
}

error_cases() {
	local probec=$1 tag=$2 name rc
	for name in $(split_error_cases); do
		rm -rf "$tmp/cases/out"
		(cd "$tmp/cases" && "$probec" -o out "$name.spec" 2>stderr)
		rc=$?
		if [ $rc -eq 1 ] && [ ! -e "$tmp/cases/out" ] &&
		   diff -u "$tmp/cases/$name.expected" "$tmp/cases/stderr" >&2; then
			pass "$tag$name"
		else
			echo "  errors.test case $name: exit $rc (want 1)$([ -e "$tmp/cases/out" ] && echo ', and it wrote output')" >&2
			fail "$tag$name"
		fi
	done
}

golden_case() {
	local probec=$1 tag=$2 f ok=1
	rm -rf "$tmp/golden"
	if ! "$probec" -o "$tmp/golden" "$DIR/golden/demo.spec"; then
		fail "${tag}golden"
		return
	fi
	for f in "$DIR"/golden/expected/*; do
		diff -u "$f" "$tmp/golden/$(basename "$f")" >&2 || ok=0
	done
	if [ $ok = 1 ]; then pass "${tag}golden"; else fail "${tag}golden"; fi
}

openssl_case() {
	local probec=$1 tag=$2 f ok=1
	rm -rf "$tmp/gen"
	"$probec" -o "$tmp/gen" specs/openssl/openssl.spec || ok=0
	for f in tls.events.h tls.default.bpf.c tls.default.embed.S tls.tables.c modules.gen.c gen.mk; do
		[ -s "$tmp/gen/$f" ] || { echo "  missing $f" >&2; ok=0; }
	done
	if [ $ok = 1 ]; then pass "${tag}openssl"; else fail "${tag}openssl"; fi
}

# One bad spec among good ones: an error, and no file at all.
nothing_written_case() {
	local probec=$1 tag=$2
	rm -rf "$tmp/partial"
	split_error_cases >/dev/null
	"$probec" -o "$tmp/partial" specs/openssl/openssl.spec "$tmp/cases/unknown_event.spec" 2>/dev/null
	if [ $? -eq 1 ] && [ ! -e "$tmp/partial" ]; then pass "${tag}nothing-written"; else fail "${tag}nothing-written"; fi
}

# A mistake in a layout file (`layouts "layouts";`) is reported in that file.
layout_file_case() {
	local probec=$1 tag=$2 dir=$tmp/layout-file
	rm -rf "$dir" && cp -r specs/openssl "$dir"
	sed -i 's/^    bio_st\.num = 56;$/    bio_st.nmu = 56;/' "$dir/layouts/3.0.spec"
	"$probec" -o "$dir/out" "$dir/openssl.spec" 2>"$dir/stderr"
	if [ $? -eq 1 ] && [ ! -e "$dir/out" ] &&
	   grep -q "^$dir/layouts/3\.0\.spec:[0-9]*:5: error: unknown offset 'bio_st\.nmu' (did you mean 'bio_st\.num'?)$" "$dir/stderr"; then
		pass "${tag}layout-file-error"
	else
		head -5 "$dir/stderr" >&2
		fail "${tag}layout-file-error"
	fi
}

cli_cases() {
	local probec=$1 tag=$2 want
	want="probec: cannot open $DIR/no-such.spec: No such file or directory"
	"$probec" -o "$tmp/none" "$DIR/no-such.spec" 2>"$tmp/stderr"
	if [ $? -eq 1 ] && [ "$(cat "$tmp/stderr")" = "$want" ] && [ ! -e "$tmp/none" ]; then
		pass "${tag}cannot-open"
	else
		fail "${tag}cannot-open"
	fi
	"$probec" 2>/dev/null
	if [ $? -eq 2 ]; then pass "${tag}usage"; else fail "${tag}usage"; fi
	"$probec" --bogus x.spec 2>/dev/null
	if [ $? -eq 2 ]; then pass "${tag}bad-option"; else fail "${tag}bad-option"; fi
	if "$probec" --help | grep -q '^usage: probec'; then pass "${tag}help"; else fail "${tag}help"; fi
}

all_cases() {
	error_cases "$1" "$2"
	golden_case "$1" "$2"
	openssl_case "$1" "$2"
	nothing_written_case "$1" "$2"
	layout_file_case "$1" "$2"
	cli_cases "$1" "$2"
}

# Compiles a generated hook set and loads every program into the kernel.
bpf_load_case() {
	local name=$1 src=$2 gendir=$3
	local obj="$tmp/$name.bpf.o"
	if ! clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -Wno-unused-function \
		-I"$vmlinux_dir" -Ibpf-gen -I"$gendir" -c -o "$obj" "$src"; then
		fail "bpf-load/$name"
		return
	fi
	pin=/sys/fs/bpf/probec_test_$$_$name
	if bpftool prog loadall "$obj" "$pin" >"$tmp/load.log" 2>&1; then
		pass "bpf-load/$name"
	else
		tail -40 "$tmp/load.log" >&2
		fail "bpf-load/$name"
	fi
	rm -rf "$pin"
	pin=""
}

# ---- run ---------------------------------------------------------------------------
if [ ! -x "$OUT/probec" ]; then
	echo "compiler.sh: $OUT/probec is missing: run make $OUT/probec" >&2
	fail "build"
	exit 1
fi
all_cases "$(realpath "$OUT/probec")" ""

if build_asan; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
	all_cases "$(realpath "$OUT/asan/probec")" "asan/"
else
	fail "asan-build"
fi

vmlinux_dir=$OUT
if [ ! -s "$OUT/vmlinux.h" ]; then
	vmlinux_dir=$tmp
	bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$tmp/vmlinux.h" 2>/dev/null || true
fi
if [ "$(id -u)" != 0 ] || [ ! -s "$vmlinux_dir/vmlinux.h" ]; then
	echo "SKIP compiler/bpf-load: needs root and kernel BTF"
else
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	bpf_load_case tls "$tmp/gen/tls.default.bpf.c" "$tmp/gen"
	bpf_load_case golden-default "$tmp/golden/demo.default.bpf.c" "$tmp/golden"
	bpf_load_case golden-v2 "$tmp/golden/demo.v2.bpf.c" "$tmp/golden"
fi
exit $status
