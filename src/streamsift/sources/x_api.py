"""The X API v2 filtered stream as a :class:`~streamsift.sources.base.Source`.

:class:`XApiSource` keeps the stream's rules in line with ``x_api.rules``
(:meth:`XApiSource.sync_rules`), then holds one long-lived connection to
``GET /2/tweets/search/stream`` and yields every message line exactly as X
delivered it. It reconnects on its own, following X's documented guidance:

* network errors, stalls and disconnects: back off linearly, 0.25 s more per
  attempt, at most 16 s;
* HTTP 5xx: back off exponentially from 5 s, doubling, at most
  ``x_api.max_backoff_s``;
* HTTP 429: back off exponentially from 60 s, doubling, and at least until the
  ``x-rate-limit-reset`` time when X sends one;
* HTTP 401, 403 and every other 4xx: :class:`SourceError`, never retried.

Every wait is reset once a connection delivers a tweet. The bearer token is only
ever put in the ``Authorization`` header: never in logs, reprs or errors.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from streamsift import __version__
from streamsift.config import XApiSettings
from streamsift.sources.base import Source, SourceError, SourceRecord

logger = logging.getLogger(__name__)

STREAM_PATH = "/2/tweets/search/stream"
RULES_PATH = "/2/tweets/search/stream/rules"
#: The fields and expansions requested on the stream: what the ingest job's v2 normaliser reads.
STREAM_PARAMS: dict[str, str] = {
    "tweet.fields": "created_at,lang,entities,referenced_tweets,note_tweet,author_id,"
    "public_metrics,in_reply_to_user_id",
    "expansions": "author_id,referenced_tweets.id,referenced_tweets.id.author_id",
    "user.fields": "username,name,verified,public_metrics",
}
#: X sends a keep-alive line every ~20 s: this long without a byte means the connection stalled.
STREAM_READ_TIMEOUT_S = 90.0
#: Connect / write / pool timeouts, and the whole timeout of the rules requests.
REQUEST_TIMEOUT_S = 30.0
#: A line longer than this without a newline is treated as a broken stream.
MAX_LINE_BYTES = 16 * 1024 * 1024
#: The tag given to the rules streamsift adds.
RULE_TAG = "streamsift"
TOKEN_ENV_VAR = "STREAMSIFT_X_BEARER_TOKEN"
#: The longest wait honoured from an ``x-rate-limit-reset`` header (X's windows are 15 minutes).
MAX_RESET_WAIT_S = 16 * 60.0

_REDACTED = "**********"


@dataclass
class ReconnectBackoff:
    """X's reconnect policy: how long to wait before the next connection attempt.

    Each kind of failure has its own counter of consecutive failures; :meth:`reset`
    (called once a connection delivered a tweet) clears them all.
    """

    max_backoff_s: float = 320.0
    network_step_s: float = 0.25
    network_cap_s: float = 16.0
    server_error_start_s: float = 5.0
    rate_limit_start_s: float = 60.0
    _network: int = field(default=0, init=False)
    _server: int = field(default=0, init=False)
    _rate_limit: int = field(default=0, init=False)

    def network_error(self) -> float:
        """The wait after a network error, stall or disconnect: linear, capped at 16 s."""
        self._network += 1
        return min(self.network_step_s * self._network, self.network_cap_s)

    def server_error(self) -> float:
        """The wait after an HTTP 5xx: exponential from 5 s, capped at ``max_backoff_s``."""
        self._server += 1
        return min(_doubled(self.server_error_start_s, self._server), self.max_backoff_s)

    def rate_limited(self, reset_at: float | None = None, now: float | None = None) -> float:
        """The wait after an HTTP 429: exponential from 60 s, and at least until ``reset_at``.

        ``reset_at`` is the ``x-rate-limit-reset`` header (epoch seconds); one second
        is added for clock skew, and at most :data:`MAX_RESET_WAIT_S` is honoured.
        """
        self._rate_limit += 1
        cap = max(self.max_backoff_s, self.rate_limit_start_s)
        delay = min(_doubled(self.rate_limit_start_s, self._rate_limit), cap)
        if reset_at is not None:
            until_reset = reset_at - (time.time() if now is None else now) + 1.0
            delay = max(delay, min(until_reset, MAX_RESET_WAIT_S))
        return delay

    def reset(self) -> None:
        """Forget past failures (a connection worked)."""
        self._network = self._server = self._rate_limit = 0


def _doubled(start: float, attempt: int) -> float:
    return start * 2.0 ** min(attempt - 1, 32)


@dataclass(frozen=True, slots=True)
class RuleSyncResult:
    """What :meth:`XApiSource.sync_rules` changed (rule values)."""

    added: list[str]
    deleted: list[str]
    kept: list[str]


class XApiSource(Source):
    """Tweets from the X API v2 filtered stream, reconnecting on its own.

    ``max_records`` stops the iteration after that many records; ``max_reconnects``
    bounds the reconnections over the iteration (None: forever), after which
    :class:`SourceError` is raised. ``sleep`` is called with every back-off wait.
    The source takes ownership of ``client`` (closed by :meth:`close`); when given,
    its timeouts apply to the rules requests, while the stream always uses
    ``read_timeout_s`` as its read timeout.
    """

    name = "x-api"

    def __init__(
        self,
        settings: XApiSettings,
        bearer_token: SecretStr | None,
        *,
        max_records: int | None = None,
        max_reconnects: int | None = None,
        sleep: Callable[[float], object] = time.sleep,
        client: httpx.Client | None = None,
        read_timeout_s: float = STREAM_READ_TIMEOUT_S,
    ) -> None:
        if bearer_token is None or not bearer_token.get_secret_value().strip():
            raise SourceError(
                "the X API source needs a bearer token",
                hint=f"set {TOKEN_ENV_VAR} to the bearer token of your X developer app",
            )
        if max_records is not None and max_records < 0:
            raise ValueError("max_records must be >= 0")
        if max_reconnects is not None and max_reconnects < 0:
            raise ValueError("max_reconnects must be >= 0")
        if read_timeout_s <= 0:
            raise ValueError("read_timeout_s must be > 0")
        base_url = settings.base_url.rstrip("/")
        try:
            url = httpx.URL(base_url)
        except httpx.InvalidURL as exc:
            raise SourceError(f"x_api.base_url is not a valid URL: {exc}") from None
        if url.scheme not in {"http", "https"} or not url.host:
            raise SourceError(f"x_api.base_url must be an http(s) URL, got {base_url!r}")
        if url.scheme == "http" and url.host not in {"127.0.0.1", "localhost", "::1"}:
            logger.warning("x_api.base_url %s is not https: the bearer token is sent in clear", base_url)
        self._settings = settings
        self._base_url = base_url
        self._token = bearer_token
        self._max_records = max_records
        self._max_reconnects = max_reconnects
        self._sleep = sleep
        self._client = client or httpx.Client(timeout=httpx.Timeout(REQUEST_TIMEOUT_S))
        self._stream_timeout = httpx.Timeout(REQUEST_TIMEOUT_S, read=read_timeout_s)
        self._rules_synced = False

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self._base_url!r}, rules={len(self._settings.rules)}, "
            f"max_records={self._max_records}, max_reconnects={self._max_reconnects})"
        )

    @property
    def total(self) -> int | None:
        """``max_records`` when set: the stream itself never ends."""
        return self._max_records

    # -- rules -------------------------------------------------------------------------------

    def sync_rules(self) -> RuleSyncResult:
        """Make the stream's rules exactly ``x_api.rules``: delete the others, add the missing ones.

        Raises :class:`SourceError` when ``x_api.rules`` is empty (the stream would
        deliver nothing, and every existing rule would be deleted) or when X refuses
        a request; nothing is retried here.
        """
        wanted = list(dict.fromkeys(self._settings.rules))
        if not wanted:
            raise SourceError(
                "x_api.rules is empty: the filtered stream would deliver nothing",
                hint="list at least one rule in [x_api] rules",
            )
        body = self._request_json("GET", RULES_PATH)
        current = [r for r in body.get("data") or [] if isinstance(r, dict) and "id" in r]
        stale = [r for r in current if r.get("value") not in wanted]
        present = {r.get("value") for r in current}
        missing = [v for v in wanted if v not in present]
        if stale:
            reply = self._request_json("POST", RULES_PATH, {"delete": {"ids": [str(r["id"]) for r in stale]}})
            self._check_rule_errors(reply, "delete")
            logger.info("deleted %d X stream rule(s) not in x_api.rules", len(stale))
        if missing:
            reply = self._request_json("POST", RULES_PATH, {"add": [{"value": v, "tag": RULE_TAG} for v in missing]})
            self._check_rule_errors(reply, "add")
            logger.info("added %d X stream rule(s)", len(missing))
        self._rules_synced = True
        return RuleSyncResult(
            added=missing,
            deleted=[str(r.get("value")) for r in stale],
            kept=[v for v in wanted if v in present],
        )

    def _check_rule_errors(self, reply: dict[str, Any], action: str) -> None:
        errors = [e for e in reply.get("errors") or [] if isinstance(e, dict)]
        fatal = [e for e in errors if e.get("title") != "DuplicateRule"]
        if fatal:
            parts = []
            for e in fatal[:5]:
                details = e.get("details")
                if isinstance(details, list):
                    details = ", ".join(str(d) for d in details)
                text = ": ".join(str(v) for v in (e.get("value"), e.get("title"), e.get("detail"), details) if v)
                parts.append(text or "unknown error")
            raise SourceError(self._redact(f"X API refused to {action} stream rules: " + "; ".join(parts)))

    def _request_json(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self._client.request(method, self._base_url + path, json=body, headers=self._headers())
        except httpx.HTTPError as exc:
            raise SourceError(
                f"cannot reach the X API at {self._base_url}: {type(exc).__name__}: {self._redact(str(exc))}"
            ) from None
        if not response.is_success:
            raise self._status_error(response, f"{method} {path}")
        try:
            data = response.json()
        except ValueError:
            raise SourceError(f"X API {method} {path}: the reply is not JSON") from None
        if not isinstance(data, dict):
            raise SourceError(f"X API {method} {path}: unexpected reply")
        return data

    # -- stream ------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[SourceRecord]:
        """Sync the rules (once), then yield every stream message until ``max_records``."""
        if self._max_records == 0:
            return
        if not self._rules_synced:
            self.sync_rules()
        backoff = ReconnectBackoff(max_backoff_s=self._settings.max_backoff_s)
        delivered = 0
        reconnects = 0
        url = self._base_url + STREAM_PATH
        while True:
            try:
                with self._client.stream(
                    "GET", url, params=STREAM_PARAMS, headers=self._headers(), timeout=self._stream_timeout
                ) as response:
                    status = response.status_code
                    if status == 429:
                        response.read()
                        delay = backoff.rate_limited(_reset_at(response))
                        reason = f"HTTP 429 ({self._error_message(response)})"
                    elif status >= 500:
                        response.read()
                        delay = backoff.server_error()
                        reason = f"HTTP {status} ({self._error_message(response)})"
                    elif not response.is_success:
                        response.read()
                        raise self._status_error(response, "GET " + STREAM_PATH)
                    else:
                        logger.info("connected to the X filtered stream at %s", self._base_url)
                        got_tweet = False
                        for line in _iter_lines(response):
                            if not line:  # keep-alive
                                continue
                            error = _stream_error(line)
                            if error is not None:
                                logger.warning("X filtered stream error: %s", self._redact(error))
                                continue
                            if not got_tweet:
                                got_tweet = True
                                backoff.reset()
                            yield SourceRecord.from_payload(line)
                            delivered += 1
                            if self._max_records is not None and delivered >= self._max_records:
                                return
                        delay = backoff.network_error()
                        reason = "the stream ended"
            except (httpx.TransportError, httpx.DecodingError) as exc:
                delay = backoff.network_error()
                reason = f"{type(exc).__name__}: {self._redact(str(exc)) or 'connection lost'}"
            if self._max_reconnects is not None and reconnects >= self._max_reconnects:
                raise SourceError(
                    f"X filtered stream: giving up after {reconnects} reconnect(s); last failure: {reason}"
                )
            reconnects += 1
            logger.warning("X filtered stream: %s; reconnecting in %.2f s (reconnect %d)", reason, delay, reconnects)
            self._sleep(delay)

    def close(self) -> None:
        """Close the HTTP client (and with it any open stream connection)."""
        self._client.close()

    # -- helpers -----------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "User-Agent": f"streamsift/{__version__}",
        }

    def _redact(self, text: str) -> str:
        secret = self._token.get_secret_value()
        return text.replace(secret, _REDACTED) if secret else text

    def _error_message(self, response: httpx.Response) -> str:
        """The API's explanation of a failed response (title / detail / errors), redacted."""
        parts: list[str] = []

        def add(value: object) -> None:
            if isinstance(value, str) and value.strip() and value.strip() not in parts:
                parts.append(value.strip())

        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            add(body.get("title"))
            add(body.get("detail"))
            for error in (body.get("errors") or [])[:3] if isinstance(body.get("errors"), list) else []:
                if isinstance(error, dict):
                    add(error.get("title"))
                    add(error.get("message"))
                    add(error.get("detail"))
        if not parts:
            add(response.text[:200])
        if not parts:
            add(response.reason_phrase)
        return self._redact(": ".join(parts))[:500] or "no details"

    def _status_error(self, response: httpx.Response, what: str) -> SourceError:
        status = response.status_code
        hint = None
        if status == 401:
            hint = f"check {TOKEN_ENV_VAR}: X did not accept the bearer token"
        elif status == 403:
            hint = "the token's app needs filtered-stream access (an app in a Project, suitable access level)"
        elif status == 429:
            hint = "rate limited by X: try again later"
        return SourceError(f"X API {what} failed: HTTP {status}: {self._error_message(response)}", hint=hint)


