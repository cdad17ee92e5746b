"""OpenSSL versions end to end: real binaries of many releases, traced with
--libssl, their plaintext compared byte for byte per process, direction and
connection, client and server side.

  libssl 1.1.1 (bullseye)   that suite's openssl s_server/s_client, run from
                            the unpacked debs with LD_LIBRARY_PATH
  libssl 3.5 (trixie),      the same inside a debootstrap'd trixie root (their
  libssl 3.6 (sid)          libcrypto needs a newer glibc than this machine's),
                            run with chroot; plainsight runs outside and points
                            --libssl at the library inside the root
  Node.js 8 .. 24           node_peer.js (node's own tls module) as server and
                            client, --libssl pointing at the node executable
                            (OpenSSL 1.0.2s .. 3.5.9 linked in statically)

Every corpus comes from tests/corpus/fetch.sh (one cache directory:
$PLAINSIGHT_CACHE, default /var/cache/plainsight-corpus); the chroot is built
once into that cache (CACHE/roots/trixie) and reused. A corpus that cannot be
fetched or built makes its tests SKIP with the reason, never pass.

What a test checks besides the bytes:
- plainsight's "attached" line names the version the corpus really is (the
  manifest's, e.g. 1.1.1w, 3.5.9, 1.0.2s) and says which layout it used; a
  run without a layout must say so in a warning, one with the nearest lower
  layout must say that too, and the offsets' fd must never disagree;
- the fd: s_server and s_client give OpenSSL a socket BIO, so each record
  names the socket's real fd (read from /proc/PID/fd during the exchange) and
  the connection's 4-tuple; Node.js hands OpenSSL memory BIOs (libuv does the
  socket I/O outside SSL_read/SSL_write, on the same thread), and each record
  must still name one socket and the connection's 4-tuple as node_peer.js
  reports it.
"""

import atexit
import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import harness
from harness import (TestFailure, TestSkip, compare_bytes, compare_stream, free_port, indent, listening,
                     repo_root, tail, wait_until)
from test_tls import check_summary, with_loss_context
from tls_servers import make_cert, read_json_line, read_rest_json

TESTS, test = harness.registry()
KiB, MiB = 1024, 1024 * 1024
LOCAL = "127.0.0.1"
WORK_TIMEOUT = 60
FETCH_TIMEOUT = 600      # one corpus item, first time (downloads)
ROOT_TIMEOUT = 1200      # debootstrap, first time
ROOT_SUITE = "trixie"    # its glibc (2.41) runs trixie's and sid's OpenSSL
NODE_PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_peer.js")
FETCH = os.path.join(repo_root(), "tests", "corpus", "fetch.sh")


# ---- time bounds ------------------------------------------------------------------

@contextlib.contextmanager
def preparation(seconds):
    """Fetching or building a corpus the first time may take longer than a
    test may: the block gets its own bound (seconds, plus a margin), and the
    test's usual bound starts anew after it."""
    signal.alarm(seconds + 60)
    try:
        yield
    finally:
        signal.alarm(int(os.environ.get("E2E_TEST_TIMEOUT", "180")))


# ---- the corpus -----------------------------------------------------------------

def cache_dir():
    return os.environ.get("PLAINSIGHT_CACHE") or "/var/cache/plainsight-corpus"


_fetched = {}


def corpus(item):
    """Fetches one fetch.sh item (e.g. "libssl:bullseye", "node:16") and
    returns its manifest entry: {"version", "path", "note"}. SKIPs, with
    fetch.sh's complaint, when it cannot be had. Once per run per item."""
    if item in _fetched:
        if isinstance(_fetched[item], str):
            raise TestSkip(_fetched[item])
        return _fetched[item]
    kind, name = item.split(":", 1)
    why = None
    with preparation(FETCH_TIMEOUT):
        try:
            r = subprocess.run(["bash", FETCH, "--cache", cache_dir(), item], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=FETCH_TIMEOUT)
            if r.returncode != 0:
                err = [l for l in r.stderr.decode("utf-8", "replace").splitlines() if l.strip()]
                why = "corpus %s cannot be fetched (tests/corpus/fetch.sh exit %d: %s)" % (
                    item, r.returncode, err[-1] if err else "no message")
        except subprocess.TimeoutExpired:
            why = "corpus %s: tests/corpus/fetch.sh did not finish within %d s" % (item, FETCH_TIMEOUT)
        except OSError as e:
            why = "corpus %s: cannot run tests/corpus/fetch.sh: %s" % (item, e)
    entry = None
    if why is None:
        try:
            with open(os.path.join(cache_dir(), "MANIFEST")) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 4 and parts[0] == kind and parts[1] == name:
                        entry = {"version": parts[2], "path": parts[3], "note": " ".join(parts[4:])}
        except OSError as e:
            why = "corpus %s: no manifest in %s: %s" % (item, cache_dir(), e)
        if entry is None and why is None:
            why = "corpus %s: fetch.sh succeeded but its MANIFEST names no %s %s" % (item, kind, name)
    if why:
        _fetched[item] = why
        raise TestSkip(why)
    _fetched[item] = entry
    return entry


