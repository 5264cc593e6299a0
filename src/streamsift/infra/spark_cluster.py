"""Spark on a standalone cluster: the master's health, shipping streamsift to executors, a local cluster.

* :func:`master_status` reads the master web UI's JSON endpoint (``http://<host>:8080/json/``)
  and reports the master and its workers; ``infra status`` shows it when ``spark.master`` is a
  ``spark://`` URL.
* :func:`package_zip` builds a zip of the ``streamsift`` package (cached in the state folder,
  keyed by a hash of the sources); the session factory passes it in ``spark.submit.pyFiles``
  so the executors' Python workers import streamsift without it being installed there.
* :class:`SparkStandalone` starts a real standalone master and one worker on 127.0.0.1 from
  pyspark's own jars (``spark-class``), with pid files and logs under the state folder. The
  tests run the ingest job on it; it also serves for trying cluster mode on one machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import signal
import subprocess
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamsift.errors import InfraError, PortInUseError, PrerequisiteError
from streamsift.infra.process import (
    ensure_dir,
    pid_alive,
    port_is_free,
    read_pid,
    tail,
    terminate,
    wait_until,
)
from streamsift.infra.status import ServiceStatus

log = logging.getLogger(__name__)

#: The package shipped to executors: the folder this module lives in, one level up.
PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: Built zips unused for this long are removed when a new one is built.
_ZIP_MAX_AGE_S = 24 * 3600

_LOG4J2 = """\
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.jetty.name = org.sparkproject.jetty
logger.jetty.level = warn
"""


# -- the master's state, from its web UI -----------------------------------------------
@dataclass(frozen=True)
class WorkerInfo:
    """One worker as the master sees it."""

    id: str
    host: str
    port: int
    state: str
    cores: int
    cores_used: int
    memory_mb: int
    memory_used_mb: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "address": f"{self.host}:{self.port}",
            "state": self.state,
            "cores": self.cores,
            "cores_used": self.cores_used,
            "memory_mb": self.memory_mb,
            "memory_used_mb": self.memory_used_mb,
        }


@dataclass(frozen=True)
class MasterInfo:
    """The master's ``/json/`` document, reduced to what ``infra status`` shows."""

    url: str
    status: str
    workers: list[WorkerInfo] = field(default_factory=list)
    active_apps: list[str] = field(default_factory=list)

    @property
    def alive_workers(self) -> list[WorkerInfo]:
        return [w for w in self.workers if w.state == "ALIVE"]

    @property
    def healthy(self) -> bool:
        return self.status == "ALIVE" and bool(self.alive_workers)

    @property
    def problem(self) -> str:
        """Why the cluster cannot run a job ("" when it can)."""
        if self.status != "ALIVE":
            return f"the master is {self.status} (a standby master of an HA pair?)"
        if not self.alive_workers:
            return "the master has no ALIVE worker: start one and point it at the master"
        return ""

    def summary(self, max_workers: int = 3) -> str:
        """One line for ``infra status``: the master and its workers."""
        alive = self.alive_workers
        cores, memory = sum(w.cores for w in alive), sum(w.memory_mb for w in alive)
        head = f"master {self.status}, {len(alive)}/{len(self.workers)} workers ALIVE ({cores} cores, {memory} MB)"
        shown = [
            f"{w.host}:{w.port} {w.state} {w.cores_used}/{w.cores} cores {w.memory_used_mb}/{w.memory_mb} MB used"
            for w in self.workers[:max_workers]
        ]
        if len(self.workers) > max_workers:
            shown.append(f"+{len(self.workers) - max_workers} more")
        return head + (": " + "; ".join(shown) if shown else "")

    def to_dict(self) -> dict[str, Any]:
        alive = self.alive_workers
        return {
            "master_status": self.status,
            "alive_workers": len(alive),
            "cores": sum(w.cores for w in alive),
            "cores_used": sum(w.cores_used for w in alive),
            "memory_mb": sum(w.memory_mb for w in alive),
            "memory_used_mb": sum(w.memory_used_mb for w in alive),
            "workers": [w.to_dict() for w in self.workers],
            "active_apps": list(self.active_apps),
        }


