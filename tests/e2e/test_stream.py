"""Live outputs (issue 16): eCaptureQ's WebSocket stream (--ecaptureq), read by
a real client (Debian's python3-websockets) that decodes each message with the
schema compiled by Debian's protoc (python3-protobuf); --eventaddr to a TCP
listener, a WebSocket server and a rotated file; --logaddr; the address errors."""

import base64
import json
import os
import socket
import struct
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
    server_messages(server, summary_numbers(err, "eventaddr")[0].get("lines", 0), "line")
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
             (["-m", "pcapng", "--eventaddr", "tcp://h:1", "-w", "/tmp/x"], "both say where", 2)]
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


# ---- -m pcapng to --eventaddr and --ecaptureq ---------------------------------

PCAPNG_SHB, PCAPNG_IDB, PCAPNG_EPB, PCAPNG_DSB = 0x0A0D0D0A, 1, 6, 10


def pcapng_blocks(data):
    """(type, body) of each block of a little-endian pcapng stream; raises on a cut one."""
    blocks, at = [], 0
    while at < len(data):
        if at + 12 > len(data):
            raise TestFailure("a pcapng block cut short at byte %d of %d" % (at, len(data)))
        kind, length = struct.unpack_from("<II", data, at)
        if length < 12 or at + length > len(data):
            raise TestFailure("pcapng block at %d: length %d past the end (%d bytes)" % (at, length, len(data)))
        blocks.append((kind, data[at + 8:at + length - 4]))
        at += length
    return blocks


def dsb_lines(blocks):
    lines = set()
    for kind, body in blocks:
        if kind == PCAPNG_DSB:
            n = struct.unpack_from("<I", body, 4)[0]
            lines |= {l for l in body[8:8 + n].decode().splitlines() if l}
    return lines


def check_whole_capture(name, data, want_secrets=()):
    """A stream read alone is a capture: SHB, IDBs, then (when secrets were
    known before it started) a DSB with them, all before the first packet."""
    blocks = pcapng_blocks(data)
    kinds = [k for k, _ in blocks]
    if not kinds or kinds[0] != PCAPNG_SHB or PCAPNG_IDB not in kinds[:2]:
        raise TestFailure("%s does not start with a section and an interface block: %r" % (name, kinds[:6]))
    first_packet = kinds.index(PCAPNG_EPB) if PCAPNG_EPB in kinds else len(kinds)
    missing = set(want_secrets) - dsb_lines(blocks[:first_packet])
    if missing:
        raise TestFailure("%s: %d secrets known before it started are not in the blocks before its first "
                          "packet, e.g. %s" % (name, len(missing), sorted(missing)[0][:60]))
    return blocks


def pcapng_tools(ctx):
    import test_pcapng
    test_pcapng.need_tools()
    return test_pcapng


