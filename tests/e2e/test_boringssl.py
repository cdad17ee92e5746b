"""BoringSSL through the tls module (--libssl on Debian's android-libboringssl,
/usr/lib/x86_64-linux-gnu/android/libssl.so.0): Debian's `bssl` tool as a
client against openssl s_server and as a server (-www) against curl, TLS 1.2
and 1.3; plaintext byte-exact both ways with the fd and 4-tuple. BoringSSL's
libraries hold no version number ("BoringSSL" only): the tls spec detects
product boringssl (version 0) with its layout "android13" and hook set, whose
keys (from ssl_log_secret, located by `called with`) let tshark decrypt a
capture of each side."""

import os
import subprocess
import time

import harness
from harness import (TestFailure, TestSkip, compare_stream, free_port, indent, listening,
                     require_program, tail, wait_until)
from test_gnutls import curl_get
from tls_servers import make_cert, request_page, stdin_client_vs_s_server

TESTS, test = harness.registry()
KiB, MiB = 1024, 1024 * 1024
LOCAL = "127.0.0.1"
WORK_TIMEOUT = 60
LIBSSL = "/usr/lib/x86_64-linux-gnu/android/libssl.so.0"
BSSL = "/usr/bin/bssl-tool"
VERSIONS = {"1.2": "tls1.2", "1.3": "tls1.3"}


def need_bssl():
    if not os.path.exists(LIBSSL) or not os.path.exists(BSSL):
        raise TestSkip("no BoringSSL (apt-get install android-boringssl): %s or %s missing" % (LIBSSL, BSSL))


def start_tls(ctx, pid, mode=("-m", "json")):
    ps = ctx.start_plainsight(["tls", "--libssl", LIBSSL] + list(mode) + ["-p", str(pid)])
    ps.wait_attached()
    if "attached tls to %s (boringssl version BoringSSL, layout android13)" % LIBSSL not in ps.attached_line:
        raise TestFailure("the attached line does not name %s, product boringssl and its layout: %r"
                          % (LIBSSL, ps.attached_line))
    return ps


def bssl_client_exchange(ctx, maxv, to_server, to_client, trace=None):
    """bssl client (traced) sends to_server to openssl s_server, which
    answers to_client; trace(pid, port): what traces it instead of one
    plainsight (test_wire's). Returns (plainsight, bssl's pid, port)."""
    need_bssl()
    return stdin_client_vs_s_server(
        ctx, lambda port: [BSSL, "client", "-connect", "%s:%d" % (LOCAL, port), "-max-version", VERSIONS[maxv],
                           "-min-version", VERSIONS[maxv]],
        "bssl client", lambda pid, port: trace(pid, port) if trace else start_tls(ctx, pid), to_server, to_client)


def bssl_client(ctx, maxv):
    to_server, to_client = os.urandom(100 * KiB), os.urandom(100 * KiB)
    ps, pid, port = bssl_client_exchange(ctx, maxv, to_server, to_client)
    time.sleep(0.3)
    ps.stop()
    records, summary, _ = ps.json_output()
    tuple_ = (LOCAL, None, LOCAL, port)
    w = compare_stream(records, pid, "write", to_server, "bssl client's writes", tuple_=tuple_)
    r = compare_stream(records, pid, "read", to_client, "bssl client's reads", tuple_=tuple_)
    if w[0]["fd"] != r[0]["fd"] or w[0]["fd"] < 0 or w[0]["sport"] != r[0]["sport"]:
        raise TestFailure("writes and reads name different connections")
    if summary is None or summary.get("lost_bytes"):
        raise TestFailure("bytes lost in a small run: %r" % (summary,))


@test("boringssl_bssl_client_s_server_tls12")
def boringssl_bssl_client_s_server_tls12(ctx):
    bssl_client(ctx, "1.2")


@test("boringssl_bssl_client_s_server_tls13")
def boringssl_bssl_client_s_server_tls13(ctx):
    bssl_client(ctx, "1.3")


def bssl_server(ctx, maxv):
    need_bssl()
    require_program("curl")
    cert, key = make_cert(ctx)
    port = free_port()
    srv = ctx.start([BSSL, "server", "-accept", str(port), "-key", key, "-cert", cert, "-www",
                     "-max-version", VERSIONS[maxv], "-min-version", VERSIONS[maxv]], "bssl server",
                    collect_stdout=True)
    wait_until(lambda: listening(port) or srv.p.poll() is not None, 20, "bssl server to listen on %d" % port)
    if srv.p.poll() is not None:
        raise TestFailure("bssl server exited early:", *indent(tail(srv.stderr)))
    ps = start_tls(ctx, srv.pid)
    path = "/bssl-%d" % os.getpid()
    body, head = curl_get(ctx, port, path, maxv)
    time.sleep(0.3)
    ps.stop()
    records, summary, _ = ps.json_output()
    request = b"GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (path.encode(), LOCAL.encode(), port)
    tuple_ = (None, port, None, None)
    compare_stream(records, srv.pid, "write", head + body, "bssl server's writes (curl's headers and body)",
                   tuple_=tuple_)
    # bssl's -www reads no more of a request than it needs to answer it ("GET ")
    reads = [r for r in records if r.get("pid") == srv.pid and r.get("dir") == "read"]
    got = b"".join(r["payload"] for r in reads)
    if len(got) < 4 or not request.startswith(got):
        raise TestFailure("bssl server's reads are not the start of curl's request: %r (request %r)" % (got, request))
    if summary is None or summary.get("lost_bytes"):
        raise TestFailure("bytes lost in a small run: %r" % (summary,))


