"""--from wire: the same transfers traced twice at once, by a call-mode
plainsight (probes on SSL_read and SSL_write) and a wire-mode one (only the
secrets hooks; the packets of lo decrypted in plainsight), must give
byte-identical plaintext per process and direction, equal to what the
programs sent. Each cipher suite is forced in turn; KeyUpdate, resumption,
and what cannot be decrypted (counted, never written) are tested too."""

import base64
import importlib
import os
import re
import subprocess
import sys
import threading
import time

import harness
from harness import TestFailure, TestSkip, free_port, indent, listening, tail, wait_until
from tls_servers import PyClient, PyServer, make_cert, read_json_line

TESTS, test = harness.registry()
WORK_TIMEOUT = 60


def register_cases(case, variants):
    """One test per name of variants {name: args}: case(ctx, *args)."""
    for name, args in variants.items():
        test(name)(lambda ctx, args=args: case(ctx, *args))


# ---- the two captures --------------------------------------------------------

class BothModes:
    """A call-mode and a wire-mode plainsight of module, json, attached before the workload."""

    def __init__(self, ctx, port, extra=(), packet_filter=None, asan=False, module="tls"):
        self.ctx = ctx
        if asan and not os.path.exists(harness.binary(True)):
            raise TestFailure("ASan build not found: %s (make asan)" % harness.binary(True))
        self.calls = harness.Plainsight(ctx, [module, "-m", "json", "-q"] + list(extra),
                                        stdout_path=ctx.path("calls.jsonl"))
        self.wire = ctx.start_plainsight([module, "--from", "wire", "-i", "lo", "-m", "json", "-q"] + list(extra) +
                                         (packet_filter or ["tcp", "port", str(port)]),
                                         stdout_path=ctx.path("wire.jsonl"), asan=asan)
        calls_line = self.calls.wait_attached()
        wire_line = self.wire.wait_attached()
        check_attached(calls_line, wire_line)

    def stop(self):
        self.calls.stop()
        self.wire.stop()
        calls, _, _ = self.calls.json_output()
        wire, summary, _ = self.wire.json_output()
        if not summary or "wire" not in summary:
            raise TestFailure("wire mode's json summary has no wire counters: %r" % (summary,))
        return calls, wire, summary["wire"]


def tracer(ctx, module, extra=()):
    """For the other modules' exchange helpers: trace(pid, port) traces pid
    in both modes at once, the packets of port in wire mode."""
    return lambda pid, port: BothModes(ctx, port, ["-p", str(pid)] + list(extra), module=module)


def probe_count(line):
    m = re.search(r", (\d+) probes", line)
    if not m:
        raise TestFailure("no probe count in the attached line: %s" % line)
    return int(m.group(1))


WIRE_HOOKS = "secrets hooks only, none on reads and writes: "
# a read or a write of any module: SSL_read, ssl_write_internal, PR_Read, gnutls_record_recv_packet,
# mbedtls_ssl_write, (*Conn).Read; not crypto/tls.(*Config).writeKeyLog
DATA_HOOK = re.compile(r"(?i)(read|write|recv|send|recv_packet)(_ex|_internal)?$")


def check_attached(calls_line, wire_line):
    at = wire_line.find(WIRE_HOOKS)
    if at < 0:
        raise TestFailure("wire mode's attached line does not list the secrets hooks it attached:",
                          "    " + wire_line)
    hooks = wire_line[at + len(WIRE_HOOKS):].rstrip(")").split(", ")
    data = [h for h in hooks if DATA_HOOK.search(h)]
    if data or not hooks[0]:
        raise TestFailure("wire mode attached %s" % ("reads or writes: %s" % data if data else "no hook"),
                          "    " + wire_line)
    if probe_count(wire_line) >= probe_count(calls_line):
        raise TestFailure("wire mode attached %d probes, call mode %d: the reads and writes are probed too"
                          % (probe_count(wire_line), probe_count(calls_line)),
                          "    " + calls_line, "    " + wire_line)


def streams(records, pids, by_connection=False, module="tls"):
    """(pid, dir) -> the bytes of its records in order, for the pids given
    (each a record of module); by_connection: (pid, dir, sport, dport) -> the same."""
    out = {}
    for r in records:
        if r.get("pid") in pids:
            harness.check_record_sanity([r], "record of pid %d" % r["pid"], module)
            key = (r["pid"], r["dir"]) + ((r["sport"], r["dport"]) if by_connection else ())
            out.setdefault(key, bytearray()).extend(r["payload"])
    return {k: bytes(v) for k, v in out.items()}


def sent_stream(records, key):
    """key: (pid, dir), or (pid, dir, port): only the connection with that port at either end."""
    return b"".join(r["payload"] for r in records if (r.get("pid"), r.get("dir")) == key[:2] and
                    (len(key) == 2 or key[2] in (r.get("sport"), r.get("dport"))))


def check_counters(wire, what, want_undecryptable=None):
    bad = {k: v for k, v in wire["undecryptable"].items() if v}
    dropped = wire["packets_dropped"] + wire["packets_backlog_full"]
    if want_undecryptable is None and (bad or wire["gaps"] or dropped):
        raise TestFailure("%s: wire mode counted gaps %d, dropped packets %d, undecryptable records %r"
                          % (what, wire["gaps"], dropped, bad))
    if not wire["packets"] or not wire["connections"]:
        raise TestFailure("%s: wire mode read no packets: %r" % (what, wire))


