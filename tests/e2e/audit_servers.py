#!/usr/bin/env python3
"""Throwaway MariaDB and PostgreSQL servers for the audit modules' tests.

Each server lives entirely in a temporary directory (data directory, unix
socket, log), listens on no TCP port, and is stopped (then killed if need be)
by close() or by the harness.Context cleanup: it is never left running.

  python3 tests/e2e/audit_servers.py       # self-check: start, query, stop

Queries are sent by the real clients (mariadb, psql) and, for prepared
statements over the binary / extended protocol, by the small protocol
clients below (the command-line clients only send text queries).

  db = MariaDB(ctx)                 # ctx: harness.Context, or None
  db.query("SELECT 1")              # mariadb -e; returns the client's stdout
  db.prepare_execute("SELECT ?+1", [41])   # COM_STMT_PREPARE + COM_STMT_EXECUTE
  db.server_pids()                  # the mariadbd process
  db.close()

  pg = Postgres(ctx)
  pg.query("SELECT 1")              # psql -c: sent as one simple Query message
  pg.extended("SELECT $1::int + 1", ["41"])  # Parse/Bind/Execute/Sync
  pg.close()
"""

import glob
import hashlib
import os
import pwd
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

TIMEOUT = 60.0
KiB = 1024


class ServerError(Exception):
    pass


class _Cleanup:
    def __init__(self, server):
        self.server = server

    def kill(self):
        self.server.close()


def _start_closed_at_end(server, ctx):
    """Starts server; the test's end (ctx, if any) closes it, and so does a
    start that fails, with all it had begun."""
    if ctx is not None:
        ctx.procs.append(_Cleanup(server))
    try:
        server._start()
    except BaseException:
        server.close()
        raise


def _run(argv, timeout=TIMEOUT, input=None, user=None, env=None):
    if user:
        argv = ["runuser", "-u", user, "--"] + list(argv)
    try:
        r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env=env,
                           stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ServerError("timed out after %.0f s: %s" % (timeout, " ".join(argv)[:300]))
    return r


def _check(r, what):
    if r.returncode != 0:
        raise ServerError("%s failed (status %d): %s" % (what, r.returncode,
                                                        r.stderr.decode(errors="replace")[-2000:]))
    return r


def _recv_exact(sock, n, who):
    b = b""
    while len(b) < n:
        c = sock.recv(n - len(b))
        if not c:
            raise ServerError("%s closed the connection" % who)
        b += c
    return b


def _tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return "(%s)" % e


def _workdir(ctx, name, owner):
    """A directory the server's user owns, reachable through its parents."""
    if ctx is None:
        base = tempfile.mkdtemp(prefix="plainsight-%s-" % name)
    else:
        base = os.path.join(ctx.tmp, name)
        os.makedirs(base)
        os.chmod(ctx.tmp, 0o711)
    os.chmod(base, 0o711)
    pw = pwd.getpwnam(owner)
    os.chown(base, pw.pw_uid, pw.pw_gid)
    return base


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def find_program(candidates):
    for c in candidates:
        for p in sorted(glob.glob(c), reverse=True):
            if os.access(p, os.X_OK):
                return p
    return None


# ---- MariaDB ---------------------------------------------------------------------

def find_mariadbd():
    return find_program(["/usr/sbin/mariadbd", "/usr/sbin/mysqld", "/usr/bin/mariadbd"])


