"""Small process helpers shared by the local servers: pid files, ports, waiting, logs."""

from __future__ import annotations

import contextlib
import errno
import gc
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

from streamsift.errors import PortInUseError, StateError

log = logging.getLogger(__name__)


def port_is_free(host: str, port: int) -> bool:
    """True if nothing listens on ``host:port`` (we can bind it ourselves)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def require_free_port(host: str, port: int, *, service: str, setting: str) -> None:
    if not port_is_free(host, port):
        env = "STREAMSIFT_" + setting.upper().replace(".", "__")
        raise PortInUseError(
            f"cannot start {service}: port {port} on {host} is already in use by another program",
            hint=f"stop that program, or choose another port with {setting} in streamsift.toml or {env}",
        )


def free_port() -> int:
    """A port on 127.0.0.1 that is free right now (for tests and ephemeral servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in ``pid_file`` if that process is still alive, else None.

    A pid file that is not a number (a corrupted state folder) is reported and removed.
    """
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        pid = int(text.split()[0])
    except (ValueError, IndexError):
        log.warning("ignoring corrupted pid file %s (content %r)", pid_file, text[:40])
        pid_file.unlink(missing_ok=True)
        return None
    return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0): reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def terminate(pid: int, *, timeout_s: float = 30.0, name: str = "process") -> None:
    """SIGTERM the process group of ``pid``, then SIGKILL it after ``timeout_s``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            try:
                os.killpg(pid, sig)
            except PermissionError:
                os.kill(pid, sig)
        deadline = time.monotonic() + (timeout_s if sig == signal.SIGTERM else 10.0)
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.1)
        if sig == signal.SIGTERM:
            log.warning("%s (pid %d) did not stop in %.0f s; killing it", name, pid, timeout_s)


def wait_until(
    check: Callable[[], bool],
    *,
    timeout_s: float,
    interval_s: float = 0.25,
    alive: Callable[[], bool] | None = None,
) -> bool:
    """Poll ``check`` until it returns True (True), the timeout passes or ``alive`` turns False."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        if alive is not None and not alive():
            return False
        time.sleep(interval_s)
    return check()


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file ("" if it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16_384))
            data = fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def freeze_heap() -> None:
    """For a long-running server, once started: move what is alive now (modules, models, caches) out of
    the garbage collector's scans and collect young objects less often. A full collection of the
    ~170,000 objects pandas and scikit-learn bring took ~100 ms, the only calls over 100 ms of the
    dashboard's benchmark."""
    global _heap_frozen
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 50)
    _heap_frozen = True


_heap_frozen = False


def freeze_heap_once() -> None:
    """:func:`freeze_heap`, unless this process did already (a Spark Python worker runs many tasks)."""
    if not _heap_frozen:
        freeze_heap()


def ensure_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (NotADirectoryError, FileExistsError) as exc:
        raise StateError(
            f"state folder is corrupted: {path} exists but is not a folder",
            hint="remove it, or point state.dir somewhere else",
        ) from exc
    except PermissionError as exc:
        raise StateError(f"cannot create {path}: permission denied") from exc
    return path
