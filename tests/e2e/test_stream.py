"""Live outputs (issue 16): eCaptureQ's WebSocket stream (--ecaptureq), read by
a real client (Debian's python3-websockets) that decodes each message with the
schema compiled by Debian's protoc (python3-protobuf); --eventaddr to a TCP
listener, a WebSocket server and a rotated file; --logaddr; the address errors."""

import base64
import json
import os
import socket
import subprocess
import threading
import time

import harness
from harness import TestFailure, TestSkip, free_port, indent, listening, tail, wait_until
from tls_servers import CurlExchange, PyClient, PyServer, make_cert, py_exchange

TESTS, test = harness.registry()
DEBIAN_PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "stream_client.py")
PROTO = os.path.join(harness.repo_root(), "runtime", "output", "stream", "ecaptureq.proto")
HEARTBEAT_S = 15


def need_debian_modules(ctx):
    r = ctx.run([DEBIAN_PYTHON, "-c", "import websockets, google.protobuf"], timeout=30)
    if r.returncode != 0:
        raise TestSkip("%s lacks websockets or protobuf: apt-get install python3-websockets python3-protobuf "
                       "(make deps)" % DEBIAN_PYTHON)


def compile_schema(ctx):
    """The repository's .proto, compiled for python into the test's directory."""
    protoc = harness.require_program("protoc")
    out = ctx.path("pb")
    os.makedirs(out)
    r = ctx.run([protoc, "--proto_path=" + os.path.dirname(PROTO), "--python_out=" + out, PROTO])
    if r.returncode != 0:
        raise TestFailure("protoc failed:", *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return out


class WsClient:
    """stream_client.py client: every message it decodes, as dicts, live."""

    def __init__(self, ctx, url, pb_dir, tag, stall_after=None):
        argv = [DEBIAN_PYTHON, CLIENT, "client", "--url", url, "--pb-dir", pb_dir]
        if stall_after is not None:
            argv += ["--stall-after", str(stall_after)]
        self.proc = ctx.start(argv, "ws client " + tag, stdout=subprocess.PIPE, plain_env=True)
        self.msgs = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        wait_until(lambda: self.has(lambda m: m.get("connected")) or self.proc.p.poll() is not None, 20,
                   "the %s client to connect" % tag)
        if not self.has(lambda m: m.get("connected")):
            raise TestFailure("ws client %s did not connect; its stderr:" % tag, *indent(tail(self.proc.stderr)))

    def _read(self):
        for line in self.proc.p.stdout:
            with self.lock:
                self.msgs.append(json.loads(line))

    def has(self, pred):
        with self.lock:
            return any(pred(m) for m in self.msgs)

    def messages(self, kind=None):
        with self.lock:
            return [m for m in self.msgs if kind is None or m.get("payload") == kind]

    def events(self, pid=None):
        return [m["event"] for m in self.messages("event_payload") if pid is None or m["event"]["pid"] == pid]


def traced_exchange(ctx, cert, key, request, response, extra=(), stdout_path=None, chunk=0):
    """A tls_peer.py server and client (waiting to be told to go), and
    plainsight serving --ecaptureq, tracing the client alone (-p): the
    machine's other TLS traffic stays out of the stream."""
    srv = PyServer(ctx, cert, key, len(request), response)
    cli = PyClient(ctx, srv.port, request, len(response), wait_go=True, chunk=chunk)
    url = "ws://127.0.0.1:%d/" % free_port()
    ps = ctx.start_plainsight(["tls", "-q", "-p", str(cli.pid), "--ecaptureq", url] + list(extra),
                              stdout_path=stdout_path)
    ps.wait_attached()
    return srv, cli, ps, url


def http_pair(body_size):
    body = os.urandom(body_size)
    request = b"POST /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % body_size + body
    response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % body_size + body[::-1]
    return request, response


def payload_of(events):
    return b"".join(base64.b64decode(e["payload_b64"]) for e in events)


@test("stream_ecaptureq_http")
def stream_ecaptureq_http(ctx):
    """Two clients connected before an HTTP/1.1 POST over TLS (the project's
    tls peer, traced with -p), one after it: a heartbeat first for each; the
    client process's events carry
    its pid, name, both addresses and ports, the HTTP/1 request and response
    types, the length, one uuid for the connection, and payloads that are
    exactly what it sent and received; both early clients get the same
    events; the late one gets the log lines since the start (the attached
    line) replayed; a heartbeat follows every 15 s."""
    need_debian_modules(ctx)
    pb = compile_schema(ctx)
    cert, key = make_cert(ctx)
    request, response = http_pair(5000)
    srv, cli, ps, url = traced_exchange(ctx, cert, key, request, response)
    a = WsClient(ctx, url, pb, "a")
    b = WsClient(ctx, url, pb, "b")
    t0 = time.time()
    cli.go()
    cli.finish()
    srv.finish()
    pid, port = cli.pid, srv.port
    for c in (a, b):
        wait_until(lambda: len(payload_of(c.events(pid))) >= len(request) + len(response), 30,
                   "the client's events at the ws clients")
    late = WsClient(ctx, url, pb, "late")
    wait_until(lambda: late.has(lambda m: "plainsight: attached" in m.get("run_log", "")), 20,
               "the attached line replayed to the late client")
    # the periodic heartbeat: one more than the one on connect
    wait_until(lambda: len(a.messages("heartbeat_payload")) >= 2, HEARTBEAT_S + 10, "a second heartbeat")
    err = ps.stop()

    for c, name in ((a, "a"), (b, "b"), (late, "late")):
        first = c.messages()[1]     # after {"connected"}
        if first.get("payload") != "heartbeat_payload" or first["log_type"] != 0:
            raise TestFailure("client %s: the first message is not a heartbeat: %r" % (name, first))
    beats = a.messages("heartbeat_payload")
    gap = (beats[1]["heartbeat"]["timestamp"] - beats[0]["heartbeat"]["timestamp"]) / 1e9
    if not HEARTBEAT_S - 1 <= gap <= HEARTBEAT_S + 2 or beats[1]["heartbeat"]["count"] <= beats[0]["heartbeat"]["count"]:
        raise TestFailure("heartbeats %r: not %d s apart with a growing count" % (beats[:2], HEARTBEAT_S))

    evs = a.events(pid)
    writes = [e for e in evs if e["dst_port"] == port]
    reads = [e for e in evs if e["src_port"] == port]
    if len(writes) + len(reads) != len(evs):
        raise TestFailure("client events neither to nor from port %d:" % port,
                          *indent([json.dumps(e)[:200] for e in evs if e not in writes and e not in reads]))
    harness.compare_bytes("the client's writes (events) vs what the server got", payload_of(writes), srv.received())
    harness.compare_bytes("the client's reads (events) vs the response", payload_of(reads), response)
    uuids = {e["uuid"] for e in evs}
    local_ports = {e["src_port"] for e in writes} | {e["dst_port"] for e in reads}
    problems = []
    if len(uuids) != 1 or len(next(iter(uuids))) != 36:
        problems.append("uuids %r: want one per connection" % uuids)
    if len(local_ports) != 1 or 0 in local_ports:
        problems.append("the client's local ports %r: want one" % local_ports)
    for e in evs:
        if e["src_ip"] != "127.0.0.1" or e["dst_ip"] != "127.0.0.1" or not e["pname"].startswith("python"):
            problems.append("addresses or name: %r" % {k: e[k] for k in ("src_ip", "dst_ip", "pname")})
        if e["length"] != len(base64.b64decode(e["payload_b64"])):
            problems.append("length %d for %d bytes" % (e["length"], len(base64.b64decode(e["payload_b64"]))))
        if not t0 - 5 < e["timestamp"] / 1e9 < time.time() + 5:
            problems.append("timestamp %d is not now" % e["timestamp"])
    if writes[0]["type"] != 1 or reads[0]["type"] != 3:
        problems.append("types: first write %d (want 1, HTTP/1 request), first read %d (want 3, HTTP/1 response)"
                        % (writes[0]["type"], reads[0]["type"]))
    if problems:
        raise TestFailure(*problems[:20])
    key_of = lambda e: (e["uuid"], e["timestamp"], e["payload_b64"])  # noqa: E731
    if [key_of(e) for e in a.events()] != [key_of(e) for e in b.events()]:
        raise TestFailure("the two clients got different events: %d and %d" % (len(a.events()), len(b.events())))
    if "ecaptureq: 3 clients (0 dropped as too slow)" not in err:
        raise TestFailure("the summary does not count 3 clients, none dropped:", *indent(tail(err, 8)))


@test("stream_ecaptureq_slow_client")
def stream_ecaptureq_slow_client(ctx):
    """A client that stops reading after its first message while 48 MB
    go through TLS: the capture completes (every byte the traced client wrote
    in the records), and the client is dropped with its lost events counted."""
    need_debian_modules(ctx)
    pb = compile_schema(ctx)
    cert, key = make_cert(ctx)
    size = 48 << 20
    out = ctx.path("records.json")
    srv, cli, ps, url = traced_exchange(ctx, cert, key, os.urandom(size), os.urandom(1024),
                                        extra=["-m", "json"], stdout_path=out, chunk=16384)
    slow = WsClient(ctx, url, pb, "slow", stall_after=1)
    started = time.monotonic()
    cli.go()
    cli.finish()
    srv.finish()
    took = time.monotonic() - started
    err = ps.stop()
    records, _, _ = ps.json_output()
    got = harness.concat(harness.records_of(records, cli.pid, "write"))
    if got != cli.send_data:
        raise TestFailure("the records hold %d of the %d bytes the client wrote, not all exactly"
                          % (len(got), size), *indent(tail(err, 8)))
    summary = [l for l in err.splitlines() if "ecaptureq:" in l]
    if not summary or "(1 dropped as too slow)" not in summary[-1] or " 0 events dropped" in summary[-1]:
        raise TestFailure("the summary does not count the slow client and its events (exchange took %.1f s):"
                          % took, *indent(tail(err, 8)))


class LineListener:
    """A TCP listener on port that keeps every line it receives; stop() closes
    the listening socket and its connections, as a listener that restarts."""

    def __init__(self, port):
        self.port = port
        self.lines = []
        self.partial = b""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(4)
        self.running = True
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            buf = b""
            while True:
                try:
                    data = conn.recv(1 << 20)
                except OSError:
                    data = b""
                if not data:
                    break
                buf += data
                *done, buf = buf.split(b"\n")
                self.lines.extend(done)
            if buf:
                self.lines.append(buf)  # a line cut short: the test sees it is not json

    def stop(self):
        self.running = False
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        self.sock.close()
        self.thread.join(10)


def summary_numbers(err, what):
    line = [l for l in err.splitlines() if l.startswith("plainsight: %s:" % what)]
    if not line:
        raise TestFailure("no %s summary line; stderr:" % what, *indent(tail(err, 10)))
    words = line[-1].split()
    return {words[i + 1].strip(","): int(w) for i, w in enumerate(words[:-1]) if w.isdigit()}, line[-1]


def exchange_once(ctx, cert, key, tag):
    """One tls_peer exchange: (client pid, what it wrote)."""
    srv = PyServer(ctx, cert, key, 3000, os.urandom(2000), tag="server-" + tag)
    cli = PyClient(ctx, srv.port, os.urandom(3000), 2000, tag="client-" + tag)
    cli.finish()
    srv.finish()
    return cli.pid, cli.send_data


@test("stream_eventaddr_tcp_restart")
def stream_eventaddr_tcp_restart(ctx):
    """--eventaddr tcp:// with -m json: a local listener gets every record as
    one json line; it stops and starts again between exchanges, and plainsight
    reconnects: the lines it says it sent are exactly the lines received,
    every exchange before and after the restart is there byte for byte, and
    one made while the listener was down is either there or counted dropped.
    --logaddr to a second listener gets plainsight's message lines."""
    cert, key = make_cert(ctx)
    port, log_port = free_port(), free_port()
    listener, logs = LineListener(port), LineListener(log_port)
    ps = ctx.start_plainsight(["tls", "-q", "-m", "json", "--eventaddr", "tcp://127.0.0.1:%d" % port,
                               "--logaddr", "tcp://127.0.0.1:%d" % log_port])
    ps.wait_attached()
    before = exchange_once(ctx, cert, key, "before")
    wait_until(lambda: any(json.loads(l).get("pid") == before[0] for l in list(listener.lines)), 20,
               "the first exchange's lines")
    first = listener
    first.stop()
    during = exchange_once(ctx, cert, key, "during")
    time.sleep(1)
    listener = LineListener(port)
    after = exchange_once(ctx, cert, key, "after")
    err = ps.stop()
    time.sleep(0.5)
    listener.stop()
    logs.stop()
    try:
        received = [json.loads(l) for l in first.lines + listener.lines]
    except ValueError as e:
        raise TestFailure("a line received is not json: %s" % e)
    nums, line = summary_numbers(err, "eventaddr")
    if nums.get("lines") != len(received):
        raise TestFailure("plainsight says %r, the listeners got %d lines" % (line, len(received)))
    records = [r for r in received if r.get("event") == "tls_data"]
    for r in records:
        r["payload"] = base64.b64decode(r["payload_b64"])
    for (pid, sent), name in ((before, "before"), (after, "after")):
        harness.compare_bytes("records of the exchange %s the restart" % name,
                              harness.concat(harness.records_of(records, pid, "write")), sent)
    got_during = harness.concat(harness.records_of(records, during[0], "write"))
    if got_during != during[1] and not nums.get("dropped"):
        raise TestFailure("the exchange during the restart is missing (%d of %d bytes) and no drop is counted: %s"
                          % (len(got_during), len(during[1]), line))
    if nums.get("connections", 0) < 2:
        raise TestFailure("no reconnection counted: " + line)
    log_lines = [l.decode() for l in logs.lines]
    for want in ("plainsight: attached tls", "plainsight: stopped:"):
        if not any(l.startswith(want) for l in log_lines):
            raise TestFailure("--logaddr did not get a %r line; it got:" % want, *indent(log_lines[-10:]))


@test("stream_eventaddr_file_rotates")
def stream_eventaddr_file_rotates(ctx):
    """--eventaddr FILE --eventroratesize 1 with -m json while a client sends
    3 MB: FILE.1, FILE.2, ... each at most 1 MiB, every one whole json lines,
    and together (oldest first) every byte the client wrote."""
    cert, key = make_cert(ctx)
    path = ctx.path("events.json")
    srv = PyServer(ctx, cert, key, 3 << 20, os.urandom(1000))
    cli = PyClient(ctx, srv.port, os.urandom(3 << 20), 1000, wait_go=True, chunk=16384)
    ps = ctx.start_plainsight(["tls", "-q", "-m", "json", "-p", str(cli.pid), "--eventaddr", path,
                               "--eventroratesize", "1"])
    ps.wait_attached()
    cli.go()
    cli.finish()
    srv.finish()
    err = ps.stop()
    parts = []
    n = 1
    while os.path.exists("%s.%d" % (path, n)):
        parts.append("%s.%d" % (path, n))
        n += 1
    parts.append(path)
    if len(parts) < 4:
        raise TestFailure("%d files for 4 MiB of json at 1 MiB each: %r" % (len(parts), parts))
    data = b""
    for p in parts:
        with open(p, "rb") as f:
            chunk = f.read()
        if len(chunk) > 1 << 20 or (p != path and not chunk.endswith(b"\n")):
            raise TestFailure("%s: %d bytes, %s" % (p, len(chunk), "ends in a line" if chunk.endswith(b"\n")
                                                     else "cut inside a line"))
        data += chunk
    records, _, _ = harness.parse_json_lines(data, err)
    harness.compare_bytes("the client's writes in the rotated files",
                          harness.concat(harness.records_of(records, cli.pid, "write")), cli.send_data)
    nums, line = summary_numbers(err, "eventaddr")
    if nums.get("files") != len(parts) - 1 or nums.get("dropped"):
        raise TestFailure("summary %r for %d files" % (line, len(parts)))


@test("stream_eventaddr_ws")
def stream_eventaddr_ws(ctx):
    """--eventaddr ws://127.0.0.1:PORT/events with -m json: a WebSocket server
    (Debian's python3-websockets) gets one json record per message, the
    client's writes exactly."""
    need_debian_modules(ctx)
    cert, key = make_cert(ctx)
    port = free_port()
    server = ctx.start([DEBIAN_PYTHON, CLIENT, "server", "--port", str(port)], "ws server",
                       collect_stdout=True, plain_env=True)
    wait_until(lambda: listening(port) or server.p.poll() is not None, 20, "the ws server to listen")
    srv = PyServer(ctx, cert, key, 20000, os.urandom(1000))
    cli = PyClient(ctx, srv.port, os.urandom(20000), 1000, wait_go=True, chunk=4096)
    ps = ctx.start_plainsight(["tls", "-q", "-m", "json", "-p", str(cli.pid),
                               "--eventaddr", "ws://127.0.0.1:%d/events" % port])
    ps.wait_attached()
    cli.go()
    cli.finish()
    srv.finish()
    err = ps.stop()
    time.sleep(0.5)
    server.kill()
    server.join_readers()
    lines = [json.loads(l)["line"] for l in server.stdout_bytes.splitlines() if b'"line"' in l]
    records, _, _ = harness.parse_json_lines("\n".join(lines).encode() + b"\n", err)
    harness.compare_bytes("the client's writes over --eventaddr ws://",
                          harness.concat(harness.records_of(records, cli.pid, "write")), cli.send_data)
    nums, line = summary_numbers(err, "eventaddr")
    if nums.get("lines") != len(lines) or nums.get("dropped"):
        raise TestFailure("summary %r, %d messages received" % (line, len(lines)))


@test("stream_bad_addresses")
def stream_bad_addresses(ctx):
    """A bad ADDR is one clear error line and status 2; a port already taken
    for --ecaptureq is one line and status 1; --help lists the options."""
    bin_ = harness.binary()
    cases = [(["--eventaddr", "tcp://127.0.0.1"], "--eventaddr 'tcp://127.0.0.1': no :PORT", 2),
             (["--logaddr", "udp://h:1"], "--logaddr 'udp://h:1': the scheme is tcp:// or ws://", 2),
             (["--ecaptureq", "/tmp/x"], "--ecaptureq '/tmp/x': the address is ws://HOST:PORT/", 2),
             (["--eventaddr", "ws://h:0/"], "the port is a number from 1 to 65535", 2),
             (["--eventroratesize", "2"], "rotate an --eventaddr FILE", 2),
             (["-m", "pcapng", "--eventaddr", "tcp://h:1"], "not pcapng", 2)]
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    cases.append((["--ecaptureq", "ws://127.0.0.1:%d/" % busy.getsockname()[1]], "--ecaptureq: cannot listen", 1))
    problems = []
    for args, want, status in cases:
        r = ctx.run([bin_, "tls"] + args)
        lines = r.stderr.decode().splitlines()
        if r.returncode != status or len(lines) != 1 or want not in lines[0]:
            problems.append("%s: status %d, stderr %r (want %d and one line with %r)"
                            % (" ".join(args), r.returncode, lines, status, want))
    busy.close()
    help_text = ctx.run([bin_, "tls", "--help"]).stdout.decode()
    for opt in ("--ecaptureq", "--eventaddr", "--eventroratesize", "--eventroratetime", "-l, --logaddr"):
        if opt not in help_text:
            problems.append("--help does not list " + opt)
    if problems:
        raise TestFailure(*problems)
