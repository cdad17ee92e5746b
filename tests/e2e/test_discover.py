"""Discovery (runtime/bpf/copies.c): `plainsight tls` with no --libssl
attaches to every copy of libssl a process maps, and to OpenSSL linked into
an executable, each with its own version and layout, including processes
started after plainsight and processes in a chroot or another mount
namespace. Each test starts the program after plainsight, waits for the one
stderr line saying the copy is attached (the measured delay must stay under
ATTACH_BOUND), then makes the TLS exchange and compares the plaintext byte
for byte per process and direction, and finds the json "attached" record.

Also here: after `kill -9` of plainsight, no BPF program or link of it is
left (its kernel objects live as long as its file descriptors).

Every copy is private to the test (its own inode), so that a copy another
run on this machine has mapped cannot be attached first under another pid.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import harness
import test_versions
from harness import TestFailure, TestSkip, compare_stream, indent, require_program, tail
from test_versions import NodeExchange, SslExchange, finish
from tls_servers import make_cert

TESTS, test = harness.registry()
KiB = 1024
# From the exec to the "attached" line. Measured on a 2-core VM: a libssl
# copy 20-80 ms (one uprobe per hook on an object already loaded, or a new
# object when the layout differs); Node.js ~1.3 s (reading a 120 MB
# executable's symbols and version, then loading its own object).
ATTACH_BOUND = 10.0
SYSTEM_LIBDIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")


def no_forced_libssl():
    if harness.private_libssl():
        raise TestSkip("E2E_PRIVATE_LIBSSL=1 makes every run name --libssl: discovery is what runs without it")


def start_default(ctx):
    """plainsight tls with no path: the system's libssl first, then every copy found."""
    no_forced_libssl()
    ps = ctx.start_plainsight(["tls", "-m", "json"])
    ps.wait_attached()
    return ps


def wait_attached_copy(ps, path, started, pid=None, module="tls"):
    """The 'attached MODULE to PATH of pid N (...)' line: returns (line, seconds since started)."""
    prefix = "plainsight: attached %s to %s of pid %s" % (module, path, "%d (" % pid if pid else "")
    line = ps.wait_line(prefix, ATTACH_BOUND + 20)
    delay = time.monotonic() - started
    if delay > ATTACH_BOUND:
        raise TestFailure("%s was attached %.2f s after its process started (bound %.0f s)" % (path, delay,
                                                                                           ATTACH_BOUND))
    print("    attached %s %.0f ms after the exec" % (path, delay * 1000))
    return line, delay


def check_attached_record(others, path, version, layout=None):
    """The json output has one {"notice": "attached"} record for path, with the version (and layout)."""
    recs = [o for o in others if o.get("notice") == "attached" and o.get("path") == path]
    if len(recs) != 1:
        raise TestFailure("want one json 'attached' record for %s, got %d" % (path, len(recs)),
                          *indent([json.dumps(o) for o in others if o.get("notice") == "attached"]))
    rec = recs[0]
    for key in ("pid", "version", "layout", "probes"):
        if key not in rec:
            raise TestFailure("the 'attached' record has no %r: %r" % (key, rec))
    if rec["version"] != version or (layout and rec["layout"] != layout) or rec["probes"] <= 0:
        raise TestFailure("the 'attached' record for %s says version %r, layout %r, %r probes; want version %r%s"
                          % (path, rec["version"], rec["layout"], rec["probes"], version,
                             ", layout %r" % layout if layout else ""))
    return rec


def check_targets(ps, summary, at_least):
    if not isinstance(summary.get("targets"), int) or summary["targets"] < at_least:
        raise TestFailure("the summary counts %r targets; want at least %d" % (summary.get("targets"), at_least))
    if not re.search(r"plainsight: targets: %d files probed" % summary["targets"], ps.stderr):
        raise TestFailure("no 'targets: %d files probed' line on stderr" % summary["targets"],
                          *indent(tail(ps.stderr, 10)))


