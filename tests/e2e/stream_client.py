"""A WebSocket peer for test_stream.py, run by Debian's python3 (websockets,
protobuf): `client` reads eCaptureQ's stream, decoding each message with the
LogEntry schema that protoc compiled into --pb-dir, and prints it as a json
line; `server` takes --eventaddr ws:// connections and prints each text
message as it came.

  stream_client.py client --url ws://H:P/ --pb-dir DIR [--stall-after N]
  stream_client.py server --port P
"""

import argparse
import asyncio
import base64
import json
import socket
import sys
import time


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def decode(pb, data):
    entry = pb.LogEntry()
    entry.ParseFromString(data)
    out = {"log_type": entry.log_type, "payload": entry.WhichOneof("payload")}
    if out["payload"] == "event_payload":
        e = entry.event_payload
        out["event"] = {"timestamp": e.timestamp, "uuid": e.uuid, "src_ip": e.src_ip, "src_port": e.src_port,
                        "dst_ip": e.dst_ip, "dst_port": e.dst_port, "pid": e.pid, "pname": e.pname,
                        "type": e.type, "length": e.length,
                        "payload_b64": base64.b64encode(e.payload).decode()}
    elif out["payload"] == "heartbeat_payload":
        h = entry.heartbeat_payload
        out["heartbeat"] = {"timestamp": h.timestamp, "count": h.count, "message": h.message}
    elif out["payload"] == "run_log":
        out["run_log"] = entry.run_log
    return out


async def client(args):
    import websockets
    sys.path.insert(0, args.pb_dir)
    import ecaptureq_pb2 as pb

    host, port = args.url[len("ws://"):].split("/")[0].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    if args.stall_after is not None:
        # a reader that stops: its receive buffer small, so that plainsight's side fills soon
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    async with websockets.connect(args.url, sock=sock, max_size=None, max_queue=1,
                                  read_limit=4096, ping_interval=None) as ws:
        emit({"connected": True})
        n = 0
        try:
            async for msg in ws:
                emit(decode(pb, msg))
                n += 1
                if args.stall_after is not None and n >= args.stall_after:
                    emit({"stalled": True})
                    await asyncio.sleep(3600)
        except websockets.ConnectionClosed:
            pass
    emit({"closed": True})


async def server(args):
    import websockets

    async def handler(ws, path=None):
        emit({"connected": True})
        try:
            async for msg in ws:
                if isinstance(msg, str):
                    emit({"line": msg})
                else:
                    emit({"binary_b64": base64.b64encode(msg).decode()})
        except websockets.ConnectionClosed:
            pass

    async with websockets.serve(handler, "127.0.0.1", args.port, max_size=None, ping_interval=None):
        emit({"listening": args.port})
        await asyncio.Future()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("client")
    c.add_argument("--url", required=True)
    c.add_argument("--pb-dir", required=True)
    c.add_argument("--stall-after", type=int)
    s = sub.add_parser("server")
    s.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    asyncio.run(client(args) if args.cmd == "client" else server(args))


if __name__ == "__main__":
    main()
