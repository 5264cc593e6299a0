"""HTTP plumbing both protocols share: JSON bodies in and out, the request id, bearer auth."""

from __future__ import annotations

import hmac
import os
import uuid

import orjson
from fastapi import Request
from fastapi.responses import Response

from streamsift.serving.service import ApiError

JSON = "application/json"


def json_response(data: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY), status, headers, media_type=JSON)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": message}, status, headers)


def parse_json(raw: bytes, content_type: str) -> dict:
    """A request body as a JSON object, or a 4xx saying what is wrong with it."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype and ctype != JSON and not ctype.endswith("+json"):
        raise ApiError(415, f"Content-Type is {ctype!r}; send application/json")
    if not raw:
        raise ApiError(400, "the request body is empty: send a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"JSON Parse error: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"the body must be a JSON object, not {type(body).__name__}")
    return body


async def json_body(request: Request) -> dict:
    return parse_json(await request.body(), request.headers.get("content-type", ""))


def request_id(request: Request) -> str:
    return request.scope.get("request_id") or uuid.uuid4().hex


class BearerAuth:
    """``Authorization: Bearer <token>`` for predict and admin routes when the token variable is set."""

    def __init__(self, env_var: str) -> None:
        self.env_var = env_var
        token = os.environ.get(env_var, "")
        self._token = token.encode() if token else None

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def __call__(self, request: Request) -> None:
        self.check(request.headers.get("authorization", ""))

    def check(self, header: str) -> None:
        if self._token is None:
            return
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self._token):
            raise ApiError(
                401,
                "missing or wrong bearer token (send Authorization: Bearer <token>)",
                {"WWW-Authenticate": 'Bearer realm="streamsift"'},
            )


__all__ = ["JSON", "BearerAuth", "error_response", "json_body", "json_response", "parse_json", "request_id"]
