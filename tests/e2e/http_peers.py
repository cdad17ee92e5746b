"""HTTP/2 clients and a gRPC server for test_http.py, run with Debian's
python3 (python3-httpx, python3-h2, python3-grpcio). Each prints one json
line of what it really sent and received.

  http_peers.py httpx URL...                  GETs over one HTTP/2 connection
  http_peers.py grpc-server CERT KEY          serves /plainsight.Echo/*; prints {"port": N}
  http_peers.py grpc-client PORT CERT         three calls on one channel
  http_peers.py h2-push PORT PATH              one GET with server push allowed (h2,
                                              ENABLE_PUSH 1); prints the streams it saw
  http_peers.py close-server CERT KEY N       HTTP/1.0 over TLS, N requests, each
                                              body ended by the close alone; prints {"port": N}
"""

import base64
import json
import sys


def b64(b):
    return base64.b64encode(b).decode()


def httpx_client(urls):
    import httpx
    out = []
    with httpx.Client(http2=True, verify=False) as client:
        for url in urls:
            r = client.get(url, headers={"x-plainsight-test": "httpx"})
            out.append({"http_version": r.http_version, "status": r.status_code,
                        "request_headers": [[k.decode(), v.decode()] for k, v in r.request.headers.raw],
                        "response_headers": [[k.decode(), v.decode()] for k, v in r.headers.raw],
                        "body_b64": b64(r.content)})
    print(json.dumps(out), flush=True)


def grpc_server(cert, key):
    from concurrent import futures
    import grpc

    def echo(request, context):
        return request[::-1]

    def fail(request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing: " + request.decode())

    handlers = {"Reverse": grpc.unary_unary_rpc_method_handler(echo),
                "Fail": grpc.unary_unary_rpc_method_handler(fail)}
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("plainsight.Echo", handlers),))
    creds = grpc.ssl_server_credentials([(open(key, "rb").read(), open(cert, "rb").read())])
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    print(json.dumps({"port": port}), flush=True)
    sys.stdin.read()  # until the test closes stdin
    server.stop(0)


def grpc_client(port, cert):
    import grpc
    creds = grpc.ssl_channel_credentials(root_certificates=open(cert, "rb").read())
    calls = []
    with grpc.secure_channel("localhost:%d" % port, creds) as channel:
        reverse = channel.unary_unary("/plainsight.Echo/Reverse")
        fail = channel.unary_unary("/plainsight.Echo/Fail")
        for method, fn, request, compression in [("Reverse", reverse, b"hello plainsight", None),
                                                 ("Reverse", reverse, b"z" * 2000, grpc.Compression.Gzip),
                                                 ("Fail", fail, b"thing-42", None)]:
            call = {"method": method, "request_b64": b64(request), "compressed": compression is not None}
            try:
                call["response_b64"] = b64(fn(request, compression=compression, timeout=30))
                call["code"] = 0
            except grpc.RpcError as e:
                call["code"] = e.code().value[0]
                call["details"] = e.details()
            calls.append(call)
    print(json.dumps(calls), flush=True)


def h2_push_client(port, path):
    """GET path over one HTTP/2 connection with SETTINGS_ENABLE_PUSH 1 (h2
    sends it by default; set here to say so) until the response and every
    pushed response have ended. Prints [{"stream_id", "promised_by",
    "request_headers", "response_headers", "body_b64"}], the request first."""
    import socket
    import ssl
    import h2.config
    import h2.connection
    import h2.events
    import h2.settings

    tls = ssl.create_default_context()
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    tls.set_alpn_protocols(["h2"])
    sock = tls.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30), server_hostname="localhost")
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    conn.update_settings({h2.settings.SettingCodes.ENABLE_PUSH: 1})
    request = [(":method", "GET"), (":path", path), (":scheme", "https"), (":authority", "localhost:%d" % port),
               ("user-agent", "http_peers h2-push")]
    conn.send_headers(1, request, end_stream=True)
    sock.sendall(conn.data_to_send())
    streams = {1: {"stream_id": 1, "promised_by": None, "request_headers": request, "response_headers": [],
                   "body": b""}}
    open_streams = {1}
    while open_streams:
        data = sock.recv(65536)
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.PushedStreamReceived):
                streams[ev.pushed_stream_id] = {"stream_id": ev.pushed_stream_id, "promised_by": ev.parent_stream_id,
                                                "request_headers": list(ev.headers), "response_headers": [],
                                                "body": b""}
                open_streams.add(ev.pushed_stream_id)
            elif isinstance(ev, h2.events.ResponseReceived):
                streams[ev.stream_id]["response_headers"] = list(ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                streams[ev.stream_id]["body"] += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                open_streams.discard(ev.stream_id)
        sock.sendall(conn.data_to_send())
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    out = []
    for sid in sorted(streams):
        st = streams[sid]
        st["request_headers"] = [list(h) for h in st["request_headers"]]
        st["response_headers"] = [list(h) for h in st["response_headers"]]
        st["body_b64"] = b64(st.pop("body"))
        out.append(st)
    print(json.dumps(out), flush=True)


def close_server(cert, key, n):
    """Answers GET /NAME with HTTP/1.0, no Content-Length: the body
    ("body of /NAME" and 5000 bytes) ends when the connection closes."""
    import http.server
    import ssl

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(("body of %s\n" % self.path).encode() + b"x" * 5000)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    for _ in range(n):
        server.handle_request()


if __name__ == "__main__":
    if sys.argv[1] == "httpx":
        httpx_client(sys.argv[2:])
    elif sys.argv[1] == "grpc-server":
        grpc_server(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "grpc-client":
        grpc_client(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "h2-push":
        h2_push_client(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "close-server":
        close_server(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("usage: http_peers.py httpx URL... | grpc-server CERT KEY | grpc-client PORT CERT | h2-push PORT PATH | close-server CERT KEY N")
