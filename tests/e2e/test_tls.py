"""The tls module's end-to-end tests. TESTS lists (name, function(ctx)) in order."""

import os
import re
import shutil
import signal

import harness
from harness import (TestFailure, TestSkip, binary, compare_bytes, compare_stream, indent,
                     records_of, require_program, tail)
from tls_servers import CurlExchange, PyClient, PyServer, make_cert, py_exchange

TESTS, test = harness.registry()
KiB, MiB = 1024, 1024 * 1024
SIZES = [("1B", 1), ("100KiB", 100 * KiB), ("4MiB", 4 * MiB)]
LOCAL = "127.0.0.1"


def start_json(ctx, extra=(), **kw):
    ps = ctx.start_plainsight(["tls", "-m", "json"] + list(extra), **kw)
    ps.wait_attached()
    return ps


def check_summary(records, summary, others=(), what="summary"):
    """The last line is the summary; nothing lost; records (every event line,
    tls_data and others such as tls_secrets) and bytes add up; the fd read
    through the layout's offsets agrees with the socket's."""
    if summary is None:
        raise TestFailure("%s: no {\"summary\": ...} line at the end of the json output" % what)
    if not isinstance(summary, dict):
        raise TestFailure("%s: summary is not an object: %r" % (what, summary))
    for key in ("records", "bytes", "lost"):
        if key not in summary:
            raise TestFailure("%s: summary has no %r: %r" % (what, key, summary))
    events = len(records) + sum(1 for o in others if o.get("event"))
    if summary["records"] != events:
        raise TestFailure("%s: summary says %r records, the output has %d event records"
                          % (what, summary["records"], events), "summary: %r" % (summary,))
    total = sum(r.get("len", 0) for r in records)
    if summary["bytes"] != total:
        raise TestFailure("%s: summary says %r bytes, the records carry %d" % (what, summary["bytes"], total),
                          "summary: %r" % (summary,))

    def nonzero(v, path):
        if isinstance(v, dict):
            out = []
            for k, x in v.items():
                out += nonzero(x, path + "." + k)
            return out
        return [] if v == 0 else ["%s=%r" % (path, v)]

    bad = nonzero(summary["lost"], "lost")
    if summary.get("check_mismatch"):
        # fd read through the layout's offsets disagreed with the tracked socket fd
        bad.append("check_mismatch=%r (the offsets' fd differs from the socket's)" % summary["check_mismatch"])
    if bad:
        raise TestFailure("%s: losses or mismatches reported for a small run: %s" % (what, ", ".join(bad)),
                          "summary: %r" % (summary,))


def loss_context(records, summary, ours):
    """Diagnostic lines: losses plainsight reported and other processes' TLS
    traffic during the test (a busy system can overflow the ring buffer)."""
    lines = []
    if isinstance(summary, dict):
        lost = summary.get("lost") or {}
        bad = {k: v for k, v in lost.items() if v} if isinstance(lost, dict) else lost
        lines.append("plainsight's summary: records=%r bytes=%r lost=%r check_mismatch=%r"
                     % (summary.get("records"), summary.get("bytes"), bad or 0, summary.get("check_mismatch")))
    else:
        lines.append("plainsight wrote no summary line")
    others = {}
    for r in records:
        if r.get("pid") not in ours:
            k = (r.get("pid"), r.get("comm"))
            others[k] = others.get(k, 0) + len(r["payload"])
    if others:
        top = sorted(others.items(), key=lambda kv: -kv[1])[:5]
        lines.append("other processes' TLS traffic in the capture: " +
                     ", ".join("pid %s (%s) %d bytes" % (k[0], k[1], v) for k, v in top))
    return lines


class with_loss_context:
    """Adds loss_context() to a TestFailure raised inside the block."""

    def __init__(self, records, summary, ours):
        self.args = (records, summary, ours)

    def __enter__(self):
        return self

    def __exit__(self, typ, e, tb):
        if isinstance(e, TestFailure):
            e.lines.extend(loss_context(*self.args))
        return False


