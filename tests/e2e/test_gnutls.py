"""The gnutls module end to end, on Debian's libgnutls.so.30 and its own
programs: gnutls-cli against openssl s_server and gnutls-serv against curl
(plaintext byte-exact both ways, fd and 4-tuple, TLS 1.2 and 1.3), keys
from GnuTLS's internal key log call that let tshark decrypt a capture of
each, a client of ours (gnutls_peer.c) handing GnuTLS 4 MiB in one call,
and wget over HTTPS (the loss accounting: test_loss.py)."""

import os
import re
import subprocess
import threading
import time

import harness
from harness import (TestFailure, TestSkip, compare_bytes, compare_stream, concat, free_port, indent, listening,
                     records_of, require_program, tail, wait_until)
from test_keylog import Capture, check_keylog_file, decrypted_requests, need_tools
from tls_servers import PeerClient, PyServer, check_peer_capture, make_cert, peer_exchange, request_page

TESTS, test = harness.registry()
KiB, MiB = 1024, 1024 * 1024
LOCAL = "127.0.0.1"
WORK_TIMEOUT = 60
PRIORITY = {"1.2": "NORMAL:-VERS-ALL:+VERS-TLS1.2", "1.3": "NORMAL:-VERS-ALL:+VERS-TLS1.3"}
ATTACHED_RE = re.compile(r"plainsight: attached gnutls to (\S*libgnutls\.so\.30) \(version (\d+\.\d+\.\d+), "
                         r"layout ([^)]+)\)")
CLI_DATA_MARK = b"- Simple Client Mode:\n\n"
PEER_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gnutls_peer.c")


def check_attached(ps):
    """The attached line names the library, its version and the layout."""
    m = ATTACHED_RE.search(ps.attached_line or "")
    if not m:
        raise TestFailure("the attached line does not name libgnutls.so.30, a version and a layout: %r"
                          % ps.attached_line)
    if m.group(3) == "none":
        raise TestFailure("no layout for GnuTLS %s: %r" % (m.group(2), ps.attached_line))


def start_gnutls(ctx, args, asan=False):
    ps = ctx.start_plainsight(["gnutls"] + list(args), asan=asan)
    ps.wait_attached()
    check_attached(ps)
    return ps


def write_all(proc, data, errors):
    try:
        proc.p.stdin.write(data)
        proc.p.stdin.flush()
    except OSError as e:
        errors.append(e)


def feed(proc, data):
    """Writes data to proc's stdin in a thread (more than a pipe holds)."""
    errors = []
    t = threading.Thread(target=write_all, args=(proc, data, errors), daemon=True)
    t.start()
    return t, errors


def cli_received(out):
    """What gnutls-cli wrote of the server's data: its stdout after the mark,
    without the line it adds when the server closes."""
    at = out.find(CLI_DATA_MARK)
    if at < 0:
        return None
    data = out[at + len(CLI_DATA_MARK):]
    for tail_line in (b"- Peer has closed the GnuTLS connection\n",):
        if data.endswith(tail_line):
            data = data[:-len(tail_line)]
    return data