@test("stream_pcapng_eventaddr_file_rotates")
def stream_pcapng_eventaddr_file_rotates(ctx):
    """-m pcapng --eventaddr FILE --eventroratesize 1: a 3 MB download, then
    a POST, over TLS (curl, the Python https server). FILE.1, FILE.2, ... and
    FILE are each a whole capture: tshark reads each alone; each starts with
    the section and interface blocks and every secret of the files before it;
    the POST's body and its answer are decrypted, with no key file, from the
    file they are in; the packets of all files are the ones the summary counts."""
    tp = pcapng_tools(ctx)
    port = free_port()
    path = ctx.path("capture.pcapng")
    srv = tp.start_server(ctx, port, "1.3")
    ps = ctx.start_plainsight(["tls", "-q", "-m", "pcapng", "-i", "lo", "--eventaddr", path,
                               "--eventroratesize", "1", "tcp", "port", str(port)])
    ps.wait_attached()
    r = ctx.run(["curl", "-sk", "--http1.1", "-o", "/dev/null", "https://127.0.0.1:%d/big/3000000" % port])
    srv.check_ok(30)
    if r.returncode != 0:
        raise TestFailure("curl download failed: %d" % r.returncode)
    srv = tp.start_server(ctx, port, "1.3")
    body = "rotated-%s" % os.urandom(6).hex()
    got = tp.curl_post(ctx, port, "/after-rotation", body, "1.3")
    srv.check_ok(30)
    time.sleep(0.5)     # the packets are held 200 ms for their secrets
    err = ps.stop()
    parts = ["%s.%d" % (path, n) for n in range(1, 100) if os.path.exists("%s.%d" % (path, n))] + [path]
    if len(parts) < 3:
        raise TestFailure("%d files for 3 MB at 1 MiB each: %r" % (len(parts), parts), *indent(tail(err, 6)))
    seen_secrets, packets, post_in = set(), 0, []
    for p in parts:
        with open(p, "rb") as f:
            data = f.read()
        if len(data) > 1 << 20:
            raise TestFailure("%s holds %d bytes, past the 1 MiB limit" % (p, len(data)))
        blocks = check_whole_capture(p, data, seen_secrets)
        seen_secrets |= dsb_lines(blocks)
        packets += sum(1 for k, _ in blocks if k == PCAPNG_EPB)
        n = len(tp.tshark(ctx, p, "-T", "fields", "-e", "frame.number").split())
        if n != sum(1 for k, _ in blocks if k == PCAPNG_EPB):
            raise TestFailure("tshark reads %d packets of %s's %d" % (n, p, packets))
        http = tp.decrypted_http(ctx, p)
        if body in http or body.encode().hex() in http:
            post_in.append((p, http))
    if got != ("got /after-rotation %s\n" % body).encode():
        raise TestFailure("the server answered %r" % got)
    if not post_in:
        raise TestFailure("no file decrypts to the POST body %r (files %r)" % (body, parts))
    p, http = post_in[0]
    answer = "got /after-rotation %s" % body
    if answer not in http and answer.encode().hex() not in http:
        raise TestFailure("%s decrypts the POST but not its answer:" % p, *indent(http.splitlines()))
    counts = tp.summary_counts(err)
    if counts["packets"] != packets or counts["unwritten"]:
        raise TestFailure("summary %r, the files hold %d packets" % (counts, packets))
    nums, line = summary_numbers(err, "eventaddr")
    if nums.get("dropped") or nums.get("files") != len(parts) - 1:
        raise TestFailure("summary %r for %d files" % (line, len(parts)))


class ByteListener:
    """A TCP listener on port keeping each connection's bytes apart."""

    def __init__(self, port):
        self.streams = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(4)
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            chunks = []
            self.streams.append(chunks)
            while True:
                try:
                    data = conn.recv(1 << 20)
                except OSError:
                    data = b""
                if not data:
                    break
                chunks.append(data)

    def stream(self, i):
        return b"".join(self.streams[i]) if i < len(self.streams) else b""

    def stop(self):
        for c in self.conns:
            with_suppressed(lambda: c.shutdown(socket.SHUT_RDWR))
            c.close()
        self.sock.close()
        self.thread.join(10)


def server_messages(server, want, key):
    """Waits (10 s at most) until the stream_client.py server printed want messages with key."""
    def count():
        return sum(1 for l in server.stdout_bytes.splitlines() if b'"%s"' % key.encode() in l)
    deadline = time.monotonic() + 10
    while count() < want and time.monotonic() < deadline:
        time.sleep(0.1)


def with_suppressed(fn):
    try:
        fn()
    except OSError:
        pass


def post_decrypted_from(ctx, tp, data, name, body):
    """tshark -r - reads the stream (a pipe, as a live reader would) and decrypts the POST and its answer."""
    r = ctx.run(["tshark", "-n", "-r", "-", "-Y", "http", "-T", "fields", "-e", "http.request.method",
                 "-e", "http.file_data"], input=data, timeout=120)
    out = r.stdout.decode("utf-8", "replace")
    answer = "got /%s %s" % (name, body)
    for want in (body, answer):
        if want not in out and want.encode().hex() not in out:
            raise TestFailure("tshark -r - on the %s stream (%d bytes, status %d) does not show %r:"
                              % (name, len(data), r.returncode, want),
                              *indent(out.splitlines()[-10:] + tail(r.stderr.decode("utf-8", "replace"), 5)))


