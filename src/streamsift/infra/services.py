"""streamsift's own long-running processes, started in the background: the model server, the live
classification worker, the dry-run act loop and the web app (what ``streamsift demo --keep-running``
leaves up).

Each runs as ``python -m streamsift <command>`` in its own process group, with its pid in
``<state>/run/<name>.pid`` and everything it prints in ``<state>/logs/<name>.log``.
``streamsift infra down`` stops them before Kafka and PostgreSQL; ``infra status`` lists them.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from streamsift.config import Settings, child_env
from streamsift.errors import InfraError
from streamsift.infra.process import ensure_dir, read_pid, require_free_port, tail, terminate
from streamsift.infra.status import ServiceStatus

log = logging.getLogger(__name__)

#: The order they start in (and stop in, reversed).
SERVICE_NAMES = ("serve", "worker", "web", "act")


@dataclass(frozen=True)
class Service:
    """One background process: its command line after ``streamsift`` and how to tell it is ready."""

    name: str
    args: tuple[str, ...]
    #: Where it answers (HTTP services).
    address: str = "-"
    #: Answers HTTP 200 once the process can do its job; None: being alive after a moment is enough.
    ready_url: str | None = None
    #: The setting that names its port (for the message when the port is taken).
    port_setting: str | None = None

    def pid_file(self, settings: Settings) -> Path:
        return settings.state.root / "run" / f"{self.name}.pid"

    def log_file(self, settings: Settings) -> Path:
        return settings.state.root / "logs" / f"{self.name}.log"


def services(settings: Settings) -> dict[str, Service]:
    """The background services of one settings tree, by name."""
    serve = f"http://{settings.serving.host}:{settings.serving.port}"
    web = f"http://{settings.web.host}:{settings.web.port}"
    return {
        "serve": Service("serve", ("serve",), serve, f"{serve}/v2/health/ready", "serving.port"),
        "worker": Service("worker", ("worker", "--worker-id", "background")),
        "web": Service("web", ("web",), web, f"{web}/login", "web.port"),
        "act": Service("act", ("act", "--dry-run")),
    }


def start_service(
    settings: Settings,
    service: Service,
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 120.0,
) -> tuple[int, bool]:
    """Start ``service`` unless it runs already; wait until it is ready. Returns (pid, started now).

    The child runs with exactly ``settings`` (passed as STREAMSIFT_* variables, see
    :func:`~streamsift.config.child_env`) and ``env`` on top of this process's environment. A child
    that exits or never gets ready raises :class:`InfraError` naming its log file.
    """
    pid_file, log_file = service.pid_file(settings), service.log_file(settings)
    pid = read_pid(pid_file)
    if pid is not None:
        log.info("%s already runs (pid %d)", service.name, pid)
        return pid, False
    ensure_dir(pid_file.parent)
    ensure_dir(log_file.parent)
    if service.port_setting is not None:  # another program there would answer our readiness check
        where = urlsplit(service.address)
        require_free_port(
            where.hostname or "127.0.0.1", where.port or 0, service=service.name, setting=service.port_setting
        )
    environ = {**child_env(settings), **(env or {})}
    argv = [sys.executable, "-m", "streamsift", *service.args]
    with log_file.open("ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} streamsift {' '.join(service.args)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=environ, start_new_session=True
        )
    pid_file.write_text(f"{proc.pid}\n")
    log.info("started %s (pid %d), log %s", service.name, proc.pid, log_file)
    if not _wait_ready(service, proc, timeout_s):
        code = proc.poll()
        log.debug("last lines of %s:\n%s", log_file, tail(log_file, 30))
        stop_service(settings, service)
        what = f"exited with code {code}" if code is not None else f"was not ready after {timeout_s:.0f} s"
        raise InfraError(f"{service.name} {what}", hint=f"see {log_file}")
    return proc.pid, True


def _ours(pid: int) -> bool:
    """Whether ``pid`` still runs streamsift (a pid file can outlive its process and the pid be reused)."""
    try:
        return b"streamsift" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid file


def _wait_ready(service: Service, proc: subprocess.Popen, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    if service.ready_url is None:  # no endpoint: alive after a few seconds (imports done, settings read)
        try:
            proc.wait(timeout=min(5.0, timeout_s))
        except subprocess.TimeoutExpired:
            return True
        return False
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(service.ready_url, timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


def stop_service(settings: Settings, service: Service, *, timeout_s: float = 30.0) -> bool:
    """SIGTERM the service's process group (SIGKILL after ``timeout_s``); False if it was not running."""
    pid_file = service.pid_file(settings)
    pid = read_pid(pid_file)
    pid_file.unlink(missing_ok=True)
    if pid is None:
        return False
    if not _ours(pid):
        log.warning("%s: pid %d from %s is another program now; not stopping it", service.name, pid, pid_file)
        return False
    terminate(pid, timeout_s=timeout_s, name=service.name)
    log.info("stopped %s (pid %d)", service.name, pid)
    return True


def stop_services(settings: Settings, names: list[str] | None = None) -> list[str]:
    """Stop the named background services (default: all), the last started first; returns those stopped."""
    table = services(settings)
    return [n for n in reversed(SERVICE_NAMES) if (names is None or n in names) and stop_service(settings, table[n])]


def services_status(settings: Settings) -> list[ServiceStatus]:
    """The background services that run now (those that do not are left out)."""
    out = []
    for svc in services(settings).values():
        pid = read_pid(svc.pid_file(settings))
        if pid is not None:
            out.append(
                ServiceStatus(
                    name=svc.name,
                    embedded=True,
                    running=True,
                    healthy=True,
                    address=svc.address,
                    pid=pid,
                    log_file=str(svc.log_file(settings)),
                    detail="streamsift " + " ".join(svc.args),
                )
            )
    return out
