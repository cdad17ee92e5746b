"""Loss accounting: with a ring buffer far too small for the traffic, what
does not arrive is counted, exactly: every record's payload is the bytes of
its call that arrived and nothing else (no zeros standing in), its gaps name
the missing ranges to the byte, and the summary's captured and lost bytes
add up to what the traced program moved. One test, a case per module (tls,
gnutls, nss, wolfssl, mbedtls; BoringSSL through tls), each with a client of
its library."""

import os
import re
import signal
import time

import harness
from harness import TestFailure, indent, tail
from tls_servers import PyClient, PyServer, make_cert

TESTS, test = harness.registry()
MiB = 1024 * 1024

SUMMARY_RE = re.compile(r"plainsight: stopped: (\d+) records, (\d+) bytes captured, (\d+) bytes lost "
                        r"\((\d+) records, (\d+) calls incomplete\)")


def pieces(record):
    """(call offset, bytes) of each run of the call that arrived, in order."""
    out, at, lost = [], 0, 0
    payload = record["payload"]
    for offset, length in record.get("gaps", []):
        n = offset - lost - at
        if n > 0:
            out.append((offset - n, payload[at:at + n]))
        at += max(n, 0)
        lost += length
    if at < len(payload):
        out.append((at + lost, payload[at:]))
    return out


def check_gaps_well_formed(record, what):
    gaps = record.get("gaps", [])
    call_len = record["len"] + record.get("lost_bytes", 0)
    end = -1
    for offset, length in gaps:
        if length <= 0 or offset <= end or offset + length > call_len:
            raise TestFailure("%s: gaps %r do not fit a call of %d bytes" % (what, gaps, call_len))
        end = offset + length
    if sum(length for _, length in gaps) != record.get("lost_bytes", 0):
        raise TestFailure("%s: gaps %r do not add up to lost_bytes %r" % (what, gaps, record.get("lost_bytes")))


def place_calls(records, stream, what):
    """Finds each record's call in stream (the bytes the client moved that
    way, in call order): its payload must be exactly the bytes of the call
    outside its gaps. Returns the bytes of calls no record shows at all."""
    pos, unseen = 0, 0
    for i, r in enumerate(records):
        name = "%s record %d (len %d, lost %d, gaps %r)" % (what, i, r["len"], r.get("lost_bytes", 0),
                                                             r.get("gaps", [])[:4])
        check_gaps_well_formed(r, name)
        call_len = r["len"] + r.get("lost_bytes", 0)
        runs = pieces(r)
        start = pos
        if runs:
            offset, first = runs[0]
            found = stream.find(first, pos + offset)
            if found < 0:
                raise TestFailure("%s: its first %d captured bytes are nowhere in what was sent after byte %d"
                                  % (name, len(first), pos))
            start = found - offset
        for offset, data in runs:
            if stream[start + offset:start + offset + len(data)] != data:
                raise TestFailure("%s: the bytes at call offset %d are not what was sent at stream byte %d"
                                  % (name, offset, start + offset))
        unseen += start - pos
        pos = start + call_len
    if pos > len(stream):
        raise TestFailure("%s: the records cover %d bytes, the client moved %d" % (what, pos, len(stream)))
    return unseen + len(stream) - pos


# ---- every module's loss accounting: one test, a case per module ----------------------
#
# Each case starts a client that sends 4 MiB and reads 4 MiB back through its
# library, traced with 64 KiB of ring buffer: two 32 KiB chunks never fit at
# once, so a call of 4 MiB loses chunks in its middle, and reads are lost
# whole. Returns (client, plainsight); the client waits for go().


def tls_client(ctx, port, to_server, n_in):
    cli = PyClient(ctx, port, to_server, n_in, wait_go=True)
    ps = ctx.start_plainsight(["tls", "-m", "json", "-p", str(cli.pid), "--mapsize", "64"])
    ps.wait_attached()
    return cli, ps


def gnutls_client(ctx, port, to_server, n_in):
    from test_gnutls import GnutlsPeerClient, build_peer, start_gnutls
    cli = GnutlsPeerClient(ctx, build_peer(ctx), port, to_server, n_in)
    return cli, start_gnutls(ctx, ["-m", "json", "-p", str(cli.pid), "--mapsize", "64"])


def nss_client(ctx, port, to_server, n_in):
    from test_nss import build_nss_peer, start_nss
    from tls_servers import PeerClient
    cli = PeerClient(ctx, build_nss_peer(ctx), port, to_server, n_in)
    return cli, start_nss(ctx, ["-m", "json", "-p", str(cli.pid), "--mapsize", "64"])


def boringssl_client(ctx, port, to_server, n_in):
    from test_boringssl import build_boringssl_peer, start_tls
    from tls_servers import PeerClient
    cli = PeerClient(ctx, build_boringssl_peer(ctx), port, to_server, n_in)
    return cli, start_tls(ctx, cli.pid, ("-m", "json", "--mapsize", "64"))


