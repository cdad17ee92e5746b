"""Test harness: runs plainsight, waits for it to attach, stops it, parses
its json output, and compares captured bytes with what programs really sent.

Everything a test starts goes through a Context, whose cleanup (run even when
the test fails or times out) kills the processes it started and removes its
temporary directory.
"""

import atexit
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

ATTACH_TIMEOUT = 20.0
STOP_TIMEOUT = 30.0


class TestFailure(Exception):
    """A test failed; args are diagnostic lines."""

    def __init__(self, *lines):
        super().__init__(*lines)
        self.lines = [str(l) for l in lines]


class TestSkip(Exception):
    """A test cannot run here (missing program, ...); args[0] is the reason."""


class TestTimeout(Exception):
    pass


def out_dir():
    return os.environ.get("OUT", "build")


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def binary(asan=False):
    out = out_dir()
    if not os.path.isabs(out):
        out = os.path.join(repo_root(), out)
    return os.path.join(out, "asan", "plainsight") if asan else os.path.join(out, "plainsight")


def require_program(name):
    path = shutil.which(name)
    if not path:
        raise TestSkip("program %r not found in PATH" % name)
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """True when something listens on 127.0.0.1:port or *:port (IPv4 or IPv6),
    without connecting (a connection would use up an s_server -naccept 1)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if len(parts) > 3 and parts[3] == "0A":
                        if int(parts[1].rsplit(":", 1)[1], 16) == port:
                            return True
        except OSError:
            pass
    return False


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise TestFailure("timed out after %.0f s waiting for %s" % (timeout, what))


def tail(text, n=40):
    lines = text.splitlines()
    if len(lines) > n:
        lines = ["... (%d lines before)" % (len(lines) - n)] + lines[-n:]
    return lines


def indent(lines, prefix="    | "):
    return [prefix + l for l in lines]


_private_dir = None


def private_libssl():
    """With E2E_PRIVATE_LIBSSL=1, a copy of the system's libssl.so.3 (a new
    inode) that the workloads load through LD_LIBRARY_PATH and plainsight
    traces through --libssl: isolates the tests from other tracers' uprobes
    on the system library. Returns the copy's path, or None (the default:
    the real library, found the way plainsight finds it)."""
    global _private_dir
    if os.environ.get("E2E_PRIVATE_LIBSSL") != "1":
        return None
    if _private_dir is None:
        src = None
        for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"):
            if os.path.exists(os.path.join(d, "libssl.so.3")):
                src = os.path.realpath(os.path.join(d, "libssl.so.3"))
                break
        if src is None:
            raise TestSkip("E2E_PRIVATE_LIBSSL=1 but no libssl.so.3 found")
        _private_dir = tempfile.mkdtemp(prefix="plainsight-e2e-libssl-")
        shutil.copy2(src, os.path.join(_private_dir, "libssl.so.3"))
        atexit.register(shutil.rmtree, _private_dir, True)
    return os.path.join(_private_dir, "libssl.so.3")


def workload_env(env=None):
    env = dict(os.environ if env is None else env)
    lib = private_libssl()
    if lib:
        env["LD_LIBRARY_PATH"] = os.path.dirname(lib) + (
            ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


class Proc:
    """A child process in its own session, with its stderr collected."""

    def __init__(self, ctx, argv, name, stdin=subprocess.DEVNULL, stdout=None, env=None,
                 collect_stdout=False, plain_env=False):
        self.ctx = ctx
        self.argv = argv
        self.name = name
        self.err_chunks = []
        self.out_chunks = []
        self.lines_cv = threading.Condition()
        self.err_lines = []
        if stdout is None:
            stdout = subprocess.PIPE if collect_stdout else subprocess.DEVNULL
        if not plain_env:
            env = workload_env(env)
        self.p = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                  env=env, start_new_session=True)
        ctx.procs.append(self)
        self.pid = self.p.pid
        self._threads = []
        t = threading.Thread(target=self._read_err, daemon=True)
        t.start()
        self._threads.append(t)
        if collect_stdout:
            t = threading.Thread(target=self._read_out, daemon=True)
            t.start()
            self._threads.append(t)

    def _read_err(self):
        buf = b""
        for chunk in iter(lambda: self.p.stderr.read1(65536), b""):
            self.err_chunks.append(chunk)
            buf += chunk
            with self.lines_cv:
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self.err_lines.append(line.decode("utf-8", "replace"))
                self.lines_cv.notify_all()
        with self.lines_cv:
            if buf:
                self.err_lines.append(buf.decode("utf-8", "replace"))
            self.err_lines.append(None)  # EOF marker
            self.lines_cv.notify_all()

    def _read_out(self):
        for chunk in iter(lambda: self.p.stdout.read1(65536), b""):
            self.out_chunks.append(chunk)

    @property
    def stderr(self):
        return b"".join(self.err_chunks).decode("utf-8", "replace")

    @property
    def stdout_bytes(self):
        return b"".join(self.out_chunks)

    def wait_line(self, prefix, timeout):
        """Waits for a stderr line starting with prefix; returns it."""
        deadline = time.monotonic() + timeout
        i = 0
        with self.lines_cv:
            while True:
                while i < len(self.err_lines):
                    line = self.err_lines[i]
                    i += 1
                    if line is None:
                        raise TestFailure(
                            "%s exited (status %s) before printing %r; its stderr:" %
                            (self.name, self.p.wait(5), prefix), *indent(tail(self.stderr)))
                    if line.startswith(prefix):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure("%s printed no line starting %r within %.0f s; its stderr:"
                                      % (self.name, prefix, timeout), *indent(tail(self.stderr)))
                self.lines_cv.wait(min(left, 0.5))

    def wait(self, timeout):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s did not finish within %.0f s: %s" % (self.name, timeout,
                                                                       " ".join(self.argv)),
                              "its stderr:", *indent(tail(self.stderr)))
        self.join_readers()
        return rc

    def join_readers(self):
        for t in self._threads:
            t.join(5)

    def check_ok(self, timeout):
        rc = self.wait(timeout)
        if rc != 0:
            raise TestFailure("%s exited with status %d: %s" % (self.name, rc, " ".join(self.argv)),
                              "its stderr:", *indent(tail(self.stderr)))
        return rc

    def wait_or_kill(self, timeout):
        """Lets it end by itself within timeout s (s_server after its one
        connection, a capture after SIGINT); kills it if it does not."""
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            if f:
                with contextlib.suppress(OSError):
                    f.close()


def attach_hints():
    """Why the kernel may refuse a uprobe: another tracer (e.g. BCC's sslsniff)
    holding one at the same place with another ref_ctr_offset."""
    try:
        r = subprocess.run(["dmesg"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=5)
        lines = [l for l in r.stdout.decode("utf-8", "replace").splitlines()[-200:] if "ref_ctr_offset" in l]
    except (OSError, subprocess.TimeoutExpired):
        return []
    if not lines:
        return []
    return ["hint: the kernel log says another uprobe sits at the same place with a different "
            "ref_ctr_offset (another tracer running?):", "    " + lines[-1]]


class Plainsight(Proc):
    """plainsight started with args; json output (if any) goes to a file."""

    def __init__(self, ctx, args, asan=False, stdout_path=None, env=None, http=False):
        self.bin = binary(asan)
        if not os.path.exists(self.bin):
            raise TestFailure("plainsight binary not found: %s (build it first)" % self.bin)
        args = list(args)
        # The tests compare per-call records with what was sent: --raw, unless
        # the test is about the HTTP messages (test_http.py).
        if not http and "--raw" not in args:
            args[1:1] = ["--raw"]
        lib = private_libssl()
        if lib and args[:1] == ["tls"] and "--libssl" not in args:
            args[1:1] = ["--libssl", lib]
        self.stdout_path = stdout_path or os.path.join(ctx.tmp, "plainsight.out")
        self.outf = open(self.stdout_path, "wb")
        try:
            super().__init__(ctx, [self.bin] + args, "plainsight", stdout=self.outf,
                             env=env, plain_env=True)
        finally:
            self.outf.close()
        self.attached_line = None

    def wait_attached(self, timeout=ATTACH_TIMEOUT):
        try:
            self.attached_line = self.wait_line("plainsight: attached", timeout)
        except TestFailure as e:
            if "cannot attach" in self.stderr:
                e.lines.extend(attach_hints())
            raise
        return self.attached_line


    def stop(self, sig=signal.SIGINT, timeout=STOP_TIMEOUT):
        """Sends sig, waits; fails unless it exits 0. Returns its stderr."""
        if self.p.poll() is None:
            os.kill(self.p.pid, sig)
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("plainsight did not exit within %.0f s of %s; its stderr:"
                              % (timeout, signal.Signals(sig).name), *indent(tail(self.stderr)))
        self.join_readers()
        if rc != 0:
            raise TestFailure("plainsight exited with status %d after %s; its stderr:"
                              % (rc, signal.Signals(sig).name), *indent(tail(self.stderr)))
        return self.stderr

    def output(self):
        with open(self.stdout_path, "rb") as f:
            return f.read()

    def json_output(self):
        return parse_json_lines(self.output(), self.stderr)


class Context:
    """Per-test resources: a temp dir and processes, all cleaned up."""

    def __init__(self, name):
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="plainsight-e2e-")
        self.procs = []
        self.plainsight = None  # stderr shown on failure

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def random_file(self, name, size):
        return self.write(name, os.urandom(size))

    def run(self, argv, timeout=30, input=None):
        """Runs a short command to completion; returns CompletedProcess."""
        try:
            return subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=timeout,
                                  stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise TestFailure("command timed out after %d s: %s" % (timeout, " ".join(argv)))

    def start(self, argv, name, **kw):
        return Proc(self, argv, name, **kw)

    def start_plainsight(self, args, **kw):
        ps = Plainsight(self, args, **kw)
        self.plainsight = ps
        return ps

    def cleanup(self, keep_files=False):
        for p in reversed(self.procs):
            with contextlib.suppress(Exception):
                p.kill()
        if not keep_files:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---- json output ---------------------------------------------------------------

def parse_json_lines(data, stderr=""):
    """Returns (records, summary, others). Fails on lines that are not json."""
    records, others = [], []
    summary = None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for i, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise TestFailure("plainsight output line %d is not json (%s): %r"
                              % (i + 1, e, line[:200]))
        if not isinstance(obj, dict):
            raise TestFailure("plainsight output line %d is not an object: %r" % (i + 1, line[:200]))
        if "summary" in obj:
            if i != len(lines) - 1:
                raise TestFailure("summary on line %d of %d, not the last line" % (i + 1, len(lines)))
            summary = obj["summary"]
        elif obj.get("event") == "tls_data":
            if "payload_b64" not in obj:
                raise TestFailure("tls_data record without payload_b64: %r" % (obj,))
            obj["payload"] = base64.b64decode(obj["payload_b64"], validate=True)
            records.append(obj)
        else:
            others.append(obj)
    return records, summary, others


# ---- text output ---------------------------------------------------------------

TEXT_DATA_PREFIX = b"| "
TEXT_ESCAPED = re.compile(rb"(?:[^\\]|\\\\|\\x[0-9a-f]{2})*")
TEXT_ESCAPE = re.compile(rb"\\(\\|x[0-9a-f]{2})")


def unescape_text(line):
    """Text mode's escaping undone: \\\\ is a backslash, \\xNN a byte."""
    if not TEXT_ESCAPED.fullmatch(line):
        raise TestFailure("text output: a data line with a malformed escape: %r" % line[:200])
    return TEXT_ESCAPE.sub(lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1)[1:], 16)]), line)


