"""Bluesky's Jetstream as a :class:`~streamsift.sources.base.Source`: new posts, live, free.

One websocket (the ``websockets`` library's threaded client) to ``<jetstream>/subscribe`` with
``wantedCollections=app.bsky.feed.post``. Every frame is read; only commits that create a post,
in the wanted languages and with a wanted keyword, are sent on, as delivered. Frames that are not
JSON go on too, so they reach the dead letters with their reason; deletes, identity and account
events and unknown kinds are counted and dropped.

Resuming. Jetstream cursors are the events' ``time_us`` (the same on every instance). The cursor
kept in ``<state>/bluesky/cursor`` is the ``time_us`` of the oldest event not yet acknowledged by
Kafka (or of the last one, when all are), written at most once a second and on close; a restart,
and every reconnect, asks for ``cursor - bluesky.cursor_overlap_s``. So a crash or a dropped
connection loses nothing, and what is read twice is absorbed by the idempotent sinks (a post's
Kafka key and ``tweet_id`` come from its at-URI).

A failed connection or a dropped one is retried with exponential backoff (1 s doubling to
``bluesky.max_backoff_s``, with jitter, reset once an event arrives), moving to the next URL of
``bluesky.jetstream_url`` + ``bluesky.fallback_urls`` each time.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson

from streamsift.config import JETSTREAM_HOSTS, BlueskySettings
from streamsift.records import platform_id
from streamsift.records.bluesky import POST, jetstream_post_uri
from streamsift.sources.base import Source, SourceError, SourceRecord

log = logging.getLogger(__name__)


@dataclass
class JetstreamStats:
    frames: int = 0
    posts: int = 0
    filtered: int = 0
    broken: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0


class CursorKeeper:
    """The resume point: the ``time_us`` of the oldest event Kafka has not acknowledged yet."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # acks come from librdkafka's delivery callbacks
        self._pending: OrderedDict[int, int] = OrderedDict()  # seq → time_us, in reading order
        self._seq = 0
        self._last_acked: int | None = None
        self._written: int | None = None
        self._written_at = 0.0

    def load(self) -> int | None:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return None
        try:
            return int(text)
        except ValueError:
            log.warning("ignoring unreadable Jetstream cursor file %s", self.path)
            return None

    def track(self, time_us: int):
        """Register an event handed to Kafka; returns the callback that acknowledges it."""
        with self._lock:
            self._seq += 1
            seq = self._seq
            self._pending[seq] = time_us

        def ack() -> None:
            with self._lock:
                t = self._pending.pop(seq, None)
                if t is not None and (self._last_acked is None or t > self._last_acked):
                    self._last_acked = t

        return ack

    def passed(self, time_us: int) -> None:
        """An event that is not sent on (a delete, an identity event, ...): nothing to wait for."""
        with self._lock:
            if not self._pending and (self._last_acked is None or time_us > self._last_acked):
                self._last_acked = time_us

    def position(self) -> int | None:
        with self._lock:
            if self._pending:
                return next(iter(self._pending.values()))
            return self._last_acked

    def save(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._written_at < 1.0:
            return
        pos = self.position()
        self._written_at = now
        if pos is None or pos == self._written:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{pos}\n")
        os.replace(tmp, self.path)  # atomic: a crash leaves the old cursor or the new one
        self._written = pos


#: Frames larger than this are skipped by the server (``maxMessageSizeBytes``): our client would have
#: to close the connection on them, and would meet the same frame again after every reconnect.
MAX_FRAME_BYTES = 2**22


def cursor_file(state_dir: Path, urls: list[str]) -> Path:
    """Where the resume point of these endpoints is kept: one file for the public instances (their
    cursors are the same clock), one per other endpoint list (a local Jetstream has its own)."""
    hosts = {urlsplit(u).netloc for u in urls}
    if hosts <= set(JETSTREAM_HOSTS):
        return state_dir / "bluesky" / "cursor"
    digest = hashlib.sha1(" ".join(sorted(urls)).encode()).hexdigest()[:10]
    return state_dir / "bluesky" / f"cursor-{digest}"


def subscribe_url(base: str, cursor: int | None) -> str:
    """``base`` (…/subscribe) with the post collection, the frame size limit and the cursor in its query."""
    parts = urlsplit(base)
    params = [("wantedCollections", POST), ("maxMessageSizeBytes", str(MAX_FRAME_BYTES))]
    if cursor is not None:
        params.append(("cursor", str(cursor)))
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/subscribe", query, ""))


class JetstreamSource(Source):
    """New Bluesky posts from Jetstream, resumable; see the module documentation."""

    name = "bluesky"

    def __init__(
        self,
        settings: BlueskySettings,
        state_dir: Path,
        *,
        urls: list[str] | None = None,
        duration_s: float | None = None,
        stop: threading.Event | None = None,
        recv_timeout_s: float = 30.0,
        resume: bool = True,
    ) -> None:
        """``resume=False`` starts at the live tail even when a cursor file exists (it is still kept)."""
        self.settings = settings
        self.urls = urls or [settings.jetstream_url, *settings.fallback_urls]
        self.cursor = CursorKeeper(cursor_file(state_dir, self.urls))
        self.resume = resume
        self.duration_s = duration_s
        self.stop = stop or threading.Event()
        self.recv_timeout_s = recv_timeout_s
        self.stats = JetstreamStats()
        self._langs = {x.lower() for x in settings.languages}
        self._keywords = [k.lower() for k in settings.keywords]
        self._ws = None
        self._backoff = 1.0

    # -- filtering ---------------------------------------------------------------------------
    def _wanted(self, record: dict) -> bool:
        try:
            return self._matches(record)
        except (AttributeError, TypeError):  # an odd shape: let the normaliser judge it
            return True

    def _matches(self, record: dict) -> bool:
        if self._langs:
            langs = record.get("langs")
            if not isinstance(langs, list) or not any(isinstance(x, str) and x.lower() in self._langs for x in langs):
                return False
        if self._keywords:
            hay = [record.get("text") or ""]
            for facet in record.get("facets") or ():
                for feat in (facet or {}).get("features") or ():
                    hay.append((feat or {}).get("uri") or (feat or {}).get("tag") or "")
            ext = ((record.get("embed") or {}).get("external")) or {}
            hay += [ext.get("uri") or "", ext.get("title") or "", ext.get("description") or ""]
            text = " ".join(h for h in hay if isinstance(h, str)).lower()
            if not any(k in text for k in self._keywords):
                return False
        return True

    def _skip(self, why: str) -> None:
        self.stats.skipped[why] = self.stats.skipped.get(why, 0) + 1

    def _record(self, frame: str | bytes) -> SourceRecord | None:
        """The Kafka record of one frame, or None when the frame is not a wanted new post."""
        payload = frame.encode() if isinstance(frame, str) else frame
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self.stats.broken += 1
            return SourceRecord(payload)  # on to the dead letters, with the parser's reason
        if not isinstance(event, dict):
            self.stats.broken += 1
            return SourceRecord(payload)
        kind = event.get("kind")
        time_us = event.get("time_us") if isinstance(event.get("time_us"), int) else None
        commit = event.get("commit") if isinstance(event.get("commit"), dict) else {}
        record = commit.get("record")
        if kind != "commit" or commit.get("operation") != "create" or commit.get("collection") != POST:
            self._skip(
                str(kind)[:40] if kind != "commit" else f"{commit.get('operation')} {commit.get('collection')}"[:60]
            )
        elif isinstance(record, dict) and not self._wanted(record):
            self.stats.filtered += 1
        else:
            uri = jetstream_post_uri(event)
            key = str(platform_id("bluesky", uri)).encode() if uri else None
            self.stats.posts += 1
            return SourceRecord(payload, key, self.cursor.track(time_us) if time_us is not None else None)
        if time_us is not None:
            self.cursor.passed(time_us)
        return None

    # -- the connection ------------------------------------------------------------------------
    def _resume_from(self) -> int | None:
        pos = self.cursor.position()
        if pos is None and self.resume:
            pos = self.cursor.load()
        if pos is None:
            return None  # live tail
        return max(pos - int(self.settings.cursor_overlap_s * 1_000_000), 0)

    def _connect(self, url: str):
        from websockets.sync.client import connect

        return connect(
            url,
            open_timeout=10,
            close_timeout=2,
            max_size=MAX_FRAME_BYTES + 65_536,
            compression="deflate" if self.settings.compress else None,
        )

    def __iter__(self) -> Iterator[SourceRecord]:
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

        deadline = time.monotonic() + self.duration_s if self.duration_s else None
        attempt = 0
        self._backoff = 1.0
        while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
            base = self.urls[attempt % len(self.urls)]
            url = subscribe_url(base, self._resume_from())
            try:
                with self._connect(url) as ws:
                    self._ws = ws
                    log.info("connected to %s", url)
                    yield from self._read(ws, deadline)
                    return  # stopped, or past the deadline
            except InvalidURI as exc:
                raise SourceError(f"not a Jetstream URL: {base}: {exc}") from exc
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                self.stats.reconnects += 1
                attempt += 1
                wait = min(self._backoff, self.settings.max_backoff_s) * random.uniform(0.8, 1.2)
                self._backoff *= 2
                log.warning(
                    "Jetstream %s: %s; reconnecting to %s in %.1f s",
                    urlsplit(base).netloc,
                    str(exc)[:120] or type(exc).__name__,
                    urlsplit(self.urls[attempt % len(self.urls)]).netloc,
                    wait,
                )
                if self.stop.wait(wait):
                    return
            finally:
                self._close_ws()

    @property
    def compressed(self) -> bool:
        """Whether the current connection negotiated permessage-deflate."""
        return self._ws is not None and any(
            getattr(e, "name", "") == "permessage-deflate" for e in self._ws.protocol.extensions
        )

    def _read(self, ws, deadline: float | None) -> Iterator[SourceRecord]:
        """The wanted records of one connection, until stopped or past the deadline."""
        while not self.stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return
            timeout = self.recv_timeout_s if deadline is None else min(self.recv_timeout_s, deadline - time.monotonic())
            try:
                frame = ws.recv(timeout=max(timeout, 0.01), decode=False)  # bytes: bad UTF-8 is a dead letter
            except TimeoutError:
                self.cursor.save()
                continue
            self.stats.frames += 1
            self._backoff = 1.0  # the connection works
            rec = self._record(frame)
            self.cursor.save()
            if rec is not None:
                yield rec

    def _close_ws(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):  # closing a broken socket
                self._ws.close()
            self._ws = None

    def close(self) -> None:
        self._close_ws()
        self.cursor.save(force=True)
        s = self.stats
        log.info(
            "Jetstream: %d frames, %d posts sent, %d filtered out, %d broken, skipped %s, %d reconnects",
            s.frames,
            s.posts,
            s.filtered,
            s.broken,
            s.skipped,
            s.reconnects,
        )
