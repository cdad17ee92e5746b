#!/usr/bin/env python3
"""Debian roots with server packages, for the audit modules' version tests.

test_versions.chroot_root(SUITE) debootstraps CACHE/roots/SUITE once; here
packages are installed into it with the root's own apt (chroot ... apt-get),
once: a stamp in the root lists what was installed, so a warm cache installs
nothing. Services are never started (policy-rc.d) and no cluster or data
directory is made at install time: the tests start their own throwaway servers.

  root = root_with_packages("sid", ["mysql-server-core"])
"""

import contextlib
import fcntl
import os
import subprocess
import time

import test_versions
from harness import TestSkip

INSTALL_TIMEOUT = 1200
STAMP = ".plainsight-packages"

# Written into the root before apt-get runs: no service starts inside it, and
# postgresql-common makes no "main" cluster (the tests make their own).
ROOT_FILES = {
    "usr/sbin/policy-rc.d": ("#!/bin/sh\nexit 101\n", 0o755),
    "etc/postgresql-common/createcluster.d/plainsight.conf": ("create_main_cluster = false\n", 0o644),
}

_done = {}


def installed(root):
    with contextlib.suppress(OSError), open(os.path.join(root, STAMP)) as f:
        return set(f.read().split())
    return set()


def root_with_packages(suite, packages):
    """CACHE/roots/SUITE with packages installed; SKIPs with apt's complaint
    when they cannot be installed."""
    key = (suite, tuple(packages))
    if key in _done:
        if isinstance(_done[key], str):
            raise TestSkip(_done[key])
        return _done[key]
    root = test_versions.chroot_root(suite)
    if set(packages) <= installed(root):
        _done[key] = root
        return root
    lock = open(os.path.join(os.path.dirname(root), ".lock"), "w")
    try:
        with test_versions.preparation(INSTALL_TIMEOUT):
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not set(packages) <= installed(root):
                why = install(suite, root, packages)
                if why:
                    _done[key] = why
                    raise TestSkip(why)
    finally:
        lock.close()
    _done[key] = root
    return root


def install(suite, root, packages):
    """Runs apt-get inside the root; returns None or why it failed."""
    for rel, (text, mode) in ROOT_FILES.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
    log = os.path.join(os.path.dirname(root), "%s-packages.log" % suite)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C")
    env.pop("LD_LIBRARY_PATH", None)
    # The mirror may serve a Release file whose Valid-Until has passed (a
    # frozen snapshot): debootstrap does not check it either.
    steps = [["apt-get", "-q", "-o", "Acquire::Check-Valid-Until=false", "update"],
             ["apt-get", "-q", "-y", "--no-install-recommends", "install"] + list(packages)]
    t0 = time.monotonic()
    with open(log, "ab") as logf:
        for argv in steps:
            logf.write(("$ chroot %s %s\n" % (root, " ".join(argv))).encode())
            logf.flush()
            try:
                rc = subprocess.run(["chroot", root] + argv, stdin=subprocess.DEVNULL, stdout=logf,
                                    stderr=subprocess.STDOUT, env=env, timeout=INSTALL_TIMEOUT).returncode
            except subprocess.TimeoutExpired:
                return "apt-get in the %s root did not finish within %d s (log %s)" % (suite, INSTALL_TIMEOUT, log)
            except OSError as e:
                return "cannot run chroot %s: %s" % (root, e)
            if rc != 0:
                return "%s in the %s root exited with status %d (log %s)" % (" ".join(argv[:4]), suite, rc, log)
        logf.write(("installed %s in %.0f s\n" % (" ".join(packages), time.monotonic() - t0)).encode())
    with open(os.path.join(root, STAMP), "a") as f:
        f.write("".join(p + "\n" for p in packages))
    return None