def parse_text_header(line):
    """'TIME MODULE EVENT k=v ... [A -> B] [flags]' as a dict: time, module,
    event, each k=v (ints as ints), src/dst for a tuple, flags as True."""
    words = line.split(" ")
    if len(words) < 3:
        raise TestFailure("text output: a header line with fewer than 3 words: %r" % line[:200])
    fields = {"time": words[0], "module": words[1], "event": words[2]}
    rest = words[3:]
    i = 0
    while i < len(rest):
        w = rest[i]
        if i + 2 < len(rest) and rest[i + 1] == "->":
            fields["src"], fields["dst"] = w, rest[i + 2]
            i += 3
            continue
        k, eq, v = w.partition("=")
        fields[k] = (int(v) if re.fullmatch(r"-?\d+", v) else v) if eq else True
        i += 1
    return fields


def parse_text_records(data, hex_dump=False):
    """Text mode's records from its bytes. A line that does not start with
    '| ' is a record's header; the '| ' lines after it are its data: without
    the prefix ("lines"), joined with newlines, escapes undone ("data"; not
    with hex_dump, for --hex). Fails on data lines before any header."""
    records = []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for i, line in enumerate(lines):
        if line.startswith(TEXT_DATA_PREFIX):
            if not records:
                raise TestFailure("text output line %d: data before any header: %r" % (i + 1, line[:200]))
            records[-1]["lines"].append(line[len(TEXT_DATA_PREFIX):])
            continue
        records.append({"header": line.decode("utf-8", "replace"), "lines": [], "line_no": i + 1})
    for r in records:
        r["fields"] = parse_text_header(r["header"])
        if not hex_dump:
            r["data"] = b"\n".join(unescape_text(l) for l in r["lines"]) if r["lines"] else b""
    return records