def upstream_version(debian_version):
    """1.1.1w-0+deb11u8 -> 1.1.1w; 3.6.5-1 -> 3.6.5."""
    v = debian_version.split(":", 1)[-1]
    return v.rsplit("-", 1)[0] if "-" in v else v


def node_openssl_version(entry):
    """The manifest's note for a node item: (openssl_1.1.1v+quic)."""
    m = re.search(r"openssl_([0-9][^) ]*)", entry["note"])
    if not m:
        raise TestSkip("corpus node: the manifest does not say which OpenSSL the executable has: %r"
                       % entry["note"])
    return m.group(1)


# ---- the chroot -------------------------------------------------------------------

def debian_mirror():
    """The Debian mirror this machine's apt uses (PLAINSIGHT_DEBIAN_MIRROR
    overrides, as for fetch.sh)."""
    if os.environ.get("PLAINSIGHT_DEBIAN_MIRROR"):
        return os.environ["PLAINSIGHT_DEBIAN_MIRROR"]
    files = ["/etc/apt/sources.list"]
    d = "/etc/apt/sources.list.d"
    if os.path.isdir(d):
        files += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    for path in files:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        # one-line style ("deb URI suite ...") and deb822 ("URIs: URI")
        for m in re.finditer(r"^\s*(?:deb(?:\s+\[[^\]]*\])?\s+|URIs:\s*)(\S+)", text, re.M):
            uri = m.group(1).rstrip("/")
            if uri.endswith("/debian") and "security" not in uri:
                return uri
    return "http://deb.debian.org/debian"


def mounts_under(path):
    out = []
    with open("/proc/mounts") as f:
        for line in f:
            mp = line.split()[1].replace("\\040", " ")
            if mp == path or mp.startswith(path + "/"):
                out.append(mp)
    return sorted(out, key=len, reverse=True)


