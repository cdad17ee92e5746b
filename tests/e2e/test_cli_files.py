"""Output files and what can go wrong before capture (issue 19): an output
that cannot be opened fails the run and leaves no file behind; -w and -k
files are private (0600), never reached through a symbolic link, never a file
of another user; text output's records cannot be forged by the traced data;
-p names a process that does not exist. TESTS lists (name, function(ctx))."""

import os
import re
import shutil
import stat
import time

import harness
from harness import TestFailure, TestSkip, indent, parse_text_records, tail
from test_tls import expect_error, run_plainsight
from tls_servers import PyClient, PyServer, make_cert

TESTS, test = harness.registry()
NOBODY = 65534
NO_SUCH_PID = 999999


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def check_untouched(path, content, mode, what):
    """path still holds content with mode (a refused run changed nothing)."""
    if read_bytes(path) != content or mode_of(path) != mode:
        raise TestFailure("%s: %s changed: mode %o (was %o), content %r (was %r)"
                          % (what, path, mode_of(path), mode, read_bytes(path)[:80], content[:80]))


def check_absent(path, what):
    if os.path.lexists(path):
        raise TestFailure("%s: the failed run left %s behind (%d bytes)" % (what, path, os.lstat(path).st_size))


# ---- 1. an output that cannot be opened ------------------------------------------

@test("outfile_keylog_unopenable_fails")
def keylog_unopenable_fails(ctx):
    """-k into a missing directory: one error line naming it, a non-zero exit,
    in every mode; the -w file this run would have made does not exist after."""
    bad = "/nonexistent/dir/k"
    for mode in ("json", "text", "keylog"):
        out = ctx.path("out-%s" % mode)
        args = ["tls", "-m", mode, "-k", bad] + ([] if mode == "keylog" else ["-w", out])
        expect_error(ctx, args, mentions=[re.escape(bad)])
        check_absent(out, "plainsight %s" % " ".join(args))
    # an earlier file at -w keeps its content when the run fails
    out = ctx.write("earlier", b"an earlier capture\n")
    os.chmod(out, 0o600)
    expect_error(ctx, ["tls", "-m", "json", "-w", out, "-k", bad], mentions=[re.escape(bad)])
    check_untouched(out, b"an earlier capture\n", 0o600, "-w EARLIER -k %s" % bad)


@test("outfile_write_unopenable_fails")
def write_unopenable_fails(ctx):
    """-w into a missing directory; -w fine but -k a directory, or -k the
    same file: the -w file is taken back."""
    expect_error(ctx, ["tls", "-m", "json", "-w", "/nonexistent/dir/w"], mentions=[re.escape("/nonexistent/dir/w")])
    out = ctx.path("out")
    expect_error(ctx, ["tls", "-m", "json", "-w", out, "-k", ctx.tmp], mentions=[re.escape(ctx.tmp)])
    check_absent(out, "-w OUT -k DIRECTORY")
    expect_error(ctx, ["tls", "-m", "json", "-w", out, "-k", out], mentions=[re.escape(out)])
    check_absent(out, "-w OUT -k OUT")


# ---- 2. private files, no symbolic links, no foreign files -------------------------

def start_and_stop(ctx, args):
    """plainsight with args, attached then stopped; returns it."""
    ps = ctx.start_plainsight(args)
    ps.wait_attached()
    return ps


@test("outfile_made_private")
def made_private(ctx):
    """-w and -k on existing 0644 files: 0600 by the time plainsight says it
    attached (before any record), old content gone once it runs."""
    out = ctx.write("out.json", b"old records\n" * 100)
    keys = ctx.write("keys.log", b"old keys\n" * 100)
    os.chmod(out, 0o644)
    os.chmod(keys, 0o644)
    ps = start_and_stop(ctx, ["tls", "-m", "json", "-w", out, "-k", keys])
    modes = {p: mode_of(p) for p in (out, keys)}
    ps.stop()
    wrong = ["%s is %o" % (p, m) for p, m in modes.items() if m != 0o600]
    if wrong:
        raise TestFailure("files not made 0600 while capturing: %s" % ", ".join(wrong))
    for p, old in ((out, b"old records\n"), (keys, b"old keys\n")):
        if old in read_bytes(p):
            raise TestFailure("%s still holds its old content after the run" % p)
        if mode_of(p) != 0o600:
            raise TestFailure("%s is %o after the run, not 0600" % (p, mode_of(p)))
    records, summary, _ = harness.parse_json_lines(read_bytes(out))
    if summary is None:
        raise TestFailure("-w %s: no summary line at the end" % out, *indent(tail(read_bytes(out).decode(), 5)))


@test("outfile_symlink_refused")
def symlink_refused(ctx):
    """-w or -k naming a symbolic link: refused with one line; the link's
    target (an existing file, or a dangling name) is not touched or made."""
    target = ctx.write("target", b"not for plainsight\n")
    os.chmod(target, 0o644)
    link = ctx.path("link")
    os.symlink(target, link)
    dangling = ctx.path("dangling")
    made = ctx.path("would-be-made")
    os.symlink(made, dangling)
    for args in (["-w", link], ["-k", link], ["-m", "keylog", "-k", link], ["-w", dangling]):
        expect_error(ctx, ["tls", "-m", "json"] + args, mentions=[re.escape(args[-1]), "symbolic link"])
        check_untouched(target, b"not for plainsight\n", 0o644, " ".join(args))
        check_absent(made, " ".join(args))