def check_python_streams(records, srv, cli, what=""):
    """Byte-exact per process, direction and connection; fds and tuples."""
    compare_bytes(what + "client's own bookkeeping: client received vs server sent",
                  cli.received(), srv.send_data)
    compare_bytes(what + "server's own bookkeeping: server received vs client sent",
                  srv.received(0), cli.send_data)
    ci = cli.info
    si = srv.conns[0] if srv.conns else None
    if si is None:
        raise TestFailure("the server printed no connection info")
    cport, sport = ci["local"][1], si["local"][1]
    compare_stream(records, cli.pid, "write", cli.send_data, what + "client SSL writes",
                   fd=ci["fd"], tuple_=(LOCAL, cport, LOCAL, sport))
    compare_stream(records, cli.pid, "read", srv.send_data, what + "client SSL reads",
                   fd=ci["fd"], tuple_=(LOCAL, cport, LOCAL, sport))
    compare_stream(records, srv.pid, "write", srv.send_data, what + "server SSL writes",
                   fd=si["fd"], tuple_=(LOCAL, sport, LOCAL, cport))
    compare_stream(records, srv.pid, "read", cli.send_data, what + "server SSL reads",
                   fd=si["fd"], tuple_=(LOCAL, sport, LOCAL, cport))


def python_capture(ctx, client_bytes, server_bytes, extra=(), asan=False, env=None, sig=signal.SIGINT):
    """plainsight -m json around one python client/server exchange; checks
    everything and returns (plainsight, records, summary)."""
    cert, key = make_cert(ctx)
    ps = start_json(ctx, extra, asan=asan, env=env)
    srv, cli = py_exchange(ctx, cert, key, client_bytes, server_bytes)
    ps.stop(sig)
    records, summary, others = ps.json_output()
    with with_loss_context(records, summary, (srv.pid, cli.pid)):
        check_summary(records, summary, others)
        check_python_streams(records, srv, cli)
    return ps, records, summary


# ---- 1. curl <-> openssl s_server ---------------------------------------------

def curl_capture(ctx, size, extra=()):
    """plainsight -m json (with extra) around curl POSTing size bytes to openssl
    s_server and getting size back; checks every byte both ends sent and the
    connection's fds and ports. Returns plainsight's process."""
    cert, key = make_cert(ctx)
    ex = CurlExchange(ctx, cert, key, size, size)
    ps = start_json(ctx, extra)
    ex.run()
    ps.stop()
    records, summary, others = ps.json_output()
    with with_loss_context(records, summary, (ex.server.pid, ex.curl_pid)):
        check_curl_exchange(ex, records, summary, others)
    return ps


def check_curl_exchange(ex, records, summary, others):
    """What curl_capture checks in the records of one exchange."""
    # curl 7.88 gives OpenSSL its own BIO (num is 0): the spec checks
    # the offsets' fd only on socket BIOs, so no mismatch here either.
    check_summary(records, summary, others)
    # Our own bookkeeping first: did the programs do what we think?
    if not ex.server_got.endswith(ex.body) or not ex.server_got.startswith(b"POST / HTTP/1.1\r\n"):
        raise TestFailure("s_server's stdout is not curl's POST with the body (%d bytes)"
                          % len(ex.server_got), "start: %r" % ex.server_got[:200])
    compare_bytes("curl's output file vs the response body s_server sent", ex.curl_got, ex.resp_body)
    s_pid, c_pid = ex.server.pid, ex.curl_pid
    curl_w = compare_stream(records, c_pid, "write", ex.server_got,
                            "curl SSL writes vs s_server's stdout",
                            tuple_=(LOCAL, None, LOCAL, ex.port))
    compare_stream(records, c_pid, "read", ex.response, "curl SSL reads vs the response s_server sent",
                   tuple_=(LOCAL, None, LOCAL, ex.port))
    srv_w = compare_stream(records, s_pid, "write", ex.response, "s_server SSL writes vs its stdin",
                           tuple_=(LOCAL, ex.port, LOCAL, None))
    compare_stream(records, s_pid, "read", ex.server_got, "s_server SSL reads vs its stdout",
                   tuple_=(LOCAL, ex.port, LOCAL, None))
    # The two ends name the same connection.
    if curl_w[0].get("sport") != srv_w[0].get("dport"):
        raise TestFailure("curl's local port %r is not s_server's peer port %r"
                          % (curl_w[0].get("sport"), srv_w[0].get("dport")))
    for pid, fdrecs in ((c_pid, records_of(records, c_pid)), (s_pid, records_of(records, s_pid))):
        fds = {r.get("fd") for r in fdrecs}
        if len(fds) != 1 or min(fds) < 0:
            raise TestFailure("pid %d: reads and writes of one connection name fds %s" % (pid, sorted(fds)))


