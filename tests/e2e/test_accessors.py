"""Accessor checks: before trusting a layout's offsets for secrets, plainsight
reads where the library's exported accessors (SSL_get_session, ...) keep the
fields. A wrong layout (--ssl_version "openssl 1.1.1w" on the system's libssl
3.0) is contradicted (one warning line), the accessors' offsets replace the
layout's, and every secret that reads an offset no accessor confirms is
refused (one line naming those fields): here the client random (1.1.1's s3 is
a pointer, 3.0's an inline struct) and the TLS 1.3 secrets, so no key log
line and no secrets record with a client random or a secret beyond what the
accessors confirm (--secrets shows none for the TLS 1.3 connection); the
plaintext is still captured byte-exact. The right layout must say nothing and
give secrets."""

import os
import re

import harness
from harness import TestFailure, compare_stream, indent, tail
from tls_servers import PyClient, PyServer, make_cert

TESTS, test = harness.registry()
KiB = 1024
CONTRADICTED_RE = re.compile(r"^plainsight: warning: tls: layout '1\.1\.1' puts (\S+) at (\d+) "
                             r"but (\S+) in \S+ reads it at (\d+)")
REFUSED_RE = re.compile(r"^plainsight: warning: tls: keys refused: tls_secrets fields (.*) are not written: "
                        r"they read (.*), which no accessor confirms in this build \(layout '1\.1\.1' is contradicted\)")
# What the 1.1.1 layout cannot give on 3.0 once its accessors have spoken.
WANT_REFUSED = ("client_random", "handshake_secret", "handshake_hash", "client_traffic_secret_0",
                "server_traffic_secret_0", "exporter_secret")


def traced_exchange(ctx, extra_args, asan=False, env=None):
    """A python client (traced alone) and server exchange 20 KiB each way; returns
    (plainsight, records, others, key log lines, client, server)."""
    cert, key = make_cert(ctx)
    size = 20 * KiB
    keylog = ctx.path("keys.log")
    srv = PyServer(ctx, cert, key, size, os.urandom(size))
    cli = PyClient(ctx, srv.port, os.urandom(size), size, wait_go=True)
    ps = ctx.start_plainsight(["tls", "-m", "json", "--secrets", "-k", keylog, "-p", str(cli.pid)] + extra_args, asan=asan, env=env)
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
def wrong_layout(ctx, asan=False, env=None):
    ps, records, others, lines, cli, srv = traced_exchange(ctx, ["--ssl_version", "openssl 1.1.1w"], asan=asan,
                                                           env=env)
    err = ps.stderr.splitlines()
    contradicted = [l for l in err if CONTRADICTED_RE.match(l)]
    if len(contradicted) != 1:
        raise TestFailure("the 1.1.1 layout on libssl 3.0: want one 'layout ... puts ... reads it at' line, got %d:"
                          % len(contradicted), *indent(tail(ps.stderr)))
    field, want, accessor, got = CONTRADICTED_RE.match(contradicted[0]).groups()
    if want == got:
        raise TestFailure("the warning names equal offsets: %r" % contradicted[0])
    refused = [l for l in err if "keys refused: tls_secrets" in l]
    if len(refused) != 1 or not REFUSED_RE.match(refused[0]):
        raise TestFailure("want one 'keys refused: tls_secrets fields ...' line, got %d:" % len(refused),
                          *indent(tail(ps.stderr)))
    fields = REFUSED_RE.match(refused[0]).group(1).split(", ")
    missing = [f for f in WANT_REFUSED if f not in fields]
    if missing:
        raise TestFailure("the refusal line does not name %s:" % ", ".join(missing), refused[0])
    secrets = [o for o in others if o.get("event") == "tls_secrets"]
    # --secrets shows a connection's secrets of its version that are confirmed: a TLS 1.3
    # connection's are all refused (its session's master key is no TLS 1.3 secret), so none.
    leaked = [o for o in secrets if any(f in o for f in WANT_REFUSED) or o.get("version") == 0x304]
    if leaked:
        raise TestFailure("keys refused, yet %d tls_secrets records hold refused fields:" % len(leaked),
                          *indent([str(s)[:200] for s in leaked[:3]]))
    if lines:
        raise TestFailure("keys refused, yet the key log has %d lines:" % len(lines), *indent(lines[:5]))
    if not any(re.search(r"plainsight: keys refused: \d+ secrets records written without", l) for l in err):
        raise TestFailure("the exit summary does not say keys were refused:", *indent(tail(ps.stderr)))
    if not ctx.summary or ctx.summary.get("keys_refused") is not True:
        raise TestFailure("the json summary does not say keys were refused: %r" % (ctx.summary,))
    check_plaintext(records, cli, srv, "keys refused")


@test("asan_accessors_wrong_layout_refuses_keys")
def asan_wrong_layout(ctx):
    """The same under ASan+UBSan: records lose fields in copies (runtime/events/capture.c)."""
    from test_tls import under_asan
    under_asan(ctx, lambda env: wrong_layout(ctx, asan=True, env=env))


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


