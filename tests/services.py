"""Throw-away Redis servers, PostgreSQL clusters and Celery workers that a test may stop, kill and restart.

Never the shared PostgreSQL (5432) or Redis (6379): each instance here listens on a free port, keeps its data
in a temporary directory and is removed when the test ends. Used by tests/faults/ and bench/loadtest.py.

    with RedisServer() as redis_server:           # started; .stop() / .start() keep the same port
        ...
    with PostgresCluster() as cluster:            # initdb + pg_ctl in a temp dir, trust auth
        cluster.create_database("app"); cluster.restart()
    worker = CeleryWorker(redis_url=..., database_url=..., queue=...).start()
    worker.kill()                                 # SIGKILL to the whole process group
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not met within {timeout:.0f} s")


# --- Redis ------------------------------------------------------------------------------------------


class RedisServer:
    """`redis-server` on a free port, no persistence. stop() and start() again keep the port (an outage)."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="aidcase-redis-")
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> "RedisServer":
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [self.binary, *args, "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.ping, timeout=20, what=f"redis on port {self.port}")
        return self

    def ping(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.proc = None

    def client(self, db: int = 0):
        import redis

        return redis.Redis(port=self.port, db=db, socket_connect_timeout=2, socket_timeout=5)

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- PostgreSQL -------------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server binaries (Debian layout first, then PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresCluster:
    """A PostgreSQL cluster of its own: initdb in a temp dir, trust auth, a free port, pg_ctl to stop/restart.

    PostgreSQL refuses to run as root; as root (CI) the cluster belongs to the `postgres` system user.
    fsync is off: nothing here needs to survive a power cut, and it makes initdb and the tests quicker.
    """

    def __init__(self):
        self.bin = postgres_bin()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="aidcase-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")

    @staticmethod
    def available() -> bool:
        if postgres_bin() is None:
            return False
        if os.geteuid() == 0:
            import pwd

            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return False
            return shutil.which("runuser") is not None
        return True

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        result = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=timeout, cwd=self.dir
        )
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}\n{log[-3000:]}")

    def _pg_ctl(self, *args: str) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", *args
        )

    def start(self) -> "PostgresCluster":
        if not self.data.exists():
            self._run(
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
        self._pg_ctl("start")
        return self

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: open connections are terminated, in-flight transactions rolled back."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self, mode: str = "fast") -> None:
        if self.data.exists() and (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def sql(self, statement: str, database: str = "postgres", params=None):
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else None

    def create_database(self, name: str) -> str:
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self) -> "PostgresCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        try:
            self.stop("immediate")  # thrown away: no need for a shutdown checkpoint
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


# --- processes running the project ------------------------------------------------------------------


def project_env(*, database_url: str, redis_url: str = "", debug: bool = True, **extra: str) -> dict:
    """Environment for a manage.py / gunicorn / celery process of this project."""
    dropped = {"DATABASE_URL", "REDIS_URL", "DEBUG", "CELERY_TASK_ALWAYS_EAGER", "REDIS_KEY_PREFIX"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        {
            "DATABASE_URL": database_url,
            "DEBUG": "True" if debug else "False",
            "PYTHONUNBUFFERED": "1",
            "AXES_ENABLED": "False",
            "LOG_LEVEL": "WARNING",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    if not debug:
        env.update(
            {
                "SECRET_KEY": "faults-" + uuid.uuid4().hex * 3,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SECURE_SSL_REDIRECT": "False",
            }
        )
    env.update(extra)
    return env


def manage(*args: str, env: dict, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class CeleryWorker:
    """`celery worker` in its own process group, consuming every workload queue under `prefix`
    (REDIS_KEY_PREFIX, as the publishing side must use too); kill() is SIGKILL to all its processes."""

    def __init__(self, *, redis_url: str, database_url: str, prefix: str, concurrency: int = 1, **env: str):
        from aidcase.celery import QUEUES

        self.queues = ",".join(prefix + q for q in QUEUES)
        self.name = f"{prefix}{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        self.env = project_env(database_url=database_url, redis_url=redis_url, REDIS_KEY_PREFIX=prefix, **env)
        self.concurrency = concurrency
        self.proc: subprocess.Popen | None = None
        self.logfile = tempfile.NamedTemporaryFile(prefix="aidcase-worker-", suffix=".log", delete=False)

    def start(self, app=None, timeout: float = 90) -> "CeleryWorker":
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "aidcase",
                "worker",
                "-Q",
                self.queues,
                "--concurrency",
                str(self.concurrency),
                "-l",
                "warning",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                self.name,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() reaches the pool children too
        )
        if app is not None:
            wait_until(lambda: self._ready(app), timeout=timeout, interval=0.5, what="celery worker ready")
        return self

    def _ready(self, app) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited:\n{self.log()}")
        return bool(app.control.ping(destination=[self.name], timeout=0.5))

    def log(self) -> str:
        return Path(self.logfile.name).read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to the whole worker (main process and pool children), as the OOM killer or a lost node."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        Path(self.logfile.name).unlink(missing_ok=True)
