"""The maintainer's path of "Adding an OpenSSL version" (README.md,
offsets/README.md), end to end, in a temporary copy of the repository:

  1. copy the repository's files (tracked and new, not build output) to a
     temporary directory and take the 3.0 layout out of the copy's spec;
  2. `make offsets SRC=<Debian bookworm's OpenSSL 3.0 source>` in the copy
     (the corpus cache, tests/corpus/fetch.sh openssl-src:bookworm);
  3. paste the printed block into the copy's spec where the old one was;
  4. `make` in the copy, with its own OUT directory;
  5. capture with the copy's plainsight on this machine's libssl (3.0.x):
     the attached line names layout 3.0, the plaintext is byte-exact, no
     offset disagrees with the socket's fd, json shows the tls_secrets event,
     and keylog mode writes lines with which tshark decrypts the request.

The regenerated block must also give every field the number the repository's
own 3.0 layout gives: the path reproduces what is committed.
"""

import os
import re
import shutil
import subprocess

from harness import TestFailure, TestSkip, indent, repo_root, tail

TESTS = []
# The copy's build (probec, the BPF objects, plainsight) takes a minute or two.
TIMEOUT = 900

SPEC = "specs/openssl/openssl.spec"
LAYOUT_30_RE = re.compile(r'^    layout "3\.0" versions "3\.0\.0" \.\. "3\.0\.99" \{\n.*?^    \}\n', re.M | re.S)
FIELD_RE = re.compile(r"^\s+([a-z_0-9]+(?:\.[a-z_0-9]+)+) = (\d+|absent);", re.M)


def test(name, timeout=None):
    def reg(fn):
        if timeout:
            fn.timeout = timeout
        TESTS.append((name, fn))
        return fn
    return reg


def run(ctx, argv, cwd, what, timeout, env=None):
    try:
        r = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise TestFailure("%s: timed out after %d s: %s" % (what, timeout, " ".join(argv)))
    if r.returncode != 0:
        raise TestFailure("%s failed (status %d): %s" % (what, r.returncode, " ".join(argv)),
                          "stdout:", *indent(tail(r.stdout.decode("utf-8", "replace"), 15)),
                          "stderr:", *indent(tail(r.stderr.decode("utf-8", "replace"), 25)))
    return r