def _iter_lines(response: httpx.Response) -> Iterator[bytes]:
    """The response's lines as delivered (line terminator and surrounding blanks removed).

    A partial line cut off by a dropped connection is never yielded: the error
    propagates first. A final unterminated line of a cleanly ended stream is.
    """
    buffer = bytearray()
    for chunk in response.iter_bytes():
        buffer += chunk
        start = 0
        while (newline := buffer.find(b"\n", start)) >= 0:
            yield bytes(buffer[start:newline]).strip()
            start = newline + 1
        del buffer[:start]
        if len(buffer) > MAX_LINE_BYTES:
            raise httpx.RemoteProtocolError(f"a stream line exceeds {MAX_LINE_BYTES} bytes")
    if buffer.strip():
        yield bytes(buffer).strip()


def _stream_error(line: bytes) -> str | None:
    """A summary of the line when it is a stream error object (``errors`` without ``data``)."""
    if b'"errors"' not in line:
        return None
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or "data" in obj or not isinstance(obj.get("errors"), list):
        return None
    parts = []
    for error in obj["errors"][:3]:
        if isinstance(error, dict):
            keys = ("title", "disconnect_type", "detail", "message")
            parts.append(" - ".join(str(error[k]) for k in keys if error.get(k)))
    return "; ".join(p for p in parts if p)[:500] or "unspecified error"


def _reset_at(response: httpx.Response) -> float | None:
    value = response.headers.get("x-rate-limit-reset")
    try:
        reset_at = float(value) if value is not None else None
    except ValueError:
        return None
    return reset_at if reset_at is not None and math.isfinite(reset_at) else None


__all__ = [
    "RULES_PATH",
    "STREAM_PARAMS",
    "STREAM_PATH",
    "ReconnectBackoff",
    "RuleSyncResult",
    "XApiSource",
]