def curl_test(size):
    def run(ctx):
        curl_capture(ctx, size)
    return run


for _n, _s in SIZES:
    test("curl_s_server_" + _n)(curl_test(_s))


# ---- 2. python ssl client and server ------------------------------------------

def python_test(client_bytes, server_bytes):
    def run(ctx):
        python_capture(ctx, client_bytes, server_bytes)
    return run


for _n, _s in SIZES:
    test("python_ssl_" + _n)(python_test(_s, _s))
test("python_ssl_1B_up_4MiB_down")(python_test(1, 4 * MiB))


# ---- 3. --pid ------------------------------------------------------------------

@test("pid_filter")
def pid_filter(ctx):
    cert, key = make_cert(ctx)
    size = 100 * KiB
    srv = PyServer(ctx, cert, key, size, os.urandom(size), conns=2)
    a = PyClient(ctx, srv.port, os.urandom(size), size, tag="client-a", wait_go=True)
    b = PyClient(ctx, srv.port, os.urandom(size), size, tag="client-b", wait_go=True)
    ps = start_json(ctx, ["-p", str(a.pid)])
    a.go()
    b.go()
    a.finish()
    b.finish()
    srv.finish()
    ps.stop()
    records, summary, others = ps.json_output()
    with with_loss_context(records, summary, (a.pid,)):
        pid_filter_checks(records, summary, others, srv, a, b)


def pid_filter_checks(records, summary, others, srv, a, b):
    check_summary(records, summary, others)
    strangers = sorted({r.get("pid") for r in records + others if r.get("event")} - {a.pid})
    if strangers:
        raise TestFailure("-p %d: records from other pids %s (client B is %d, the server %d)"
                          % (a.pid, strangers, b.pid, srv.pid))
    compare_bytes("client A's bookkeeping", a.received(), srv.send_data)
    compare_bytes("client B's bookkeeping", b.received(), srv.send_data)
    compare_stream(records, a.pid, "write", a.send_data, "client A SSL writes", fd=a.info["fd"])
    compare_stream(records, a.pid, "read", srv.send_data, "client A SSL reads", fd=a.info["fd"])
    everything = b"".join(r["payload"] for r in records)
    if b.send_data[:64] in everything:
        raise TestFailure("client B's bytes appear in the capture of -p %d" % a.pid)


@test("uid_filter")
def uid_filter(ctx):
    """-u 65534: the root-owned workload must not show up; -u 0: it must."""
    cert, key = make_cert(ctx)
    ps = start_json(ctx, ["-u", "65534"])
    srv, cli = py_exchange(ctx, cert, key, 1000, 1000)
    ps.stop()
    records, summary, others = ps.json_output()
    ours = [r for r in records if r.get("pid") in (srv.pid, cli.pid)]
    if ours or any(r.get("uid") != 65534 for r in records):
        raise TestFailure("-u 65534 captured records of other uids: %s"
                          % sorted({(r.get("pid"), r.get("uid")) for r in records}))
    check_summary(records, summary, others)


# ---- 4. text mode and -w FILE ---------------------------------------------------

REQUEST = b"GET /plainsight-text-test?path=C:\\tmp HTTP/1.1\r\nHost: localhost\r\nX-Tab:\tyes\r\n\r\n"
REPLY = b"HTTP/1.1 204 No Content\r\nServer: e2e\r\n\r\n"