def libs_client(module):
    def start_client(ctx, port, to_server, n_in):
        from test_libs import build_client, start
        from tls_servers import PeerClient
        cli = PeerClient(ctx, build_client(ctx, module), port, to_server, n_in)
        return cli, start(ctx, module, ["-m", "json", "-p", str(cli.pid), "--mapsize", "64"])
    return start_client


# test name, how its client starts, whether the client hands its library the
# 4 MiB in one call (so that some record must show gaps: Mbed TLS takes at
# most a record's worth a call)
LOSS_CASES = [
    ("loss_counted_with_tiny_ringbuf", tls_client, True),
    ("gnutls_loss_counted_with_tiny_ringbuf", gnutls_client, True),
    ("nss_loss_counted_with_tiny_ringbuf", nss_client, True),
    ("boringssl_loss_counted_with_tiny_ringbuf", boringssl_client, True),
    ("wolfssl_loss_counted_with_tiny_ringbuf", libs_client("wolfssl"), True),
    ("mbedtls_loss_counted_with_tiny_ringbuf", libs_client("mbedtls"), False),
]


def check_loss(ctx, start_client, one_call):
    cert, key = make_cert(ctx)
    sent, answered = 4 * MiB, 4 * MiB
    to_server, to_client = os.urandom(sent), os.urandom(answered)
    srv = PyServer(ctx, cert, key, sent, to_client)
    cli, ps = start_client(ctx, srv.port, to_server, answered)
    cli.go()
    cli.finish()
    srv.finish()
    stderr = ps.stop()
    records, summary, _ = ps.json_output()
    if summary is None:
        raise TestFailure("no summary line in the json output")
    lost = summary["lost"]
    moved = sent + answered
    writes = [r for r in records if r.get("dir") == "write"]
    reads = [r for r in records if r.get("dir") == "read"]
    detail = ["records: %d (%d writes, %d reads), payload bytes %d, lost_bytes in records %d"
              % (len(records), len(writes), len(reads), sum(r["len"] for r in records),
                 sum(r.get("lost_bytes", 0) for r in records)),
              "summary: %r" % (summary,)]
    if lost["ringbuf_bytes"] == 0 or lost["ringbuf_events"] == 0:
        raise TestFailure("a 64 KiB ring buffer lost nothing of %d bytes: the test proves nothing" % moved,
                          *detail)
    if one_call and not any(r.get("gaps") for r in records):
        raise TestFailure("no record has a gap: the test proves nothing about them", *detail)
    for key in ("read_fail", "save_full", "truncated_bytes", "malformed", "write_errors", "unwritten_bytes"):
        if lost.get(key):
            raise TestFailure("unexpected loss %s=%r" % (key, lost[key]), *detail)

    unseen = place_calls(writes, to_server, "write") + place_calls(reads, to_client, "read")
    captured = sum(r["len"] for r in records)
    in_records = sum(r.get("lost_bytes", 0) for r in records)
    if summary["bytes"] != captured:
        raise TestFailure("summary bytes %d, the records carry %d" % (summary["bytes"], captured), *detail)
    if summary["gap_bytes"] != in_records:
        raise TestFailure("summary gap_bytes %d, the records' gaps add up to %d"
                          % (summary["gap_bytes"], in_records), *detail)
    if summary["bytes"] + summary["lost_bytes"] != moved:
        raise TestFailure("captured %d + lost %d = %d bytes, but the client moved %d"
                          % (summary["bytes"], summary["lost_bytes"], summary["bytes"] + summary["lost_bytes"],
                             moved), *detail)
    if summary["lost_bytes"] != in_records + unseen:
        raise TestFailure("lost_bytes %d, but the gaps hold %d and calls no record shows %d"
                          % (summary["lost_bytes"], in_records, unseen), *detail)

    m = SUMMARY_RE.search(stderr)
    if not m:
        raise TestFailure("no 'N bytes captured, M bytes lost (K records, J calls incomplete)' summary on stderr:",
                          *indent(tail(stderr)))
    said = tuple(int(x) for x in m.groups())
    want = (summary["records"], summary["bytes"], summary["lost_bytes"], summary["lost_records"],
            summary["incomplete_calls"])
    if said != want:
        raise TestFailure("stderr says %r, the json summary %r" % (said, want), *indent(tail(stderr)))
    if "raise --mapsize" not in stderr:
        raise TestFailure("the exit summary on stderr does not say what to do about the loss:",
                          *indent(tail(stderr)))


for _name, _start_client, _one_call in LOSS_CASES:
    def _case(ctx, start_client=_start_client, one_call=_one_call):
        check_loss(ctx, start_client, one_call)
    test(_name)(_case)


MARKER_RE = re.compile(rb"\\\[\.\.\. (\d+) bytes lost at offset (\d+) \.\.\.\]")
LOST_RE = re.compile(rb" len=(\d+) lost=(\d+)")
LEN_RE = re.compile(rb" len=(\d+)")