def compare_modes(calls, wire, wire_counters, sent, what, module="tls"):
    """sent: {(pid, dir) or (pid, dir, port): bytes} the programs really
    passed. Each must be in both captures, identical; per connection, wire
    mode must show what call mode shows, no more."""
    pids = {key[0] for key in sent}
    got_calls, got_wire = streams(calls, pids, True, module), streams(wire, pids, True, module)
    check_counters(wire_counters, what)
    for key, want in sorted(sent.items()):
        for mode, records in (("call mode", calls), ("wire mode", wire)):
            harness.compare_bytes("%s: %s, pid %d %s%s" % (what, mode, key[0], key[1],
                                                           " port %d" % key[2] if len(key) > 2 else ""),
                                  sent_stream(records, key), want)
    extra = set(got_wire) - set(got_calls)
    if extra:
        raise TestFailure("%s: wire mode has streams call mode lacks: %s" % (what, sorted(extra)))
    for key in got_calls:
        harness.compare_bytes("%s: pid %d %s %d -> %d, wire mode against call mode" % ((what,) + key),
                              got_wire.get(key, b""), got_calls[key])


# ---- openssl s_server and s_client -------------------------------------------

class OpensslPair:
    """s_server fed on stdin, s_client fed on stdin, each one's stdout what it received."""

    def __init__(self, ctx, server_args=(), naccept=1, port=None, env=None):
        self.ctx = ctx
        self.env = env
        self.openssl = harness.require_program("openssl")
        self.cert, self.key = make_cert(ctx)
        self.port = port or free_port()
        self.server = ctx.start([self.openssl, "s_server", "-quiet", "-naccept", str(naccept),
                                 "-accept", "127.0.0.1:%d" % self.port, "-cert", self.cert, "-key", self.key] +
                                list(server_args), "openssl s_server", stdin=subprocess.PIPE, collect_stdout=True,
                                env=env)
        wait_until(lambda: listening(self.port) or self.server.p.poll() is not None, 20,
                   "s_server to listen on port %d" % self.port)
        if self.server.p.poll() is not None:
            raise TestFailure("s_server exited before listening:", *indent(tail(self.server.stderr)))
        self.server_got = 0

    def exchange(self, client_args, client_data, server_data, key_update=None, quiet=True):
        """One connection: client_data up, server_data down; key_update ("k" or
        "K", interactive client) between two halves of client_data. Returns
        the client's pid."""
        argv = [self.openssl, "s_client", "-connect", "127.0.0.1:%d" % self.port]
        # -nocommands: a read of stdin that starts with Q, R, k or K is no command then; -no_ign_eof
        # after -quiet (which sets -ign_eof): stdin's end closes the connection
        argv += ["-quiet", "-nocommands", "-no_ign_eof"] if quiet else ["-brief"]
        cli = self.ctx.start(argv + list(client_args), "openssl s_client", stdin=subprocess.PIPE,
                             collect_stdout=True, env=self.env)
        half = len(client_data) // 2 if key_update else len(client_data)
        self.feed(cli, client_data[:half])
        self.wait_server(half)
        if key_update:
            self.feed(cli, key_update.encode() + b"\n")
            cli.wait_line("KEYUPDATE", WORK_TIMEOUT)  # the rest of a read that holds the command is dropped
            self.feed(cli, client_data[half:])
            self.wait_server(len(client_data))
        self.feed(self.server, server_data)
        wait_until(lambda: received(cli, quiet) >= len(server_data) or cli.p.poll() is not None, WORK_TIMEOUT,
                   "s_client to receive %d bytes" % len(server_data))
        cli.p.stdin.close()
        cli.check_ok(WORK_TIMEOUT)
        self.check_received(cli, server_data, quiet)
        return cli.pid

    def feed(self, proc, data):
        proc.p.stdin.write(data)
        proc.p.stdin.flush()

    def wait_server(self, n):
        want = self.server_got + n
        wait_until(lambda: len(self.server.stdout_bytes) >= want or self.server.p.poll() is not None,
                   WORK_TIMEOUT, "s_server to receive %d bytes" % want)
        if len(self.server.stdout_bytes) < want:
            raise TestFailure("s_server got %d of %d bytes; its stderr:" % (len(self.server.stdout_bytes), want),
                              *indent(tail(self.server.stderr)))

    def check_received(self, cli, server_data, quiet):
        got = cli.stdout_bytes
        if quiet and got != server_data:
            harness.compare_bytes("what s_client received", got, server_data)

    def finish(self):
        self.server.check_ok(WORK_TIMEOUT)


def received(cli, quiet):
    return len(cli.stdout_bytes)