def text_capture(ctx, extra):
    cert, key = make_cert(ctx)
    out = ctx.path("capture.txt")
    ps = ctx.start_plainsight(["tls", "-m", "text", "-w", out] + extra)
    ps.wait_attached()
    srv = PyServer(ctx, cert, key, len(REQUEST), REPLY)
    cli = PyClient(ctx, srv.port, REQUEST, len(REPLY))
    cli.finish()
    srv.finish()
    ps.stop()
    if not os.path.exists(out):
        raise TestFailure("-w %s: the file was not created" % out)
    with open(out, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8", "replace")
    if ps.output():
        raise TestFailure("-w FILE: %d bytes went to stdout too" % len(ps.output()),
                          *indent(tail(ps.output().decode("utf-8", "replace"), 10)))
    # The client's write: its header names module, pid, fd, direction, length.
    header = re.compile(r"^\S+ tls tls_data pid=%d tid=\d+ uid=0 comm=\S+ fd=%d dir=write "
                        r"127\.0\.0\.1:%d -> 127\.0\.0\.1:%d len=%d$"
                        % (cli.pid, cli.info["fd"], cli.info["local"][1], srv.port, len(REQUEST)), re.M)
    if not header.search(text):
        raise TestFailure("no header line for the client's write (tls, pid=%d, fd=%d, len=%d) in the text output;"
                          " it reads:" % (cli.pid, cli.info["fd"], len(REQUEST)), *indent(tail(text, 30)))
    return text, cli, harness.parse_text_records(raw, hex_dump="--hex" in extra)


def text_records_of(records, pid, direction):
    return [r for r in records if r["fields"].get("pid") == pid and r["fields"].get("dir") == direction]


@test("text_mode_file")
def text_mode_file(ctx):
    text, cli, records = text_capture(ctx, [])
    for what, direction, want in (("request", "write", REQUEST), ("reply", "read", REPLY)):
        got = b"".join(r["data"] for r in text_records_of(records, cli.pid, direction))
        if got != want:
            raise TestFailure("the client's %s read back from the text output is %r, not %r; it reads:"
                              % (what, got, want), *indent(tail(text, 30)))


def hexdump_bytes(lines):
    """The bytes of a hex dump, whatever its layout: per line, drop an ASCII
    column (from '|') and an offset, keep even-length hex groups."""
    out = []
    for line in lines:
        line = line.decode("utf-8", "replace").split("|", 1)[0]
        toks = line.split()
        if toks and (toks[0].endswith(":") or len(toks[0]) >= 4 and
                     re.fullmatch(r"[0-9a-fA-F]+:?", toks[0]) and len(toks[0]) not in (2, 4)):
            toks = toks[1:]
        for t in toks:
            if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", t):
                out.append(t.lower())
    return "".join(out)


@test("text_mode_hex")
def text_mode_hex(ctx):
    text, cli, records = text_capture(ctx, ["--hex"])
    dump = [l for r in text_records_of(records, cli.pid, "write") for l in r["lines"]]
    if hexdump_bytes(dump) != REQUEST.hex():
        raise TestFailure("the request's hex %s... is not in the --hex output; it reads:" % REQUEST[:16].hex(),
                          *indent(tail(text, 30)))


# ---- 5. errors and versions -------------------------------------------------------

def run_plainsight(ctx, args, timeout=20):
    bin_ = binary()
    if not os.path.exists(bin_):
        raise TestFailure("plainsight binary not found: %s" % bin_)
    r = ctx.run([bin_] + args, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def expect_error(ctx, args, status=None, mentions=()):
    rc, out, err = run_plainsight(ctx, args)
    lines = err.splitlines()
    diag = ["command: plainsight %s" % " ".join(args), "exit status %d; stderr:" % rc] + indent(lines[-20:])
    if rc == 0 or rc < 0:
        raise TestFailure("expected an error exit, got status %d" % rc, *diag)
    if status is not None and rc != status:
        raise TestFailure("expected exit status %d, got %d" % (status, rc), *diag)
    if len(lines) != 1 or not lines[0].startswith("plainsight: "):
        raise TestFailure("expected exactly one stderr line starting 'plainsight: ', got %d lines" % len(lines),
                          *diag)
    for m in mentions:
        if not re.search(m, lines[0]):
            raise TestFailure("the error line does not mention %s" % m, *diag)
    return lines[0]


@test("help")
def help_(ctx):
    rc, out, err = run_plainsight(ctx, ["--help"])
    if rc != 0 or not re.search(r"\btls\b", out + err):
        raise TestFailure("plainsight --help: status %d, no module 'tls' listed" % rc, *indent((out + err).splitlines()))
    rc, out, err = run_plainsight(ctx, ["tls", "--help"])
    text = out + err
    missing = [f for f in ("--libssl", "--ssl_version", "--pid", "--hex") if f not in text]
    if rc != 0 or missing:
        raise TestFailure("plainsight tls --help: status %d, flags not listed: %s" % (rc, missing),
                          *indent(text.splitlines()))


@test("error_libssl_nonexistent")
def error_libssl_nonexistent(ctx):
    expect_error(ctx, ["tls", "--libssl", "/nonexistent/libssl.so"], mentions=[re.escape("/nonexistent/libssl.so")])


@test("error_libssl_without_ssl_symbols")
def error_libssl_without_symbols(ctx):
    expect_error(ctx, ["tls", "--libssl", "/bin/true"], mentions=[r"SSL_(read|write)"])


@test("error_ssl_version_garbage")
def error_ssl_version_garbage(ctx):
    expect_error(ctx, ["tls", "--ssl_version", "garbage"])


@test("error_bogus_flag")
def error_bogus_flag(ctx):
    expect_error(ctx, ["tls", "--bogus-flag"], status=2, mentions=["bogus"])


@test("error_unknown_module")
def error_unknown_module(ctx):
    expect_error(ctx, ["nosuchmodule"], status=2, mentions=["nosuchmodule"])


@test("error_not_root")
def error_not_root(ctx):
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise TestSkip("setpriv (util-linux) not found")
    r = ctx.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                 binary(), "tls"], timeout=20)
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode in (126, 127) and not err.startswith("plainsight: "):
        raise TestSkip("user nobody cannot run %s: %s" % (binary(), err.strip()[:200]))
    lines = err.splitlines()
    if r.returncode <= 0 or len(lines) != 1 or not lines[0].startswith("plainsight: "):
        raise TestFailure("as user nobody: expected one 'plainsight: ' error line and a non-zero exit",
                          "exit status %d; stderr:" % r.returncode, *indent(lines[-20:]))


