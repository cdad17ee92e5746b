"""The nss module (alias nspr) end to end, on Debian's libssl3.so and
libnspr4.so with NSS's own tools from libnss3-tools: tstclnt against openssl
s_server and selfserv (a certutil database) against curl, TLS 1.2 and 1.3;
plaintext byte-exact both ways with the fd and 4-tuple, files and plain
sockets of the same programs left out; a client of ours (nss_peer.c)
handing NSS 4 MiB in one PR_Write (the loss accounting with it:
test_loss.py). Keys: TLS 1.2 and 1.3 secrets of tstclnt and selfserv,
with no SSLKEYLOGFILE anywhere near them, line for line those the OpenSSL
peer writes to its own key log, and they decrypt a capture in tshark."""

import os
import re
import subprocess
import time

import harness
from harness import (TestFailure, TestSkip, compare_stream, free_port, indent, listening,
                     require_program, tail, wait_until)
from test_gnutls import curl_get
from test_keylog import Capture, check_keylog_file, decrypted_requests
from test_keylog import need_tools as need_capture_tools
from tls_servers import make_cert, request_page, stdin_client_vs_s_server

TESTS, test = harness.registry()
KiB, MiB = 1024, 1024 * 1024
LOCAL = "127.0.0.1"
WORK_TIMEOUT = 60
VERSIONS = {"1.2": "tls1.2:tls1.2", "1.3": "tls1.3:tls1.3"}
ATTACHED_RE = re.compile(r"plainsight: attached nss to (\S*libssl3\.so) \(version (\d+\.\d+(\.\d+)?), "
                         r"layout ([^)]+)\)")


def need_tools():
    for tool in ("tstclnt", "selfserv", "certutil", "pk12util"):
        if not os.path.exists("/usr/bin/" + tool):
            raise TestSkip("%s is not installed (apt-get install libnss3-tools)" % tool)


def start_nss(ctx, args, name="nss"):
    ps = ctx.start_plainsight([name] + list(args))
    ps.wait_attached()
    m = ATTACHED_RE.search(ps.attached_line or "")
    if not m or m.group(4) == "none":
        raise TestFailure("the attached line does not name libssl3.so, a version and a layout: %r"
                          % ps.attached_line)
    return ps


def tstclnt_exchange(ctx, maxv, to_server, to_client, ps_args=("-m", "json"), name="nss", trace=None):
    """tstclnt (traced) sends to_server from its stdin to openssl s_server,
    which answers to_client from its own; trace(pid, port): what traces it
    instead of one plainsight (test_wire's). Returns (plainsight, tstclnt's pid, port)."""
    need_tools()
    return stdin_client_vs_s_server(
        ctx, lambda port: ["tstclnt", "-D", "-o", "-4", "-V", VERSIONS[maxv], "-h", LOCAL, "-p", str(port)],
        "tstclnt", lambda pid, port: trace(pid, port) if trace else start_nss(ctx, list(ps_args) + ["-p", str(pid)], name),
        to_server, to_client)


def tstclnt_check(ctx, maxv, name="nss"):
    to_server, to_client = os.urandom(100 * KiB), os.urandom(100 * KiB)
    ps, pid, port = tstclnt_exchange(ctx, maxv, to_server, to_client, name=name)
    time.sleep(0.3)
    ps.stop()
    records, summary, _ = ps.json_output()
    tuple_ = (LOCAL, None, LOCAL, port)
    # tstclnt reads its stdin and writes its stdout through PR_Read and PR_Write too: only the socket's are kept
    w = compare_stream(records, pid, "write", to_server, "tstclnt's sends", tuple_=tuple_, module="nss")
    r = compare_stream(records, pid, "read", to_client, "tstclnt's receives", tuple_=tuple_, module="nss")
    if w[0]["fd"] != r[0]["fd"] or w[0]["fd"] < 0 or w[0]["sport"] != r[0]["sport"]:
        raise TestFailure("sends and receives name different connections: %r vs %r"
                          % ((w[0]["fd"], w[0]["sport"]), (r[0]["fd"], r[0]["sport"])))
    if summary is None or summary.get("lost_bytes"):
        raise TestFailure("bytes lost in a small run: %r" % (summary,))