def system_file(name):
    for d in SYSTEM_LIBDIRS:
        if os.path.exists(os.path.join(d, name)):
            return os.path.realpath(os.path.join(d, name))
    raise TestSkip("no %s in %s" % (name, ", ".join(SYSTEM_LIBDIRS)))


def copy_system_libssl(ctx):
    """The system's libssl.so.3 and libcrypto.so.3 copied into ctx's lib/:
    (the copy of libssl, an environment whose programs load the copies)."""
    libdir = ctx.path("lib")
    os.mkdir(libdir)
    for name in ("libssl.so.3", "libcrypto.so.3"):
        shutil.copy2(system_file(name), os.path.join(libdir, name))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": ctx.tmp, "LD_LIBRARY_PATH": libdir,
           "OPENSSL_CONF": "/dev/null"}
    return os.path.join(libdir, "libssl.so.3"), env


def version_of(ps):
    """The version the first 'attached' line names (the system's libssl)."""
    m = re.search(r"\bversion (\S+), layout", ps.attached_line or "")
    if not m:
        raise TestFailure("the first attached line names no version: %r" % ps.attached_line)
    return m.group(1)


# ---- a private copy of libssl and libcrypto, through LD_LIBRARY_PATH ----------------------------

def private_copy_test(size):
    def run(ctx):
        cert, key = make_cert(ctx)
        copy, env = copy_system_libssl(ctx)
        ps = start_default(ctx)
        started = time.monotonic()
        ex = SslExchange(ctx, [require_program("openssl")], env, cert, key, size, size)
        wait_attached_copy(ps, copy, started, ex.server.pid)
        ex.go()
        # both ends have exited: nothing maps the copy any more, and its probes go (on the exit event)
        ps.wait_line("plainsight: released tls from %s: no process maps it any more" % copy, 10)
        records = finish(ps, (ex.server.pid, ex.client.pid), ex.check)
        _, summary, others = ps.json_output()
        check_attached_record(others, copy, version_of(ps))
        if not any(o.get("notice") == "released" and o.get("path") == copy for o in others):
            raise TestFailure("no json 'released' record for %s" % copy)
        check_targets(ps, summary, 2)
        if any("not traced" in l and copy in l for l in ps.stderr.splitlines()):
            raise TestFailure("a 'not traced' notice names the copy that is attached:", *indent(tail(ps.stderr)))
        return records
    return run


test("discover_private_libssl_1B")(private_copy_test(1))
test("discover_private_libssl_100KiB")(private_copy_test(100 * KiB))


# ---- a debootstrap'd root: chroot, and chroot in a mount namespace of its own -------------------

@test("discover_chroot")
def chroot_test(ctx):
    """openssl of the trixie root, run with chroot: the root's libssl (3.5), its own layout."""
    no_forced_libssl()
    root, entry, libssl, argv, env = test_versions.chroot_openssl("trixie")
    want = test_versions.upstream_version(entry["version"])
    inside = libssl[len(root):]
    work, cert, key = test_versions.cert_in_root(ctx, root)
    try:
        ps = start_default(ctx)
        started = time.monotonic()
        ex = SslExchange(ctx, argv, env, cert, key, 4 * KiB, 4 * KiB, path=lambda p: p[len(root):])
        # another run on this machine may have this root's libssl mapped first: any pid will do
        wait_attached_copy(ps, inside, started)
        ex.go()
        finish(ps, (ex.server.pid, ex.client.pid), ex.check)
        _, summary, others = ps.json_output()
        check_attached_record(others, inside, want, "3.5")
        check_targets(ps, summary, 2)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@test("discover_mount_namespace")
