#!/usr/bin/env bash
# The offsets tool (build/offsets) on real OpenSSL source trees from Debian,
# fetched once into the corpus cache by tests/corpus/fetch.sh. Run from the
# repository root: OUT=build tests/unit/offsets.sh. One PASS/FAIL/SKIP line per
# case; a corpus that cannot be fetched skips its cases loudly.
#
# The expected numbers come from two independent places: the layout files in
# specs/openssl/layouts/ (3.0.spec must be what the tool writes, byte for
# byte), and the machine code of Debian's own libssl
# builds (SSL_get_rbio, SSL_get_client_random, SSL_get_session and
# SSL_SESSION_get_master_key read these offsets; recorded in offsets/README.md).
set -u
OUT=${OUT:-build}
TOOL=$OUT/offsets
SPEC=specs/openssl/openssl.spec
LAYOUT_30=specs/openssl/layouts/3.0.spec
KEYLOG_SPEC=offsets/testdata/keylog.spec
CACHE=${PLAINSIGHT_CACHE:-/var/cache/plainsight-corpus}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

pass() { echo "PASS offsets/$1"; }
fail() { echo "FAIL offsets/$1${2:+: $2}"; status=1; }
skip() { echo "SKIP offsets/$1: $2"; }

ALL_CASES="bad_source_dir not_openssl_tree bad_product_name bad_module 3.0_matches_spec 3.0_rewrites_layout_file 3.0_banner 3.0_source_untouched
3.0_output_compiles 3.0_absent_reported 3.0_build_metadata_product 3.0_product_option 3.0_keylog_fields 1.1.1_keylog_fields 3.5_keylog_fields 3.6_keylog_fields"

if [ ! -x "$TOOL" ]; then
	for c in $ALL_CASES; do skip "$c" "$TOOL is not built (make $TOOL)"; done
	exit 0
fi

# ---- errors need no corpus ----------------------------------------------------
# one clear line on stderr, exit status 1, nothing on stdout
one_error() {
	local name=$1 want=$2
	shift 2
	"$TOOL" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ $rc -eq 1 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "$want" "$tmp/err"; then
		pass "$name"
	else
		fail "$name" "exit $rc, stderr: $(head -3 "$tmp/err" | tr '\n' '|')"
	fi
}
one_error bad_source_dir "offsets: $tmp/no-such-dir: not a directory" "$tmp/no-such-dir"
mkdir -p "$tmp/empty"
one_error not_openssl_tree "not an OpenSSL source tree" "$tmp/empty"
one_error bad_product_name 'offsets: --product wants a name (a letter or _, then letters, digits, _), got "9x"' --product 9x "$tmp/empty"

# ---- the corpus -----------------------------------------------------------------
src_of() { awk -v s="$1" '$1 == "openssl-src" && $2 == s { print $4 }' "$CACHE/MANIFEST" 2>/dev/null; }
fetch_log=$tmp/fetch.log
tests/corpus/fetch.sh openssl-src >"$fetch_log" 2>&1 || true

# ssl_local.h needs a fake tree for bad_module: use the real one when it is there
BOOKWORM=$(src_of bookworm)
if [ -z "$BOOKWORM" ] || [ ! -d "$BOOKWORM" ]; then
	why="OpenSSL 3.0 source (bookworm) not in $CACHE: $(grep -m1 'cannot fetch openssl-src:bookworm' "$fetch_log" || echo 'tests/corpus/fetch.sh failed')"
	for c in bad_module 3.0_matches_spec 3.0_rewrites_layout_file 3.0_banner 3.0_source_untouched 3.0_output_compiles 3.0_absent_reported 3.0_build_metadata_product 3.0_product_option 3.0_keylog_fields; do
		skip "$c" "$why"
	done
