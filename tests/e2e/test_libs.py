"""The wolfssl and mbedtls modules end to end: small clients of ours
(wolfssl_peer.c, mbedtls_peer.c, built here against Debian's libwolfssl
and libmbedtls) exchange random bytes with a Python TLS server (OpenSSL):
plaintext byte-exact both ways with the socket's fd and 4-tuple, 4 MiB each
way (wolfSSL takes the 4 MiB in one wolfSSL_write); the attached line names
library, version, layout (the loss accounting: test_loss.py)."""

import os
import re

import harness
from harness import TestFailure, TestSkip, compare_bytes, compare_stream, indent, tail
from tls_servers import PeerClient, PyServer, check_peer_capture, make_cert, peer_exchange

TESTS, test = harness.registry()
KiB, MiB = 1024, 1024 * 1024
LOCAL = "127.0.0.1"
WORK_TIMEOUT = 60
HERE = os.path.dirname(os.path.abspath(__file__))

# module: (client source, header it needs, libraries, the library's file name)
LIBS = {
    "wolfssl": ("wolfssl_peer.c", "/usr/include/wolfssl/ssl.h", ["-lwolfssl"], "libwolfssl.so", "libwolfssl-dev"),
    "mbedtls": ("mbedtls_peer.c", "/usr/include/mbedtls/ssl.h", ["-lmbedtls", "-lmbedx509", "-lmbedcrypto"],
                "libmbedtls.so", "libmbedtls-dev"),
}


