"""Keylog mode on other OpenSSL releases than the system's: libssl 1.1.1w
(Debian bullseye, from the corpus cache, run with LD_LIBRARY_PATH as
test_versions.py does). bullseye's `openssl s_client` is traced (-p, with
--libssl naming its libssl.so.1.1) while it sends an HTTP request to a
python https server (the system's libssl); tshark must decrypt the loopback
capture with the keys plainsight wrote, for TLS 1.2 and TLS 1.3. And the
server side: bullseye's `openssl s_server -quiet` traced while curl (the
system's libssl) sends it the request."""

import os
import subprocess
import time

import test_keylog
import test_versions
from harness import TestFailure, TestSkip, free_port, indent, listening, tail, wait_until
from test_keylog import Capture, check_keylog_file, decrypted_requests, need_tools, start_server
from tls_servers import make_cert

TESTS = []


def test(name):
    def reg(fn):
        TESTS.append((name, fn))
        return fn
    return reg


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
    return openssl, libssl, env, want


def s_client_keylog(ctx, maxv):
    need_tools()
    openssl, libssl, env, want = bullseye(ctx)
    cert, key = make_cert(ctx)
    port = free_port()
    keylog = ctx.path("keys.log")
    srv = start_server(ctx, "python", port, cert, key, maxv)
    # sh reads "go" first, so that plainsight can be given the pid that
    # becomes s_client's; -quiet implies -ign_eof: s_client ends when the
    # server closes.
    argv = ["sh", "-c", 'read go; exec "$@"', "sh", openssl, "s_client", "-quiet", "-connect",
            "127.0.0.1:%d" % port, "-servername", "localhost"]
    argv.append("-tls1_2" if maxv == "1.2" else "-tls1_3")
    cli = ctx.start(argv, "bullseye openssl s_client", stdin=subprocess.PIPE, env=env)
    cap = Capture(ctx, port)
    ps = ctx.start_plainsight(["tls", "--libssl", libssl, "-m", "keylog", "-k", keylog, "-p", str(cli.pid)])
    ps.wait_attached()
    test_versions.check_version_report(ps, libssl, want)
    request = "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % test_keylog.REQ_PATH
    cli.p.stdin.write(b"go\n" + request.encode())
    cli.p.stdin.flush()
    srv.check_ok(30)
    try:
        cli.p.wait(15)
    except subprocess.TimeoutExpired:
        cli.kill()
    time.sleep(0.3)
    ps.stop()
    cap.stop()
    lines = check_keylog_file(keylog, maxv != "1.2")
    out = decrypted_requests(ctx, cap.file, keylog)
    if test_keylog.REQ_PATH not in out:
        r = ctx.run(["tshark", "-n", "-r", cap.file], timeout=60)
        raise TestFailure("tshark decrypted no HTTP request %s with plainsight's keys (libssl %s s_client, "
                          "TLS %s); tshark -Y http says:" % (test_keylog.REQ_PATH, want, maxv),
                          *indent(tail(out) or ["(nothing)"]), "keylog:", *indent(lines),
                          "capture:", *indent(tail(r.stdout.decode("utf-8", "replace"), 20)))


for _maxv in ("1.2", "1.3"):
    test("keylog_libssl_1.1.1_bullseye_s_client_tls%s" % _maxv.replace(".", ""))(
        lambda ctx, maxv=_maxv: s_client_keylog(ctx, maxv))


def s_server_keylog(ctx, maxv):
    """The server side: bullseye's s_server (plain -quiet mode, which reads
    with SSL_read; not -www) answers curl with a canned HTTP response."""
    need_tools()
    openssl, libssl, env, want = bullseye(ctx)
    cert, key = make_cert(ctx)
    port = free_port()
    keylog = ctx.path("keys.log")
    argv = [openssl, "s_server", "-quiet", "-naccept", "1", "-accept", str(port), "-cert", cert, "-key", key]
    if maxv == "1.2":
        argv.append("-no_tls1_3")
    srv = ctx.start(argv, "bullseye openssl s_server", stdin=subprocess.PIPE, env=env)
    wait_until(lambda: listening(port), 10,
                             "bullseye's s_server to listen on port %d" % port)
    cap = Capture(ctx, port)
    ps = ctx.start_plainsight(["tls", "--libssl", libssl, "-m", "keylog", "-k", keylog, "-p", str(srv.pid)])
    ps.wait_attached()
    test_versions.check_version_report(ps, libssl, want)
    body = b"hello from bullseye's s_server\n"
    srv.p.stdin.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
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
    lines = check_keylog_file(keylog, maxv != "1.2")
    out = decrypted_requests(ctx, cap.file, keylog)
    if test_keylog.REQ_PATH not in out:
        rr = ctx.run(["tshark", "-n", "-r", cap.file], timeout=60)
        raise TestFailure("tshark decrypted no HTTP request %s with plainsight's keys (libssl %s s_server, "
                          "TLS %s, curl status %d); tshark -Y http says:" % (test_keylog.REQ_PATH, want, maxv,
                                                                             r.returncode),
                          *indent(tail(out) or ["(nothing)"]), "keylog:", *indent(lines),
                          "capture:", *indent(tail(rr.stdout.decode("utf-8", "replace"), 20)))


for _maxv in ("1.2", "1.3"):
    test("keylog_libssl_1.1.1_bullseye_s_server_tls%s" % _maxv.replace(".", ""))(
        lambda ctx, maxv=_maxv: s_server_keylog(ctx, maxv))
