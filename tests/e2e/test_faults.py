"""Faults (issue 17): the traced process ends in the middle of a call (killed
inside an SSL_write the server never reads, and its pid given at once to the
next client; exited with an SSL_read waiting on another thread; exec after
sending), a Go Read left by a panic, the library file replaced on disk while
attached (a package upgrade: a new inode at the same path), output to a pipe
whose reader goes away, output to a disk that fills (text, json, key log,
and json with the ASan build), and the capabilities plainsight keeps once
attached.

Every workload runs on a private copy of libssl and libcrypto (its own inode,
through LD_LIBRARY_PATH) and plainsight is given that copy (--libssl) where
the test is not about discovery, so that the counters are this test's alone:
another run on this machine cannot add a call to them. The bytes of every
completed call are compared exactly, per connection and direction.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import harness
from harness import TestFailure, TestSkip, compare_bytes, check_record_sanity, indent, tail, wait_until
from test_tls import SANITIZER_RE, check_summary
from tls_servers import make_cert

TESTS, test = harness.registry()
KiB = 1024
MiB = 1024 * KiB
PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_peer.py")
PYTHON = "/usr/bin/python3"
WORK_TIMEOUT = 60
SYSTEM_LIBDIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")


def system_file(name):
    for d in SYSTEM_LIBDIRS:
        if os.path.exists(os.path.join(d, name)):
            return os.path.realpath(os.path.join(d, name))
    raise TestSkip("no %s in %s" % (name, ", ".join(SYSTEM_LIBDIRS)))


def private_libs(ctx):
    """libssl.so.3 and libcrypto.so.3 copied into ctx's lib/: (the environment loading them, the libssl copy)."""
    if not os.path.exists(PYTHON):
        raise TestSkip("no %s (Debian's python3)" % PYTHON)
    libdir = ctx.path("lib")
    os.mkdir(libdir)
    for name in ("libssl.so.3", "libcrypto.so.3"):
        shutil.copy2(system_file(name), os.path.join(libdir, name))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": ctx.tmp, "LD_LIBRARY_PATH": libdir,
           "OPENSSL_CONF": "/dev/null"}
    return env, os.path.join(libdir, "libssl.so.3")


def json_lines(proc):
    out = []
    for line in proc.stdout_bytes.split(b"\n"):
        if line.strip():
            out.append(json.loads(line))
    return out


def wait_json(proc, key, timeout=WORK_TIMEOUT, count=1):
    """The count-th json line of proc's stdout that has key."""
    def found():
        return [o for o in json_lines(proc) if key in o][count - 1:]
    try:
        wait_until(lambda: found() or proc.p.poll() is not None, timeout, "%s to print %r" % (proc.name, key))
    except TestFailure as e:
        e.lines += ["its stderr:"] + indent(tail(proc.stderr))
        raise
    if not found():
        proc.p.wait(WORK_TIMEOUT)
        proc.join_readers()  # it exited: what it printed may still be on its way to us
    if not found():
        raise TestFailure("%s exited (%s) before printing %r; its stderr:" % (proc.name, proc.p.poll(), key),
                          *indent(tail(proc.stderr)))
    return found()[0]


class Exchange:
    """A fault_peer.py server and client on loopback: the client sends client_bytes, the server answers
    server_bytes, then the client does `then`."""

    def __init__(self, ctx, env, cert, key, name, client_bytes, server_bytes):
        self.ctx, self.env, self.name = ctx, env, name
        self.client_data = os.urandom(client_bytes)
        self.server_data = os.urandom(server_bytes)
        self.client_file = ctx.write(name + ".client", self.client_data)
        server_file = ctx.write(name + ".server", self.server_data)
        self.server = ctx.start([PYTHON, PEER, "server", "--cert", cert, "--key", key, "--read", str(client_bytes),
                                 "--send", server_file, "--out", ctx.path(name + ".server-got")],
                                name + " server", stdin=subprocess.PIPE, collect_stdout=True, env=env,
                                plain_env=True)
        self.port = wait_json(self.server, "port")["port"]

    def client_argv(self, then="close", *rest):
        return [PYTHON, PEER, "client", "--port", str(self.port), "--send", self.client_file, "--recv",
                str(len(self.server_data)), "--out", self.ctx.path(self.name + ".client-got"), "--then", then] + \
            list(rest)

    def start_client(self, then="close", *rest):
        self.client = self.ctx.start(self.client_argv(then, *rest), self.name + " client", collect_stdout=True,
                                     env=self.env, plain_env=True)
        return self.client

    def wait_done(self, client=None, count=1):
        """The client's 'done' line: the exchange is complete at both ends. Returns the client's local port."""
        done = wait_json(client or self.client, "done", count=count)
        wait_json(self.server, "sent")
        if self.ctx.read(self.name + ".server-got") != self.client_data:
            raise TestFailure("%s: the server did not get the client's bytes" % self.name)
        return done["local"][1]

    def end_server(self):
        self.server.p.stdin.close()
        self.server.check_ok(WORK_TIMEOUT)

    def check(self, records, client_pid, client_port):
        """Both ends' records of this connection carry exactly what was sent, each direction."""
        def of(pid, direction):
            recs = [r for r in records if r["pid"] == pid and r["dir"] == direction and
                    client_port in (r.get("sport"), r.get("dport"))]
            check_record_sanity(recs, "%s pid %d %s" % (self.name, pid, direction))
            return b"".join(r["payload"] for r in recs)
        compare_bytes("%s client writes" % self.name, of(client_pid, "write"), self.client_data)
        compare_bytes("%s client reads" % self.name, of(client_pid, "read"), self.server_data)
        compare_bytes("%s server reads" % self.name, of(self.server.pid, "read"), self.client_data)
        compare_bytes("%s server writes" % self.name, of(self.server.pid, "write"), self.server_data)


