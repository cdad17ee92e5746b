"""pcapng mode (-m pcapng): the file holds the packets of the chosen
interfaces and the TLS secrets in Decryption Secrets Blocks, so tshark
decrypts it with no key file; the pcap filter runs in the kernel; a bad
filter is one error line; SIGTERM in the middle of a transfer leaves a file
tshark reads to the end."""

import os
import re
import signal
import stat
import struct
import subprocess
import time

import harness
import tls_servers
from harness import TestFailure, TestSkip, binary, free_port, indent, listening, tail, wait_until
from tls_servers import make_cert
from test_faults import SmallDisk

TESTS, test = harness.registry()
PYTHON = "python3"

# POST echoes a line naming the path and the body; GET /big/N sends N bytes.
SERVER_PY = r"""
import http.server, ssl, sys
port, cert, key, maxv = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.reply(b"got " + self.path.encode() + b" " + body + b"\n")
    def do_GET(self):
        n = int(self.path.rsplit("/", 1)[1])
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        chunk = b"x" * 65536
        while n > 0:
            self.wfile.write(chunk[:n])
            n -= len(chunk)
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

# Plain TCP on another port: its packets must not pass the filter.
OTHER_PY = r"""
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
c, _ = s.accept()
c.sendall(c.recv(100) * 3)
c.close()
"""


def need_tools():
    for name in ("tshark", "capinfos", "curl"):
        harness.require_program(name)


def run_ip(ctx, *args):
    """`ip ARGS...` (iproute2), which must succeed."""
    r = ctx.run(["ip"] + list(args))
    if r.returncode != 0:
        raise TestFailure("ip %s: %s" % (" ".join(args), r.stderr.decode("utf-8", "replace").strip()))


def start_server(ctx, port, maxv):
    cert, key = make_cert(ctx)
    script = ctx.write("server.py", SERVER_PY.encode())
    srv = ctx.start([PYTHON, script, str(port), cert, key, maxv], "python https server")
    wait_until(lambda: listening(port), 10, "the https server to listen on port %d" % port)
    return srv


def tshark(ctx, pcap, *args):
    r = ctx.run(["tshark", "-n", "-r", pcap] + list(args), timeout=120)
    err = r.stderr.decode("utf-8", "replace")
    # tshark says this to root before anything else; it is no warning about the file
    err = "\n".join(l for l in err.splitlines() if not l.startswith("Running as user"))
    if r.returncode != 0 or err.strip():
        raise TestFailure("tshark -r %s %s: status %d, stderr:" % (pcap, " ".join(args), r.returncode),
                          *indent(tail(err) or ["(none)"]))
    return r.stdout.decode("utf-8", "replace")


def capinfos(ctx, pcap):
    r = ctx.run(["capinfos", pcap], timeout=60)
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode != 0 or err.strip():
        raise TestFailure("capinfos %s: status %d, stderr:" % (pcap, r.returncode), *indent(tail(err)))
    return r.stdout.decode("utf-8", "replace")


def summary_counts(stderr):
    m = re.search(r"pcapng: (\d+) packets \((\d+) bytes\) written, (\d+) dropped by the kernel capture.*?, "
                  r"(\d+) not written; (\d+) secrets written", stderr)
    if not m:
        raise TestFailure("no pcapng line in plainsight's summary:", *indent(tail(stderr)))
    return dict(zip(("packets", "bytes", "dropped", "unwritten", "secrets"), map(int, m.groups())))


def check_file_info(ctx, pcap, port, started):
    if stat.S_IMODE(os.stat(pcap).st_mode) != 0o600:
        raise TestFailure("%s has mode %o, not 0600" % (pcap, stat.S_IMODE(os.stat(pcap).st_mode)))
    info = capinfos(ctx, pcap)
    want = ["File type:           Wireshark/... - pcapng", "Capture application: plainsight ",
            "Name = lo", "Encapsulation = Ethernet", "Time precision = nanoseconds (9)",
            "Filter string = tcp port %d" % port]
    missing = [w for w in want if w not in info]
    if missing:
        raise TestFailure("capinfos does not say %s:" % missing, *indent(info.splitlines()))
    # wall clock, not boot time
    epochs = tshark(ctx, pcap, "-T", "fields", "-e", "frame.time_epoch").split()
    bad = [t for t in epochs if not started - 1 <= float(t) <= time.time() + 1]
    if not epochs or bad:
        raise TestFailure("packet times %s are not between the test's start %.3f and now" % (bad[:5], started))
    return info


def check_loopback_once(ctx, pcap):
    """Each packet once: one SYN per connection, no TCP segment twice (a
    retransmission differs in its IP id and TCP timestamp; a copy does not)."""
    out = tshark(ctx, pcap, "-T", "fields", "-e", "tcp.stream", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack",
                 "-e", "tcp.seq_raw", "-e", "tcp.ack_raw", "-e", "tcp.len", "-e", "tcp.srcport", "-e", "ip.id",
                 "-e", "tcp.options.timestamp.tsval")
    rows = [tuple(l.split("\t")) for l in out.splitlines() if l.strip()]
    syns = [r for r in rows if r[1] in ("1", "True") and r[2] in ("0", "False")]
    streams = {r[0] for r in rows}
    if len(syns) != len(streams):
        raise TestFailure("%d SYNs for %d connections: loopback packets twice?" % (len(syns), len(streams)),
                          *indent(out.splitlines()[:20]))
    dup = [r for r in set(rows) if rows.count(r) > 1]
    if dup:
        raise TestFailure("%d TCP segments appear twice, e.g. %s" % (len(dup), dup[0]))


def decrypted_http(ctx, pcap):
    return tshark(ctx, pcap, "-Y", "http", "-T", "fields", "-e", "http.request.method",
                  "-e", "http.request.uri", "-e", "http.response.code", "-e", "http.file_data")


def curl_post(ctx, port, path, body, maxv):
    argv = ["curl", "-sk", "--http1.1", "--data-binary", body, "https://127.0.0.1:%d%s" % (port, path)]
    if maxv == "1.2":
        argv[1:1] = ["--tls-max", "1.2"]
    r = ctx.run(argv, timeout=30)
    if r.returncode != 0:
        raise TestFailure("curl failed (%d): %s" % (r.returncode, r.stderr.decode("utf-8", "replace")))
    return r.stdout


def decrypts_without_key_file(ctx, maxv, **plainsight_kw):
    need_tools()
    port = free_port()
    pcap, keylog = ctx.path("out.pcapng"), ctx.path("keys.log")
    path = "/pcapng-%d-tls%s" % (os.getpid(), maxv)
    body = "body-%d-%s" % (os.getpid(), os.urandom(4).hex())
    srv = start_server(ctx, port, maxv)
    started = time.time()
    ps = ctx.start_plainsight(["tls", "-m", "pcapng", "-i", "lo", "-w", pcap, "-k", keylog, "-q",
                               "tcp", "port", str(port)], **plainsight_kw)
    ps.wait_attached()
    got = curl_post(ctx, port, path, body, maxv)
    srv.check_ok(30)
    # flushed after each batch: tshark reads the request while plainsight still runs
    wait_until(lambda: path in decrypted_http(ctx, pcap), 10,
               "tshark -r to show %s in the growing file" % path)
    if ps.p.poll() is not None:
        raise TestFailure("plainsight ended before the live read")
    stderr = ps.stop(signal.SIGINT)
    if got != ("got %s %s\n" % (path, body)).encode():
        raise TestFailure("the server answered %r" % got)
    check_file_info(ctx, pcap, port, started)
    check_loopback_once(ctx, pcap)
    out = decrypted_http(ctx, pcap)
    rows = [l.split("\t") + ["", "", "", ""] for l in out.splitlines()]
    lines = out.splitlines()
    # http.file_data is text or hex by tshark's version: look for either
    def has_data(field, text):
        return text in field or text.encode().hex() in field
    request = any(r[0] == "POST" and r[1] == path and has_data(r[3], body) for r in rows)
    response = any(r[2] == "200" and has_data(r[3], "got %s %s" % (path, body)) for r in rows)
    if not request or not response:
        r = ctx.run(["tshark", "-n", "-r", pcap], timeout=60)
        raise TestFailure("tshark -Y http (no key file) does not show POST %s with body %r and its answer; "
                          "it says:" % (path, body), *indent(lines or ["(nothing)"]),
                          "the capture:", *indent(tail(r.stdout.decode("utf-8", "replace"), 30)))
    counts = summary_counts(stderr)
    with open(keylog) as f:
        keylines = f.read().splitlines()
    if counts["secrets"] != len(keylines) or not keylines:
        raise TestFailure("%d secrets in the pcapng file, %d lines in -k %s" %
                          (counts["secrets"], len(keylines), keylog))
    n = len(tshark(ctx, pcap, "-T", "fields", "-e", "frame.number").split())
    if counts["packets"] != n or counts["dropped"] or counts["unwritten"]:
        raise TestFailure("summary %s, but tshark reads %d packets" % (counts, n))


@test("pcapng_decrypts_tls13")
def pcapng_tls13(ctx):
    decrypts_without_key_file(ctx, "1.3")


@test("pcapng_decrypts_tls12")
def pcapng_tls12(ctx):
    decrypts_without_key_file(ctx, "1.2")


@test("asan_pcapng_decrypts_tls13")
def asan_pcapng_tls13(ctx):
    """The same under ASan+UBSan (leaks included)."""
    from test_tls import under_asan
    under_asan(ctx, lambda env: decrypts_without_key_file(ctx, "1.3", asan=True, env=env))


@test("pcapng_filter_excludes_other_port")
def pcapng_filter(ctx):
    """The filter runs in the kernel: traffic on another port in the same run is not in the file."""
    need_tools()
    port, other = free_port(), free_port()
    pcap = ctx.path("out.pcapng")
    srv = start_server(ctx, port, "1.3")
    script = ctx.write("other.py", OTHER_PY.encode())
    oth = ctx.start([PYTHON, script, str(other)], "plain tcp server")
    wait_until(lambda: listening(other), 10, "the plain server to listen on port %d" % other)
    ps = ctx.start_plainsight(["tls", "-m", "pcapng", "-i", "lo", "-w", pcap, "-q", "tcp port %d" % port])
    ps.wait_attached()
    r = ctx.run([PYTHON, "-c", "import socket,sys; s=socket.create_connection(('127.0.0.1',%d)); "
                 "s.sendall(b'ping'); print(s.recv(100))" % other])
    if r.returncode != 0:
        raise TestFailure("the plain client failed: %s" % r.stderr.decode("utf-8", "replace"))
    oth.check_ok(10)
    curl_post(ctx, port, "/filter", "x", "1.3")
    srv.check_ok(30)
    time.sleep(0.3)
    ps.stop()
    ports = tshark(ctx, pcap, "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport").split()
    if not ports:
        raise TestFailure("no packet of port %d in the file" % port)
    pairs = list(zip(ports[0::2], ports[1::2]))
    off = [pair for pair in pairs if str(port) not in pair]
    if off:
        raise TestFailure("%d packets not on port %d in a capture filtered on it (port %d is the other "
                          "server's), e.g. %s" % (len(off), port, other, off[:3]))


@test("pcapng_bad_filter")
def pcapng_bad_filter(ctx):
    """A filter libpcap rejects: one error line quoting libpcap, non-zero exit, no file."""
    pcap = ctx.path("out.pcapng")
    r = ctx.run([binary(), "tls", "-m", "pcapng", "-w", pcap, "tcp", "port", "notaport("])
    err = r.stderr.decode("utf-8", "replace").splitlines()
    if r.returncode == 0 or len(err) != 1 or not err[0].startswith("plainsight: bad packet filter 'tcp port "
                                                                      "notaport(': "):
        raise TestFailure("status %d, stderr:" % r.returncode, *indent(err or ["(none)"]))
    if "syntax error" not in err[0] and "unknown" not in err[0]:
        raise TestFailure("the error line does not quote libpcap's message: %s" % err[0])
    if os.path.exists(pcap):
        raise TestFailure("a rejected run left %s" % pcap)
    link = ctx.path("link.pcapng")
    os.symlink(ctx.path("target"), link)
    r = ctx.run([binary(), "tls", "-m", "pcapng", "-i", "lo", "--pcapfile", link])
    if r.returncode == 0 or b"symbolic link" not in r.stderr or os.path.exists(ctx.path("target")):
        raise TestFailure("--pcapfile on a symbolic link: status %d, %r" % (r.returncode, r.stderr))
    r = ctx.run([binary(), "tls", "-i", "lo"])
    if r.returncode == 0 or b"-m pcapng" not in r.stderr:
        raise TestFailure("-i without -m pcapng: status %d, %r" % (r.returncode, r.stderr))
    r = ctx.run([binary(), "tls", "-m", "pcapng", "-i", "nosuchif0", "-w", pcap])
    if r.returncode == 0 or r.stderr.count(b"\n") != 1 or b"nosuchif0" not in r.stderr:
        raise TestFailure("-i nosuchif0: status %d, %r" % (r.returncode, r.stderr))


@test("pcapng_sigterm_mid_transfer")
def pcapng_sigterm(ctx):
    """SIGTERM while 100 MiB flow: the file ends on a whole block and tshark reads it to the end."""
    need_tools()
    port = free_port()
    pcap = ctx.path("out.pcapng")
    size = 100 << 20
    srv = start_server(ctx, port, "1.3")
    ps = ctx.start_plainsight(["tls", "-m", "pcapng", "-i", "lo", "-w", pcap, "-q", "tcp port %d" % port])
    ps.wait_attached()
    cli = ctx.start(["curl", "-sk", "--limit-rate", "25M", "-o", "/dev/null",
                     "https://127.0.0.1:%d/big/%d" % (port, size)], "curl")
    wait_until(lambda: os.path.getsize(pcap) > (8 << 20), 30, "8 MiB of packets in %s" % pcap)
    if cli.p.poll() is not None:
        raise TestFailure("curl ended before SIGTERM: the transfer was not in the middle")
    stderr = ps.stop(signal.SIGTERM)
    cli.check_ok(60)
    counts = summary_counts(stderr)
    info = capinfos(ctx, pcap)
    m = re.search(r"Number of packets:\s+(\d+)", info)
    if not m or int(m.group(1)) != counts["packets"]:
        raise TestFailure("plainsight wrote %d packets, capinfos reads %s" % (counts["packets"],
                                                                             m and m.group(1)))
    if counts["packets"] < 100:
        raise TestFailure("only %d packets" % counts["packets"])
    # tshark reads every packet, and says nothing about a file cut short
    n = len(tshark(ctx, pcap, "-T", "fields", "-e", "frame.number").split())
    if n != counts["packets"]:
        raise TestFailure("plainsight wrote %d packets, tshark reads %d" % (counts["packets"], n))
    size_after = os.path.getsize(pcap)
    time.sleep(0.5)
    if os.path.getsize(pcap) != size_after:
        raise TestFailure("the file still grows after plainsight exited")


@test("pcapng_disk_full")
def pcapng_disk_full(ctx):
    """-m pcapng -w to a 1 MiB tmpfs while 8 MiB flow: one line says it cannot write (no space), status 1, the
    file ends on a whole block that tshark reads to the end without a word, it holds exactly the packets the
    summary counts as written, and the summary counts the packets it could not write."""
    need_tools()
    disk = SmallDisk(ctx, "disk", 1 << 20)
    port = free_port()
    pcap = os.path.join(disk.path, "out.pcapng")
    srv = start_server(ctx, port, "1.3")
    ps = ctx.start_plainsight(["tls", "-m", "pcapng", "-i", "lo", "-w", pcap, "-q", "tcp port %d" % port])
    ps.wait_attached()
    cli = ctx.start(["curl", "-sk", "-o", "/dev/null", "https://127.0.0.1:%d/big/%d" % (port, 8 << 20)], "curl")
    cli.check_ok(60)
    try:
        rc = ps.p.wait(10)
    except subprocess.TimeoutExpired:
        raise TestFailure("plainsight still runs 10 s after its disk filled; its stderr:", *indent(tail(ps.stderr)))
    ps.join_readers()
    lines = [l for l in ps.stderr.splitlines() if l.strip()]
    want = "plainsight: cannot write %s: No space left on device; stopping (the packets written before stay " \
        "readable)" % pcap
    said = [l for l in lines if "cannot write" in l or "No space" in l]
    if said != [want] or rc != 1:
        raise TestFailure("want the one line %r and status 1; status %d, stderr:" % (want, rc), *indent(lines[-10:]))
    counts = summary_counts(ps.stderr)
    if counts["unwritten"] < 1 or counts["packets"] < 10:
        raise TestFailure("the summary counts %d packets written and %d not: want some of each" %
                          (counts["packets"], counts["unwritten"]), *indent(lines[-10:]))
    m = re.search(r"Number of packets:\s+(\d+)", capinfos(ctx, pcap))
    n = len(tshark(ctx, pcap, "-T", "fields", "-e", "frame.number").split())
    if not m or int(m.group(1)) != counts["packets"] or n != counts["packets"]:
        raise TestFailure("plainsight says it wrote %d packets; capinfos reads %s, tshark %d"
                          % (counts["packets"], m and m.group(1), n))
    print("    %d packets written (%d bytes in the file), %d not" % (counts["packets"], os.path.getsize(pcap),
                                                                   counts["unwritten"]))


# A plain TCP echo server and a client that connects at once but speaks
# only when told (a line on stdin): a connection older than plainsight.
ECHO_SERVER_PY = r"""
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
c, _ = s.accept()
while True:
    d = c.recv(65536)
    if not d:
        break
    c.sendall(d)
