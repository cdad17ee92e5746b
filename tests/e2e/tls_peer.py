"""A small TLS server or client on Python's ssl module (OpenSSL's SSL_read_ex
and SSL_write_ex underneath), run as its own process by the tests.

  tls_peer.py server --cert C --key K --conns N --recv-bytes N --send FILE --dir DIR
      Listens on 127.0.0.1 (free port), prints {"port": P, "pid": ...} on
      stdout. For each of --conns connections (handled at the same time):
      reads exactly --recv-bytes bytes, then sends the content of --send, then
      waits for the client to close. Writes DIR/server-<i>.recv (what it read)
      and prints {"conn": i, "fd": ..., "local": [...], "peer": [...]} lines.
  tls_peer.py client --port P --send FILE --recv-bytes N --out FILE [--wait-go]
      Connects, sends FILE, reads exactly N bytes into --out, prints
      {"fd": ..., "local": [...], "peer": [...], "pid": ...} and closes.
      With --wait-go it prints {"pid": ...} first and waits for a line on stdin.

Every socket has a timeout, so nothing hangs forever.
"""

import argparse
import json
import os
import socket
import ssl
import sys
import threading

TIMEOUT = 60


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def read_exactly(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("peer closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def server(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    with open(a.send, "rb") as f:
        data = f.read()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    ls.settimeout(TIMEOUT)
    say({"port": ls.getsockname()[1], "pid": os.getpid()})
    errors = []

    def handle(i, conn):
        try:
            with ctx.wrap_socket(conn, server_side=True) as s:
                got = read_exactly(s, a.recv_bytes)
                with open(os.path.join(a.dir, "server-%d.recv" % i), "wb") as f:
                    f.write(got)
                s.sendall(data)
                say({"conn": i, "fd": s.fileno(), "local": list(s.getsockname()),
                     "peer": list(s.getpeername())})
                # Wait for the client to close: it has then read everything.
                try:
                    while s.recv(65536):
                        pass
                except (ssl.SSLError, OSError):
                    pass
        except Exception as e:  # reported on stderr, exit status 1
            errors.append("conn %d: %r" % (i, e))

    threads = []
    for i in range(a.conns):
        conn, _ = ls.accept()
        conn.settimeout(TIMEOUT)
        t = threading.Thread(target=handle, args=(i, conn))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    ls.close()
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
        sys.exit(1)


def client(a):
    if a.wait_go:
        say({"pid": os.getpid()})
        if not sys.stdin.readline():
            sys.exit("no go line on stdin")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with open(a.send, "rb") as f:
        data = f.read()
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=TIMEOUT)
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        step = a.chunk or len(data) or 1
        for at in range(0, max(len(data), 1), step):
            s.sendall(data[at:at + step])
        got = read_exactly(s, a.recv_bytes)
        with open(a.out, "wb") as f:
            f.write(got)
        say({"fd": s.fileno(), "local": list(s.getsockname()), "peer": list(s.getpeername()),
             "pid": os.getpid()})


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("server")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--conns", type=int, default=1)
    s.add_argument("--recv-bytes", type=int, required=True)
    s.add_argument("--send", required=True)
    s.add_argument("--dir", required=True)
    c = sub.add_parser("client")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--send", required=True)
    c.add_argument("--recv-bytes", type=int, required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--wait-go", action="store_true")
    c.add_argument("--chunk", type=int, default=0, help="send in writes of this many bytes (0: one)")
    a = ap.parse_args()
    server(a) if a.mode == "server" else client(a)


if __name__ == "__main__":
    main()