def start_fixed(ctx, copy, mode="json"):
    ps = ctx.start_plainsight(["tls", "-m", mode, "--libssl", copy])
    ps.wait_attached()
    return ps


def fixed_setup(ctx):
    """A private libssl copy, a certificate, and plainsight attached to that copy alone:
    (env, copy, cert, key, plainsight)."""
    env, copy = private_libs(ctx)
    cert, key = make_cert(ctx)
    return env, copy, cert, key, start_fixed(ctx, copy)


def stop_and_read(ps):
    ps.stop()
    records, summary, others = ps.json_output()
    check_summary(records, summary, others)
    return records, summary, others


def check_interrupted(ps, summary, want):
    if summary.get("interrupted_calls") != want:
        raise TestFailure("the summary counts %r interrupted calls; want %d" % (summary.get("interrupted_calls"), want),
                          "summary: %r" % (summary,))
    line = "plainsight: %d calls interrupted: their thread ended inside them" % want
    if want and line not in ps.stderr:
        raise TestFailure("no %r line on stderr:" % line, *indent(tail(ps.stderr, 10)))


def finish_checked(ps, interrupted, *exchanges):
    """Stops plainsight; each (exchange, client pid, client port) is exact, and want interrupted calls."""
    records, summary, _ = stop_and_read(ps)
    for ex, pid, port in exchanges:
        ex.check(records, pid, port)
    check_interrupted(ps, summary, interrupted)


def in_syscall(pid, tid, numbers):
    try:
        with open("/proc/%d/task/%d/syscall" % (pid, tid)) as f:
            return f.read().split(" ", 1)[0] in numbers
    except OSError:
        return False


def still_running(ps, what):
    if ps.p.poll() is not None:
        raise TestFailure("plainsight exited (%s) after %s; its stderr:" % (ps.p.returncode, what),
                          *indent(tail(ps.stderr)))


# ---- 1. the traced process ends inside a call ----------------------------------------------------

# more than loopback's socket buffers can take (tcp_wmem's and tcp_rmem's maxima, 4 and 6 MiB here)
BIG_WRITE = 64 * MiB


