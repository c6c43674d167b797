"""A throw-away PostgreSQL primary and its streaming replica on free ports, for the replica tests.

The shared server is never touched: `initdb` makes a small primary (wal_level=replica) in a temporary
directory, `pg_basebackup -R` copies it into a standby that streams from it. As root (CI), the server
programs run as the `postgres` user, since PostgreSQL refuses to run as root.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

BIN_CANDIDATES = [Path(os.environ.get("PG_BINDIR", "/nonexistent"))] + sorted(
    Path("/usr/lib/postgresql").glob("*/bin"), reverse=True
)


def pg_bindir() -> Path | None:
    for candidate in BIN_CANDIDATES:
        if (candidate / "initdb").exists() and (candidate / "pg_basebackup").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgPair:
    bindir: Path
    root: Path
    primary_port: int
    replica_port: int
    run_as: list[str]

    @property
    def primary_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.primary_port}/aidcase"

    @property
    def replica_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.replica_port}/aidcase"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.run_as, *args], check=True, capture_output=True, cwd=self.root)

    def pg_ctl(self, data: str, action: str, *extra: str) -> None:
        log = str(self.root / f"{data}.log")
        # -t: pg_ctl's own 60 s wait is short on a loaded machine (a standby replays before it opens).
        data_dir = str(self.root / data)
        self._run(str(self.bindir / "pg_ctl"), "-D", data_dir, "-l", log, "-w", "-t", "300", action, *extra)

    def start_on_free_port(self, data: str, attempts: int = 5) -> int:
        """Start `data` on a free port; pick another one if it was taken between choosing and binding."""
        for attempt in range(attempts):
            port = free_port()
            with open(self.root / data / "postgresql.auto.conf", "a") as conf:
                conf.write(f"port = {port}\n")  # the last setting wins
            try:
                self.pg_ctl(data, "start")
                return port
            except subprocess.CalledProcessError:
                log = (self.root / f"{data}.log").read_text(errors="replace")
                if "could not bind" not in log or attempt == attempts - 1:
                    raise RuntimeError(f"PostgreSQL ({data}) did not start: {log[-3000:]}") from None
        raise AssertionError("unreachable")

    def sql(self, port: int, statement: str, dbname: str = "aidcase"):
        with psycopg.connect(
            host="127.0.0.1", port=port, user="postgres", dbname=dbname, autocommit=True
        ) as c:
            cursor = c.execute(statement)
            return cursor.fetchall() if cursor.description else None

    def replica_catch_up(self, timeout: float = 120) -> None:
        """Wait until the replica has replayed everything the primary wrote so far.

        The target is the primary's WAL *insert* position. `pg_current_wal_lsn()` is the *write* position,
        and with synchronous_commit = off a commit returns before its WAL is written (the WAL writer does
        that up to a few hundred milliseconds later, longer on a busy machine): waiting for the write
        position could return before the replica has the rows just committed.
        """
        (lsn,) = self.sql(self.primary_port, "SELECT pg_current_wal_insert_lsn()::text")[0]
        deadline = time.monotonic() + timeout
        while True:
            # NULL (nothing replayed yet, e.g. just after a restart) counts as behind.
            caught_up, paused = self.sql(
                self.replica_port,
                f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn, pg_is_wal_replay_paused()",
            )[0]
            if caught_up:
                return
            if paused:
                raise AssertionError("the replica cannot catch up: its replay is paused")
            if time.monotonic() >= deadline:
                raise AssertionError(f"the replica did not replay up to {lsn} within {timeout} s")
            time.sleep(0.1)

    def pause_replay(self) -> None:
        self.sql(self.replica_port, "SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql(self.replica_port, "SELECT pg_wal_replay_resume()")

    def stop(self) -> None:
        for data in ("replica", "primary"):
            if (self.root / data / "postmaster.pid").exists():
                try:
                    self.pg_ctl(data, "stop", "-m", "immediate")
                except subprocess.CalledProcessError:
                    pass


def start_pair() -> PgPair:
    bindir = pg_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server programs (initdb, pg_basebackup) are not installed")
    root = Path(tempfile.mkdtemp(prefix="aidcase-pgpair-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    pair = PgPair(bindir, root, 0, 0, run_as)
    try:
        initdb = [str(bindir / "initdb"), "-D", str(root / "primary"), "-U", "postgres", "--auth=trust"]
        pair._run(*initdb, "-E", "UTF8")
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{root}'",
            "wal_level = replica",
            "max_wal_senders = 4",
            "hot_standby = on",
            "fsync = off",  # a test cluster: speed over durability
            "synchronous_commit = off",
            "full_page_writes = off",
            "shared_buffers = 32MB",
            "max_connections = 40",
        ]
        with open(root / "primary" / "postgresql.auto.conf", "a") as conf:
            conf.write("\n".join(settings) + "\n")
        with open(root / "primary" / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        pair.primary_port = pair.start_on_free_port("primary")
        pair.sql(pair.primary_port, "CREATE DATABASE aidcase", dbname="postgres")
        pair._run(
            str(bindir / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(pair.primary_port), "-U", "postgres"),
            *("-D", str(root / "replica"), "-R", "-X", "stream", "-c", "fast"),
        )
        pair.replica_port = pair.start_on_free_port("replica")
    except BaseException:
        remove_pair(pair)
        raise
    return pair


def remove_pair(pair: PgPair) -> None:
    pair.stop()
    shutil.rmtree(pair.root, ignore_errors=True)