else
	one_error bad_module "no module 'nosuch'" --module nosuch "$BOOKWORM"

	# Everything the tool writes goes to its own copy: the cached tree stays as fetched.
	before=$(cd "$BOOKWORM" && find . -newer "$CACHE/MANIFEST" -print | head -5)
	"$TOOL" --work "$tmp/work-3.0" "$BOOKWORM" >"$tmp/3.0.out" 2>"$tmp/3.0.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		fail 3.0_matches_spec "exit $rc: $(grep -v '^  ' "$tmp/3.0.err" | head -3 | tr '\n' '|')"
	else
		# the committed "3.0" layout, "struct.field = N" per line, against the tool's
		awk '/^[ \t]*layout / { on = 1; next } on && /^[ \t]*}/ { on = 0 }
		     on && /=|absent/ { sub(/#.*/, ""); gsub(/[ \t;]/, ""); print }' "$LAYOUT_30" | sort >"$tmp/spec.30"
		awk '/^[ \t]*layout / { on = 1; next } on && /^[ \t]*}/ { on = 0 }
		     on && /=|absent/ { sub(/#.*/, ""); gsub(/[ \t;]/, ""); print }' "$tmp/3.0.out" | sort >"$tmp/tool.30"
		# every field of the spec's 3.0 layout (the keylog fields, the fd check's)
		want="bio_method_st.type=0 bio_st.method=8 bio_st.num=56 \
ssl_cipher_st.id=24 ssl_session_st.cipher=760 ssl_session_st.cipher_id=768 \
ssl_session_st.master_key=80 ssl_session_st.master_key_length=8 ssl_session_st.ssl_version=0 \
ssl_st.client_app_traffic_secret=1860 ssl_st.early_secret=1348 ssl_st.exporter_master_secret=1988 \
ssl_st.handshake_secret=1412 ssl_st.handshake_traffic_hash=1796 ssl_st.rbio=16 \
ssl_st.s3.client_random=352 ssl_st.s3=absent ssl_st.server_app_traffic_secret=1924 \
ssl_st.session=2328 ssl_st.version=0 ssl_st.wbio=24 structssl3_state_stabsent structssl_connection_stabsent"
		if [ -s "$tmp/spec.30" ] && diff -u "$tmp/spec.30" "$tmp/tool.30" >"$tmp/diff" &&
		   [ "$(tr '\n' ' ' <"$tmp/tool.30" | sed 's/ $//')" = "$want" ]; then
			pass 3.0_matches_spec
		else
			fail 3.0_matches_spec "spec vs tool: $(tr '\n' ' ' <"$tmp/diff" | cut -c1-300) tool: $(tr '\n' ' ' <"$tmp/tool.30")"
		fi
	fi
	# `make offsets SRC=TREE` rewrites the committed file: byte for byte the same
	"$TOOL" --work "$tmp/work-3.0" --layouts "$tmp" "$BOOKWORM" 2>"$tmp/rewrite.err"
	if cmp -s "$tmp/3.0.spec" "$LAYOUT_30" && grep -q "^offsets: wrote $tmp/3.0.spec$" "$tmp/rewrite.err"; then
		pass 3.0_rewrites_layout_file
	else
		fail 3.0_rewrites_layout_file "$(diff "$LAYOUT_30" "$tmp/3.0.spec" 2>&1 | head -5 | tr '\n' '|')"
	fi
	if grep -q '^#   OPENSSL_VERSION_TEXT "OpenSSL 3\.0\.[0-9]* ' "$tmp/3.0.out" &&
	   grep -q '^# Source tree: openssl-3\.0\.[0-9]*, Debian package version 3\.0\.' "$tmp/3.0.out" &&
	   grep -q '^layout "3.0" versions "3.0.0" .. {$' "$tmp/3.0.out" &&
	   grep -q '^    source "OpenSSL 3\.0\.[0-9]* .*derived by build/offsets";$' "$tmp/3.0.out"; then
		pass 3.0_banner
	else
		fail 3.0_banner "$(head -8 "$tmp/3.0.out" | tr '\n' '|')"
	fi
	after=$(cd "$BOOKWORM" && find . -newer "$CACHE/MANIFEST" -print | head -5)
	if [ "$before" = "$after" ] && [ ! -e "$BOOKWORM/configdata.pm" ] && [ ! -e "$BOOKWORM/include/openssl/opensslv.h" ]; then
		pass 3.0_source_untouched
	else
		fail 3.0_source_untouched "the tool wrote into $BOOKWORM"
	fi

	# The printed file, in place of the committed 3.0 layout, compiles with the spec.
	if [ ! -x "$OUT/probec" ]; then
		skip 3.0_output_compiles "$OUT/probec is not built"
	else
		cp -r specs/openssl "$tmp/spec-copy"
		cp "$tmp/3.0.out" "$tmp/spec-copy/layouts/3.0.spec"
		if grep -q 'derived by build/offsets' "$tmp/spec-copy/layouts/3.0.spec" &&
		   "$OUT/probec" -o "$tmp/gen" "$tmp/spec-copy/openssl.spec" >"$tmp/probec.log" 2>&1; then
			pass 3.0_output_compiles
		else
			fail 3.0_output_compiles "$(head -3 "$tmp/probec.log" | tr '\n' '|')"
		fi
	fi

	# A field this version lacks: a line on stderr and `absent` in the block.
	"$TOOL" --spec "$KEYLOG_SPEC" --work "$tmp/work-3.0" "$BOOKWORM" >"$tmp/3.0k.out" 2>"$tmp/3.0k.err"
	rc=$?
	if [ $rc -eq 0 ] &&
	   grep -q '^offsets: OpenSSL 3\.0\.[0-9]* .*: ssl_connection_st\.rbio is absent: no struct ssl_connection_st in this version$' "$tmp/3.0k.err" &&
	   grep -q '^offsets: OpenSSL 3\.0\.[0-9]* .*: ssl_st\.s3 is absent: it is an unnamed struct held inline here, not a pointer$' "$tmp/3.0k.err" &&
	   grep -q '^    struct ssl_connection_st absent; # no struct ssl_connection_st in this version$' "$tmp/3.0k.out" &&
	   grep -q '^    struct ssl3_state_st absent;' "$tmp/3.0k.out"; then
		pass 3.0_absent_reported
	else
		fail 3.0_absent_reported "exit $rc, stderr: $(head -3 "$tmp/3.0k.err" | tr '\n' '|')"
	fi

	# A patched tree names its build in the banner ("OpenSSL 3.0.13+quic", as
	# quictls's do): its layout is that product's, and the tool says the spec
	# must detect it. A copy of the 3.0 tree with build metadata stands in.
	cp -a "$BOOKWORM" "$tmp/meta-src"
	sed -i 's/^BUILD_METADATA=.*/BUILD_METADATA=quic/' "$tmp/meta-src/VERSION.dat"
	"$TOOL" --work "$tmp/work-meta" "$tmp/meta-src" >"$tmp/meta.out" 2>"$tmp/meta.err"
	rc=$?
	if [ $rc -eq 0 ] &&
	   grep -q '^#   OPENSSL_VERSION_TEXT "OpenSSL 3\.0\.[0-9]*+quic ' "$tmp/meta.out" &&
	   grep -q '^layout "3.0+quic" product quic versions "3.0.0" .. {$' "$tmp/meta.out" &&
	   grep -q '^offsets: the banner "OpenSSL 3\.0\.[0-9]*+quic .*" names the build "+quic": the layout is for product quic, which a `match ... product quic;` rule of the spec must detect$' "$tmp/meta.err" &&
	   diff <(grep ' = ' "$tmp/meta.out") <(grep ' = ' "$tmp/3.0.out") >/dev/null; then
		pass 3.0_build_metadata_product
	else
		fail 3.0_build_metadata_product "exit $rc: $(grep layout "$tmp/meta.out") stderr: $(grep -v absent "$tmp/meta.err" | head -3 | tr '\n' '|')"
	fi
	"$TOOL" --product fips --work "$tmp/work-meta" "$tmp/meta-src" >"$tmp/meta2.out" 2>"$tmp/meta2.err"
	rc=$?
	if [ $rc -eq 0 ] && grep -q '^layout "3.0+fips" product fips versions "3.0.0" .. {$' "$tmp/meta2.out" &&
	   ! grep -q 'names the build' "$tmp/meta2.err"; then
		pass 3.0_product_option
	else
		fail 3.0_product_option "exit $rc: $(grep layout "$tmp/meta2.out") stderr: $(grep -v absent "$tmp/meta2.err" | head -3 | tr '\n' '|')"
	fi
	rm -rf "$tmp/meta-src" "$tmp/work-meta"
fi

# ---- the keylog fields, per version, against Debian's libssl machine code -------------
check_fields() {
	local name=$1 suite=$2 want=$3 src out
	src=$(src_of "$suite")
	if [ -z "$src" ] || [ ! -d "$src" ]; then
		skip "$name" "OpenSSL source ($suite) not in $CACHE: $(grep -m1 "cannot fetch openssl-src:$suite" "$fetch_log" || echo 'tests/corpus/fetch.sh failed')"
		return
	fi
	out=$tmp/$name.out
	if ! "$TOOL" --spec "$KEYLOG_SPEC" --work "$tmp/work-$suite" "$src" >"$out" 2>"$tmp/$name.err"; then
		fail "$name" "$(grep -v '^  ' "$tmp/$name.err" | head -3 | tr '\n' '|')"
		return
	fi
	local f missing=
	# S.F=absent is also met by `struct S absent;` (none of S's fields is there)
	for f in $want; do
		grep -q "^    ${f%=*} = ${f#*=};" "$out" ||
			{ [ "${f#*=}" = absent ] && grep -q "^    struct ${f%%.*} absent;" "$out"; } ||
			missing="$missing $f(got: $(grep -o "^    ${f%=*} = [^;]*" "$out" | sed 's/.*= //'))"
	done
	if [ -z "$missing" ]; then pass "$name"; else fail "$name" "wrong:$missing"; fi
}
check_fields 3.0_keylog_fields bookworm "ssl_st.version=0 ssl_st.rbio=16 ssl_st.wbio=24 ssl_st.session=2328 ssl_st.s3.client_random=352
	ssl_session_st.master_key=80 ssl_session_st.master_key_length=8 ssl_st.s3=absent ssl_connection_st.rbio=absent"
check_fields 1.1.1_keylog_fields bullseye "ssl_st.version=0 ssl_st.rbio=16 ssl_st.wbio=24 ssl_st.session=1296 ssl_st.s3=168
	ssl3_state_st.client_random=184 ssl_st.s3.client_random=absent ssl_session_st.master_key=80
	ssl_session_st.master_key_length=8 bio_st.method=0 bio_st.num=48"
check_fields 3.5_keylog_fields trixie "ssl_st.version=absent ssl_connection_st.rbio=80 ssl_connection_st.session=2304 ssl_st.rbio=absent
	ssl_session_st.master_key=80 ssl_session_st.master_key_length=8 bio_st.method=8 bio_st.num=56"
check_fields 3.6_keylog_fields sid "ssl_st.version=absent ssl_connection_st.rbio=80 ssl_connection_st.session=2304 ssl_st.rbio=absent
	ssl_session_st.master_key=80 bio_st.method=8 bio_st.num=56"

exit $status
