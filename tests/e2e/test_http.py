"""HTTP messages (runtime/http): real clients and servers on loopback over
TLS, plainsight's json messages compared field by field with what the client
says it sent and received (curl -v, its output files)."""

import os

import harness
from harness import TestFailure, free_port, indent, require_program, tail, wait_until
from tls_servers import start_nginx

TESTS, test = harness.registry()

# gzip for text: big.txt goes out chunked and gzip over HTTP/1.1
GZIP = """    gzip on;
    gzip_types text/plain;
    gzip_min_length 1;"""


def write_site(ctx):
    """Files nginx serves: a large text file (gzip, many chunks or DATA
    frames), a small one, a binary one (not valid UTF-8: body_b64)."""
    os.mkdir(ctx.path("www"))
    tag = os.urandom(4).hex()
    files = {
        "big.txt": "".join("line %d of a big file %s\n" % (i, tag) for i in range(4000)).encode(),
        "small.txt": ("small %s\n" % tag).encode(),
        "blob.bin": os.urandom(3000) + b"\xff\xfe",
    }
    for name, data in files.items():
        ctx.write(os.path.join("www", name), data)
    return files


def curl_blocks(verbose, mark):
    """curl -v's header blocks on lines starting with mark ('>' sent, '<'
    received): a list of lists of lines, one per message, start line first."""
    blocks, cur = [], None
    for raw in verbose.split("\n"):
        line = raw.rstrip("\r")
        if not line.startswith(mark):
            continue
        text = line[2:] if line.startswith(mark + " ") else ""
        if cur is None:
            if text:
                cur = [text]
            continue
        if text == "":
            blocks.append(cur)
            cur = None
        else:
            cur.append(text)
    return blocks


def fields(lines):
    out = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        out.append([name, value.strip()])
    return out


def run_curl(ctx, args, what):
    r = ctx.run(["curl", "-skv"] + args, timeout=60)
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode != 0:
        raise TestFailure("%s: curl failed (%d):" % (what, r.returncode), *indent(tail(err)))
    return err


def expect(what, got, want):
    if got != want:
        raise TestFailure("%s differs:" % what, "  plainsight: %r" % (got,), "  client:     %r" % (want,))


def body_of(msg):
    if "body_b64" in msg:
        import base64
        return base64.b64decode(msg["body_b64"])
    return msg["body"].encode("utf-8")


def objects(ps):
    """Every json line but the summary, in order of kind: records, then the rest."""
    records, _, others = ps.json_output()
    return records + others


def messages(ps, pid, kind):
    return [m for m in objects(ps) if m.get("type") == kind and m.get("pid") == pid and "proto" in m]


def check_exchange(ctx, msgs_req, msgs_resp, sent, received, bodies_sent, bodies_received, http2, what):
    """The client's messages against curl -v's blocks and the files."""
    if len(msgs_req) != len(sent) or len(msgs_resp) != len(received):
        raise TestFailure("%s: plainsight shows %d requests and %d responses of curl, curl says %d and %d"
                          % (what, len(msgs_req), len(msgs_resp), len(sent), len(received)))
    for i, (m, block) in enumerate(zip(msgs_req, sent)):
        method, path, _ = block[0].split(" ", 2)
        w = "%s: request %d" % (what, i + 1)
        expect(w + " proto", m["proto"], "http2" if http2 else "http1")
        expect(w + " method", m["method"], method)
        expect(w + " path", m["path"], path)
        want = fields(block)
        got = m["headers"]
        if http2:
            # curl -v shows :authority as Host and leaves the other pseudo-headers out
            expect(w + " pseudo-headers", [h[0] for h in got[:4]], [":method", ":path", ":scheme", ":authority"])
            host = [v for n, v in want if n.lower() == "host"]
            expect(w + " authority", m["authority"], host[0])
            want = [[n.lower(), v] for n, v in want if n.lower() != "host"]
            got = got[4:]
        else:
            host = [v for n, v in want if n == "Host"]
            expect(w + " authority", m["authority"], host[0])
        expect(w + " headers", got, want)
        expect(w + " body", body_of(m), bodies_sent[i])
        if m["first_ns"] > m["last_ns"]:
            raise TestFailure("%s: first_ns %d after last_ns %d" % (w, m["first_ns"], m["last_ns"]))
    for i, (m, block) in enumerate(zip(msgs_resp, received)):
        w = "%s: response %d" % (what, i + 1)
        expect(w + " status", m["status"], int(block[0].split(" ")[1]))
        got = m["headers"]
        if http2:
            expect(w + " :status", got[0], [":status", block[0].split(" ")[1]])
            got = got[1:]
        expect(w + " headers", got, fields(block))
        expect(w + " method", m["method"], msgs_req[i]["method"])
        expect(w + " path", m["path"], msgs_req[i]["path"])
        expect(w + " body", body_of(m), bodies_received[i])
        expect(w + " body_len", m["body_len"], len(bodies_received[i]))
        enc = [v for n, v in fields(block) if n.lower() == "content-encoding"]
        expect(w + " content_encoding", m.get("content_encoding"), enc[0] if enc else None)
    keys = {(m["fd"], m.get("sport"), m.get("dport")) for m in msgs_req + msgs_resp}
    if len(keys) != 1:
        raise TestFailure("%s: the messages are on %d connections, curl used one: %r" % (what, len(keys), keys))


