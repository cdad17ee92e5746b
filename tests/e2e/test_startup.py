"""Start-up: the cache of the kernel types CO-RE needs (--btf-cache).

Each run captures a real TLS exchange and checks it byte-exact with the fd
and the 4-tuple, which come from the socket tracker's CO-RE reads: types that
were wrong would show there."""

import glob
import os
import shutil
import struct

import harness
from harness import Context, TestFailure, TestSkip, binary, indent, tail
from test_tls import python_capture

TESTS, test = harness.registry()


def require_bpftool():
    if not (shutil.which("bpftool") or os.access("/usr/sbin/bpftool", os.X_OK)):
        raise TestSkip("bpftool not found: it builds the cache (Debian package bpftool; `make deps`)")


def capture_says(ctx, cache, *wanted, absent=()):
    """One checked capture, in a context of its own (the runs share only the cache); -dd for libbpf's own lines."""
    run = Context(ctx.name)
    try:
        ps, _, _ = python_capture(run, 3000, 70000, extra=["-dd", "--btf-cache", cache])
        err = ps.stderr
    finally:
        ctx.plainsight = run.plainsight
        run.cleanup()
    for w in wanted:
        if w not in err:
            raise TestFailure("plainsight -d did not say %r; its stderr:" % w, *indent(tail(err, 40)))
    for a in absent:
        if a in err:
            raise TestFailure("plainsight -d said %r; its stderr:" % a, *indent(tail(err, 40)))
    return err


@test("btf_cache_built_used_rebuilt")
def btf_cache_built_used_rebuilt(ctx):
    require_bpftool()
    cache = ctx.path("btf-cache")
    # libbpf says this when it reads the kernel's whole BTF
    whole = "loading kernel BTF"
    capture_says(ctx, cache, "CO-RE types: built with bpftool and cached in %s/" % cache, absent=(whole,))
    entries = glob.glob(os.path.join(cache, "tls_*.btf"))
    if len(entries) != 1:
        raise TestFailure("want one cache entry in %s, found %r" % (cache, os.listdir(cache)))
    entry = entries[0]
    if os.stat(entry).st_mode & 0o022:
        raise TestFailure("%s is writable by others: %o" % (entry, os.stat(entry).st_mode))
    capture_says(ctx, cache, "CO-RE types: from the cache, %s" % entry, absent=(whole, "built with bpftool"))

    # one flipped bit in the types: detected, rebuilt, and the capture is still exact
    with open(entry, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 1]))
    capture_says(ctx, cache, "cache entry %s is stale or damaged" % entry,
                 "CO-RE types: built with bpftool and cached in %s" % entry, absent=(whole,))
    capture_says(ctx, cache, "CO-RE types: from the cache, %s" % entry, absent=(whole,))

    # a file another user could have written is never read
    os.chmod(entry, 0o666)
    capture_says(ctx, cache, "not using %s" % entry, absent=("from the cache, %s" % entry,))
    os.chmod(entry, 0o644)


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


@test("btf_cache_wrong_types_dropped")
def btf_cache_wrong_types_dropped(ctx):
    """An entry whose digest is right but whose types are not (an empty BTF:
    the relocations find nothing): the kernel refuses the programs, the entry
    is dropped and the kernel's whole BTF is used. The entry's layout is the
    one runtime/bpf/core_btf.c writes: magic, key, FNV-1a digest, size, payload."""
    require_bpftool()
    cache = ctx.path("btf-cache")
    capture_says(ctx, cache, "CO-RE types: built with bpftool")
    entry, = glob.glob(os.path.join(cache, "tls_*.btf"))
    with open(entry, "rb") as f:
        head = f.read(16)
    # struct btf_header: magic, version 1, flags, hdr_len 24, no types, a one-byte string section
    empty_btf = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 0, 0, 1) + b"\0"
    with open(entry, "wb") as f:
        f.write(head + struct.pack("<QQ", fnv1a64(empty_btf), len(empty_btf)) + empty_btf)
    capture_says(ctx, cache, "CO-RE types: from the cache, %s (%d bytes)" % (entry, len(empty_btf)),
                 "with the cached CO-RE types", "dropping %s" % entry, "loading kernel BTF")
    if os.path.exists(entry):
        raise TestFailure("the refused entry %s is still there" % entry)
    capture_says(ctx, cache, "CO-RE types: built with bpftool and cached in %s" % entry)


@test("btf_cache_none_reads_kernel_btf")
def btf_cache_none_reads_kernel_btf(ctx):
    capture_says(ctx, "none", "no cache (--btf-cache none)", "loading kernel BTF")


@test("btf_cache_relative_dir_refused")
def btf_cache_relative_dir_refused(ctx):
    r = ctx.run([binary(), "tls", "--btf-cache", "relative/dir"])
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode != 2 or "--btf-cache wants an absolute directory" not in err:
        raise TestFailure("want exit 2 and one usage line, got %d:" % r.returncode, *indent(tail(err)))
