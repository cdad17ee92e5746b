"""Start-up: the cache of the kernel types CO-RE needs and of what start-up
reads out of each library file, its verdicts (--btf-cache).

Each run captures a real TLS exchange and checks it byte-exact with the fd
and the 4-tuple, which come from the socket tracker's CO-RE reads and the
layout's offsets: types or verdicts that were wrong would show there."""

import glob
import os
import shutil
import struct

import harness
from harness import Context, TestFailure, TestSkip, binary, indent, tail
from test_tls import curl_capture, python_capture

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
    says(err, wanted, absent)
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


# ---- the library verdicts (runtime/target/verdict_cache.c) ---------------------

VERDICTS_MAGIC = b"PSVERD1\n"
# what -d says while reading the library itself, which a start from the cache skips
ACCESSOR_CHECKED = "confirms it"


def corpus_dir():
    return os.environ.get("PLAINSIGHT_CACHE") or "/var/cache/plainsight-corpus"


def curl_says(ctx, cache, *wanted, absent=()):
    """One curl <-> s_server capture, checked byte for byte, with -d and the
    cache directory; returns (its stderr, its attached line)."""
    run = Context(ctx.name)
    try:
        ps = curl_capture(run, 5000, extra=["-d", "--btf-cache", cache])
        err = ps.stderr
    finally:
        ctx.plainsight = run.plainsight
        run.cleanup()
    says(err, wanted, absent)
    return err, attached_line(err)


def says(err, wanted, absent=()):
    for w in wanted:
        if w not in err:
            raise TestFailure("plainsight -d did not say %r; its stderr:" % w, *indent(tail(err, 40)))
    for a in absent:
        if a in err:
            raise TestFailure("plainsight -d said %r; its stderr:" % a, *indent(tail(err, 40)))


def attached_line(err):
    for line in err.splitlines():
        if line.startswith("plainsight: attached"):
            return line
    raise TestFailure("no attached line; plainsight's stderr:", *indent(tail(err, 40)))


def one_entry(cache):
    entries = glob.glob(os.path.join(cache, "tls-*.verdicts"))
    if len(entries) != 1:
        raise TestFailure("want one verdicts entry in %s, found %r" % (cache, sorted(os.listdir(cache))))
    return entries[0]


def reseal(entry, edit):
    """Rewrites the entry with edit(body) behind a right digest: only the
    meaning of the bytes can then refuse it (magic, digest, size, body)."""
    with open(entry, "rb") as f:
        data = f.read()
    body = edit(bytearray(data[24:]))
    with open(entry, "wb") as f:
        f.write(VERDICTS_MAGIC + struct.pack("<QQ", fnv1a64(body), len(body)) + bytes(body))


@test("verdicts_cache_second_start")
def verdicts_cache_second_start(ctx):
    """The first start reads the library and keeps its verdicts; the second
    reads none of it (no accessor decoded, -d says the verdicts came from the
    cache) and captures curl <-> s_server exactly as the first did."""
    cache = ctx.path("cache")
    err, first = curl_says(ctx, cache, "verdicts: no cache entry", "verdicts: saved in", ACCESSOR_CHECKED)
    entry = one_entry(cache)
    if os.stat(entry).st_mode & 0o077:
        raise TestFailure("%s is readable or writable by others: %o" % (entry, os.stat(entry).st_mode))
    err, second = curl_says(ctx, cache, "verdicts: from the cache, %s: version accessors hook sites" % entry,
                            absent=(ACCESSOR_CHECKED, "verdicts: saved in", "located at"))
    if first != second:
        raise TestFailure("the start from the cache attached otherwise:", "first:  " + first, "second: " + second)


