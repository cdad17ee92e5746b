#!/usr/bin/env bash
# The offsets tool (build/offsets --recipe) on the libraries other than
# OpenSSL: each committed layout file is what the tool writes from its
# recipe (specs/<lib>/offsets.recipe), byte for byte. Trees come from the
# corpus cache (tests/corpus/fetch.sh; fetched once), installed headers from
# the Debian -dev packages `make deps` installs. Run from the repository
# root: OUT=build tests/unit/offsets_recipes.sh. One PASS/FAIL/SKIP line per
# case; a missing corpus item or package skips its case and says why.
set -u
OUT=${OUT:-build}
TOOL=$OUT/offsets
CACHE=${PLAINSIGHT_CACHE:-/var/cache/plainsight-corpus}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

pass() { echo "PASS offsets/$1"; }
fail() { echo "FAIL offsets/$1${2:+: $2}"; status=1; }
skip() { echo "SKIP offsets/$1: $2"; }

ALL_CASES="recipe_unknown_key recipe_missing_key recipe_not_the_tree recipe_needs_tree
gnutls_3.7_rewrites_layout_file gnutls_3.7.1_same_layout gnutls_source_untouched
boringssl_rewrites_layout_file mbedtls_2.28_rewrites_layout_file nspr_4_rewrites_layout_file
nss_3.87_rewrites_layout_file mbedtls_3.6_rewrites_layout_file"

if [ ! -x "$TOOL" ]; then
	for c in $ALL_CASES; do skip "$c" "$TOOL is not built (make $TOOL)"; done
	exit 0
fi

# ---- errors: one clear line on stderr, exit status 1, nothing on stdout ------------
one_error() {
	local name=$1 want=$2
	shift 2
	"$TOOL" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ $rc -eq 1 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -qF -- "$want" "$tmp/err"; then
		pass "$name"
	else
		fail "$name" "exit $rc, stderr: $(head -3 "$tmp/err" | tr '\n' '|')"
	fi
}
printf 'library X\nspec x.spec\nheader x.h\n' >"$tmp/unknown.recipe"
one_error recipe_unknown_key "offsets: $tmp/unknown.recipe:3: unknown key 'header'" --recipe "$tmp/unknown.recipe"
printf 'library X\nspec x.spec\nmodule x\nname 1\nversions 1.0..\ninclude x.h\n' >"$tmp/nobanner.recipe"
one_error recipe_missing_key "offsets: $tmp/nobanner.recipe: no 'banner' line" --recipe "$tmp/nobanner.recipe"
mkdir -p "$tmp/empty"
one_error recipe_not_the_tree "offsets: $tmp/empty: not a GnuTLS source tree (needs lib/gnutls_int.h)" \
	--recipe specs/gnutls/offsets.recipe "$tmp/empty"
one_error recipe_needs_tree "offsets: specs/gnutls/offsets.recipe reads a source tree: give its directory" \
	--recipe specs/gnutls/offsets.recipe

# ---- layout files rewritten byte for byte ------------------------------------------
fetch_log=$tmp/fetch.log
tests/corpus/fetch.sh gnutls-src:bookworm gnutls-src:bullseye boringssl-src:bookworm nss-src:bookworm mbedtls-src:trixie >"$fetch_log" 2>&1 || true
tree_of() { awk -v k="$1" -v s="$2" '$1 == k && $2 == s { print $4 }' "$CACHE/MANIFEST" 2>/dev/null; }
why_absent() { echo "$1:$2 not in $CACHE: $(grep -m1 "$1:$2" "$fetch_log" || echo 'tests/corpus/fetch.sh failed')"; }

# rewrites CASE RECIPE LAYOUT_FILE [TREE]: the tool, writing into a scratch layouts
# directory, produces the committed file exactly, and says where it wrote it
rewrites() {
	local name=$1 recipe=$2 file=$3 src=${4:-}
	mkdir -p "$tmp/$name"
	if "$TOOL" --recipe "$recipe" --layouts "$tmp/$name" $src 2>"$tmp/$name.err" >/dev/null &&
	   cmp -s "$tmp/$name/$(basename "$file")" "$file" &&
	   grep -q "^offsets: wrote $tmp/$name/$(basename "$file")$" "$tmp/$name.err"; then
		pass "$name"
	else
		fail "$name" "$(grep -v 'absent' "$tmp/$name.err" | head -3 | tr '\n' '|') $(diff "$file" "$tmp/$name/$(basename "$file")" 2>&1 | head -6 | tr '\n' '|')"
	fi
}

