"""Accessor checks: before trusting a layout's offsets for secrets, plainsight
reads where the library's exported accessors (SSL_get_session, ...) keep the
fields. A wrong layout (--ssl_version "openssl 1.1.1w" on the system's libssl
3.0) must refuse keys with one warning line, write no secrets (json records
nor key log lines), and still capture the plaintext byte-exact; the right
layout must say nothing and give secrets."""

import os
import re

from harness import TestFailure, compare_stream, indent, tail
from tls_servers import PyClient, PyServer, make_cert

TESTS = []
KiB = 1024
REFUSED_RE = re.compile(r"^plainsight: warning: tls: keys refused: layout '1\.1\.1' puts (\S+) at (\d+) "
                        r"but (\S+) in \S+ reads it at (\d+)")


def test(name):
    def reg(fn):
        TESTS.append((name, fn))
        return fn
    return reg


def traced_exchange(ctx, extra_args):
    """A python client (traced alone) and server exchange 20 KiB each way; returns
    (plainsight, records, others, key log lines, client, server)."""
    cert, key = make_cert(ctx)
    size = 20 * KiB
    keylog = ctx.path("keys.log")
    srv = PyServer(ctx, cert, key, size, os.urandom(size))
    cli = PyClient(ctx, srv.port, os.urandom(size), size, wait_go=True)
    ps = ctx.start_plainsight(["tls", "-m", "json", "-k", keylog, "-p", str(cli.pid)] + extra_args)
    ps.wait_attached()
    cli.go()
    cli.finish()
    srv.finish()
    ps.stop()
    records, summary, others = ps.json_output()
    ctx.summary = summary
    lines = []
    if os.path.exists(keylog):
        with open(keylog) as f:
            lines = f.read().splitlines()
    return ps, records, others, lines, cli, srv


def check_plaintext(records, cli, srv, what):
    compare_stream(records, cli.pid, "write", cli.send_data, what + ": client SSL writes")
    compare_stream(records, cli.pid, "read", srv.send_data, what + ": client SSL reads")


@test("accessors_wrong_layout_refuses_keys")
def wrong_layout(ctx):
    ps, records, others, lines, cli, srv = traced_exchange(ctx, ["--ssl_version", "openssl 1.1.1w"])
    err = ps.stderr.splitlines()
    refused = [l for l in err if "keys refused: layout" in l]
    if len(refused) != 1 or not REFUSED_RE.match(refused[0]):
        raise TestFailure("the 1.1.1 layout on libssl 3.0: want one 'keys refused' warning line, got %d:"
                          % len(refused), *indent(tail(ps.stderr)))
    field, want, accessor, got = REFUSED_RE.match(refused[0]).groups()
    if want == got:
        raise TestFailure("the warning names equal offsets: %r" % refused[0])
    secrets = [o for o in others if o.get("event") == "tls_secrets"]
    if secrets:
        raise TestFailure("keys refused, yet %d tls_secrets records were written:" % len(secrets),
                          *indent([str(s)[:200] for s in secrets[:3]]))
    if lines:
        raise TestFailure("keys refused, yet the key log has %d lines:" % len(lines), *indent(lines[:5]))
    if not any(re.search(r"plainsight: keys refused: \d+ secrets records not written", l) for l in err):
        raise TestFailure("the exit summary does not say keys were refused:", *indent(tail(ps.stderr)))
    if not ctx.summary or ctx.summary.get("keys_refused") is not True:
        raise TestFailure("the json summary does not say keys were refused: %r" % (ctx.summary,))
    check_plaintext(records, cli, srv, "keys refused")


@test("accessors_right_layout_is_quiet")
def right_layout(ctx):
    ps, records, others, lines, cli, srv = traced_exchange(ctx, [])
    if "keys refused" in ps.stderr:
        raise TestFailure("the detected layout on the system's libssl: keys refused:", *indent(tail(ps.stderr)))
    if not any(o.get("event") == "tls_secrets" for o in others):
        raise TestFailure("no tls_secrets record with the right layout", *indent(tail(ps.stderr)))
    if not lines:
        raise TestFailure("the key log is empty with the right layout")
    check_plaintext(records, cli, srv, "right layout")