def hex_text(n):
    """n bytes of text lines none of which starts with an s_client command letter."""
    raw = os.urandom(n // 2 + 1).hex()[:n]
    return "\n".join(raw[i:i + 64] for i in range(0, len(raw), 64)).encode()[:n]


def openssl_case(ctx, server_args, client_args, up=20000, down=50000, what=""):
    pair = OpensslPair(ctx, server_args)
    both = BothModes(ctx, pair.port)
    up_data, down_data = os.urandom(up), os.urandom(down)
    cli = pair.exchange(client_args, up_data, down_data)
    pair.finish()
    calls, wire, counters = both.stop()
    srv = pair.server.pid
    compare_modes(calls, wire, counters, {(cli, "write"): up_data, (srv, "read"): up_data,
                                          (srv, "write"): down_data, (cli, "read"): down_data}, what)


# ---- python peers, 1 B to 4 MiB ------------------------------------------------

def python_case(ctx, up, down, asan=False):
    cert, key = make_cert(ctx)
    up_data, down_data = os.urandom(up), os.urandom(down)
    srv = PyServer(ctx, cert, key, up, down_data)
    both = BothModes(ctx, srv.port, asan=asan)
    cli = PyClient(ctx, srv.port, up_data, down)
    cli.finish()
    srv.finish()
    if cli.received() != down_data or srv.received() != up_data:
        raise TestFailure("the python peers did not get what was sent")
    calls, wire, counters = both.stop()
    compare_modes(calls, wire, counters, {(cli.pid, "write"): up_data, (srv.pid, "read"): up_data,
                                          (srv.pid, "write"): down_data, (cli.pid, "read"): down_data},
                  "python %d up, %d down" % (up, down))


register_cases(python_case, {"wire-python-1B": (1, 1), "wire-python-64KiB": (65537, 65535),
                             "wire-python-4MiB": (1 << 20, 4 << 20)})


@test("wire-asan-python-1MiB")
def t_python_asan(ctx):
    """The wire path under ASan+UBSan: a report or a leak makes plainsight exit non-zero."""
    python_case(ctx, 100000, 1 << 20, asan=True)


# ---- curl against s_server -----------------------------------------------------

def curl_case(ctx, tls_max):
    curl_bin = harness.require_program("curl")
    pair = OpensslPair(ctx)
    both = BothModes(ctx, pair.port)
    body = os.urandom(300000)
    resp_body = os.urandom(1 << 20)
    response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(resp_body) + resp_body
    body_path = ctx.write("body", body)
    out_path = ctx.path("curl.out")
    curl = ctx.start([curl_bin, "-sSk", "--http1.1", "-H", "Expect:", "--tls-max", tls_max,
                      "--max-time", str(WORK_TIMEOUT), "https://127.0.0.1:%d/" % pair.port,
                      "--data-binary", "@" + body_path, "-o", out_path], "curl")
    wait_until(lambda: len(pair.server.stdout_bytes) >= len(body) or curl.p.poll() is not None, WORK_TIMEOUT,
               "s_server to receive the request")
    pair.feed(pair.server, response)
    curl.check_ok(WORK_TIMEOUT)
    pair.finish()
    with open(out_path, "rb") as f:
        if f.read() != resp_body:
            raise TestFailure("curl did not receive the response body")
    request = pair.server.stdout_bytes
    calls, wire, counters = both.stop()
    srv = pair.server.pid
    compare_modes(calls, wire, counters, {(curl.pid, "write"): request, (srv, "read"): request,
                                          (srv, "write"): response, (curl.pid, "read"): response},
                  "curl TLS <= %s" % tls_max)


register_cases(curl_case, {"wire-curl-tls13": ("1.3",), "wire-curl-tls12": ("1.2",)})


# ---- every suite forced in turn -------------------------------------------------

TLS13_SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"]
# with the RSA certificate make_cert makes; CBC suites with encrypt-then-MAC (OpenSSL's default) and without
TLS12_SUITES = ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305",
                "AES128-CCM", "AES256-CCM8", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384",
                "DHE-RSA-AES256-SHA256"]


def tls13_suite_test(suite):
    def run(ctx):
        openssl_case(ctx, ["-ciphersuites", suite], ["-ciphersuites", suite], what="TLS 1.3 " + suite)
    return run


def tls12_suite_test(suite, etm=True):
    def run(ctx):
        client = ["-tls1_2", "-cipher", suite + ":@SECLEVEL=0"] + ([] if etm else ["-no_etm"])
        openssl_case(ctx, ["-cipher", suite + ":@SECLEVEL=0"], client,
                     what="TLS 1.2 %s%s" % (suite, "" if etm else " MAC-then-encrypt"))
    return run


for _suite in TLS13_SUITES:
    test("wire-suite-13-" + _suite)(tls13_suite_test(_suite))
for _suite in TLS12_SUITES:
    test("wire-suite-12-" + _suite)(tls12_suite_test(_suite))
    if "-SHA" in _suite and "GCM" not in _suite and "CHACHA" not in _suite:
        test("wire-suite-12-" + _suite + "-no-etm")(tls12_suite_test(_suite, etm=False))


@test("wire-hello-retry-request")
def t_hello_retry(ctx):
    """The client's key share is for a group the server does not take: a
    HelloRetryRequest, a second ClientHello, then the real ServerHello."""
    openssl_case(ctx, ["-groups", "X25519"], ["-groups", "P-256:X25519"], what="HelloRetryRequest")


