"""Keylog mode (-m keylog -k FILE): the SSLKEYLOGFILE plainsight writes lets
tshark decrypt a capture of the loopback traffic, TLS 1.2 and 1.3, for the
client side (curl, python) and the server side (python),
each traced alone with -p. Also: the file is 0600, has no repeated or
all-zero lines; text and json show no secrets unless --secrets asks, and
then one tls_secrets record per connection with its version's fields only."""

import os
import re
import shutil
import stat
import subprocess
import time

import harness
from harness import TestFailure, TestSkip, free_port, indent, listening, tail, wait_until
from tls_servers import make_cert

TESTS, test = harness.registry()
PYTHON = "python3"
REQ_PATH = "/keylog-%d" % os.getpid()


SERVER_PY = r"""
import http.server, ssl, sys
port, cert, key, maxv = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from the keylog test\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if maxv == "1.2":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.handle_request()
"""

# Waits for a line on stdin first, so that plainsight can be told its pid.
CLIENT_PY = r"""
import http.client, ssl, sys
port, maxv, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
sys.stdin.readline()
ctx = ssl._create_unverified_context()
if maxv == "1.2":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
c.request("GET", path)
c.getresponse().read()
"""

LABELS_13 = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
             "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}
LINE_RE = re.compile(r"^([A-Z_0-9]+) ([0-9a-f]{64}) ([0-9a-f]+)$")


def capture_tool():
    for name in ("dumpcap", "tcpdump"):
        path = shutil.which(name)
        if path:
            return name, path
    return None, None


def need_tools():
    if not shutil.which("tshark"):
        raise TestSkip("tshark is not installed (apt-get install tshark): cannot decrypt captures")
    if not capture_tool()[0]:
        raise TestSkip("neither dumpcap nor tcpdump is installed (apt-get install tshark tcpdump)")


class Capture:
    """dumpcap (or tcpdump) on lo, only the test's port."""

    def __init__(self, ctx, port):
        name, path = capture_tool()
        self.file = ctx.path("lo.pcap")
        if name == "dumpcap":
            argv = [path, "-q", "-i", "lo", "-f", "tcp port %d" % port, "-w", self.file]
        else:
            argv = [path, "-i", "lo", "-U", "-w", self.file, "tcp port %d" % port]
        self.proc = ctx.start(argv, name)
        # both print a line on stderr once they capture
        try:
            self.proc.wait_line("", 3)
        except TestFailure:
            pass
        time.sleep(0.5)

    def stop(self):
        time.sleep(0.5)
        if self.proc.p.poll() is None:
            os.kill(self.proc.p.pid, 2)
        self.proc.wait_or_kill(10)


def start_server(ctx, kind, port, cert, key, maxv):
    if kind == "python":
        script = ctx.write("server.py", SERVER_PY.encode())
        proc = ctx.start([PYTHON, script, str(port), cert, key, maxv], "python https server")
    else:
        argv = ["openssl", "s_server", "-quiet", "-naccept", "1", "-accept", str(port),
                "-cert", cert, "-key", key, "-www"]
        if maxv == "1.2":
            argv.append("-no_tls1_3")
        proc = ctx.start(argv, "openssl s_server", stdin=subprocess.PIPE)
    wait_until(lambda: listening(port), 10, "the %s server to listen on port %d" % (kind, port))
    return proc


def start_client(ctx, kind, port, maxv):
    """A client that waits for a line on stdin, so its pid is known first."""
    url = "https://127.0.0.1:%d%s" % (port, REQ_PATH)
    if kind == "curl":
        argv = ["sh", "-c", 'read go; exec curl -sk "$@" -o /dev/null', "sh", url]
        if maxv == "1.2":
            argv.extend(["--tls-max", "1.2"])
    else:
        script = ctx.write("client.py", CLIENT_PY.encode())
        argv = [PYTHON, script, str(port), maxv, REQ_PATH]
    return ctx.start(argv, kind + " client", stdin=subprocess.PIPE)