@test("stream_pcapng_eventaddr_tcp")
def stream_pcapng_eventaddr_tcp(ctx):
    """-m pcapng --eventaddr tcp://: a listener receives a pcapng stream that
    tshark -r - decodes, a POST over TLS decrypted with no key file; the
    listener restarts, and its second connection is a whole capture of its
    own (the section, interface and every secret sent before) with the next POST."""
    tp = pcapng_tools(ctx)
    port, lport = free_port(), free_port()
    listeners = [ByteListener(lport)]
    ps = ctx.start_plainsight(["tls", "-q", "-m", "pcapng", "-i", "lo", "--eventaddr",
                               "tcp://127.0.0.1:%d" % lport, "tcp", "port", str(port)])
    ps.wait_attached()
    bodies = []
    for name in ("first", "second"):
        srv = tp.start_server(ctx, port, "1.3")
        body = "%s-%s" % (name, os.urandom(6).hex())
        bodies.append(body)
        tp.curl_post(ctx, port, "/" + name, body, "1.3")
        srv.check_ok(30)
        time.sleep(1.5)     # held 200 ms for their secrets, then sent
        listeners[-1].stop()
        if name == "first":
            listeners.append(ByteListener(lport))
    err = ps.stop()
    first, second = listeners[0].stream(0), listeners[1].stream(0)
    nums, line = summary_numbers(err, "eventaddr")
    if nums.get("connections", 0) < 2:
        raise TestFailure("no reconnection counted: " + line)
    check_whole_capture("the first connection's stream", first)
    post_decrypted_from(ctx, tp, first, "first", bodies[0])
    check_whole_capture("the second connection's stream", second, dsb_lines(pcapng_blocks(first)))
    post_decrypted_from(ctx, tp, second, "second", bodies[1])


@test("stream_pcapng_eventaddr_ws")
def stream_pcapng_eventaddr_ws(ctx):
    """-m pcapng --eventaddr ws://: the WebSocket server gets binary
    messages, each whole pcapng blocks, that together are a capture tshark
    decrypts a POST from with no key file."""
    need_debian_modules(ctx)
    tp = pcapng_tools(ctx)
    port, wport = free_port(), free_port()
    server = ctx.start([DEBIAN_PYTHON, CLIENT, "server", "--port", str(wport)], "ws server",
                       collect_stdout=True, plain_env=True)
    wait_until(lambda: listening(wport) or server.p.poll() is not None, 20, "the ws server to listen")
    ps = ctx.start_plainsight(["tls", "-q", "-m", "pcapng", "-i", "lo", "--eventaddr",
                               "ws://127.0.0.1:%d/capture" % wport, "tcp", "port", str(port)])
    ps.wait_attached()
    srv = tp.start_server(ctx, port, "1.3")
    body = "ws-%s" % os.urandom(6).hex()
    tp.curl_post(ctx, port, "/ws", body, "1.3")
    srv.check_ok(30)
    time.sleep(1)
    err = ps.stop()
    nums, line = summary_numbers(err, "eventaddr")
    # the server may print the last messages a while after plainsight ended (a loaded machine)
    server_messages(server, nums.get("batches", 0) + nums.get("connections", 0), "binary_b64")
    server.kill()
    server.join_readers()
    msgs = [json.loads(l) for l in server.stdout_bytes.splitlines() if l.startswith(b"{")]
    if any("line" in m for m in msgs):
        raise TestFailure("text messages in pcapng mode: %r" % [m for m in msgs if "line" in m][:2])
    binary = [base64.b64decode(m["binary_b64"]) for m in msgs if "binary_b64" in m]
    for i, m in enumerate(binary):
        pcapng_blocks(m)    # each message whole blocks
    data = b"".join(binary)
    check_whole_capture("the ws stream", data)
    post_decrypted_from(ctx, tp, data, "ws", body)
    # each connection's preamble (section, interfaces, secrets) is a message of its own, not a batch
    if nums.get("batches", 0) + nums.get("connections", 0) != len(binary) or nums.get("dropped"):
        raise TestFailure("summary %r, %d binary messages received" % (line, len(binary)))