def build_client(ctx, module):
    src, header, libs, _, package = LIBS[module]
    if not os.path.exists(header):
        raise TestSkip("no %s (apt-get install %s): cannot build %s" % (header, package, src))
    exe = ctx.path(module + "_peer")
    r = ctx.run(["cc", "-O2", "-Wall", "-I", HERE, "-o", exe, os.path.join(HERE, src)] + libs, timeout=120)
    if r.returncode != 0:
        raise TestFailure("cannot build %s:" % src, *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return exe


def start(ctx, module, args):
    ps = ctx.start_plainsight([module] + list(args))
    ps.wait_attached()
    lib = LIBS[module][3]
    if not re.search(r"attached %s to \S*%s\S* \(version \d+\.\d+\.\d+, layout [^)]+\)" % (module, re.escape(lib)),
                     ps.attached_line):
        raise TestFailure("the attached line does not name %s, its version and a layout: %r"
                          % (lib, ps.attached_line))
    return ps


def client_exchange(ctx, module, to_server, to_client, trace=None, exe=None, env=None):
    """Our client of module (exe: another build of it) sends to_server to a
    Python server, which answers to_client; trace(pid, port): what traces the
    client instead of one plainsight (test_wire's). Returns (plainsight, client, server)."""
    def start_json(pid, _port):
        return start(ctx, module, ["-m", "json", "-p", str(pid)])

    return peer_exchange(ctx, exe or build_client(ctx, module), trace or start_json, to_server, to_client, env=env)


def exchange(ctx, module, size_out, size_in, one_write=False):
    to_server, to_client = os.urandom(size_out), os.urandom(size_in)
    ps, cli, srv = client_exchange(ctx, module, to_server, to_client)
    check_peer_capture(ps, cli, srv, to_server, to_client, module=module, one_write=one_write)


@test("wolfssl_client_100KiB")
def wolfssl_client_100KiB(ctx):
    exchange(ctx, "wolfssl", 100 * KiB, 100 * KiB, one_write=True)


@test("wolfssl_single_call_4MiB")
def wolfssl_single_call_4MiB(ctx):
    exchange(ctx, "wolfssl", 4 * MiB, 4 * MiB, one_write=True)


@test("mbedtls_client_100KiB")
def mbedtls_client_100KiB(ctx):
    exchange(ctx, "mbedtls", 100 * KiB, 100 * KiB)


@test("mbedtls_4MiB")
def mbedtls_4MiB(ctx):
    exchange(ctx, "mbedtls", 4 * MiB, 4 * MiB)


# ---- Mbed TLS 3 (trixie's 3.6, from the corpus) ---------------------------------------


def build_mbedtls3_client(ctx):
    """mbedtls_peer.c against trixie's libmbedtls 3.6 (corpus libmbedtls:trixie),
    found through the executable's RPATH. Returns (exe, libmbedtls.so.21, its version)."""
    from test_versions import corpus, upstream_version
    entry = corpus("libmbedtls:trixie")
    root = entry["path"]
    libdir = os.path.join(root, "usr/lib/x86_64-linux-gnu")
    lib = os.path.join(libdir, "libmbedtls.so.21")
    if not os.path.exists(lib):
        raise TestFailure("corpus libmbedtls:trixie has no %s" % lib)
    exe = ctx.path("mbedtls3_peer")
    r = ctx.run(["cc", "-O2", "-Wall", "-I", HERE, "-I", os.path.join(root, "usr/include"), "-o", exe,
                 os.path.join(HERE, "mbedtls_peer.c"), "-L", libdir, "-Wl,--disable-new-dtags,-rpath," + libdir,
                 "-lmbedtls", "-lmbedx509", "-lmbedcrypto"], timeout=120)
    if r.returncode != 0:
        raise TestFailure("cannot build mbedtls_peer.c against 3.6:", *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return exe, lib, upstream_version(entry["version"]).split("-")[0]


def mbedtls3_keylog(ctx, maxv):
    """A 3.6 client sends an HTTP request; plainsight's key log (the TLS 1.3
    secrets where mbedtls_ssl_tls13_derive_*_secrets return, TLS 1.2's master
    where mbedtls_ssl_derive_keys does) lets tshark decrypt it, and the
    plaintext is byte-exact."""
    from test_keylog import Capture, check_keylog_file, decrypted_requests, need_tools
    need_tools()
    exe, lib, version = build_mbedtls3_client(ctx)
    cert, key = make_cert(ctx)
    path = "/mbedtls3-keylog-%d" % os.getpid()
    request = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path.encode()
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
    srv = PyServer(ctx, cert, key, len(request), answer)
    cli = PeerClient(ctx, exe, srv.port, request, len(answer), env=dict(os.environ, MBEDTLS_PEER_MAX=maxv))
    cap = Capture(ctx, srv.port)
    keylog = ctx.path("keys.log")
    # GCC writes 3.6's banner as immediates (mbedtls_version_get_string_full):
    # the version comes from the file libmbedtls.so.21 links to, libmbedtls.so.3.6.6
    ps = ctx.start_plainsight(["mbedtls", "-m", "json", "-k", keylog, "--mbedtls", lib, "-p", str(cli.pid)])
    ps.wait_attached()
    if not re.search(r"attached mbedtls to \S*libmbedtls\.so\.21 \(version %s, layout 3\.6\)" % re.escape(version),
                     ps.attached_line):
        raise TestFailure("the attached line does not name libmbedtls.so.21, version %s and layout 3.6: %r"
                          % (version, ps.attached_line))
    cli.go()
    cli.finish()
    srv.finish()
    ps.stop()
    cap.stop()
    compare_bytes("the server's own record of what it received", srv.received(0), request)
    records, summary, _ = ps.json_output()
    tuple_ = (LOCAL, cli.info["local"][1], LOCAL, srv.port)
    compare_stream(records, cli.pid, "write", request, "the 3.6 client's writes", fd=cli.info["fd"],
                   tuple_=tuple_, module="mbedtls")
    compare_stream(records, cli.pid, "read", answer, "the 3.6 client's reads", fd=cli.info["fd"],
                   tuple_=tuple_, module="mbedtls")
    lines = check_keylog_file(keylog, maxv == "1.3")
    out = decrypted_requests(ctx, cap.file, keylog)
    if path not in out:
        raise TestFailure("tshark decrypted no HTTP request %s with plainsight's keys (Mbed TLS 3.6, TLS %s):"
                          % (path, maxv), "key log:", *indent(lines))


@test("mbedtls3_keylog_tls13")
def mbedtls3_keylog_tls13(ctx):
    mbedtls3_keylog(ctx, "1.3")


@test("mbedtls3_keylog_tls12")
def mbedtls3_keylog_tls12(ctx):
    mbedtls3_keylog(ctx, "1.2")


@test("mbedtls_keylog_tls12")
def mbedtls_keylog_tls12(ctx):
    """The master secret mbedtls_ssl_derive_keys leaves lets tshark decrypt
    a capture of the client's HTTP request (TLS 1.2, all 2.28 speaks)."""
    from test_keylog import Capture, check_keylog_file, decrypted_requests, need_tools
    need_tools()
    exe = build_client(ctx, "mbedtls")
    cert, key = make_cert(ctx)
    path = "/mbedtls-keylog-%d" % os.getpid()
    request = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path.encode()
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
    srv = PyServer(ctx, cert, key, len(request), answer)
    cli = PeerClient(ctx, exe, srv.port, request, len(answer))
    cap = Capture(ctx, srv.port)
    keylog = ctx.path("keys.log")
    ps = start(ctx, "mbedtls", ["-m", "keylog", "-k", keylog, "-p", str(cli.pid)])
    cli.go()
    cli.finish()
    srv.finish()
    ps.stop()
    cap.stop()
    lines = check_keylog_file(keylog, False)
    out = decrypted_requests(ctx, cap.file, keylog)
    if path not in out:
        raise TestFailure("tshark decrypted no HTTP request %s with plainsight's keys:" % path,
                          "key log:", *indent(lines))
