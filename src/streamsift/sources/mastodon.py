"""A Mastodon instance's public timeline, live, as a :class:`~streamsift.sources.base.Source`.

The streaming API's server-sent events (``GET /api/v1/streaming/public``, read with ``httpx`` and
``httpx-sse``), with a user token that has ``read:statuses`` (``STREAMSIFT_MASTODON_TOKEN``; since
Mastodon 4.2 the public streams need one). The streaming host comes from the instance's
``/api/v2/instance`` (``configuration.urls.streaming``), else the instance itself.

Each ``update`` event's status is sent on as delivered (JSON), keyed by its ActivityPub URI;
``delete`` and ``status.update`` events are counted and dropped; a payload that is not JSON goes
on, to reach the dead letters. Mastodon's stream has no replay cursor: after a dropped
connection the gap is filled from the REST timeline (``/api/v1/timelines/public?min_id=<last
id seen>``, page by page) before streaming again, so nothing in between is lost; what is read
twice is absorbed by the idempotent sinks. Reconnects back off exponentially (1 s doubling to
``mastodon.max_backoff_s``); HTTP 401/403 stop the source (the token is wrong), and the token is
only ever sent in the ``Authorization`` header.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import orjson

from streamsift.config import MastodonSettings
from streamsift.records import MalformedRecord, platform_id
from streamsift.records.mastodon import html_to_text
from streamsift.sources.base import Source, SourceError, SourceRecord

log = logging.getLogger(__name__)

BACKFILL_PAGES = 50  # at most 50 × 40 statuses fetched after a reconnect


@dataclass
class MastodonStats:
    events: int = 0
    statuses: int = 0
    filtered: int = 0
    broken: int = 0
    backfilled: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0


def _status_order(status: object) -> int:
    sid = status.get("id") if isinstance(status, dict) else None
    return int(sid) if isinstance(sid, str) and sid.isdigit() else 0


class MastodonSource(Source):
    """Statuses of a Mastodon instance's public stream; see the module documentation."""

    name = "mastodon"

    def __init__(
        self,
        settings: MastodonSettings,
        token: str | None,
        *,
        url: str | None = None,
        duration_s: float | None = None,
        stop: threading.Event | None = None,
        read_timeout_s: float = 90.0,
    ) -> None:
        if not token:
            raise SourceError(
                "the Mastodon streaming API needs a user token with read:statuses",
                hint="create one under Preferences → Development on your instance, then set STREAMSIFT_MASTODON_TOKEN",
            )
        self.settings = settings
        self.base = (url or settings.url).rstrip("/")
        self.duration_s = duration_s
        self.stop = stop or threading.Event()
        self.stats = MastodonStats()
        self.last_id: str | None = None  # the newest status id seen (instance-local, time-ordered)
        self._langs = {x.lower() for x in settings.languages}
        self._keywords = [k.lower() for k in settings.keywords]
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {token}", "User-Agent": "streamsift"},
            timeout=httpx.Timeout(10.0, read=read_timeout_s),
            follow_redirects=True,
        )

    # -- one status ----------------------------------------------------------------------------
    def _wanted(self, status: dict) -> bool:
        if self._langs and str(status.get("language") or "").lower() not in self._langs:
            return False
        if self._keywords:
            shown = status.get("reblog") if isinstance(status.get("reblog"), dict) else status
            text, links = html_to_text(str(shown.get("content") or ""))
            hay = " ".join([text, *links, *(str(t.get("name", "")) for t in shown.get("tags") or ())]).lower()
            if not any(k in hay for k in self._keywords):
                return False
        return True

    def _record(self, data: str | bytes, *, backfill: bool = False) -> SourceRecord | None:
        payload = data.encode() if isinstance(data, str) else data
        try:
            status = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self.stats.broken += 1
            return SourceRecord(payload)
        if not isinstance(status, dict) or not isinstance(status.get("uri"), str):
            self.stats.broken += 1
            return SourceRecord(payload)
        sid = status.get("id")
        if isinstance(sid, str) and sid.isdigit() and (self.last_id is None or int(sid) > int(self.last_id)):
            self.last_id = sid
        try:
            wanted = self._wanted(status)
        except (AttributeError, TypeError, MalformedRecord):
            wanted = True  # an odd shape: the normaliser judges it (and dead-letters it)
        if not wanted:
            self.stats.filtered += 1
            return None
        self.stats.statuses += 1
        self.stats.backfilled += backfill
        return SourceRecord(payload, str(platform_id("mastodon", status["uri"])).encode())

    # -- the connection ----------------------------------------------------------------------------
    def _streaming_base(self) -> str:
        try:
            r = self._client.get(f"{self.base}/api/v2/instance")
            if r.status_code == 200:
                streaming = ((r.json().get("configuration") or {}).get("urls") or {}).get("streaming")
                if isinstance(streaming, str) and streaming.startswith("wss://"):
                    return "https://" + streaming.removeprefix("wss://").rstrip("/")
                if isinstance(streaming, str) and streaming.startswith("ws://") and self.base.startswith("http://"):
                    return "http://" + streaming.removeprefix("ws://").rstrip("/")  # never downgrade https
        except (httpx.HTTPError, ValueError):
            pass
        return self.base

    def _backfill(self) -> Iterator[SourceRecord]:
        """Statuses newer than the last one seen, from the REST timeline (oldest first)."""
        if self.last_id is None:
            return
        local = {"local": "true"} if self.settings.stream == "public:local" else {}
        if self.settings.stream == "public:remote":
            local = {"remote": "true"}
        for _ in range(BACKFILL_PAGES):
            r = self._client.get(
                f"{self.base}/api/v1/timelines/public", params={"min_id": self.last_id, "limit": 40, **local}
            )
            self._check(r)
            try:
                page = r.json()
            except ValueError as exc:
                raise httpx.DecodingError(f"the timeline answered with something that is not JSON: {exc}") from exc
            if not isinstance(page, list) or not page:
                return
            before = self.last_id
            for status in sorted(page, key=_status_order):
                rec = self._record(orjson.dumps(status), backfill=True)
                if rec is not None:
                    yield rec
            if self.last_id == before:  # nothing newer could be read: do not ask for the same page again
                return
        log.warning("the gap after the reconnect is longer than %d statuses: the rest is skipped", 40 * BACKFILL_PAGES)

    def _check(self, r: httpx.Response) -> None:
        if r.status_code in (401, 403):
            raise SourceError(
                f"{self.base} refused the token (HTTP {r.status_code})",
                hint="STREAMSIFT_MASTODON_TOKEN needs the read:statuses scope",
            )
        r.raise_for_status()

    def __iter__(self) -> Iterator[SourceRecord]:
        from httpx_sse import SSEError, connect_sse

        deadline = time.monotonic() + self.duration_s if self.duration_s else None
        stream = self._streaming_base()
        path = "/api/v1/streaming/" + self.settings.stream.replace(":", "/")
        backoff = 1.0
        while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
            try:
                with connect_sse(self._client, "GET", stream + path) as source:
                    self._check(source.response)
                    log.info("streaming %s%s", stream, path)
                    # connected first, then the gap: what arrives meanwhile waits in the stream
                    yield from self._backfill()
                    for sse in source.iter_sse():
                        backoff = 1.0
                        self.stats.events += 1
                        if sse.event == "update":
                            rec = self._record(sse.data)
                            if rec is not None:
                                yield rec
                        else:
                            self.stats.skipped[sse.event[:40]] = self.stats.skipped.get(sse.event[:40], 0) + 1
                        if self.stop.is_set() or (deadline is not None and time.monotonic() >= deadline):
                            return
                # the server ended the stream: reconnect
                raise httpx.RemoteProtocolError("the stream ended")
            except SourceError:
                raise
            except (httpx.HTTPError, SSEError) as exc:
                self.stats.reconnects += 1
                wait = min(backoff, self.settings.max_backoff_s) * random.uniform(0.8, 1.2)
                backoff *= 2
                log.warning("Mastodon stream: %s; reconnecting in %.1f s", str(exc)[:160] or type(exc).__name__, wait)
                if self.stop.wait(wait):
                    return

    def close(self) -> None:
        self._client.close()
        s = self.stats
        log.info(
            "Mastodon: %d events, %d statuses sent (%d from backfill), %d filtered out, %d broken, skipped %s, "
            "%d reconnects",
            s.events,
            s.statuses,
            s.backfilled,
            s.filtered,
            s.broken,
            s.skipped,
            s.reconnects,
        )