def cli_vs_s_server(ctx, maxv, to_server, to_client, trace=None):
    """gnutls-cli (traced) against openssl s_server: gnutls-cli sends
    to_server from its stdin, s_server answers to_client from its own.
    trace(pid, port): what traces gnutls-cli instead of one plainsight
    (test_wire's). Returns (plainsight, gnutls-cli's pid, s_server's port)."""
    cert, key = make_cert(ctx)
    port = free_port()
    argv = ["openssl", "s_server", "-quiet", "-naccept", "1", "-accept", "%s:%d" % (LOCAL, port),
            "-cert", cert, "-key", key]
    if maxv == "1.2":
        argv.append("-no_tls1_3")
    srv = ctx.start(argv, "openssl s_server", stdin=subprocess.PIPE, collect_stdout=True)
    wait_until(lambda: listening(port) or srv.p.poll() is not None, 20, "s_server to listen on %d" % port)
    cli = ctx.start(["sh", "-c", 'read go; exec gnutls-cli --insecure --priority "$1" -p "$2" 127.0.0.1',
                     "sh", PRIORITY[maxv], str(port)], "gnutls-cli", stdin=subprocess.PIPE, collect_stdout=True)
    ps = trace(cli.pid, port) if trace else start_gnutls(ctx, ["-m", "json", "-p", str(cli.pid)])
    cli.p.stdin.write(b"go\n")
    cli.p.stdin.flush()
    t1, e1 = feed(cli, to_server)
    wait_until(lambda: len(srv.stdout_bytes) >= len(to_server) or srv.p.poll() is not None
               or cli.p.poll() is not None, WORK_TIMEOUT, "s_server to receive %d bytes" % len(to_server))
    t2, e2 = feed(srv, to_client)
    wait_until(lambda: len(cli_received(cli.stdout_bytes) or b"") >= len(to_client) or cli.p.poll() is not None,
               WORK_TIMEOUT, "gnutls-cli to receive %d bytes" % len(to_client))
    t1.join(WORK_TIMEOUT)
    t2.join(WORK_TIMEOUT)
    if e1 or e2:
        raise TestFailure("feeding the programs failed: %r" % (e1 + e2),
                          "gnutls-cli stderr:", *indent(tail(cli.stderr)))
    cli.p.stdin.close()   # gnutls-cli ends the session at the end of its input
    cli.wait(WORK_TIMEOUT)
    srv.p.stdin.close()
    srv.wait_or_kill(10)
    srv.join_readers()
    compare_bytes("s_server's own record: what it received vs what gnutls-cli was given",
                  srv.stdout_bytes, to_server)
    compare_bytes("gnutls-cli's own record: what it received vs what s_server was given",
                  cli_received(cli.stdout_bytes) or b"", to_client)
    return ps, cli.pid, port


def gnutls_cli_exchange(ctx, maxv):
    to_server, to_client = os.urandom(100 * KiB), os.urandom(100 * KiB)
    ps, pid, port = cli_vs_s_server(ctx, maxv, to_server, to_client)
    ps.stop()
    records, summary, _ = ps.json_output()
    tuple_ = (LOCAL, None, LOCAL, port)
    w = compare_stream(records, pid, "write", to_server, "gnutls-cli's sends", tuple_=tuple_, module="gnutls")
    r = compare_stream(records, pid, "read", to_client, "gnutls-cli's receives", tuple_=tuple_, module="gnutls")
    if w[0]["fd"] != r[0]["fd"] or w[0]["fd"] < 0:
        raise TestFailure("sends name fd %r, receives fd %r" % (w[0]["fd"], r[0]["fd"]))
    if w[0]["sport"] != r[0]["sport"]:
        raise TestFailure("sends and receives name two connections: ports %r, %r" % (w[0]["sport"], r[0]["sport"]))
    if summary is None or summary.get("lost_bytes"):
        raise TestFailure("bytes lost in a small run: %r" % (summary,))


@test("gnutls_cli_s_server_tls12")
def gnutls_cli_s_server_tls12(ctx):
    gnutls_cli_exchange(ctx, "1.2")


@test("gnutls_cli_s_server_tls13")
def gnutls_cli_s_server_tls13(ctx):
    gnutls_cli_exchange(ctx, "1.3")


class GnutlsServ:
    """gnutls-serv --http answering every request with a file of ours."""

    def __init__(self, ctx, maxv, body):
        cert, key = make_cert(ctx)
        self.port = free_port()
        self.body = body
        data = ctx.write("httpdata", body)
        self.proc = ctx.start(["gnutls-serv", "--http", "--httpdata", data, "--priority", PRIORITY[maxv],
                               "-p", str(self.port), "--x509certfile", cert, "--x509keyfile", key],
                              "gnutls-serv", collect_stdout=True)
        wait_until(lambda: listening(self.port) or self.proc.p.poll() is not None, 20,
                   "gnutls-serv to listen on %d" % self.port)
        if self.proc.p.poll() is not None:
            raise TestFailure("gnutls-serv exited early:", *indent(tail(self.proc.stderr)))
        self.pid = self.proc.pid