@test("ssl_version_forced_3_0_5")
def ssl_version_forced(ctx):
    ps, _, _ = python_capture(ctx, 100 * KiB, 100 * KiB, ["--ssl_version", "openssl 3.0.5"])
    if "3.0.5" not in (ps.attached_line or ""):
        raise TestFailure("the attached line does not name the forced version 3.0.5: %r" % ps.attached_line)


@test("ssl_version_without_layout")
def ssl_version_without_layout(ctx):
    ps, _, _ = python_capture(ctx, 100 * KiB, 100 * KiB, ["--ssl_version", "openssl 1.0.0"])
    if not re.search(r"without offsets|no offsets|no layout|without (a )?layout", ps.stderr, re.I):
        raise TestFailure("--ssl_version 'openssl 1.0.0' (no layout): stderr does not say it runs without offsets",
                          "stderr:", *indent(tail(ps.stderr)))


# ---- 6. sanitizers --------------------------------------------------------------

SANITIZER_RE = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|"
                          r"^SUMMARY: \w+Sanitizer", re.M)


def under_asan(ctx, run):
    """run(env) with env for the ASan+UBSan build (leaks checked, the first
    error fatal); a sanitizer report from an exited plainsight fails the
    test, even when run failed first. Returns what run returns."""
    if not os.path.exists(binary(asan=True)):
        raise TestFailure("ASan build not found: %s (make asan)" % binary(asan=True))
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    try:
        return run(env)
    finally:
        ps = ctx.plainsight
        if ps is not None and ps.p.poll() is not None and SANITIZER_RE.search(ps.stderr):
            raise TestFailure("sanitizer report in plainsight's stderr:", *indent(tail(ps.stderr, 60)))


@test("asan_python_ssl_100KiB")
def asan_python(ctx):
    ps, _, _ = under_asan(ctx, lambda env: python_capture(ctx, 100 * KiB, 100 * KiB, asan=True, env=env))
    if SANITIZER_RE.search(ps.stderr):
        raise TestFailure("sanitizer report in plainsight's stderr:", *indent(tail(ps.stderr, 60)))


# ---- 7. summary -------------------------------------------------------------------

def summary_test(sig):
    def run(ctx):
        ps, records, summary = python_capture(ctx, 1000, 1000, sig=sig)
        # the summary is the `stopped:` line; notes on what else happened may follow it
        lines = [l for l in ps.stderr.splitlines() if l.startswith("plainsight: stopped:")]
        if not lines or not re.search(r"record", lines[-1]) or not re.search(r"byte", lines[-1]) \
                or not re.search(r"lost", lines[-1]):
            raise TestFailure("after %s: no summary line on stderr with records, bytes and lost counts"
                              % sig.name, "stderr:", *indent(tail(ps.stderr)))
        nums = [int(x) for x in re.findall(r"\d+", lines[-1])]
        if summary["records"] not in nums or summary["bytes"] not in nums:
            raise TestFailure("the stderr summary %r does not match the json summary %r" % (lines[-1], summary))
    return run


test("summary_after_sigint")(summary_test(signal.SIGINT))
test("summary_after_sigterm")(summary_test(signal.SIGTERM))