def exchange(ctx, http2, asan=False):
    require_program("curl")
    files = write_site(ctx)
    port = free_port()
    start_nginx(ctx, port, GZIP)
    post = os.urandom(6).hex().encode() * 100
    ctx.write("post.txt", post)
    # nginx answers a POST to a file with 405 at once and, over HTTP/2, resets
    # the stream before the body (RST_STREAM NO_ERROR): HTTP/2's fourth
    # request is a GET with a header of its own.
    last = ["-H", "X-Second: yes"] if http2 else ["--data-binary", "@" + ctx.path("post.txt")]
    base = "https://127.0.0.1:%d/" % port
    proto = "--http2" if http2 else "--http1.1"
    if asan and not os.path.exists(harness.binary(asan=True)):
        raise TestFailure("ASan build not found: %s (make asan)" % harness.binary(asan=True))
    ps = ctx.start_plainsight(["tls", "-m", "json", "-q"], http=True, asan=asan)
    ps.wait_attached()
    outs = [ctx.path("out%d" % i) for i in range(4)]
    # four messages on one connection (--next keeps curl's connection cache):
    # gzip and chunked (http1) or gzip over DATA frames, small, binary, a POST
    args = [proto, "--compressed", "-H", "X-Plainsight-Test: %s" % os.urandom(3).hex(),
            base + "big.txt", "-o", outs[0], base + "small.txt", "-o", outs[1], base + "blob.bin", "-o", outs[2],
            "--next", "-skv", proto] + last + [base + "small.txt", "-o", outs[3]]
    curl = ctx.start(["curl", "-skv"] + args, "curl")
    curl.check_ok(60)
    ps.stop()
    sent, received = curl_blocks(curl.stderr, ">"), curl_blocks(curl.stderr, "<")
    got = [open(o, "rb").read() for o in outs]
    expect("curl's downloads", got[:3], [files["big.txt"], files["small.txt"], files["blob.bin"]])
    what = "curl %s" % proto
    check_exchange(ctx, messages(ps, curl.pid, "request"), messages(ps, curl.pid, "response"), sent, received,
                   [b"", b"", b"", b"" if http2 else post], got, http2, what)
    # the server saw the same requests: nginx's messages, read side
    srv_req = [m for m in objects(ps) if m.get("type") == "request" and m.get("comm") == "nginx"]
    cli_req = messages(ps, curl.pid, "request")
    expect(what + ": nginx's requests", [(m["method"], m["path"], m["headers"], body_of(m)) for m in srv_req],
           [(m["method"], m["path"], m["headers"], body_of(m)) for m in cli_req])
    resp = messages(ps, curl.pid, "response")
    if not http2:
        chunked = [r for r in resp if ["Transfer-Encoding", "chunked"] in r["headers"]]
        if not any(r.get("content_encoding") == "gzip" for r in chunked):
            raise TestFailure("%s: no chunked gzip response among %r" % (what, [r["headers"] for r in resp]))
    else:
        expect(what + ": stream ids", [m["stream_id"] for m in cli_req], [1, 3, 5, 7])
    if "body_b64" not in resp[2]:
        raise TestFailure("%s: the binary body is not body_b64" % what)
    if not [m for m in objects(ps) if "http_summary" in m]:
        raise TestFailure("%s: no http_summary line" % what)
    # other programs on the machine may speak anything; curl and nginx spoke HTTP throughout
    raw = [m for m in objects(ps) if m.get("proto") == "raw" and (m["pid"] == curl.pid or m["comm"] == "nginx")]
    if raw:
        raise TestFailure("%s: curl's or nginx's bytes given up as raw: %r" % (what, [m.get("note") for m in raw]))


