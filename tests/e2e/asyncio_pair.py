"""Two TLS connections at once over Python's asyncio, whose TLS runs on
ssl.SSLObject and memory BIOs: the client half of node_pair.js, for
test_memory_bio.py.

  python3 asyncio_pair.py PORT_A PORT_B REQ_A RESP_A REQ_B RESP_B

Reads a line from stdin first (the test attaches plainsight meanwhile), then
connects to both ports, sends REQ_X on connection X while both are open,
reads exactly RESP_X (checked) and prints
{"a": {"local": [...], "peer": [...]}, "b": {...}, "pid": ...}.
"""

import asyncio
import json
import os
import ssl
import sys


async def connection(port, request, response, result):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    sock = writer.get_extra_info("socket")
    result.update(local=list(sock.getsockname()[:2]), peer=list(sock.getpeername()[:2]))
    return reader, writer


async def main(ports, files):
    result = {"pid": os.getpid(), "a": {}, "b": {}}
    reqs = {x: open(files[i * 2], "rb").read() for i, x in enumerate("ab")}
    resps = {x: open(files[i * 2 + 1], "rb").read() for i, x in enumerate("ab")}
    # Both are connected before either sends: their traffic interleaves.
    conns = await asyncio.gather(*(connection(ports[x], reqs[x], resps[x], result[x]) for x in "ab"))

    async def exchange(x, reader, writer):
        writer.write(reqs[x])
        await writer.drain()
        got = await reader.readexactly(len(resps[x]))
        if got != resps[x]:
            sys.exit("asyncio_pair: connection %s: the bytes differ from what was sent" % x)
    await asyncio.gather(*(exchange(x, r, w) for x, (r, w) in zip("ab", conns)))
    print(json.dumps(result), flush=True)
    for _, w in conns:
        w.close()


if __name__ == "__main__":
    if len(sys.argv) != 7:
        sys.exit("usage: asyncio_pair.py PORT_A PORT_B REQ_A RESP_A REQ_B RESP_B")
    sys.stdin.readline()
    asyncio.run(asyncio.wait_for(main({"a": int(sys.argv[1]), "b": int(sys.argv[2])}, sys.argv[3:]), 60))