def records_of(records, pid, direction=None):
    return [r for r in records if r.get("pid") == pid and (direction is None or r.get("dir") == direction)]


def concat(recs):
    return b"".join(r["payload"] for r in recs)


def check_record_sanity(recs, what, module="tls"):
    """Every record: module/event right, len == payload length, nothing lost."""
    for r in recs:
        problems = []
        if r.get("module") != module:
            problems.append("module=%r" % r.get("module"))
        if r.get("dir") not in ("write", "read"):
            problems.append("dir=%r" % r.get("dir"))
        if r.get("len") != len(r["payload"]):
            problems.append("len=%r but payload has %d bytes" % (r.get("len"), len(r["payload"])))
        if r.get("lost_bytes"):
            problems.append("lost_bytes=%r" % r.get("lost_bytes"))
        if r.get("read_failed"):
            problems.append("read_failed=%r" % r.get("read_failed"))
        if r.get("incomplete"):
            problems.append("incomplete=%r" % r.get("incomplete"))
        for k in ("time_ns", "pid", "tid", "uid", "comm", "fd"):
            if k not in r:
                problems.append("no %r field" % k)
        if problems:
            short = {k: v for k, v in r.items() if k not in ("payload", "payload_b64")}
            raise TestFailure("%s: bad record: %s" % (what, "; ".join(problems)), "record: %r" % short)