"""

EARLY_CLIENT_PY = r"""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
sys.stdin.readline()
s.sendall(b"early bird" * 100)
got = b""
while len(got) < 1000:
    got += s.recv(65536)
s.close()
"""


@test("pcapng_attribution")
def pcapng_attribution(ctx):
    """Each packet's comment names its sender (and receiver) by pid, checked
    packet by packet against the real pids, for a connection made during the
    run and one made before plainsight started."""
    need_tools()
    port, early_port = free_port(), free_port()
    pcap = ctx.path("out.pcapng")
    srv = start_server(ctx, port, "1.3")
    echo = ctx.start([PYTHON, ctx.write("echo.py", ECHO_SERVER_PY.encode()), str(early_port)], "echo server")
    wait_until(lambda: listening(early_port), 10, "the echo server to listen on port %d" % early_port)
    early = ctx.start([PYTHON, ctx.write("early.py", EARLY_CLIENT_PY.encode()), str(early_port)], "early client",
                      stdin=subprocess.PIPE)
    time.sleep(0.5)  # connected before plainsight starts
    ps = ctx.start_plainsight(["tls", "-m", "pcapng", "-i", "lo", "-w", pcap, "-q",
                               "tcp port %d or tcp port %d" % (port, early_port)])
    ps.wait_attached()
    cli = ctx.start(["curl", "-sk", "--http1.1", "--data-binary", "attribution",
                     "https://127.0.0.1:%d/who" % port], "curl")
    cli.check_ok(30)
    srv.check_ok(30)
    early.p.stdin.write(b"go\n")
    early.p.stdin.flush()
    early.check_ok(30)
    echo.check_ok(30)
    time.sleep(0.3)
    stderr = ps.stop()
    owner = {port: (srv.pid, cli.pid), early_port: (echo.pid, early.pid)}
    out = tshark(ctx, pcap, "-T", "fields", "-E", "separator=|", "-e", "frame.number", "-e", "tcp.srcport",
                 "-e", "tcp.dstport", "-e", "frame.comment")
    rows = [l.split("|", 3) for l in out.splitlines() if l.strip()]
    seen = set()
    for number, sport, dport, comment in rows:
        sport, dport = int(sport), int(dport)
        server_port = sport if sport in owner else dport
        server_pid, client_pid = owner[server_port]
        sender, receiver = (server_pid, client_pid) if sport == server_port else (client_pid, server_pid)
        m = re.match(r'pid=(\d+) comm=\S+ cmd="(?:[^"\\]|\\.)*"(?: -> pid=(\d+) comm=\S+ cmd=".*")?$', comment)
        if not m or int(m.group(1)) != sender or (m.group(2) and int(m.group(2)) != receiver):
            raise TestFailure("packet %s (%d -> %d) has comment %r; the sender is pid %d, the receiver pid %d"
                              % (number, sport, dport, comment, sender, receiver))
        if m.group(2):
            seen.add(server_port)
    if set(owner) - {int(r[1]) for r in rows} - {int(r[2]) for r in rows}:
        raise TestFailure("no packet of a connection in the file:", *indent(out.splitlines()[:20]))
    if seen != set(owner):
        raise TestFailure("no packet names its receiver on port(s) %s" % sorted(set(owner) - seen))
    if "0 packets with no process known" not in stderr:
        raise TestFailure("plainsight counts packets with no process:", *indent(tail(stderr)))


@test("pcapng_pid_keeps_its_packets")
def pcapng_pid(ctx):
    """-p PID: only the packets that process sends or receives; the others are counted as left out."""
    need_tools()
    port, other_port = free_port(), free_port()
    pcap = ctx.path("out.pcapng")
    start_server(ctx, port, "1.3")
    start_server(ctx, other_port, "1.3")
    cli = ctx.start(["sh", "-c", 'read go; exec curl -sk --http1.1 --data-binary mine "$1" -o /dev/null', "sh",
                     "https://127.0.0.1:%d/mine" % port], "curl", stdin=subprocess.PIPE)
    ps = ctx.start_plainsight(["tls", "-m", "pcapng", "-i", "lo", "-w", pcap, "-q", "-p", str(cli.pid),
                               "tcp port %d or tcp port %d" % (port, other_port)])
    ps.wait_attached()
    cli.p.stdin.write(b"go\n")
    cli.p.stdin.flush()
    cli.check_ok(30)
    curl_post(ctx, other_port, "/theirs", "theirs", "1.3")
    time.sleep(0.3)
    stderr = ps.stop()
    ports = tshark(ctx, pcap, "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport").split()
    pairs = list(zip(ports[0::2], ports[1::2]))
    if not pairs or any(str(port) not in pair for pair in pairs):
        raise TestFailure("with -p %d: %d packets, %d not of its connection to port %d" %
                          (cli.pid, len(pairs), sum(str(port) not in p for p in pairs), port))
    m = re.search(r"(\d+) of other processes left out", stderr)
    if not m or int(m.group(1)) == 0:
        raise TestFailure("no packet counted as another process's:", *indent(tail(stderr)))
    if "/mine" not in decrypted_http(ctx, pcap):
        raise TestFailure("the traced process's request is not decrypted")


VETH_ECHO_PY = r"""
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
c, _ = s.accept()
c.sendall(c.recv(100) * 2)
c.close()
"""


@test("pcapng_veth_ethernet")
def pcapng_veth(ctx):
    """-i on one end of a veth pair into a network namespace: Ethernet link
    type, the packets of a connection across it, each naming its sender."""
    need_tools()
    harness.require_program("ip")
    tag = "%d" % (os.getpid() % 100000)
    ns, host_if, ns_if = "psns" + tag, "psva" + tag, "psvb" + tag
    host_ip, ns_ip = "10.213.%d.1" % (os.getpid() % 250), "10.213.%d.2" % (os.getpid() % 250)

    def ip(*args):
        run_ip(ctx, *args)

    ip("netns", "add", ns)
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", ns)
        ip("addr", "add", host_ip + "/24", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("-n", ns, "addr", "add", ns_ip + "/24", "dev", ns_if)
        ip("-n", ns, "link", "set", ns_if, "up")
        port = free_port()
        pcap = ctx.path("out.pcapng")
        srv = ctx.start(["ip", "netns", "exec", ns, PYTHON, ctx.write("echo.py", VETH_ECHO_PY.encode()),
                         ns_ip, str(port)], "echo server in " + ns)
        time.sleep(0.5)
        ps = ctx.start_plainsight(["tls", "-m", "pcapng", "-i", host_if, "-w", pcap, "-q", "tcp port %d" % port])
        ps.wait_attached()
        cli = ctx.start([PYTHON, "-c", "import socket,sys; s=socket.create_connection(('%s',%d)); "
                         "s.sendall(b'veth'); sys.exit(0 if s.recv(100) == b'vethveth' else 1)" % (ns_ip, port)],
                        "client")
        cli.check_ok(30)
        srv.check_ok(30)
        time.sleep(0.3)
        ps.stop()
        info = capinfos(ctx, pcap)
        if "Name = %s" % host_if not in info or "Encapsulation = Ethernet" not in info:
            raise TestFailure("capinfos does not show interface %s with Ethernet:" % host_if,
                              *indent(info.splitlines()))
        out = tshark(ctx, pcap, "-T", "fields", "-E", "separator=|", "-e", "eth.type", "-e", "ip.src",
                     "-e", "tcp.payload", "-e", "frame.comment")
        rows = [l.split("|") for l in out.splitlines() if l.strip()]
        if not any(r[2] == b"veth".hex() for r in rows) or not any(r[2] == b"vethveth".hex() for r in rows):
            raise TestFailure("the exchange is not in the capture:", *indent(out.splitlines()))
        for r in rows:
            if r[0] != "0x0800":
                raise TestFailure("a frame of ethertype %s, not IPv4 over Ethernet" % r[0])
            if r[1] == host_ip and not r[3].startswith("pid=%d " % cli.pid):
                raise TestFailure("a packet of the client (pid %d) says %r" % (cli.pid, r[3]))
    finally:
        ctx.run(["ip", "link", "del", host_if])
        ctx.run(["ip", "netns", "del", ns])


# (curl's protocol flag, curl's TLS flags, what curl's %{http_version} says)
NGINX_CASES = [("--http1.1", ["--tlsv1.2", "--tls-max", "1.2"], "1.1", "1.2"),
               ("--http1.1", ["--tlsv1.3"], "1.1", "1.3"),
               ("--http2", ["--tlsv1.2", "--tls-max", "1.2"], "2", "1.2"),
               ("--http2", ["--tlsv1.3"], "2", "1.3")]


def start_nginx(ctx, port):
    os.mkdir(ctx.path("www"))
    return tls_servers.start_nginx(ctx, port, server="""        ssl_protocols TLSv1.2 TLSv1.3;
        location / { root %(tmp)s/www; }""")


def stream_of(rows, what):
    """The tcp.stream column of the rows that match, which must be exactly one stream."""
    streams = {r[0] for r in rows}
    if len(streams) != 1:
        raise TestFailure("%s: in %d TCP connections, not one" % (what, len(streams)))
    return streams.pop()


def is_bytes(field, data):
    """Exactly data: tshark prints a bytes field as text, as hex, or as hex
    with colons, by field and version."""
    return field in (data, data.encode().hex()) or field.replace(":", "") == data.encode().hex()


@test("pcapng_nginx_http1_http2")
def pcapng_nginx(ctx):
    """nginx with http2 on loopback; curl --http1.1 and --http2 over TLS 1.2
    and 1.3: tshark with no key file shows each request's path and the
    response body (-Y http, -Y http2), each connection's TLS version is the
    one asked for, and each packet names its sender, nginx or curl."""
    need_tools()
    port = free_port()
    pcap = ctx.path("out.pcapng")
    srv = start_nginx(ctx, port)
    cases = []
    for proto, tls, http_version, tls_version in NGINX_CASES:
        name = "%s-tls%s-%d.txt" % (proto.strip("-"), tls_version, os.getpid())
        body = "nginx %s over TLS %s: %s" % (proto, tls_version, os.urandom(6).hex())
        ctx.write(os.path.join("www", name), body.encode())
        cases.append(("/" + name, body, proto, tls, http_version, tls_version))
    ps = ctx.start_plainsight(["tls", "-m", "pcapng", "-i", "lo", "-w", pcap, "-q", "tcp port %d" % port])
    ps.wait_attached()
    for path, body, proto, tls, http_version, _ in cases:
        r = ctx.run(["curl", "-sk", proto] + tls + ["-w", "\n%{http_version}", "https://127.0.0.1:%d%s" % (port, path)])
        want = (body + "\n" + http_version).encode()
        if r.returncode != 0 or r.stdout != want:
            raise TestFailure("curl %s %s %s: status %d, %r (want %r) %s" %
                              (proto, " ".join(tls), path, r.returncode, r.stdout, want,
                               r.stderr.decode("utf-8", "replace")))
    time.sleep(0.3)
    stderr = ps.stop()
    if srv.p.poll() is not None:
        raise TestFailure("nginx exited during the test:", *indent(tail(srv.stderr)))
    capinfos(ctx, pcap)
    check_loopback_once(ctx, pcap)
    counts = summary_counts(stderr)
    if counts["dropped"] or counts["unwritten"] or not counts["secrets"]:
        raise TestFailure("summary: %s" % counts)
    sep = ["-E", "separator=|", "-E", "aggregator=;"]
    hello = tshark(ctx, pcap, "-Y", "tls.handshake.type == 2", "-T", "fields", *sep, "-e", "tcp.stream",
                   "-e", "tls.handshake.version", "-e", "tls.handshake.extensions.supported_version")
    server_hello = {}
    for line in hello.splitlines():
        stream, version, supported = (line.split("|") + ["", ""])[:3]
        server_hello[stream] = "1.3" if "0x0304" in supported else "1.2" if version == "0x0303" else line
    h1 = [l.split("|") for l in tshark(ctx, pcap, "-Y", "http", "-T", "fields", *sep, "-e", "tcp.stream",
                                          "-e", "http.request.uri", "-e", "http.response.code",
                                          "-e", "http.file_data").splitlines()]
    h2 = [l.split("|") for l in tshark(ctx, pcap, "-Y", "http2", "-T", "fields", *sep, "-e", "tcp.stream",
                                          "-e", "http2.header.value", "-e", "http2.data.data").splitlines()]
    # nginx's worker rewrote its argv; the comment still names it nginx
    senders = tshark(ctx, pcap, "-T", "fields", "-E", "separator=|", "-e", "tcp.srcport", "-e", "frame.comment")
    for sport, comment in (l.split("|", 1) for l in senders.splitlines()):
        comm = "nginx" if int(sport) == port else "curl"
        if not comment.startswith("pid=") or " comm=%s " % comm not in comment:
            raise TestFailure("a packet from port %s says %r, not comm=%s" % (sport, comment, comm))
    for path, body, proto, tls, _, tls_version in cases:
        what = "curl %s %s %s" % (proto, " ".join(tls), path)
        if proto == "--http1.1":
            req = [r for r in h1 if r[1] == path]
            resp = [r for r in h1 if r[2] == "200" and is_bytes(r[3], body)]
            shown = h1
        else:
            req = [r for r in h2 if path in r[1].split(";")]
            resp = [r for r in h2 if any(is_bytes(d, body) for d in r[2].split(";"))]
            shown = h2
        if not req or not resp:
            raise TestFailure("%s: tshark (no key file) shows %s the request path and %s the response body; "
                              "it says:" % (what, "" if req else "not", "" if resp else "not"),
                              *indent(["|".join(r) for r in shown] or ["(nothing)"]))
        stream = stream_of(req + resp, what)
        if server_hello.get(stream) != tls_version:
            raise TestFailure("%s: connection %s negotiated TLS %s, not %s" %
                              (what, stream, server_hello.get(stream), tls_version))


# Holds a tun device open and sends each IPv4 packet back with source and
# destination (address and port) swapped: the checksums stay right, and the
# sender gets its datagram back through the tun.
TUN_REFLECTOR_PY = r"""
import fcntl, os, struct, sys
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454ca, 0x0001, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TUN | IFF_NO_PI))
print("open", flush=True)
while True:
    p = bytearray(os.read(fd, 65536))
    if p[0] >> 4 != 4 or p[9] != 17:
        continue
    hl = (p[0] & 15) * 4
    p[12:16], p[16:20] = p[16:20], p[12:16]
    p[hl:hl + 2], p[hl + 2:hl + 4] = p[hl + 2:hl + 4], p[hl:hl + 2]
    os.write(fd, bytes(p))
