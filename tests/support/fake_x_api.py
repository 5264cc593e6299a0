"""A scriptable local stand-in for the X API v2 filtered stream, for tests.

:class:`FakeXApi` is a real HTTP/1.1 server (``ThreadingHTTPServer`` on
127.0.0.1, a free port) that serves:

* ``GET /2/tweets/search/stream``: each connection plays the next scripted
  :class:`Stream` or :class:`Reply`. A :class:`Stream` sends its chunks with
  chunked transfer encoding, then ends cleanly (``"close"``), drops the TCP
  connection without the terminating chunk (``"drop"``), or goes silent
  (``"stall"``). Once the script is exhausted, connections get HTTP 410, so a
  client that reconnects more often than scripted fails loudly.
* ``GET`` / ``POST /2/tweets/search/stream/rules``: a small in-memory rule set
  with X's reply shapes (``data`` / ``meta`` / ``errors``): adding a rule that
  exists gives a ``DuplicateRule`` error, unbalanced parentheses an
  ``UnprocessableEntity`` one.

* ``POST /2/users/:id/retweets`` (``{"tweet_id": "..."}``) and
  ``GET /2/tweets/:id/retweeted_by``: the retweet API with a user-context token
  (``user_token``), X's per-user rate limit (``retweet_limit`` requests per
  ``retweet_window_s``; ``x-rate-limit-*`` headers on every answer, 429 past it),
  ``{"data": {"id", "retweeted": true}}`` answers, RFC 7807 problems for errors,
  and ``fail_retweets`` scripted 503s. ``retweet_posts`` counts POSTs per tweet,
  ``retweeted`` the tweets the user has retweeted.

Every request is recorded (method, path, query, headers, JSON body). When
``token`` is set, a stream or rules request without ``Authorization: Bearer <token>``
gets X's 401 reply.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

STREAM_PATH = "/2/tweets/search/stream"
RULES_PATH = "/2/tweets/search/stream/rules"
#: X's keep-alive: an empty line (``\r\n``), sent every ~20 s on a quiet stream.
KEEP_ALIVE = b"\r\n"

UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
RETWEET_PATH = re.compile(r"^/2/users/(\d+)/retweets$")
RETWEETED_BY_PATH = re.compile(r"^/2/tweets/(\d+)/retweeted_by$")


def tweet(tweet_id: int, text: str | None = None, *, rule: str = "1") -> dict[str, Any]:
    """A v2 filtered-stream message for one tweet (``data`` + ``includes`` + ``matching_rules``)."""
    author = str(1000 + tweet_id % 7)
    return {
        "data": {
            "id": str(tweet_id),
            "text": text if text is not None else f"tweet number {tweet_id} about AI",
            "author_id": author,
            "created_at": "2024-05-01T12:00:00.000Z",
            "lang": "en",
            "edit_history_tweet_ids": [str(tweet_id)],
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 1, "quote_count": 0},
        },
        "includes": {"users": [{"id": author, "name": "Some One", "username": f"user{author}"}]},
        "matching_rules": [{"id": rule, "tag": "streamsift"}],
    }


def line(message: dict[str, Any] | bytes) -> bytes:
    """One stream line as X sends it: compact JSON terminated by ``\\r\\n``."""
    body = message if isinstance(message, bytes) else json.dumps(message, separators=(",", ":")).encode()
    return body + b"\r\n"


@dataclass
class Stream:
    """One streaming connection: HTTP 200, then ``chunks`` (each one HTTP chunk), then ``end``.

    ``end``: ``"close"`` sends the terminating chunk; ``"drop"`` closes the TCP
    connection mid-body; ``"stall"`` sends nothing more for ``stall_s`` seconds
    (or until the server stops), then drops.
    """

    chunks: list[bytes]
    end: Literal["close", "drop", "stall"] = "drop"
    stall_s: float = 10.0


@dataclass
class Reply:
    """One non-streaming answer to a stream connection (an HTTP error, typically)."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    """A request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any = None


