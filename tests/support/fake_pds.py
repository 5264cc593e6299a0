"""A local Bluesky PDS for reposting: createSession, refreshSession, createRecord, listRecords, with
rate limits and expiring access tokens.

``createSession`` takes the handle and app password and counts logins (at most ``session_limit``);
an access token expires after ``access_uses`` calls (``ExpiredToken``, as the PDS answers), and
``refreshSession`` gives a new one. ``createRecord`` of ``app.bsky.feed.repost`` records each
repost (the PDS itself does not refuse a second repost of one post) and allows ``write_limit``
writes per ``write_window_s``, answering with ``ratelimit-*`` headers and 429 past the limit.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.asgi_thread import AsgiThread

DID = "did:plc:streamsiftbot0000000000000"


@dataclass
class FakePds:
    handle: str
    app_password: str
    write_limit: int = 1000
    write_window_s: float = 3600.0
    access_uses: int = 1000
    session_limit: int = 30
    fail_writes: int = 0  # the next N writes answer 502 (nothing written)
    lose_answers: int = 0  # the next N writes are done but answer 502
    reposts: list[dict] = field(default_factory=list)  # every record created, duplicates included
    sessions: int = 0
    refreshes: int = 0
    too_many: int = 0
    _tokens: dict[str, int] = field(default_factory=dict)  # access token → uses left
    _refresh: set[str] = field(default_factory=set)
    _window_start: float = field(default_factory=time.time)
    _window_used: int = 0
    _server: AsgiThread | None = None

    def _limits(self) -> dict[str, str]:
        reset = self._window_start + self.write_window_s
        return {
            "ratelimit-limit": str(self.write_limit),
            "ratelimit-remaining": str(max(self.write_limit - self._window_used, 0)),
            "ratelimit-reset": str(math.ceil(reset)),
            "ratelimit-policy": f"{self.write_limit};w={int(self.write_window_s)}",
        }

    def _issue(self) -> dict:
        access, refresh = secrets.token_hex(8), secrets.token_hex(8)
        self._tokens[access] = self.access_uses
        self._refresh.add(refresh)
        return {"did": DID, "handle": self.handle, "accessJwt": access, "refreshJwt": refresh, "active": True}

    async def create_session(self, request: Request) -> Response:
        body = await request.json()
        if self.sessions >= self.session_limit:
            return JSONResponse({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, status_code=429)
        if body.get("identifier") != self.handle or body.get("password") != self.app_password:
            return JSONResponse(
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, status_code=401
            )
        self.sessions += 1
        return JSONResponse(self._issue())

    async def refresh_session(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self._refresh:
            return JSONResponse({"error": "ExpiredToken", "message": "Token has expired"}, status_code=400)
        self._refresh.discard(token)
        self.refreshes += 1
        return JSONResponse(self._issue())

    def _auth(self, request: Request) -> Response | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self._tokens:
            return JSONResponse({"error": "AuthenticationRequired", "message": "Invalid token"}, status_code=401)
        if self._tokens[token] <= 0:
            return JSONResponse({"error": "ExpiredToken", "message": "Token has expired"}, status_code=400)
        self._tokens[token] -= 1
        return None

    async def create_record(self, request: Request) -> Response:
        if (denied := self._auth(request)) is not None:
            return denied
        now = time.time()
        if now >= self._window_start + self.write_window_s:
            self._window_start, self._window_used = now, 0
        if self._window_used >= self.write_limit:
            self.too_many += 1
            return JSONResponse(
                {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                status_code=429,
                headers=self._limits(),
            )
        body = await request.json()
        record = body.get("record") or {}
        subject = record.get("subject") or {}
        if body.get("repo") != DID or body.get("collection") != "app.bsky.feed.repost" or not subject.get("cid"):
            return JSONResponse({"error": "InvalidRequest", "message": "bad repost"}, status_code=400)
        if self.fail_writes > 0:
            self.fail_writes -= 1
            return JSONResponse({"error": "UpstreamFailure"}, status_code=502)
        self._window_used += 1
        rkey = secrets.token_hex(6)
        self.reposts.append({"uri": f"at://{DID}/app.bsky.feed.repost/{rkey}", "value": record})
        if self.lose_answers > 0:  # the write happened, the answer is lost on the way back
            self.lose_answers -= 1
            return JSONResponse({"error": "UpstreamFailure"}, status_code=502)
        return JSONResponse({"uri": self.reposts[-1]["uri"], "cid": "bafyrepost" + rkey}, headers=self._limits())

    async def list_records(self, request: Request) -> Response:
        if (denied := self._auth(request)) is not None:
            return denied
        return JSONResponse({"records": list(reversed(self.reposts))[:100]})

    def start(self) -> FakePds:
        app = Starlette(
            routes=[
                Route("/xrpc/com.atproto.server.createSession", self.create_session, methods=["POST"]),
                Route("/xrpc/com.atproto.server.refreshSession", self.refresh_session, methods=["POST"]),
                Route("/xrpc/com.atproto.repo.createRecord", self.create_record, methods=["POST"]),
                Route("/xrpc/com.atproto.repo.listRecords", self.list_records),
            ]
        )
        self._server = AsgiThread(app).start()
        return self

    @property
    def url(self) -> str:
        return self._server.url if self._server else ""

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def reposted(self) -> dict[str, int]:
        """How many repost records name each post."""
        out: dict[str, int] = {}
        for r in self.reposts:
            uri = r["value"]["subject"]["uri"]
            out[uri] = out.get(uri, 0) + 1
        return out