def check_keylog_file(path, want_13):
    st = os.stat(path)
    if stat.S_IMODE(st.st_mode) != 0o600:
        raise TestFailure("%s has mode %o, not 0600" % (path, stat.S_IMODE(st.st_mode)))
    with open(path) as f:
        text = f.read()
    lines = text.splitlines()
    if not lines:
        raise TestFailure("the keylog file %s is empty" % path)
    seen = set()
    for line in lines:
        m = LINE_RE.match(line)
        if not m:
            raise TestFailure("not an SSLKEYLOGFILE line: %r" % line, *indent(lines[-20:]))
        label, cr, secret = m.groups()
        if (label, cr) in seen:
            raise TestFailure("line repeated for %s %s" % (label, cr), *indent(lines[-20:]))
        seen.add((label, cr))
        if set(secret) == {"0"}:
            raise TestFailure("an all-zero secret: %r" % line)
        if label == "CLIENT_RANDOM" and len(secret) != 96:
            raise TestFailure("a master secret of %d bytes, not 48: %r" % (len(secret) // 2, line))
    labels = {l for l, _ in seen}
    want = LABELS_13 if want_13 else {"CLIENT_RANDOM"}
    if not want <= labels:
        raise TestFailure("keylog labels %s, missing %s" % (sorted(labels), sorted(want - labels)),
                          *indent(lines[-20:]))
    return lines


def decrypted_requests(ctx, pcap, keylog):
    r = ctx.run(["tshark", "-n", "-r", pcap, "-o", "tls.keylog_file:" + keylog, "-Y", "http",
                 "-T", "fields", "-e", "http.request.uri", "-e", "http.response.code"], timeout=60)
    if r.returncode != 0:
        raise TestFailure("tshark failed (status %d):" % r.returncode,
                          *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return r.stdout.decode("utf-8", "replace")


def run_to_end(cli, srv, server):
    """Lets the client of start_client go and waits for both to end: the
    client must succeed; openssl s_server is killed if it has not ended
    within 10 s, the other servers must end by themselves and succeed."""
    cli.p.stdin.write(b"go\n")
    cli.p.stdin.flush()
    cli.check_ok(30)
    if server == "openssl":
        srv.wait_or_kill(10)
    else:
        srv.check_ok(30)
    time.sleep(0.3)


def keylog_exchange(ctx, side, client, server, maxv):
    need_tools()
    cert, key = make_cert(ctx)
    port = free_port()
    keylog = ctx.path("keys.log")
    srv = start_server(ctx, server, port, cert, key, maxv)
    cli = start_client(ctx, client, port, maxv)
    traced = cli.pid if side == "client" else srv.pid
    cap = Capture(ctx, port)
    ps = ctx.start_plainsight(["tls", "-m", "keylog", "-k", keylog, "-p", str(traced)])
    ps.wait_attached()
    run_to_end(cli, srv, server)
    ps.stop()
    cap.stop()
    lines = check_keylog_file(keylog, maxv != "1.2")
    out = decrypted_requests(ctx, cap.file, keylog)
    if REQ_PATH not in out:
        r = ctx.run(["tshark", "-n", "-r", cap.file], timeout=60)
        raise TestFailure("tshark decrypted no HTTP request %s with plainsight's keys (%s side, %s client, "
                          "%s server, TLS max %s); tshark -Y http says:" % (REQ_PATH, side, client, server, maxv),
                          *indent(tail(out) or ["(nothing)"]), "keylog:", *indent(lines),
                          "capture:", *indent(tail(r.stdout.decode("utf-8", "replace"), 20)))
    return lines


def register(side, client, server, maxv):
    name = "keylog_%s_%s_%s_tls%s" % (side, client if side == "client" else server,
                                       server if side == "client" else client, maxv.replace(".", ""))

    @test(name)
    def run(ctx):
        keylog_exchange(ctx, side, client, server, maxv)


for _maxv in ("1.2", "1.3"):
    register("client", "curl", "python", _maxv)
    register("client", "python", "python", _maxv)
    register("server", "curl", "python", _maxv)
    # Not `openssl s_server -www`: it reads through BIO_f_ssl, which calls
    # libssl's internal ssl_read_internal, not SSL_read: no hook sees it.


@test("keylog_json_shows_secrets")
def json_shows_secrets(ctx):
    """-m json --secrets: tls_secrets records beside the data; -k writes the key log too."""
    need_tools()
    cert, key = make_cert(ctx)
    port = free_port()
    keylog = ctx.path("keys.log")
    srv = start_server(ctx, "python", port, cert, key, "1.3")
    cli = start_client(ctx, "curl", port, "1.3")
    ps = ctx.start_plainsight(["tls", "-m", "json", "--secrets", "-k", keylog, "-p", str(cli.pid)])
    ps.wait_attached()
    cli.p.stdin.write(b"go\n")
    cli.p.stdin.flush()
    cli.check_ok(30)
    srv.check_ok(30)
    ps.stop()
    records, summary, others = ps.json_output()
    secrets = [o for o in others if o.get("event") == "tls_secrets"]
    if not secrets:
        raise TestFailure("no tls_secrets record in the json output", *indent(tail(ps.output().decode(), 10)))
    s = secrets[0]
    for k in ("client_random", "version", "cipher", "client_traffic_secret_0"):
        if k not in s:
            raise TestFailure("tls_secrets record without %r: %r" % (k, s))
    if s["version"] != 0x304 or not re.fullmatch(r"[0-9a-f]{64}", s["client_random"]):
        raise TestFailure("tls_secrets: version %r, client_random %r" % (s["version"], s["client_random"]))
    if not records:
        raise TestFailure("no tls_data records beside the secrets")
    lines = check_keylog_file(keylog, True)
    if not any(s["client_random"] in l for l in lines):
        raise TestFailure("the key log has no line for client random %s" % s["client_random"], *indent(lines))


@test("keylog_cli_errors")
def cli_errors(ctx):
    from harness import binary
    r = ctx.run([binary(), "tls", "-m", "keylog", "-k", ctx.path("a"), "-w", ctx.path("b")])
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode != 2 or "not both" not in err:
        raise TestFailure("-m keylog with -k and -w: want exit 2 and one line, got %d:" % r.returncode,
                          *indent(tail(err)))
    r = ctx.run([binary(), "tls", "--help"])
    if b"--keylogfile" not in r.stdout or b"keylog" not in r.stdout:
        raise TestFailure("tls --help does not mention -k/--keylogfile and keylog mode")


# ---- secrets go only where asked, once per connection --------------------------

# A threading server: the handshake runs on the accepting thread, the request
# on another, and each thread's first SSL call on the connection emits its
# secrets: plainsight must still deliver them once.
THREADED_SERVER_PY = r"""
import http.server, ssl, sys
port, cert, key, maxv = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from the threaded server\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    daemon_threads = False   # server_close waits for the request's thread
srv = S(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if maxv == "1.2":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.handle_request()
srv.server_close()
"""

SECRET_FIELDS = {
    "1.2": {"master_secret": "CLIENT_RANDOM"},
    "1.3": {"client_handshake_traffic_secret": "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "server_handshake_traffic_secret": "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "client_traffic_secret_0": "CLIENT_TRAFFIC_SECRET_0",
            "server_traffic_secret_0": "SERVER_TRAFFIC_SECRET_0",
            "exporter_secret": "EXPORTER_SECRET"},
}
RECORD_KEYS = {"time_ns", "mono_ns", "pid", "tid", "uid", "comm", "thread", "tty", "module", "event"}


def secrets_exchange(ctx, server, maxv, args, with_keylog=True):
    """One curl connection to `openssl s_server -www` (curl traced) or to a
    threaded python server (the server traced), plainsight run with args and
    (with_keylog) -k; returns (plainsight, key log lines or None)."""
    cert, key = make_cert(ctx)
    port = free_port()
    keylog = ctx.path("keys.log")
    if server == "python-threaded":
        script = ctx.write("threaded.py", THREADED_SERVER_PY.encode())
        srv = ctx.start([PYTHON, script, str(port), cert, key, maxv], "threaded python https server")
        wait_until(lambda: listening(port), 10, "the threaded server to listen on port %d" % port)
    else:
        srv = start_server(ctx, server, port, cert, key, maxv)
    cli = start_client(ctx, "curl", port, maxv)
    traced = srv.pid if server == "python-threaded" else cli.pid
    ps = ctx.start_plainsight(["tls"] + args + (["-k", keylog] if with_keylog else []) + ["-p", str(traced)])
    ps.wait_attached()
    run_to_end(cli, srv, server)
    ps.stop()
    return ps, check_keylog_file(keylog, maxv != "1.2") if with_keylog else None


def keylog_values(lines):
    """{label: secret hex} and the client randoms of the key log."""
    values, randoms = {}, set()
    for line in lines:
        label, cr, secret = LINE_RE.match(line).groups()
        values[label] = secret
        randoms.add(cr)
    return values, randoms


def check_no_secrets(output, lines, what):
    values, randoms = keylog_values(lines)
    text = output.decode("utf-8", "replace")
    if "tls_secrets" in text:
        at = text.index("tls_secrets")
        raise TestFailure("%s: a tls_secrets record, though no --secrets:" % what,
                          *indent([text[max(0, at - 200):at + 300]]))
    leaked = [v for v in list(values.values()) + list(randoms) if v in text]
    if leaked:
        raise TestFailure("%s: %d secrets or client randoms of the key log are in the output: %s"
                          % (what, len(leaked), ", ".join(leaked[:3])))
    if "tls_data" not in text:
        raise TestFailure("%s: no tls_data record at all: the test proves nothing" % what,
                          *indent(tail(text, 10)))


def secrets_where_asked(ctx, server, maxv):
    # 1. text and json by default: no secrets; text though -k writes them beside it
    for mode, with_keylog in (("text", True), ("json", False)):
        sub = harness.Context("%s-%s" % (ctx.name, mode))
        what = "-m %s%s (%s server, TLS %s)" % (mode, " -k" if with_keylog else "", server, maxv)
        try:
            ps, lines = secrets_exchange(sub, server, maxv, ["-m", mode], with_keylog)
            check_no_secrets(ps.output(), lines or [], what)
            if mode == "json":
                # nothing asked for secrets: the kernel sent only the data, one chunk per small call
                records, summary, _ = ps.json_output()
                if summary["chunks"] != len(records):
                    raise TestFailure("%s: %d ring-buffer records read for %d tls_data calls: the kernel "
                                      "still sends the secrets nobody asked for" % (what, summary["chunks"],
                                                                                   len(records)),
                                      "summary: %r" % (summary,))
        finally:
            sub.cleanup()
    # 3. --secrets: one record for the one connection, the fields of its version, the key log's values
    ps, lines = secrets_exchange(ctx, server, maxv, ["-m", "json", "--secrets"])
    values, randoms = keylog_values(lines)
    records, summary, others = ps.json_output()
    secrets = [o for o in others if o.get("event") == "tls_secrets"]
    if len(secrets) != 1 or len(randoms) != 1:
        raise TestFailure("--secrets: %d tls_secrets records and %d client randoms in the key log for one "
                          "connection (want 1 and 1)" % (len(secrets), len(randoms)),
                          *indent([repr(s) for s in secrets[:4]] + lines))
    s = secrets[0]
    fields = SECRET_FIELDS[maxv]
    want_keys = {"client_random", "version", "cipher"} | set(fields)
    got_keys = set(s) - RECORD_KEYS
    if got_keys != want_keys:
        raise TestFailure("--secrets, TLS %s: fields %s, want %s" % (maxv, sorted(got_keys), sorted(want_keys)),
                          "record: %r" % (s,))
    if s["version"] != (0x304 if maxv == "1.3" else 0x303) or s["client_random"] not in randoms:
        raise TestFailure("--secrets: version %r, client random %r (key log: %s)"
                          % (s["version"], s["client_random"], sorted(randoms)))
    wrong = [f for f, label in fields.items() if s[f] != values.get(label)]
    if wrong:
        raise TestFailure("--secrets: %s differ from the key log's lines" % ", ".join(wrong),
                          "record: %r" % (s,), *indent(lines))
    events = len(records) + sum(1 for o in others if o.get("event"))
    if summary["records"] != events:
        raise TestFailure("the summary counts %r records, the output has %d" % (summary["records"], events))


for _server, _maxv in (("openssl", "1.2"), ("openssl", "1.3"), ("python-threaded", "1.2"),
                       ("python-threaded", "1.3")):
    def _register(server, maxv):
        @test("tls_secrets_only_where_asked_%s_tls%s" % (server.replace("-", "_"), maxv.replace(".", "")))
        def run(ctx):
            secrets_where_asked(ctx, server, maxv)
    _register(_server, _maxv)