@test("wire-discovered-copy")
def t_discovered_copy(ctx):
    """A private libssl copy (LD_LIBRARY_PATH) that discovery attaches once
    s_server maps it, after the start: its attached line names the hooks as
    the first one does (secrets hooks only, fewer probes than call mode's
    line for it), and its connections are decrypted with its secrets."""
    import test_faults
    if harness.private_libssl():
        raise TestSkip("E2E_PRIVATE_LIBSSL=1 makes every run name --libssl: discovery is what runs without it")
    env, copy = test_faults.private_libs(ctx)
    port = free_port()
    both = BothModes(ctx, port)
    pair = OpensslPair(ctx, port=port, env=env)
    prefix = "plainsight: attached tls to %s of pid %d (" % (copy, pair.server.pid)
    check_attached(both.calls.wait_line(prefix, WORK_TIMEOUT), both.wire.wait_line(prefix, WORK_TIMEOUT))
    up, down = os.urandom(30000), os.urandom(40000)
    cli = pair.exchange([], up, down)
    pair.finish()
    calls, wire, counters = both.stop()
    srv = pair.server.pid
    compare_modes(calls, wire, counters, {(cli, "write"): up, (srv, "read"): up, (srv, "write"): down,
                                          (cli, "read"): down}, "a discovered copy of libssl")


# ---- KeyUpdate and resumption --------------------------------------------------

def key_update_case(ctx, letter):
    pair = OpensslPair(ctx)
    both = BothModes(ctx, pair.port)
    up, down = hex_text(40000), os.urandom(30000)
    cli = pair.exchange([], up, down, key_update=letter, quiet=False)
    pair.finish()
    calls, wire, counters = both.stop()
    srv = pair.server.pid
    # the interactive client's stdout has its own lines: its reads are compared between the modes only
    sent = {(cli, "write"): up, (srv, "read"): up, (srv, "write"): down}
    compare_modes(calls, wire, counters, sent, "KeyUpdate '%s'" % letter)
    if streams(wire, {cli}).get((cli, "read")) != down:
        raise TestFailure("KeyUpdate '%s': wire mode's reads of s_client are not what s_server sent" % letter)


register_cases(key_update_case, {"wire-keyupdate": ("k",), "wire-keyupdate-requested": ("K",)})


def resumption_case(ctx, version_args):
    pair = OpensslPair(ctx, naccept=2)
    both = BothModes(ctx, pair.port)
    sess = ctx.path("session.pem")
    sent = {}
    srv = pair.server.pid
    for i, args in enumerate((["-sess_out", sess], ["-sess_in", sess])):
        up, down = os.urandom(5000 + i), os.urandom(7000 + i)
        cli = pair.exchange(version_args + args, up, down)
        pair.server_got += len(up)
        sent[(cli, "write")], sent[(cli, "read")] = up, down
        sent.setdefault((srv, "read"), b"")
        sent.setdefault((srv, "write"), b"")
        sent[(srv, "read")] += up
        sent[(srv, "write")] += down
    pair.finish()
    calls, wire, counters = both.stop()
    compare_modes(calls, wire, counters, sent, "resumed session %s" % " ".join(version_args))


register_cases(resumption_case, {"wire-resumption-tls13": ([],), "wire-resumption-tls12": (["-tls1_2"],)})


# ---- Node.js 24: its own OpenSSL, two connections at once ---------------------------

NODE_PAIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_pair.js")


@test("wire-node24-two-connections")
def t_node24(ctx):
    import test_versions
    node = test_versions.corpus("node:24")["path"]
    cert, key = make_cert(ctx)
    data, files = {}, []
    for x, (req, resp) in (("a", (5000, 300000)), ("b", (70000, 7000))):
        data[x] = (os.urandom(req), os.urandom(resp))
        files += [ctx.write("req_" + x, data[x][0]), ctx.write("resp_" + x, data[x][1])]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": ctx.tmp}
    srv = ctx.start([node, NODE_PAIR, "servers", cert, key] + files, "node servers", stdout=subprocess.PIPE,
                    env=env, plain_env=True)
    ports = read_json_line(srv, "ports")
    both = BothModes(ctx, 0, ["--libssl", node],
                     ["tcp", "port", str(ports["a"]), "or", "tcp", "port", str(ports["b"])])
    cli = ctx.start([node, NODE_PAIR, "client", str(ports["a"]), str(ports["b"])] + files, "node client",
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, plain_env=True)
    read_json_line(cli, "connections")
    time.sleep(1.0)  # named while it still runs: Node.js 24 renames its main thread
    cli.p.stdin.close()
    cli.check_ok(WORK_TIMEOUT)
    srv.check_ok(WORK_TIMEOUT)
    time.sleep(0.3)
    calls, wire, counters = both.stop()
    sent = {}
    for x in ("a", "b"):
        req, resp = data[x]
        port = ports[x]
        sent.update({(cli.pid, "write", port): req, (srv.pid, "read", port): req,
                     (srv.pid, "write", port): resp, (cli.pid, "read", port): resp})
    compare_modes(calls, wire, counters, sent, "Node.js 24")


# ---- tshark as a cross-check -----------------------------------------------------