@test("stream_ecaptureq_pcapng")
def stream_ecaptureq_pcapng(ctx):
    """-m pcapng with --ecaptureq: the file gets the packets, the eCaptureQ
    client the plaintext decrypted from them: the traced client's events
    carry its pid and ports, and their payloads are exactly what it sent and
    received (an HTTP/1.1 POST over TLS, the project's tls peer)."""
    need_debian_modules(ctx)
    pb = compile_schema(ctx)
    cert, key = make_cert(ctx)
    request, response = http_pair(3000)
    srv = PyServer(ctx, cert, key, len(request), response)
    cli = PyClient(ctx, srv.port, request, len(response), wait_go=True)
    url = "ws://127.0.0.1:%d/" % free_port()
    pcap = ctx.path("out.pcapng")
    ps = ctx.start_plainsight(["tls", "-q", "-m", "pcapng", "-i", "lo", "-w", pcap, "-p", str(cli.pid),
                               "--ecaptureq", url, "tcp", "port", str(srv.port)])
    ps.wait_attached()
    a = WsClient(ctx, url, pb, "a")
    cli.go()
    cli.finish()
    srv.finish()
    pid, port = cli.pid, srv.port
    wait_until(lambda: len(payload_of(a.events(pid))) >= len(request) + len(response), 30,
               "the client's decrypted events at the ws client")
    err = ps.stop()
    evs = a.events(pid)
    writes = [e for e in evs if e["dst_port"] == port]
    reads = [e for e in evs if e["src_port"] == port]
    harness.compare_bytes("the client's writes (events, pcapng mode) vs what the server got",
                          payload_of(writes), srv.received())
    harness.compare_bytes("the client's reads (events, pcapng mode) vs the response", payload_of(reads), response)
    if writes[0]["type"] != 1 or reads[0]["type"] != 3 or not writes[0]["pname"].startswith("python"):
        raise TestFailure("first write %r, first read %r: want types 1 and 3 and the python client's name"
                          % ({k: writes[0][k] for k in ("type", "pname")}, {k: reads[0][k] for k in ("type",)}))
    others = [e for e in a.events() if e["pid"] != pid]
    if others:
        raise TestFailure("-p %d: events of other processes reached the client: %r" % (pid, others[:2]))
    if "pcapng:" not in err or not os.path.getsize(pcap):
        raise TestFailure("the pcapng file was not written along:", *indent(tail(err, 6)))


@test("stream_eventaddr_ws_restart")
def stream_eventaddr_ws_restart(ctx):
    """--eventaddr ws:// with -m json: the WebSocket server is killed and
    started again between two exchanges. The server's close is read before
    the next line is written, so that line goes to the new server, not into
    the reset: every line plainsight counts as sent was received, none is
    dropped, and both exchanges are there byte for byte."""
    need_debian_modules(ctx)
    cert, key = make_cert(ctx)
    port = free_port()

    def start_server():
        s = ctx.start([DEBIAN_PYTHON, CLIENT, "server", "--port", str(port)], "ws server",
                      collect_stdout=True, plain_env=True)
        wait_until(lambda: listening(port) or s.p.poll() is not None, 20, "the ws server to listen")
        return s

    servers = [start_server()]
    # one tls_peer server for both exchanges, traced alone (-p): the machine's other TLS stays out
    sends = [os.urandom(3000), os.urandom(3000)]
    srv = PyServer(ctx, cert, key, 3000, os.urandom(2000), conns=2)
    ps = ctx.start_plainsight(["tls", "-q", "-m", "json", "-p", str(srv.pid),
                               "--eventaddr", "ws://127.0.0.1:%d/events" % port])
    ps.wait_attached()
    PyClient(ctx, srv.port, sends[0], 2000, tag="client-before").finish()
    time.sleep(1)
    servers[0].kill()
    servers.append(start_server())
    time.sleep(0.5)
    PyClient(ctx, srv.port, sends[1], 2000, tag="client-after").finish()
    srv.finish()
    time.sleep(1)
    err = ps.stop()
    before_restart = sum(1 for l in servers[0].stdout_bytes.splitlines() if b'"line"' in l)
    server_messages(servers[1], summary_numbers(err, "eventaddr")[0].get("lines", 0) - before_restart, "line")
    lines = []
    for s in servers:
        s.kill()
        s.join_readers()
        lines += [json.loads(l)["line"] for l in s.stdout_bytes.splitlines() if b'"line"' in l]
    records = [json.loads(l) for l in lines]
    nums, line = summary_numbers(err, "eventaddr")
    if nums.get("lines") != len(lines):
        raise TestFailure("plainsight says %r, the servers got %d lines: lines lost unseen" % (line, len(lines)))
    data = [r for r in records if r.get("event") == "tls_data"]
    for r in data:
        r["payload"] = base64.b64decode(r["payload_b64"])
    if nums.get("dropped"):
        raise TestFailure("lines dropped at the restart, not sent again to the new server: " + line)
    harness.compare_bytes("the server's reads in the records, before and after the restart",
                          harness.concat(harness.records_of(data, srv.pid, "read")), sends[0] + sends[1])
    if nums.get("connections", 0) < 2:
        raise TestFailure("no reconnection counted: " + line,
                          "lines by server: %r" % [len([l for l in s.stdout_bytes.splitlines() if b'"line"' in l])
                                                   for s in servers])


