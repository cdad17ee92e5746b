#!/usr/bin/env bash
# Rebuilds tests/fuzz/seeds/disasm_fuzz/ from the system's libssl.so.3: the
# code of functions the specs' accessors and call graph read (SSL_get_session,
# SSL_get_rbio, SSL_SESSION_get_master_key, SSL_read, SSL_write, ...), each
# after the 4 parameter bytes disasm_fuzz.c takes. Run from the repository
# root; needs binutils (nm, readelf). Each file is its function's size.
set -eu
lib=${1:-$(readlink -f /usr/lib/x86_64-linux-gnu/libssl.so.3)}
out=tests/fuzz/seeds/disasm_fuzz
mkdir -p "$out"
# the file offset of a link-time address: through the LOAD segment holding it
file_offset() {
	readelf -lW "$lib" | awk -v a=$((16#$1)) '$1 == "LOAD" {
		off = strtonum($2); va = strtonum($3); fs = strtonum($5)
		if (a >= va && a < va + fs) { printf "%d\n", a - va + off; exit }
	}'
}
# name, then the parameter bytes: the n-th access, the field through (0x80: none), the copy's length / 16 - 1, where
while read -r name n through length where; do
	line=$(nm -D --defined-only -S "$lib" | awk -v s="$name" '{ sub(/@.*/, "", $4) } $4 == s { print $1, $2; exit }')
	[ -n "$line" ] || { echo "no $name in $lib" >&2; continue; }
	set -- $line
	offset=$(file_offset "$1")
	{ printf "\\x$n\\x$through\\x$length\\x$where"; tail -c +$((offset + 1)) "$lib" | head -c $((16#$2)); } > "$out/$name"
done <<'LIST'
SSL_get_session 00 80 00 10
SSL_get_rbio 00 80 00 20
SSL_get_wbio 00 80 00 30
SSL_get_fd 00 80 00 40
SSL_version 00 80 00 50
SSL_SESSION_get_master_key 00 80 02 60
SSL_get_client_random 00 80 01 70
SSL_get_server_random 01 80 01 10
SSL_SESSION_get_protocol_version 00 80 00 20
SSL_read 00 80 00 30
SSL_write 00 80 00 40
SSL_read_ex 00 80 00 50
SSL_write_ex 00 80 00 60
SSL_do_handshake 00 80 00 70
SSL_get_version 01 02 00 10
LIST