def parse_master_json(data: dict[str, Any]) -> MasterInfo:
    """Parse the master web UI's ``/json/`` answer (``MasterPage.renderJson``)."""
    if not isinstance(data, dict) or "status" not in data or "workers" not in data:
        raise ValueError("not a Spark master /json/ document (no 'status' / 'workers')")
    workers = [
        WorkerInfo(
            id=str(w.get("id", "")),
            host=str(w.get("host", "")),
            port=int(w.get("port", 0)),
            state=str(w.get("state", "UNKNOWN")),
            cores=int(w.get("cores", 0)),
            cores_used=int(w.get("coresused", 0)),
            memory_mb=int(w.get("memory", 0)),
            memory_used_mb=int(w.get("memoryused", 0)),
        )
        for w in data["workers"]
    ]
    apps = [str(a.get("name", a.get("id", ""))) for a in data.get("activeapps", [])]
    return MasterInfo(url=str(data.get("url", "")), status=str(data["status"]), workers=workers, active_apps=apps)


def fetch_master_info(web_ui: str, *, timeout_s: float = 3.0) -> MasterInfo:
    """GET ``<web_ui>/json/`` and parse it; raises ``OSError``, ``ValueError`` or ``HTTPException``."""
    url = web_ui.rstrip("/") + "/json/"
    with urllib.request.urlopen(url, timeout=timeout_s) as resp:
        return parse_master_json(json.loads(resp.read().decode("utf-8")))


def master_status(master: str, web_ui: str, *, timeout_s: float = 3.0) -> ServiceStatus:
    """``infra status`` of a standalone master: running when its web UI answers, healthy with an ALIVE worker."""
    try:
        info = fetch_master_info(web_ui, timeout_s=timeout_s)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        cause = getattr(exc, "reason", None) or exc  # URLError wraps the socket error
        reason = f"{type(cause).__name__}: {str(cause).strip()}" if isinstance(cause, BaseException) else str(cause)
        return ServiceStatus(
            name="spark",
            embedded=False,
            running=False,
            healthy=False,
            address=master,
            detail=f"the Spark master web UI {web_ui} does not answer ({reason}); "
            "check spark.master and spark.master_web_ui_url",
            extra={"master_web_ui": web_ui},
        )
    return ServiceStatus(
        name="spark",
        embedded=False,
        running=True,
        healthy=info.healthy,
        address=master,
        detail=" - ".join(p for p in (info.problem, info.summary()) if p),
        extra={"master_web_ui": web_ui, **info.to_dict()},
    )


# -- streamsift as a zip for the executors -----------------------------------------------
def _package_files(package_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in package_dir.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
    )


def package_zip(state_root: Path, package_dir: Path = PACKAGE_DIR) -> Path:
    """A zip of the streamsift package for ``spark.submit.pyFiles``, rebuilt only when a source changes.

    Named by a hash of every file's path and bytes (``<state>/spark/pyfiles/streamsift-<hash>.zip``),
    so a changed source gives a new file and a running job keeps the one it started with. The zip is
    written with fixed timestamps (same sources → same bytes) and renamed into place atomically.
    """
    files = _package_files(package_dir)
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.relative_to(package_dir).as_posix().encode() + b"\0")
        digest.update(f.read_bytes() + b"\0")
    folder = ensure_dir(state_root / "spark" / "pyfiles")
    target = folder / f"{package_dir.name}-{digest.hexdigest()[:16]}.zip"
    if target.exists():
        target.touch()  # in use: keep it out of the clean-up below
        return target
    tmp = folder / f".{target.name}.{os.getpid()}.tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            arcname = f"{package_dir.name}/{f.relative_to(package_dir).as_posix()}"
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, f.read_bytes())
    os.replace(tmp, target)
    log.info("built %s (%d files) for the Spark executors", target, len(files))
    now = time.time()
    for old in folder.glob(f"{package_dir.name}-*.zip"):
        if old != target and now - old.stat().st_mtime > _ZIP_MAX_AGE_S:
            old.unlink(missing_ok=True)
    return target