def curl_get(ctx, port, path, maxv, env=None):
    """curl GET with no optional header: its request is exactly known."""
    out, hdr = ctx.path("curl.out"), ctx.path("curl.hdr")
    argv = ["curl", "-sSk", "--http1.1", "-H", "User-Agent:", "-H", "Accept:", "--max-time", str(WORK_TIMEOUT),
            "-o", out, "-D", hdr, "https://%s:%d%s" % (LOCAL, port, path)]
    if maxv == "1.2":
        argv += ["--tls-max", "1.2"]
    ctx.start(argv, "curl", env=env).check_ok(WORK_TIMEOUT + 10)
    with open(out, "rb") as f, open(hdr, "rb") as g:
        return f.read(), g.read()


def gnutls_serv_exchange(ctx, maxv):
    require_program("curl")
    body = os.urandom(100 * KiB)
    srv = GnutlsServ(ctx, maxv, body)
    ps = start_gnutls(ctx, ["-m", "json", "-p", str(srv.pid)])
    path = "/gnutls-serv-%d" % os.getpid()
    got, head = curl_get(ctx, srv.port, path, maxv)
    compare_bytes("curl's own record: the body it received vs gnutls-serv's --httpdata", got, body)
    time.sleep(0.3)
    ps.stop()
    records, summary, _ = ps.json_output()
    request = b"GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (path.encode(), LOCAL.encode(), srv.port)
    tuple_ = (LOCAL, srv.port, LOCAL, None)
    r = compare_stream(records, srv.pid, "read", request, "gnutls-serv's receives", tuple_=tuple_, module="gnutls")
    w = compare_stream(records, srv.pid, "write", head + body, "gnutls-serv's sends (curl's headers and body)",
                       tuple_=tuple_, module="gnutls")
    if w[0]["fd"] != r[0]["fd"] or w[0]["fd"] < 0 or w[0]["dport"] != r[0]["dport"]:
        raise TestFailure("receives and sends name different connections: %r vs %r"
                          % ((r[0]["fd"], r[0]["dport"]), (w[0]["fd"], w[0]["dport"])))
    if summary is None or summary.get("lost_bytes"):
        raise TestFailure("bytes lost in a small run: %r" % (summary,))


@test("gnutls_serv_curl_tls12")
def gnutls_serv_curl_tls12(ctx):
    gnutls_serv_exchange(ctx, "1.2")


@test("gnutls_serv_curl_tls13")
def gnutls_serv_curl_tls13(ctx):
    gnutls_serv_exchange(ctx, "1.3")


# ---- keys ------------------------------------------------------------------------


def keylog_client(ctx, maxv, asan=False):
    """gnutls-cli (traced, -m keylog) GETs a path from openssl s_server -www."""
    need_tools()
    cert, key = make_cert(ctx)
    port = free_port()
    keylog = ctx.path("keys.log")
    argv = ["openssl", "s_server", "-quiet", "-naccept", "1", "-accept", "%s:%d" % (LOCAL, port),
            "-cert", cert, "-key", key, "-www"]
    if maxv == "1.2":
        argv.append("-no_tls1_3")
    srv = ctx.start(argv, "openssl s_server", stdin=subprocess.PIPE)
    wait_until(lambda: listening(port), 20, "s_server to listen on %d" % port)
    cli = ctx.start(["sh", "-c", 'read go; exec gnutls-cli --insecure --priority "$1" -p "$2" 127.0.0.1',
                     "sh", PRIORITY[maxv], str(port)], "gnutls-cli", stdin=subprocess.PIPE, collect_stdout=True)
    cap = Capture(ctx, port)
    ps = start_gnutls(ctx, ["-m", "keylog", "-k", keylog, "-p", str(cli.pid)], asan=asan)
    path = "/gnutls-keylog-%d" % os.getpid()
    request_page(cli, path, "gnutls-cli")
    cli.wait(WORK_TIMEOUT)
    srv.wait_or_kill(10)
    time.sleep(0.3)
    ps.stop()
    cap.stop()
    return keylog, cap, path


