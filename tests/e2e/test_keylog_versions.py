"""Keylog mode on other OpenSSL releases than the system's: libssl 1.1.1w
(Debian bullseye, from the corpus cache, run with LD_LIBRARY_PATH as
test_versions.py does). bullseye's `openssl s_client` is traced (-p, with
--libssl naming its libssl.so.1.1) while it sends an HTTP request to a
python https server (the system's libssl); tshark must decrypt the loopback
capture with the keys plainsight wrote, for TLS 1.2 and TLS 1.3. And the
server side: bullseye's `openssl s_server -quiet` traced while curl (the
system's libssl) sends it the request.

The same two exchanges for libssl 3.5 (trixie) and 3.6 (sid), whose openssl
runs in test_versions.py's debootstrap'd trixie chroot (plainsight outside,
--libssl naming the library inside the root). And Node.js 8, 10, 14, 16,
18, 20, 22.0 and 24 (OpenSSL 1.0.2s, 1.1.0j, 1.1.1t, 1.1.1v+quic, 3.0.16,
3.0.19, 3.0.13+quic, 3.5.9 linked into the executable, --libssl naming it): node_peer.js client
and server over node's tls module carry an HTTP request and response; each
side traced alone with -p. TLS 1.2 and 1.3 everywhere, except Node 8 and 10,
whose OpenSSL knows no TLS 1.3. A corpus that
cannot be fetched SKIPs (fetch.sh's complaint). A build whose accessors
contradicts its layout would have its keys refused: none of the ones here
may (test_accessors.py provokes that on purpose)."""

import os
import shutil
import subprocess
import tempfile
import time

import test_keylog
import test_versions
import harness
from harness import TestFailure, TestSkip, compare_bytes, free_port, indent, listening, tail, wait_until
from test_keylog import Capture, check_keylog_file, decrypted_requests, need_tools, start_server
from tls_servers import make_cert, read_json_line, read_rest_json

TESTS, test = harness.registry()


class Runner:
    """How to run one openssl command: `run` is the argv prefix (possibly
    chroot ... env ...), `path` maps a host path to the one it sees, and
    `place` copies a file to where it can read it (a directory under the
    root's /tmp, removed by done())."""

    def __init__(self, run, env, libssl, want, root=None):
        self.run, self.env, self.libssl, self.want, self.root = run, env, libssl, want, root
        self.work = None

    def path(self, p):
        return p[len(self.root):] if self.root else p

    def place(self, ctx, f):
        if not self.root:
            return f
        if self.work is None:
            self.work = tempfile.mkdtemp(prefix="plainsight-e2e-", dir=os.path.join(self.root, "tmp"))
        shutil.copy(f, self.work)
        return os.path.join(self.work, os.path.basename(f))

    def done(self):
        if self.work:
            shutil.rmtree(self.work, ignore_errors=True)
            self.work = None


def bullseye(ctx):
    entry = test_versions.corpus("libssl:bullseye")
    libdir = os.path.join(entry["path"], "usr", "lib", "x86_64-linux-gnu")
    libssl = os.path.join(libdir, "libssl.so.1.1")
    openssl = os.path.join(entry["path"], "usr", "bin", "openssl")
    if not os.path.exists(openssl) or not os.path.exists(libssl):
        raise TestSkip("*** NOT TESTED: corpus libssl:bullseye has no openssl command or libssl.so.1.1 (%s)"
                       % entry["note"])
    env = dict(os.environ, LD_LIBRARY_PATH=libdir, OPENSSL_CONF="/dev/null")
    want = test_versions.upstream_version(entry["version"])
    banner = test_versions.probe_program(ctx, [openssl], env, "bullseye's openssl")
    if want not in banner:
        raise TestFailure("bullseye's openssl says %r, the manifest %s" % (banner, want))
    return Runner([openssl], env, libssl, want)


def in_chroot(suite):
    """trixie's or sid's openssl in test_versions.py's trixie chroot."""
    def make(ctx):
        root, entry, libssl, run, env = test_versions.chroot_openssl(suite)
        want = test_versions.upstream_version(entry["version"])
        banner = test_versions.probe_program(ctx, run, env, "%s's openssl in the %s chroot"
                                             % (suite, test_versions.ROOT_SUITE))
        if want not in banner:
            raise TestFailure("%s's openssl says %r, the manifest %s" % (suite, banner, want))
        return Runner(run, env, libssl, want, root=root)
    return make


def check_decrypted(ctx, pcap, keylog, maxv, what, want_200=False):
    """plainsight's key log (checked first) lets tshark decrypt the test's
    request in pcap, and with want_200 a 200 response too."""
    lines = check_keylog_file(keylog, maxv != "1.2")
    out = decrypted_requests(ctx, pcap, keylog)
    if test_keylog.REQ_PATH in out and (not want_200 or "200" in out):
        return
    r = ctx.run(["tshark", "-n", "-r", pcap], timeout=60)
    raise TestFailure("tshark decrypted no HTTP request %s with plainsight's keys (%s); tshark -Y http says:"
                      % (test_keylog.REQ_PATH, what),
                      *indent(tail(out) or ["(nothing)"]), "keylog:", *indent(lines),
                      "capture:", *indent(tail(r.stdout.decode("utf-8", "replace"), 20)))