class FakeXApi:
    """The fake X API server. Use :meth:`start` / :meth:`stop` (or ``with``)."""

    def __init__(
        self,
        *,
        token: str | None = None,
        user_token: str | None = None,
        user_id: str = "42",
        retweet_limit: int = 50,
        retweet_window_s: float = 900.0,
    ) -> None:
        self.token = token
        self.user_token = user_token
        self.user_id = user_id
        self.retweet_limit = retweet_limit
        self.retweet_window_s = retweet_window_s
        self.retweet_posts: Counter[str] = Counter()
        self.retweeted: set[str] = set()
        self.missing_tweets: set[str] = set()
        self.fail_retweets = 0
        self.too_many = 0
        self._window_start = time.time()
        self._window_used = 0
        self.script: deque[Stream | Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self.rules: dict[str, dict[str, str]] = {}
        #: Called after each rules GET is answered: lets a test play a concurrent rules editor.
        self.after_rules_get: Callable[[], None] | None = None
        self._next_rule_id = 1_000_000
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control -----------------------------------------------------------------------------

    def start(self) -> FakeXApi:
        """Listen on 127.0.0.1 (a free port) and serve in a daemon thread."""
        fake = self

        class Handler(_Handler):
            api = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-x-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled connections are released."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeXApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_connections(self, *connections: Stream | Reply) -> None:
        """Script the next stream connections, in order."""
        with self._lock:
            self.script.extend(connections)

    def add_rule(self, value: str, tag: str | None = None) -> str:
        """Pre-load a rule; returns its id."""
        with self._lock:
            return self._create_rule(value, tag)

    # -- inspection --------------------------------------------------------------------------

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    @property
    def stream_connections(self) -> int:
        return len(self.requests_to(STREAM_PATH))

    @property
    def authorization_headers(self) -> list[str | None]:
        with self._lock:
            return [r.headers.get("authorization") for r in self.requests]

    @property
    def rule_values(self) -> set[str]:
        with self._lock:
            return {r["value"] for r in self.rules.values()}

    # -- behaviour (called by the handler) ---------------------------------------------------

    def _rate_headers(self) -> dict[str, str]:
        reset = self._window_start + self.retweet_window_s
        return {
            "x-rate-limit-limit": str(self.retweet_limit),
            "x-rate-limit-remaining": str(max(self.retweet_limit - self._window_used, 0)),
            "x-rate-limit-reset": str(int(reset) + (1 if reset % 1 else 0)),
        }

    def _retweet(self, user: str, body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            now = time.time()
            if now >= self._window_start + self.retweet_window_s:
                self._window_start, self._window_used = now, 0
            if self._window_used >= self.retweet_limit:
                self.too_many += 1
                problem = {
                    "title": "Too Many Requests",
                    "detail": "Too Many Requests",
                    "type": "about:blank",
                    "status": 429,
                }
                return 429, problem, self._rate_headers()
            self._window_used += 1
            headers = self._rate_headers()
            if user != self.user_id:
                return (
                    403,
                    {
                        "title": "Forbidden",
                        "status": 403,
                        "type": "about:blank",
                        "detail": "You are not permitted to perform this action.",
                    },
                    headers,
                )
            tweet_id = str((body or {}).get("tweet_id", ""))
            if not tweet_id.isdigit():
                return (
                    400,
                    {
                        "title": "Invalid Request",
                        "status": 400,
                        "type": "about:blank",
                        "detail": "tweet_id must be a string of digits",
                    },
                    headers,
                )
            if self.fail_retweets:
                self.fail_retweets -= 1
                return (
                    503,
                    {
                        "title": "Service Unavailable",
                        "status": 503,
                        "type": "about:blank",
                        "detail": "Service Unavailable",
                    },
                    headers,
                )
            self.retweet_posts[tweet_id] += 1
            if tweet_id in self.missing_tweets:
                return (
                    404,
                    {
                        "title": "Not Found Error",
                        "status": 404,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                        "detail": f"Could not find tweet with tweet_id: [{tweet_id}].",
                    },
                    headers,
                )
            self.retweeted.add(tweet_id)
            return 200, {"data": {"id": tweet_id, "retweeted": True}}, headers

    def _retweeted_by(self, tweet_id: str) -> dict[str, Any]:
        with self._lock:
            if tweet_id in self.retweeted:
                return {
                    "data": [{"id": self.user_id, "name": "Bot", "username": "streamsift_bot"}],
                    "meta": {"result_count": 1},
                }
        return {"meta": {"result_count": 0}}

    def _create_rule(self, value: str, tag: str | None) -> str:
        rule_id = str(self._next_rule_id)
        self._next_rule_id += 1
        self.rules[rule_id] = {"id": rule_id, "value": value, **({"tag": tag} if tag else {})}
        return rule_id

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_connection(self) -> Stream | Reply:
        with self._lock:
            if self.script:
                return self.script.popleft()
        return Reply(410, {"title": "Gone", "detail": "fake X API: stream script exhausted"})

    def _rules_get(self) -> dict[str, Any]:
        with self._lock:
            data = list(self.rules.values())
        meta = {"sent": "2024-05-01T12:00:00.000Z", "result_count": len(data)}
        return {"data": data, "meta": meta} if data else {"meta": meta}

    def _rules_post(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or not ({"add", "delete"} & body.keys()):
            return 400, {"title": "Invalid Request", "detail": "expected 'add' or 'delete'"}
        with self._lock:
            if "delete" in body:
                ids = body["delete"].get("ids", [])
                errors = [{"title": "NotFound", "id": i, "detail": f"no rule {i}"} for i in ids if i not in self.rules]
                deleted = [self.rules.pop(i) for i in ids if i in self.rules]
                summary = {"deleted": len(deleted), "not_deleted": len(errors)}
                reply: dict[str, Any] = {"meta": {"sent": "2024-05-01T12:00:00.000Z", "summary": summary}}
                if errors:
                    reply["errors"] = errors
                return 200, reply
            created, errors = [], []
            for rule in body["add"]:
                existing = [r for r in self.rules.values() if r["value"] == rule["value"]]
                if rule["value"].count("(") != rule["value"].count(")"):
                    errors.append(
                        {
                            "value": rule["value"],
                            "details": ["Rules must contain balanced parentheses"],
                            "title": "UnprocessableEntity",
                            "type": "https://api.twitter.com/2/problems/invalid-rules",
                        }
                    )
                elif existing:
                    errors.append({"value": rule["value"], "id": existing[0]["id"], "title": "DuplicateRule"})
                else:
                    rule_id = self._create_rule(rule["value"], rule.get("tag"))
                    created.append(self.rules[rule_id])
            summary = {"created": len(created), "not_created": len(errors), "valid": len(created)}
            reply = {"meta": {"sent": "2024-05-01T12:00:00.000Z", "summary": summary}}
            if created:
                reply["data"] = created
            if errors:
                reply["errors"] = errors
            return 201, reply


class _Handler(BaseHTTPRequestHandler):
    """Serves one connection; every response closes it, so one stream request = one connection."""

    protocol_version = "HTTP/1.1"
    api: FakeXApi

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr access logs
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        self.close_connection = True
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.api._record(RecordedRequest(method, url.path, parse_qs(url.query), headers, body))

        retweet = RETWEET_PATH.match(url.path)
        retweeted_by = RETWEETED_BY_PATH.match(url.path)
        if retweet or retweeted_by:
            if self.api.user_token is None or headers.get("authorization") != f"Bearer {self.api.user_token}":
                self._send_json(401, UNAUTHORIZED)
            elif retweet and method == "POST":
                status, reply, extra = self.api._retweet(retweet[1], body)
                self._send_json(status, reply, extra)
            elif retweeted_by and method == "GET":
                self._send_json(200, self.api._retweeted_by(retweeted_by[1]))
            else:
                self._send_json(404, {"title": "Not Found Error", "detail": f"no route {method} {url.path}"})
        elif self.api.token is not None and headers.get("authorization") != f"Bearer {self.api.token}":
            self._send_json(401, UNAUTHORIZED)
        elif url.path == RULES_PATH and method == "GET":
            self._send_json(200, self.api._rules_get())
            if self.api.after_rules_get is not None:
                self.api.after_rules_get()
        elif url.path == RULES_PATH and method == "POST":
            self._send_json(*self.api._rules_post(body))
        elif url.path == STREAM_PATH and method == "GET":
            connection = self.api._next_connection()
            if isinstance(connection, Reply):
                self._send_json(connection.status, connection.body, connection.headers)
            else:
                self._stream(connection)
        else:
            self._send_json(404, {"title": "Not Found Error", "detail": f"no route {method} {url.path}"})

    def _send_json(self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, stream: Stream) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for chunk in stream.chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            if stream.end == "close":
                self.wfile.write(b"0\r\n\r\n")
            elif stream.end == "stall":
                self.api._stopping.wait(stream.stall_s)
            # "drop" (and a stall's end): return without the terminating chunk; the
            # server then closes the socket, cutting the body short.
        except OSError:  # the client went away first
            pass