class MariaDB:
    def __init__(self, ctx=None, mariadbd=None, user="mysql"):
        self.mariadbd = mariadbd or find_mariadbd()
        if not self.mariadbd:
            raise ServerError("mariadbd not found (apt-get install mariadb-server)")
        self.install_db = find_program(["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"])
        self.client = shutil.which("mariadb") or shutil.which("mysql")
        if not self.install_db or not self.client:
            raise ServerError("mariadb-install-db or the mariadb client not found")
        self.user = user
        self.closed = False
        self.proc = None
        self._own = ctx is None
        self.dir = _workdir(ctx, "mariadb", user)
        self.datadir = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "mysqld.sock")
        self.log = os.path.join(self.dir, "error.log")
        self.pidfile = os.path.join(self.dir, "mysqld.pid")
        _start_closed_at_end(self, ctx)

    def _spawn(self, argv, name):
        """Starts the server and returns once it answers a query on its socket."""
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError("%s exited with status %s; its log:\n%s"
                                  % (name, self.proc.returncode, _tail(self.log)))
            if os.path.exists(self.sock):
                r = _run([self.client, "--no-defaults", "-S", self.sock, "-u", "root", "-e",
                          "SELECT 1"], timeout=10)
                if r.returncode == 0:
                    return
            time.sleep(0.1)
        raise ServerError("%s did not answer within %.0f s; its log:\n%s" % (name, TIMEOUT, _tail(self.log)))

    def _start(self):
        _check(_run([self.install_db, "--no-defaults", "--user=" + self.user,
                     "--datadir=" + self.datadir, "--auth-root-authentication-method=socket",
                     "--skip-test-db"], timeout=120), "mariadb-install-db")
        argv = [self.mariadbd, "--no-defaults", "--user=" + self.user,
                "--datadir=" + self.datadir, "--socket=" + self.sock, "--skip-networking",
                "--pid-file=" + self.pidfile, "--log-error=" + self.log,
                "--innodb-buffer-pool-size=32M", "--max-allowed-packet=64M",
                "--skip-log-bin", "--character-set-server=utf8mb4"]
        self._spawn(argv, "mariadbd")

    @property
    def pid(self):
        return self.proc.pid

    def version(self):
        r = _check(_run([self.mariadbd, "--version"]), "mariadbd --version")
        return r.stdout.decode(errors="replace").strip()

    def query(self, sql, database=None):
        """Sends sql with `mariadb -e` (the client strips one trailing ';' and
        sends the rest as one COM_QUERY); returns the client's stdout (bytes).
        Queries too long for argv go through stdin in the same way."""
        argv = [self.client, "--no-defaults", "-S", self.sock, "-u", "root", "-N", "-B",
                "--default-character-set=utf8mb4", "--max-allowed-packet=64M"]
        if database:
            argv += ["-D", database]
        data = sql.encode() if isinstance(sql, str) else sql
        if len(data) < 100 * KiB:
            r = _run(argv + ["-e", data.decode()])
        else:
            r = _run(argv, input=data + b"\n")
        _check(r, "mariadb -e %r" % data[:60])
        return r.stdout

    def query_status(self, sql):
        """Like query, but returns (exit status, stdout, stderr) without failing."""
        argv = [self.client, "--no-defaults", "-S", self.sock, "-u", "root", "-N", "-B",
                "--default-character-set=utf8mb4", "-e", sql]
        r = _run(argv)
        return r.returncode, r.stdout, r.stderr

    def raw_query(self, sql):
        """Sends sql (bytes, not necessarily UTF-8) as one COM_QUERY over the
        protocol, as no client rewrites it; returns the server's error number,
        0 when it accepted the query."""
        c = MyProtoClient(self.sock)
        try:
            c.connect("root")
            return c.query(sql)
        finally:
            c.close()

    def prepare_execute(self, sql, params=()):
        """COM_STMT_PREPARE sql, then COM_STMT_EXECUTE with integer params,
        over the binary protocol; returns the server's first result row count
        marker (for sanity) or raises on an error packet."""
        c = MyProtoClient(self.sock)
        try:
            c.connect("root")
            return c.prepare_execute(sql, params)
        finally:
            c.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._own:
            shutil.rmtree(self.dir, ignore_errors=True)