def tshark_follow_tls(ctx, pcap, server_port):
    """tshark's decryption of the capture's one TLS connection: (client's bytes, server's bytes).
    Its raw follow output prints node 0's data flush left and node 1's after a tab."""
    r = ctx.run(["tshark", "-n", "-r", pcap, "-q", "-z", "follow,tls,raw,0"], timeout=120)
    if r.returncode != 0:
        raise TestFailure("tshark -z follow,tls,raw,0 failed (%d):" % r.returncode,
                          *indent(tail(r.stderr.decode("utf-8", "replace"))))
    sides = [bytearray(), bytearray()]
    body, node0_is_server = False, None
    for line in r.stdout.decode("ascii", "replace").splitlines():
        if line.startswith("Node 0:"):
            node0_is_server = line.rstrip().endswith(":%d" % server_port)
            continue
        if line.startswith("Node 1:"):
            body = True
            continue
        if not body or line.startswith("====") or not line.strip():
            continue
        sides[1 if line.startswith("\t") else 0].extend(bytes.fromhex(line.strip()))
    if node0_is_server is None:
        raise TestFailure("tshark's follow output names no nodes:", *indent(tail(r.stdout.decode("ascii", "replace"))))
    return (bytes(sides[1]), bytes(sides[0])) if node0_is_server else (bytes(sides[0]), bytes(sides[1]))


@test("wire-tshark-cross-check")
def t_tshark(ctx):
    """The same transfer in a pcapng file (packets and secrets, -m pcapng):
    tshark decrypts the bytes wire mode decrypted."""
    harness.require_program("tshark")
    cert, key = make_cert(ctx)
    up, down = os.urandom(30000), os.urandom(200000)
    srv = PyServer(ctx, cert, key, len(up), down)
    pcap = ctx.path("capture.pcapng")
    both = BothModes(ctx, srv.port)
    dump = harness.Plainsight(ctx, ["tls", "-m", "pcapng", "-q", "-i", "lo", "-w", pcap, "tcp", "port", str(srv.port)],
                              stdout_path=ctx.path("pcapng.out"))
    dump.wait_attached()
    cli = PyClient(ctx, srv.port, up, len(down))
    cli.finish()
    srv.finish()
    dump.stop()
    calls, wire, counters = both.stop()
    check_counters(counters, "tshark cross-check")
    got = streams(wire, {cli.pid})
    client_bytes, server_bytes = tshark_follow_tls(ctx, pcap, srv.port)
    harness.compare_bytes("tshark's client bytes against wire mode's", client_bytes, got.get((cli.pid, "write"), b""))
    harness.compare_bytes("tshark's server bytes against wire mode's", server_bytes, got.get((cli.pid, "read"), b""))
    harness.compare_bytes("tshark's client bytes against what was sent", client_bytes, up)


@test("wire-gnutls-module")
def t_gnutls_module(ctx):
    """Another module's secrets hooks: plainsight gnutls --from wire reads
    gnutls-cli's exchange with gnutls-serv --echo, each side's bytes as sent."""
    serv, cli_bin = harness.require_program("gnutls-serv"), harness.require_program("gnutls-cli")
    cert, key = make_cert(ctx)
    port = free_port()
    server = ctx.start([serv, "--echo", "-p", str(port), "--x509certfile", cert, "--x509keyfile", key],
                       "gnutls-serv", collect_stdout=True)
    wait_until(lambda: listening(port), 20, "gnutls-serv to listen")
    wire = ctx.start_plainsight(["gnutls", "--from", "wire", "-i", "lo", "-m", "json", "-q", "tcp", "port", str(port)],
                                stdout_path=ctx.path("wire.jsonl"))
    line = wire.wait_attached()
    if "secrets hooks only" not in line:
        raise TestFailure("the attached line does not say only the secrets hooks are attached:", "    " + line)
    msg = os.urandom(3000).hex().encode() + b"\n"
    cli = ctx.start([cli_bin, "--insecure", "-p", str(port), "127.0.0.1"], "gnutls-cli", stdin=subprocess.PIPE,
                    collect_stdout=True)
    cli.p.stdin.write(msg)
    cli.p.stdin.flush()
    wait_until(lambda: msg in cli.stdout_bytes or cli.p.poll() is not None, WORK_TIMEOUT, "the echo")
    cli.p.stdin.close()
    cli.wait(WORK_TIMEOUT)
    time.sleep(0.3)
    wire.stop()
    tls_records, summary, others = wire.json_output()
    check_counters(summary["wire"], "gnutls --from wire")
    got = {}
    for r in tls_records + others:
        if "payload_b64" in r and r.get("pid") in (cli.pid, server.pid):
            if r.get("module") != "gnutls":
                raise TestFailure("a record of module %r from plainsight gnutls" % r.get("module"))
            got.setdefault((r["pid"], r["dir"]), bytearray()).extend(base64.b64decode(r["payload_b64"]))
    for key in ((cli.pid, "write"), (server.pid, "read"), (server.pid, "write"), (cli.pid, "read")):
        harness.compare_bytes("gnutls --from wire, pid %d %s" % key, got.get(key, b""), msg)


# ---- every module that yields secrets, against its call mode ----------------------