def keylog_server(ctx, maxv):
    """gnutls-serv (traced, -m keylog) answers curl."""
    need_tools()
    require_program("curl")
    keylog = ctx.path("keys.log")
    srv = GnutlsServ(ctx, maxv, b"hello from gnutls-serv\n")
    cap = Capture(ctx, srv.port)
    ps = start_gnutls(ctx, ["-m", "keylog", "-k", keylog, "-p", str(srv.pid)])
    path = "/gnutls-keylog-%d" % os.getpid()
    curl_get(ctx, srv.port, path, maxv)
    time.sleep(0.3)
    ps.stop()
    cap.stop()
    return keylog, cap, path


def check_decrypts(ctx, keylog, cap, path, maxv, side):
    check_keylog_file(keylog, maxv != "1.2")
    out = decrypted_requests(ctx, cap.file, keylog)
    if path not in out:
        r = ctx.run(["tshark", "-n", "-r", cap.file], timeout=60)
        raise TestFailure("tshark decrypted no HTTP request %s with plainsight's keys (%s side, TLS %s):"
                          % (path, side, maxv), "key log:", *indent(ctx.read("keys.log").decode().splitlines()),
                          "tshark:", *indent(tail(r.stdout.decode("utf-8", "replace"))))


@test("gnutls_keylog_client_tls12")
def gnutls_keylog_client_tls12(ctx):
    check_decrypts(ctx, *keylog_client(ctx, "1.2"), "1.2", "client")


@test("gnutls_keylog_client_tls13")
def gnutls_keylog_client_tls13(ctx):
    check_decrypts(ctx, *keylog_client(ctx, "1.3"), "1.3", "client")


@test("gnutls_asan_keylog_client_tls13")
def gnutls_asan_keylog_client_tls13(ctx):
    """The same under the ASan+UBSan build: 'called with' and the labelled secrets."""
    check_decrypts(ctx, *keylog_client(ctx, "1.3", asan=True), "1.3", "client")


@test("gnutls_keylog_server_tls12")
def gnutls_keylog_server_tls12(ctx):
    check_decrypts(ctx, *keylog_server(ctx, "1.2"), "1.2", "server")


@test("gnutls_keylog_server_tls13")
def gnutls_keylog_server_tls13(ctx):
    check_decrypts(ctx, *keylog_server(ctx, "1.3"), "1.3", "server")


# ---- one big call ----------------------------------------------------------------