class MySQLInRoot(MariaDB):
    """MySQL's mysqld from a Debian root (e.g. CACHE/roots/sid, whose glibc
    and libstdc++ it needs), run by chroot as root: data directory, socket and
    log in a temporary directory inside the root, removed by close(). Queries
    go from this machine's mariadb client to the socket as seen from outside;
    mysqld itself is traced at ROOT/usr/sbin/mysqld."""

    def __init__(self, ctx, root):
        self.root = root
        self.mariadbd = os.path.join(root, "usr", "sbin", "mysqld")
        if not os.access(self.mariadbd, os.X_OK):
            raise ServerError("no mysqld in %s" % root)
        self.client = shutil.which("mariadb") or shutil.which("mysql")
        if not self.client:
            raise ServerError("the mariadb client not found (apt-get install mariadb-client)")
        self.closed = False
        self.proc = None
        self._own = True
        self.dir = tempfile.mkdtemp(prefix="plainsight-mysql-", dir=os.path.join(root, "tmp"))
        self.inner = "/" + os.path.relpath(self.dir, root)
        self.sock = os.path.join(self.dir, "mysqld.sock")
        self.log = os.path.join(self.dir, "error.log")
        _start_closed_at_end(self, ctx)

    def _mysqld(self, *args):
        return ["chroot", self.root, "/usr/sbin/mysqld", "--no-defaults", "--user=root",
                "--datadir=%s/data" % self.inner, "--innodb-buffer-pool-size=32M"] + list(args)

    def _start(self):
        # mysqld's default --secure-file-priv directory does not exist in the root.
        _check(_run(self._mysqld("--initialize-insecure", "--log-error=%s/init.log" % self.inner),
                    timeout=120), "mysqld --initialize-insecure")
        argv = self._mysqld("--socket=%s/mysqld.sock" % self.inner, "--skip-networking", "--mysqlx=OFF",
                            "--secure-file-priv=NULL", "--pid-file=%s/mysqld.pid" % self.inner,
                            "--log-error=%s/error.log" % self.inner, "--max-allowed-packet=64M",
                            "--skip-log-bin", "--character-set-server=utf8mb4")
        # chroot execs mysqld: the pid is the server's.
        self._spawn(argv, "mysqld")

    def version(self):
        r = _check(_run(["chroot", self.root, "/usr/sbin/mysqld", "--version"]), "mysqld --version")
        return r.stdout.decode(errors="replace").strip()