@test("stream_eventaddr_rotates_when_idle")
def stream_eventaddr_rotates_when_idle(ctx):
    """--eventaddr FILE --eventroratetime 2 with -m json: after one exchange
    and no event since, FILE becomes FILE.1 on time, while plainsight runs
    (a timer, not the next line, closes it); an empty FILE is not rotated again."""
    cert, key = make_cert(ctx)
    path = ctx.path("events.json")
    srv = PyServer(ctx, cert, key, 2000, os.urandom(500))
    cli = PyClient(ctx, srv.port, os.urandom(2000), 500, wait_go=True)
    ps = ctx.start_plainsight(["tls", "-q", "-m", "json", "-p", str(cli.pid), "--eventaddr", path,
                               "--eventroratetime", "2"])
    ps.wait_attached()
    cli.go()
    cli.finish()
    srv.finish()
    wait_until(lambda: os.path.exists(path + ".1"), 8, "%s.1 with no event after the exchange" % path)
    time.sleep(5)   # two more periods with nothing in FILE
    if ps.p.poll() is not None:
        raise TestFailure("plainsight ended before the check")
    extra = os.path.exists(path + ".2")
    now_size = os.path.getsize(path)
    err = ps.stop()
    with open(path + ".1", "rb") as f:
        records, _, _ = harness.parse_json_lines(f.read(), err)
    harness.compare_bytes("the client's writes in %s.1" % path,
                          harness.concat(harness.records_of(records, cli.pid, "write")), cli.send_data)
    if extra or now_size:
        raise TestFailure("an empty file was rotated (%s.2 exists: %s) or FILE got %d bytes with no event"
                          % (path, extra, now_size))


def start_streaming(ctx, module, extra=()):
    """plainsight MODULE -m json sending to a tcp:// listener and serving
    eCaptureQ, with one ws client connected: (plainsight, listener, client)."""
    need_debian_modules(ctx)
    pb = compile_schema(ctx)
    port = free_port()
    listener = LineListener(port)
    url = "ws://127.0.0.1:%d/" % free_port()
    ps = ctx.start_plainsight([module, "-q", "-m", "json", "--eventaddr", "tcp://127.0.0.1:%d" % port,
                               "--ecaptureq", url] + list(extra))
    ps.wait_attached()
    return ps, listener, WsClient(ctx, url, pb, module)


def stop_streaming(ps, listener):
    """The json records the listener got, after plainsight's summary agrees on their count."""
    err = ps.stop()
    time.sleep(0.5)
    listener.stop()
    try:
        received = [json.loads(l) for l in listener.lines]
    except ValueError as e:
        raise TestFailure("a line received is not json: %s" % e)
    nums, line = summary_numbers(err, "eventaddr")
    if nums.get("lines") != len(received) or nums.get("dropped"):
        raise TestFailure("plainsight says %r, the listener got %d lines" % (line, len(received)))
    return received, err


