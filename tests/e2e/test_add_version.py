"""The maintainer's path of "Adding an OpenSSL version" (README.md,
offsets/README.md), end to end, in a temporary copy of the repository:

  1. copy the repository's files (tracked and new, not build output) to a
     temporary directory and delete the copy's layout file
     specs/openssl/layouts/3.0.spec;
  2. `make offsets SRC=<Debian bookworm's OpenSSL 3.0 source>` in the copy
     (the corpus cache, tests/corpus/fetch.sh openssl-src:bookworm), which
     writes that file again;
  3. `make` in the copy, with its own OUT directory;
  4. capture with the copy's plainsight on this machine's libssl (3.0.x):
     the attached line names layout 3.0, the plaintext is byte-exact, no
     offset disagrees with the socket's fd, json shows the tls_secrets event,
     and keylog mode writes lines with which tshark decrypts the request.

The written file must be the repository's own, byte for byte: the path
reproduces what is committed.
"""

import os
import re
import shutil
import subprocess

from harness import TestFailure, TestSkip, indent, repo_root, tail

TESTS = []
# The copy's build (probec, the BPF objects, plainsight) takes a minute or two.
TIMEOUT = 900

LAYOUT_30 = "specs/openssl/layouts/3.0.spec"


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


@test("add_version_end_to_end", timeout=TIMEOUT)
def add_version(ctx):
    import test_keylog
    import test_tls
    import test_versions
    import harness

    src = bookworm_source(ctx)
    copy = copy_repository(ctx)
    layout_path = os.path.join(copy, LAYOUT_30)

    # 1. Take the 3.0 layout out.
    with open(layout_path, "rb") as f:
        committed = f.read()
    os.unlink(layout_path)

    out = os.path.join(copy, "out")
    env = dict(os.environ, OUT=out)
    env.pop("MAKEFLAGS", None)
    env.pop("MAKELEVEL", None)

    # 2. The offsets tool, as README.md says: make offsets SRC=TREE.
    run(ctx, ["make", "-j2", "OUT=" + out, os.path.join(out, "offsets"), os.path.join(out, "probec")],
        copy, "building the offsets tool in the copy", 600, env)
    r = run(ctx, ["make", "-s", "--no-print-directory", "OUT=" + out, "offsets", "SRC=" + src],
            copy, "make offsets SRC=%s in the copy" % src, 300, env)
    if not os.path.isfile(layout_path):
        raise TestFailure("make offsets wrote no %s:" % LAYOUT_30,
                          *indent(tail(r.stderr.decode("utf-8", "replace"), 15)))
    with open(layout_path, "rb") as f:
        written = f.read()
    ctx.write("layout-3.0.spec", written)
    if written != committed:
        import difflib
        diff = difflib.unified_diff(committed.decode("utf-8", "replace").splitlines(),
                                    written.decode("utf-8", "replace").splitlines(), "committed", "written",
                                    lineterm="")
        raise TestFailure("the rewritten %s differs from the committed one:" % LAYOUT_30, *indent(list(diff)[:30]))

    # 3. make, in the copy, with its own OUT.
    run(ctx, ["make", "-j2", "OUT=" + out], copy, "make in the copy", 800, env)
    ps_bin = os.path.join(out, "plainsight")
    if not os.access(ps_bin, os.X_OK):
        raise TestFailure("make in the copy built no %s" % ps_bin)

    # 4. Capture with the copy's plainsight (harness.binary() follows OUT).
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