def module_case(ctx, module, exchange, what, extra=()):
    """exchange(trace) runs one module's exchange (its test file's helper),
    the client traced by trace; returns (the client's pid, what it sent,
    what it received). Both modes must show exactly that, per direction."""
    both = None

    def trace(pid, port):
        nonlocal both
        both = tracer(ctx, module, extra)(pid, port)
        return both
    pid, up, down = exchange(trace)
    time.sleep(0.3)
    calls, wire, counters = both.stop()
    compare_modes(calls, wire, counters, {(pid, "write"): up, (pid, "read"): down}, what, module)


def register_module(name, module, exchange, extra=()):
    @test("wire-module-" + name)
    def run(ctx):
        module_case(ctx, module, lambda trace: exchange(ctx, trace), "%s --from wire (%s)" % (module, name), extra)


def peer_exchange(test_file, helper, arg, **kw):
    """exchange(ctx, trace) for module_case: test_file's helper(ctx, arg, up,
    down, trace=trace, **kw), 100 KiB up and 300 KiB down; the second thing
    it returns is the client (a pid, or its process)."""
    def run(ctx, trace):
        up, down = os.urandom(100 * 1024), os.urandom(300 * 1024)
        client = getattr(importlib.import_module(test_file), helper)(ctx, arg, up, down, trace=trace, **kw)[1]
        return getattr(client, "pid", client), up, down
    return run


for _maxv in ("1.2", "1.3"):
    _v = _maxv.replace(".", "")
    register_module("gnutls-tls" + _v, "gnutls", peer_exchange("test_gnutls", "cli_vs_s_server", _maxv))
    register_module("nss-tls" + _v, "nss", peer_exchange("test_nss", "tstclnt_exchange", _maxv))
    register_module("boringssl-tls" + _v, "tls", peer_exchange("test_boringssl", "bssl_client_exchange", _maxv),
                    ["--libssl", "/usr/lib/x86_64-linux-gnu/android/libssl.so.0"])
register_module("mbedtls", "mbedtls", peer_exchange("test_libs", "client_exchange", "mbedtls"))


def mbedtls3_case(ctx, maxv):
    """Mbed TLS 3.6 (corpus libmbedtls:trixie), whose TLS 1.3 secrets come
    from mbedtls_ssl_tls13_derive_*_secrets."""
    import test_libs
    exe, lib, _ = test_libs.build_mbedtls3_client(ctx)
    exchange = peer_exchange("test_libs", "client_exchange", "mbedtls", exe=exe,
                             env=dict(os.environ, MBEDTLS_PEER_MAX=maxv))
    module_case(ctx, "mbedtls", lambda trace: exchange(ctx, trace), "mbedtls 3.6 --from wire (TLS %s)" % maxv,
                ["--mbedtls", lib])


register_cases(mbedtls3_case, {"wire-module-mbedtls3-tls13": ("1.3",), "wire-module-mbedtls3-tls12": ("1.2",)})


def gotls_case(ctx, h1):
    """tests/go/https built with the newest Go of the corpus, server and client
    both traced (-e): both modes give the same bytes per process, connection
    and direction, at least the bodies' worth each way."""
    import test_gotls
    binary, _ = test_gotls.build(test_gotls.corpus_go(test_gotls.GO_LINES[-1]), "stripped")
    port = free_port()
    both = BothModes(ctx, port, ["-e", binary], module="gotls")
    cert = ctx.path("cert.pem")
    h1_flag = ["-h1"] if h1 else []
    server = ctx.start([binary, "server", "-cert", cert, "-keylog", ctx.path("srv.keylog"), "-port", str(port)] +
                       h1_flag, "https server")
    wait_until(lambda: listening(port), 10, "the Go server to listen on port %d" % port)
    sizes = [1, 100 * 1024, 1 << 20]
    client = ctx.start([binary, "client", "-cert", cert, "-keylog", ctx.path("cli.keylog"), "-port", str(port),
                        "-sizes", ",".join(str(n) for n in sizes)] + h1_flag, "https client", collect_stdout=True)
    client.check_ok(WORK_TIMEOUT)
    time.sleep(0.3)
    server.kill()
    calls, wire, counters = both.stop()
    check_counters(counters, "gotls")
    pids = {client.pid, server.pid}
    got_calls, got_wire = streams(calls, pids, True, "gotls"), streams(wire, pids, True, "gotls")
    if len(got_calls) != 4:
        raise TestFailure("call mode shows %d streams of one connection, not 4: %s" % (len(got_calls), sorted(got_calls)))
    for key, want in sorted(got_calls.items()):
        if len(want) < sum(sizes):
            raise TestFailure("gotls: call mode's pid %d %s %d -> %d holds %d bytes, less than the bodies (%d)"
                              % (key + (len(want), sum(sizes))))
        harness.compare_bytes("gotls --from wire: pid %d %s %d -> %d against call mode" % key,
                              got_wire.get(key, b""), want)
    if set(got_wire) != set(got_calls):
        raise TestFailure("gotls: wire mode's streams %s, call mode's %s" % (sorted(got_wire), sorted(got_calls)))


register_cases(gotls_case, {"wire-module-gotls-h2": (False,), "wire-module-gotls-h1": (True,)})


# ---- TLS 1.3 0-RTT ----------------------------------------------------------------