@test("verdicts_cache_damaged_entry_rewritten")
def verdicts_cache_damaged_entry_rewritten(ctx):
    """A damaged entry, one made by another build, one others could have
    written: each is ignored (-d says why), the library is read, the capture
    is exact, and the entry is written anew and used by the next start."""
    cache = ctx.path("cache")
    curl_says(ctx, cache, "verdicts: saved in")
    entry = one_entry(cache)
    used = "verdicts: from the cache, %s" % entry
    rewritten = ("verdicts: saved in %s" % entry, ACCESSOR_CHECKED)

    with open(entry, "r+b") as f:           # one flipped bit in the middle
        f.seek(os.path.getsize(entry) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x10]))
    curl_says(ctx, cache, "not using %s (damaged: not a whole entry)" % entry, *rewritten, absent=(used,))
    curl_says(ctx, cache, used, absent=(ACCESSOR_CHECKED,))

    def count_past_the_end(body):           # the number of files, behind a right digest
        body[16:20] = struct.pack("<I", 0xFFFFFFFF)
        return body
    reseal(entry, count_past_the_end)
    curl_says(ctx, cache, "not using %s (damaged: not a whole entry)" % entry, *rewritten, absent=(used,))

    def other_build(body):
        body[0] ^= 1
        return body
    reseal(entry, other_build)
    curl_says(ctx, cache, "not using %s (made by another build of plainsight)" % entry, *rewritten, absent=(used,))

    open(entry, "wb").close()               # empty
    curl_says(ctx, cache, "not using %s (damaged: not a whole entry)" % entry, *rewritten, absent=(used,))

    os.chmod(entry, 0o666)                  # others could have written it
    curl_says(ctx, cache, "not using %s (owned by another user or writable by others)" % entry, *rewritten,
              absent=(used,))
    if os.stat(entry).st_mode & 0o077:
        raise TestFailure("the rewritten %s is still open to others: %o" % (entry, os.stat(entry).st_mode))
    curl_says(ctx, cache, used, absent=(ACCESSOR_CHECKED,))


def start_on(ctx, libssl, cache):
    """plainsight attached to libssl (which nobody maps), stopped at once: its stderr and attached line."""
    run = Context(ctx.name)
    try:
        ps = run.start_plainsight(["tls", "-d", "-m", "json", "--btf-cache", cache, "--libssl", libssl])
        ps.wait_attached()
        ps.stop()
        err = ps.stderr
    finally:
        ctx.plainsight = run.plainsight
        run.cleanup()
    return err, attached_line(err)


def install(src_dir, dst_dir):
    """libssl.so.3 and its libcrypto.so.3 from src_dir into dst_dir, each as a new file renamed over the old
    (as dpkg upgrades a library: a new inode at the same path)."""
    for name in ("libssl.so.3", "libcrypto.so.3"):
        shutil.copyfile(os.path.join(src_dir, name), os.path.join(dst_dir, name + ".new"))
        os.rename(os.path.join(dst_dir, name + ".new"), os.path.join(dst_dir, name))


@test("verdicts_cache_library_replaced")
def verdicts_cache_library_replaced(ctx):
    """A library upgraded in place (another OpenSSL at the same path) is read
    again, never served the verdicts of the one before: the start says the
    same as a start without any cache. The file the version is read from
    (libcrypto) counts too: a new modification time alone misses."""
    releases = {}
    for release in ("trixie", "bookworm"):
        d = os.path.join(corpus_dir(), "libssl", release, "root/usr/lib/x86_64-linux-gnu")
        if not os.path.exists(os.path.join(d, "libcrypto.so.3")):
            raise TestSkip("no %s libssl in the corpus (%s): bash tests/corpus/fetch.sh all" % (release, d))
        releases[release] = d
    cache, lib = ctx.path("cache"), ctx.path("lib")
    os.makedirs(lib)
    libssl, libcrypto = os.path.join(lib, "libssl.so.3"), os.path.join(lib, "libcrypto.so.3")
    install(releases["trixie"], lib)
    err, trixie = start_on(ctx, libssl, cache)
    says(err, ("verdicts: saved in",))
    entry = one_entry(cache)
    err, again = start_on(ctx, libssl, cache)
    says(err, ("verdicts: from the cache, %s" % entry,), absent=(ACCESSOR_CHECKED,))

    install(releases["bookworm"], lib)
    err, bookworm = start_on(ctx, libssl, cache)
    says(err, ("not using %s (%s changed since" % (entry, libssl), "verdicts: saved in %s" % entry, ACCESSOR_CHECKED),
         absent=("verdicts: from the cache",))
    _, uncached = start_on(ctx, libssl, "none")
    if bookworm != uncached or bookworm == trixie:
        raise TestFailure("after the upgrade, the start with the cache attached otherwise than one without:",
                          "before the upgrade: " + trixie, "with the cache:     " + bookworm,
                          "without a cache:    " + uncached)
    err, again = start_on(ctx, libssl, cache)
    says(err, ("verdicts: from the cache, %s" % entry,), absent=(ACCESSOR_CHECKED,))
    if again != bookworm:
        raise TestFailure("the next start, from the cache, attached otherwise:", bookworm, again)

    st = os.stat(libcrypto)
    os.utime(libcrypto, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))
    err, _ = start_on(ctx, libssl, cache)
    says(err, ("not using %s (%s changed since" % (entry, libcrypto), "verdicts: saved in %s" % entry),
         absent=("verdicts: from the cache",))


@test("verdicts_cache_none")
def verdicts_cache_none(ctx):
    capture_says(ctx, "none", "verdicts: no cache (--btf-cache none)", ACCESSOR_CHECKED)