@test("http_nginx_http1")
def http_nginx_http1(ctx):
    """curl --http1.1 against nginx over TLS: four requests on one
    connection (a chunked gzip response, a small one, a binary one, a POST);
    each request's method, path, Host and headers in order, each response's
    status, headers in order and decoded body equal what curl sent and got."""
    exchange(ctx, http2=False)


@test("http_nginx_http2")
def http_nginx_http2(ctx):
    """The same with curl --http2 and nginx's http2: streams 1, 3, 5, 7 on
    one connection, HPACK decoded by nghttp2, pseudo-headers first."""
    exchange(ctx, http2=True)


@test("http_nginx_http2_asan")
def http_nginx_http2_asan(ctx):
    """The HTTP/2 exchange with plainsight built with ASan+UBSan: the
    processor and nghttp2's inflater on real traffic, no report, no leak."""
    exchange(ctx, http2=True, asan=True)


@test("http_raw_keeps_records")
def http_raw_keeps_records(ctx):
    """--raw: the per-call records of before, no messages."""
    files = write_site(ctx)
    port = free_port()
    start_nginx(ctx, port, GZIP)
    ps = ctx.start_plainsight(["tls", "--raw", "-m", "json", "-q"], http=True)
    ps.wait_attached()
    curl = ctx.start(["curl", "-sk", "--http1.1", "https://127.0.0.1:%d/small.txt" % port], "curl")
    curl.check_ok(60)
    ps.stop()
    out = objects(ps)
    if any("proto" in m for m in out):
        raise TestFailure("--raw output has messages")
    recs = [m for m in out if m.get("event") == "tls_data" and m.get("pid") == curl.pid and m["dir"] == "read"]
    import base64
    data = b"".join(base64.b64decode(r["payload_b64"]) for r in recs)
    if not data.endswith(files["small.txt"]) or not data.startswith(b"HTTP/1.1 200"):
        raise TestFailure("--raw: curl's reads are not the response: %r" % data[:200])


# Debian's python3 with python3-httpx, python3-h2 and python3-grpcio (the
# Makefile's deps): not whatever python3 runs the tests.
DEBIAN_PYTHON = "/usr/bin/python3"
PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "http_peers.py")


def require_debian_module(ctx, module, package):
    r = ctx.run([DEBIAN_PYTHON, "-c", "import " + module], timeout=30)
    if r.returncode != 0:
        raise harness.TestSkip("%s has no %s: apt-get install %s (make deps)" % (DEBIAN_PYTHON, module, package))


