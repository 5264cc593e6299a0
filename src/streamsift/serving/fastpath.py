"""The hot path: predict and infer requests answered straight from ASGI, and the access log.

FastAPI's routing, dependency injection and request objects cost more per request than the
model does for one text. :class:`Server` is the ASGI app uvicorn runs: it handles the two
prediction routes itself — the same parsing, validation, auth and answers as the FastAPI
routes, which stay registered for ``/docs`` — and passes everything else to FastAPI. Around
both it keeps the request id, the per-route metrics and one JSON access line per request.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
import uuid
from typing import Any

import orjson

from streamsift.serving import oip, tfserving
from streamsift.serving.http import BearerAuth, parse_json
from streamsift.serving.metrics import ServerMetrics
from streamsift.serving.service import ApiError, InferenceService

log = logging.getLogger(__name__)

_TF = re.compile(r"^/v1/models/([^/:]+)(?:/versions/([^/:]+)|/labels/([^/:]+))?:predict$")
_OIP = re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?/infer$")
_TF_ROUTES = (
    "/v1/models/{name}:predict",
    "/v1/models/{name}/versions/{version}:predict",
    "/v1/models/{name}/labels/{label}:predict",
)
_OIP_ROUTES = ("/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._:@-]")
_JSON_HEADERS = [(b"content-type", b"application/json")]


class AccessLog:
    """JSON lines on stdout, written in chunks (a flush task empties the buffer every 0.2 s)."""

    def __init__(self, enabled: bool, stream: Any = None) -> None:
        self.enabled = enabled
        self._out = stream or sys.stdout.buffer
        self._buf: list[bytes] = []

    def write(self, entry: dict[str, Any]) -> None:
        self._buf.append(orjson.dumps(entry) + b"\n")
        if len(self._buf) >= 256:
            self.flush()

    def flush(self) -> None:
        if self._buf:
            data, self._buf = b"".join(self._buf), []
            try:
                self._out.write(data)
                self._out.flush()
            except (OSError, ValueError):  # stdout closed: nothing to do about it
                pass

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            self.flush()


class Server:
    """The ASGI app: hot prediction routes, else FastAPI; request ids, metrics, access log around both."""

    def __init__(
        self, api, service: InferenceService, auth: BearerAuth, metrics: ServerMetrics, access: AccessLog, max_body: int
    ) -> None:
        self.api = api
        self.service = service
        self.auth = auth
        self.metrics = metrics
        self.access = access
        self.max_body = max_body
        self._counters: dict[tuple[str, int], Any] = {}
        self._histograms: dict[str, Any] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.api(scope, receive, send)
        t0 = time.perf_counter()
        rid = None
        auth_header = ctype = ""
        length = None
        for k, v in scope["headers"]:
            if k == b"x-request-id":
                rid = _SAFE_ID.sub("", v.decode("latin-1"))[:128] or None
            elif k == b"authorization":
                auth_header = v.decode("latin-1")
            elif k == b"content-type":
                ctype = v.decode("latin-1")
            elif k == b"content-length":
                length = int(v) if v.isdigit() else None
        rid = rid or uuid.uuid4().hex
        scope["request_id"] = rid
        status = [500]
        rid_header = (b"x-request-id", rid.encode())

        async def send_wrapper(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        route = None
        try:
            if scope["method"] == "POST":
                path = scope["path"]
                if (m := _TF.match(path)) is not None:
                    route = _TF_ROUTES[0 if not (m[2] or m[3]) else 1 if m[2] else 2]
                    status[0] = await self._hot(send, receive, rid, rid_header, auth_header, ctype, length, "tf", m)
                    return
                if (m := _OIP.match(path)) is not None:
                    route = _OIP_ROUTES[0 if not m[2] else 1]
                    status[0] = await self._hot(send, receive, rid, rid_header, auth_header, ctype, length, "oip", m)
                    return
            await self.api(scope, receive, send_wrapper)
        finally:
            dt = time.perf_counter() - t0
            if route is None:
                r = scope.get("route")
                route = getattr(r, "path", None) or "unmatched"
            key = (route, status[0])
            c = self._counters.get(key)
            if c is None:
                c = self._counters[key] = self.metrics.requests.labels(route, str(status[0]))
            c.inc()
            h = self._histograms.get(route)
            if h is None:
                h = self._histograms[route] = self.metrics.latency.labels(route)
            h.observe(dt)
            if self.access.enabled:
                self.access.write(
                    {
                        "ts": round(time.time(), 3),
                        "request_id": rid,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status[0],
                        "ms": round(dt * 1000, 3),
                    }
                )

    async def _hot(self, send, receive, rid, rid_header, auth_header, ctype, length, kind, m) -> int:
        status, headers = 200, None
        try:
            self.auth.check(auth_header)
            if length is not None and length > self.max_body:
                raise ApiError(413, f"the body has {length} bytes; at most {self.max_body}")
            body = parse_json(await _read_body(receive, self.max_body), ctype)
            # scope["path"] is already percent-decoded, as TF Serving decodes names and labels
            if kind == "tf":
                payload = await tfserving.predict_body(self.service, body, name=m[1], version=m[2], label=m[3], rid=rid)
            else:
                payload = await oip.infer_body(self.service, body, name=m[1], version=m[2], rid=rid)
        except ApiError as exc:
            status, payload, headers = exc.status, {"error": exc.message}, exc.headers
        except Exception as exc:
            log.error("request %s failed: %s", rid, exc, exc_info=exc)
            status, payload = 500, {"error": f"internal error (request id {rid})"}
        data = orjson.dumps(payload)
        h = [*_JSON_HEADERS, (b"content-length", str(len(data)).encode()), rid_header]
        if headers:
            h += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": h})
        await send({"type": "http.response.body", "body": data})
        return status


async def _read_body(receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(499, "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body is over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


__all__ = ["AccessLog", "Server"]