@test("nss_tstclnt_s_server_tls12")
def nss_tstclnt_s_server_tls12(ctx):
    tstclnt_check(ctx, "1.2")


@test("nss_tstclnt_s_server_tls13")
def nss_tstclnt_s_server_tls13(ctx):
    tstclnt_check(ctx, "1.3")


@test("nspr_alias_tstclnt")
def nspr_alias_tstclnt(ctx):
    """`plainsight nspr` is the nss module."""
    tstclnt_check(ctx, "1.3", name="nspr")


def selfserv(ctx, maxv, env=None):
    """selfserv with a certutil database holding a fresh certificate and key."""
    need_tools()
    cert, key = make_cert(ctx)
    db = ctx.path("nssdb")
    os.makedirs(db)
    p12 = ctx.path("server.p12")
    for argv in (["certutil", "-N", "-d", "sql:" + db, "--empty-password"],
                 ["openssl", "pkcs12", "-export", "-in", cert, "-inkey", key, "-out", p12, "-passout", "pass:",
                  "-name", "server"],
                 ["pk12util", "-i", p12, "-d", "sql:" + db, "-W", ""]):
        r = ctx.run(argv, timeout=60)
        if r.returncode != 0:
            raise TestFailure("%s failed:" % " ".join(argv), *indent(tail(r.stderr.decode("utf-8", "replace"))))
    port = free_port()
    srv = ctx.start(["selfserv", "-d", "sql:" + db, "-n", "server", "-p", str(port), "-V", VERSIONS[maxv]],
                    "selfserv", collect_stdout=True, env=env)
    wait_until(lambda: listening(port) or srv.p.poll() is not None, 20, "selfserv to listen on %d" % port)
    if srv.p.poll() is not None:
        raise TestFailure("selfserv exited early:", *indent(tail(srv.stderr)))
    return srv, port


def selfserv_check(ctx, maxv):
    require_program("curl")
    srv, port = selfserv(ctx, maxv)
    ps = start_nss(ctx, ["-m", "json", "-p", str(srv.pid)])
    path = "/selfserv-%d" % os.getpid()
    body, head = curl_get(ctx, port, path, maxv)
    time.sleep(0.3)
    ps.stop()
    request = b"GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (path.encode(), LOCAL.encode(), port)
    if request not in body:
        raise TestFailure("curl's own record: selfserv's answer does not echo the request: %r" % body[:300])
    records, summary, _ = ps.json_output()
    # selfserv listens on IPv6 and IPv4 both: a connection to 127.0.0.1 is a mapped address
    tuple_ = ("::ffff:" + LOCAL, port, "::ffff:" + LOCAL, None)
    r = compare_stream(records, srv.pid, "read", request, "selfserv's receives", tuple_=tuple_, module="nss")
    # selfserv writes its answer with PR_Writev: each element a record
    w = compare_stream(records, srv.pid, "write", head + body, "selfserv's sends (curl's headers and body)",
                       tuple_=tuple_, module="nss")
    if w[0]["fd"] != r[0]["fd"] or w[0]["fd"] < 0 or w[0]["dport"] != r[0]["dport"]:
        raise TestFailure("receives and sends name different connections")
    if summary is None or summary.get("lost_bytes"):
        raise TestFailure("bytes lost in a small run: %r" % (summary,))


@test("nss_selfserv_curl_tls12")
def nss_selfserv_curl_tls12(ctx):
    selfserv_check(ctx, "1.2")


@test("nss_selfserv_curl_tls13")
def nss_selfserv_curl_tls13(ctx):
    selfserv_check(ctx, "1.3")