def s_client_keylog(ctx, maxv, runner=bullseye, label="bullseye"):
    need_tools()
    rn = runner(ctx)
    cert, key = make_cert(ctx)
    port = free_port()
    keylog = ctx.path("keys.log")
    srv = start_server(ctx, "python", port, cert, key, maxv)
    # sh reads "go" first, so that plainsight can be given the pid that
    # becomes s_client's (chroot and env exec too); -quiet implies -ign_eof:
    # s_client ends when the server closes.
    argv = ["sh", "-c", 'read go; exec "$@"', "sh"] + rn.run + ["s_client", "-quiet", "-connect",
                                                              "127.0.0.1:%d" % port, "-servername", "localhost"]
    argv.append("-tls1_2" if maxv == "1.2" else "-tls1_3")
    cli = ctx.start(argv, "%s openssl s_client" % label, stdin=subprocess.PIPE, env=rn.env)
    cap = Capture(ctx, port)
    ps = ctx.start_plainsight(["tls", "--libssl", rn.libssl, "-m", "keylog", "-k", keylog, "-p", str(cli.pid)])
    ps.wait_attached()
    test_versions.check_version_report(ps, rn.libssl, rn.want)
    request = "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % test_keylog.REQ_PATH
    cli.p.stdin.write(b"go\n" + request.encode())
    cli.p.stdin.flush()
    srv.check_ok(30)
    cli.wait_or_kill(15)
    time.sleep(0.3)
    ps.stop()
    cap.stop()
    check_decrypted(ctx, cap.file, keylog, maxv, "libssl %s s_client, TLS %s" % (rn.want, maxv))


for _maxv in ("1.2", "1.3"):
    test("keylog_libssl_1.1.1_bullseye_s_client_tls%s" % _maxv.replace(".", ""))(
        lambda ctx, maxv=_maxv: s_client_keylog(ctx, maxv))


def s_server_keylog(ctx, maxv, runner=bullseye, label="bullseye"):
    """The server side: s_server (plain -quiet mode, which reads with
    SSL_read; not -www) answers curl with a canned HTTP response."""
    need_tools()
    rn = runner(ctx)
    try:
        cert, key = make_cert(ctx)
        cert, key = rn.place(ctx, cert), rn.place(ctx, key)
        port = free_port()
        keylog = ctx.path("keys.log")
        argv = rn.run + ["s_server", "-quiet", "-naccept", "1", "-accept", str(port),
                         "-cert", rn.path(cert), "-key", rn.path(key)]
        if maxv == "1.2":
            argv.append("-no_tls1_3")
        srv = ctx.start(argv, "%s openssl s_server" % label, stdin=subprocess.PIPE, env=rn.env)
        wait_until(lambda: listening(port) or srv.p.poll() is not None, 10,
                   "%s's s_server to listen on port %d" % (label, port))
        if srv.p.poll() is not None:
            raise TestFailure("%s's s_server exited (%s) before listening; its stderr:" % (label, srv.p.returncode),
                              *indent(tail(srv.stderr)))
        cap = Capture(ctx, port)
        ps = ctx.start_plainsight(["tls", "--libssl", rn.libssl, "-m", "keylog", "-k", keylog,
                                   "-p", str(srv.pid)])
        ps.wait_attached()
        test_versions.check_version_report(ps, rn.libssl, rn.want)
        body = b"hello from the keylog test's s_server\n"
        srv.p.stdin.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                          % (len(body), body))
        srv.p.stdin.flush()
        url = "https://127.0.0.1:%d%s" % (port, test_keylog.REQ_PATH)
        cargv = ["curl", "-sk", "-o", "/dev/null", "--max-time", "15", url]
        if maxv == "1.2":
            cargv += ["--tls-max", "1.2"]
        r = ctx.run(cargv, timeout=30)
        try:
            srv.p.stdin.close()
            srv.p.wait(10)
        except (subprocess.TimeoutExpired, OSError):
            srv.kill()
        time.sleep(0.3)
        ps.stop()
        cap.stop()
        check_decrypted(ctx, cap.file, keylog, maxv,
                        "libssl %s s_server, TLS %s, curl status %d" % (rn.want, maxv, r.returncode))
    finally:
        rn.done()


for _maxv in ("1.2", "1.3"):
    test("keylog_libssl_1.1.1_bullseye_s_server_tls%s" % _maxv.replace(".", ""))(
        lambda ctx, maxv=_maxv: s_server_keylog(ctx, maxv))


# ---- libssl 3.5 (trixie) and 3.6 (sid), in test_versions.py's chroot --------------------------