@test("outfile_foreign_owner_refused")
def foreign_owner_refused(ctx):
    """A file of user nobody, mode 0666, at -w or -k: refused (its owner could
    read the plaintext or keys), left as it was."""
    theirs = ctx.write("theirs", b"nobody's file\n")
    os.chown(theirs, NOBODY, NOBODY)
    os.chmod(theirs, 0o666)
    for args in (["-w", theirs], ["-k", theirs], ["-m", "keylog", "-w", theirs]):
        expect_error(ctx, ["tls", "-m", "json"] + args, mentions=[re.escape(theirs), "uid %d" % NOBODY])
        check_untouched(theirs, b"nobody's file\n", 0o666, " ".join(args))


# ---- 5. text records cannot be forged by the data ------------------------------------

FORGED = (b"GET /forge HTTP/1.1\r\nX: a\n"
          b"2026-11-29T11:45:01.123456789Z tls tls_data pid=1 tid=1 uid=0 comm=init fd=3 dir=write len=5\n"
          b"hello\n"
          b"| not a data line of its own\n\n")


@test("text_framing_forged_header")
def text_forged_header(ctx):
    """A real TLS client sends data holding a fake header line: reading the
    text output back, the client's write is exactly one record with exactly
    those bytes, and no record claims pid 1."""
    cert, key = make_cert(ctx)
    out = ctx.path("capture.txt")
    ps = start_and_stop(ctx, ["tls", "-m", "text", "-w", out])
    srv = PyServer(ctx, cert, key, len(FORGED), b"ok\n")
    cli = PyClient(ctx, srv.port, FORGED, 3)
    cli.finish()
    srv.finish()
    ps.stop()
    raw = read_bytes(out)
    text = raw.decode("utf-8", "replace")
    records = parse_text_records(raw)
    forged = [r for r in records if r["fields"].get("pid") == 1]
    if forged:
        raise TestFailure("the text output holds %d record(s) of pid 1 the data forged; it reads:" % len(forged),
                          *indent(tail(text, 30)))
    writes = [r for r in records if r["fields"].get("pid") == cli.pid and r["fields"].get("dir") == "write"]
    if len(writes) != 1 or writes[0]["data"] != FORGED or writes[0]["fields"].get("len") != len(FORGED):
        raise TestFailure("the client's one write reads back as %d record(s): %r; want one of len=%d: %r; it reads:"
                          % (len(writes), [r["data"] for r in writes], len(FORGED), FORGED),
                          *indent(tail(text, 30)))
    reads = [r for r in records if r["fields"].get("pid") == srv.pid and r["fields"].get("dir") == "read"]
    got = b"".join(r["data"] for r in reads)
    if got != FORGED:
        raise TestFailure("the server's reads read back as %r, want %r" % (got, FORGED), *indent(tail(text, 30)))


@test("text_framing_bash_line")
def text_bash_line(ctx):
    """An audit record too: a bash command whose second line is a fake header
    stays data of the shell's records."""
    import audit_shells
    if not shutil.which("bash") or not shutil.which("tmux"):
        raise TestSkip("bash or tmux not installed")
    out = ctx.path("bash.txt")
    fake = "2026-11-29T11:45:01.123456789Z bash bash_line pid=1 tid=1 uid=0 comm=init status=0 len=4"
    ps = start_and_stop(ctx, ["bash", "-m", "text", "-w", out])
    try:
        sh = audit_shells.Shell(ctx, "bash")
    except audit_shells.ShellError as e:
        raise TestFailure("cannot start bash in tmux: %s" % e)
    lines = ["echo 'forged", fake + "' >/dev/null"]
    sh.command(lines)
    pid = sh.pid
    sh.close()
    time.sleep(0.3)
    ps.stop()
    raw = read_bytes(out)
    text = raw.decode("utf-8", "replace")
    records = parse_text_records(raw)
    if any(r["fields"].get("pid") == 1 for r in records):
        raise TestFailure("a bash line forged a record of pid 1; the output reads:", *indent(tail(text, 30)))
    data = b"\n".join(r["data"] for r in records if r["fields"].get("pid") == pid)
    if (fake + "' >/dev/null").encode() not in data:
        raise TestFailure("the shell's records (pid %d) do not hold the typed line %r; the output reads:"
                          % (pid, lines[1]), *indent(tail(text, 30)))


# ---- 7. -p of no process ------------------------------------------------------------

def module_names(ctx):
    rc, out, err = run_plainsight(ctx, ["--help"])
    names = re.findall(r"^  (\w+)  ", out.split("Modules:", 1)[-1].split("Options:", 1)[0], re.M)
    if rc != 0 or not names:
        raise TestFailure("plainsight --help lists no modules (status %d)" % rc, *indent(out.splitlines()))
    return names


@test("pid_no_such_process")
def pid_no_such_process(ctx):
    """-p of a pid no process has: every module says so in one line."""
    if os.path.exists("/proc/%d" % NO_SUCH_PID):
        raise TestSkip("a process %d exists here" % NO_SUCH_PID)
    for module in module_names(ctx):
        line = expect_error(ctx, [module, "-p", str(NO_SUCH_PID)])
        if line != "plainsight: no process with pid %d" % NO_SUCH_PID:
            raise TestFailure("plainsight %s -p %d: %r, want 'plainsight: no process with pid %d'"
                              % (module, NO_SUCH_PID, line, NO_SUCH_PID))
