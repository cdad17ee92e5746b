#!/usr/bin/env bash
# The offsets tool's DWARF mode (build/offsets --dwarf) on tests/go/fixture
# built with the Go on PATH (Debian's golang-go): the committed layout file
# for that Go line must be what `make offsets-go` writes, byte for byte, and
# so must go1.15.spec from Go 1.15 (the stack ABI) when the corpus holds it;
# a program without DWARF and one that is no Go program are one error line
# each.
# Run from the repository root: OUT=build tests/unit/offsets_go.sh.
set -u
OUT=${OUT:-build}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
status=0
pass() { echo "PASS offsets_go/$1"; }
fail() { echo "FAIL offsets_go/$1${2:+: $2}"; status=1; }

if ! command -v go >/dev/null; then
	echo "SKIP offsets_go: no go toolchain (golang-go) on PATH"
	exit 0
fi
line=$(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')
committed=specs/gotls/layouts/go$line.spec
if [ ! -f "$committed" ]; then
	fail rewrites_layout_file "no $committed for the Go on PATH (go$line): run make offsets-go"
else
	if make -s offsets-go OUT="$OUT" LAYOUTS="$tmp" >"$tmp/log" 2>&1 && cmp -s "$tmp/go$line.spec" "$committed"; then
		pass rewrites_layout_file
	else
		fail rewrites_layout_file "make offsets-go wrote another $committed:"
		cat "$tmp/log"; diff "$committed" "$tmp/go$line.spec"
	fi
fi

# Go 1.15 (the stack ABI: `abi stack;` and a range that ends with 1.16), when the corpus holds it.
go115=${PLAINSIGHT_CACHE:-/var/cache/plainsight-corpus}/go/1.15/root/usr/lib/go-1.15/bin/go
if [ ! -x "$go115" ]; then
	echo "SKIP offsets_go/stack_abi_layout: no $go115 (tests/corpus/fetch.sh go:1.15)"
elif make -s offsets-go OUT="$OUT" GO="$go115" LAYOUTS="$tmp" >"$tmp/log115" 2>&1 &&
	cmp -s "$tmp/go1.15.spec" specs/gotls/layouts/go1.15.spec; then
	pass stack_abi_layout
else
	fail stack_abi_layout "make offsets-go GO=$go115 wrote another specs/gotls/layouts/go1.15.spec:"
	cat "$tmp/log115"; diff specs/gotls/layouts/go1.15.spec "$tmp/go1.15.spec"
fi

# Errors: one line, non-zero.
types="--type tls_conn=crypto/tls.Conn"
check_error() {   # NAME BINARY PATTERN
	local out
	out=$("$OUT/offsets" --dwarf "$2" --spec specs/gotls/gotls.spec --module gotls $types 2>&1 >/dev/null)
	if [ $? -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && printf '%s' "$out" | grep -q "$3"; then
		pass "$1"
	else
		fail "$1" "got: $out"
	fi
}
(cd tests/go/fixture && GOCACHE="$tmp/cache" GOFLAGS=-mod=mod CGO_ENABLED=0 go build -ldflags='-s -w' -o "$tmp/nodwarf" .)
check_error no_dwarf "$tmp/nodwarf" "no DWARF"
check_error not_go /bin/true "no DWARF\|no Go compile unit"
exit $status