gnutls_bookworm=$(tree_of gnutls-src bookworm)
if [ -z "$gnutls_bookworm" ] || [ ! -d "$gnutls_bookworm" ]; then
	skip gnutls_3.7_rewrites_layout_file "$(why_absent gnutls-src bookworm)"
	skip gnutls_source_untouched "$(why_absent gnutls-src bookworm)"
else
	before=$(cd "$gnutls_bookworm" && find . -newer "$CACHE/MANIFEST" -print | head -5)
	rewrites gnutls_3.7_rewrites_layout_file specs/gnutls/offsets.recipe specs/gnutls/layouts/3.7.spec "$gnutls_bookworm"
	after=$(cd "$gnutls_bookworm" && find . -newer "$CACHE/MANIFEST" -print | head -5)
	if [ "$before" = "$after" ] && [ ! -e "$gnutls_bookworm/config.h" ] && [ ! -e "$gnutls_bookworm/lib/includes/gnutls/gnutls.h" ]; then
		pass gnutls_source_untouched
	else
		fail gnutls_source_untouched "the tool wrote into $gnutls_bookworm"
	fi
fi

# Layout "3.7" covers 3.7.0 on: bullseye's 3.7.1 must give the same numbers.
gnutls_bullseye=$(tree_of gnutls-src bullseye)
if [ -z "$gnutls_bullseye" ] || [ ! -d "$gnutls_bullseye" ]; then
	skip gnutls_3.7.1_same_layout "$(why_absent gnutls-src bullseye)"
elif ! "$TOOL" --recipe specs/gnutls/offsets.recipe "$gnutls_bullseye" >"$tmp/3.7.1.out" 2>"$tmp/3.7.1.err"; then
	fail gnutls_3.7.1_same_layout "$(head -3 "$tmp/3.7.1.err" | tr '\n' '|')"
else
	fields() { grep -E '^    [A-Za-z_].* = ' "$1"; }
	if grep -q '^#   GNUTLS_VERSION "3\.7\.1"$' "$tmp/3.7.1.out" && [ -n "$(fields specs/gnutls/layouts/3.7.spec)" ] &&
	   diff <(fields specs/gnutls/layouts/3.7.spec) <(fields "$tmp/3.7.1.out") >"$tmp/3.7.1.diff"; then
		pass gnutls_3.7.1_same_layout
	else
		fail gnutls_3.7.1_same_layout "$(tr '\n' '|' <"$tmp/3.7.1.diff")"
	fi
fi

boringssl=$(tree_of boringssl-src bookworm)
if [ -z "$boringssl" ] || [ ! -d "$boringssl" ]; then
	skip boringssl_rewrites_layout_file "$(why_absent boringssl-src bookworm)"
else
	rewrites boringssl_rewrites_layout_file specs/openssl/boringssl.recipe \
		specs/openssl/layouts/android13+boringssl.spec "$boringssl"
fi

# installed headers: the recipe names the package, whose version the header records
if [ ! -e /usr/include/mbedtls/ssl_internal.h ]; then
	skip mbedtls_2.28_rewrites_layout_file "libmbedtls-dev is not installed (make deps)"
else
	rewrites mbedtls_2.28_rewrites_layout_file specs/mbedtls/offsets.recipe specs/mbedtls/layouts/2.28.spec
fi
if [ ! -e /usr/include/nspr/prio.h ]; then
	skip nspr_4_rewrites_layout_file "libnspr4-dev is not installed (make deps)"
else
	rewrites nspr_4_rewrites_layout_file specs/nss/offsets.recipe specs/nss/layouts/4.spec
fi

# NSS's tree, with NSPR's installed headers beside it (an absolute incdir)
nss_bookworm=$(tree_of nss-src bookworm)
if [ -z "$nss_bookworm" ] || [ ! -d "$nss_bookworm" ]; then
	skip nss_3.87_rewrites_layout_file "$(why_absent nss-src bookworm)"
elif [ ! -e /usr/include/nspr/prio.h ]; then
	skip nss_3.87_rewrites_layout_file "libnspr4-dev is not installed (make deps)"
else
	rewrites nss_3.87_rewrites_layout_file specs/nss/nss.recipe specs/nss/layouts/3.87.spec "$nss_bookworm"
fi

# Mbed TLS 3.6's source, configured as debian/rules does (prepare steps)
mbedtls_trixie=$(tree_of mbedtls-src trixie)
if [ -z "$mbedtls_trixie" ] || [ ! -d "$mbedtls_trixie" ]; then
	skip mbedtls_3.6_rewrites_layout_file "$(why_absent mbedtls-src trixie)"
else
	rewrites mbedtls_3.6_rewrites_layout_file specs/mbedtls/mbedtls3.recipe specs/mbedtls/layouts/3.6.spec "$mbedtls_trixie"
fi

exit $status