@test("loss_marked_in_text")
def loss_marked_in_text(ctx):
    """Text mode: each missing range is a marker in the payload, the markers
    add up to the headers' lost=, and captured + lost is what was moved."""
    cert, key = make_cert(ctx)
    size = 4 * MiB
    srv = PyServer(ctx, cert, key, size, os.urandom(size))
    cli = PyClient(ctx, srv.port, os.urandom(size), size, wait_go=True)
    ps = ctx.start_plainsight(["tls", "-p", str(cli.pid), "--mapsize", "64"])
    ps.wait_attached()
    cli.go()
    cli.finish()
    srv.finish()
    stderr = ps.stop()
    out = ps.output()
    markers = [(int(n), int(o)) for n, o in MARKER_RE.findall(out)]
    headers = [(int(n), int(lost)) for n, lost in LOST_RE.findall(out)]
    m = SUMMARY_RE.search(stderr)
    if not m:
        raise TestFailure("no summary line on stderr:", *indent(tail(stderr)))
    records, captured, lost = int(m.group(1)), int(m.group(2)), int(m.group(3))
    detail = ["%d markers (%d bytes), %d headers with lost= (%d bytes)"
              % (len(markers), sum(n for n, _ in markers), len(headers), sum(l for _, l in headers)),
              "summary: %s" % m.group(0)]
    if not markers:
        raise TestFailure("a 64 KiB ring buffer left no gap marker in %d records: the test proves nothing"
                          % records, *detail)
    if sum(n for n, _ in markers) != sum(l for _, l in headers):
        raise TestFailure("the markers and the headers' lost= disagree", *detail)
    lens = sum(int(n) for n in LEN_RE.findall(out))
    if lens != captured:
        raise TestFailure("the headers' len= add up to %d, the summary says %d bytes captured" % (lens, captured),
                          *detail)
    if captured + lost != 2 * size:
        raise TestFailure("captured %d + lost %d = %d bytes, but the client moved %d"
                          % (captured, lost, captured + lost, 2 * size), *detail)


def bulk_with_reader_paused(ctx, tag, extra_args):
    """A client writes 24 MiB in 16 KiB calls while plainsight, its ring
    1 MiB, is stopped for 2.5 s: far more than the ring holds arrives while
    nobody reads it. Returns (summary, records, stderr, sent, answered)."""
    cert, key = make_cert(ctx)
    to_server, to_client = os.urandom(24 * MiB), os.urandom(64 * 1024)
    srv = PyServer(ctx, cert, key, len(to_server), to_client, tag=tag + "-server")
    cli = PyClient(ctx, srv.port, to_server, len(to_client), tag=tag + "-client", wait_go=True, chunk=16384)
    ps = ctx.start_plainsight(["tls", "-m", "json", "-p", str(cli.pid), "--mapsize", "1024"] + extra_args)
    ps.wait_attached()
    os.kill(ps.p.pid, signal.SIGSTOP)
    try:
        cli.go()
        time.sleep(2.5)
    finally:
        os.kill(ps.p.pid, signal.SIGCONT)
    cli.finish()
    srv.finish()
    stderr = ps.stop()
    records, summary, _ = ps.json_output()
    if summary is None:
        raise TestFailure("%s: no summary line in the json output" % tag, *indent(tail(stderr)))
    return summary, records, stderr, to_server, to_client


@test("lossless_holds_the_writer_back")
def lossless_holds_the_writer_back(ctx):
    """--lossless: the same burst that a paused reader loses in part without
    it arrives whole with it, because the traced process is stopped while the
    ring drains and continued after."""
    summary, _, _, _, _ = bulk_with_reader_paused(ctx, "plain", [])
    if summary["lost"]["ringbuf_bytes"] == 0:
        raise TestFailure("without --lossless a paused reader lost nothing: the test proves nothing",
                          "summary: %r" % (summary,))
    summary, records, stderr, sent, answered = bulk_with_reader_paused(ctx, "lossless", ["--lossless"])
    detail = ["summary: %r" % (summary,)] + indent(tail(stderr))
    if summary["lost_bytes"] or summary["lost_records"] or summary["incomplete_calls"]:
        raise TestFailure("--lossless lost bytes", *detail)
    if not summary.get("held_back"):
        raise TestFailure("--lossless never stopped the writer, yet nothing was lost: the test proves nothing",
                          *detail)
    if "--lossless: traced processes were stopped" not in stderr:
        raise TestFailure("the exit summary does not say how often --lossless stopped the writer", *detail)
    writes = b"".join(r["payload"] for r in records if r.get("dir") == "write")
    reads = b"".join(r["payload"] for r in records if r.get("dir") == "read")
    if writes != sent:
        raise TestFailure("--lossless: the writes captured (%d bytes) are not the %d bytes sent"
                          % (len(writes), len(sent)), *detail)
    if reads != answered:
        raise TestFailure("--lossless: the reads captured (%d bytes) are not the %d bytes answered"
                          % (len(reads), len(answered)), *detail)
