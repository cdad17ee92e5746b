#!/usr/bin/env python3
"""Times one tracer's start: milliseconds from fork to its first output line
matching REGEX, read as it comes (no polling). Then stops it with SIGINT.

  ready_time.py {stdout|stderr} REGEX TIMEOUT_S COMMAND [ARG...]

Prints the milliseconds on stdout; exits 1 (with the tracer's last line on
stderr) when the line never came.
"""
import os
import re
import selectors
import signal
import subprocess
import sys
import time


def main():
    stream, pattern, timeout = sys.argv[1], re.compile(sys.argv[2].encode()), float(sys.argv[3])
    pipe = {"stdout": {"stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL},
            "stderr": {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}}[stream]
    t0 = time.monotonic()
    proc = subprocess.Popen(sys.argv[4:], **pipe)
    out = proc.stdout if stream == "stdout" else proc.stderr
    ready, last, pending = None, b"", b""
    sel = selectors.DefaultSelector()
    sel.register(out, selectors.EVENT_READ)
    while ready is None and time.monotonic() - t0 < timeout:
        if not sel.select(timeout=0.5):
            continue
        chunk = os.read(out.fileno(), 65536)
        if not chunk:
            break
        now = time.monotonic()
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            last = line or last
            if pattern.search(line):
                ready = (now - t0) * 1000
                break
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if ready is None:
        sys.stderr.write(last.decode(errors="replace") + "\n")
        return 1
    print("%.1f" % ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
