#!/usr/bin/env python3
"""End-to-end tests of plainsight: real TLS programs, byte-exact comparison.

  OUT=build python3 tests/e2e/run.py [-k SUBSTRING] [-v]

Environment: E2E_KEEP=1 keeps a failed test's files (plainsight's output, the
data sent) for a look; E2E_PRIVATE_LIBSSL=1 traces a private copy of
libssl.so.3 (via --libssl and LD_LIBRARY_PATH) instead of the system's, e.g.
when another tracer's uprobes block the system library; E2E_TEST_TIMEOUT
bounds each test (seconds, default 180). test_versions.py fetches real OpenSSL
binaries with tests/corpus/fetch.sh into $PLAINSIGHT_CACHE (default
/var/cache/plainsight-corpus) and builds a trixie chroot there once.

Prints one line per test: "PASS name", "FAIL name" followed by indented
diagnostics, or "SKIP name: reason". Exits 1 if any test failed.
"""

import argparse
import os
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import audit_test  # noqa: E402
import harness  # noqa: E402
import test_accessors  # noqa: E402
import test_add_version  # noqa: E402
import test_keylog  # noqa: E402
import test_keylog_versions  # noqa: E402
import test_loss  # noqa: E402
import test_reach  # noqa: E402
import test_startup  # noqa: E402
import test_tls  # noqa: E402
import test_versions  # noqa: E402

TEST_TIMEOUT = int(os.environ.get("E2E_TEST_TIMEOUT", "180"))


def on_alarm(signum, frame):
    raise harness.TestTimeout()


def run_one(name, fn, verbose):
    ctx = harness.Context(name)
    t0 = time.monotonic()
    result, lines = "PASS", []
    signal.signal(signal.SIGALRM, on_alarm)
    timeout = max(TEST_TIMEOUT, getattr(fn, "timeout", 0))
    signal.alarm(timeout)
    try:
        try:
            fn(ctx)
        finally:
            signal.alarm(0)
    except harness.TestSkip as e:
        result, lines = "SKIP", [str(e)]
    except harness.TestFailure as e:
        result, lines = "FAIL", list(e.lines)
    except harness.TestTimeout:
        result, lines = "FAIL", ["test timed out after %d s" % timeout]
    except Exception:
        result, lines = "FAIL", ["unexpected error in the test:"] + \
            traceback.format_exc().rstrip().splitlines()
    if result == "FAIL" and ctx.plainsight is not None:
        ps = ctx.plainsight
        if not any("its stderr" in l for l in lines):
            lines.append("plainsight command: %s" % " ".join(ps.argv))
            lines.append("plainsight stderr:")
            lines.extend(harness.indent(harness.tail(ps.stderr)))
    keep = result == "FAIL" and os.environ.get("E2E_KEEP") == "1"
    if keep:
        lines.append("E2E_KEEP=1: the test's files stay in %s" % ctx.tmp)
    try:
        ctx.cleanup(keep_files=keep)
    except Exception:
        pass
    if result == "SKIP":
        print("SKIP %s: %s" % (name, lines[0]), flush=True)
    else:
        suffix = " (%.1f s)" % (time.monotonic() - t0) if verbose else ""
        print("%s %s%s" % (result, name, suffix), flush=True)
        for l in lines:
            # Diagnostics never start with PASS/FAIL/SKIP.
            print("    " + l, flush=True)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", metavar="SUBSTRING", help="run only tests whose name contains it")
    ap.add_argument("-v", action="store_true", help="print each test's duration")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    a = ap.parse_args()
    tests = [(n, f) for n, f in test_tls.TESTS + test_keylog.TESTS + test_keylog_versions.TESTS + test_loss.TESTS + test_versions.TESTS + test_accessors.TESTS + test_add_version.TESTS + audit_test.TESTS + test_startup.TESTS + test_reach.TESTS if not a.k or a.k in n]
    if a.list:
        for n, _ in tests:
            print(n)
        return 0
    if not tests:
        print("FAIL e2e-select: no test matches -k %r" % a.k)
        return 1
    if os.geteuid() != 0:
        for n, _ in tests:
            print("SKIP %s: needs root (uprobes, BPF)" % n)
        return 0
    failed = 0
    for name, fn in tests:
        if run_one(name, fn, a.v) == "FAIL":
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
