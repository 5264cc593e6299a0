"""Which model versions are loaded, which one is in production, and swapping them live.

The registry (PostgreSQL) is the truth. A promotion announced on ``models.events`` makes the
manager re-read it at once; a registry poll every ``serving.registry_poll_s`` catches what the
topic missed (broker away, event sent before the consumer joined). A new production version
is loaded and warmed in a background thread while the old one keeps serving, then becomes
production with one assignment: requests already running finish on the old version, the
next ones use the new — none fails or waits for the load.

At most ``serving.max_resident_versions`` stay loaded; the least recently used non-production
version goes first. A version asked for by number (``/versions/3``) is loaded on demand if the
registry has it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamsift.config import Settings
from streamsift.errors import StreamsiftError
from streamsift.serving.batcher import MicroBatcher
from streamsift.serving.metrics import ServerMetrics
from streamsift.serving.runtime import OnnxRuntime, classify_batch

log = logging.getLogger(__name__)

LABELS = ("production", "candidate")


class ModelNotFound(StreamsiftError):
    """No such model, version or label (404)."""


class ModelNotReady(StreamsiftError):
    """The model exists but no version can serve yet (503)."""


@dataclass(eq=False)
class Servable:
    runtime: OnnxRuntime
    state: str = "AVAILABLE"
    loaded_at: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.monotonic)
    batcher: MicroBatcher | None = None

    @property
    def version(self) -> int:
        return self.runtime.version


class ModelManager:
    def __init__(self, settings: Settings, metrics: ServerMetrics | None = None):
        self.settings = settings
        self.name = settings.model.name
        self.metrics = metrics
        self._servables: dict[int, Servable] = {}
        self._loading: set[int] = set()
        self.production: int | None = None
        self.candidate: int | None = None
        self.registry_error: str | None = None
        self._refresh_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.swaps = 0
        #: True once the ``models.events`` consumer has its partitions (promotions from then on arrive).
        self.events_assigned = False

    # -- reading the registry ----------------------------------------------------------------

    def _registry_rows(self) -> list[dict[str, Any]]:
        from streamsift.models.registry import list_models

        return list_models(self.settings)

    def refresh(self) -> bool:
        """Re-read the registry; load and swap in a new production version. False if unreachable."""
        with self._refresh_lock:
            try:
                rows = self._registry_rows()
            except Exception as exc:  # noqa: BLE001 - keep serving what is loaded
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                if self.registry_error is None:
                    log.warning("model registry unreachable (%s): serving the loaded versions", first)
                self.registry_error = first
                return False
            if self.registry_error is not None:
                log.info("model registry reachable again")
                self.registry_error = None
            prod = next((r for r in rows if r["stage"] == "production"), None)
            cands = [r for r in rows if r["stage"] == "candidate"]
            self.candidate = max((r["version"] for r in cands), default=None)
            if prod is None:
                if self.production is not None:
                    log.warning("the registry has no production version of %s any more", self.name)
                return True
            version = int(prod["version"])
            if version != self.production:
                try:
                    self._ensure_loaded(version, prod["path"])
                except Exception:  # the old version keeps serving
                    log.exception("could not load %s version %d: still serving %s", self.name, version, self.production)
                    return True
                previous, self.production = self.production, version  # the swap: one assignment
                self.swaps += previous is not None
                log.info("%s version %d in production (was %s)", self.name, version, previous)
                self._evict()
            return True

    def _ensure_loaded(self, version: int, path: str | None = None) -> Servable:
        with self._load_lock:
            s = self._servables.get(version)
            if s is not None:
                return s
            if path is None:
                from streamsift.models.registry import RegistryError, get_model

                try:
                    path = get_model(self.settings, version)["path"]
                except RegistryError as exc:
                    raise ModelNotFound(f"Servable not found for request: Specific({self.name}, {version})") from exc
            self._loading.add(version)
            try:
                rt = OnnxRuntime(
                    Path(path), name=self.name, version=version, max_chars=self.settings.model.max_chars, threads=1
                )
                rt.load()
            finally:
                self._loading.discard(version)
            s = Servable(rt)
            self._servables[version] = s
            return s

    def _evict(self) -> None:
        cap = self.settings.serving.max_resident_versions
        keep = {self.production}
        while len(self._servables) > cap:
            spare = [s for v, s in self._servables.items() if v not in keep]
            if not spare:
                return
            victim = min(spare, key=lambda s: s.last_used)
            del self._servables[victim.version]
            victim.state = "END"
            log.info("unloaded %s version %d (at most %d resident)", self.name, victim.version, cap)
            if victim.batcher is not None and self.loop is not None:
                batcher = victim.batcher
                self.loop.call_soon_threadsafe(lambda b=batcher: self.loop.call_later(30, _close_later, b))

    # -- serving --------------------------------------------------------------------------------

    def check_name(self, name: str) -> None:
        if name != self.name:
            raise ModelNotFound(f"Servable not found for request: Latest({name})")

    def resolve(self, name: str, version: int | str | None = None, label: str | None = None) -> int:
        """The version a request means: a number, a label (``production``/``candidate``) or production."""
        self.check_name(name)
        if version is not None:
            try:
                return int(version)
            except ValueError:
                raise ModelNotFound(f"{name} has no version {version!r} (versions are numbers)") from None
        if label is not None:
            if label not in LABELS:
                raise ModelNotFound(f"Unrecognized servable version label: {label} (use one of {', '.join(LABELS)})")
            v = self.production if label == "production" else self.candidate
            if v is None:
                raise ModelNotFound(f"Servable not found for request: Labeled({name}, {label})")
            return v
        if self.production is None:
            raise ModelNotReady(
                f"no production version of {name} is loaded"
                + (f" (registry: {self.registry_error})" if self.registry_error else ": promote one")
            )
        return self.production

    async def servable(self, version: int) -> Servable:
        s = self._servables.get(version)
        if s is None:
            loop = asyncio.get_running_loop()
            s = await loop.run_in_executor(None, self._ensure_loaded, version)
            self._evict()
        s.last_used = time.monotonic()
        if s.batcher is None:
            sv = self.settings.serving
            rt = s.runtime
            s.batcher = MicroBatcher(
                lambda texts, rt=rt: classify_batch(rt, texts),
                len(rt.classes),
                executor=None,  # inline: the batch is ~1 ms; a thread hand-off costs more than it saves
                max_batch_size=sv.max_batch_size,
                max_wait_s=sv.max_batch_wait_ms / 1000,
                max_queue_texts=sv.max_queue_texts,
                on_batch=self.metrics.observe_batch if self.metrics else None,
            )
        return s

    def current(self) -> OnnxRuntime:
        """The production version's runtime, for callers outside the event loop (worker, Spark driver).

        Read it once per batch: a batch is then scored by one version, whatever a swap does meanwhile.
        """
        v = self.production
        s = self._servables.get(v) if v is not None else None
        if s is None:
            raise ModelNotReady(f"no production version of {self.name} is loaded")
        s.last_used = time.monotonic()
        return s.runtime

    def resident(self) -> list[Servable]:
        return sorted(self._servables.values(), key=lambda s: s.version)

    def loading(self) -> list[int]:
        return sorted(self._loading)

    def queued_texts(self) -> int:
        return sum(s.batcher.queued_texts for s in list(self._servables.values()) if s.batcher)

    @property
    def ready(self) -> bool:
        return self.production is not None and self.production in self._servables

    # -- background: events and poll ---------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop
        self.refresh()
        poll = self.settings.serving.registry_poll_s
        if poll > 0:
            self._spawn(self._poll_loop, "registry-poll")
        self._spawn(self._events_loop, "model-events")

    def _spawn(self, target, name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.settings.serving.registry_poll_s):
            self.refresh()

    def _events_loop(self) -> None:
        from confluent_kafka import Consumer, KafkaError

        warned = []

        def on_error(err) -> None:
            if not warned:
                warned.append(err)
                log.warning("models.events unreachable (%s): promotions arrive by registry poll", err.str())

        consumer = Consumer(
            {
                "bootstrap.servers": self.settings.kafka.bootstrap,
                "group.id": f"streamsift-serve-{uuid.uuid4().hex[:12]}",
                "auto.offset.reset": "latest",
                "enable.auto.commit": False,
                "error_cb": on_error,
                "log_level": 0,
            }
        )
        try:

            def assigned(_c, partitions) -> None:
                self.events_assigned = True
                log.debug("models.events: %d partitions assigned", len(partitions))

            consumer.subscribe([self.settings.kafka.topic_model_events], on_assign=assigned)
            while not self._stop.is_set():
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error():
                    if msg.error().code() != KafkaError._PARTITION_EOF:
                        on_error(msg.error())
                    continue
                warned.clear()
                try:
                    event = json.loads(msg.value())
                except (TypeError, ValueError):
                    log.warning("ignored a malformed models.events message")
                    continue
                if event.get("name") == self.name:
                    log.info("models.events: %s %s version %s", event.get("event"), self.name, event.get("version"))
                    self.refresh()
        finally:
            consumer.close()

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(5)


_CLOSING: set[asyncio.Task] = set()


def _close_later(batcher: MicroBatcher) -> None:
    task = asyncio.ensure_future(batcher.close())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


__all__ = ["LABELS", "ModelManager", "ModelNotFound", "ModelNotReady", "Servable"]