def wait_blocked_in_write(pid, tid):
    """Until thread tid of pid has been in write (1) or sendto (44) for 0.3 s running."""
    def blocked():
        since = time.monotonic()
        while in_syscall(pid, tid, ("1", "44")):
            if time.monotonic() - since > 0.3:
                return True
            time.sleep(0.02)
        return False
    wait_until(blocked, WORK_TIMEOUT, "the client to block inside its %d MiB SSL_write" % (BIG_WRITE // MiB))


@test("faults_killed_inside_ssl_write")
def killed_inside_write(ctx):
    """A client whose 64 MiB SSL_write blocks (the server reads none of it) is killed with SIGKILL: what it
    completed before is captured byte for byte, nothing of the interrupted call appears, the call is counted
    once as interrupted, and a process traced afterwards is captured whole."""
    env, copy, cert, key, ps = fixed_setup(ctx)
    first = Exchange(ctx, env, cert, key, "first", 3000, 5000)
    client = first.start_client("big", str(BIG_WRITE))
    port = first.wait_done()
    wait_blocked_in_write(client.pid, wait_json(client, "big")["big"])
    os.kill(client.pid, signal.SIGKILL)
    client.p.wait(WORK_TIMEOUT)
    first.end_server()
    still_running(ps, "the traced client was killed")

    second = Exchange(ctx, env, cert, key, "second", 40 * KiB, 70 * KiB)
    later = second.start_client()
    later_port = second.wait_done()
    later.check_ok(WORK_TIMEOUT)
    second.end_server()
    finish_checked(ps, 1, (first, client.pid, port), (second, later.pid, later_port))


@test("faults_killed_inside_ssl_write_pid_reused")
def killed_pid_reused(ctx):
    """A client killed inside its blocked SSL_write, and at once (before plainsight's once-a-second sweep) a
    second client with the same pid, hence the same tid: the second's calls do not meet the first's state,
    both exchanges are exact, and the killed call is counted once as interrupted."""
    if os.geteuid() != 0:
        raise TestSkip("not root: cannot choose the next pid (/proc/sys/kernel/ns_last_pid)")
    env, copy, cert, key, ps = fixed_setup(ctx)
    first = Exchange(ctx, env, cert, key, "first", 3000, 5000)
    second = Exchange(ctx, env, cert, key, "second", 40 * KiB, 70 * KiB)
    clients = ctx.start([PYTHON, PEER, "reuse"] + first.client_argv("big", str(BIG_WRITE))[3:] + ["--"] +
                        second.client_argv()[3:], "clients", collect_stdout=True, env=env, plain_env=True)
    pid = wait_json(clients, "first")["first"]
    port = first.wait_done(clients)
    if wait_json(clients, "big")["big"] != pid:
        raise TestFailure("the first client's big write is not on its main thread: its tid is not its pid")
    wait_blocked_in_write(pid, pid)
    os.kill(pid, signal.SIGKILL)
    reused = wait_json(clients, "second")
    if reused["second"] != pid:
        raise TestSkip("another process took pid %d first (the machine is busy): try again" % pid)
    if reused["status"] != 0:
        raise TestFailure("the second client (pid %d) failed: wait status %d" % (pid, reused["status"]),
                          *indent(tail(clients.stderr)))
    second_port = second.wait_done(clients, count=2)
    clients.check_ok(WORK_TIMEOUT)
    first.end_server()
    second.end_server()
    finish_checked(ps, 1, (first, pid, port), (second, pid, second_port))


@test("faults_exit_with_ssl_read_waiting")
def exit_with_read_waiting(ctx):
    """A client exits while another of its threads waits inside SSL_read: its exchange before is exact, no
    read record appears for the waiting call, which is counted once as interrupted."""
    env, copy, cert, key, ps = fixed_setup(ctx)
    ex = Exchange(ctx, env, cert, key, "reader", 2000, 9000)
    client = ex.start_client("read")
    port = ex.wait_done()
    wait_json(client, "reading")
    client.check_ok(WORK_TIMEOUT)
    ex.end_server()
    finish_checked(ps, 1, (ex, client.pid, port))


@test("faults_exec_after_send")
def exec_after_send(ctx):
    """A client sends, reads the answer, then executes a second client (the same pid) that makes another
    connection: both connections' bytes are exact under the one pid, and no call is interrupted."""
    env, copy, cert, key, ps = fixed_setup(ctx)
    before = Exchange(ctx, env, cert, key, "before", 6000, 3000)
    after = Exchange(ctx, env, cert, key, "after", 20 * KiB, 10 * KiB)
    client = before.start_client("exec", *after.client_argv())
    port = before.wait_done()
    after_port = after.wait_done(client, count=2)
    client.check_ok(WORK_TIMEOUT)
    before.end_server()
    after.end_server()
    finish_checked(ps, 0, (before, client.pid, port), (after, client.pid, after_port))


@test("faults_exec_with_ssl_read_waiting")
def exec_with_read_waiting(ctx):
    """While a thread waits in SSL_read, the main thread executes a second client (the same pid): the kernel
    ends the waiting thread inside its call. Both connections are exact, and the call is counted once as
    interrupted while the process still runs (its thread is gone, not its process)."""
    env, copy, cert, key, ps = fixed_setup(ctx)
    before = Exchange(ctx, env, cert, key, "before", 4000, 8000)
    after = Exchange(ctx, env, cert, key, "after", 7000, 5000)
    client = ctx.start(before.client_argv("read-exec", *after.client_argv("hold")), "client", collect_stdout=True,
                       env=env, plain_env=True, stdin=subprocess.PIPE)
    port = before.wait_done(client)
    wait_json(client, "reading")
    after_port = after.wait_done(client, count=2)
    ps.stop()
    still = client.p.poll() is None
    client.p.stdin.close()
    client.check_ok(WORK_TIMEOUT)
    before.end_server()
    after.end_server()
    if not still:
        raise TestFailure("the client exited before plainsight stopped: the test proves nothing of a thread gone")
    records, summary, others = ps.json_output()
    check_summary(records, summary, others)
    before.check(records, client.pid, port)
    after.check(records, client.pid, after_port)
    check_interrupted(ps, summary, 1)


GO_PANICREAD = os.path.join(harness.repo_root(), "tests", "go", "panicread")


def build_panicread(ctx):
    """tests/go/panicread built with this machine's go (golang-go), into the test's directory; the build cache
    shared with test_gotls.py's in the corpus cache when it is there."""
    go = shutil.which("go")
    if not go:
        raise TestSkip("no go (apt-get install golang-go)")
    cache = "/var/cache/plainsight-corpus/gotls-build"
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod", GOTOOLCHAIN="local",
               GOCACHE=os.path.join(cache if os.path.isdir(cache) else ctx.tmp, "gocache-system"))
    binary = ctx.path("panicread")
    r = subprocess.run([go, "build", "-o", binary, "."], cwd=GO_PANICREAD, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    if r.returncode != 0:
        raise TestFailure("building tests/go/panicread failed:", *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return binary


@test("faults_go_read_left_by_panic")
def go_read_left_by_panic(ctx):
    """A goroutine's (*tls.Conn).Read is left by a panic (its connection's Read panics in the handshake), and
    the same goroutine then makes a second connection: its calls do not meet the first one's state, which is
    counted once as interrupted, and the second exchange is exact both ways."""
    binary = build_panicread(ctx)
    cert, key = make_cert(ctx)
    send, answer = os.urandom(3000), os.urandom(5000)
    ps = ctx.start_plainsight(["gotls", "-e", binary, "-m", "json"])
    ps.wait_attached()
    prog = ctx.start([binary, "-cert", cert, "-key", key, "-send", ctx.write("send", send), "-answer",
                      ctx.write("answer", answer)], "panicread", collect_stdout=True)
    prog.check_ok(WORK_TIMEOUT)
    out = prog.stdout_bytes.decode()
    m = re.search(r"^done (\d+)$", out, re.M)
    if "recovered" not in out.split() or not m:
        raise TestFailure("panicread did not recover from the panic and finish the second exchange:",
                          *indent(out.splitlines()))
    port = int(m.group(1))
    records, summary, _ = stop_and_read(ps)

    def stream(direction, end):
        recs = [r for r in records if r["pid"] == prog.pid and r["dir"] == direction and r.get(end) == port]
        check_record_sanity(recs, "panicread %s %s" % (direction, end), module="gotls")
        return b"".join(r["payload"] for r in recs)
    compare_bytes("the client's writes", stream("write", "sport"), send)
    compare_bytes("the client's reads", stream("read", "sport"), answer)
    compare_bytes("the server's reads", stream("read", "dport"), send)
    compare_bytes("the server's writes", stream("write", "dport"), answer)
    check_interrupted(ps, summary, 1)


# ---- 2. the library replaced on disk while attached --------------------------------------------

@test("faults_library_replaced")
def library_replaced(ctx):
    """The private libssl copy is replaced by write-new-and-rename (a package upgrade) while a process maps
    it: a process started afterwards maps the new inode and is attached to and captured by the default
    invocation, the old process goes on being captured, and once it exits the old copy is released."""
    if harness.private_libssl():
        raise TestSkip("E2E_PRIVATE_LIBSSL=1 makes every run name --libssl: discovery is what runs without it")
    env, copy = private_libs(ctx)
    cert, key = make_cert(ctx)
    ps = ctx.start_plainsight(["tls", "-m", "json"])
    ps.wait_attached()
    old = Exchange(ctx, env, cert, key, "old", 5000, 7000)
    ps.wait_line("plainsight: attached tls to %s of pid %d (" % (copy, old.server.pid), WORK_TIMEOUT)
    old_ino = os.stat(copy).st_ino
    new_file = copy + ".new"
    shutil.copy2(system_file("libssl.so.3"), new_file)
    os.rename(new_file, copy)
    if os.stat(copy).st_ino == old_ino:
        raise TestFailure("the replaced file kept its inode: the test proves nothing")
    new = Exchange(ctx, env, cert, key, "new", 9000, 4000)
    ps.wait_line("plainsight: attached tls to %s of pid %d (" % (copy, new.server.pid), WORK_TIMEOUT)
    # the old server (old inode) talks with a client on the new one, the new server too
    old_client = old.start_client()
    old_port = old.wait_done()
    old_client.check_ok(WORK_TIMEOUT)
    new_client = new.start_client()
    new_port = new.wait_done()
    new_client.check_ok(WORK_TIMEOUT)
    old.end_server()
    ps.wait_line("plainsight: released tls from %s: no process maps it any more (pid %d was the last)"
                 % (copy, old.server.pid), WORK_TIMEOUT)
    still_running(ps, "the old copy was released")
    new.end_server()
    ps.stop()
    records, summary, others = ps.json_output()
    old.check(records, old_client.pid, old_port)
    new.check(records, new_client.pid, new_port)
    attached = [o for o in others if o.get("notice") == "attached" and o.get("path") == copy]
    if sorted(o["pid"] for o in attached) != sorted((old.server.pid, new.server.pid)):
        raise TestFailure("want two json 'attached' records for %s, of pids %d and %d; got:" %
                          (copy, old.server.pid, new.server.pid), *indent([repr(o) for o in attached]))
    if not isinstance(summary.get("targets"), int) or summary["targets"] < 3:
        raise TestFailure("the summary counts %r targets; want at least 3 (the system's, the old and the new "
                          "copy)" % summary.get("targets"))


# ---- 3. output to a pipe whose reader goes away ------------------------------------------------

@test("faults_pipe_reader_gone")
def pipe_reader_gone(ctx):
    """plainsight tls | head -c 200: once head is gone, plainsight stops with one line saying so, its summary
    on stderr, and status 0 (README, Output); head got the first 200 bytes of text output."""
    env, copy = private_libs(ctx)
    cert, key = make_cert(ctx)
    ps = harness.Proc(ctx, [harness.binary(), "tls", "--raw", "--libssl", copy], "plainsight | head",
                      stdout=subprocess.PIPE, plain_env=True)
    ctx.plainsight = ps
    head = subprocess.Popen(["head", "-c", "200"], stdin=ps.p.stdout, stdout=subprocess.PIPE)
    ps.p.stdout.close()
    try:
        ps.wait_line("plainsight: attached", harness.ATTACH_TIMEOUT)
        # head leaves after its 200 bytes; plainsight finds out at its next write: exchanges until then
        for i in range(20):
            if ps.p.poll() is not None:
                break
            ex = Exchange(ctx, env, cert, key, "x%d" % i, 4 * KiB, 4 * KiB)
            ex.start_client().check_ok(WORK_TIMEOUT)
            ex.end_server()
            try:
                ps.p.wait(1)
            except subprocess.TimeoutExpired:
                pass
        rc = ps.wait(WORK_TIMEOUT)
        got = head.communicate(timeout=WORK_TIMEOUT)[0]
    finally:
        if head.poll() is None:
            head.kill()
    lines = [l for l in ps.stderr.splitlines() if l.strip()]
    if rc != 0:
        raise TestFailure("plainsight exited with status %d once its reader was gone; want 0:" % rc,
                          *indent(lines[-10:]))
    said = [l for l in lines if "went away" in l or "Broken pipe" in l or "cannot write" in l]
    if said != ["plainsight: the reader of stdout went away (broken pipe); stopping"]:
        raise TestFailure("want one line saying the reader went away; stderr:", *indent(lines[-10:]))
    if not any(l.startswith("plainsight: stopped: ") for l in lines):
        raise TestFailure("no summary ('plainsight: stopped: ...') on stderr:", *indent(lines[-10:]))
    if len(got) != 200 or not re.match(rb"\d{4}-\d\d-\d\dT\S+ tls tls_data ", got):
        raise TestFailure("head got %d bytes, not the first 200 of text output: %r" % (len(got), got[:80]))


def plainsight_to_unread_pipe(ctx, copy):
    """plainsight -m json on --libssl copy, its stdout a pipe nobody reads yet: (plainsight, the read end)."""
    rd, wr = os.pipe()
    ps = harness.Proc(ctx, [harness.binary(), "tls", "-m", "json", "--libssl", copy], "plainsight | (not read)",
                      stdout=wr, plain_env=True)
    os.close(wr)
    ctx.plainsight = ps
    ps.wait_line("plainsight: attached", harness.ATTACH_TIMEOUT)
    return ps, os.fdopen(rd, "rb")


def wait_stuck_writing(ps):
    """Until plainsight's reader thread (its main thread) has sat in write(2) for 0.3 s: the pipe is full."""
    def stuck():
        since = time.monotonic()
        while in_syscall(ps.pid, ps.pid, ("1", "20")):
            if time.monotonic() - since > 0.3:
                return True
            time.sleep(0.02)
        return False
    wait_until(stuck, WORK_TIMEOUT, "plainsight to block writing to a full pipe")


@test("faults_stopped_while_output_pipe_full")
def stopped_while_pipe_full(ctx):
    """Stop signals while plainsight waits in write(2) on a full stdout pipe (a slow reader): the write resumes,
    every record reaches the reader once it reads again, exact, with the summary and status 0. It failed the
    write with EINTR before ("cannot write to stdout: Interrupted system call", status 1)."""
    env, copy = private_libs(ctx)
    cert, key = make_cert(ctx)
    ps, out = plainsight_to_unread_pipe(ctx, copy)
    # 4 x 256 KiB each way is about 2.7 MB of json: far more than the pipe and plainsight's buffer hold
    done = []
    for i in range(4):
        ex = Exchange(ctx, env, cert, key, "x%d" % i, 256 * KiB, 256 * KiB)
        cli = ex.start_client()
        done.append((ex, cli.pid, ex.wait_done()))
        ex.end_server()
    # The write blocked when the pipe filled had moved bytes already: a signal ends it short, and the C
    # library writes the rest at once, into the full pipe. Only a signal during that second write, which has
    # moved nothing, meets EINTR; hence a SIGINT, then a SIGTERM (each signal's first: neither stops at once).
    wait_stuck_writing(ps)
    os.kill(ps.pid, signal.SIGINT)
    wait_stuck_writing(ps)
    os.kill(ps.pid, signal.SIGTERM)
    time.sleep(0.5)
    still_running(ps, "SIGINT and SIGTERM with its output pipe full (it must wait for the reader)")
    data = out.read()
    out.close()
    rc = ps.wait(WORK_TIMEOUT)
    if rc != 0:
        raise TestFailure("plainsight exited with status %d after SIGINT with a slow reader; want 0:" % rc,
                          *indent(tail(ps.stderr, 10)))
    records, summary, others = harness.parse_json_lines(data, ps.stderr)
    check_summary(records, summary, others)
    for ex, pid, port in done:
        ex.check(records, pid, port)


@test("faults_second_signal_stops_at_once")
def second_signal(ctx):
    """A reader that never reads again cannot hold plainsight: after the first SIGINT it waits for the reader,
    a second SIGINT ends it at once (README, Output)."""
    env, copy = private_libs(ctx)
    cert, key = make_cert(ctx)
    ps, out = plainsight_to_unread_pipe(ctx, copy)
    ex = Exchange(ctx, env, cert, key, "x", 1 * MiB, 1 * MiB)
    ex.start_client()
    ex.wait_done()
    ex.end_server()
    wait_stuck_writing(ps)
    os.kill(ps.pid, signal.SIGINT)
    time.sleep(0.5)
    still_running(ps, "the first SIGINT with its output pipe full")
    os.kill(ps.pid, signal.SIGINT)
    try:
        rc = ps.p.wait(5)
    except subprocess.TimeoutExpired:
        raise TestFailure("plainsight still runs 5 s after a second SIGINT, its output pipe full")
    finally:
        out.close()
    if rc != -signal.SIGINT:
        raise TestFailure("plainsight ended with status %r after a second SIGINT; want death by SIGINT" % rc,
                          *indent(tail(ps.stderr, 10)))


# ---- 4. output to a disk that fills ------------------------------------------------------------

class SmallDisk:
    """A tmpfs of size bytes mounted in ctx's directory; unmounted at the test's cleanup (it sits in
    ctx.procs, killed after everything started later, plainsight among them)."""

    def __init__(self, ctx, name, size):
        if os.geteuid() != 0:
            raise TestSkip("not root: cannot mount a tmpfs")
        self.path = ctx.path(name)
        os.mkdir(self.path)
        r = ctx.run(["mount", "-t", "tmpfs", "-o", "size=%d" % size, "tmpfs", self.path])
        if r.returncode != 0:
            raise TestSkip("cannot mount a tmpfs: %s" % r.stderr.decode(errors="replace").strip())
        ctx.procs.append(self)

    def kill(self):
        subprocess.run(["umount", "-l", self.path], stderr=subprocess.DEVNULL)


def complete_lines(data):
    """data up to its last newline: a record cut by the full disk may end it."""
    return data[:data.rfind(b"\n") + 1]


def records_written(mode, data):
    """(pid, dir, len, payload) of each complete record of text or json output."""
    if mode == "json":
        records, summary, _ = harness.parse_json_lines(complete_lines(data))
        if summary is not None:
            raise TestFailure("a json summary was written to the full disk: %r" % (summary,))
        return [(r["pid"], r["dir"], r["len"], r["payload"]) for r in records]
    out = []
    for r in harness.parse_text_records(complete_lines(data)):
        f = r["fields"]
        if f["event"] == "tls_data":
            out.append((f["pid"], f["dir"], f["len"], r["data"]))
    return out


ASAN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1", "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}


def disk_full_test(mode, asan=False):
    def run(ctx):
        """Output (-w) to a 1 MiB tmpfs, a 256 KiB exchange each way traced: plainsight says once that it cannot
        write (no space), stops with status 1, and its summary on stderr counts the records it wrote, which
        are all in the file, and those it could not; each complete record in the file carries exactly the
        next bytes of its side's stream (nothing written before is lost or corrupted)."""
        env, copy = private_libs(ctx)
        cert, key = make_cert(ctx)
        disk = SmallDisk(ctx, "disk", MiB)
        out = os.path.join(disk.path, "out." + mode)
        ps = ctx.start_plainsight(["tls", "-m", mode, "-w", out, "--libssl", copy], asan=asan,
                                  env=dict(os.environ, **ASAN_ENV) if asan else None)
        ps.wait_attached()
        # each way's calls are one record that fits on the disk; all of them do not
        ex = Exchange(ctx, env, cert, key, "full", 256 * KiB, 256 * KiB)
        client = ex.start_client()
        ex.wait_done()
        client.check_ok(WORK_TIMEOUT)
        ex.end_server()
        # the writer thread meets the full disk; the reader learns it at its next record, or at the end
        try:
            ps.p.wait(2)
        except subprocess.TimeoutExpired:
            ps.p.send_signal(signal.SIGINT)
        try:
            rc = ps.p.wait(WORK_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise TestFailure("plainsight still runs after its disk filled; its stderr:", *indent(tail(ps.stderr)))
        ps.join_readers()
        if SANITIZER_RE.search(ps.stderr):
            raise TestFailure("sanitizer report in plainsight's stderr:", *indent(tail(ps.stderr, 60)))
        lines = [l for l in ps.stderr.splitlines() if l.strip()]
        want = "plainsight: cannot write %s: No space left on device; stopping (what was written before stays)" % out
        said = [l for l in lines if "cannot write" in l or "No space" in l]
        if said != [want]:
            raise TestFailure("want the one line %r; stderr:" % want, *indent(lines[-10:]))
        if rc != 1:
            raise TestFailure("plainsight exited with status %d once its disk was full; want 1" % rc)
        with open(out, "rb") as f:
            data = f.read()
        written = records_written(mode, data)
        streams = {(client.pid, "write"): ex.client_data, (client.pid, "read"): ex.server_data,
                   (ex.server.pid, "read"): ex.client_data, (ex.server.pid, "write"): ex.server_data}
        at = dict.fromkeys(streams, 0)
        # text mode writes a record as it goes: the last one may be cut, and is counted as not written
        if written and len(written[-1][3]) < written[-1][2]:
            pid, direction, _, payload = written.pop()
            cut = [(pid, direction, len(payload), payload)]
        else:
            cut = []
        for pid, direction, length, payload in written + cut:
            if (pid, direction) not in streams:
                continue
            if len(payload) != length:
                raise TestFailure("a %s record of pid %d %s before the last says len=%d and carries %d bytes"
                                  % (mode, pid, direction, length, len(payload)))
            compare_bytes("pid %d %s at byte %d" % (pid, direction, at[(pid, direction)]), payload,
                          streams[(pid, direction)][at[(pid, direction)]:at[(pid, direction)] + length])
            at[(pid, direction)] += length
        if not any(at.values()):
            raise TestFailure("the full disk holds no record of the exchange: the test proves nothing")
        m = re.search(r"^plainsight: stopped: (\d+) records, (\d+) bytes captured", ps.stderr, re.M)
        lost = re.search(r"(\d+) bytes of records not written \((\d+) records\)", ps.stderr)
        if not m or not lost:
            raise TestFailure("no summary with the records written and not written on stderr:",
                              *indent(lines[-10:]))
        if int(m.group(1)) != len(written) or int(m.group(2)) != sum(w[2] for w in written):
            raise TestFailure("the summary counts %s records, %s bytes written; the file holds %d complete "
                              "records, %d bytes" % (m.group(1), m.group(2), len(written),
                                                     sum(w[2] for w in written)), *indent(lines[-10:]))
        if int(lost.group(2)) < 1:
            raise TestFailure("the summary counts no record not written:", *indent(lines[-10:]))
        print("    %d records (%d bytes) written, %s (%s bytes) not%s: %d bytes of output on a %d-byte disk"
              % (len(written), sum(w[2] for w in written), lost.group(2), lost.group(1),
                 ", the last cut at %d bytes" % cut[0][2] if cut else "", len(data), MiB))
    return run


for _mode in ("text", "json"):
    test("faults_disk_full_" + _mode)(disk_full_test(_mode))
test("faults_asan_disk_full_json")(disk_full_test("json", asan=True))


KEYLOG_LINE = re.compile(rb"^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+$")


@test("faults_disk_full_keylog")
def disk_full_keylog(ctx):
    """-m keylog -w to a 4 KiB tmpfs (a page: tmpfs's least), exchanges until it is full (a TLS 1.3
    connection's secrets take ~1 KiB): one line says it cannot write, status 1, every complete line in the
    file is a key log line, and the summary counts secrets records not written."""
    env, copy = private_libs(ctx)
    cert, key = make_cert(ctx)
    disk = SmallDisk(ctx, "disk", 4 * KiB)
    out = os.path.join(disk.path, "out.keylog")
    ps = ctx.start_plainsight(["tls", "-m", "keylog", "-w", out, "--libssl", copy])
    ps.wait_attached()
    for i in range(12):
        if ps.p.poll() is not None:
            break
        ex = Exchange(ctx, env, cert, key, "x%d" % i, 100, 100)
        ex.start_client().check_ok(WORK_TIMEOUT)
        ex.end_server()
    try:
        ps.p.wait(2)
    except subprocess.TimeoutExpired:
        ps.p.send_signal(signal.SIGINT)
    rc = ps.p.wait(WORK_TIMEOUT)
    ps.join_readers()
    lines = [l for l in ps.stderr.splitlines() if l.strip()]
    want = "plainsight: cannot write %s: No space left on device; stopping (what was written before stays)" % out
    said = [l for l in lines if "cannot write" in l or "No space" in l]
    if said != [want] or rc != 1:
        raise TestFailure("want the one line %r and status 1; status %d, stderr:" % (want, rc), *indent(lines[-10:]))
    with open(out, "rb") as f:
        data = f.read()
    complete = complete_lines(data).split(b"\n")[:-1]
    bad = [l for l in complete if not KEYLOG_LINE.match(l)]
    if bad or len(complete) < 5:
        raise TestFailure("%d complete lines in the full key log, %d of them not key log lines: %r"
                          % (len(complete), len(bad), bad[:3]))
    lost = re.search(r"bytes of records not written \((\d+) records\)", ps.stderr)
    if not lost or int(lost.group(1)) < 1:
        raise TestFailure("the summary counts no secrets record not written:", *indent(lines[-10:]))
    print("    %d key log lines (%d bytes) on a %d-byte disk; %s records not written"
          % (len(complete), len(data), 4 * KiB, lost.group(1)))


# ---- 5. capabilities kept once attached ---------------------------------------------------------

CAP = {"dac_read_search": 2, "net_admin": 12, "net_raw": 13, "sys_ptrace": 19, "sys_admin": 21, "sys_nice": 23,
       "perfmon": 38, "bpf": 39}


def caps_of(pid):
    """CapEff, CapPrm, CapBnd as sets of capability numbers, and NoNewPrivs."""
    with open("/proc/%d/status" % pid) as f:
        status = dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)
    sets = {k: {n for n in range(64) if int(status[k], 16) >> n & 1} for k in ("CapEff", "CapPrm", "CapBnd")}
    return sets, status.get("NoNewPrivs")


def names(caps):
    by_number = {v: k for k, v in CAP.items()}
    return sorted(by_number.get(n, str(n)) for n in caps)


def check_caps(ps, want, maybe=()):
    """After the attached line: the effective and permitted sets are want (plus, only together, the maybe
    ones: CAP_BPF where the kernel wants it for bpf(2) on maps made), the bounding set no larger, and
    no_new_privs set."""
    if os.geteuid() != 0:
        raise TestSkip("not root: the sets plainsight starts with are not all of them")
    sets, nnp = caps_of(ps.pid)
    want = {CAP[c] for c in want}
    maybe = {CAP[c] for c in maybe}
    for k in ("CapEff", "CapPrm"):
        if sets[k] != want and sets[k] != want | maybe:
            raise TestFailure("once attached, %s is %s; want %s%s" % (k, names(sets[k]), names(want),
                                                                       " (or with %s)" % names(maybe) if maybe else ""))
    if not sets["CapBnd"] <= want | maybe:
        raise TestFailure("once attached, the bounding set still holds %s" % names(sets["CapBnd"] - want - maybe))
    if nnp != "1":
        raise TestFailure("once attached, NoNewPrivs is %r; want 1" % nnp)
    # capabilities are per thread: the output's writer thread, started before, keeps none
    for tid in os.listdir("/proc/%d/task" % ps.pid):
        try:
            with open("/proc/%d/task/%s/status" % (ps.pid, tid)) as f:
                eff = int(re.search(r"^CapEff:\s*([0-9a-f]+)", f.read(), re.M).group(1), 16)
        except OSError:
            continue
        extra = {n for n in range(64) if eff >> n & 1} - want - maybe
        if extra:
            raise TestFailure("once attached, thread %s of plainsight still holds %s" % (tid, names(extra)))
    print("    kept: %s" % ", ".join(names(sets["CapEff"])))


@test("faults_caps_dropped_fixed_target")
def caps_fixed(ctx):
    """--libssl fixes the target: only what the reach watch and process names need stays (CAP_SYS_PTRACE,
    CAP_DAC_READ_SEARCH); -p: CAP_SYS_PTRACE only; -m pcapng -i lo: no CAP_NET_ADMIN or CAP_NET_RAW left.
    Capture works after each."""
    env, copy, cert, key, ps = fixed_setup(ctx)
    check_caps(ps, ["sys_ptrace", "dac_read_search"], ["bpf", "sys_admin"])
    ex = Exchange(ctx, env, cert, key, "fixed", 30 * KiB, 50 * KiB)
    client = ex.start_client()
    port = ex.wait_done()
    client.check_ok(WORK_TIMEOUT)
    ex.end_server()
    records, _, _ = stop_and_read(ps)
    ex.check(records, client.pid, port)

    ex = Exchange(ctx, env, cert, key, "pid", 3000, 4000)
    ps = ctx.start_plainsight(["tls", "-m", "json", "-p", str(ex.server.pid)])
    ps.wait_attached()
    check_caps(ps, ["sys_ptrace"], ["bpf", "sys_admin"])
    client = ex.start_client()
    port = ex.wait_done()
    client.check_ok(WORK_TIMEOUT)
    ps.stop()
    records, _, _ = ps.json_output()
    srv = [r for r in records if r["pid"] == ex.server.pid]
    compare_bytes("-p server reads", b"".join(r["payload"] for r in srv if r["dir"] == "read"), ex.client_data)
    compare_bytes("-p server writes", b"".join(r["payload"] for r in srv if r["dir"] == "write"), ex.server_data)
    ex.end_server()

    # packets: CAP_NET_ADMIN and CAP_NET_RAW go once the capture is open, and packets keep coming
    ex = Exchange(ctx, env, cert, key, "packets", 5000, 6000)
    pcap = ctx.path("out.pcapng")
    ps = ctx.start_plainsight(["tls", "-m", "pcapng", "-i", "lo", "-w", pcap, "-q", "--libssl", copy,
                               "tcp port %d" % ex.port])
    ps.wait_attached()
    check_caps(ps, ["sys_ptrace", "dac_read_search"], ["bpf", "sys_admin"])
    client = ex.start_client()
    ex.wait_done()
    client.check_ok(WORK_TIMEOUT)
    ex.end_server()
    ps.stop()
    m = re.search(r"pcapng: (\d+) packets \((\d+) bytes\) written", ps.stderr)
    # the handshake and 11000 bytes of application data, each way's records in segments of their own
    if not m or int(m.group(1)) < 6 or int(m.group(2)) < 11000:
        raise TestFailure("after the capabilities were dropped, too few packets written:", *indent(tail(ps.stderr, 5)))


@test("faults_caps_dropped_discovery")
def caps_discovery(ctx):
    """Discovery attaches as it runs: CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN (uprobes, on some kernels),
    CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH stay, nothing else (CAP_NET_ADMIN, CAP_SYS_NICE, ...); a process
    started afterwards on a copy of its own is attached to and captured byte for byte."""
    if harness.private_libssl():
        raise TestSkip("E2E_PRIVATE_LIBSSL=1 makes every run name --libssl: discovery is what runs without it")
    env, copy = private_libs(ctx)
    cert, key = make_cert(ctx)
    ps = ctx.start_plainsight(["tls", "-m", "json"])
    ps.wait_attached()
    check_caps(ps, ["bpf", "perfmon", "sys_admin", "sys_ptrace", "dac_read_search"])
    ex = Exchange(ctx, env, cert, key, "later", 12 * KiB, 20 * KiB)
    ps.wait_line("plainsight: attached tls to %s of pid %d (" % (copy, ex.server.pid), WORK_TIMEOUT)
    client = ex.start_client()
    port = ex.wait_done()
    client.check_ok(WORK_TIMEOUT)
    ex.end_server()
    ps.stop()
    records, _, _ = ps.json_output()
    ex.check(records, client.pid, port)
