"""Loss accounting: with a ring buffer far too small for the traffic, what
does not arrive is counted, and the counters add up to exactly what the
traced program moved."""

import os

import harness
from harness import TestFailure, indent, tail
from tls_servers import PyClient, PyServer, make_cert

TESTS, test = harness.registry()
MiB = 1024 * 1024


def real_bytes(records):
    """Bytes that really arrived: lost bytes are zeros inside len."""
    return sum(r["len"] - r.get("lost_bytes", 0) for r in records)


@test("loss_counted_with_tiny_ringbuf")
def loss_counted_with_tiny_ringbuf(ctx):
    cert, key = make_cert(ctx)
    sent, answered = 4 * MiB, 4 * MiB
    srv = PyServer(ctx, cert, key, sent, os.urandom(answered))
    cli = PyClient(ctx, srv.port, os.urandom(sent), answered, wait_go=True)
    # 16 KiB of ring buffer: a 32 KiB chunk never fits, so loss is certain.
    ps = ctx.start_plainsight(["tls", "-m", "json", "-p", str(cli.pid), "--mapsize", "16"])
    ps.wait_attached()
    cli.go()
    cli.finish()
    srv.finish()
    stderr = ps.stop()
    records, summary, _ = ps.json_output()
    if summary is None:
        raise TestFailure("no summary line in the json output")
    lost = summary["lost"]
    got = real_bytes(records)
    moved = sent + answered
    detail = ["records: %d, real bytes %d, len sum %d" % (len(records), got, sum(r["len"] for r in records)),
              "summary: %r" % (summary,)]
    if lost["ringbuf_bytes"] == 0 or lost["ringbuf_events"] == 0:
        raise TestFailure("a 16 KiB ring buffer lost nothing of %d bytes: the test proves nothing" % moved,
                          *detail)
    if got + lost["ringbuf_bytes"] != moved:
        raise TestFailure("captured %d + lost %d = %d bytes, but the client moved %d"
                          % (got, lost["ringbuf_bytes"], got + lost["ringbuf_bytes"], moved), *detail)
    for key in ("read_fail", "save_full", "truncated_bytes", "malformed", "write_errors"):
        if lost.get(key):
            raise TestFailure("unexpected loss %s=%r" % (key, lost[key]), *detail)
    if "lost" not in stderr or "raise --mapsize" not in stderr:
        raise TestFailure("the exit summary on stderr does not say what was lost:",
                          *indent(tail(stderr)))