@test("boringssl_bssl_server_curl_tls12")
def boringssl_bssl_server_curl_tls12(ctx):
    bssl_server(ctx, "1.2")


@test("boringssl_bssl_server_curl_tls13")
def boringssl_bssl_server_curl_tls13(ctx):
    bssl_server(ctx, "1.3")


# ---- one call of 4 MiB, and the loss accounting (test_loss.py) --------------------

ANDROID_LIBS = "/usr/lib/x86_64-linux-gnu/android"


def build_boringssl_peer(ctx):
    """boringssl_peer.c against Debian's android-libboringssl-dev headers,
    linked to the very libssl.so.0 the tests trace."""
    need_bssl()
    if not os.path.exists("/usr/include/android/openssl/ssl.h"):
        raise TestSkip("no BoringSSL headers (apt-get install android-libboringssl-dev): cannot build "
                       "boringssl_peer.c")
    here = os.path.dirname(os.path.abspath(__file__))
    exe = ctx.path("boringssl_peer")
    r = ctx.run(["cc", "-O2", "-Wall", "-I", "/usr/include/android", "-I", here, "-o", exe,
                 os.path.join(here, "boringssl_peer.c"), os.path.join(ANDROID_LIBS, "libssl.so.0"),
                 os.path.join(ANDROID_LIBS, "libcrypto.so.0"), "-Wl,-rpath," + ANDROID_LIBS], timeout=120)
    if r.returncode != 0:
        raise TestFailure("cannot build boringssl_peer.c:", *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return exe


@test("boringssl_single_call_4MiB")
def boringssl_single_call_4MiB(ctx):
    """BoringSSL takes 4 MiB in one SSL_write: one record, byte-exact, with
    the socket's fd and 4-tuple; the answer too."""
    from tls_servers import check_peer_capture, peer_exchange
    to_server, to_client = os.urandom(4 * MiB), os.urandom(256 * KiB)
    ps, cli, srv = peer_exchange(ctx, build_boringssl_peer(ctx), lambda pid, _port: start_tls(ctx, pid),
                                 to_server, to_client)
    check_peer_capture(ps, cli, srv, to_server, to_client, one_write=True)


# ---- keys ----------------------------------------------------------------------


def keylog_check(ctx, keylog, cap, path, maxv, side):
    from test_keylog import check_keylog_file, decrypted_requests
    check_keylog_file(keylog, maxv != "1.2")
    out = decrypted_requests(ctx, cap.file, keylog)
    if path not in out:
        raise TestFailure("tshark decrypted no HTTP request %s with plainsight's keys (%s side, TLS %s):"
                          % (path, side, maxv), "key log:", *indent(ctx.read("keys.log").decode().splitlines()))


def keylog_client(ctx, maxv):
    """bssl client (traced, -m keylog) GETs a path from openssl s_server -www."""
    from test_keylog import Capture, need_tools
    need_tools()
    need_bssl()
    cert, key = make_cert(ctx)
    port = free_port()
    keylog = ctx.path("keys.log")
    srv = ctx.start(["openssl", "s_server", "-quiet", "-naccept", "1", "-accept", "%s:%d" % (LOCAL, port),
                     "-cert", cert, "-key", key, "-www"], "openssl s_server", stdin=subprocess.PIPE)
    wait_until(lambda: listening(port), 20, "s_server to listen on %d" % port)
    cli = ctx.start(["sh", "-c", 'read go; exec "$1" client -connect "$2" -max-version "$3" -min-version "$3"',
                     "sh", BSSL, "%s:%d" % (LOCAL, port), VERSIONS[maxv]], "bssl client",
                    stdin=subprocess.PIPE, collect_stdout=True)
    cap = Capture(ctx, port)
    ps = start_tls(ctx, cli.pid, ("-m", "keylog", "-k", keylog))
    path = "/bssl-keylog-%d" % os.getpid()
    request_page(cli, path, "bssl client")
    for proc in (cli, srv):
        proc.wait_or_kill(10)
    time.sleep(0.3)
    ps.stop()
    cap.stop()
    keylog_check(ctx, keylog, cap, path, maxv, "client")


def keylog_server(ctx, maxv):
    """bssl server -www (traced, -m keylog) answers curl."""
    from test_keylog import Capture, need_tools
    need_tools()
    need_bssl()
    require_program("curl")
    cert, key = make_cert(ctx)
    port = free_port()
    keylog = ctx.path("keys.log")
    srv = ctx.start([BSSL, "server", "-accept", str(port), "-key", key, "-cert", cert, "-www",
                     "-max-version", VERSIONS[maxv], "-min-version", VERSIONS[maxv]], "bssl server")
    wait_until(lambda: listening(port) or srv.p.poll() is not None, 20, "bssl server to listen on %d" % port)
    cap = Capture(ctx, port)
    ps = start_tls(ctx, srv.pid, ("-m", "keylog", "-k", keylog))
    path = "/bssl-keylog-%d" % os.getpid()
    curl_get(ctx, port, path, maxv)
    time.sleep(0.3)
    ps.stop()
    cap.stop()
    keylog_check(ctx, keylog, cap, path, maxv, "server")


@test("boringssl_keylog_client_tls12")
def boringssl_keylog_client_tls12(ctx):
    keylog_client(ctx, "1.2")


@test("boringssl_keylog_client_tls13")
def boringssl_keylog_client_tls13(ctx):
    keylog_client(ctx, "1.3")


@test("boringssl_keylog_server_tls12")
def boringssl_keylog_server_tls12(ctx):
    keylog_server(ctx, "1.2")


@test("boringssl_keylog_server_tls13")
def boringssl_keylog_server_tls13(ctx):
    keylog_server(ctx, "1.3")
