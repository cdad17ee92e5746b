"""TLS peers that end in the middle of a call, for test_faults.py. Python's
ssl module (OpenSSL's SSL_read_ex and SSL_write_ex underneath), on blocking
sockets once the handshake is done, so that a call that waits waits inside
SSL_read or SSL_write, in the kernel's read or write.

  fault_peer.py server --cert C --key K --read N --send FILE --out FILE
      Listens on 127.0.0.1, prints {"port": P}. Takes one connection, reads
      exactly N bytes into --out, sends FILE, prints {"sent": len, ...}, then
      reads nothing more (a client writing to it blocks once the socket's
      buffers are full) until its stdin closes.
  fault_peer.py client --port P --send FILE --recv N --out FILE --then WHAT [ARGV...]
      Connects, sends FILE, reads exactly N bytes into --out, prints
      {"done": ..., "local": [...], "peer": [...]}, then:
        big BYTES  one SSL_write of BYTES (the server reads none: it blocks);
                   prints {"big": tid} first
        read       a thread waits in SSL_read (the server sends nothing more);
                   once it is in the kernel's read, the process exits
        read-exec ARGV  the same, but the main thread executes ARGV instead
        exec ARGV  executes ARGV (the connection stays open, unused)
        hold       waits for its stdin to close, then closes and exits
        close      closes and exits
  fault_peer.py reuse FIRST_CLIENT_ARGS -- SECOND_CLIENT_ARGS
      Forks a first client (FIRST_CLIENT_ARGS as for client, --then big) and
      prints {"first": pid}; once that client is killed and reaped, forks a
      second one with the same pid (through /proc/sys/kernel/ns_last_pid:
      root), which runs SECOND_CLIENT_ARGS, and prints {"second": pid,
      "status": its wait status}. A second client that did not get the pid
      exits at once with status 3.
"""

import argparse
import os
import socket
import ssl
import sys
import threading
import time

# the same small helpers as the tests' other TLS peer (this directory is on sys.path: the script's own)
from tls_peer import TIMEOUT, read_exactly, say


def in_syscall(tid, numbers):
    """Whether thread tid waits in one of the syscalls (x86-64 numbers) now."""
    try:
        with open("/proc/self/task/%d/syscall" % tid) as f:
            return f.read().split(" ", 1)[0] in numbers
    except OSError:
        return False


def server(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    with open(a.send, "rb") as f:
        data = f.read()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(TIMEOUT)
    say({"port": ls.getsockname()[1]})
    conn, _ = ls.accept()
    conn.settimeout(TIMEOUT)
    s = ctx.wrap_socket(conn, server_side=True)
    got = read_exactly(s, a.read)
    with open(a.out, "wb") as f:
        f.write(got)
    s.sendall(data)
    say({"sent": len(data), "local": list(s.getsockname()), "peer": list(s.getpeername())})
    sys.stdin.read()


def client(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with open(a.send, "rb") as f:
        data = f.read()
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=TIMEOUT)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    # blocking from here on: a call that waits, waits inside SSL_read or SSL_write
    s.settimeout(None)
    s.sendall(data)
    got = read_exactly(s, a.recv)
    with open(a.out, "wb") as f:
        f.write(got)
    say({"done": len(data), "local": list(s.getsockname()), "peer": list(s.getpeername())})
    if a.then == "big":
        say({"big": threading.get_native_id()})
        s.sendall(b"\x5a" * int(a.argv[0]))
        sys.exit("the big write returned: the server was to read none of it")
    if a.then in ("read", "read-exec"):
        reader = threading.Thread(target=lambda: s.recv(1), daemon=True)
        reader.start()
        deadline = time.monotonic() + TIMEOUT
        while not (reader.native_id and in_syscall(reader.native_id, ("0", "45"))):
            if time.monotonic() > deadline:
                sys.exit("the reading thread never waited in read")
            time.sleep(0.01)
        say({"reading": reader.native_id})
        if a.then == "read-exec":
            os.execv(a.argv[0], a.argv)
        os._exit(0)
    if a.then == "exec":
        os.execv(a.argv[0], a.argv)
    if a.then == "hold":
        sys.stdin.read()
    s.close()


def run_child(a, want_pid=None):
    """Forks a client running a; with want_pid, one that did not get that pid exits with status 3."""
    pid = os.fork()
    if pid:
        return pid
    status = 3
    try:
        if want_pid is None or os.getpid() == want_pid:
            client(a)
            status = 0
    except SystemExit as e:
        sys.stderr.write("%s\n" % e)
        status = 1
    finally:
        sys.stdout.flush()
        os._exit(status)


def reuse(first, second):
    first_pid = run_child(first)
    say({"first": first_pid})
    # opened ahead: between the write and the fork, as little as can be
    with open("/proc/sys/kernel/ns_last_pid", "w") as last_pid:
        os.waitpid(first_pid, 0)
        last_pid.write(str(first_pid - 1))
        last_pid.flush()
        second_pid = run_child(second, first_pid)
    _, status = os.waitpid(second_pid, 0)
    say({"second": second_pid, "status": status})


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("server")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--read", type=int, required=True)
    s.add_argument("--send", required=True)
    s.add_argument("--out", required=True)
    c = sub.add_parser("client")
    add_client_args(c)
    if sys.argv[1:2] == ["reuse"] and "--" in sys.argv:
        cut = sys.argv.index("--")
        reuse(ap.parse_args(["client"] + sys.argv[2:cut]), ap.parse_args(["client"] + sys.argv[cut + 1:]))
        return
    a = ap.parse_args()
    server(a) if a.mode == "server" else client(a)


def add_client_args(c):
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--send", required=True)
    c.add_argument("--recv", type=int, required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--then", choices=("big", "read", "read-exec", "exec", "hold", "close"), default="close")
    c.add_argument("argv", nargs=argparse.REMAINDER)


if __name__ == "__main__":
    main()
