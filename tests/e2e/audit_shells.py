#!/usr/bin/env python3
"""Interactive bash and zsh driven through a pseudo-terminal (tmux), for the
audit modules' end-to-end tests.

A Shell runs in its own tmux server (private socket in a temporary directory),
so nothing leaks into the user's tmux. Each time the shell is about to show its
primary prompt it appends "$?" to a status file (bash: PROMPT_COMMAND; zsh: a
precmd function), which tells the test when a typed command has finished and
what its real exit status was, without typing anything extra at the prompt.
Typed lines go through the shell's line editor (readline / zle) exactly as a
user's keystrokes do.

  python3 tests/e2e/audit_shells.py        # self-check: bash and zsh

Used by audit_test.py:

  sh = Shell(ctx, "bash")          # ctx: harness.Context (cleanup kills tmux)
  st = sh.command("false")         # types the line + Enter, waits, returns 1
  st = sh.command(["for i in 1 2; do", "echo $i", "done"])   # multi-line
  sh.pid                           # the interactive shell's pid
  sh.close()
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT = 20.0


class ShellError(Exception):
    pass


class _Cleanup:
    """Goes into harness.Context.procs: the Context calls kill() on cleanup."""

    def __init__(self, shell):
        self.shell = shell

    def kill(self):
        self.shell.close()


def _alive(pid, path):
    """True while pid runs path (a zombie or another program counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        exe = os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return False
    return state not in ("Z", "X") and os.path.realpath(path) == exe


class Shell:
    """An interactive shell ("bash" or "zsh", or a path to one) in tmux."""

    def __init__(self, ctx=None, kind="bash", path=None, width=250):
        self.kind = kind
        self.path = path or shutil.which(kind)
        if not self.path:
            raise ShellError("%s not found in PATH" % kind)
        self.tmux = shutil.which("tmux")
        if not self.tmux:
            raise ShellError("tmux not found in PATH")
        self._own_tmp = ctx is None
        self.dir = tempfile.mkdtemp(prefix="plainsight-shell-") if ctx is None else \
            os.path.join(ctx.tmp, "shell-%s-%d" % (kind, time.monotonic_ns()))
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "tmux.sock")
        self.status_file = os.path.join(self.dir, "status")
        open(self.status_file, "w").close()
        self.closed = False
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": self.dir,
            "TERM": "screen",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "HISTFILE": os.path.join(self.dir, "history"),
            "STATUS_FILE": self.status_file,
        }
        base = os.path.basename(self.path)
        if "zsh" in base:
            # No system rc files (-f would also skip ours): ZDOTDIR holds a
            # .zshrc with the precmd hook; NO_RCS is not set so it is read.
            env["ZDOTDIR"] = self.dir
            with open(os.path.join(self.dir, ".zshrc"), "w") as f:
                f.write("PS1='zsh$ '\nPS2='> '\nunsetopt BEEP\n"
                        "precmd() { print -r -- $? >> \"$STATUS_FILE\" }\n")
            argv = [self.path, "-i", "-o", "NO_GLOBAL_RCS"]
        else:
            env["PS1"] = "bash$ "
            env["PS2"] = "> "
            env["PROMPT_COMMAND"] = 'echo $? >> "$STATUS_FILE"'
            argv = [self.path, "--norc", "--noprofile", "-i"]
        self.argv = argv
        cmd = [self.tmux, "-S", self.sock, "-f", "/dev/null", "new-session", "-d",
               "-x", str(width), "-y", "50", "--"] + argv
        r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        if r.returncode != 0:
            raise ShellError("tmux new-session failed: %s" % r.stderr.decode(errors="replace"))
        if ctx is not None:
            ctx.procs.append(_Cleanup(self))
        self.pid = int(self._tmux("display-message", "-p", "#{pane_pid}").strip())
        # "/dev/pts/5": what plainsight must report as the line's terminal
        self.tty = self._tmux("display-message", "-p", "#{pane_tty}").strip()
        self.n_commands = 0
        # The first prompt writes the first status line.
        self._wait_statuses(1)

    # -- tmux -------------------------------------------------------------------

    def _tmux(self, *args):
        r = subprocess.run([self.tmux, "-S", self.sock] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        if r.returncode != 0:
            raise ShellError("tmux %s failed: %s" % (args[0], r.stderr.decode(errors="replace")))
        return r.stdout.decode("utf-8", "replace")

    def screen(self):
        """The visible pane plus scrollback, as text (for diagnostics)."""
        try:
            return self._tmux("capture-pane", "-p", "-S", "-200")
        except Exception as e:  # noqa: BLE001
            return "(no screen: %s)" % e

    def statuses(self):
        with open(self.status_file) as f:
            return [int(x) for x in f.read().split()]

    def _wait_statuses(self, n, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.statuses()
            if len(st) >= n:
                return st
            time.sleep(0.02)
        raise ShellError("%s: no prompt after %.0f s (wanted %d status lines, have %d); screen:\n%s"
                         % (self.kind, timeout, n, len(self.statuses()), self.screen()))

    def type_line(self, text):
        """Types text (literally, UTF-8 included) and Enter."""
        if text:
            self._tmux("send-keys", "-t", "0", "-l", text)
        self._tmux("send-keys", "-t", "0", "Enter")

    # -- commands ----------------------------------------------------------------

    def command(self, lines, timeout=TIMEOUT):
        """Types one command (a string, or a list of lines for a multi-line
        command), waits for the next primary prompt and returns the command's
        exit status as the shell saw it."""
        if isinstance(lines, str):
            lines = [lines]
        want = len(self.statuses()) + 1
        for i, l in enumerate(lines):
            self.type_line(l)
            if i + 1 < len(lines):
                time.sleep(0.05)  # each continuation line is a separate read
        st = self._wait_statuses(want, timeout)
        self.n_commands += 1
        return st[want - 1]

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            subprocess.run([self.tmux, "-S", self.sock, "kill-server"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        except Exception:  # noqa: BLE001
            pass
        # The shell got SIGHUP with the pty gone; make sure it is gone (only
        # if the pid is still that shell: it may be reaped and reused).
        if _alive(self.pid, self.path):
            try:
                os.kill(self.pid, 9)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        while _alive(self.pid, self.path) and time.monotonic() < deadline:
            time.sleep(0.02)
        if self._own_tmp:
            shutil.rmtree(self.dir, ignore_errors=True)


def children_comms(pid):
    """The comm (bytes) of each child of pid."""
    out = []
    for task in os.listdir("/proc"):
        if not task.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % task, "rb") as f:
                stat = f.read()
        except OSError:
            continue
        comm, rest = stat[stat.index(b"(") + 1:stat.rindex(b")")], stat[stat.rindex(b")") + 2:].split()
        if int(rest[1]) == pid:
            out.append(comm)
    return out


# What the tests type: (lines, expected status). Statuses are checked against
# the shell itself too, so a wrong expectation here shows up in the self-check.
BIG = "x" * 5000


def script(kind):
    return [
        (["echo hello-%s" % kind], 0),
        (["false"], 1),
        (["(exit 7)"], 7),
        (["true; false"], 1),                       # status of the list, not of its first part
        (["for i in 1 2; do", "echo loop $i", "done"], 0),   # multi-line, joined
        (["echo 'héllo wörld ✓'"], 0),              # UTF-8
        (["sh -c 'exit 3'"], 3),
        (["echo %s >/dev/null" % BIG], 0),          # a long line
    ]


def self_check():
    ok = True
    for kind in ("bash", "zsh"):
        if not shutil.which(kind):
            print("SKIP %s: not installed" % kind)
            continue
        sh = Shell(None, kind)
        try:
            for lines, want in script(kind):
                got = sh.command(lines)
                flag = "ok " if got == want else "BAD"
                if got != want:
                    ok = False
                print("%s %s pid=%d status=%d want=%d: %r" % (flag, kind, sh.pid, got, want,
                                                              "\\n".join(lines)[:60]))
        finally:
            sh.close()
        alive = _alive(sh.pid, sh.path)
        print("%s %s stopped" % ("BAD" if alive else "ok ", kind))
        ok = ok and not alive
    return ok


if __name__ == "__main__":
    sys.exit(0 if self_check() else 1)