def remove_tree(path):
    """rm -rf that never crosses into a file system mounted below (debootstrap
    mounts /proc and /sys in its target; a killed one may leave them)."""
    for mp in mounts_under(path):
        subprocess.run(["umount", "-l", mp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["rm", "-rf", "--one-file-system", path], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


_roots = {}


def chroot_root(suite=ROOT_SUITE):
    """CACHE/roots/SUITE: a minbase root of that Debian suite built once with
    debootstrap. Returns its path; SKIPs with the reason when it cannot be built."""
    _root = _roots.setdefault(suite, {})
    if "path" in _root:
        return _root["path"]
    if "why" in _root:
        raise TestSkip(_root["why"])
    base = os.path.join(cache_dir(), "roots")
    root = os.path.join(base, suite)
    stamp = os.path.join(root, ".plainsight-root")
    if os.path.exists(stamp):
        _root["path"] = root
        return root
    try:
        os.makedirs(base, exist_ok=True)
    except OSError as e:
        _root["why"] = "cannot create %s for the %s chroot: %s" % (base, suite, e)
        raise TestSkip(_root["why"])
    lock = open(os.path.join(base, ".lock"), "w")
    try:
        with preparation(ROOT_TIMEOUT):
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not os.path.exists(stamp):
                why = build_root(suite, root)
                if why:
                    _root["why"] = why
                    raise TestSkip(why)
    finally:
        lock.close()
    _root["path"] = root
    return root


def build_root(suite, root):
    """Runs debootstrap into root.tmp and moves it into place; returns None
    or why it failed."""
    tool = shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if os.path.exists("/usr/sbin/debootstrap")
                                           else None)
    if not tool:
        return "debootstrap not installed (apt-get install debootstrap): no %s chroot" % suite
    tmp = root + ".tmp"
    log = root + ".log"
    remove_tree(tmp)
    mirror = debian_mirror()
    t0 = time.monotonic()
    argv = [tool, "--variant=minbase", suite, tmp, mirror]
    why = None
    with open(log, "wb") as logf:
        logf.write(("$ %s\n" % " ".join(argv)).encode())
        logf.flush()
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                 start_new_session=True)
            try:
                rc = p.wait(ROOT_TIMEOUT)
                if rc != 0:
                    why = "debootstrap %s exited with status %d" % (suite, rc)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                why = "debootstrap %s did not finish within %d s" % (suite, ROOT_TIMEOUT)
        except OSError as e:
            why = "cannot run debootstrap: %s" % e
    if why is None and not os.path.exists(os.path.join(tmp, "usr", "bin", "env")):
        why = "debootstrap %s made no usable root" % suite
    if why:
        last = ""
        with contextlib.suppress(OSError), open(log, "rb") as f:
            lines = [l for l in f.read().decode("utf-8", "replace").splitlines() if l.strip()]
            last = lines[-1] if lines else ""
        remove_tree(tmp)
        return "%s from %s (log %s: %s)" % (why, mirror, log, last[:200])
    with open(os.path.join(tmp, ".plainsight-root"), "w") as f:
        f.write("debootstrap --variant=minbase %s %s, %.0f s\n" % (suite, mirror, time.monotonic() - t0))
    for mp in mounts_under(tmp):
        subprocess.run(["umount", "-l", mp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    remove_tree(root)
    os.rename(tmp, root)
    return None


def root_with_suite(suite):
    """The chroot with suite's libssl and openssl (from fetch.sh's unpacked
    debs) copied into /opt/plainsight/SUITE; returns (root, entry)."""
    entry = corpus("libssl:" + suite)
    root = chroot_root()
    dest = os.path.join(root, "opt", "plainsight", suite)
    stamp = os.path.join(dest, ".version")
    want = entry["version"] + " " + entry["path"] + "\n"
    with contextlib.suppress(OSError), open(stamp) as f:
        if f.read() == want:
            return root, entry
    remove_tree(dest)
    os.makedirs(dest)
    r = subprocess.run(["cp", "-a", os.path.join(entry["path"], "usr"), dest], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    if r.returncode != 0:
        raise TestFailure("copying %s into the chroot failed:" % entry["path"],
                          *indent(tail(r.stdout.decode("utf-8", "replace"))))
    with open(stamp, "w") as f:
        f.write(want)
    return root, entry


# ---- sockets ------------------------------------------------------------------------

def _addr(hexaddr):
    ip, port = hexaddr.split(":")
    b = bytes.fromhex(ip)[::-1]
    return "%d.%d.%d.%d" % tuple(b), int(port, 16)


def tcp_conns(pid):
    """The established IPv4 TCP connections pid holds: [(fd, (laddr, lport, raddr, rport))]."""
    inodes = {}
    d = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(d)
    except OSError:
        return []
    for fd in fds:
        try:
            m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(os.path.join(d, fd)))
        except OSError:
            continue
        if m:
            inodes[int(m.group(1))] = int(fd)
    out = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            p = line.split()
            if len(p) > 9 and p[3] == "01" and int(p[9]) in inodes:
                (la, lp), (ra, rp) = _addr(p[1]), _addr(p[2])
                out.append((inodes[int(p[9])], (la, lp, ra, rp)))
    return out


def conn_of(pid, peer_port=None, local_port=None):
    """pid's one connection to peer_port (or from local_port): (fd, tuple)."""
    for fd, t in tcp_conns(pid):
        if (peer_port is None or t[3] == peer_port) and (local_port is None or t[1] == local_port):
            return fd, t
    return None


# ---- openssl s_server <-> s_client -----------------------------------------------------

class Feeder:
    """Writes bytes into a process's stdin from a thread (a pipe holds 64 KiB)."""

    def __init__(self, proc, data):
        self.err = []
        self.t = threading.Thread(target=self._run, args=(proc, data), daemon=True)
        self.t.start()

    def _run(self, proc, data):
        try:
            proc.p.stdin.write(data)
            proc.p.stdin.flush()
        except OSError as e:
            self.err.append(e)

    def join(self, what):
        self.t.join(WORK_TIMEOUT)
        if self.t.is_alive() or self.err:
            raise TestFailure("feeding %s's stdin failed: %r" % (what, self.err or "timed out"))


class SslExchange:
    """openssl s_server -quiet and s_client -quiet, one connection: the
    client's stdin goes out over TLS and comes out of s_server's stdout, then
    s_server's stdin comes out of s_client's stdout. `run` is the argv prefix
    running that openssl (possibly chroot ... env ...), `path` maps a host
    path to the one the program sees."""

    def __init__(self, ctx, run, env, cert, key, client_bytes, server_bytes, path=lambda p: p):
        self.ctx = ctx
        self.client_data = os.urandom(client_bytes)
        self.server_data = os.urandom(server_bytes)
        self.port = free_port()
        self.run_argv = run
        self.env = env
        self.server = ctx.start(run + ["s_server", "-quiet", "-naccept", "1", "-accept",
                                       "%s:%d" % (LOCAL, self.port), "-cert", path(cert), "-key", path(key)],
                                "openssl s_server", stdin=subprocess.PIPE, collect_stdout=True, env=env,
                                plain_env=True)
        wait_until(lambda: listening(self.port) or self.server.p.poll() is not None, 20,
                   "s_server to listen on port %d" % self.port)
        if self.server.p.poll() is not None:
            raise TestFailure("s_server exited (%s) before listening; its stderr:" % self.server.p.returncode,
                              *indent(tail(self.server.stderr)))

    def go(self):
        ctx = self.ctx
        self.client = cli = ctx.start(self.run_argv + ["s_client", "-quiet", "-connect",
                                                       "%s:%d" % (LOCAL, self.port)],
                                      "openssl s_client", stdin=subprocess.PIPE, collect_stdout=True,
                                      env=self.env, plain_env=True)
        srv = self.server
        feed = Feeder(cli, self.client_data)

        def ended(p):
            return p.p.poll() is not None

        wait_until(lambda: len(srv.stdout_bytes) >= len(self.client_data) or ended(cli) or ended(srv),
                   WORK_TIMEOUT, "s_server to receive the client's %d bytes" % len(self.client_data))
        feed.join("s_client")
        # Both ends are connected now: which fd is the socket in each?
        self.server_conn = conn_of(srv.pid, local_port=self.port)
        self.client_conn = conn_of(cli.pid, peer_port=self.port)
        if len(srv.stdout_bytes) < len(self.client_data):
            raise self.failure("s_server got %d of the client's %d bytes" % (len(srv.stdout_bytes),
                                                                            len(self.client_data)))
        feed = Feeder(srv, self.server_data)
        wait_until(lambda: len(cli.stdout_bytes) >= len(self.server_data) or ended(cli) or ended(srv),
                   WORK_TIMEOUT, "s_client to receive the server's %d bytes" % len(self.server_data))
        feed.join("s_server")
        if len(cli.stdout_bytes) < len(self.server_data):
            raise self.failure("s_client got %d of the server's %d bytes" % (len(cli.stdout_bytes),
                                                                            len(self.server_data)))
        # Everything is across: end both (s_server closes on stdin EOF).
        for p in (srv, cli):
            with contextlib.suppress(OSError):
                p.p.stdin.close()
        deadline = time.monotonic() + 10
        while (not ended(srv) or not ended(cli)) and time.monotonic() < deadline:
            time.sleep(0.05)
        for p in (srv, cli):
            p.kill()
            p.join_readers()
        if self.server_conn is None or self.client_conn is None:
            raise self.failure("no established connection on port %d found in /proc for s_server (%s) or "
                               "s_client (%s)" % (self.port, self.server_conn, self.client_conn))
        compare_bytes("s_server's stdout vs what s_client was given", srv.stdout_bytes, self.client_data)
        compare_bytes("s_client's stdout vs what s_server was given", cli.stdout_bytes, self.server_data)

    def failure(self, msg):
        return TestFailure(msg, "s_client status %s, stderr:" % self.client.p.poll(),
                           *indent(tail(self.client.stderr, 15)) +
                           ["s_server status %s, stderr:" % self.server.p.poll()] +
                           indent(tail(self.server.stderr, 15)))

    def check(self, records):
        """Byte-exact per process and direction; the socket's fd and 4-tuple."""
        sfd, stuple = self.server_conn
        cfd, ctuple = self.client_conn
        ck = self.client.pid
        sv = self.server.pid
        compare_stream(records, ck, "write", self.client_data, "s_client SSL writes", fd=cfd, tuple_=ctuple)
        compare_stream(records, ck, "read", self.server_data, "s_client SSL reads", fd=cfd, tuple_=ctuple)
        compare_stream(records, sv, "write", self.server_data, "s_server SSL writes", fd=sfd, tuple_=stuple)
        compare_stream(records, sv, "read", self.client_data, "s_server SSL reads", fd=sfd, tuple_=stuple)


# ---- plainsight's account of the version -------------------------------------------------

# "(version 3.0.19, layout 3.0)"; a product's own build names it first:
# "(quic version 1.1.1v, layout 1.1.1+quic)".
ATTACHED_RE = re.compile(r"^plainsight: attached tls to (.+) \((?:(\S+) )?version (\S+), layout ([^)]*)\)", re.M)

# Build metadata the spec detects as a product of its own, with its own layouts.
PRODUCT_BUILDS = ("quic",)


def check_version_report(ps, libssl, want_version):
    """The attached line names libssl, the real version and the layout; a
    run without a layout (or with the nearest lower one) says so."""
    err = ps.stderr
    m = ATTACHED_RE.search(err)
    diag = ["plainsight's stderr:"] + indent(tail(err, 20))
    if not m:
        raise TestFailure("no 'plainsight: attached tls to PATH (version V, layout L)' line", *diag)
    path, product, version, layout = m.groups()
    if path != libssl:
        raise TestFailure("attached to %r, not the --libssl %r" % (path, libssl), *diag)
    # A patched build the spec knows ("1.1.1v+quic") is its own product, with
    # its own layout; another one ("+fips") may be reported with or without
    # its suffix, and the release itself must be right.
    base, _, build = want_version.partition("+")
    if build in PRODUCT_BUILDS:
        if (product, version) != (build, base) or not layout.endswith("+" + build):
            raise TestFailure("%s is OpenSSL %s: want it detected as product %s, version %s, with a %s layout; got "
                              "product %s, version %s, layout %s" % (libssl, want_version, build, base, build,
                                                                     product, version, layout), *diag)
    elif version not in (want_version, base):
        raise TestFailure("plainsight detected version %s; %s is OpenSSL %s" % (version, libssl, want_version),
                          *diag)
    if layout == "none":
        if not re.search(r"warning: .*without offsets", err):
            raise TestFailure("version %s ran with no layout but no warning says it captures without offsets"
                              % version, *diag)
    elif re.search(r"warning: .*(nearest|no layout for)", err):
        if not re.search(r"warning: .*nearest lower one, '%s'" % re.escape(layout), err):
            raise TestFailure("the nearest-layout warning does not name the layout used, %r" % layout, *diag)
    if layout != "none" and "+" in version and not re.search(r"warning: .*modified build", err):
        raise TestFailure("version %s is a patched build, yet no warning says layout %r was made for the "
                          "unpatched release" % (version, layout), *diag)
    return version, layout


def start_plainsight(ctx, libssl, extra=()):
    ps = ctx.start_plainsight(["tls", "--libssl", libssl, "-m", "json"] + list(extra))
    ps.wait_attached()
    return ps


def finish(ps, ours, check):
    ps.stop()
    records, summary, others = ps.json_output()
    with with_loss_context(records, summary, ours):
        # The summary counts every record written, events other than
        # tls_data (e.g. secrets) too; those carry no data bytes.
        check_summary(records + [o for o in others if o.get("event")], summary)
        check(records)
    return records


# ---- 1. libssl 1.1.1 (bullseye), on this machine ------------------------------------------

def probe_program(ctx, argv, env, what):
    """Runs `openssl version` the way the test will; SKIPs when it cannot run here."""
    try:
        r = subprocess.run(argv + ["version"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise TestSkip("%s cannot run here: %s" % (what, e))
    out = r.stdout.decode("utf-8", "replace").strip()
    if r.returncode != 0:
        raise TestSkip("%s cannot run here (status %d): %s" % (what, r.returncode, out.splitlines()[-1:]))
    return out


def bullseye_test(size):
    def run(ctx):
        entry = corpus("libssl:bullseye")
        libdir = os.path.join(entry["path"], "usr", "lib", "x86_64-linux-gnu")
        libssl = os.path.join(libdir, "libssl.so.1.1")
        openssl = os.path.join(entry["path"], "usr", "bin", "openssl")
        if not os.path.exists(openssl):
            raise TestSkip("corpus libssl:bullseye has no openssl command (%s)" % entry["note"])
        # Its own configuration would be 3.0's (OPENSSLDIR is shared): none.
        env = dict(os.environ, LD_LIBRARY_PATH=libdir, OPENSSL_CONF="/dev/null")
        want = upstream_version(entry["version"])
        banner = probe_program(ctx, [openssl], env, "bullseye's openssl")
        if want not in banner:
            raise TestFailure("bullseye's openssl says %r, the manifest %s" % (banner, want))
        cert, key = make_cert(ctx)
        ex = SslExchange(ctx, [openssl], env, cert, key, size, size)
        # Both ends use this libssl: 4 times size reaches the ring. A ring that
        # holds it all keeps a busy machine's scheduling out of a test of the
        # layout (losses are test_loss.py's subject).
        ps = start_plainsight(ctx, libssl, ["--mapsize", str(ring_kib(4 * size))])
        ex.go()
        finish(ps, (ex.server.pid, ex.client.pid), ex.check)
        check_version_report(ps, libssl, want)
    return run


def ring_kib(nbytes):
    """The smallest ring (KiB, a power of two, at least the 8 MiB default) that
    holds nbytes of payload with room for the records' headers."""
    kib = 8192
    while kib * 1024 < 2 * nbytes:
        kib *= 2
    return kib


test("versions_libssl_1.1.1_bullseye_1B")(bullseye_test(1))
test("versions_libssl_1.1.1_bullseye_100KiB")(bullseye_test(100 * KiB))
test("versions_libssl_1.1.1_bullseye_4MiB")(bullseye_test(4 * MiB))


# ---- 2. libssl 3.5 (trixie) and 3.6 (sid), in a chroot --------------------------------------

def chroot_openssl(suite):
    """The suite's root, its corpus entry, its libssl.so.3 seen from outside,
    and the argv and env that run its openssl inside the root."""
    root, entry = root_with_suite(suite)
    inside = "/opt/plainsight/%s/usr" % suite
    libssl = os.path.join(root, inside.lstrip("/"), "lib", "x86_64-linux-gnu", "libssl.so.3")
    argv = [shutil.which("chroot") or "/usr/sbin/chroot", root, "/usr/bin/env",
            "LD_LIBRARY_PATH=%s/lib/x86_64-linux-gnu" % inside, "OPENSSL_CONF=/dev/null",
            "%s/bin/openssl" % inside]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
    return root, entry, libssl, argv, env


def cert_in_root(ctx, root):
    """A certificate and key where programs inside root can read them: a
    directory under its /tmp (the caller removes it), and their paths."""
    cert, key = make_cert(ctx)
    work = tempfile.mkdtemp(prefix="plainsight-e2e-", dir=os.path.join(root, "tmp"))
    for f in (cert, key):
        shutil.copy(f, work)
    return work, os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")


def chroot_test(suite, size):
    def run(ctx):
        root, entry, libssl, argv, env = chroot_openssl(suite)
        want = upstream_version(entry["version"])
        banner = probe_program(ctx, argv, env, "%s's openssl in the %s chroot" % (suite, ROOT_SUITE))
        if want not in banner:
            raise TestFailure("%s's openssl says %r, the manifest %s" % (suite, banner, want))
        work, cert, key = cert_in_root(ctx, root)
        try:
            ex = SslExchange(ctx, argv, env, cert, key, size, size, path=lambda p: p[len(root):])
            ps = start_plainsight(ctx, libssl)
            ex.go()
            finish(ps, (ex.server.pid, ex.client.pid), ex.check)
            check_version_report(ps, libssl, want)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return run


for _suite, _line in (("trixie", "3.5"), ("sid", "3.6")):
    test("versions_libssl_%s_%s_1B" % (_line, _suite))(chroot_test(_suite, 1))
    test("versions_libssl_%s_%s_100KiB" % (_line, _suite))(chroot_test(_suite, 100 * KiB))


# ---- 3. BIO_f_ssl: openssl s_server -www, curl as the client ---------------------------------
#
# s_server -www reads the request with BIO_gets and writes the page with
# BIO_puts through an SSL BIO (apps/s_server.c, www_body): libssl's
# ssl_read_internal/ssl_write_internal (ssl/bio_ssl.c), never SSL_read or
# SSL_write. The spec finds those unexported functions by following calls;
# these tests fail when that path is missed, and when a read or write is
# seen twice (the exported functions hooked as well).

CURL_TRACE_DATA = re.compile(r"^[0-9a-f]{4}: ((?:[0-9a-f]{2} ){1,16})")


def curl_sent(trace):
    """The plaintext curl's --trace file says it sent ("=> Send header" and
    "=> Send data" blocks; "=> Send SSL data" is TLS records), in order."""
    sent, sending = bytearray(), False
    with open(trace, "rb") as f:
        for line in f.read().decode("latin-1").splitlines():
            if line.startswith(("=> ", "<= ", "== ")):
                sending = line.startswith(("=> Send header", "=> Send data"))
                continue
            m = CURL_TRACE_DATA.match(line)
            if sending and m:
                sent += bytes.fromhex(m.group(1))
    return bytes(sent)


def www_exchange(ctx, run, env, cert, key, libssl, path=lambda p: p):
    """s_server -www (run is the argv prefix running openssl) answers one
    curl GET while plainsight traces libssl: the server's reads must be what
    curl sent, its writes what curl received (curl -i: status line, headers
    and page), each byte once."""
    curl_bin = shutil.which("curl")
    if not curl_bin:
        raise TestSkip("program 'curl' not found in PATH")
    port = free_port()
    server = ctx.start(run + ["s_server", "-www", "-naccept", "1", "-accept", "%s:%d" % (LOCAL, port),
                              "-cert", path(cert), "-key", path(key)],
                       "openssl s_server -www", collect_stdout=True, env=env, plain_env=True)
    wait_until(lambda: listening(port) or server.p.poll() is not None, 20, "s_server to listen on port %d" % port)
    if server.p.poll() is not None:
        raise TestFailure("s_server -www exited (%s) before listening; its stderr:" % server.p.returncode,
                          *indent(tail(server.stderr)))
    ps = start_plainsight(ctx, libssl)
    trace, out = ctx.path("curl.trace"), ctx.path("curl.out")
    curl = ctx.start([curl_bin, "-sSk", "--http1.1", "-i", "--max-time", str(WORK_TIMEOUT), "--trace", trace,
                      "-o", out, "https://%s:%d/plainsight-www-test" % (LOCAL, port)], "curl")
    curl.check_ok(WORK_TIMEOUT + 10)
    deadline = time.monotonic() + 10
    while server.p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()   # -naccept 1 exits by itself after the connection
    server.join_readers()
    request = curl_sent(trace)
    with open(out, "rb") as f:
        page = f.read()
    if not request.startswith(b"GET /plainsight-www-test HTTP/1.1\r\n") or not request.endswith(b"\r\n\r\n"):
        raise TestFailure("curl's trace shows no whole GET request", "parsed: %r" % request[:300])
    if not page.startswith(b"HTTP/1.0 200 ok\r\n") or b"</HTML>" not in page:
        raise TestFailure("curl got no s_server -www status page", "start: %r" % page[:300])

    def check(records):
        compare_stream(records, server.pid, "read", request, "s_server -www reads (BIO_f_ssl) vs what curl sent",
                       tuple_=(LOCAL, port, LOCAL, None))
        compare_stream(records, server.pid, "write", page,
                       "s_server -www writes (BIO_f_ssl) vs what curl received", tuple_=(LOCAL, port, LOCAL, None))
        fds = {r.get("fd") for r in records if r.get("pid") == server.pid}
        if len(fds) != 1 or min(fds) < 0:
            raise TestFailure("s_server's records name fds %s for its one connection" % sorted(fds))

    finish(ps, (server.pid, curl.pid), check)
    return ps


@test("versions_www_libssl_3.0_system")
def www_system(ctx):
    openssl = shutil.which("openssl")
    if not openssl:
        raise TestSkip("program 'openssl' not found in PATH")
    libssl = None
    for d in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu"):
        if os.path.exists(os.path.join(d, "libssl.so.3")):
            libssl = os.path.join(d, "libssl.so.3")
            break
    if libssl is None:
        raise TestSkip("no libssl.so.3 on this machine")
    cert, key = make_cert(ctx)
    www_exchange(ctx, [openssl], dict(os.environ), cert, key, libssl)


@test("versions_www_libssl_1.1.1_bullseye")
def www_bullseye(ctx):
    entry = corpus("libssl:bullseye")
    libdir = os.path.join(entry["path"], "usr", "lib", "x86_64-linux-gnu")
    openssl = os.path.join(entry["path"], "usr", "bin", "openssl")
    if not os.path.exists(openssl):
        raise TestSkip("corpus libssl:bullseye has no openssl command (%s)" % entry["note"])
    env = dict(os.environ, LD_LIBRARY_PATH=libdir, OPENSSL_CONF="/dev/null")
    probe_program(ctx, [openssl], env, "bullseye's openssl")
    cert, key = make_cert(ctx)
    www_exchange(ctx, [openssl], env, cert, key, os.path.join(libdir, "libssl.so.1.1"))


def www_chroot_test(suite):
    def run(ctx):
        root, entry, libssl, argv, env = chroot_openssl(suite)
        probe_program(ctx, argv, env, "%s's openssl in the %s chroot" % (suite, ROOT_SUITE))
        work, cert, key = cert_in_root(ctx, root)
        try:
            www_exchange(ctx, argv, env, cert, key, libssl, path=lambda p: p[len(root):])
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return run


for _suite, _line in (("trixie", "3.5"), ("sid", "3.6")):
    test("versions_www_libssl_%s_%s" % (_line, _suite))(www_chroot_test(_suite))


# ---- 3. Node.js 8 .. 24: OpenSSL linked into the executable ---------------------------------

class NodeExchange:
    """node_peer.js server and client of one Node.js, one connection."""

    def __init__(self, ctx, node, cert, key, client_bytes, server_bytes):
        self.ctx = ctx
        self.client_data = os.urandom(client_bytes)
        self.server_data = os.urandom(server_bytes)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": ctx.tmp}
        self.server = ctx.start([node, NODE_PEER, "server", cert, key, str(client_bytes),
                                 ctx.write("server.send", self.server_data), ctx.path("server.recv")],
                                "node server", stdout=subprocess.PIPE, env=env, plain_env=True)
        hello = read_json_line(self.server, "port")
        self.port = hello["port"]
        self.argv = [node, NODE_PEER, "client", str(self.port), ctx.write("client.send", self.client_data),
                     str(server_bytes), ctx.path("client.recv")]
        self.env = env

    def go(self):
        self.client = self.ctx.start(self.argv, "node client", stdout=subprocess.PIPE, env=self.env,
                                     plain_env=True)
        self.client.check_ok(WORK_TIMEOUT)
        self.server.check_ok(WORK_TIMEOUT)
        infos = read_rest_json(self.client, "connection info")
        sinfos = read_rest_json(self.server, "connection info")
        if not infos or not sinfos:
            raise TestFailure("node_peer.js printed no connection info (client %r, server %r)" % (infos, sinfos))
        self.cinfo, self.sinfo = infos[-1], sinfos[-1]
        compare_bytes("node server's bookkeeping: received vs client sent",
                      self.ctx.read("server.recv"), self.client_data)
        compare_bytes("node client's bookkeeping: received vs server sent",
                      self.ctx.read("client.recv"), self.server_data)

    def check(self, records):
        streams = ((self.client.pid, "write", self.client_data, "node client SSL writes"),
                   (self.client.pid, "read", self.server_data, "node client SSL reads"),
                   (self.server.pid, "write", self.server_data, "node server SSL writes"),
                   (self.server.pid, "read", self.client_data, "node server SSL reads"))
        ends = {self.client.pid: self.cinfo, self.server.pid: self.sinfo}
        for pid, direction, want, what in streams:
            # Memory BIOs: no socket syscall inside the call; the socket the
            # ciphertext goes through names the connection (README.md).
            local, peer = ends[pid]["local"], ends[pid]["peer"]
            recs = compare_stream(records, pid, direction, want, what,
                                  tuple_=(local[0], local[1], peer[0], peer[1]))
            bad = [r.get("fd") for r in recs if not isinstance(r.get("fd"), int) or r["fd"] < 0]
            if bad:
                raise TestFailure("%s: records with no socket (fd %r)" % (what, bad[0]))


def node_test(major, size):
    def run(ctx):
        entry = corpus("node:%d" % major)
        node = entry["path"]
        want = node_openssl_version(entry)
        cert, key = make_cert(ctx)
        ex = NodeExchange(ctx, node, cert, key, size, size)
        t0 = time.monotonic()
        ps = start_plainsight(ctx, node)
        startup = time.monotonic() - t0
        ex.go()
        finish(ps, (ex.server.pid, ex.client.pid), ex.check)
        check_version_report(ps, node, want)
        # Symbols and version come out of a 35-130 MB executable: that must stay quick.
        if startup > 10:
            raise TestFailure("plainsight took %.1f s to attach to %s (%d MB)"
                              % (startup, node, os.path.getsize(node) >> 20))
    return run


for _major in (8, 10, 14, 16, 18, 20, 22, 24):
    test("versions_node%d_1B" % _major)(node_test(_major, 1))
    test("versions_node%d_100KiB" % _major)(node_test(_major, 100 * KiB))


# ---- 4. OpenSSL linked statically into an executable ----------------------------------------

STATIC_PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static_peer.c")
_static = {}


def static_peer(kind):
    """static_peer.c built once per run: kind "static" (a fixed-address
    executable, no version text linked in) or "static-pie" (with the version
    text). SKIPs when this machine cannot build it (cc, libssl-dev's .a)."""
    if kind in _static:
        if _static[kind].startswith("SKIP:"):
            raise TestSkip(_static[kind][5:])
        return _static[kind]
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        _static[kind] = "SKIP:no C compiler (cc) to build a statically linked OpenSSL program"
        return static_peer(kind)
    d = _static.get("dir")
    if d is None:
        d = _static["dir"] = tempfile.mkdtemp(prefix="plainsight-e2e-static-")
        atexit.register(shutil.rmtree, d, True)
    out = os.path.join(d, "static_peer-" + kind)
    flags = ["-static", "-no-pie"] if kind == "static" else ["-static-pie", "-fPIE", "-DWITH_BANNER"]
    argv = [cc, "-O2"] + flags + ["-o", out, STATIC_PEER, "-lssl", "-lcrypto", "-lpthread"]
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120)
        ok = r.returncode == 0
        msg = r.stdout.decode("utf-8", "replace").strip().splitlines()
    except (OSError, subprocess.TimeoutExpired) as e:
        ok, msg = False, [str(e)]
    if not ok:
        errs = [l for l in msg if "error" in l] or msg
        _static[kind] = "SKIP:cannot build a %s OpenSSL program (libssl-dev's libssl.a?): %s" % (
            kind, errs[-1][:200] if errs else "no message")
        return static_peer(kind)
    _static[kind] = out
    return out


def static_test(kind, size):
    def run(ctx):
        exe = static_peer(kind)
        cert, key = make_cert(ctx)
        client_data, server_data = os.urandom(size), os.urandom(size)
        srv = ctx.start([exe, "server", cert, key, str(size), ctx.write("server.send", server_data),
                         ctx.path("server.recv")], "static_peer server", stdout=subprocess.PIPE, plain_env=True)
        hello = read_json_line(srv, "port")
        ps = start_plainsight(ctx, exe)
        cli = ctx.start([exe, "client", str(hello["port"]), ctx.write("client.send", client_data), str(size),
                         ctx.path("client.recv")], "static_peer client", stdout=subprocess.PIPE, plain_env=True)
        cli.check_ok(WORK_TIMEOUT)
        srv.check_ok(WORK_TIMEOUT)
        cinfo, sinfo = read_rest_json(cli, "fd")[-1], read_rest_json(srv, "fd")[-1]
        compare_bytes("static server's bookkeeping", ctx.read("server.recv"), client_data)
        compare_bytes("static client's bookkeeping", ctx.read("client.recv"), server_data)
        port, cport = hello["port"], cinfo["port"]
        ctuple, stuple = (LOCAL, cport, LOCAL, port), (LOCAL, port, LOCAL, cport)

        def check(records):
            compare_stream(records, cli.pid, "write", client_data, "static client SSL writes",
                           fd=cinfo["fd"], tuple_=ctuple)
            compare_stream(records, cli.pid, "read", server_data, "static client SSL reads",
                           fd=cinfo["fd"], tuple_=ctuple)
            compare_stream(records, srv.pid, "write", server_data, "static server SSL writes",
                           fd=sinfo["fd"], tuple_=stuple)
            compare_stream(records, srv.pid, "read", client_data, "static server SSL reads",
                           fd=sinfo["fd"], tuple_=stuple)

        finish(ps, (srv.pid, cli.pid), check)
        if "openssl" in hello:
            m = re.match(r"OpenSSL (\S+)", hello["openssl"])
            check_version_report(ps, exe, m.group(1) if m else hello["openssl"])
        else:
            # No version text in the executable: said, and no layout used.
            err = ps.stderr
            if not re.search(r"\(version unknown, no layout\)", err) or \
                    not re.search(r"warning: .*no version string in %s" % re.escape(exe), err):
                raise TestFailure("%s holds no version text: plainsight must say 'version unknown, no layout' "
                                  "and warn that it found no version string" % exe,
                                  "plainsight's stderr:", *indent(tail(err, 20)))
    return run


test("versions_static_exe_1B")(static_test("static", 1))
test("versions_static_exe_100KiB")(static_test("static", 100 * KiB))
test("versions_static_pie_100KiB")(static_test("static-pie", 100 * KiB))