def mount_namespace_test(ctx):
    """s_server in `unshare -m`, chrooted, with the root's libssl copied onto a tmpfs that only its mount
    namespace has: plainsight reaches the file through /proc/PID/root alone. The client runs outside on
    the system's libssl (attached from the start)."""
    no_forced_libssl()
    root, entry, libssl, argv, env = test_versions.chroot_openssl("trixie")
    want = test_versions.upstream_version(entry["version"])
    unshare = shutil.which("unshare")
    if not unshare:
        raise TestSkip("no unshare (util-linux)")
    work, cert, key = test_versions.cert_in_root(ctx, root)
    private = "/mnt/ps-%d" % os.getpid()
    libdir = os.path.dirname(libssl)
    script = ("set -e; mkdir -p {root}{private}; mount -t tmpfs ps-discover {root}{private}; "
              "cp {libdir}/libssl.so.3 {libdir}/libcrypto.so.3 {root}{private}/; "
              "exec chroot {root} /usr/bin/env LD_LIBRARY_PATH={private} OPENSSL_CONF=/dev/null {openssl} \"$@\""
              ).format(root=root, private=private, libdir=libdir, openssl=argv[-1])
    try:
        ps = start_default(ctx)
        started = time.monotonic()
        ex = SslExchange(ctx, [unshare, "-m", "--propagation", "private", "sh", "-c", script, "sh"], env, cert,
                         key, 4 * KiB, 4 * KiB, path=lambda p: p[len(root):])
        copy = private + "/libssl.so.3"
        if os.path.exists(os.path.join(root, copy.lstrip("/"))):
            raise TestFailure("%s%s is visible outside the mount namespace: the test proves nothing" % (root, copy))
        wait_attached_copy(ps, copy, started, ex.server.pid)
        # the client: this machine's openssl and libssl, outside
        ex.run_argv = [require_program("openssl")]
        ex.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": ctx.tmp, "OPENSSL_CONF": "/dev/null"}
        ex.go()
        finish(ps, (ex.server.pid, ex.client.pid), ex.check)
        _, summary, others = ps.json_output()
        rec = check_attached_record(others, copy, want, "3.5")
        if not rec["opened"].startswith("/proc/%d/root/" % ex.server.pid):
            raise TestFailure("the copy was opened as %r, not through /proc/%d/root" % (rec["opened"],
                                                                                      ex.server.pid))
        check_targets(ps, summary, 2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with open(os.devnull, "w") as null:
            subprocess.run(["rmdir", os.path.join(root, private.lstrip("/"))], stderr=null)


# ---- Node.js 24: OpenSSL linked into the executable --------------------------------------------

@test("discover_node24")
def node24_test(ctx):
    no_forced_libssl()
    entry = test_versions.corpus("node:24")
    want = test_versions.node_openssl_version(entry)
    node = ctx.path("node")
    shutil.copy2(entry["path"], node)
    cert, key = make_cert(ctx)
    ps = start_default(ctx)
    started = time.monotonic()
    ex = NodeExchange(ctx, node, cert, key, 64 * KiB, 64 * KiB)
    wait_attached_copy(ps, node, started, ex.server.pid)
    ex.go()
    finish(ps, (ex.server.pid, ex.client.pid), ex.check)
    _, summary, others = ps.json_output()
    check_attached_record(others, node, want)
    check_targets(ps, summary, 2)


# ---- kill -9: nothing of plainsight stays in the kernel ---------------------------------------

def bpf_ids_of(pid):
    """The BPF program and link ids pid holds, from its fds' fdinfo."""
    progs, links = set(), set()
    fd_dir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                text = f.read()
        except OSError:
            continue
        for kind, ids in (("prog_id", progs), ("link_id", links)):
            m = re.search(r"^%s:\s*(\d+)" % kind, text, re.M)
            if m:
                ids.add(int(m.group(1)))
    return progs, links


def bpftool_ids(what):
    r = subprocess.run([require_program("bpftool"), "-j", what, "show"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        raise TestFailure("bpftool %s show failed:" % what, *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return {o["id"] for o in json.loads(r.stdout or b"[]")}


@test("discover_kill9_leaves_nothing")
def kill9_test(ctx):
    """Attached to the system's libssl and a private copy (the same programs) and Node.js (an object of
    its own), then SIGKILL: bpftool lists none of its programs or links."""
    entry = test_versions.corpus("node:24")
    node = ctx.path("node")
    shutil.copy2(entry["path"], node)
    copy, _ = copy_system_libssl(ctx)
    cert, key = make_cert(ctx)
    ps = start_default(ctx)
    started = time.monotonic()
    holder = ctx.start([require_program("openssl"), "s_server", "-accept", str(harness.free_port()), "-cert", cert,
                        "-key", key, "-quiet"],
                       "openssl s_server", env={"PATH": os.environ.get("PATH", ""),
                                                "LD_LIBRARY_PATH": os.path.dirname(copy),
                                                "OPENSSL_CONF": "/dev/null"}, plain_env=True, stdin=subprocess.PIPE)
    wait_attached_copy(ps, copy, started, holder.pid)
    started = time.monotonic()
    runner = ctx.start([node, "-e", "setTimeout(() => {}, 60000)"], "node", plain_env=True,
                       env={"PATH": os.environ.get("PATH", "")})
    wait_attached_copy(ps, node, started, runner.pid)
    progs, links = bpf_ids_of(ps.pid)
    if not progs or not links:
        raise TestFailure("plainsight (pid %d) holds %d programs and %d links: fdinfo shows no prog_id or "
                          "link_id, so this test could not tell" % (ps.pid, len(progs), len(links)))
    shown = bpftool_ids("prog")
    if not progs <= shown:
        raise TestFailure("bpftool prog show lists only %d of plainsight's %d programs while it runs"
                          % (len(progs & shown), len(progs)))
    os.kill(ps.pid, signal.SIGKILL)
    ps.p.wait(30)
    # the kernel frees them once the last reference (a link's, a pending uprobe's) is gone: not always at once
    deadline = time.monotonic() + 10
    while True:
        left_progs = progs & bpftool_ids("prog")
        left_links = links & bpftool_ids("link")
        if not left_progs and not left_links:
            break
        if time.monotonic() > deadline:
            raise TestFailure("10 s after kill -9, bpftool still lists %d programs (%s) and %d links (%s) of "
                              "plainsight" % (len(left_progs), sorted(left_progs)[:8], len(left_links),
                                              sorted(left_links)[:8]))
        time.sleep(0.2)
    print("    %d programs and %d links, all gone after kill -9" % (len(progs), len(links)))


# ---- -p PID: exactly what that process maps ---------------------------------------------------

@test("discover_pid_attaches_what_it_maps")
def pid_test(ctx):
    """s_server on a private libssl copy, already running: `plainsight tls -p PID` attaches to that copy (not
    the ld.so cache's libssl), and only that process's plaintext comes out."""
    no_forced_libssl()
    cert, key = make_cert(ctx)
    copy, env = copy_system_libssl(ctx)
    ex = SslExchange(ctx, [require_program("openssl")], env, cert, key, 4 * KiB, 4 * KiB)
    ps = ctx.start_plainsight(["tls", "-m", "json", "-p", str(ex.server.pid)])
    line = ps.wait_attached()
    if not line.startswith("plainsight: attached tls to %s (" % copy):
        raise TestFailure("with -p %d, attached to something else than the copy it maps (%s):" % (ex.server.pid, copy),
                          "    " + line)
    ex.go()
    ps.stop()
    records, summary, _ = ps.json_output()
    sfd, stuple = ex.server_conn
    compare_stream(records, ex.server.pid, "write", ex.server_data, "s_server SSL writes", fd=sfd, tuple_=stuple)
    compare_stream(records, ex.server.pid, "read", ex.client_data, "s_server SSL reads", fd=sfd, tuple_=stuple)
    others = sorted({r["pid"] for r in records} - {ex.server.pid})
    if others:
        raise TestFailure("with -p %d, records of other processes: %s" % (ex.server.pid, others))
    if summary.get("targets") != 1:
        raise TestFailure("with -p, the summary counts %r targets; want 1" % summary.get("targets"))


# ---- without root: capabilities only -----------------------------------------------------------

CAPS = ["bpf", "perfmon", "sys_ptrace", "dac_read_search"]


class CapsPlainsight(harness.Plainsight):
    """plainsight run by user nobody with only the capabilities caps (setpriv, ambient)."""

    def __init__(self, ctx, caps, args):
        setpriv = shutil.which("setpriv")
        if not setpriv:
            raise TestSkip("setpriv (util-linux) not found")
        caps = ",".join("+" + c for c in caps)
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=" + caps,
                  "--ambient-caps=" + caps]
        self.bin = harness.binary()
        self.stdout_path = ctx.path("plainsight-%d.out" % len(ctx.procs))
        self.outf = open(self.stdout_path, "wb")
        try:
            harness.Proc.__init__(self, ctx, prefix + [self.bin] + args, "plainsight (nobody)", stdout=self.outf,
                                  plain_env=True)
        finally:
            self.outf.close()
        self.attached_line = None


def attached_or_refused(ps):
    """Waits for the attached line (None) or plainsight's exit; an exit must say one line naming a capability."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "plainsight: attached" in ps.stderr:
            return None
        if ps.p.poll() is not None:
            ps.join_readers()
            lines = [l for l in ps.stderr.splitlines() if l.strip()]
            if ps.p.returncode == 0 or len(lines) != 1 or not re.search(r"\bCAP_[A-Z_]+\b", lines[0]):
                raise TestFailure("plainsight as nobody with %s exited %d; want one line naming the missing "
                                  "capability:" % (ps.argv[4], ps.p.returncode), *indent(lines[-10:]))
            return lines[0]
        time.sleep(0.1)
    raise TestFailure("plainsight as nobody neither attached nor exited within 30 s", *indent(tail(ps.stderr)))


@test("discover_unprivileged_capabilities")
def unprivileged_test(ctx):
    """User nobody with CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH: it captures, or says in
    one line which capability this kernel wants more (6.18 refuses perf_event_open's uprobes without
    CAP_SYS_ADMIN), and then captures with it. With CAP_BPF alone: one line naming CAP_PERFMON."""
    no_forced_libssl()
    ps = CapsPlainsight(ctx, ["bpf"], ["tls", "-m", "json"])
    line = attached_or_refused(ps)
    if not line or "CAP_PERFMON" not in line:
        raise TestFailure("with CAP_BPF alone, want one line naming CAP_PERFMON; got %r" % line)
    caps = list(CAPS)
    ps = CapsPlainsight(ctx, caps, ["tls", "-m", "json"])
    line = attached_or_refused(ps)
    if line:
        missing = re.search(r"\bCAP_([A-Z_]+)\b", line).group(1).lower()
        if missing in caps:
            raise TestFailure("with %s, the line names %s, which it has: %r" % (caps, missing, line))
        print("    with %s: %s" % ("+".join(caps), line))
        caps.append(missing)
        ps = CapsPlainsight(ctx, caps, ["tls", "-m", "json"])
        if attached_or_refused(ps):
            raise TestFailure("with %s added, still refused:" % missing, *indent(tail(ps.stderr)))
    cert, key = make_cert(ctx)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": ctx.tmp, "OPENSSL_CONF": "/dev/null"}
    ex = SslExchange(ctx, [require_program("openssl")], env, cert, key, 4 * KiB, 4 * KiB)
    ex.go()
    finish(ps, (ex.server.pid, ex.client.pid), ex.check)
    print("    captured as nobody with %s" % "+".join(caps))


# ---- NSS: a copy is the files of the module's three targets one process maps --------------------
#
# The nss module hooks three files: NSPR's libnspr4 (plaintext), NSS's libssl3
# (its version, the TLS 1.3 labels) and freebl (the secrets), which NSS's
# softoken dlopens only when NSS starts. A process with its own copies of them
# (LD_LIBRARY_PATH, Firefox's bundle) gets them probed, each file once.

NSS_LIBRARIES = ("libssl3.so", "libnss3.so", "libnssutil3.so", "libsmime3.so", "libsoftokn3.so",
                 "libfreeblpriv3.so", "libnspr4.so", "libplc4.so", "libplds4.so")


def copy_system_nss(ctx, freebl_apart):
    """NSS and NSPR copied into ctx's nsslib/ (new inodes), freebl into freebl/ when freebl_apart (the
    softoken, finding none beside it, dlopens it through LD_LIBRARY_PATH): (the directories, an
    environment loading the copies)."""
    import test_nss
    test_nss.need_tools()
    libdir, fbdir = ctx.path("nsslib"), ctx.path("freebl") if freebl_apart else ctx.path("nsslib")
    for d in {libdir, fbdir}:
        os.mkdir(d)
    for name in NSS_LIBRARIES:
        shutil.copy2(system_file(name), os.path.join(fbdir if name == "libfreeblpriv3.so" else libdir, name))
    env = dict(test_nss.no_keylog_env(), LD_LIBRARY_PATH=":".join(sorted({libdir, fbdir})))
    return libdir, fbdir, env


def nss_private_copy(ctx, freebl_apart):
    """selfserv and tstclnt on a private copy of NSS and NSPR, both started after `plainsight nss -m json -k
    FILE` with no path: the copy (libssl3, freebl, libnspr4) is attached with one line naming its files,
    each side's plaintext is byte-exact, the TLS 1.3 secrets come from the copy's freebl, and once both
    have exited the copy is released. With freebl_apart, the copy's freebl, in another directory, is
    found only when the softoken dlopens it as NSS starts: a second line attaches it."""
    import test_nss
    from test_keylog import check_keylog_file
    libdir, fbdir, env = copy_system_nss(ctx, freebl_apart)
    keylog = ctx.path("keys.log")
    ps = ctx.start_plainsight(["nss", "-m", "json", "-k", keylog])
    ps.wait_attached()
    want_version = re.search(r"\(version (\S+), layout", ps.attached_line or "").group(1)
    started = time.monotonic()
    srv, port = test_nss.selfserv(ctx, "1.3", env=env)
    copy, freebl = os.path.join(libdir, "libssl3.so"), os.path.join(fbdir, "libfreeblpriv3.so")
    line = wait_attached_copy(ps, copy, started, srv.pid, module="nss")[0]
    also = [os.path.join(libdir, "libnspr4.so")] + ([] if freebl_apart else [freebl])
    if any(other not in line for other in also) or (freebl_apart and freebl in line):
        raise TestFailure("the attached line does not name the copy's files %s%s:" % (
            also, ", and only them" if freebl_apart else ""), "    " + line)
    if freebl_apart:
        wait_attached_copy(ps, freebl, started, module="nss")
    maps = open("/proc/%d/maps" % srv.pid).read()
    for name, path in (("libssl3.so", copy), ("libnspr4.so", also[0]), ("libfreeblpriv3.so", freebl)):
        if path not in maps or "/" + name in maps.replace(path, ""):
            raise TestFailure("selfserv does not map %s alone: the test proves nothing" % path)
    request = b"GET /nss-discover-%s HTTP/1.0\r\nX-Fill: %s\r\n\r\n" % (os.urandom(8).hex().encode(),
                                                                     os.urandom(2 * KiB).hex().encode())
    cli = ctx.start(["tstclnt", "-D", "-o", "-4", "-V", test_nss.VERSIONS["1.3"], "-h", "127.0.0.1", "-p",
                     str(port)], "tstclnt", stdin=subprocess.PIPE, collect_stdout=True, env=env)
    cli.p.stdin.write(request)
    cli.p.stdin.flush()
    # selfserv answers (a header, the request echoed, "EOF") and closes; tstclnt writes what it read to stdout
    harness.wait_until(lambda: cli.stdout_bytes.endswith(b"EOF\r\n\r\n\r\n") or cli.p.poll() is not None, 30,
                       "tstclnt to read selfserv's answer")
    if request not in cli.stdout_bytes:
        raise TestFailure("selfserv's answer, as tstclnt read it, does not echo the request:",
                          *indent(tail(cli.stdout_bytes.decode("utf-8", "replace"))), "tstclnt:",
                          *indent(tail(cli.stderr)))
    time.sleep(0.3)
    answer = cli.stdout_bytes
    for proc in (cli, srv):
        proc.kill()
    for path in [copy] + ([freebl] if freebl_apart else []):
        ps.wait_line("plainsight: released nss from %s: no process maps it any more" % path, 10)
    ps.stop()
    records, summary, others = ps.json_output()
    compare_stream(records, cli.pid, "write", request, "tstclnt's sends (private NSS)", module="nss")
    compare_stream(records, cli.pid, "read", answer, "tstclnt's receives (private NSS)", module="nss")
    compare_stream(records, srv.pid, "read", request, "selfserv's receives (private NSS)", module="nss")
    compare_stream(records, srv.pid, "write", answer, "selfserv's sends (private NSS)", module="nss")
    # freebl's hooks in the copy's freebl (the system's is not mapped): the handshake's five secrets
    check_keylog_file(keylog, True)
    rec = check_attached_record(others, copy, want_version)
    if sorted(rec.get("also", [])) != sorted(also):
        raise TestFailure("the json 'attached' record's also lists %r, not %r" % (rec.get("also"), also))
    if not any(o.get("notice") == "released" and o.get("path") == copy for o in others):
        raise TestFailure("no json 'released' record for %s" % copy)
    # the system's three files and the copy's three
    check_targets(ps, summary, 6)
    if any("not traced" in l and libdir in l for l in ps.stderr.splitlines()):
        raise TestFailure("a 'not traced' notice names the copy that is attached:", *indent(tail(ps.stderr)))


@test("discover_nss_private_copy")
def nss_private_copy_test(ctx):
    nss_private_copy(ctx, False)


@test("discover_nss_freebl_dlopened_apart")
def nss_freebl_apart_test(ctx):
    nss_private_copy(ctx, True)


@test("discover_nss_firefox")
def nss_firefox_test(ctx):
    """Firefox ESR's bundled NSS (its own libssl3 and freebl on the system's NSPR), with no path given:
    attached as Firefox maps it (libssl3 and freebl; NSPR keeps the system's probes); every request
    and answer of its connections byte for byte, and its TLS 1.3 keys line for line those its NSS
    writes itself (SSLKEYLOGFILE), as with --nss and --freebl (test_nss.py's nss_firefox_*)."""
    import test_nss
    test_nss.need_firefox()
    ff_ssl = os.path.join(test_nss.FIREFOX_DIR, "libssl3.so")
    keylog, reference = ctx.path("keys.log"), ctx.path("nss.keys")
    ps, entries, port, _ = test_nss.firefox_fetch(ctx, ["-m", "json", "-k", keylog],
                                                  env=dict(test_nss.no_keylog_env(), SSLKEYLOGFILE=reference))
    # another Firefox on this machine may have mapped it first: any pid will do
    line = next((l for l in ps.stderr.splitlines() if l.startswith("plainsight: attached nss to %s of pid" % ff_ssl)),
                None)
    if not line or os.path.join(test_nss.FIREFOX_DIR, "libfreeblpriv3.so") not in line or "libnspr4" in line:
        raise TestFailure("no attached line naming Firefox's libssl3 and freebl (and not NSPR, probed already):",
                          *indent(tail(ps.stderr)))
    print("    " + line)
    records, summary, others = ps.json_output()
    ours = [r for r in records if r.get("event") == "tls_data" and r.get("dport") == port]
    for cport, got, sent in entries:
        conn = [r for r in ours if r.get("sport") == cport]
        pid = conn[0]["pid"] if conn else -1
        tuple_ = (test_nss.LOCAL, cport, test_nss.LOCAL, port)
        compare_stream(conn, pid, "write", got, "Firefox's request on port %d" % cport, tuple_=tuple_, module="nss")
        compare_stream(conn, pid, "read", sent, "the answer Firefox read on port %d" % cport, tuple_=tuple_,
                       module="nss")
    check_attached_record(others, ff_ssl, re.search(r"\(version (\S+),", line).group(1))
    test_nss.compare_keylogs(keylog, reference, "the key log Firefox's NSS wrote itself (SSLKEYLOGFILE)")
    if summary is None or summary.get("lost_bytes"):
        raise TestFailure("bytes lost: %r" % (summary,))