class _UnixProtoClient:
    """A database client on the server's unix socket; WHO names the server
    in errors, QUIT is the message that says goodbye."""

    WHO = QUIT = None

    def __init__(self, sock_path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(TIMEOUT)
        self.s.connect(sock_path)

    def close(self):
        try:
            self.s.sendall(self.QUIT)
        except OSError:
            pass
        self.s.close()

    def _recv_exact(self, n):
        return _recv_exact(self.s, n, self.WHO)


class MyProtoClient(_UnixProtoClient):
    """Just enough of the MySQL/MariaDB client protocol for a prepared
    statement: handshake (root over the unix socket: the unix_socket plugin,
    answered through an auth switch), COM_QUERY with exact bytes,
    COM_STMT_PREPARE, COM_STMT_EXECUTE."""

    CLIENT_LONG_PASSWORD = 1
    CLIENT_PROTOCOL_41 = 0x200
    CLIENT_SECURE_CONNECTION = 0x8000
    CLIENT_PLUGIN_AUTH = 0x80000
    CLIENT_TRANSACTIONS = 0x2000

    WHO = "mariadb"
    QUIT = struct.pack("<I", 1)[:3] + b"\x00" + b"\x01"  # COM_QUIT

    def __init__(self, sock_path):
        super().__init__(sock_path)
        self.seq = 0

    def read_packet(self):
        data = b""
        while True:
            h = self._recv_exact(4)
            n = h[0] | h[1] << 8 | h[2] << 16
            self.seq = (h[3] + 1) & 0xff
            data += self._recv_exact(n)
            if n < 0xffffff:
                return data

    def write_packet(self, payload):
        while True:
            chunk, payload = payload[:0xffffff], payload[0xffffff:]
            self.s.sendall(struct.pack("<I", len(chunk))[:3] + bytes([self.seq]) + chunk)
            self.seq = (self.seq + 1) & 0xff
            if len(chunk) < 0xffffff:
                return

    @staticmethod
    def _err(p):
        code = struct.unpack("<H", p[1:3])[0]
        return ServerError("server error %d: %s" % (code, p[9:].decode(errors="replace")))

    def connect(self, user):
        hs = self.read_packet()
        if hs[0] == 0xff:
            raise self._err(hs)
        # protocol 10: version\0, thread id, 8 bytes salt, filler, caps...
        end = hs.index(b"\x00", 1)
        p = end + 1 + 4
        salt = hs[p:p + 8]
        p += 8 + 1
        caps = struct.unpack("<H", hs[p:p + 2])[0]
        p += 2 + 1 + 2
        caps |= struct.unpack("<H", hs[p:p + 2])[0] << 16
        p += 2
        auth_len = hs[p]
        p += 1 + 6 + 4
        salt += hs[p:p + max(13, auth_len - 8) - 1]
        flags = (self.CLIENT_LONG_PASSWORD | self.CLIENT_PROTOCOL_41 | self.CLIENT_SECURE_CONNECTION
                 | self.CLIENT_PLUGIN_AUTH | self.CLIENT_TRANSACTIONS) & (caps | self.CLIENT_LONG_PASSWORD)
        resp = struct.pack("<IIB23x", flags, 1 << 24, 45) + user.encode() + b"\x00"
        resp += b"\x00"                        # empty auth response
        resp += b"mysql_native_password\x00"
        self.write_packet(resp)
        while True:
            r = self.read_packet()
            if r[0] == 0x00:
                return
            if r[0] == 0xff:
                raise self._err(r)
            if r[0] == 0xfe:                   # auth switch: unix_socket wants nothing
                plugin = r[1:].split(b"\x00", 1)[0]
                if plugin == b"mysql_native_password":
                    raise ServerError("root needs a password on this server")
                self.write_packet(b"")
                continue
            raise ServerError("unexpected packet during auth: %r" % r[:20])

    def _skip_until_eof(self):
        while True:
            p = self.read_packet()
            if p[0] == 0xfe and len(p) < 9:
                return
            if p[0] == 0xff:
                raise self._err(p)

    def query(self, sql):
        """COM_QUERY with sql's exact bytes; the error number, or 0 after
        reading the OK packet or the whole result set."""
        self.seq = 0
        self.write_packet(b"\x03" + sql)
        r = self.read_packet()
        if r[0] == 0xff:
            return struct.unpack("<H", r[1:3])[0]
        if r[0] != 0x00:                        # a result set: columns, EOF, rows, EOF
            self._skip_until_eof()
            self._skip_until_eof()
        return 0

    def prepare_execute(self, sql, params=()):
        self.seq = 0
        self.write_packet(b"\x16" + (sql.encode() if isinstance(sql, str) else sql))
        r = self.read_packet()
        if r[0] == 0xff:
            raise self._err(r)
        stmt_id, ncols, nparams = struct.unpack("<IHH", r[1:9])
        if nparams:
            self._skip_until_eof()
        if ncols:
            self._skip_until_eof()
        self.seq = 0
        body = b"\x17" + struct.pack("<IBI", stmt_id, 0, 1)
        if nparams:
            body += b"\x00" * ((nparams + 7) // 8) + b"\x01"
            body += b"".join(struct.pack("<BB", 8, 0) for _ in range(nparams))     # LONGLONG
            body += b"".join(struct.pack("<q", int(v)) for v in params)
        self.write_packet(body)
        r = self.read_packet()
        if r[0] == 0xff:
            raise self._err(r)
        rows = 0
        if r[0] != 0x00:                        # a result set: columns, EOF, rows, EOF
            self._skip_until_eof()
            while True:
                p = self.read_packet()
                if p[0] == 0xfe and len(p) < 9:
                    break
                if p[0] == 0xff:
                    raise self._err(p)
                rows += 1
        self.seq = 0
        self.write_packet(b"\x19" + struct.pack("<I", stmt_id))   # COM_STMT_CLOSE: no answer
        return rows


# ---- PostgreSQL ------------------------------------------------------------------

def find_pg_bindir():
    p = find_program(["/usr/lib/postgresql/*/bin/postgres"])
    return os.path.dirname(p) if p else None


def _root_user(root, name):
    """(uid, gid) of user name in root's /etc/passwd."""
    with open(os.path.join(root, "etc", "passwd")) as f:
        for line in f:
            p = line.split(":")
            if p[0] == name:
                return int(p[2]), int(p[3])
    raise ServerError("no user %s in %s/etc/passwd" % (name, root))


class Postgres:
    """A cluster of this machine's PostgreSQL, or, with root, of the one
    installed in a Debian root (bindir is then the path inside it: initdb,
    pg_ctl and the server run by chroot as the root's postgres user, with
    data directory and socket in a temporary directory inside the root,
    removed by close()). Queries go from this machine's psql."""

    def __init__(self, ctx=None, bindir=None, user="postgres", root=None):
        self.root = root
        self.bindir = bindir or find_pg_bindir()
        if not self.bindir:
            raise ServerError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.postgres = os.path.join(root or "/", self.bindir.lstrip("/"), "postgres")
        self.psql = shutil.which("psql") or os.path.join(self.bindir, "psql")
        self.user = user
        self.closed = False
        self.started = False
        if root:
            self._own = True
            self.dir = tempfile.mkdtemp(prefix="plainsight-postgres-", dir=os.path.join(root, "tmp"))
            os.chmod(self.dir, 0o711)
            os.chown(self.dir, *_root_user(root, user))
            inner = "/" + os.path.relpath(self.dir, root)
        else:
            self._own = ctx is None
            self.dir = _workdir(ctx, "postgres", user)
            inner = self.dir
        self.datadir = os.path.join(self.dir, "data")
        self.sockdir = self.dir
        self.log = os.path.join(self.dir, "server.log")
        # as the server's commands see them (inside the root, if any)
        self.inner_datadir = os.path.join(inner, "data")
        self.inner_sockdir = inner
        self.inner_log = os.path.join(inner, "server.log")
        _start_closed_at_end(self, ctx)

    def _server_cmd(self, program, *args, timeout=TIMEOUT):
        """Runs one of the server's programs as its user, inside the root if any."""
        argv = [os.path.join(self.bindir, program)] + list(args)
        if self.root:
            return _run(["chroot", "--userspec=%s:%s" % (self.user, self.user), self.root] + argv,
                        timeout=timeout, env=dict(os.environ, LC_ALL="C.UTF-8"))
        return _run(argv, user=self.user, timeout=timeout)

    def _start(self):
        _check(self._server_cmd("initdb", "-D", self.inner_datadir, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                                "--locale=C.UTF-8", "--no-sync", timeout=120), "initdb")
        opts = "-k %s -c listen_addresses='' -c fsync=off -c max_connections=20" % self.inner_sockdir
        self.started = True
        _check(self._server_cmd("pg_ctl", "-D", self.inner_datadir, "-l", self.inner_log, "-o", opts, "-w",
                                "-t", "60", "start", timeout=90), "pg_ctl start")

    @property
    def pid(self):
        """The postmaster's pid."""
        with open(os.path.join(self.datadir, "postmaster.pid")) as f:
            return int(f.readline())

    def version(self):
        r = _check(self._server_cmd("postgres", "--version"), "postgres --version")
        return r.stdout.decode(errors="replace").strip()

    def _psql(self, args, input=None):
        argv = [self.psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.sockdir,
                "-U", "postgres", "-d", "postgres"] + list(args)
        return _run(argv, input=input, env=dict(os.environ, PGCLIENTENCODING="UTF8"))

    def query(self, sql):
        """psql -c sql: sent as one simple-protocol Query message, unchanged.
        Returns psql's stdout (bytes)."""
        return _check(self._psql(["-c", sql]), "psql -c %r" % sql[:60]).stdout

    def query_status(self, sql):
        r = self._psql(["-c", sql])
        return r.returncode, r.stdout, r.stderr

    def extended(self, sql, params=(), name=""):
        """Parse (statement `name`), Bind, Execute, Sync over the extended
        protocol; returns the DataRow count."""
        c = PgProtoClient(os.path.join(self.sockdir, ".s.PGSQL.5432"))
        try:
            c.startup("postgres", "postgres")
            return c.extended(sql, params, name)
        finally:
            c.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.started and os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
            pid = None
            try:
                pid = self.pid
            except (OSError, ValueError):
                pass
            self._server_cmd("pg_ctl", "-D", self.inner_datadir, "-m", "fast", "-w", "-t", "30", "stop",
                             timeout=60)
            if pid and _alive(pid):
                try:
                    os.killpg(pid, 9)
                except OSError:
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
        if self._own:
            shutil.rmtree(self.dir, ignore_errors=True)


class PgProtoClient(_UnixProtoClient):
    """Just enough of the PostgreSQL v3 protocol for trust authentication and
    one extended-protocol exchange."""

    WHO = "postgres"
    QUIT = b"X\x00\x00\x00\x04"  # Terminate

    def read_msg(self):
        h = self._recv_exact(5)
        n = struct.unpack("!I", h[1:])[0]
        return h[:1], self._recv_exact(n - 4)

    def send(self, kind, body):
        self.s.sendall(kind + struct.pack("!I", len(body) + 4) + body)

    def _until_ready(self):
        rows, err = 0, None
        while True:
            k, b = self.read_msg()
            if k == b"Z":
                if err:
                    raise ServerError("postgres error: %s" % err)
                return rows
            if k == b"D":
                rows += 1
            if k == b"E":
                err = b.decode(errors="replace")
            if k == b"R" and struct.unpack("!I", b[:4])[0] != 0:
                raise ServerError("postgres wants a password (auth %d)" % struct.unpack("!I", b[:4])[0])

    def startup(self, user, database):
        body = struct.pack("!I", 196608) + b"user\x00" + user.encode() + b"\x00database\x00" + \
            database.encode() + b"\x00client_encoding\x00UTF8\x00\x00"
        self.s.sendall(struct.pack("!I", len(body) + 4) + body)
        self._until_ready()

    def extended(self, sql, params=(), name=""):
        q = sql.encode() if isinstance(sql, str) else sql
        nm = name.encode() + b"\x00"
        self.send(b"P", nm + q + b"\x00" + struct.pack("!H", 0))
        bind = b"\x00" + nm + struct.pack("!H", 0) + struct.pack("!H", len(params))
        for p in params:
            v = str(p).encode()
            bind += struct.pack("!i", len(v)) + v
        bind += struct.pack("!H", 0)
        self.send(b"B", bind)
        self.send(b"E", b"\x00" + struct.pack("!i", 0))
        self.send(b"S", b"")
        return self._until_ready()


# ---- what the tests send ---------------------------------------------------------

def long_literal(n, seed="plainsight"):
    """n ASCII characters that are not all one letter (so a cut or a repeated
    chunk shows), deterministic."""
    out, i = [], 0
    while sum(map(len, out)) < n:
        out.append(hashlib.sha256(("%s%d" % (seed, i)).encode()).hexdigest())
        i += 1
    return "".join(out)[:n]


def mariadb_queries():
    """(query text as the server receives it, expected client status)."""
    big = long_literal(70 * KiB)
    return [
        ("SELECT 'plainsight-one' AS a", 0),
        ("SELECT LENGTH('%s') AS big" % big, 0),                     # > 64 KiB
        ("SELECT 'héllo wörld ✓ 日本語' AS utf8", 0),                # non-ASCII (UTF-8)
        ("SELECT * FROM no_such_table_plainsight", 1),               # an error (1146)
        ("SELEC broken syntax", 1),                                  # a parse error (1064)
    ]


def postgres_queries():
    big = long_literal(70 * KiB)
    return [
        ("SELECT 'plainsight-one' AS a", 0),
        ("SELECT length('%s') AS big" % big, 0),
        ("SELECT 'héllo wörld ✓ 日本語' AS utf8", 0),
        ("SELECT * FROM no_such_table_plainsight", 1),
        ("SELEC broken syntax", 1),
    ]


def self_check():
    ok = True

    def say(good, what):
        nonlocal ok
        ok = ok and good
        print("%s %s" % ("ok " if good else "BAD", what), flush=True)

    if find_mariadbd():
        db = MariaDB(None)
        try:
            say(True, "mariadb started: pid %d, %s" % (db.pid, db.version()))
            for q, want in mariadb_queries():
                st, out, err = db.query_status(q)
                say((st == 0) == (want == 0), "mariadb %r -> status %d %s" %
                    (q[:40], st, (out or err).decode(errors="replace").strip()[:60]))
            rows = db.prepare_execute("SELECT ? + 1 AS plainsight_prepared", [41])
            say(rows == 1, "mariadb binary prepared statement: %d row" % rows)
            db.query("PREPARE s1 FROM 'SELECT ? * 2'; SET @a = 21; EXECUTE s1 USING @a")
            say(True, "mariadb SQL PREPARE/EXECUTE")
        finally:
            db.close()
        say(not _alive(db.pid), "mariadb stopped")
    else:
        print("SKIP mariadb: not installed")
    if find_pg_bindir():
        pg = Postgres(None)
        try:
            pid = pg.pid
            say(True, "postgres started: pid %d, %s" % (pid, pg.version()))
            for q, want in postgres_queries():
                st, out, err = pg.query_status(q)
                say((st == 0) == (want == 0), "postgres %r -> status %d %s" %
                    (q[:40], st, (out or err).decode(errors="replace").strip()[:60]))
            rows = pg.extended("SELECT $1::int + 1 AS plainsight_extended", ["41"], name="s1")
            say(rows == 1, "postgres extended protocol: %d row" % rows)
        finally:
            pg.close()
        say(not _alive(pid), "postgres stopped")
    else:
        print("SKIP postgres: not installed")
    return ok


if __name__ == "__main__":
    sys.exit(0 if self_check() else 1)
