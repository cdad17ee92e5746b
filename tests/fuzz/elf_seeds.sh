#!/usr/bin/env bash
# Rebuilds tests/fuzz/seeds/elf_fuzz/ from tests/fuzz/elf_seed.c: the library
# as linked, stripped, and as a PIE executable needing libc. Run from the
# repository root; each file is a few KiB.
set -eu
out=tests/fuzz/seeds/elf_fuzz
mkdir -p "$out"
cc -O1 -fPIC -shared -Wl,--no-as-needed -lc -o "$out/library.so" tests/fuzz/elf_seed.c
strip -o "$out/stripped.so" "$out/library.so"
printf 'int SSL_write(void *, const void *, int);\nint main(void) { return SSL_write(0, 0, 0); }\n' |
	cc -O1 -fPIE -pie -o "$out/executable" -x c - -x none "$out/library.so"