# ---- the accessors of real Node.js builds against the layouts the spec gives them ----------

# (major, forced version or None, layout, {field: offset the accessors must
# confirm}, {field: (layout's, accessor's)}). The numbers are what the layouts
# say (each derived by build/offsets from its source) and
# what each build's own machine code reads; a layout that drifts from the
# binary fails here. Node 16 and 22.0 are quictls builds ("+quic"), detected
# as their own product; forced to the plain release's layout, their accessors
# must contradict it where the patch moved ssl_st.session.
_QUIC_111 = {"ssl_st.version": 0, "ssl_st.rbio": 16, "ssl_st.wbio": 24, "ssl_st.s3": 168,
             "ssl3_state_st.client_random": 184, "ssl_session_st.master_key": 80,
             "ssl_session_st.master_key_length": 8, "ssl_session_st.cipher": 496}
_QUIC_30 = {"ssl_st.version": 0, "ssl_st.rbio": 16, "ssl_st.wbio": 24, "ssl_st.s3.client_random": 352,
            "ssl_session_st.master_key": 80, "ssl_session_st.master_key_length": 8,
            "ssl_session_st.cipher": 760, "ssl_cipher_st.id": 24}
NODE_ACCESSORS = [
    (8, None, "1.0.2", {"ssl_st.version": 0, "ssl_st.rbio": 16, "ssl_st.session": 304, "ssl_cipher_st.id": 16}, {}),
    (10, None, "1.1.0", {"ssl_st.version": 0, "ssl_st.rbio": 16, "ssl_st.session": 376,
                         "ssl_session_st.master_key": 8, "ssl_session_st.ssl_version": 0,
                         "ssl_session_st.cipher": 216, "ssl_cipher_st.id": 16}, {}),
    (14, None, "1.1.1", {"ssl_st.version": 0, "ssl_st.rbio": 16, "ssl_st.wbio": 24, "ssl_st.session": 1296,
                         "ssl_st.s3": 168, "ssl3_state_st.client_random": 184, "ssl_session_st.master_key": 80,
                         "ssl_session_st.master_key_length": 8, "ssl_session_st.cipher": 496}, {}),
    (16, None, "1.1.1+quic", dict(_QUIC_111, **{"ssl_st.session": 1488}), {}),
    (16, "OpenSSL 1.1.1v", "1.1.1", _QUIC_111, {"ssl_st.session": (1296, 1488)}),
    (22, None, "3.0+quic", dict(_QUIC_30, **{"ssl_st.session": 2520}), {}),
    (22, "OpenSSL 3.0.13", "3.0", _QUIC_30, {"ssl_st.session": (2328, 2520)}),
]
CONFIRM_RE = re.compile(r"^plainsight: debug: tls: (\S+) at (\d+) in layout '([^']+)': (\S+) confirms it$")
CORRECT_RE = re.compile(r"^plainsight: debug: tls: (\S+): (\S+) reads it at (\d+), not at (\d+) as layout '([^']+)' "
                        r"says: using \d+$")


def node_accessors(ctx, major, force, layout, confirmed, corrected):
    import test_versions
    node = test_versions.corpus("node:%d" % major)["path"]
    # --btf-cache none: the library itself is read (no verdicts from the cache), so -d tells each accessor
    ps = ctx.start_plainsight(["tls", "--libssl", node, "-d", "--btf-cache", "none"] +
                              (["--ssl_version", force] if force else []))
    ps.wait_attached()
    ps.stop()
    err = ps.stderr.splitlines()
    got_confirmed = {m.group(1): (int(m.group(2)), m.group(3)) for m in map(CONFIRM_RE.match, err) if m}
    got_corrected = {m.group(1): (int(m.group(4)), int(m.group(3))) for m in map(CORRECT_RE.match, err) if m}
    wrong = ["%s: want %d confirmed in layout '%s', got %r" % (f, off, layout, got_confirmed.get(f))
             for f, off in sorted(confirmed.items()) if got_confirmed.get(f) != (off, layout)]
    if got_corrected != corrected:
        wrong.append("contradicted fields (layout's, accessor's): want %r, got %r" % (corrected, got_corrected))
    if wrong:
        raise TestFailure("node %d's accessors against layout '%s':" % (major, layout), *indent(wrong),
                          "plainsight's stderr:", *indent(tail(ps.stderr, 30)))
    if not corrected and ("contradicted" in ps.stderr or "keys refused" in ps.stderr):
        raise TestFailure("node %d: no accessor contradicts layout '%s', yet:" % (major, layout),
                          *indent(tail(ps.stderr)))


for _case in NODE_ACCESSORS:
    test("accessors_node%d_layout_%s%s" % (_case[0], _case[2], "_forced" if _case[1] else ""))(
        lambda ctx, case=_case: node_accessors(ctx, *case))