@test("wire-early-data")
def t_early_data(ctx):
    """s_client resumes a session with 0-RTT data (-sess_in -early_data) that
    s_server -early_data takes: wire mode decrypts the early records with
    CLIENT_EARLY_TRAFFIC_SECRET, then the rest, byte for byte on both sides.
    A third client sends 0-RTT data again with the same ticket: s_server's
    replay protection refuses it (it skips those records, RFC 8446 section
    4.2.10), so both modes show the client's write of it and no read."""
    openssl = harness.require_program("openssl")
    cert, key = make_cert(ctx)
    port = free_port()
    server = ctx.start([openssl, "s_server", "-quiet", "-early_data", "-naccept", "3", "-accept",
                        "127.0.0.1:%d" % port, "-cert", cert, "-key", key], "openssl s_server",
                       stdin=subprocess.PIPE, collect_stdout=True)
    wait_until(lambda: listening(port) or server.p.poll() is not None, 20, "s_server to listen on port %d" % port)
    both = BothModes(ctx, port)
    session = ctx.path("session.pem")
    base = [openssl, "s_client", "-connect", "127.0.0.1:%d" % port, "-quiet", "-nocommands", "-no_ign_eof"]
    server_want = b""

    def client(args, data, early=None, taken=True):
        nonlocal server_want
        what = "s_client (%s)" % ("ticket" if early is None else "0-RTT taken" if taken else "0-RTT refused")
        early_args = ["-early_data", ctx.write("early%d.txt" % len(server_want), early)] if early else []
        cli = ctx.start(base + args + early_args, what, stdin=subprocess.PIPE)
        cli.p.stdin.write(data)
        cli.p.stdin.flush()
        server_want += (early if early and taken else b"") + data
        wait_until(lambda: len(server.stdout_bytes) >= len(server_want) or cli.p.poll() is not None, WORK_TIMEOUT,
                   "s_server to get the bytes of %s" % what)
        cli.p.stdin.close()
        cli.check_ok(WORK_TIMEOUT)
        harness.compare_bytes("what s_server received, after %s" % what, server.stdout_bytes, server_want)
        return cli.pid

    first = hex_text(3000) + b"\n"
    cli1 = client(["-sess_out", session], first)
    if not os.path.getsize(session):
        raise TestFailure("s_client wrote no session ticket to %s" % session)
    early, after = hex_text(6000) + b"\n", hex_text(20000) + b"\n"
    cli2 = client(["-sess_in", session], after, early)
    refused, after3 = hex_text(5000) + b"\n", hex_text(7000) + b"\n"
    cli3 = client(["-sess_in", session], after3, refused, taken=False)
    server.p.stdin.close()
    server.check_ok(WORK_TIMEOUT)
    time.sleep(0.3)
    calls, wire, counters = both.stop()
    compare_modes(calls, wire, counters, {(cli1, "write"): first, (cli2, "write"): early + after,
                                          (cli3, "write"): refused + after3, (server.pid, "read"): server_want},
                  "0-RTT")


# ---- output slower than the packets: --lossless ---------------------------------

class SlowFifo:
    """A named pipe for plainsight's output, read slowly on a thread of its
    own (at most 64 KiB, a pipe's buffer, every 10 ms) until plainsight closes it."""

    def __init__(self, ctx):
        self.path = ctx.path("slow.fifo")
        os.mkfifo(self.path)
        self.chunks = []
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        with open(self.path, "rb") as f:
            for chunk in iter(lambda: f.read1(65536), b""):
                self.chunks.append(chunk)
                time.sleep(0.01)

    def data(self):
        self.thread.join(WORK_TIMEOUT)
        if self.thread.is_alive():
            raise TestFailure("plainsight's output did not end")
        return b"".join(self.chunks)


def slow_output_case(ctx, lossless):
    """16 MiB from a python server to a python client, both traced, with
    plainsight's json (45 MB for the transfer) read at most at 6.5 MB/s and a
    backlog of 8 MiB: without --lossless packets are dropped and counted (and
    their connection's gaps), never papered over; with it the peers are held
    back and every byte is there."""
    cert, key = make_cert(ctx)
    up, down = os.urandom(1000), os.urandom(16 << 20)
    srv = PyServer(ctx, cert, key, len(up), down)
    out = SlowFifo(ctx)
    wire = ctx.start_plainsight(["tls", "--from", "wire", "-i", "lo", "-m", "json", "-q", "--mapsize", "8192"] +
                                (["--lossless"] if lossless else []) + ["tcp", "port", str(srv.port)],
                                stdout_path=out.path)
    wire.wait_attached()
    start = time.time()
    cli = PyClient(ctx, srv.port, up, len(down))
    cli.finish()
    srv.finish()
    took = time.time() - start
    if cli.received() != down or srv.received() != up:
        raise TestFailure("the python peers did not get what was sent")
    wire.stop(timeout=WORK_TIMEOUT)
    records, summary, _ = harness.parse_json_lines(out.data(), wire.stderr)
    counters = summary["wire"]
    got = streams(records, {cli.pid, srv.pid})
    print("    (%s: transfer %.1f s, %d packets, %d dropped with the backlog full, %d by the kernel, %d gaps "
          "(%d bytes), held back %d times)" % ("--lossless" if lossless else "default", took, counters["packets"],
                                               counters["packets_backlog_full"], counters["packets_dropped"],
                                               counters["gaps"], counters["gap_bytes"], summary.get("held_back", 0)))
    if lossless:
        check_counters(counters, "--lossless, slow output")
        if not summary.get("held_back"):
            raise TestFailure("--lossless held no process back: the output was not slow enough to test it: %r"
                              % counters)
        for key, want in (((srv.pid, "write"), down), ((cli.pid, "read"), down), ((cli.pid, "write"), up),
                          ((srv.pid, "read"), up)):
            harness.compare_bytes("--lossless, slow output: pid %d %s" % key, got.get(key, b""), want)
        return
    lost = len(down) - len(got.get((cli.pid, "read"), b""))
    if not counters["packets_backlog_full"] or not counters["gaps"] or not lost:
        raise TestFailure("a 16 MiB transfer through an 8 MiB backlog read slowly lost nothing (%d bytes) or "
                          "did not count it: %r" % (lost, counters))
    # a record cut by a gap is lost whole: at most one on each side of each gap beyond the gap's own bytes
    if lost > counters["gap_bytes"] + counters["gaps"] * 2 * (16384 + 256):
        raise TestFailure("%d bytes missing from the client's reads, only %d counted as gaps: %r"
                          % (lost, counters["gap_bytes"], counters))
    for key in ((srv.pid, "write"), (cli.pid, "read")):
        if not down.startswith(got.get(key, b"")[:4096]):
            raise TestFailure("pid %d %s: what was written is not what was sent" % key)