# -- a local standalone cluster --------------------------------------------------------------
def pyspark_home() -> Path:
    """SPARK_HOME of the pip pyspark package (its ``bin/spark-class`` and ``jars/``)."""
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise PrerequisiteError("pyspark is not installed", hint="run `make setup`")
    home = Path(next(iter(spec.submodule_search_locations)))
    if not (home / "bin" / "spark-class").exists():
        raise PrerequisiteError(f"{home}/bin/spark-class is missing: a broken pyspark install?")
    return home


@dataclass
class SparkStandalone:
    """A standalone master and one worker on ``host``, started from pyspark's own jars.

    Pid files live in ``<state>/spark/standalone/``, logs in ``<state>/logs/`` (``SPARK_LOG_DIR``),
    executor folders in ``<state>/spark/standalone/work/`` (``SPARK_WORKER_DIR``).
    """

    state_root: Path
    port: int = 7077
    webui_port: int = 8080
    worker_port: int = 7078
    worker_webui_port: int = 8081
    worker_cores: int = 2
    worker_memory: str = "1g"
    daemon_memory: str = "512m"
    host: str = "127.0.0.1"
    start_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        self.home = self.state_root / "spark" / "standalone"
        self.conf_dir = self.home / "conf"
        self.work_dir = self.home / "work"
        self.log_dir = self.state_root / "logs"
        self.master_pid_file = self.home / "master.pid"
        self.worker_pid_file = self.home / "worker.pid"
        self.master_log = self.log_dir / "spark-master.log"
        self.worker_log = self.log_dir / "spark-worker.log"

    @property
    def master_url(self) -> str:
        return f"spark://{self.host}:{self.port}"

    @property
    def web_ui(self) -> str:
        return f"http://{self.host}:{self.webui_port}"

    def info(self, timeout_s: float = 2.0) -> MasterInfo | None:
        """The master's state, or None while it does not answer."""
        try:
            return fetch_master_info(self.web_ui, timeout_s=timeout_s)
        except (OSError, ValueError, http.client.HTTPException):
            return None

    def status(self) -> ServiceStatus:
        st = master_status(self.master_url, self.web_ui)
        st.embedded = True
        st.pid = read_pid(self.master_pid_file)
        st.log_file = str(self.master_log)
        return st

    def start(self) -> bool:
        """Start master and worker; wait until the worker registered. False if they already ran."""
        if read_pid(self.master_pid_file) and read_pid(self.worker_pid_file):
            info = self.info()
            if info is not None and info.alive_workers:
                return False
            self.stop()
        from streamsift.infra.kafka import find_java

        find_java()
        home = pyspark_home()
        for port, what in (
            (self.port, "master port"),
            (self.webui_port, "master web UI port"),
            (self.worker_port, "worker port"),
            (self.worker_webui_port, "worker web UI port"),
        ):
            if not port_is_free(self.host, port):
                raise PortInUseError(
                    f"cannot start the Spark standalone cluster: its {what} {port} on {self.host} is in use",
                    hint="stop that program or choose other ports (free_port() gives free ones)",
                )
        ensure_dir(self.conf_dir)
        ensure_dir(self.work_dir)
        ensure_dir(self.log_dir)
        (self.conf_dir / "log4j2.properties").write_text(_LOG4J2)
        env = {
            **os.environ,
            "SPARK_HOME": str(home),
            "SPARK_CONF_DIR": str(self.conf_dir),
            "SPARK_LOCAL_IP": self.host,
            "SPARK_PUBLIC_DNS": self.host,
            "SPARK_LOG_DIR": str(self.log_dir),
            "SPARK_WORKER_DIR": str(self.work_dir),
            "SPARK_PID_DIR": str(self.home),
            "SPARK_DAEMON_MEMORY": self.daemon_memory,
            # No REST submission server (it would take the fixed port 6066).
            "SPARK_MASTER_OPTS": f"{os.environ.get('SPARK_MASTER_OPTS', '')} -Dspark.master.rest.enabled=false",
            # A port taken meanwhile fails the start, instead of Spark moving to the next port unseen.
            "SPARK_DAEMON_JAVA_OPTS": f"{os.environ.get('SPARK_DAEMON_JAVA_OPTS', '')} -Dspark.port.maxRetries=0",
        }
        spark_class = str(home / "bin" / "spark-class")
        try:
            self._spawn(
                [
                    spark_class,
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                    "--webui-port",
                    str(self.webui_port),
                ],
                env,
                self.master_log,
                self.master_pid_file,
            )
            self._wait("the Spark master", self.master_pid_file, self.master_log, lambda i: i.status == "ALIVE")
            self._spawn(
                [
                    spark_class,
                    "org.apache.spark.deploy.worker.Worker",
                    "--host",
                    self.host,
                    "--port",
                    str(self.worker_port),
                    "--webui-port",
                    str(self.worker_webui_port),
                    "--cores",
                    str(self.worker_cores),
                    "--memory",
                    self.worker_memory,
                    "--work-dir",
                    str(self.work_dir),
                    self.master_url,
                ],
                env,
                self.worker_log,
                self.worker_pid_file,
            )
            self._wait("the Spark worker", self.worker_pid_file, self.worker_log, lambda i: bool(i.alive_workers))
        except BaseException:
            self.stop()
            raise
        log.info("Spark standalone cluster up: %s (web UI %s)", self.master_url, self.web_ui)
        return True

    def _spawn(self, cmd: list[str], env: dict[str, str], log_file: Path, pid_file: Path) -> None:
        with log_file.open("ab") as out:
            proc = subprocess.Popen(
                cmd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() ends executors and Python workers too
                cwd=self.home,
            )
        pid_file.write_text(f"{proc.pid}\n")

    def _wait(self, what: str, pid_file: Path, log_file: Path, ready) -> None:
        pid = read_pid(pid_file)

        def check() -> bool:
            info = self.info(timeout_s=1.0)
            return info is not None and ready(info)

        ok = wait_until(
            check,
            timeout_s=self.start_timeout_s,
            interval_s=0.5,
            alive=(lambda: pid is not None and pid_alive(pid)),
        )
        if not ok:
            problem = (
                f"did not become ready within {self.start_timeout_s:.0f} s"
                if pid is not None and pid_alive(pid)
                else "exited during start-up"
            )
            lines = tail(log_file, 200).splitlines()
            errors = [ln for ln in lines if " ERROR " in ln or "Exception:" in ln][-4:] or lines[-10:]
            raise InfraError(f"{what} {problem}; from {log_file}:\n" + "\n".join(errors))

    def stop(self) -> bool:
        """Stop worker (with its executors) and master by pid. False if neither ran; safe to call twice."""
        stopped = False
        for pid_file, name in ((self.worker_pid_file, "spark worker"), (self.master_pid_file, "spark master")):
            pid = read_pid(pid_file)
            if pid is not None:
                log.info("stopping %s (pid %d)", name, pid)
                terminate(pid, timeout_s=20, name=name)
                _end_group(pid, name)
                stopped = True
            pid_file.unlink(missing_ok=True)
        return stopped


def _end_group(pgid: int, name: str, timeout_s: float = 15.0) -> None:
    """Wait until the rest of the process group (the worker's executors, their Python workers) is gone too."""

    def group_gone() -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        # Members may be zombies waiting for a parent that is gone: only live ones count.
        return not any(_pgid_of(p) == pgid for p in _live_pids())

    if not wait_until(group_gone, timeout_s=timeout_s, interval_s=0.2):
        log.warning("processes of the %s (group %d) outlived it; killing them", name, pgid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


def _live_pids() -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state != "Z":
                pids.append(int(d.name))
    return pids


def _pgid_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


__all__ = [
    "MasterInfo",
    "SparkStandalone",
    "WorkerInfo",
    "fetch_master_info",
    "master_status",
    "package_zip",
    "parse_master_json",
    "pyspark_home",
]
