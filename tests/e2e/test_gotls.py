"""gotls: Go programs' TLS, from the gotls module (specs/gotls/gotls.spec).

tests/go/https (an HTTPS server and client of net/http; HTTP/2 unless -h1),
built with each Go toolchain Debian ships (tests/corpus/fetch.sh go:X.Y:
1.15 from bullseye, the stack ABI; 1.19 bookworm; 1.21 .. 1.23
bookworm-backports; 1.24 trixie; the register ABI) four ways: default,
-buildmode=pie, -ldflags='-s -w' and stripped, into the corpus cache (one
build per Go version, way and source, reused by every test and run).
plainsight traces the binary (-e, so server and client at once) while the
client posts bodies of 1 B, 100 KiB and 4 MiB and the server answers as
many bytes; tcpdump captures the loopback. gotls_goV_PROTO_WAY is one such
exchange, for each version, way and protocol (h2, h1: HTTP/1.1 forced).

What must hold, per process and direction:
- the plaintext plainsight shows is byte for byte the TLS stream tshark
  decrypts from the capture (each side wrote and read exactly that), each
  record naming the connection's socket (fd >= 0, one fd) and 4-tuple;
- the key log plainsight wrote (-k) is line for line the one the programs
  wrote themselves (Config.KeyLogWriter), and tshark decrypts the capture
  with it (that decryption is the reference above).
Also: the secrets in json (--secrets) and in a pcapng file (-m pcapng) that
tshark decrypts alone; 10,000 requests while plainsight attaches and
detaches ten times; -p PID alone finds the binary; a version no layout
covers (1.17, forced) and a program that is not Go are one error line and a
non-zero exit.

Discovery (gotls_discover_*): with neither -e nor -p, a Go program started
later, one already running and one in a mount namespace of its own are each
attached (one "attached gotls to FILE of pid N" line and json record),
captured as above and released once no process runs them, also by
plainsight as user nobody with capabilities only; a Go program
without crypto/tls (tests/go/notls), curl and /bin/true are left alone, and
an exec costs no noticeable CPU more.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import harness
from harness import TestFailure, TestSkip, indent, tail, wait_until, listening, free_port

TESTS, test = harness.registry()

SIZES = [1, 100 * 1024, 4 * 1024 * 1024]
SRC = os.path.join(harness.repo_root(), "tests", "go", "https")
VARIANTS = {
    "default": [],
    "pie": ["-buildmode=pie"],
    "sw": ["-ldflags=-s -w"],
    "stripped": [],          # the default build, then strip
}


def cache_dir():
    return os.environ.get("PLAINSIGHT_CACHE") or "/var/cache/plainsight-corpus"


def go_env(go):
    """The environment to run `go` with: a toolchain unpacked from a Debian
    package needs GOROOT beside its bin/."""
    env = dict(os.environ)
    env["GOROOT"] = os.path.dirname(os.path.dirname(os.path.realpath(go)))
    env["GOFLAGS"] = "-mod=mod"
    env["CGO_ENABLED"] = "0"
    env["GOTOOLCHAIN"] = "local"
    return env


def go_version(go):
    """"go1.19.8", from `go version` (`go env GOVERSION` came with 1.16)."""
    r = subprocess.run([go, "version"], env=go_env(go), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    m = re.search(r"\b(go1\.[0-9]+(\.[0-9]+)?)\b", r.stdout.decode())
    if r.returncode != 0 or not m:
        raise TestFailure("%s version failed:" % go, *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return m.group(1)


def build(go, variant, src=SRC):
    """tests/go/https (or src) built with go as variant; cached per Go version, variant and source."""
    with open(os.path.join(src, "main.go"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    version = go_version(go)
    name = os.path.basename(src)
    out_dir = os.path.join(cache_dir(), "gotls-build", version, "%s-%s%s" % (variant, "" if src == SRC else
                                                                             name + "-", digest))
    binary = os.path.join(out_dir, name)
    if os.path.exists(binary):
        return binary, version
    os.makedirs(out_dir, exist_ok=True)
    env = go_env(go)
    env["GOCACHE"] = os.path.join(cache_dir(), "gotls-build", version, "gocache")
    part = binary + ".part"
    r = subprocess.run([go, "build", "-o", part] + VARIANTS[variant] + ["."], cwd=src, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    if r.returncode != 0:
        raise TestFailure("building %s with %s (%s) failed:" % (os.path.relpath(src, harness.repo_root()), version,
                                                                variant),
                          *indent(tail(r.stderr.decode("utf-8", "replace"))))
    if variant == "stripped":
        subprocess.run(["strip", part], check=True)
    os.rename(part, binary)
    return binary, version


def need_tools():
    for tool in ("tshark", "tcpdump"):
        if not shutil.which(tool):
            raise TestSkip("%s is not installed (apt-get install tshark tcpdump)" % tool)


# ---- the reference: the capture decrypted ---------------------------------------

FOLLOW_NODE = re.compile(r"^Node 0: (\S+):(\d+)$")


def decrypted_streams(ctx, pcap, keylog, server_port):
    """(client -> server bytes, server -> client bytes) of TCP stream 0, as
    tshark decrypts it with keylog (None: the secrets in the pcapng file)."""
    keys = ["-o", "tls.keylog_file:" + keylog] if keylog else []
    r = ctx.run(["tshark", "-n", "-r", pcap] + keys + ["-q", "-z", "follow,tls,raw,0"], timeout=120)
    if r.returncode != 0:
        raise TestFailure("tshark failed (status %d):" % r.returncode, *indent(tail(r.stderr.decode("utf-8", "replace"))))
    node0_is_server = None
    unindented, indented = [], []
    for line in r.stdout.decode().splitlines():
        m = FOLLOW_NODE.match(line)
        if m:
            node0_is_server = int(m.group(2)) == server_port
            continue
        if not line.strip() or line.startswith(("=", "Follow:", "Filter:", "Node ")):
            continue
        (indented if line.startswith("\t") else unindented).append(bytes.fromhex(line.strip()))
    if node0_is_server is None:
        raise TestFailure("tshark's follow output names no node:", *indent(tail(r.stdout.decode())))
    node0, node1 = b"".join(unindented), b"".join(indented)
    return (node1, node0) if node0_is_server else (node0, node1)


# ---- one exchange ----------------------------------------------------------------

def records_of(records, pid, direction):
    return [r for r in records if r.get("pid") == pid and r.get("dir") == direction]


def check_stream(records, pid, direction, want, what, local_port, peer_port):
    recs = records_of(records, pid, direction)
    for r in recs:
        problems = []
        if r.get("module") != "gotls" or r.get("len") != len(r["payload"]):
            problems.append("module %r, len %r of %d bytes" % (r.get("module"), r.get("len"), len(r["payload"])))
        if r.get("lost_bytes") or r.get("incomplete"):
            problems.append("lost %r, incomplete %r" % (r.get("lost_bytes"), r.get("incomplete")))
        if not isinstance(r.get("fd"), int) or r["fd"] < 0:
            problems.append("fd %r" % r.get("fd"))
        got = (r.get("saddr"), r.get("sport"), r.get("daddr"), r.get("dport"))
        if got != ("127.0.0.1", local_port, "127.0.0.1", peer_port):
            problems.append("4-tuple %r, the connection is %r" % (got, ("127.0.0.1", local_port, "127.0.0.1", peer_port)))
        if problems:
            raise TestFailure("%s: bad record: %s" % (what, "; ".join(problems)))
    fds = sorted({r["fd"] for r in recs})
    if len(fds) > 1:
        raise TestFailure("%s: one connection, several fds %s" % (what, fds))
    harness.compare_bytes(what, b"".join(r["payload"] for r in recs), want)


def keylog_lines(path):
    with open(path) as f:
        return sorted(set(l.strip() for l in f if l.strip()))


def settle_file(path, quiet=1.0, limit=30):
    """Waits until path has not grown for `quiet` seconds (at most `limit`)."""
    last, since, start = -1, time.time(), time.time()
    while time.time() - start < limit:
        size = os.path.getsize(path)
        if size != last:
            last, since = size, time.time()
        elif time.time() - since >= quiet:
            return
        time.sleep(0.1)


def secrets_lines(others, pids):
    """The key log lines --secrets shows in json: "LABEL client_random secret"."""
    lines = set()
    for o in others:
        if o.get("event") != "tls_keylog" or o.get("pid") not in pids:
            continue
        for label, secret in o.items():
            if label not in ("client_random", "time_ns", "mono_ns", "pid", "tid", "uid", "comm", "thread",
                             "module", "event"):
                lines.add("%s %s %s" % (label.upper(), o.get("client_random"), secret))
    return sorted(lines)


def exchange(ctx, binary, h1=False, sizes=SIZES, secrets=False, discover=None, namespace=None):
    """discover: None, plainsight -e BINARY; "later", plainsight with neither -e nor -p, the server started
    after it; "running", the same with the server started before it. Discovery returns plainsight's
    "attached gotls to BINARY of pid N" line for the server, the others the first attached line.
    namespace (with discover): (the server's argv prefix, a function of the server's pid giving the
    client's, the file as they name it): both run binary under that name, in a mount namespace of theirs."""
    need_tools()
    port = free_port()
    cert, srv_kl, cli_kl, ps_kl = (ctx.path(n) for n in ("cert.pem", "server.keylog", "client.keylog", "ps.keylog"))
    pcap = ctx.path("lo.pcap")
    h1_flag = ["-h1"] if h1 else []
    seen = namespace[2] if namespace else binary
    server_argv = (namespace[0] if namespace else []) + [seen, "server", "-cert", cert, "-keylog", srv_kl, "-port",
                                                         str(port)] + h1_flag
    if discover == "running":
        server = ctx.start(server_argv, "https server")
        wait_until(lambda: listening(port), 10, "the Go server to listen on port %d" % port)
    # a 4 MiB body moves in a burst; on a busy machine the default ring buffer may overflow (counted, not a bug)
    ps = ctx.start_plainsight(["gotls"] + ([] if discover else ["-e", binary]) +
                              ["-m", "json", "-k", ps_kl, "--mapsize", "65536"] + (["--secrets"] if secrets else []))
    attached = ps.wait_attached()
    if discover == "running":
        attached = wait_attached_program(ps, seen, server.pid, time.monotonic(), "plainsight's first line")
    # --immediate-mode: each packet to tcpdump as it comes, not in blocks a timeout hands over (SIGINT loses those)
    cap = ctx.start(["tcpdump", "-i", "lo", "--immediate-mode", "-B", "65536", "-U", "-w", pcap, "tcp port %d" % port],
                    "tcpdump")
    wait_until(lambda: os.path.exists(pcap), 10, "tcpdump to open its file")
    time.sleep(0.5)
    if discover != "running":
        started = time.monotonic()
        server = ctx.start(server_argv, "https server")
    if discover == "later":
        # the client runs the same file: attached with the server, before the client's exec
        attached = wait_attached_program(ps, seen, server.pid, started, "its exec")
    wait_until(lambda: listening(port), 10, "the Go server to listen on port %d" % port)
    client = ctx.start((namespace[1](server.pid) if namespace else []) +
                       [seen, "client", "-cert", cert, "-keylog", cli_kl, "-port", str(port),
                        "-sizes", ",".join(str(s) for s in sizes)] + h1_flag, "https client", collect_stdout=True)
    client.check_ok(120)
    out = client.stdout_bytes.decode()
    proto = "HTTP/1.1" if h1 else "HTTP/2.0"
    if out.count(proto) != len(sizes):
        raise TestFailure("the client did not speak %s for every request:" % proto, *indent(out.splitlines()))
    time.sleep(0.5)
    server.kill()
    if discover:
        # no process runs it any more: its probes go
        ps.wait_line("plainsight: released gotls from %s: no process maps it any more" % seen, 10)
    # tcpdump stops reading at SIGINT: let it drain the kernel's buffer first
    settle_file(pcap)
    os.kill(cap.p.pid, 2)
    cap.p.wait(10)
    cap.join_readers()
    ps.stop()
    records, summary, others = ps.json_output()
    if discover:
        opened = check_discovery_records(others, seen, server.pid)
        # other Go programs on this machine may be attached too
        if not summary or not isinstance(summary.get("targets"), int) or summary["targets"] < 1 or \
                not re.search(r"^plainsight: targets: %d files probed over the run, [0-9]+ still at the end$"
                              % summary["targets"], ps.stderr, re.M):
            raise TestFailure("the summary counts %r targets; want at least 1, said on stderr"
                              % (summary or {}).get("targets"), *indent(tail(ps.stderr, 6)))
        if namespace and not opened.startswith("/proc/%d/root/" % server.pid):
            raise TestFailure("%s was opened as %r, not through /proc/%d/root" % (seen, opened, server.pid))

    # the keys: plainsight's key log (and its --secrets records) is the programs' own
    own, got = keylog_lines(srv_kl) + keylog_lines(cli_kl), keylog_lines(ps_kl)
    shown = secrets_lines(others, (server.pid, client.pid))
    if secrets and shown != sorted(set(own)):
        raise TestFailure("--secrets shows %d secrets in json, the programs logged %d; only in json:"
                          % (len(shown), len(set(own))), *indent(sorted(set(shown) - set(own))[:6]),
                          "only the programs':", *indent(sorted(set(own) - set(shown))[:6]))
    if not secrets and shown:
        raise TestFailure("json output holds %d secrets without --secrets" % len(shown))
    if sorted(set(own)) != got:
        raise TestFailure("plainsight's key log differs from the programs' own:",
                          "only the programs': %d lines" % len(set(own) - set(got)),
                          *indent(sorted(set(own) - set(got))[:6]),
                          "only plainsight's: %d lines" % len(set(got) - set(own)),
                          *indent(sorted(set(got) - set(own))[:6]))
    up, down = decrypted_streams(ctx, pcap, ps_kl, port)
    if len(up) < sum(sizes) or len(down) < sum(sizes):
        # the keys are the programs' own (above): what tshark could not decrypt, the capture misses (seen
        # twice in 48 exchanges, with no packet dropped by the kernel, while the machine was busy)
        raise CaptureIncomplete(
            "tshark decrypted %d bytes up and %d down with plainsight's keys, the programs' own, less than the "
            "bodies (%d)" % (len(up), len(down), sum(sizes)), "tcpdump:", *indent(tail(cap.stderr)))
    client_port = next((r["sport"] for r in records if r.get("pid") == client.pid), None)
    if client_port is None:
        raise TestFailure("no records of the client (pid %d); %d records from pids %s" % (
            client.pid, len(records), sorted({r.get("pid") for r in records})), *indent(tail(ps.stderr)))
    check_stream(records, client.pid, "write", up, "client writes", client_port, port)
    check_stream(records, server.pid, "read", up, "server reads", port, client_port)
    check_stream(records, server.pid, "write", down, "server writes", port, client_port)
    check_stream(records, client.pid, "read", down, "client reads", client_port, port)
    if summary and summary.get("lost_bytes"):
        raise TestFailure("plainsight lost bytes: %r" % summary)
    return attached


# From the exec (or, for a program already running, plainsight's first line) to the program's "attached" line.
# Measured on a 2-core VM: 15-40 ms for a Go program (its .gopclntab read, each RET of Read found, the
# loaded programs shared or an object of its own loaded).
DISCOVER_BOUND = 10.0


def wait_attached_program(ps, binary, pid, started, since="its exec"):
    """plainsight's "attached gotls to BINARY of pid PID (...)" line, within DISCOVER_BOUND of started."""
    line = ps.wait_line("plainsight: attached gotls to %s of pid %d (" % (binary, pid), DISCOVER_BOUND + 20)
    delay = time.monotonic() - started
    if delay > DISCOVER_BOUND:
        raise TestFailure("%s was attached %.2f s after its process started (bound %.0f s)"
                          % (binary, delay, DISCOVER_BOUND))
    print("    attached %s of pid %d %.0f ms after %s" % (os.path.basename(binary), pid, delay * 1000, since))
    return line


def check_discovery_records(others, binary, pid):
    """One json "attached" record for binary, naming pid, its version and layout, and one "released"."""
    attached = [o for o in others if o.get("notice") == "attached" and o.get("path") == binary]
    released = [o for o in others if o.get("notice") == "released" and o.get("path") == binary]
    if len(attached) != 1 or attached[0].get("pid") != pid or not attached[0].get("version") or \
            not str(attached[0].get("layout", "")).startswith("go1.") or not attached[0].get("probes"):
        raise TestFailure("want one json 'attached' record for %s of pid %d with version, layout and probes; got:"
                          % (binary, pid), *indent([json.dumps(o) for o in others if o.get("notice")]))
    if len(released) != 1:
        raise TestFailure("want one json 'released' record for %s; got %d" % (binary, len(released)))
    return attached[0].get("opened", "")


class CaptureIncomplete(TestFailure):
    """The capture does not decrypt in full with the programs' own keys (tcpdump
    lost packets on a busy machine): the reference is incomplete, not
    plainsight's output."""


def exchange_captured(ctx, binary, h1=False, secrets=False, attempts=3, discover=None, namespace=None):
    """exchange(), again in a fresh directory when the capture does not decrypt in full."""
    for attempt in range(attempts):
        sub = ctx if attempt == 0 else harness.Context("%s-retry%d" % (ctx.name, attempt))
        try:
            return exchange(sub, binary, h1=h1, secrets=secrets, discover=discover, namespace=namespace)
        except CaptureIncomplete as e:
            if attempt == attempts - 1:
                raise
            print("    (the capture does not decrypt in full; running the exchange again: %s)" % e.lines[0], flush=True)
        finally:
            if sub is not ctx:
                sub.cleanup()


# ---- Go releases from Debian's suites (tests/corpus/fetch.sh go:X.Y) -------------

GO_LINES = ("1.15", "1.19", "1.21", "1.22", "1.23", "1.24")


def corpus_go(line):
    import test_versions
    entry = test_versions.corpus("go:%s" % line)
    go = os.path.join(entry["path"], "usr", "lib", "go-%s" % line, "bin", "go")
    if not os.access(go, os.X_OK):
        raise TestFailure("corpus go:%s has no %s" % (line, go))
    return go


def check_attached(attached, version, line):
    want = "version %s, layout go%s)" % (version[2:], line)
    if want not in attached:
        raise TestFailure("the attached line does not say %s: %s" % (want, attached))


def register_exchange(line, variant, h1):
    name = "gotls_go%s_%s_%s" % (line, "h1" if h1 else "h2", variant)

    @test(name)
    def run(ctx):
        binary, version = build(corpus_go(line), variant)
        check_attached(exchange_captured(ctx, binary, h1=h1), version, line)


for _line in GO_LINES:
    for _variant in VARIANTS:
        register_exchange(_line, _variant, False)
        register_exchange(_line, _variant, True)


def register_outputs(line):
    @test("gotls_go%s_secrets_json" % line)
    def secrets_json(ctx):
        """--secrets: the secrets as json records beside the plaintext, the programs' own."""
        binary, version = build(corpus_go(line), "stripped")
        check_attached(exchange_captured(ctx, binary, secrets=True), version, line)

    @test("gotls_go%s_pcapng" % line)
    def pcapng(ctx):
        """-m pcapng: tshark decrypts the file alone (its secrets blocks) to
        what it decrypts with the programs' own keys once they are removed."""
        need_tools()
        binary, version = build(corpus_go(line), "stripped")
        port = free_port()
        cert, kl, pcap, bare = (ctx.path(n) for n in ("cert.pem", "programs.keylog", "out.pcapng", "bare.pcapng"))
        sizes = [1000, 100 * 1024]
        ps = ctx.start_plainsight(["gotls", "-e", binary, "-m", "pcapng", "-i", "lo", "-w", pcap,
                                   "tcp port %d" % port])
        check_attached(ps.wait_attached(), version, line)
        server = ctx.start([binary, "server", "-cert", cert, "-keylog", kl, "-port", str(port)], "https server")
        wait_until(lambda: listening(port), 10, "the Go server to listen on port %d" % port)
        ctx.start([binary, "client", "-cert", cert, "-keylog", kl, "-port", str(port),
                   "-sizes", ",".join(str(n) for n in sizes)], "https client").check_ok(60)
        server.kill()
        time.sleep(0.5)    # the writer holds packets 200 ms
        ps.stop()
        r = ctx.run(["editcap", "--discard-all-secrets", pcap, bare], timeout=60)
        if r.returncode != 0:
            raise TestFailure("editcap --discard-all-secrets failed:", *indent(tail(r.stderr.decode())))
        want = decrypted_streams(ctx, bare, kl, port)
        got = decrypted_streams(ctx, pcap, None, port)
        if min(len(want[0]), len(want[1])) < sum(sizes):
            raise TestFailure("the programs' keys decrypt %d bytes up and %d down, less than the bodies (%d)"
                              % (len(want[0]), len(want[1]), sum(sizes)))
        harness.compare_bytes("decrypted up, secrets from the pcapng", got[0], want[0])
        harness.compare_bytes("decrypted down, secrets from the pcapng", got[1], want[1])


register_outputs("1.15")
register_outputs("1.24")


def register_attach_detach(line, cycles=10, requests=10000):
    @test("gotls_go%s_attach_detach" % line)
    def attach_detach(ctx):
        """%d requests (4 goroutines, HTTP/2) while plainsight attaches and
        detaches %d times: the traced programs never crash and answer every
        request, and each attachment sees some of them.""" % (requests, cycles)
        binary, version = build(corpus_go(line), "default")
        port = free_port()
        cert, stop = ctx.path("cert.pem"), ctx.path("stop")
        server = ctx.start([binary, "server", "-cert", cert, "-keylog", ctx.path("s.kl"), "-port", str(port)],
                           "https server")
        wait_until(lambda: listening(port), 10, "the Go server to listen on port %d" % port)
        client = ctx.start([binary, "load", "-cert", cert, "-port", str(port), "-count", str(requests),
                            "-workers", "4", "-stop", stop], "https load", collect_stdout=True)
        for cycle in range(cycles):
            ps = ctx.start_plainsight(["gotls", "-e", binary, "-m", "json"],
                                      stdout_path=ctx.path("cycle%d.json" % cycle))
            check_attached(ps.wait_attached(), version, line)
            time.sleep(0.3)
            ps.stop()
            records, _, _ = ps.json_output()
            if not records_of(records, client.pid, "write"):
                raise TestFailure("attachment %d saw no write of the client (pid %d)" % (cycle + 1, client.pid),
                                  *indent(tail(ps.stderr)))
            for proc in (server, client):
                if proc.p.poll() is not None:
                    raise TestFailure("%s exited (status %s) at attachment %d:" % (proc.name, proc.p.returncode,
                                      cycle + 1), *indent(tail(proc.stderr)))
        open(stop, "w").close()
        client.check_ok(120)
        m = re.search(r"ok (\d+) requests", client.stdout_bytes.decode())
        if not m or int(m.group(1)) < requests:
            raise TestFailure("the client did not make %d requests:" % requests, *indent(tail(client.stdout_bytes.decode())))
        if server.p.poll() is not None:
            raise TestFailure("the server exited (status %s):" % server.p.returncode, *indent(tail(server.stderr)))


register_attach_detach("1.15")
register_attach_detach("1.24")


@test("gotls_go1.17_refused")
def uncovered_version_refused(ctx):
    """Go 1.17 (the register ABI's first release; Debian never shipped it):
    no layout covers it, and the stack ABI's (1.15 .. 1.16) is not taken as
    the nearest lower one. Forced on a 1.19 program: one error line naming the
    version, non-zero exit."""
    binary, _ = build(corpus_go("1.19"), "default")
    r = ctx.run([harness.binary(), "gotls", "-e", binary, "--go_version", "go1.17.13"], timeout=30)
    err = r.stderr.decode().strip().splitlines()
    if r.returncode == 0 or len(err) != 1 or "built with Go 1.17.13, which no layout" not in err[0]:
        raise TestFailure("gotls -e <a Go program> --go_version go1.17.13: status %d, stderr:" % r.returncode,
                          *indent(err))


@test("gotls_pid_alone")
def pid_alone(ctx):
    """-p PID with no -e (and the module by its alias, tlsgo): the server's
    binary from /proc/PID/exe; the server's side is seen."""
    need_tools()
    binary, _ = build(corpus_go("1.15"), "stripped")
    port = free_port()
    cert = ctx.path("cert.pem")
    server = ctx.start([binary, "server", "-cert", cert, "-keylog", ctx.path("s.kl"), "-port", str(port)],
                       "https server")
    wait_until(lambda: listening(port), 10, "the Go server to listen on port %d" % port)
    ps = ctx.start_plainsight(["tlsgo", "-p", str(server.pid), "-m", "json"])   # the alias
    line = ps.wait_attached()
    if "/proc/%d/root%s" % (server.pid, binary) not in line:
        raise TestFailure("-p %d attached elsewhere than /proc/PID/root + the binary: %s" % (server.pid, line))
    client = ctx.start([binary, "client", "-cert", cert, "-keylog", ctx.path("c.kl"), "-port", str(port),
                        "-sizes", "1000"], "https client", collect_stdout=True)
    client.check_ok(60)
    time.sleep(0.5)
    ps.stop()
    records, _, _ = ps.json_output()
    pids = {r["pid"] for r in records}
    if pids != {server.pid}:
        raise TestFailure("-p %d: records from pids %s" % (server.pid, sorted(pids)))
    body = b"".join(r["payload"] for r in records if r["dir"] == "read")
    if len(body) < 1000:
        raise TestFailure("-p %d: the server read %d bytes, less than the 1000-byte body" % (server.pid, len(body)))


def go_body(n, salt):
    """body(n, salt) of tests/go/https."""
    return bytes(ord("a") + (i * 7 + salt + i // 251) % 26 for i in range(n))


def register_not_tcp(line):
    @test("gotls_go%s_not_tcp_fd_minus_one" % line)
    def not_tcp(ctx):
        """TLS over a unix socket (a tls.Conn whose conn is no *net.TCPConn):
        the plaintext byte-exact, fd -1 and no 4-tuple, never garbage."""
        binary, _ = build(corpus_go(line), "default")
        ps = ctx.start_plainsight(["gotls", "-e", binary, "-m", "json"])
        ps.wait_attached()
        size = 70000
        prog = ctx.start([binary, "unix", "-cert", ctx.path("cert.pem"), "-dir", ctx.tmp, "-sizes", str(size)],
                         "https unix", collect_stdout=True)
        prog.check_ok(60)
        time.sleep(0.5)
        ps.stop()
        records, _, _ = ps.json_output()
        want = go_body(size, 3) * 2     # the client's write, then the server's echo
        for direction in ("write", "read"):
            recs = records_of(records, prog.pid, direction)
            bad = [(r.get("fd"), r.get("saddr"), r.get("sport")) for r in recs
                   if r.get("fd") != -1 or r.get("saddr") or r.get("sport")]
            if bad:
                raise TestFailure("%s records over a unix socket with fd or address: %r" % (direction, bad[:4]))
            harness.compare_bytes("%ss over a unix socket" % direction, b"".join(r["payload"] for r in recs), want)


for _line in ("1.15", "1.24"):
    register_not_tcp(_line)


@test("gotls_not_go")
def not_go(ctx):
    """A binary without a Go function table: one error line, non-zero exit."""
    r = ctx.run([harness.binary(), "gotls", "-e", "/bin/true"], timeout=30)
    err = r.stderr.decode().strip().splitlines()
    if r.returncode == 0 or len(err) != 1 or "is not a Go program" not in err[0]:
        raise TestFailure("gotls -e /bin/true: status %d, stderr:" % r.returncode, *indent(err))


# ---- discovery: neither -e nor -p, every Go program with crypto/tls -----------------------------

def private_copy(ctx, binary):
    """binary copied into ctx's directory: a file of its own (inode), which no other run maps."""
    copy = ctx.path(os.path.basename(binary))
    shutil.copy2(binary, copy)
    return copy


def register_discover(line, variant, when):
    @test("gotls_discover_%s_go%s_%s" % (when, line, variant))
    def discover(ctx):
        """plainsight gotls -m json with neither -e nor -p; the Go server started after it ("later") or
        before it ("running"), the client (the same file) after its "attached gotls to FILE of pid N" line:
        both directions of both byte for byte as the capture decrypts, the key log the programs' own, one
        json "attached" and one "released" record, released once both have exited."""
        binary, version = build(corpus_go(line), variant)
        check_attached(exchange_captured(ctx, private_copy(ctx, binary), discover=when), version, line)


register_discover("1.24", "default", "later")      # the programs loaded at start serve it (newest layout)
register_discover("1.15", "stripped", "later")     # the stack ABI: an object of its own
register_discover("1.21", "pie", "running")


@test("gotls_discover_mount_namespace")
def discover_mount_namespace(ctx):
    """The Go server and client run in `unshare -m` from a tmpfs that only their mount namespace has
    (the client joins it with nsenter): plainsight gotls with neither -e nor -p reaches the file through
    /proc/PID/root alone, and captures both byte for byte."""
    unshare, nsenter = shutil.which("unshare"), shutil.which("nsenter")
    if not unshare or not nsenter:
        raise TestSkip("no unshare or nsenter (util-linux)")
    binary, version = build(corpus_go("1.24"), "stripped")
    private = "/mnt/ps-go-%d" % os.getpid()
    inside = private + "/https"
    script = ("set -e; mkdir -p {p}; mount -t tmpfs ps-gotls {p}; cp {b} {inside}; exec \"$@\""
              ).format(p=private, b=binary, inside=inside)
    server_prefix = [unshare, "-m", "--propagation", "private", "sh", "-c", script, "sh"]
    # sh then https replace unshare in its process: the server's pid is the one started
    client_prefix = lambda server_pid: [nsenter, "-t", str(server_pid), "-m", "--"]
    try:
        attached = exchange_captured(ctx, binary, discover="later", namespace=(server_prefix, client_prefix, inside))
        if os.path.exists(inside):
            raise TestFailure("%s is visible outside the mount namespace: the test proves nothing" % inside)
        check_attached(attached, version, "1.24")
    finally:
        with open(os.devnull, "w") as null:
            subprocess.run(["rmdir", private], stderr=null)


@test("gotls_discover_unprivileged")
def discover_unprivileged(ctx):
    """plainsight gotls with neither -e nor -p as user nobody with CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and
    CAP_DAC_READ_SEARCH (plus the one this kernel asks for, as test_discover finds it): a Go server root
    starts later is attached, and its reads and writes (HTTP/1.1) hold the client's body and its answer."""
    import test_discover
    binary, version = build(corpus_go("1.24"), "default")
    binary = private_copy(ctx, binary)
    caps = list(test_discover.CAPS)
    args = ["gotls", "--raw", "-m", "json"]
    ps = test_discover.CapsPlainsight(ctx, caps, args)
    line = test_discover.attached_or_refused(ps)
    if line:
        caps.append(re.search(r"\bCAP_([A-Z_]+)\b", line).group(1).lower())
        ps = test_discover.CapsPlainsight(ctx, caps, args)
        if test_discover.attached_or_refused(ps):
            raise TestFailure("as nobody with %s, still refused:" % "+".join(caps), *indent(tail(ps.stderr)))
    port, cert = free_port(), ctx.path("cert.pem")
    started = time.monotonic()
    server = ctx.start([binary, "server", "-cert", cert, "-keylog", ctx.path("s.kl"), "-port", str(port), "-h1"],
                       "https server")
    check_attached(wait_attached_program(ps, binary, server.pid, started), version, "1.24")
    wait_until(lambda: listening(port), 10, "the Go server to listen on port %d" % port)
    ctx.start([binary, "client", "-cert", cert, "-keylog", ctx.path("c.kl"), "-port", str(port), "-sizes", "1000",
               "-h1"], "https client").check_ok(60)
    server.kill()
    time.sleep(0.5)
    ps.stop()
    records, _, _ = ps.json_output()
    for direction, want in (("read", go_body(1000, 1)), ("write", go_body(1000, 2))):
        got = b"".join(r["payload"] for r in records_of(records, server.pid, direction))
        if want not in got:
            raise TestFailure("as nobody: the server's %ss (%d bytes) do not hold the 1000-byte body" %
                              (direction, len(got)))
    print("    captured as nobody with %s" % "+".join(caps))


EXEC_TIMER = """
import os, resource, sys, time
n, argv = int(sys.argv[1]), sys.argv[2:]
runs = []
for _ in range(3):
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    for _ in range(n):
        os.waitpid(os.posix_spawn(argv[0], argv, {}), 0)
    t1, r1 = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    runs.append(((t1 - t0) / n, (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / n))
print(min(r[0] for r in runs), min(r[1] for r in runs))
"""


def exec_cost(ctx, argv, n):
    """(wall, CPU) milliseconds per run of argv, the least of three series of n runs one after another: the
    CPU time is the children's own, the exec tracepoint's and the loader uprobe's programs included."""
    r = ctx.run(["/usr/bin/python3", "-c", EXEC_TIMER, str(n)] + argv, timeout=300)
    if r.returncode != 0:
        raise TestFailure("timing %s failed:" % argv[0], *indent(tail(r.stderr.decode("utf-8", "replace"))))
    wall, cpu = (float(x) * 1000 for x in r.stdout.decode().split())
    return wall, cpu


# What plainsight adds to each exec, in the exec'ing process: 0.1-0.4 ms of CPU measured on a 2-core VM
# where /bin/true's exec takes 2.3-2.9 ms (the exec tracepoint's program and the dynamic loader's
# uprobe, 7-10 us each per run by bpftool's run_time_ns, the events' delivery, plainsight reading the
# process's maps as it starts), against noise of about 0.3 ms from other load. The bound catches work
# of another order (milliseconds) on the exec's path.
EXEC_COST_BOUND_MS = 1.5


def start_watching(ctx, name):
    """plainsight gotls with neither -e nor -p; its first line must say it watches."""
    ps = ctx.start_plainsight(["gotls", "-m", "json"], stdout_path=ctx.path(name))
    first = ps.wait_attached()
    if "watching every program" not in first:
        raise TestFailure("the first line does not say it watches: %r" % first)
    return ps


@test("gotls_discover_leaves_others_alone")
def discover_leaves_others_alone(ctx):
    """plainsight gotls with neither -e nor -p and no Go program running of its own: it says it watches
    (exit 0 on SIGINT, no error). Then curl (OpenSSL, GnuTLS), /bin/true and a Go program without
    crypto/tls run: none is attached (no "attached gotls to" line, no json record, nothing said of them).
    Each exec of /bin/true costs less than EXEC_COST_BOUND_MS more CPU than without plainsight: three
    rounds without and with it, one after the other (the load of the machine drifts), the least of each."""
    notls, _ = build(corpus_go("1.24"), "default", os.path.join(harness.repo_root(), "tests", "go", "notls"))
    notls = private_copy(ctx, notls)
    true = private_copy(ctx, "/bin/true")
    n = 100
    exec_cost(ctx, [true], 10)              # warm the page cache
    without, with_ps = [], []
    for round_ in range(3):
        without.append(exec_cost(ctx, [true], n))
        ps = start_watching(ctx, "round%d.json" % round_)
        with_ps.append(exec_cost(ctx, [true], n))
        if round_ < 2:
            ps.stop()
    ctx.run([notls, "0.3"], timeout=30)
    curl = shutil.which("curl")
    if curl:
        ctx.run([curl, "-s", "-m", "2", "https://127.0.0.1:%d/" % free_port()], timeout=30)
    time.sleep(1.0)
    ps.stop()
    _, summary, others = ps.json_output()
    mine = [l for l in ps.stderr.splitlines() if l.startswith("plainsight: attached gotls to ")
            and any(p in l for p in (notls, true, curl or "/usr/bin/curl"))]
    recs = [o for o in others if o.get("notice") == "attached" and o.get("path") in (notls, true, curl)]
    if mine or recs:
        raise TestFailure("attached to a program that is no Go program with crypto/tls:", *indent(mine),
                          *indent([json.dumps(o) for o in recs]))
    said = [l for l in ps.stderr.splitlines() if not l.startswith("plainsight: not traced")
            and any(p in l for p in (notls, true))]
    if said:
        raise TestFailure("plainsight said something of a program that is no Go program with crypto/tls:",
                          *indent(said))
    before = (min(w for w, _ in without), min(c for _, c in without))
    after = (min(w for w, _ in with_ps), min(c for _, c in with_ps))
    cost_ms = after[1] - before[1]
    print("    /bin/true per exec: %.2f ms wall, %.2f ms CPU without plainsight; %.2f ms, %.2f ms with (CPU %+.3f ms)"
          % (before + after + (cost_ms,)))
    if cost_ms > EXEC_COST_BOUND_MS:
        raise TestFailure("each exec took %.2f ms more CPU with plainsight gotls watching (bound %.1f ms); "
                          "CPU ms per exec without, with, by round: %s" % (cost_ms, EXEC_COST_BOUND_MS,
                          ["%.2f, %.2f" % (a[1], b[1]) for a, b in zip(without, with_ps)]))