register_cases(slow_output_case, {"wire-slow-output-counted": (False,), "wire-slow-output-lossless": (True,)})


# ---- what cannot be decrypted ---------------------------------------------------

@test("wire-no-secret-counted")
def t_no_secret(ctx):
    """GnuTLS on both ends: the tls module finds no secret; every record is
    counted by cause and none is written as plaintext."""
    serv, cli_bin = harness.require_program("gnutls-serv"), harness.require_program("gnutls-cli")
    cert, key = make_cert(ctx)
    port = free_port()
    server = ctx.start([serv, "--echo", "-p", str(port), "--x509certfile", cert, "--x509keyfile", key],
                       "gnutls-serv", collect_stdout=True)
    wait_until(lambda: listening(port), 20, "gnutls-serv to listen")
    wire = ctx.start_plainsight(["tls", "--from", "wire", "-i", "lo", "-m", "json", "-q", "tcp port %d" % port],
                                stdout_path=ctx.path("wire.jsonl"))
    wire.wait_attached()
    msg = os.urandom(3000).hex().encode() + b"\n"
    cli = ctx.start([cli_bin, "--insecure", "-p", str(port), "127.0.0.1"], "gnutls-cli", stdin=subprocess.PIPE,
                    collect_stdout=True)
    cli.p.stdin.write(msg)
    cli.p.stdin.flush()
    wait_until(lambda: msg in cli.stdout_bytes or cli.p.poll() is not None, WORK_TIMEOUT, "the echo")
    cli.p.stdin.close()
    cli.wait(WORK_TIMEOUT)
    server.kill()
    wire.stop()
    records, summary, _ = wire.json_output()
    counters = summary["wire"]
    if records:
        raise TestFailure("%d records written with no secret known" % len(records))
    check_counters(counters, "gnutls", want_undecryptable=True)
    if counters["undecryptable"]["no_secret"] < 2:
        raise TestFailure("the records of a connection with no secret are not counted as such: %r" % counters)


LATE_CLIENT_PY = r"""
import socket, ssl, sys
port, n_up, n_down = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
print("connected", flush=True)
sys.stdin.readline()
s.sendall(b"u" * n_up)
got = 0
while got < n_down:
    d = s.recv(65536)
    if not d:
        break
    got += len(d)
s.close()
print("got %d" % got, flush=True)
"""


@test("wire-joined-mid-connection-counted")
def t_joined(ctx):
    """A connection whose handshake came before wire mode started: its
    records are counted (no handshake seen), none is written."""
    cert, key = make_cert(ctx)
    up, down = 20000, 50000
    srv = PyServer(ctx, cert, key, up, os.urandom(down))
    script = ctx.write("late_client.py", LATE_CLIENT_PY.encode())
    cli = ctx.start([sys.executable or "python3", script, str(srv.port),
                     str(up), str(down)], "late python client", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if cli.p.stdout.readline().strip() != b"connected":
        raise TestFailure("the client did not connect; its stderr:", *indent(tail(cli.stderr)))
    wire = ctx.start_plainsight(["tls", "--from", "wire", "-i", "lo", "-m", "json", "-q", "tcp", "port",
                                 str(srv.port)], stdout_path=ctx.path("wire.jsonl"))
    wire.wait_attached()
    cli.p.stdin.write(b"go\n")
    cli.p.stdin.flush()
    cli.check_ok(WORK_TIMEOUT)
    srv.finish()
    wire.stop()
    records, summary, _ = wire.json_output()
    counters = summary["wire"]
    if records:
        raise TestFailure("%d records written for a connection whose handshake was not seen" % len(records))
    check_counters(counters, "joined mid-connection", want_undecryptable=True)
    if counters["undecryptable"]["no_handshake"] < 2:
        raise TestFailure("the records of a connection joined mid-way are not counted as such: %r" % counters)