def hexbytes(b):
    return " ".join("%02x" % x for x in b)


def compare_bytes(what, got, want):
    """Fails with lengths and the first differing offset unless got == want."""
    if got == want:
        return
    n = min(len(got), len(want))
    off = next((i for i in range(n) if got[i] != want[i]), n)
    lo = max(0, off - 8)
    lines = ["%s: captured bytes differ from the real ones" % what,
             "captured %d bytes, real %d bytes, first difference at offset %d" % (len(got), len(want), off),
             "captured[%d:%d]: %s" % (lo, off + 16, hexbytes(got[lo:off + 16])),
             "real    [%d:%d]: %s" % (lo, off + 16, hexbytes(want[lo:off + 16]))]
    if not got:
        lines.append("(nothing captured)")
    raise TestFailure(*lines)


def compare_stream(records, pid, direction, want, what, fd=None, tuple_=None, module="tls"):
    """The records of pid in direction, in order, must carry exactly `want`;
    with fd/tuple_ given, each record must name that fd / 4-tuple, and all
    must name one connection. None in tuple_ matches anything."""
    recs = records_of(records, pid, direction)
    check_record_sanity(recs, what, module)
    if want and not recs:
        pids = sorted({r.get("pid") for r in records})
        raise TestFailure("%s: no %s records for pid %d (%d records in all, from pids %s)"
                          % (what, direction, pid, len(records), pids))
    fds = sorted({r.get("fd") for r in recs})
    if len(fds) > 1:
        raise TestFailure("%s: the records name several fds %s for one connection" % (what, fds))
    if fd is not None and recs and fds != [fd]:
        raise TestFailure("%s: records have fd %s, the socket's fd is %d" % (what, fds, fd))
    if tuple_ is not None:
        for r in recs:
            got = (r.get("saddr"), r.get("sport"), r.get("daddr"), r.get("dport"))
            if any(w is not None and g != w for g, w in zip(got, tuple_)):
                raise TestFailure("%s: record's (saddr, sport, daddr, dport) is %r, the connection's is %r"
                                  % (what, got, tuple_))
    try:
        compare_bytes(what, concat(recs), want)
    except TestFailure as e:
        by_time = sorted(recs, key=lambda r: r.get("time_ns", 0))
        if by_time != recs and concat(by_time) == want:
            e.lines.append("note: sorted by time_ns the records match: they are written out of order")
        e.lines.append("%d records, lengths: %s" % (len(recs), summarize_lengths(recs)))
        got = concat(recs)
        n = min(len(got), len(want))
        off = next((i for i in range(n) if got[i] != want[i]), n)
        start = 0
        for i, r in enumerate(recs):
            if start <= off < start + len(r["payload"]):
                e.lines.append("the first difference is in record #%d (len %d, starting at offset %d, "
                               "time_ns %s, tid %s)" % (i, len(r["payload"]), start, r.get("time_ns"), r.get("tid")))
                break
            start += len(r["payload"])
        raise
    return recs


def summarize_lengths(recs, n=20):
    lens = [r.get("len") for r in recs]
    s = ", ".join(str(l) for l in lens[:n])
    return s + (", ... (%d more)" % (len(lens) - n) if len(lens) > n else "")


def registry():
    """A module's test list and the decorator that fills it:
    TESTS, test = harness.registry(); @test("name") def ...: ..."""
    tests = []

    def test(name):
        def reg(fn):
            tests.append((name, fn))
            return fn
        return reg
    return tests, test