for _suite, _line in (("trixie", "3.5"), ("sid", "3.6")):
    for _maxv in ("1.2", "1.3"):
        test("keylog_libssl_%s_%s_s_client_tls%s" % (_line, _suite, _maxv.replace(".", "")))(
            lambda ctx, maxv=_maxv, suite=_suite: s_client_keylog(ctx, maxv, in_chroot(suite), suite))
        test("keylog_libssl_%s_%s_s_server_tls%s" % (_line, _suite, _maxv.replace(".", "")))(
            lambda ctx, maxv=_maxv, suite=_suite: s_server_keylog(ctx, maxv, in_chroot(suite), suite))


# ---- Node.js 8 .. 24: node_peer.js over node's tls module ---------------------------------

# Node 16 (OpenSSL 1.1.1v+quic) and 22.0 (3.0.13+quic) are quictls builds,
# whose patch moves exporter_master_secret and ssl_st.session: the spec's
# quic layouts (derived from quictls's source) must be chosen, their
# accessors must agree, and TLS 1.3 must decrypt as everywhere else.
# Majors whose OpenSSL has no TLS 1.3 (1.0.2, 1.1.0) nor --tls-max-v1.2.
NODE_NO_TLS13 = (8, 10)


def node_keylog(ctx, major, side, maxv):
    need_tools()
    entry = test_versions.corpus("node:%d" % major)
    node = entry["path"]
    want = test_versions.node_openssl_version(entry)
    cert, key = make_cert(ctx)
    keylog = ctx.path("keys.log")
    request = ("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % test_keylog.REQ_PATH).encode()
    body = b"hello from node's tls module\n"
    response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": ctx.tmp}
    # --tls-max-v1.2 (node >= 11.4) on both ends; TLS 1.3 is their default.
    # Node 8 and 10 (OpenSSL 1.0.2 and 1.1.0) know no TLS 1.3: 1.2 is their maximum.
    flags = ["--tls-max-v1.2"] if maxv == "1.2" and major not in NODE_NO_TLS13 else []
    srv_argv = [node] + flags + [test_versions.NODE_PEER, "server", cert, key, str(len(request)),
                                 ctx.write("server.send", response), ctx.path("server.recv")]
    if side == "server":
        # sh reads "go" first: plainsight is told the server's pid before it listens.
        srv_argv = ["sh", "-c", 'read go; exec "$@"', "sh"] + srv_argv
    srv = ctx.start(srv_argv, "node server", stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                    plain_env=True)
    cli_argv = ["sh", "-c", 'read go; exec "$@"', "sh", node] + flags + [
        test_versions.NODE_PEER, "client", None, ctx.write("client.send", request), str(len(response)),
        ctx.path("client.recv")]
    traced = srv if side == "server" else None
    ps = None
    if side == "server":
        ps = ctx.start_plainsight(["tls", "--libssl", node, "-m", "keylog", "-k", keylog, "-p", str(srv.pid)])
        ps.wait_attached()
        srv.p.stdin.write(b"go\n")
        srv.p.stdin.flush()
    hello = read_json_line(srv, "port")
    port = hello["port"]
    cli_argv[cli_argv.index(None)] = str(port)
    cli = ctx.start(cli_argv, "node client", stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                    plain_env=True)
    if side == "client":
        traced = cli
        ps = ctx.start_plainsight(["tls", "--libssl", node, "-m", "keylog", "-k", keylog, "-p", str(cli.pid)])
        ps.wait_attached()
    test_versions.check_version_report(ps, node, want)
    cap = Capture(ctx, port)
    cli.p.stdin.write(b"go\n")
    cli.p.stdin.flush()
    cli.check_ok(60)
    srv.check_ok(60)
    infos = read_rest_json(cli, "connection info")
    time.sleep(0.3)
    ps.stop()
    cap.stop()
    compare_bytes("node server's bookkeeping: received vs client sent", ctx.read("server.recv"), request)
    compare_bytes("node client's bookkeeping: received vs server sent", ctx.read("client.recv"), response)
    proto = infos[-1].get("protocol") if infos else None
    want_proto = "TLSv1.2" if maxv == "1.2" else "TLSv1.3"
    if proto != want_proto:
        raise TestFailure("node negotiated %r, the test wants %s (connection info %r)" % (proto, want_proto, infos))
    what = "node %d (OpenSSL %s) %s side, TLS %s, traced pid %d" % (major, want, side, maxv, traced.pid)
    if "keys refused" in ps.stderr or "contradict" in ps.stderr:
        raise TestFailure("%s: plainsight refused the keys:" % what, *indent(tail(ps.stderr, 20)))
    check_decrypted(ctx, cap.file, keylog, maxv, what + "; want the request and a 200 response", want_200=True)


for _major in (8, 10, 14, 16, 18, 20, 22, 24):
    for _side in ("client", "server"):
        for _maxv in ("1.2",) if _major in NODE_NO_TLS13 else ("1.2", "1.3"):
            test("keylog_node%d_%s_tls%s" % (_major, _side, _maxv.replace(".", "")))(
                lambda ctx, major=_major, side=_side, maxv=_maxv: node_keylog(ctx, major, side, maxv))