"""

UDP_CLIENT_PY = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
data, peer = s.recvfrom(65536)
sys.exit(0 if data == sys.argv[3].encode() else 1)
"""


def pcapng_linktypes(path):
    """The link type of each Interface Description Block, read from the file itself."""
    with open(path, "rb") as f:
        data = f.read()
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    types, off = [], 0
    while off + 12 <= len(data):
        block, length = struct.unpack_from(order + "II", data, off)
        if length < 12:
            raise TestFailure("%s: a block of length %d at offset %d" % (path, length, off))
        if block == 1:
            types.append(struct.unpack_from(order + "H", data, off + 8)[0])
        off += length
    return types


@test("pcapng_tun_raw_ip")
def pcapng_tun(ctx):
    """-i on a tun device in a network namespace: the interface's link type
    is LINKTYPE_RAW (101), and tshark reads the IP packets both ways."""
    need_tools()
    harness.require_program("ip")
    tag = "%d" % (os.getpid() % 100000)
    ns, tun = "pstn" + tag, "pstun" + tag
    local_ip, peer_ip = "10.214.%d.1" % (os.getpid() % 250), "10.214.%d.2" % (os.getpid() % 250)
    port = free_port()
    pcap = ctx.path("out.pcapng")
    payload = "through the tun %s" % os.urandom(4).hex()

    def ip(*args):
        run_ip(ctx, *args)

    ip("netns", "add", ns)
    try:
        ip("-n", ns, "tuntap", "add", "dev", tun, "mode", "tun")
        ip("-n", ns, "addr", "add", local_ip + "/24", "dev", tun)
        ip("-n", ns, "link", "set", tun, "up")
        refl = ctx.start(["ip", "netns", "exec", ns, PYTHON, ctx.write("tun.py", TUN_REFLECTOR_PY.encode()), tun],
                         "tun reflector", collect_stdout=True)
        wait_until(lambda: refl.stdout_bytes or refl.p.poll() is not None, 10, "the tun reflector to open " + tun)
        # plainsight runs in the namespace: the tun is an interface there only
        ps = ctx.start(["ip", "netns", "exec", ns, binary(), "tls", "-m", "pcapng", "-i", tun, "-w", pcap, "-q",
                        "udp port %d" % port], "plainsight", plain_env=True)
        ctx.plainsight = ps
        ps.wait_line("plainsight: attached", harness.ATTACH_TIMEOUT)
        cli = ctx.start(["ip", "netns", "exec", ns, PYTHON, ctx.write("udp.py", UDP_CLIENT_PY.encode()),
                         peer_ip, str(port), payload], "udp client")
        cli.check_ok(30)
        time.sleep(0.3)
        ps.p.send_signal(signal.SIGINT)
        ps.check_ok(harness.STOP_TIMEOUT)
        types = pcapng_linktypes(pcap)
        if types != [101]:
            raise TestFailure("the interface blocks have link types %s, not [101] (LINKTYPE_RAW)" % types)
        info = capinfos(ctx, pcap)
        if "Name = %s" % tun not in info or "Encapsulation = Raw IP" not in info:
            raise TestFailure("capinfos does not show interface %s with Raw IP:" % tun, *indent(info.splitlines()))
        out = tshark(ctx, pcap, "-T", "fields", "-E", "separator=|", "-e", "frame.protocols", "-e", "ip.src",
                     "-e", "ip.dst", "-e", "data.data")
        rows = [l.split("|") for l in out.splitlines() if l.strip()]
        want = [(local_ip, peer_ip), (peer_ip, local_ip)]
        got = [(r[1], r[2]) for r in rows if r[0].startswith("raw:ip:udp") and is_bytes(r[3], payload)]
        if got != want:
            raise TestFailure("want the datagram out and back %s; tshark reads:" % want, *indent(out.splitlines()))
    finally:
        ctx.run(["ip", "netns", "del", ns])
