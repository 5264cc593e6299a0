"""A local Mastodon instance for the streaming API: server-sent events, the REST public timeline, a token.

``/api/v1/streaming/public`` needs ``Authorization: Bearer <token>`` (401 otherwise) and streams
``update`` events (the Status JSON as ``data``), ``delete`` and ``status.update`` events, ``:thump``
heartbeats and, once, an update whose data is not JSON. The first connection streams the first
``drop_at`` statuses and is then cut; the statuses "published" while the client was away exist
only in ``/api/v1/timelines/public`` (``min_id`` paging, newest first, like Mastodon's); the next
connection streams from ``resume_at`` on. ``/api/v2/instance`` names the streaming host.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.asgi_thread import AsgiThread


def status(i: int, *, lang: str = "en", text: str | None = None) -> dict:
    sid = str(113_000_000_000_000_000 + i)
    body = text or f"Status {i}: a new #MachineLearning paper on transformers"
    return {
        "id": sid,
        "uri": f"https://sigmoid.social/users/u{i % 7}/statuses/{sid}",
        "url": f"https://sigmoid.social/@u{i % 7}/{sid}",
        "created_at": "2026-12-01T10:00:00.000Z",
        "language": lang,
        "content": f'<p>{body} <a href="https://example.org/p/{i}" rel="nofollow noopener">example.org/p/{i}</a></p>',
        "spoiler_text": "",
        "account": {"id": str(i % 7), "acct": f"u{i % 7}", "display_name": f"U {i % 7}", "followers_count": i},
        "tags": [{"name": "MachineLearning"}],
        "mentions": [],
        "reblog": None,
        "in_reply_to_id": None,
        "card": None,
    }


@dataclass
class FakeMastodon:
    token: str
    statuses: list[dict]
    drop_at: int
    resume_at: int
    port: int = 0
    stream_connections: int = 0
    timeline_calls: list[str] = field(default_factory=list)
    _server: AsgiThread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def instance(self, _request: Request) -> Response:
        return JSONResponse({"configuration": {"urls": {"streaming": f"ws://127.0.0.1:{self.port}"}}})

    async def timeline(self, request: Request) -> Response:
        if not self._authorized(request):
            return JSONResponse({"error": "The access token is invalid"}, status_code=401)
        min_id = int(request.query_params.get("min_id", "0"))
        limit = int(request.query_params.get("limit", "20"))
        self.timeline_calls.append(str(min_id))
        newer = [s for s in self.statuses[: self.resume_at + 10] if int(s["id"]) > min_id][:limit]
        return JSONResponse(list(reversed(newer)))  # newest first, as Mastodon pages

    async def stream(self, request: Request) -> Response:
        if not self._authorized(request):
            return JSONResponse({"error": "Error: Missing access token"}, status_code=401)
        self.stream_connections += 1
        first = self.stream_connections == 1
        part = self.statuses[: self.drop_at] if first else self.statuses[self.resume_at :]

        async def events():
            yield b":thump\n\n"
            for n, s in enumerate(part):
                yield b"event: update\ndata: " + orjson.dumps(s) + b"\n\n"
                if n % 9 == 4:
                    yield b"event: delete\ndata: 112999999999999999\n\n"
                if n % 13 == 6:
                    yield b"event: status.update\ndata: " + orjson.dumps(s) + b"\n\n"
                if first and n == 3:
                    yield b'event: update\ndata: {"id": "1", "uri": "broken\n\n'
                if n % 10 == 0:
                    yield b":thump\n\n"
                await asyncio.sleep(0)
            if first:
                raise ConnectionResetError("the instance went away")  # the connection is cut, no clean end
            while True:  # a live stream with nothing new
                await asyncio.sleep(0.2)
                yield b":thump\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    def start(self) -> FakeMastodon:
        app = Starlette(
            routes=[
                Route("/api/v2/instance", self.instance),
                Route("/api/v1/timelines/public", self.timeline),
                Route("/api/v1/streaming/public", self.stream),
            ]
        )
        self._server = AsgiThread(app)
        self.port = self._server.port
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