def build_peer(ctx):
    if not os.path.exists("/usr/include/gnutls/gnutls.h"):
        raise TestSkip("no GnuTLS headers (apt-get install libgnutls28-dev): cannot build gnutls_peer.c")
    exe = ctx.path("gnutls_peer")
    r = ctx.run(["cc", "-O2", "-Wall", "-o", exe, PEER_SRC, "-lgnutls"], timeout=120)
    if r.returncode != 0:
        raise TestFailure("cannot build gnutls_peer.c:", *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return exe


class GnutlsPeerClient(PeerClient):
    """gnutls_peer.c, which takes the priority string for maxv last."""

    def __init__(self, ctx, exe, port, send_data, recv_bytes, maxv="1.3", env=None):
        super().__init__(ctx, exe, port, send_data, recv_bytes, [PRIORITY[maxv]], env=env)


@test("gnutls_single_call_4MiB")
def gnutls_single_call_4MiB(ctx):
    """GnuTLS takes 4 MiB in one gnutls_record_send (corked): one record,
    byte-exact, with the socket's fd and 4-tuple; the answer too."""
    to_server, to_client = os.urandom(4 * MiB), os.urandom(256 * KiB)
    def start_json(pid, _port):
        return start_gnutls(ctx, ["-m", "json", "-p", str(pid)])

    ps, cli, srv = peer_exchange(ctx, build_peer(ctx), start_json, to_server, to_client, more_args=[PRIORITY["1.3"]])
    check_peer_capture(ps, cli, srv, to_server, to_client, module="gnutls", one_write=True)


@test("gnutls_recv_packet")
def gnutls_recv_packet(ctx):
    """A client reading with gnutls_record_recv_packet (the record stays in
    GnuTLS's buffer; gnutls_packet_get points into it): what it read, byte
    for byte, through the packet's offsets (mbuffer_st, layout 3.7)."""
    exe = build_peer(ctx)
    cert, key = make_cert(ctx)
    to_server, to_client = os.urandom(16 * KiB), os.urandom(300 * KiB)
    srv = PyServer(ctx, cert, key, len(to_server), to_client)
    cli = GnutlsPeerClient(ctx, exe, srv.port, to_server, len(to_client), env=dict(os.environ, GNUTLS_PEER_PACKET="1"))
    ps = start_gnutls(ctx, ["-m", "json", "-p", str(cli.pid)])
    cli.go()
    cli.finish()
    srv.finish()
    ps.stop()
    compare_bytes("gnutls_peer's own record of what it received", cli.received, to_client)
    records, summary, _ = ps.json_output()
    tuple_ = (LOCAL, cli.info["local"][1], LOCAL, srv.port)
    reads = compare_stream(records, cli.pid, "read", to_client, "gnutls_peer's gnutls_record_recv_packet calls",
                           fd=cli.info["fd"], tuple_=tuple_, module="gnutls")
    if len(reads) < 300 // 16:
        raise TestFailure("%d records for 300 KiB: not one a TLS record" % len(reads))
    compare_stream(records, cli.pid, "write", to_server, "gnutls_peer's send", fd=cli.info["fd"],
                   tuple_=tuple_, module="gnutls")
    if summary is None or summary.get("lost_bytes"):
        raise TestFailure("bytes lost: %r" % (summary,))


@test("gnutls_early_data")
def gnutls_early_data(ctx):
    """TLS 1.3 0-RTT: gnutls-cli -r --earlydata resumes its session and sends
    a file as early data; gnutls-serv --earlydata --echo reads it with
    gnutls_record_recv_early_data. Both sides' records carry it exactly
    once, before the line sent after the handshake, which the echo returns."""
    need_tools()
    cert, key = make_cert(ctx)
    port = free_port()
    early = b"early data %d %s\n" % (os.getpid(), os.urandom(8).hex().encode())
    line = b"after the handshake %s\n" % os.urandom(8).hex().encode()
    early_file = ctx.write("early.txt", early)
    srv = ctx.start(["gnutls-serv", "--earlydata", "--echo", "-p", str(port), "--x509certfile", cert,
                     "--x509keyfile", key], "gnutls-serv", collect_stdout=True)
    wait_until(lambda: listening(port) or srv.p.poll() is not None, 20, "gnutls-serv to listen on %d" % port)
    ps = start_gnutls(ctx, ["-m", "json"])
    cli = ctx.start(["sh", "-c", 'exec gnutls-cli --insecure -r --earlydata="$1" -p "$2" 127.0.0.1', "sh",
                     early_file, str(port)], "gnutls-cli", stdin=subprocess.PIPE, collect_stdout=True)
    cli.p.stdin.write(line)
    cli.p.stdin.flush()
    wait_until(lambda: line in cli.stdout_bytes or cli.p.poll() is not None, WORK_TIMEOUT,
               "gnutls-cli to get its line echoed")
    cli.p.stdin.close()
    cli.wait(WORK_TIMEOUT)
    time.sleep(0.3)
    ps.stop()
    srv.kill()
    if b"This is a resumed session" not in cli.stdout_bytes:
        raise TestFailure("gnutls-cli did not resume its session: no early data was possible",
                          *indent(tail(cli.stdout_bytes.decode("utf-8", "replace"))))
    records, summary, _ = ps.json_output()
    data = [r for r in records if r.get("event") == "tls_data" and port in (r.get("sport"), r.get("dport"))]
    for pid, direction, who in ((srv.pid, "read", "gnutls-serv's reads"), (cli.pid, "write", "gnutls-cli's writes")):
        got = concat(records_of(data, pid, direction))
        if got.count(early) != 1 or got.find(early) > got.find(line) or got.count(line) != 1:
            raise TestFailure("%s hold the early data %d times and the line %d times (early data at %d, "
                              "line at %d); want each once, early data first"
                              % (who, got.count(early), got.count(line), got.find(early), got.find(line)),
                              "got: %r" % got[:400])
    if summary is None or summary.get("lost_bytes"):
        raise TestFailure("bytes lost: %r" % (summary,))


# ---- programs on GnuTLS ------------------------------------------------------------


@test("gnutls_wget")
def gnutls_wget(ctx):
    """wget (GnuTLS) fetches a file from openssl s_server's -WWW: its request
    and the file, byte-exact, from wget's own calls."""
    require_program("wget")
    cert, key = make_cert(ctx)
    port = free_port()
    body = os.urandom(64 * KiB)
    name = "wget-%d.bin" % os.getpid()
    www = ctx.path("www")
    os.makedirs(www)
    with open(os.path.join(www, name), "wb") as f:
        f.write(body)
    srv = ctx.start(["sh", "-c", 'cd "$1" && exec openssl s_server -quiet -naccept 1 -accept "$2" '
                     '-cert "$3" -key "$4" -WWW', "sh", www, "%s:%d" % (LOCAL, port), cert, key],
                    "openssl s_server", stdin=subprocess.PIPE)
    wait_until(lambda: listening(port), 20, "s_server to listen on %d" % port)
    out = ctx.path("wget.out")
    cli = ctx.start(["sh", "-c", 'read go; exec wget -q --no-check-certificate -O "$1" "$2"', "sh", out,
                     "https://%s:%d/%s" % (LOCAL, port, name)], "wget", stdin=subprocess.PIPE)
    ps = start_gnutls(ctx, ["-m", "json", "-p", str(cli.pid)])
    cli.p.stdin.write(b"go\n")
    cli.p.stdin.flush()
    cli.check_ok(WORK_TIMEOUT)
    with open(out, "rb") as f:
        compare_bytes("wget's own copy of the file", f.read(), body)
    time.sleep(0.3)
    ps.stop()
    records, _, _ = ps.json_output()
    sent = b"".join(r["payload"] for r in records_of(records, cli.pid, "write"))
    if not sent.startswith(b"GET /%s HTTP/1.1\r\n" % name.encode()) or not sent.endswith(b"\r\n\r\n"):
        raise TestFailure("wget's captured request is not its GET: %r" % sent[:200])
    got = b"".join(r["payload"] for r in records_of(records, cli.pid, "read"))
    head, sep, rest = got.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200") or not sep:
        raise TestFailure("wget's captured answer does not start with s_server's status line: %r" % got[:200])
    compare_bytes("wget's captured reads after the headers vs the file", rest, body)


HTTPS_FILES_PY = r"""
import http.server, ssl, sys, functools
port, cert, key, root = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", port), functools.partial(H, directory=root))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
"""


def serve_repo(ctx, files):
    """A bare repository whose one commit holds files ({name: bytes}),
    served over HTTPS by a Python server (git's dumb protocol: every file as
    it is on disk). Returns (port, the bare repository's path, git's env)."""
    require_program("git")
    cert, key = make_cert(ctx)
    root = ctx.path("srv")
    work = ctx.path("work")
    os.makedirs(root)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", HOME=ctx.tmp)
    bare = os.path.join(root, "repo.git")
    r = subprocess.run(["git", "init", "-q", work], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        raise TestFailure("git init failed:", *indent(tail(r.stderr.decode("utf-8", "replace"))))
    for name, data in files.items():
        with open(os.path.join(work, name), "wb") as f:
            f.write(data)
    for argv in (["git", "-C", work, "add", "-A"],
                 ["git", "-C", work, "commit", "-q", "--allow-empty", "-m", "one"],
                 ["git", "clone", "-q", "--bare", work, bare],   # local: the loose objects, as they are
                 ["git", "-C", bare, "update-server-info"]):
        r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if r.returncode != 0:
            raise TestFailure("%s failed:" % " ".join(argv), *indent(tail(r.stderr.decode("utf-8", "replace"))))
    port = free_port()
    script = ctx.write("files.py", HTTPS_FILES_PY.encode())
    ctx.start(["python3", script, str(port), cert, key, root], "python https server")
    wait_until(lambda: listening(port), 20, "the https server to listen on %d" % port)
    return port, bare, env


def git_remote_https_records(ps, port):
    """git-remote-https's records (a child of git: every process is traced),
    all of them on connections to the server at port, from one process."""
    records, _, _ = ps.json_output()
    mine = [x for x in records if x.get("comm", "").startswith("git-remote-http")]
    if not mine:
        raise TestFailure("no record from git-remote-https; records from %s"
                          % sorted({x.get("comm") for x in records}))
    for x in mine:
        if x.get("dport") != port and x.get("sport") != port:
            raise TestFailure("a git-remote-https record names another connection: %r"
                              % {k: v for k, v in x.items() if k != "payload"})
    pids = {x["pid"] for x in mine}
    if len(pids) != 1:
        raise TestFailure("git-remote-https records from several pids: %s" % sorted(pids))
    return mine


@test("gnutls_git_ls_remote")
def gnutls_git_ls_remote(ctx):
    """git ls-remote over HTTPS (git-remote-https on libcurl-gnutls) against
    a bare repository served by a Python HTTPS server (git's dumb protocol):
    the captured request asks for info/refs, the captured answer holds the
    file byte for byte, and the commit git printed is in it."""
    port, bare, env = serve_repo(ctx, {})
    with open(os.path.join(bare, "info", "refs"), "rb") as f:
        refs = f.read()
    ps = start_gnutls(ctx, ["-m", "json"])
    r = subprocess.run(["git", "ls-remote", "https://%s:%d/repo.git" % (LOCAL, port)],
                       env=dict(env, GIT_SSL_NO_VERIFY="1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=WORK_TIMEOUT)
    time.sleep(0.3)
    ps.stop()
    if r.returncode != 0:
        raise TestFailure("git ls-remote failed:", *indent(tail(r.stderr.decode("utf-8", "replace"))))
    commit = r.stdout.split()[0]
    mine = git_remote_https_records(ps, port)
    sent = b"".join(x["payload"] for x in mine if x["dir"] == "write")
    got = b"".join(x["payload"] for x in mine if x["dir"] == "read")
    if b"GET /repo.git/info/refs?service=git-upload-pack HTTP/1.1\r\n" not in sent:
        raise TestFailure("git-remote-https's captured sends hold no request for info/refs: %r" % sent[:300])
    if refs not in got or commit not in got:
        raise TestFailure("git-remote-https's captured reads do not hold info/refs (%d bytes, commit %s): %r"
                          % (len(refs), commit.decode(), got[:400]))


@test("gnutls_git_clone")
def gnutls_git_clone(ctx):
    """git clone over HTTPS through libcurl-gnutls (git's dumb protocol, so
    every object is a file served as it is on disk): each connection's
    captured reads, in order, hold the file of every object the repository
    has (the 300 KB blob's spans many TLS records) byte for byte, the sends
    ask for each, and the clone's file equals the original."""
    blob = os.urandom(300 * 1024)
    port, bare, env = serve_repo(ctx, {"data.bin": blob, "hello.txt": b"hello over gnutls\n"})
    # the objects git must fetch, each a loose file (a local clone keeps them so)
    objects = {}
    for d in sorted(os.listdir(os.path.join(bare, "objects"))):
        if len(d) == 2:
            for name in os.listdir(os.path.join(bare, "objects", d)):
                with open(os.path.join(bare, "objects", d, name), "rb") as f:
                    objects["objects/%s/%s" % (d, name)] = f.read()
    if len(objects) != 4:   # commit, tree, two blobs
        raise TestFailure("the served repository has %d loose objects, not 4: %s" % (len(objects), sorted(objects)))
    dest = ctx.path("clone")
    ps = start_gnutls(ctx, ["-m", "json"])
    r = subprocess.run(["git", "clone", "-q", "https://%s:%d/repo.git" % (LOCAL, port), dest],
                       env=dict(env, GIT_SSL_NO_VERIFY="1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=WORK_TIMEOUT)
    time.sleep(0.3)
    ps.stop()
    if r.returncode != 0:
        raise TestFailure("git clone failed:", *indent(tail(r.stderr.decode("utf-8", "replace"))))
    with open(os.path.join(dest, "data.bin"), "rb") as f:
        if f.read() != blob:
            raise TestFailure("the clone's data.bin differs from the original")
    mine = git_remote_https_records(ps, port)
    # one stream a connection (git fetches several objects at once), in record order
    streams = {}
    for x in mine:
        conn = (x.get("sport"), x.get("dport"))
        streams.setdefault((conn, x["dir"]), []).append(x["payload"])
    reads = [b"".join(v) for (conn, d), v in streams.items() if d == "read"]
    sent = b"".join(b"".join(v) for (conn, d), v in streams.items() if d == "write")
    for path, data in sorted(objects.items()):
        if b"GET /repo.git/%s HTTP/1.1\r\n" % path.encode() not in sent:
            raise TestFailure("git-remote-https's captured sends hold no request for %s: %r" % (path, sent[:400]))
        if not any(data in stream for stream in reads):
            raise TestFailure("no connection's captured reads hold %s (%d bytes) byte for byte; read streams: %s"
                              % (path, len(data), [len(s) for s in reads]))


# ---- other Debian releases' libgnutls ----------------------------------------------


def versions_attach(ctx, suite, want_version):
    """The suite's libgnutls.so.30 (tests/corpus/fetch.sh libgnutls:SUITE):
    its version is read, the layout's client random offset is what
    gnutls_session_get_random's code reads, the key log function is located
    by its labels, and gnutls_record_send is left to gnutls_record_send2."""
    from test_versions import corpus
    entry = corpus("libgnutls:" + suite)
    lib = os.path.join(entry["path"], "usr/lib/x86_64-linux-gnu/libgnutls.so.30")
    if not os.path.exists(lib):
        raise TestFailure("the corpus %s holds no %s" % (entry["path"], lib))
    # --btf-cache none: the library itself is read (no verdicts from the cache), so -d tells each step
    ps = ctx.start_plainsight(["gnutls", "--gnutls", lib, "-d", "-q", "-p", str(os.getpid()), "--btf-cache", "none"])
    ps.wait_attached()
    ps.stop()
    err = ps.stderr
    want = ["attached gnutls to %s (version %s, layout 3.7)" % (lib, want_version),
            "gnutls_session_int.security_parameters.client_random at 80 in layout '3.7': "
            "gnutls_session_get_random confirms it",
            "_gnutls_call_keylog_func located at ",
            "gnutls_record_send not hooked: it calls a hooked gnutls_record_send2"]
    missing = [w for w in want if w not in err]
    if missing:
        raise TestFailure("plainsight -d on %s's libgnutls (%s) does not say:" % (suite, entry["version"]),
                          *indent(missing), "its stderr:",
                          *indent([l for l in err.splitlines() if not l.startswith("libbpf")][-30:]))


@test("gnutls_versions_bullseye_3.7.1")
def gnutls_versions_bullseye(ctx):
    versions_attach(ctx, "bullseye", "3.7.1")


@test("gnutls_versions_trixie_3.8.9")
def gnutls_versions_trixie(ctx):
    versions_attach(ctx, "trixie", "3.8.9")


@test("gnutls_versions_sid_3.8")
def gnutls_versions_sid(ctx):
    """sid moves on: its version is whatever 3.8.x the corpus holds."""
    from test_versions import corpus
    version = corpus("libgnutls:sid")["version"].split("-")[0]
    versions_attach(ctx, "sid", version)


@test("gnutls_pcapng_decrypts_tls13")
def gnutls_pcapng_decrypts_tls13(ctx):
    """-m pcapng: the packets of gnutls-serv's port and GnuTLS's secrets in
    one file, which tshark decrypts with no key file."""
    need_tools()
    require_program("curl")
    srv = GnutlsServ(ctx, "1.3", b"hello from gnutls-serv in pcapng\n")
    pcap = ctx.path("out.pcapng")
    ps = start_gnutls(ctx, ["-m", "pcapng", "-i", "lo", "-w", pcap, "-q", "tcp", "port", str(srv.port)])
    path = "/gnutls-pcapng-%d" % os.getpid()
    curl_get(ctx, srv.port, path, "1.3")
    time.sleep(0.5)
    ps.stop()
    r = ctx.run(["tshark", "-n", "-r", pcap, "-Y", "http", "-T", "fields", "-e", "http.request.uri"], timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    if path not in out:
        everything = ctx.run(["tshark", "-n", "-r", pcap], timeout=60).stdout.decode("utf-8", "replace")
        raise TestFailure("tshark (no key file) shows no request for %s in plainsight's pcapng:" % path,
                          *indent(tail(everything, 30)))