def bookworm_source(ctx):
    """The cached OpenSSL 3.0 source tree, fetched if need be; skips loudly."""
    root = repo_root()
    r = subprocess.run([os.path.join(root, "tests/corpus/fetch.sh"), "openssl-src:bookworm"],
                       cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    cache = os.environ.get("PLAINSIGHT_CACHE", "/var/cache/plainsight-corpus")
    src = None
    try:
        with open(os.path.join(cache, "MANIFEST")) as f:
            for line in f:
                w = line.split()
                if len(w) >= 4 and w[0] == "openssl-src" and w[1] == "bookworm":
                    src = w[3]
    except OSError:
        pass
    if not src or not os.path.isfile(os.path.join(src, "ssl", "ssl_local.h")):
        msg = r.stderr.decode("utf-8", "replace").strip().splitlines()
        raise TestSkip("*** NOT TESTED: the OpenSSL 3.0 source (openssl-src:bookworm) cannot be fetched into %s: %s"
                       % (cache, msg[-1] if msg else "tests/corpus/fetch.sh status %d" % r.returncode))
    return src


def copy_repository(ctx):
    """The repository's files as they are now (tracked, and new ones not
    ignored), without build output, in ctx.tmp/repo."""
    root = repo_root()
    r = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                       cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        raise TestSkip("*** NOT TESTED: git ls-files failed in %s: %s"
                       % (root, r.stderr.decode("utf-8", "replace").strip()))
    dst = ctx.path("repo")
    n = 0
    for rel in r.stdout.decode().split("\0"):
        if not rel:
            continue
        src = os.path.join(root, rel)
        if not os.path.lexists(src):  # deleted in the work tree
            continue
        d = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(src, d, follow_symlinks=False)
        n += 1
    if n == 0:
        raise TestFailure("git ls-files listed no files in %s" % root)
    return dst


def fields_of(block):
    return dict(FIELD_RE.findall(block))


@test("add_version_end_to_end", timeout=TIMEOUT)
def add_version(ctx):
    import test_keylog
    import test_tls
    import test_versions
    import harness

    src = bookworm_source(ctx)
    copy = copy_repository(ctx)
    spec_path = os.path.join(copy, SPEC)
    with open(spec_path) as f:
        spec = f.read()

    # 1. Take the 3.0 layout out, with the comment lines above it.
    m = LAYOUT_30_RE.search(spec)
    if not m:
        raise TestFailure("no layout \"3.0\" versions \"3.0.0\" .. \"3.0.99\" block in %s" % SPEC)
    start = m.start()
    lines_before = spec[:start].split("\n")[:-1]
    while lines_before and lines_before[-1].startswith("    #"):
        lines_before.pop()
    start = len("\n".join(lines_before)) + 1
    old_block = spec[start:m.end()]
    want = fields_of(old_block)
    spec = spec[:start] + spec[m.end():]
    if 'layout "3.0"' in spec:
        raise TestFailure("the copy's spec still has a layout \"3.0\" after removing it")
    with open(spec_path, "w") as f:
        f.write(spec)

    out = os.path.join(copy, "out")
    env = dict(os.environ, OUT=out)
    env.pop("MAKEFLAGS", None)
    env.pop("MAKELEVEL", None)

    # 2. The offsets tool, as README.md says: make offsets SRC=TREE.
    run(ctx, ["make", "-j2", "OUT=" + out, os.path.join(out, "offsets"), os.path.join(out, "probec")],
        copy, "building the offsets tool in the copy", 600, env)
    r = run(ctx, ["make", "-s", "--no-print-directory", "OUT=" + out, "offsets", "SRC=" + src],
            copy, "make offsets SRC=%s in the copy" % src, 300, env)
    block = r.stdout.decode("utf-8", "replace")
    ctx.write("layout-3.0.txt", r.stdout)
    if not re.search(r'^    layout "3\.0" versions "3\.0\.0" \.\. "3\.0\.99" \{$', block, re.M):
        raise TestFailure("make offsets printed no layout \"3.0\" block:", *indent(tail(block, 20)))
    got = fields_of(block)
    diff = ["%s: tool %s, repository %s" % (k, got.get(k), want.get(k))
            for k in sorted(set(got) | set(want)) if got.get(k) != want.get(k)]
    if diff:
        raise TestFailure("the regenerated 3.0 layout differs from the repository's:", *indent(diff))

    # 3. Paste it where the old one was.
    if not block.endswith("\n"):
        block += "\n"
    spec = spec[:start] + block + spec[start:]
    with open(spec_path, "w") as f:
        f.write(spec)

    # 4. make, in the copy, with its own OUT.
    run(ctx, ["make", "-j2", "OUT=" + out], copy, "make in the copy", 800, env)
    ps_bin = os.path.join(out, "plainsight")
    if not os.access(ps_bin, os.X_OK):
        raise TestFailure("make in the copy built no %s" % ps_bin)

    # 5. Capture with the copy's plainsight (harness.binary() follows OUT).
    saved = os.environ.get("OUT")
    os.environ["OUT"] = out
    try:
        if harness.binary() != ps_bin:
            raise TestFailure("harness.binary() is %s, not the copy's %s" % (harness.binary(), ps_bin))
        # Plaintext, byte-exact, in json mode: and the secrets event beside it.
        ps, records, summary = test_tls.python_capture(ctx, 100 * 1024, 64 * 1024, extra=("--secrets",))
        err = ps.stderr
        m = test_versions.ATTACHED_RE.search(err)
        if not m or m.group(4) != "3.0" or not m.group(3).startswith("3.0."):
            raise TestFailure("the copy's plainsight did not attach with layout 3.0 to a 3.0.x libssl:",
                              *indent(tail(err, 15)))
        if re.search(r"do not fit this binary|no layout for", err):
            raise TestFailure("the regenerated layout does not fit the system libssl:", *indent(tail(err, 15)))
        _, _, others = ps.json_output()
        secrets = [o for o in others if o.get("event") == "tls_secrets"]
        if not secrets or not all(re.fullmatch(r"[0-9a-f]{64}", s.get("client_random", "")) for s in secrets):
            raise TestFailure("json mode: no tls_secrets event with a client random (%d events)" % len(secrets),
                              *indent([repr(s) for s in secrets[:4]]))
        # Keylog: TLS 1.3 and 1.2 keys with which tshark decrypts the request.
        for maxv in ("1.3", "1.2"):
            sub = harness.Context("%s-tls%s" % (ctx.name, maxv))
            try:
                test_keylog.keylog_exchange(sub, "client", "curl", "python", maxv)
            except TestFailure as e:
                if sub.plainsight is not None:
                    e.lines.append("keylog plainsight stderr:")
                    e.lines.extend(indent(tail(sub.plainsight.stderr)))
                raise
            finally:
                sub.cleanup()
    finally:
        if saved is None:
            os.environ.pop("OUT", None)
        else:
            os.environ["OUT"] = saved
