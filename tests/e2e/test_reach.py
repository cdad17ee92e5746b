"""What the system-wide tls module cannot see (runtime/target/reach.c): real programs
whose TLS goes elsewhere (a Go client, gnutls-cli, Node.js with OpenSSL
linked in, curl on another copy of libssl) must each be named once, on stderr
and in the json output, and counted in the summary; curl on the attached
libssl must not be. Each program under test is a private copy (its own
inode), so that the same program run by someone else on this machine cannot
take its notice."""

import atexit
import os
import re
import shutil
import subprocess
import tempfile
import time

import harness
import test_versions
from harness import TestFailure, TestSkip, free_port, indent, listening, require_program, tail, wait_until
from tls_servers import make_cert

TESTS, test = harness.registry()

NOTICE_LINE = re.compile(r"^plainsight: not traced: (.*) \(pid (\d+)\): (.*)$")

# An HTTPS client on Go's crypto/tls: GET the URL (after a pause, when given) and print the body.
GO_CLIENT = r"""package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) > 2 {
		secs, _ := strconv.ParseFloat(os.Args[2], 64)
		time.Sleep(time.Duration(secs * float64(time.Second)))
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(os.Args[1])
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	io.Copy(os.Stdout, resp.Body)
}
"""


_go_client = {}


def build_go_client(ctx):
    """The Go client, built once per run with the machine's Go; each test runs a private copy of it."""
    if "path" not in _go_client:
        go = shutil.which("go")
        if not go:
            raise TestSkip("no Go toolchain (make deps installs golang-go)")
        work = tempfile.mkdtemp(prefix="plainsight-e2e-go-")
        atexit.register(shutil.rmtree, work, True)
        src = os.path.join(work, "src")
        os.mkdir(src)
        with open(os.path.join(src, "main.go"), "w") as f:
            f.write(GO_CLIENT)
        with open(os.path.join(src, "go.mod"), "w") as f:
            f.write("module goclient\n\ngo 1.19\n")
        exe = os.path.join(work, "goclient")
        env = dict(os.environ, HOME=work, GOCACHE=os.path.join(work, "cache"), GOPATH=os.path.join(work, "gopath"),
                   GOFLAGS="-mod=mod", CGO_ENABLED="0")
        r = subprocess.run([go, "build", "-o", exe, "."], cwd=src, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
        if r.returncode != 0:
            raise TestFailure("go build of the test client failed (%d):" % r.returncode,
                              *indent(tail(r.stderr.decode("utf-8", "replace"))))
        _go_client["path"] = exe
    return private_copy(ctx, _go_client["path"], "goclient")


def private_copy(ctx, path, name):
    """A copy of an executable with an inode of its own."""
    dst = ctx.path(name)
    shutil.copy2(path, dst)
    return dst


def defines_ssl_write(path):
    r = subprocess.run(["nm", "-D", "--defined-only", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return r.returncode == 0 and re.search(rb"\bSSL_write\b", r.stdout) is not None


def static_openssl_node():
    """Node.js with OpenSSL linked in: the one in PATH if it is so built, else the corpus's node 24."""
    node = shutil.which("node")
    if node and defines_ssl_write(os.path.realpath(node)):
        return os.path.realpath(node)
    return test_versions.corpus("node:24")["path"]


def start_s_server(ctx, cert, key):
    port = free_port()
    srv = ctx.start([require_program("openssl"), "s_server", "-accept", str(port), "-cert", cert, "-key", key,
                     "-www", "-quiet"], "openssl s_server")
    wait_until(lambda: listening(port), 20, "s_server listening on %d" % port)
    return srv, port


def run_ok(ctx, argv, what, env=None, input=None, timeout=60):
    r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       stdin=None if input is not None else subprocess.DEVNULL, timeout=timeout)
    if r.returncode != 0:
        raise TestFailure("%s exited with status %d: %s" % (what, r.returncode, " ".join(argv)),
                          *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return r


def gnutls_cli(port, exe):
    """gnutls-cli sends a request on stdin, prints the page."""
    return [exe, "--insecure", "-p", str(port), "127.0.0.1"]


def node_get(node, port):
    js = ('require("https").get("https://127.0.0.1:%d/", {rejectUnauthorized: false}, r => '
          '{ r.resume(); r.on("end", () => process.exit(0)); }).on("error", e => { console.error(e); '
          'process.exit(1); })' % port)
    return [node, "-e", js]


def notices(ps):
    """(stderr notices, json notices, summary): each notice as (exe, pid, reason)."""
    said = []
    for line in ps.stderr.splitlines():
        m = NOTICE_LINE.match(line)
        if m:
            said.append((m.group(1), int(m.group(2)), m.group(3)))
        elif line.startswith("plainsight: not traced"):
            raise TestFailure("a stderr line mentions 'not traced' but is no notice: %r" % line)
    records, summary, others = ps.json_output()
    logged = []
    for o in others:
        # a copy discovery attached to (or released) is no notice of what is out of reach (test_discover.py)
        if "notice" not in o or o.get("notice") in ("attached", "released"):
            continue
        if o.get("notice") != "unreachable" or not isinstance(o.get("pid"), int):
            raise TestFailure("malformed notice in the json output: %r" % (o,))
        for key in ("exe", "stack", "module", "reason"):
            if not isinstance(o.get(key), str):
                raise TestFailure("json notice without %r: %r" % (key, o))
        logged.append(o)
    if summary is None:
        raise TestFailure("no summary line at the end of the json output")
    as_said = sorted((o["exe"], o["pid"], o["reason"]) for o in logged)
    if as_said != sorted(said):
        raise TestFailure("the notices on stderr and in the json output differ",
                          "stderr:", *indent(["%s pid %d: %s" % n for n in sorted(said)]),
                          "json:", *indent(["%s pid %d: %s" % n for n in as_said]))
    programs = len({o["exe"] for o in logged})
    if summary.get("unreachable_programs") != programs:
        raise TestFailure("summary says unreachable_programs=%r, the output names %d programs"
                          % (summary.get("unreachable_programs"), programs), "summary: %r" % (summary,))
    return logged, records


def expect_one(logged, exe, stack, reason_parts, pids=None):
    """Exactly one notice names exe; it is about stack, its reason says each of reason_parts."""
    mine = [o for o in logged if o["exe"] == exe]
    if len(mine) != 1:
        raise TestFailure("%d notices for %s, want exactly one" % (len(mine), exe),
                          *indent(["%r" % (o,) for o in logged]))
    o = mine[0]
    problems = []
    if o["stack"] != stack:
        problems.append("stack %r, want %r" % (o["stack"], stack))
    for part in reason_parts:
        if part not in o["reason"]:
            problems.append("reason does not say %r" % part)
    if pids is not None and o["pid"] not in pids:
        problems.append("pid %r is none of the program's processes %s" % (o["pid"], sorted(pids)))
    if problems:
        raise TestFailure("notice for %s: %s" % (exe, "; ".join(problems)), "notice: %r" % (o,))
    return o


def expect_none_for_pid(logged, pid, what):
    bad = [o for o in logged if o["pid"] == pid]
    if bad:
        raise TestFailure("%s (pid %d) is traced, yet a notice names it:" % (what, pid), *indent(["%r" % (o,) for o in bad]))


def spawn(ctx, argv, name, **kw):
    """Runs argv to completion through the harness (its pid known); returns the Proc."""
    p = ctx.start(argv, name, **kw)
    p.check_ok(60)
    return p


@test("reach_programs_started_while_tracing")
def programs_started_while_tracing(ctx):
    cert, key = make_cert(ctx)
    go_client = build_go_client(ctx)
    gnutls = private_copy(ctx, require_program("gnutls-cli"), "gnutls-cli")
    node = private_copy(ctx, static_openssl_node(), "node")
    srv, port = start_s_server(ctx, cert, key)
    url = "https://127.0.0.1:%d/" % port
    ps = ctx.start_plainsight(["tls", "-m", "json"])
    ps.wait_attached()
    # two processes of each program: one notice per program
    go_pids = {spawn(ctx, [go_client, url], "go client").pid for _ in range(2)}
    gnutls_pids = set()
    for _ in range(2):
        p = ctx.start(gnutls_cli(port, gnutls), "gnutls-cli", stdin=subprocess.PIPE)
        p.p.stdin.write(b"GET / HTTP/1.0\r\n\r\n")
        p.p.stdin.close()
        p.check_ok(60)
        gnutls_pids.add(p.pid)
    node_pids = {spawn(ctx, node_get(node, port), "node").pid for _ in range(2)}
    curl = spawn(ctx, [require_program("curl"), "-sk", "-o", "/dev/null", url], "curl")
    time.sleep(1.0)  # past the wait before a new process's libraries are read
    ps.stop()
    logged, records = notices(ps)
    expect_one(logged, go_client, "Go crypto/tls", ["Go crypto/tls", "not probed by the tls module"], go_pids)
    expect_one(logged, gnutls, "GnuTLS", ["GnuTLS", "libgnutls.so", "not probed by the tls module"], gnutls_pids)
    # OpenSSL linked into node is no longer out of reach: discovery attaches to it (test_discover.py)
    if not re.search(r"^plainsight: attached tls to %s of pid (%s) \(" % (re.escape(node), "|".join(map(str, node_pids))),
                     ps.stderr, re.M):
        raise TestFailure("no 'attached tls to %s' line for node (OpenSSL linked in)" % node, *indent(tail(ps.stderr)))
    for pid in node_pids:
        expect_none_for_pid(logged, pid, "node, its OpenSSL attached")
    expect_none_for_pid(logged, curl.pid, "curl on the attached libssl")
    expect_none_for_pid(logged, srv.pid, "s_server on the attached libssl")
    if not harness.records_of(records, curl.pid):
        raise TestFailure("curl (pid %d) was not traced: no records" % curl.pid)


def programs_running_before_start(ctx, asan=False):
    cert, key = make_cert(ctx)
    go_client = build_go_client(ctx)
    gnutls = private_copy(ctx, require_program("gnutls-cli"), "gnutls-cli")
    srv, port = start_s_server(ctx, cert, key)
    url = "https://127.0.0.1:%d/" % port
    # both running before plainsight: the Go client pauses, gnutls-cli waits on its stdin
    go_proc = ctx.start([go_client, url, "30"], "go client")
    gnutls_proc = ctx.start(gnutls_cli(port, gnutls), "gnutls-cli", stdin=subprocess.PIPE)
    wait_until(lambda: any("libgnutls" in l for l in open("/proc/%d/maps" % gnutls_proc.pid)), 20,
               "gnutls-cli mapping libgnutls")
    ps = ctx.start_plainsight(["tls", "-m", "json"], asan=asan)
    ps.wait_attached()
    ps.wait_line("plainsight: not traced: " + gnutls, 20)
    ps.stop()
    logged, _ = notices(ps)
    expect_one(logged, go_client, "Go crypto/tls", ["not probed by the tls module"], {go_proc.pid})
    expect_one(logged, gnutls, "GnuTLS", ["libgnutls.so"], {gnutls_proc.pid})


def another_libssl(ctx, asan=False):
    """curl on a private copy of libssl.so.3 while plainsight holds another, named with --libssl (without
    it, discovery attaches to the copy: test_discover.py)."""
    cert, key = make_cert(ctx)
    curl_bin = private_copy(ctx, require_program("curl"), "curl")
    libdir = ctx.path("otherlib")
    os.mkdir(libdir)
    system = None
    for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"):
        if os.path.exists(os.path.join(d, "libssl.so.3")):
            system = os.path.realpath(os.path.join(d, "libssl.so.3"))
            break
    if not system:
        raise TestSkip("no libssl.so.3 to copy")
    other = os.path.join(libdir, "libssl.so.3")
    shutil.copy2(system, other)
    srv, port = start_s_server(ctx, cert, key)
    ps = ctx.start_plainsight(["tls", "-m", "json", "--libssl", harness.private_libssl() or system], asan=asan)
    ps.wait_attached()
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    p = ctx.start([curl_bin, "-sk", "-o", "/dev/null", "https://127.0.0.1:%d/" % port], "curl", env=env,
                  plain_env=True)
    p.check_ok(60)
    time.sleep(1.0)
    ps.stop()
    logged, records = notices(ps)
    attached = ps.attached_line.split(" to ", 1)[1].split(" (", 1)[0]
    expect_one(logged, curl_bin, "OpenSSL", ["OpenSSL from " + other, "not the " + attached,
                                             "--libssl " + other], {p.pid})
    if harness.records_of(records, p.pid):
        raise TestFailure("curl on %s has records, though plainsight is attached to %s" % (other, attached))


for _asan in (False, True):
    test("reach_%sprograms_running_before_start" % ("asan_" if _asan else ""))(
        lambda ctx, asan=_asan: programs_running_before_start(ctx, asan))
    test("reach_%sanother_libssl" % ("asan_" if _asan else ""))(lambda ctx, asan=_asan: another_libssl(ctx, asan))


@test("reach_quiet_with_pid_and_in_text_output")
def quiet_with_pid(ctx):
    """-p traces one process: nothing to say about others. Text output keeps notices on stderr only."""
    cert, key = make_cert(ctx)
    go_client = build_go_client(ctx)
    srv, port = start_s_server(ctx, cert, key)
    url = "https://127.0.0.1:%d/" % port
    ps = ctx.start_plainsight(["tls", "-p", str(srv.pid)])
    ps.wait_attached()
    spawn(ctx, [go_client, url], "go client")
    time.sleep(1.0)
    ps.stop()
    if "not traced" in ps.stderr:
        raise TestFailure("plainsight -p said something about other programs:", *indent(tail(ps.stderr)))
    ps = ctx.start_plainsight(["tls"], stdout_path=ctx.path("text.out"))
    ps.wait_attached()
    go = spawn(ctx, [go_client, url], "go client")
    ps.wait_line("plainsight: not traced: %s (pid %d)" % (go_client, go.pid), 20)
    ps.stop()
    if b"not traced" in ps.output() or b"unreachable" in ps.output():
        raise TestFailure("text output carries the notice; it belongs on stderr only")
    if "unreachable programs: 1 " not in ps.stderr and not re.search(r"unreachable programs: [1-9]", ps.stderr):
        raise TestFailure("the summary on stderr does not count the unreachable program:", *indent(tail(ps.stderr)))
