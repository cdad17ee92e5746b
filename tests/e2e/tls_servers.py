"""TLS workloads for the tests: a self-signed certificate, openssl s_server
with curl, and the Python ssl peers of tls_peer.py. Each returns what the
programs really sent and received, for comparison with the capture."""

import json
import os
import subprocess
import sys
import threading
import time

from harness import (TestFailure, compare_bytes, compare_stream, free_port, indent, listening, require_program, tail,
                     wait_until)

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls_peer.py")
PYTHON = sys.executable or "python3"
WORK_TIMEOUT = 60
LOCAL = "127.0.0.1"


def make_cert(ctx):
    """A fresh self-signed certificate and key in ctx.tmp: (cert, key)."""
    openssl = require_program("openssl")
    cert, key = ctx.path("cert.pem"), ctx.path("key.pem")
    r = ctx.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                 "-days", "1", "-keyout", key, "-out", cert], timeout=60)
    if r.returncode != 0:
        raise TestFailure("openssl req failed (%d):" % r.returncode,
                          *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return cert, key


def read_json_line(proc, what, timeout=WORK_TIMEOUT):
    """Reads one json line from a process's piped stdout, with a timeout."""
    result = {}

    def rd():
        result["line"] = proc.p.stdout.readline()

    t = threading.Thread(target=rd, daemon=True)
    t.start()
    t.join(timeout)
    line = result.get("line")
    if not line:
        status = proc.p.poll()
        raise TestFailure("%s: no %s line on stdout within %d s (status %s); its stderr:"
                          % (proc.name, what, timeout, status), *indent(tail(proc.stderr)))
    try:
        return json.loads(line)
    except ValueError:
        raise TestFailure("%s: %s line is not json: %r" % (proc.name, what, line[:200]))


def read_rest_json(proc, what):
    """After the process exited: all remaining stdout lines as json objects."""
    out = []
    for line in proc.p.stdout.read().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            raise TestFailure("%s: %s output is not json: %r" % (proc.name, what, line[:200]))
    return out


class PyServer:
    """tls_peer.py server: started at once, listening when the constructor returns."""

    def __init__(self, ctx, cert, key, recv_bytes, send_data, conns=1, tag="server"):
        self.ctx = ctx
        self.tag = tag
        self.dir = ctx.path(tag)
        os.makedirs(self.dir)
        self.send_data = send_data
        send = ctx.write(tag + ".send", send_data)
        self.proc = ctx.start([PYTHON, PEER, "server", "--cert", cert, "--key", key,
                               "--conns", str(conns), "--recv-bytes", str(recv_bytes),
                               "--send", send, "--dir", self.dir],
                              "python tls server", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        hello = read_json_line(self.proc, "port")
        self.port, self.pid = hello["port"], hello["pid"]
        self.conns = []

    def finish(self):
        """Waits for it to exit 0; returns the per-connection info lines."""
        self.proc.check_ok(WORK_TIMEOUT)
        self.conns = read_rest_json(self.proc, "connection info")
        return self.conns

    def received(self, i=0):
        with open(os.path.join(self.dir, "server-%d.recv" % i), "rb") as f:
            return f.read()


class GoClient:
    """A client that waits for a line "go" on stdin before it connects (so
    that plainsight can be told its pid first) and prints its connection
    info as json lines at its end."""

    def go(self):
        self.proc.p.stdin.write(b"go\n")
        self.proc.p.stdin.flush()

    def finish(self):
        self.proc.check_ok(WORK_TIMEOUT)
        infos = read_rest_json(self.proc, "connection info")
        if not infos:
            raise TestFailure("%s printed no connection info" % self.proc.name)
        self.info = infos[-1]
        return self.info


class PyClient(GoClient):
    def __init__(self, ctx, port, send_data, recv_bytes, tag="client", wait_go=False, chunk=0):
        self.ctx = ctx
        self.tag = tag
        self.send_data = send_data
        send = ctx.write(tag + ".send", send_data)
        self.out = ctx.path(tag + ".recv")
        argv = [PYTHON, PEER, "client", "--port", str(port), "--send", send,
                "--recv-bytes", str(recv_bytes), "--out", self.out]
        if wait_go:
            argv.append("--wait-go")
        if chunk:
            argv += ["--chunk", str(chunk)]
        self.proc = ctx.start(argv, "python tls client " + tag,
                              stdin=subprocess.PIPE if wait_go else subprocess.DEVNULL,
                              stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        if wait_go:
            hello = read_json_line(self.proc, "pid")
            self.pid = hello["pid"]
        self.info = None

    def received(self):
        with open(self.out, "rb") as f:
            return f.read()


class PeerClient(GoClient):
    """One of our C clients (wolfssl_peer.c, gnutls_peer.c, ...): `EXE PORT
    SEND_FILE RECV_BYTES OUT_FILE [MORE_ARGS]`. It prints its pid, waits for
    go, sends the file's bytes, keeps the recv_bytes it reads in OUT_FILE
    (self.received once finished) and prints its connection info."""

    def __init__(self, ctx, exe, port, send_data, recv_bytes, more_args=(), env=None):
        self.out = ctx.path("client.recv")
        send = ctx.write("client.send", send_data)
        self.proc = ctx.start([exe, str(port), send, str(recv_bytes), self.out] + list(more_args),
                              os.path.basename(exe), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.pid = read_json_line(self.proc, "pid")["pid"]

    def finish(self):
        info = super().finish()
        with open(self.out, "rb") as f:
            self.received = f.read()
        return info


def py_exchange(ctx, cert, key, client_bytes, server_bytes):
    """One connection: the client sends client_bytes random bytes, the server
    answers with server_bytes. Returns (server, client), both finished."""
    srv = PyServer(ctx, cert, key, client_bytes, os.urandom(server_bytes))
    cli = PyClient(ctx, srv.port, os.urandom(client_bytes), server_bytes)
    cli.finish()
    srv.finish()
    return srv, cli


class CurlExchange:
    """curl POSTs a random body to openssl s_server, which answers with an
    HTTP/1.1 response fed on its stdin once the whole request has arrived."""

    def __init__(self, ctx, cert, key, body_size, resp_size):
        self.ctx = ctx
        openssl = require_program("openssl")
        self.curl_bin = require_program("curl")
        self.port = free_port()
        self.body = os.urandom(body_size)
        self.body_path = ctx.write("body", self.body)
        resp_body = os.urandom(resp_size)
        self.response = (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                         % resp_size) + resp_body
        self.resp_body = resp_body
        self.server = ctx.start([openssl, "s_server", "-quiet", "-naccept", "1",
                                 "-accept", "127.0.0.1:%d" % self.port, "-cert", cert, "-key", key],
                                "openssl s_server", stdin=subprocess.PIPE, collect_stdout=True)
        wait_until(lambda: listening(self.port) or self.server.p.poll() is not None, 20,
                   "s_server to listen on port %d" % self.port)
        if self.server.p.poll() is not None:
            raise TestFailure("s_server exited (%s) before listening; its stderr:"
                              % self.server.p.returncode, *indent(tail(self.server.stderr)))

    def request_complete(self):
        got = self.server.stdout_bytes
        head, sep, rest = got.partition(b"\r\n\r\n")
        return sep and len(rest) >= len(self.body)

    def run(self):
        self.out_path = self.ctx.path("curl.out")
        curl = self.ctx.start([self.curl_bin, "-sSk", "--http1.1", "-H", "Expect:",
                               "--max-time", str(WORK_TIMEOUT),
                               "https://127.0.0.1:%d/" % self.port,
                               "--data-binary", "@" + self.body_path, "-o", self.out_path],
                              "curl")
        self.curl = curl
        self.curl_pid = curl.pid
        # Answer only once the whole request is in: curl stops uploading when
        # an early response arrives.
        wait_until(lambda: self.request_complete() or curl.p.poll() is not None
                   or self.server.p.poll() is not None, WORK_TIMEOUT,
                   "s_server to receive the whole request")
        if not self.request_complete():
            raise TestFailure("s_server got %d bytes of the request (curl status %s, s_server status %s)"
                              % (len(self.server.stdout_bytes), curl.p.poll(), self.server.p.poll()),
                              "curl stderr:", *indent(tail(curl.stderr)),
                              "s_server stderr:", *indent(tail(self.server.stderr)))
        writer_err = []

        def feed():
            try:
                self.server.p.stdin.write(self.response)
                self.server.p.stdin.flush()
            except OSError as e:
                writer_err.append(e)

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        curl.check_ok(WORK_TIMEOUT + 10)
        t.join(WORK_TIMEOUT)
        if t.is_alive() or writer_err:
            raise TestFailure("feeding s_server's stdin failed: %r" % (writer_err or "timed out"))
        # curl has it all: now s_server may see EOF on stdin.
        try:
            self.server.p.stdin.close()
        except OSError:
            pass
        deadline = time.monotonic() + 10
        while self.server.p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        self.server.kill()  # -naccept 1 normally exits by itself
        self.server.join_readers()
        with open(self.out_path, "rb") as f:
            self.curl_got = f.read()
        self.server_got = self.server.stdout_bytes
        return self


def peer_exchange(ctx, exe, start_trace, to_server, to_client, more_args=(), env=None):
    """Our C client exe (a PeerClient) sends to_server to a Python server,
    which answers to_client; start_trace(pid, port) starts what traces the
    client. Each end's own record must be what the other sent. Returns
    (plainsight, client, server)."""
    cert, key = make_cert(ctx)
    srv = PyServer(ctx, cert, key, len(to_server), to_client)
    cli = PeerClient(ctx, exe, srv.port, to_server, len(to_client), more_args, env=env)
    ps = start_trace(cli.pid, srv.port)
    cli.go()
    cli.finish()
    srv.finish()
    compare_bytes("the server's own record of what it received", srv.received(0), to_server)
    compare_bytes("%s's own record of what it received" % cli.proc.name, cli.received, to_client)
    return ps, cli, srv


def check_peer_capture(ps, cli, srv, to_server, to_client, module="tls", one_write=False):
    """What plainsight (stopped here) captured of a peer_exchange: both ways
    byte-exact, with the client socket's fd and 4-tuple, nothing lost;
    one_write: the client's one write of to_server is one record."""
    ps.stop()
    records, summary, _ = ps.json_output()
    tuple_ = (LOCAL, cli.info["local"][1], LOCAL, srv.port)
    name = cli.proc.name
    writes = compare_stream(records, cli.pid, "write", to_server, "%s's writes" % name, fd=cli.info["fd"],
                            tuple_=tuple_, module=module)
    compare_stream(records, cli.pid, "read", to_client, "%s's reads" % name, fd=cli.info["fd"], tuple_=tuple_,
                   module=module)
    if one_write and len(writes) != 1:
        raise TestFailure("one write of %d bytes gave %d records: %s"
                          % (len(to_server), len(writes), [w["len"] for w in writes][:20]))
    if summary is None or summary.get("lost_bytes"):
        raise TestFailure("bytes lost: %r" % (summary,))


def request_page(cli, path, name):
    """Lets a client started as `sh -c 'read go; exec CLIENT'` go, asks
    s_server -www for path with an HTTP/1.0 GET on the client's stdin, waits
    for the page (or the client's end) and closes that stdin."""
    cli.p.stdin.write(b"go\nGET %s HTTP/1.0\r\n\r\n" % path.encode())
    cli.p.stdin.flush()
    wait_until(lambda: b"</HTML>" in cli.stdout_bytes.upper() or cli.p.poll() is not None, WORK_TIMEOUT,
               "%s to receive s_server's page" % name)
    cli.p.stdin.close()


def stdin_client_vs_s_server(ctx, client_argv, name, start_trace, to_server, to_client):
    """A command-line TLS client (bssl client, tstclnt) against openssl
    s_server, each passing its stdin to the other, which writes it to stdout:
    the client sends to_server, the server answers to_client. client_argv is
    the client's argv, given the server's port; the client starts only after
    start_trace(its pid, the port) returned plainsight, attached. Both programs' own
    records of what they received are checked. Returns (plainsight, the
    client's pid, port)."""
    from test_gnutls import feed
    cert, key = make_cert(ctx)
    port = free_port()
    srv = ctx.start(["openssl", "s_server", "-quiet", "-naccept", "1", "-accept", "127.0.0.1:%d" % port,
                     "-cert", cert, "-key", key], "openssl s_server", stdin=subprocess.PIPE, collect_stdout=True)
    wait_until(lambda: listening(port) or srv.p.poll() is not None, 20, "s_server to listen on %d" % port)
    # sh waits for "go": plainsight is told the client's pid before it connects
    cli = ctx.start(["sh", "-c", 'read go; exec "$@"', "sh"] + client_argv(port), name,
                    stdin=subprocess.PIPE, collect_stdout=True)
    ps = start_trace(cli.pid, port)
    cli.p.stdin.write(b"go\n")
    cli.p.stdin.flush()
    t1, e1 = feed(cli, to_server)
    wait_until(lambda: len(srv.stdout_bytes) >= len(to_server) or srv.p.poll() is not None
               or cli.p.poll() is not None, WORK_TIMEOUT, "s_server to receive %d bytes" % len(to_server))
    t2, e2 = feed(srv, to_client)
    wait_until(lambda: len(cli.stdout_bytes) >= len(to_client) or cli.p.poll() is not None,
               WORK_TIMEOUT, "%s to receive %d bytes" % (name, len(to_client)))
    t1.join(WORK_TIMEOUT)
    t2.join(WORK_TIMEOUT)
    if e1 or e2:
        raise TestFailure("feeding the programs failed: %r" % (e1 + e2), "%s stderr:" % name, *indent(tail(cli.stderr)))
    srv.p.stdin.close()
    cli.p.stdin.close()
    for proc in (srv, cli):
        proc.wait_or_kill(10)
        proc.join_readers()
    compare_bytes("s_server's own record: what it received vs what %s was given" % name, srv.stdout_bytes, to_server)
    compare_bytes("%s's own record: what it received vs what s_server was given" % name, cli.stdout_bytes, to_client)
    return ps, cli.pid, port


# nginx as the HTTP tests' server: everything it writes in ctx.tmp, one
# worker, in the foreground; %(http)s and %(server)s are each test's own.
NGINX_CONF = """
daemon off;
master_process on;
worker_processes 1;
user root;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/nginx-error.log info;
events { worker_connections 64; }
http {
    access_log %(tmp)s/nginx-access.log;
    client_body_temp_path %(tmp)s/nginx-body;
    proxy_temp_path %(tmp)s/nginx-proxy;
    fastcgi_temp_path %(tmp)s/nginx-fastcgi;
    uwsgi_temp_path %(tmp)s/nginx-uwsgi;
    scgi_temp_path %(tmp)s/nginx-scgi;
%(http)s
    server {
        listen 127.0.0.1:%(port)d ssl http2;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
%(server)s
    }
}
"""


def start_nginx(ctx, port, http="", server="        location / { root %(tmp)s/www; }"):
    """nginx 1.22 (Debian 12) on 127.0.0.1:port over TLS, HTTP/1.1 and
    HTTP/2 (`listen ... http2` is its `http2 on`), serving ctx.tmp/www unless
    server says otherwise; http and server are lines of its configuration
    (with %(tmp)s for ctx.tmp). Returns the process, listening."""
    require_program("nginx")
    cert, key = make_cert(ctx)
    tmp = dict(tmp=ctx.tmp)
    conf = NGINX_CONF % dict(tmp=ctx.tmp, port=port, cert=cert, key=key, http=http % tmp, server=server % tmp)
    path = ctx.write("nginx.conf", conf.encode())
    srv = ctx.start(["nginx", "-p", ctx.tmp, "-e", ctx.path("nginx-error.log"), "-c", path], "nginx")
    try:
        wait_until(lambda: listening(port) or srv.p.poll() is not None, 10, "nginx to listen on port %d" % port)
    except TestFailure:
        raise TestFailure("nginx does not listen on port %d; its error log:" % port,
                          *indent(tail(open(ctx.path("nginx-error.log")).read())))
    if srv.p.poll() is not None:
        raise TestFailure("nginx exited with status %d:" % srv.p.returncode, *indent(tail(srv.stderr)))
    return srv