# ---- keys --------------------------------------------------------------------------
#
# Debian builds NSS without NSS_ALLOW_SSLKEYLOGFILE (BUILD_OPT=1), so NSS
# itself writes no key log to compare with, whatever the environment says.
# The peer derives the same secrets for the same connection (RFC 8446 7.1,
# RFC 5246 8.1): OpenSSL's own key log (s_server -keylogfile, curl's
# SSLKEYLOGFILE) is the reference, compared line for line.


def no_keylog_env():
    """The environment without SSLKEYLOGFILE: NSS is told nothing."""
    env = dict(os.environ)
    env.pop("SSLKEYLOGFILE", None)
    return env


def read_lines(path):
    try:
        with open(path) as f:
            return [l for l in f.read().splitlines() if l and not l.startswith("#")]
    except FileNotFoundError:
        return []


def compare_keylogs(ours, reference, what):
    mine, theirs = set(read_lines(ours)), set(read_lines(reference))
    if not theirs:
        raise TestFailure("the reference key log (%s) is empty: the test proves nothing" % what)
    if mine != theirs:
        raise TestFailure("plainsight's key log and %s differ" % what,
                          "only plainsight's:", *indent(sorted(mine - theirs)),
                          "only the reference's:", *indent(sorted(theirs - mine)))


def check_nss_keys(ctx, keylog, reference, what, cap, path, maxv):
    check_keylog_file(keylog, maxv == "1.3")
    compare_keylogs(keylog, reference, what)
    out = decrypted_requests(ctx, cap.file, keylog)
    if path not in out:
        r = ctx.run(["tshark", "-n", "-r", cap.file], timeout=60)
        raise TestFailure("tshark decrypted no HTTP request %s with plainsight's keys (TLS %s):" % (path, maxv),
                          "key log:", *indent(read_lines(keylog)),
                          "tshark:", *indent(tail(r.stdout.decode("utf-8", "replace"))))


def nss_keylog_client(ctx, maxv):
    """tstclnt (traced, -m keylog) GETs a path from openssl s_server -www -keylogfile."""
    need_tools()
    need_capture_tools()
    cert, key = make_cert(ctx)
    port = free_port()
    keylog, reference = ctx.path("keys.log"), ctx.path("s_server.keys")
    argv = ["openssl", "s_server", "-quiet", "-naccept", "1", "-accept", "%s:%d" % (LOCAL, port),
            "-cert", cert, "-key", key, "-www", "-keylogfile", reference]
    srv = ctx.start(argv, "openssl s_server", stdin=subprocess.PIPE)
    wait_until(lambda: listening(port) or srv.p.poll() is not None, 20, "s_server to listen on %d" % port)
    cli = ctx.start(["sh", "-c", 'read go; exec tstclnt -D -o -4 -V "$1" -h 127.0.0.1 -p "$2"', "sh",
                     VERSIONS[maxv], str(port)], "tstclnt", stdin=subprocess.PIPE, collect_stdout=True,
                    env=no_keylog_env())
    cap = Capture(ctx, port)
    ps = start_nss(ctx, ["-m", "keylog", "-k", keylog, "-p", str(cli.pid)])
    path = "/nss-keylog-%d" % os.getpid()
    request_page(cli, path, "tstclnt")
    for proc in (cli, srv):
        proc.wait_or_kill(10)
    time.sleep(0.3)
    ps.stop()
    cap.stop()
    check_nss_keys(ctx, keylog, reference, "openssl s_server's -keylogfile", cap, path, maxv)


def nss_keylog_server(ctx, maxv):
    """selfserv (traced, -m keylog) answers curl, whose SSLKEYLOGFILE is the reference."""
    need_capture_tools()
    require_program("curl")
    srv, port = selfserv(ctx, maxv, env=no_keylog_env())
    keylog, reference = ctx.path("keys.log"), ctx.path("curl.keys")
    cap = Capture(ctx, port)
    ps = start_nss(ctx, ["-m", "keylog", "-k", keylog, "-p", str(srv.pid)])
    path = "/nss-keylog-%d" % os.getpid()
    curl_get(ctx, port, path, maxv, env=dict(os.environ, SSLKEYLOGFILE=reference))
    time.sleep(0.3)
    ps.stop()
    cap.stop()
    check_nss_keys(ctx, keylog, reference, "curl's SSLKEYLOGFILE", cap, path, maxv)


