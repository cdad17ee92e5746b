#!/usr/bin/env python3
"""What the live outputs (issue 16) cost at a high record rate.

tls_pump (bench/tls_pump.c, built by bench/run.sh or by hand) writes BYTES
in CHUNK-byte SSL_write calls to its own server thread: 2 * BYTES / CHUNK
records. plainsight traces it (-p) with -m json in each variant below; the
reader's CPU time (user + system of every thread, from wait4) is divided by
the records it counted (--raw: one json line per record, no HTTP merging). Losses are read from its summary. No pass or fail:
numbers only.

  sudo bench/stream_cost.py --pump build/bench/tls_pump --cert C --key K
      [--plainsight build/plainsight] [--bytes 8m] [--chunk 64] [--reps 3]

Variants: json to /dev/null (the baseline); the same with --ecaptureq and one
client connected that reads every message (a bare reader that counts frames
without decoding them: WS_READER); json to --eventaddr tcp:// with a listener
that reads and counts lines. "received" counts the heartbeat and log lines
too (the events sent are plainsight's count).
"""

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

# A bare WebSocket reader (RFC 6455): the handshake, then frames counted as
# they pass, nothing decoded; a client as fast as a socket read, so that what
# is measured is plainsight's side.
WS_READER = r"""
import base64, os, socket, struct, sys
host, port = sys.argv[1].split("/")[2].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (host, key)).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
buf = buf.split(b"\r\n\r\n", 1)[1]
print("connected", flush=True)
frames = 0
while True:
    while True:
        if len(buf) < 2:
            break
        n, at = buf[1] & 0x7f, 2
        if n == 126:
            if len(buf) < 4: break
            n, at = struct.unpack_from(">H", buf, 2)[0], 4
        elif n == 127:
            if len(buf) < 10: break
            n, at = struct.unpack_from(">Q", buf, 2)[0], 10
        if len(buf) < at + n:
            break
        if buf[0] & 0x0f == 8:
            print(frames, flush=True); sys.exit(0)
        frames += 1
        buf = buf[at + n:]
    data = s.recv(1 << 20)
    if not data:
        break
    buf += data
print(frames, flush=True)
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class LineCounter:
    def __init__(self, port):
        self.lines = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(1)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.sock.accept()
        while True:
            data = conn.recv(1 << 20)
            if not data:
                break
            self.lines += data.count(b"\n")


def run_once(args, variant):
    pump = subprocess.Popen([args.pump, "-c", args.cert, "-k", args.key, "-n", args.bytes, "-b", str(args.chunk),
                             "-g"], stdout=subprocess.PIPE, text=True)
    pid = int(pump.stdout.readline().split()[1])
    argv = [args.plainsight, "tls", "-q", "--raw", "-p", str(pid), "-m", "json"]
    extra, reader, counter = [], None, None
    if variant == "ecaptureq":
        url = "ws://127.0.0.1:%d/" % free_port()
        extra = ["-w", "/dev/null", "--ecaptureq", url]
    elif variant == "eventaddr-tcp":
        port = free_port()
        counter = LineCounter(port)
        extra = ["--eventaddr", "tcp://127.0.0.1:%d" % port]
    else:
        extra = ["-w", "/dev/null"]
    ps = subprocess.Popen(argv + extra, stderr=subprocess.PIPE, text=True)
    err_lines = []

    def read_err():
        for line in ps.stderr:
            err_lines.append(line)
    t = threading.Thread(target=read_err, daemon=True)
    t.start()
    while not any("attached" in l for l in err_lines):
        if ps.poll() is not None:
            sys.exit("plainsight ended: " + "".join(err_lines))
        time.sleep(0.05)
    if variant == "ecaptureq":
        reader = subprocess.Popen([sys.executable, "-c", WS_READER, url], stdout=subprocess.PIPE, text=True)
        reader.stdout.readline()
    os.kill(pid, signal.SIGUSR1)
    pump_line = pump.stdout.readline()
    pump.wait()
    time.sleep(1)
    ps.send_signal(signal.SIGINT)
    _, status, usage = os.wait4(ps.pid, 0)
    ps.returncode = status
    t.join(5)
    err = "".join(err_lines)
    got = {"cpu_s": usage.ru_utime + usage.ru_stime,
           "mib_s": float(re.search(r"mib_per_s=([\d.]+)", pump_line).group(1))}
    m = re.search(r"stopped: (\d+) records, (\d+) bytes captured, (\d+) bytes lost", err)
    got["records"], got["lost_bytes"] = int(m.group(1)), int(m.group(3))
    m = re.search(r"ecaptureq: .* (\d+) events sent, (\d+) events dropped", err)
    if m:
        got["sent"], got["dropped"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"eventaddr: (\d+) lines sent, (\d+) dropped", err)
    if m:
        got["sent"], got["dropped"] = int(m.group(1)), int(m.group(2))
    if reader:
        reader.wait(30)
        got["received"] = int(reader.stdout.read().split()[-1])
    if counter:
        counter.thread.join(10)
        got["received"] = counter.lines
    return got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pump", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--plainsight", default="build/plainsight")
    ap.add_argument("--bytes", default="8m")
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    variants = ["baseline", "ecaptureq", "eventaddr-tcp"]
    runs = {v: [] for v in variants}
    for _ in range(args.reps):
        for v in variants:     # interleaved, so that the machine's load falls on all alike
            runs[v].append(run_once(args, v))
    print("| variant | records | CPU s (median) | us/record | pump MiB/s | sent / received / dropped | bytes lost |")
    print("|---|---|---|---|---|---|---|")
    for v in variants:
        r = runs[v]
        cpu = statistics.median(x["cpu_s"] for x in r)
        recs = statistics.median(x["records"] for x in r)
        moved = ", ".join("%s/%s/%s" % (x.get("sent", "-"), x.get("received", "-"), x.get("dropped", "-"))
                          for x in r)
        print("| %s | %d | %.2f | %.2f | %.1f | %s | %s |" % (v, recs, cpu, cpu / recs * 1e6,
                                                            statistics.median(x["mib_s"] for x in r), moved,
                                                            ",".join(str(x["lost_bytes"]) for x in r)))


if __name__ == "__main__":
    main()
