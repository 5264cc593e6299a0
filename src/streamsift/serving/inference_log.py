"""Every prediction to PostgreSQL's ``inference_log``, without ever slowing or failing a response.

Request handlers only append rows to a bounded in-memory buffer (a ``deque`` append: no I/O
on the request path). A writer thread drains it every ``flush_s`` with one ``COPY`` per batch,
in a transaction. When PostgreSQL is down the rows stay buffered and the writer retries with
backoff; one warning says the database is unreachable and one line says when it is back.
When the buffer is full, new rows are dropped — counted (``/metrics``) and logged, never silently.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime

import numpy as np
import psycopg

from streamsift.config import Settings
from streamsift.store.connection import connect_kwargs
from streamsift.store.retry import ConnectionHolder, first_line, is_transient

log = logging.getLogger(__name__)

DDL = """
CREATE TABLE IF NOT EXISTS inference_log (
    id bigserial PRIMARY KEY,
    request_id text NOT NULL,
    text_hash text NOT NULL,
    label text NOT NULL,
    probabilities real[] NOT NULL,
    model_name text NOT NULL,
    model_version integer NOT NULL,
    latency_ms real NOT NULL,
    source text NOT NULL,
    protocol text NOT NULL,
    cached boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS inference_log_created_at ON inference_log (created_at);
"""

COLUMNS = (
    "request_id",
    "text_hash",
    "label",
    "probabilities",
    "model_name",
    "model_version",
    "latency_ms",
    "source",
    "protocol",
    "cached",
    "created_at",
)


_COPY_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_escape(value: str) -> str:
    """A value for PostgreSQL's COPY text format."""
    return value.translate(_COPY_SPECIAL)


def text_hash(text: str) -> str:
    """A short stable digest (BLAK2b, 64 bits, hex): the log never stores the text itself."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


class InferenceLog:
    """The buffer and its writer thread. ``start()`` once, ``close()`` to flush and stop."""

    def __init__(self, settings: Settings, *, max_rows: int, flush_s: float, batch_rows: int = 20_000) -> None:
        self.settings = settings
        self.max_rows = max_rows
        self.flush_s = flush_s
        self.batch_rows = batch_rows
        self._buf: deque[str] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._db = ConnectionHolder({**connect_kwargs(settings.postgres), "autocommit": True})
        self._schema_ready = False
        self._down_since: float | None = None
        self.written = 0
        self.dropped = 0
        self._dropped_logged = 0

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def add(
        self,
        *,
        request_id: str,
        texts: list[str],
        labels: list[str],
        probs: np.ndarray,
        cached: list[bool],
        model_name: str,
        model_version: int,
        latency_ms: float,
        source: str,
        protocol: str,
    ) -> None:
        room = self.max_rows - len(self._buf)
        n = len(texts)
        if room < n:
            self.dropped += n - max(room, 0)
            n = max(room, 0)
        # one COPY text line per prediction, formatted here (cheap) so the writer only concatenates
        head = f"{_copy_escape(request_id)}\t"
        tail = (
            f"\t{_copy_escape(model_name)}\t{model_version}\t{latency_ms:.3f}\t{_copy_escape(source)}\t"
            f"{_copy_escape(protocol)}\t"
        )
        now = datetime.now(UTC).isoformat()
        rows = probs.tolist()
        append = self._buf.append
        blake = hashlib.blake2b
        for i in range(n):
            h = blake(texts[i].encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
            p = ",".join(map(repr, rows[i]))
            append(f"{head}{h}\t{_copy_escape(labels[i])}\t{{{p}}}{tail}{'t' if cached[i] else 'f'}\t{now}\n")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="inference-log", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._db.reset()

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.flush_s
        while True:
            stopping = self._stop.wait(backoff)
            ok = self._drain()
            backoff = self.flush_s if ok else min(max(backoff * 2, 0.5), 10.0)
            if stopping and (ok or not self._buf):
                return
            if stopping and not ok:  # shutting down with the database away: keep what we can't write in the log
                log.warning("%d inference log rows not written: PostgreSQL is unreachable at shutdown", len(self._buf))
                return

    def _drain(self) -> bool:
        """Write everything buffered; False when the database could not take it (rows kept)."""
        if self.dropped > self._dropped_logged:
            log.warning(
                "inference log buffer full (%d rows): %d rows dropped so far",
                self.max_rows,
                self.dropped,
            )
            self._dropped_logged = self.dropped
        while self._buf:
            batch = [self._buf.popleft() for _ in range(min(self.batch_rows, len(self._buf)))]
            try:
                self._write(batch)
            except psycopg.Error as exc:
                self._buf.extendleft(reversed(batch))  # back to the front, order kept
                self._db.reset()
                if not is_transient(exc):
                    log.error("inference log write failed (%s); %d rows kept for retry", first_line(exc), len(batch))
                elif self._down_since is None:
                    self._down_since = time.monotonic()
                    log.warning(
                        "PostgreSQL unreachable (%s): inference log rows wait in memory (up to %d)",
                        first_line(exc),
                        self.max_rows,
                    )
                return False
            self.written += len(batch)
            if self._down_since is not None:
                log.warning(
                    "PostgreSQL is back after %.1f s: writing the buffered inference log rows",
                    time.monotonic() - self._down_since,
                )
                self._down_since = None
        return True

    def _write(self, rows: list[str]) -> None:
        conn = self._db.get()
        if not self._schema_ready:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('streamsift.inference_log'))")
                for stmt in DDL.split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
            self._schema_ready = True
        copy = f"COPY inference_log ({', '.join(COLUMNS)}) FROM STDIN"
        with conn.transaction(), conn.cursor() as cur, cur.copy(copy) as cp:
            cp.write("".join(rows))


__all__ = ["COLUMNS", "DDL", "InferenceLog", "text_hash"]