@test("nss_keylog_tstclnt_tls12")
def nss_keylog_tstclnt_tls12(ctx):
    nss_keylog_client(ctx, "1.2")


@test("nss_keylog_tstclnt_tls13")
def nss_keylog_tstclnt_tls13(ctx):
    nss_keylog_client(ctx, "1.3")


@test("nss_keylog_selfserv_tls12")
def nss_keylog_selfserv_tls12(ctx):
    nss_keylog_server(ctx, "1.2")


@test("nss_keylog_selfserv_tls13")
def nss_keylog_selfserv_tls13(ctx):
    nss_keylog_server(ctx, "1.3")


# ---- Firefox ESR ---------------------------------------------------------------------
#
# Debian's firefox-esr (bookworm: 153 ESR) bundles its own NSS (libssl3.so,
# libfreeblpriv3.so, ... in /usr/lib/firefox-esr, NSS 3.125.1) on the
# system's libnspr4: the plaintext hooks, on NSPR, see its sockets as they
# see tstclnt's. Headless, it fetches a page from a local server whose
# certificate its profile trusts (a CA of the test's, added with certutil).

FIREFOX_DIR = "/usr/lib/firefox-esr"

# One request a connection, each logged as a json line: the client's port, what
# came in (up to the blank line), what went out.
FIREFOX_SERVER_PY = r"""
import base64, json, socket, ssl, sys
port, cert, key, log, maxv = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if maxv == "1.2":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(8)
out = open(log, "a")
while True:
    c, peer = ls.accept()
    try:
        s = ctx.wrap_socket(c, server_side=True)
        got = b""
        while b"\r\n\r\n" not in got:
            d = s.recv(65536)
            if not d:
                break
            got += d
        if not got:   # a connection Firefox opened ahead and closed unused
            s.close()
            continue
        body = b"<html><body>plainsight %d</body></html>" % peer[1]
        sent = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (
            len(body), body)
        s.sendall(sent)
        s.close()
    except (OSError, ssl.SSLError) as e:
        print("connection from %d: %s" % (peer[1], e), file=sys.stderr, flush=True)
        continue
    out.write(json.dumps({"port": peer[1], "in": base64.b64encode(got).decode(),
                          "out": base64.b64encode(sent).decode()}) + "\n")
    out.flush()
"""


def need_firefox():
    if not os.path.exists(os.path.join(FIREFOX_DIR, "firefox-esr")):
        raise TestSkip("firefox-esr is not installed (apt-get install firefox-esr)")