@test("stream_other_modules_gnutls")
def stream_other_modules_gnutls(ctx):
    """The live outputs are the module's, not tls's: gnutls-cli (the gnutls
    module, traced with -p) against openssl s_server, with --eventaddr
    tcp:// and --ecaptureq at once: the json lines and the eCaptureQ events
    of gnutls-cli's pid each hold exactly what it sent and received, the
    events with its name and the server's port."""
    from test_gnutls import cli_vs_s_server
    to_server, to_client = os.urandom(20000), os.urandom(30000)
    streams = {}

    def trace(pid, port):
        streams["ps"], streams["listener"], streams["ws"] = start_streaming(ctx, "gnutls", ["-p", str(pid)])
        return streams["ps"]

    _, pid, port = cli_vs_s_server(ctx, "1.3", to_server, to_client, trace=trace)
    ws = streams["ws"]
    wait_until(lambda: len(payload_of(ws.events(pid))) >= len(to_server) + len(to_client), 30,
               "gnutls-cli's events at the ws client")
    received, _ = stop_streaming(streams["ps"], streams["listener"])
    records = [r for r in received if r.get("module") == "gnutls" and r.get("pid") == pid and "payload_b64" in r]
    for r in records:
        r["payload"] = base64.b64decode(r["payload_b64"])
    harness.compare_bytes("json lines: gnutls-cli's writes", harness.concat(harness.records_of(records, pid, "write")),
                          to_server)
    harness.compare_bytes("json lines: gnutls-cli's reads", harness.concat(harness.records_of(records, pid, "read")),
                          to_client)
    evs = ws.events(pid)
    writes = [e for e in evs if e["dst_port"] == port]
    reads = [e for e in evs if e["src_port"] == port]
    harness.compare_bytes("eCaptureQ events: gnutls-cli's writes", payload_of(writes), to_server)
    harness.compare_bytes("eCaptureQ events: gnutls-cli's reads", payload_of(reads), to_client)
    names = {e["pname"] for e in evs}
    if names != {"gnutls-cli"}:
        raise TestFailure("events name %r, want gnutls-cli" % sorted(names))


@test("stream_other_modules_bash")
def stream_other_modules_bash(ctx):
    """An audit module through the live outputs: a command typed into bash
    (in tmux) reaches the tcp:// listener as the bash module's json record
    and the eCaptureQ client as an event of the shell's pid and name whose
    payload is the line."""
    import shutil
    import audit_shells
    if not shutil.which("bash") or not shutil.which("tmux"):
        raise TestSkip("bash or tmux not installed")
    ps, listener, ws = start_streaming(ctx, "bash")
    marker = "echo plainsight-stream-%s" % os.urandom(6).hex()
    try:
        sh = audit_shells.Shell(ctx, "bash")
    except audit_shells.ShellError as e:
        raise TestFailure("cannot start bash in tmux: %s" % e)
    sh.command([marker])
    pid = sh.pid
    sh.close()
    wait_until(lambda: any(marker.encode() in base64.b64decode(e["payload_b64"]) for e in ws.events(pid)), 20,
               "the shell's line at the ws client")
    received, _ = stop_streaming(ps, listener)
    lines = [r for r in received if r.get("module") == "bash" and r.get("pid") == pid and r.get("line") == marker]
    if len(lines) != 1:
        raise TestFailure("json lines of bash pid %d with line %r: %d, want 1" % (pid, marker, len(lines)),
                          *indent([json.dumps(r)[:200] for r in received if r.get("pid") == pid][:5]))
    evs = [e for e in ws.events(pid) if marker.encode() in base64.b64decode(e["payload_b64"])]
    if len(evs) != 1 or base64.b64decode(evs[0]["payload_b64"]).rstrip(b"\n") != marker.encode() \
            or evs[0]["pname"] != "bash":
        raise TestFailure("eCaptureQ events with the line: %r, want one, from bash, the line exactly"
                          % [{k: e[k] for k in ("pname", "pid", "payload_b64")} for e in evs])