@test("http_httpx_http2")
def http_httpx_http2(ctx):
    """Python httpx (h2) over HTTP/2 to nginx, three GETs on one connection:
    each request's headers after the pseudo-headers, each response's status,
    headers and body equal what httpx says it sent and got."""
    import base64
    import json
    require_debian_module(ctx, "httpx, h2", "python3-httpx python3-h2")
    files = write_site(ctx)
    port = free_port()
    start_nginx(ctx, port, GZIP)
    urls = ["https://127.0.0.1:%d/%s" % (port, n) for n in ("small.txt", "big.txt", "blob.bin")]
    ps = ctx.start_plainsight(["tls", "-m", "json", "-q"], http=True)
    ps.wait_attached()
    client = ctx.start([DEBIAN_PYTHON, PEERS, "httpx"] + urls, "httpx", collect_stdout=True)
    client.check_ok(60)
    ps.stop()
    client.join_readers()
    got = json.loads(client.stdout_bytes)
    reqs, resps = messages(ps, client.pid, "request"), messages(ps, client.pid, "response")
    expect("httpx's HTTP version", [g["http_version"] for g in got], ["HTTP/2"] * 3)
    expect("requests and responses seen", (len(reqs), len(resps)), (3, 3))
    for i, (g, req, resp) in enumerate(zip(got, reqs, resps)):
        w = "httpx request %d" % (i + 1)
        expect(w + " proto", req["proto"], "http2")
        expect(w + " path", req["path"], urls[i].split(str(port))[1])
        # On the wire (RFC 9113 8.2): names lowercase, Host as :authority,
        # no connection-specific fields; httpx's request object keeps them.
        want = [[n.lower(), v] for n, v in g["request_headers"]
                if n.lower() not in ("host", "connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                     "upgrade")]
        expect(w + " headers", [h for h in req["headers"] if not h[0].startswith(":")], want)
        expect(w + " status", resp["status"], g["status"])
        expect(w + " response headers", resp["headers"][1:], g["response_headers"])
        expect(w + " body", body_of(resp), base64.b64decode(g["body_b64"]))
    expect("httpx bodies", [body_of(r) for r in resps], [files["small.txt"], files["big.txt"], files["blob.bin"]])


def make_san_cert(ctx):
    """gRPC checks the name in subjectAltName."""
    cert, key = ctx.path("grpc-cert.pem"), ctx.path("grpc-key.pem")
    r = ctx.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=DNS:localhost", "-days", "1", "-keyout", key, "-out", cert], timeout=60)
    if r.returncode != 0:
        raise TestFailure("openssl req failed:", *indent(tail(r.stderr.decode("utf-8", "replace"))))
    return cert, key


@test("http_grpc_python")
def http_grpc_python(ctx):
    """Debian's python3-grpcio, client and server over TLS: three unary
    calls on one channel (one gzip-compressed, one failing with NOT_FOUND).
    The client's json shows service and method from :path, each message's
    bytes and compressed flag, grpc-status and grpc-message from the
    trailers, as the client sent and received them."""
    import base64
    import json
    import subprocess
    require_debian_module(ctx, "grpc", "python3-grpcio")
    cert, key = make_san_cert(ctx)
    server = ctx.start([DEBIAN_PYTHON, PEERS, "grpc-server", cert, key], "grpc server",
                       stdin=subprocess.PIPE, collect_stdout=True)
    wait_until(lambda: b"\n" in server.stdout_bytes or server.p.poll() is not None, 30, "the gRPC server's port")
    if server.p.poll() is not None:
        raise TestFailure("the gRPC server exited:", *indent(tail(server.stderr)))
    port = json.loads(server.stdout_bytes.split(b"\n")[0])["port"]
    ps = ctx.start_plainsight(["tls", "-m", "json", "-q"], http=True)
    ps.wait_attached()
    client = ctx.start([DEBIAN_PYTHON, PEERS, "grpc-client", str(port), cert], "grpc client", collect_stdout=True)
    client.check_ok(60)
    server.p.stdin.close()
    ps.stop()
    client.join_readers()
    calls = json.loads(client.stdout_bytes)
    reqs = [m for m in messages(ps, client.pid, "request") if m["proto"] == "grpc"]
    resps = [m for m in messages(ps, client.pid, "response") if m["proto"] == "grpc"]
    expect("gRPC calls seen (requests, responses)", (len(reqs), len(resps)), (3, 3))
    for i, (call, req, resp) in enumerate(zip(calls, reqs, resps)):
        w = "gRPC call %d (%s)" % (i + 1, call["method"])
        expect(w + " service", req["grpc"]["service"], "plainsight.Echo")
        expect(w + " method", req["grpc"]["method"], call["method"])
        msgs = req["grpc"]["messages"]
        expect(w + " request messages", len(msgs), 1)
        expect(w + " compressed flag", msgs[0]["compressed"], call["compressed"])
        # a compressed message is shown decompressed (grpc-encoding), saying so
        expect(w + " encoding", msgs[0].get("encoding"), "gzip" if call["compressed"] else None)
        expect(w + " request bytes", base64.b64decode(msgs[0]["data_b64"]), base64.b64decode(call["request_b64"]))
        expect(w + " grpc-status", resp["grpc"].get("status"), str(call["code"]))
        if call["code"]:
            expect(w + " grpc-message", resp["grpc"].get("message"), call["details"])
        else:
            rmsgs = resp["grpc"]["messages"]
            expect(w + " response messages", len(rmsgs), 1)
            expect(w + " response bytes", base64.b64decode(rmsgs[0]["data_b64"]),
                   base64.b64decode(call["response_b64"]))


@test("http_text_tsize")
def http_text_tsize(ctx):
    """-m text -t 20: curl's response as one block (header line, status
    line with its request, fields, the body's first 20 decoded bytes) and a
    line that says how many bytes were not shown."""
    files = write_site(ctx)
    port = free_port()
    start_nginx(ctx, port, GZIP)
    ps = ctx.start_plainsight(["tls", "-q", "-t", "20"], http=True)
    ps.wait_attached()
    curl = ctx.start(["curl", "-sk", "--http1.1", "--compressed", "-o", ctx.path("got"),
                      "https://127.0.0.1:%d/big.txt" % port], "curl")
    curl.check_ok(60)
    ps.stop()
    text = ps.output().decode("utf-8", "replace")
    blocks = [b for b in text.split("\n2") if " http1 response pid=%d " % curl.pid in b]
    if len(blocks) != 1:
        raise TestFailure("not one http1 response block of curl's in the text output:", *indent(tail(text)))
    lines = blocks[0].split("\n")
    big = files["big.txt"]
    want_body = big[:20].decode().split("\n")
    expect("status line", lines[1], "| HTTP/1.1 200 OK    (GET /big.txt)")
    if "| Content-Encoding: gzip" not in lines:
        raise TestFailure("no Content-Encoding field line:", *indent(lines[:20]))
    start = lines.index("| ") + 1
    expect("body lines", lines[start:start + len(want_body)], ["| " + l for l in want_body])
    expect("truncation line", lines[start + len(want_body)],
           "| [... %d more bytes of body not shown: -t/--tsize]" % (len(big) - 20))
    expect("curl's download", open(ctx.path("got"), "rb").read(), big)


@test("http_unknown_tuple_unix_socket")
def http_unknown_tuple_unix_socket(ctx):
    """curl --http1.1 --unix-socket against nginx listening on a Unix socket
    over TLS: the records have an fd but no 4-tuple (no inet socket behind
    it), so connections are told apart by pid and fd alone. Three requests
    on one connection and a second curl's on another: each response paired
    with its own request, in order, on its own connection."""
    require_program("curl")
    files = write_site(ctx)
    sock = ctx.path("nginx.sock")
    port = free_port()
    start_nginx(ctx, port, server="""        location / { root %(tmp)s/www; }
    }
    server {
        listen unix:""" + sock + """ ssl;
        ssl_certificate """ + ctx.path("cert.pem") + """;
        ssl_certificate_key """ + ctx.path("key.pem") + """;
        location / { root %(tmp)s/www; }""")
    ps = ctx.start_plainsight(["tls", "-m", "json", "-q"], http=True)
    ps.wait_attached()
    base = "https://localhost/"
    names = ["small.txt", "blob.bin", "big.txt"]
    outs = [ctx.path("out%d" % i) for i in range(len(names))]
    args = ["--http1.1", "--unix-socket", sock]
    for name, out in zip(names, outs):
        args += [base + name, "-o", out]
    curl = ctx.start(["curl", "-skv"] + args, "curl")
    curl.check_ok(60)
    # a second connection: nginx's worker gives it the fd number the first had
    again = ctx.start(["curl", "-sk", "--http1.1", "--unix-socket", sock, base + "small.txt?again",
                       "-o", ctx.path("again")], "curl again")
    again.check_ok(60)
    ps.stop()
    got = [open(o, "rb").read() for o in outs]
    expect("curl's downloads", got, [files[n] for n in names])
    # nginx's side: every response paired with its own request, the second connection's too
    ngx = [m for m in objects(ps) if m.get("comm") == "nginx" and m.get("type") == "response" and "proto" in m]
    expect("nginx's responses (path, status, body)", [(m["path"], m["status"], body_of(m)) for m in ngx],
           [("/" + n, 200, files[n]) for n in names] + [("/small.txt?again", 200, files["small.txt"])])
    sent, received = curl_blocks(curl.stderr, ">"), curl_blocks(curl.stderr, "<")
    reqs, resps = messages(ps, curl.pid, "request"), messages(ps, curl.pid, "response")
    for m in reqs + resps:
        if m.get("sport") or m.get("dport") or m.get("saddr"):
            raise TestFailure("a message over a Unix socket names a 4-tuple: %r" % {k: v for k, v in m.items() if k != "body"})
    check_exchange(ctx, reqs, resps, sent, received, [b""] * 3, got, False, "curl --unix-socket")


@test("http_body_until_close")
def http_body_until_close(ctx):
    """A Python http.server over TLS answers HTTP/1.0 with no Content-Length
    (the body ends at the close), to one curl asking twice (two connections
    on one fd number, one after the other). The first response of curl and of
    the server goes out complete, no note, when the fd is seen to hold the
    next connection; the last, still open for plainsight at its exit, whole
    but marked as cut by exit. Bodies equal what curl received."""
    import json
    import subprocess
    from tls_servers import make_cert
    require_program("curl")
    cert, key = make_cert(ctx)
    server = ctx.start([DEBIAN_PYTHON, PEERS, "close-server", cert, key, "2"], "http.server",
                       stdin=subprocess.DEVNULL, collect_stdout=True)
    wait_until(lambda: b"\n" in server.stdout_bytes or server.p.poll() is not None, 30, "http.server's port")
    if server.p.poll() is not None:
        raise TestFailure("http.server exited:", *indent(tail(server.stderr)))
    port = json.loads(server.stdout_bytes.split(b"\n")[0])["port"]
    ps = ctx.start_plainsight(["tls", "-m", "json", "-q"], http=True)
    ps.wait_attached()
    paths = ["/first-%s" % os.urandom(3).hex(), "/second-%s" % os.urandom(3).hex()]
    outs = [ctx.path("out0"), ctx.path("out1")]
    curl = ctx.start(["curl", "-sk", "--http1.1", "https://127.0.0.1:%d%s" % (port, paths[0]), "-o", outs[0],
                      "https://127.0.0.1:%d%s" % (port, paths[1]), "-o", outs[1]], "curl")
    curl.check_ok(60)
    server.check_ok(60)
    ps.stop()
    got = [open(o, "rb").read() for o in outs]
    expect("curl's downloads", got, [("body of %s\n" % p).encode() + b"x" * 5000 for p in paths])
    cut = "body delimited by the connection's close: cut by exit, the connection still open"
    for side, resps in (("curl", messages(ps, curl.pid, "response")),
                        ("http.server", messages(ps, server.pid, "response"))):
        expect(side + "'s responses (path, status, version, body)",
               [(m["path"], m["status"], m["version"], body_of(m)) for m in resps],
               [(p, 200, "HTTP/1.0", b) for p, b in zip(paths, got)])
        expect(side + "'s responses' notes", [m.get("note") for m in resps], [None, cut])


@test("http_h2_server_push")
def http_h2_server_push(ctx):
    """nginx 1.22's http2_push: a GET of /push.html over HTTP/2 (Python h2,
    ENABLE_PUSH 1) draws a PUSH_PROMISE for /pushed.txt. The client's json
    shows the promised request (push_promise, on the promised stream id,
    method and path as promised) and the pushed response on that stream,
    headers and body as h2 received them; the page's response on stream 1."""
    import base64
    import json
    require_debian_module(ctx, "h2", "python3-h2")
    files = write_site(ctx)
    ctx.write("www/push.html", b"<html>push " + os.urandom(4).hex().encode() + b"</html>\n")
    ctx.write("www/pushed.txt", files["small.txt"] + b"pushed\n")
    port = free_port()
    start_nginx(ctx, port, server="""        location / { root %(tmp)s/www; }
        location = /push.html { root %(tmp)s/www; http2_push /pushed.txt; }""")
    ps = ctx.start_plainsight(["tls", "-m", "json", "-q"], http=True)
    ps.wait_attached()
    client = ctx.start([DEBIAN_PYTHON, PEERS, "h2-push", str(port), "/push.html"], "h2 client", collect_stdout=True)
    client.check_ok(60)
    ps.stop()
    client.join_readers()
    got = json.loads(client.stdout_bytes)
    pushed = [g for g in got if g["promised_by"] == 1]
    if len(pushed) != 1:
        raise TestFailure("nginx pushed %d streams, not one: %r" % (len(pushed), got))
    push = pushed[0]
    expect("the pushed body h2 received", base64.b64decode(push["body_b64"]), ctx.read("www/pushed.txt"))
    reqs, resps = messages(ps, client.pid, "request"), messages(ps, client.pid, "response")
    promised = [m for m in reqs if m.get("push_promise")]
    expect("promised requests seen", len(promised), 1)
    m = promised[0]
    expect("promised request stream_id", m["stream_id"], push["stream_id"])
    expect("promised request headers", m["headers"], push["request_headers"])
    expect("promised request method and path", (m["method"], m["path"]), ("GET", "/pushed.txt"))
    by_stream = {r["stream_id"]: r for r in resps}
    expect("response stream ids", sorted(by_stream), sorted(g["stream_id"] for g in got))
    for g in got:
        r = by_stream[g["stream_id"]]
        w = "stream %d's response" % g["stream_id"]
        expect(w + " headers", r["headers"], g["response_headers"])
        expect(w + " body", body_of(r), base64.b64decode(g["body_b64"]))
        expect(w + " path", r["path"], "/push.html" if g["stream_id"] == 1 else "/pushed.txt")
    expect("the page", body_of(by_stream[1]), ctx.read("www/push.html"))