def firefox_profile(ctx):
    """A CA, a certificate for 127.0.0.1 it signs, and a Firefox profile
    whose certificate database trusts the CA. Returns (profile, cert, key)."""
    ca, ca_key = ctx.path("ca.pem"), ctx.path("ca.key")
    cert, key, csr = ctx.path("leaf.pem"), ctx.path("leaf.key"), ctx.path("leaf.csr")
    ext = ctx.write("leaf.ext", b"subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                                b"extendedKeyUsage=serverAuth\n")
    profile = ctx.path("profile")
    os.makedirs(profile)
    # Nothing else to fetch: no updates, telemetry or remote settings during the test.
    ctx.write("profile/user.js", b'user_pref("app.update.enabled", false);\n'
                                 b'user_pref("toolkit.telemetry.enabled", false);\n'
                                 b'user_pref("network.captive-portal-service.enabled", false);\n'
                                 b'user_pref("network.connectivity-service.enabled", false);\n'
                                 b'user_pref("browser.safebrowsing.update.enabled", false);\n')
    for argv in (["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=plainsight test CA",
                  "-days", "1", "-keyout", ca_key, "-out", ca],
                 ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key,
                  "-out", csr],
                 ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                  "-days", "1", "-extfile", ext, "-out", cert],
                 ["certutil", "-N", "-d", "sql:" + profile, "--empty-password"],
                 ["certutil", "-A", "-n", "plainsight test CA", "-t", "CT,C,C", "-i", ca, "-d", "sql:" + profile]):
        r = ctx.run(argv, timeout=60)
        if r.returncode != 0:
            raise TestFailure("%s failed:" % " ".join(argv), *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return profile, cert, key


def firefox_fetch(ctx, ps_args, env=None, maxv="1.3", cap=False):
    """Firefox (headless) takes a screenshot of https://127.0.0.1:PORT/ with
    plainsight (ps_args) attached first. Returns (plainsight, server log
    entries, port)."""
    import base64
    import json
    need_tools()
    need_firefox()
    profile, cert, key = firefox_profile(ctx)
    port = free_port()
    log = ctx.path("server.log")
    script = ctx.write("server.py", FIREFOX_SERVER_PY.encode())
    srv = ctx.start(["python3", script, str(port), cert, key, log, maxv], "https server")
    wait_until(lambda: listening(port) or srv.p.poll() is not None, 20, "the server to listen on %d" % port)
    if srv.p.poll() is not None:
        raise TestFailure("the https server exited early:", *indent(tail(srv.stderr)))
    capture = Capture(ctx, port) if cap else None
    ps = start_nss(ctx, list(ps_args))
    shot = ctx.path("shot.png")
    ff = ctx.start([os.path.join(FIREFOX_DIR, "firefox-esr"), "--headless", "--no-remote", "--profile", profile,
                    "--screenshot", shot, "https://127.0.0.1:%d/" % port], "firefox-esr",
                   env=dict(env or no_keylog_env(), HOME=ctx.path("profile"), MOZ_CRASHREPORTER_DISABLE="1"))
    try:
        ff.p.wait(120)
    except subprocess.TimeoutExpired:
        ff.kill()
        raise TestFailure("firefox-esr took over 120 s for one screenshot:", *indent(tail(ff.stderr)))
    time.sleep(0.5)
    stderr = ps.stop()
    if capture:
        capture.stop()
    srv.kill()
    entries = []
    if os.path.exists(log):
        with open(log) as f:
            for line in f:
                e = json.loads(line)
                entries.append((e["port"], base64.b64decode(e["in"]), base64.b64decode(e["out"])))
    if not entries or not os.path.exists(shot):
        raise TestFailure("firefox-esr fetched no page (server log: %d connections, screenshot %s):"
                          % (len(entries), "written" if os.path.exists(shot) else "missing"),
                          *indent(tail(ff.stderr)), "server:", *indent(tail(srv.stderr)))
    # Firefox maps its bundled libnss3 first and dlopens libssl3, beside it, later:
    # that is the attached copy, no program out of reach
    wrong = [l for l in stderr.splitlines() if "not traced" in l and "firefox-esr/firefox-esr" in l]
    if wrong:
        raise TestFailure("plainsight says Firefox is out of reach, yet it is attached to its NSS:", *indent(wrong))
    return ps, entries, port, capture


@test("nss_firefox_headless")
def nss_firefox_headless(ctx):
    """Every request Firefox sent the server and every answer it read, byte
    for byte per connection, from its own NSS's sockets (the system's NSPR),
    with the connection's 4-tuple; nothing of other connections."""
    ps, entries, port, _ = firefox_fetch(ctx, ["-m", "json", "--nss", os.path.join(FIREFOX_DIR, "libssl3.so")])
    records, summary, _ = ps.json_output()
    ours = [r for r in records if r.get("event") == "tls_data" and r.get("dport") == port]
    for cport, got, sent in entries:
        conn = [r for r in ours if r.get("sport") == cport]
        tuple_ = (LOCAL, cport, LOCAL, port)
        pid = conn[0]["pid"] if conn else -1
        compare_stream(conn, pid, "write", got, "Firefox's request on port %d" % cport, tuple_=tuple_,
                       module="nss")
        compare_stream(conn, pid, "read", sent, "the answer Firefox read on port %d" % cport, tuple_=tuple_,
                       module="nss")
    if summary is None or summary.get("lost_bytes"):
        raise TestFailure("bytes lost: %r" % (summary,))


def firefox_keylog(ctx, maxv):
    """Firefox's NSS honours SSLKEYLOGFILE (Debian's system NSS does not):
    with it set, NSS writes its own key log, and plainsight's, taken from
    freebl and libssl3 with no help from NSS, is the same lines; they
    decrypt a capture in tshark."""
    need_capture_tools()
    need_firefox()
    keylog, reference = ctx.path("keys.log"), ctx.path("nss.keys")
    ps, entries, port, cap = firefox_fetch(
        ctx, ["-m", "keylog", "-k", keylog, "--nss", os.path.join(FIREFOX_DIR, "libssl3.so"),
              "--freebl", os.path.join(FIREFOX_DIR, "libfreeblpriv3.so")],
        env=dict(no_keylog_env(), SSLKEYLOGFILE=reference), maxv=maxv, cap=True)
    check_keylog_file(keylog, maxv == "1.3")
    compare_keylogs(keylog, reference, "the key log Firefox's NSS wrote itself (SSLKEYLOGFILE)")
    out = decrypted_requests(ctx, cap.file, keylog)
    if "/" not in out.split():
        r = ctx.run(["tshark", "-n", "-r", cap.file], timeout=60)
        raise TestFailure("tshark decrypted no HTTP request with plainsight's keys (TLS %s):" % maxv, "key log:",
                          *indent(read_lines(keylog)), "tshark:", *indent(tail(r.stdout.decode("utf-8", "replace"))))
    return ps


@test("nss_firefox_keylog_tls12")
def nss_firefox_keylog_tls12(ctx):
    """TLS 1.2: the master secret and client random are freebl's arguments."""
    firefox_keylog(ctx, "1.2")


@test("nss_firefox_keylog_tls13")
def nss_firefox_keylog_tls13(ctx):
    """TLS 1.3: each secret from freebl, its label from libssl3, and the
    client random from sslSocket at the offset Firefox's own libssl3 (NSS
    3.125.1, no layout of its own) shows in SSL_ExportKeyingMaterial's code:
    no key is refused, and the lines are NSS's own."""
    ps = firefox_keylog(ctx, "1.3")
    refused = [l for l in ps.stderr.splitlines() if "keys refused" in l]
    if refused:
        raise TestFailure("plainsight refused keys:", *indent(refused))


def build_nss_peer(ctx):
    if not os.path.exists("/usr/include/nss/ssl.h"):
        raise TestSkip("no NSS headers (apt-get install libnss3-dev): cannot build nss_peer.c")
    here = os.path.dirname(os.path.abspath(__file__))
    flags = ctx.run(["pkg-config", "--cflags", "--libs", "nss"], timeout=30)
    if flags.returncode != 0:
        raise TestSkip("pkg-config knows no nss (apt-get install libnss3-dev)")
    exe = ctx.path("nss_peer")
    r = ctx.run(["cc", "-O2", "-Wall", "-I", here, "-o", exe, os.path.join(here, "nss_peer.c")]
                + flags.stdout.decode().split(), timeout=120)
    if r.returncode != 0:
        raise TestFailure("cannot build nss_peer.c:", *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return exe


@test("nss_single_call_4MiB")
def nss_single_call_4MiB(ctx):
    """NSS takes 4 MiB in one PR_Write on an SSL socket: one record,
    byte-exact, with the socket's fd and 4-tuple; the answer too."""
    from tls_servers import check_peer_capture, peer_exchange
    to_server, to_client = os.urandom(4 * MiB), os.urandom(256 * KiB)
    def start_json(pid, _port):
        return start_nss(ctx, ["-m", "json", "-p", str(pid)])

    ps, cli, srv = peer_exchange(ctx, build_nss_peer(ctx), start_json, to_server, to_client)
    check_peer_capture(ps, cli, srv, to_server, to_client, module="nss", one_write=True)
