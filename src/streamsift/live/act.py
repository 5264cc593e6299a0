"""``streamsift act``: retweet every AI tweet that carries a link — exactly once (on X; a Bluesky
post is reposted the same way, see :class:`BlueskyReposter`).

    ai_tweets (has_links) ─► decide: one row per tweet in retweet_actions (pending, or skipped when
                             its target — the tweet, or the original of a retweet — already has one)
                         ─► for each pending row: record the intent (in_flight, attempts + 1, committed)
                             ─► POST /2/users/:id/retweets ─► done | failed (+ the reason) | pending again
                         ─► on start: in_flight rows left by a crash are reconciled with
                             GET /2/tweets/:id/retweeted_by before anything is sent again

Exactly once: a target has at most one non-skipped row (a unique index), the intent is committed
before the API call, and a crash between the call and the row write is settled by asking X
whether the account has retweeted the tweet. The rate limit is honoured from X's
``x-rate-limit-remaining`` / ``x-rate-limit-reset`` headers (50 requests per 15 minutes per user);
a 429 waits for the reset. Without user credentials (``STREAMSIFT_X_USER_TOKEN`` and
``x_api.user_id``) every action is recorded as a ``dry_run`` and nothing is sent.

Bluesky posts (``platform = 'bluesky'``) follow the same rows and rules through the account's PDS:
``com.atproto.server.createSession`` with ``bluesky.handle`` and an app password
(``STREAMSIFT_BLUESKY_APP_PASSWORD``) once per run (refreshed when it expires), then
``com.atproto.repo.createRecord`` of an ``app.bsky.feed.repost`` naming the post's at-URI and CID.
The PDS does not refuse a second repost, so the unique target row is what keeps it to one; a crash
in flight is settled by listing the account's repost records. The PDS's ``ratelimit-remaining`` /
``ratelimit-reset`` headers are honoured like X's. Each platform is rate-limited on its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from streamsift.config import Settings
from streamsift.errors import StreamsiftError
from streamsift.live.store import ensure_live_schema
from streamsift.store.connection import connect

log = logging.getLogger(__name__)

DDL = """
CREATE TABLE IF NOT EXISTS retweet_actions (
    tweet_id        bigint PRIMARY KEY,
    target_id       bigint NOT NULL,
    decided_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    status          text NOT NULL CHECK (status IN ('pending', 'in_flight', 'dry_run', 'done', 'failed', 'skipped')),
    reason          text,
    attempts        integer NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    done_at         timestamptz
);
ALTER TABLE retweet_actions ADD COLUMN IF NOT EXISTS platform text NOT NULL DEFAULT 'x';
CREATE UNIQUE INDEX IF NOT EXISTS retweet_actions_one_per_target ON retweet_actions (target_id)
    WHERE status <> 'skipped';
CREATE INDEX IF NOT EXISTS retweet_actions_status ON retweet_actions (status, decided_at)
"""

_CANDIDATES = """
    SELECT a.tweet_id, coalesce(a.retweeted_id, a.tweet_id) AS target_id, a.predicted_at, a.platform
    FROM ai_tweets a
    WHERE a.has_links AND NOT EXISTS (SELECT 1 FROM retweet_actions r WHERE r.tweet_id = a.tweet_id)
"""

_DECIDE = f"""
WITH cand AS ({_CANDIDATES})
INSERT INTO retweet_actions (tweet_id, target_id, status, platform)
SELECT DISTINCT ON (c.target_id) c.tweet_id, c.target_id, 'pending', c.platform FROM cand c
WHERE NOT EXISTS (SELECT 1 FROM retweet_actions r WHERE r.target_id = c.target_id AND r.status <> 'skipped')
ORDER BY c.target_id, c.predicted_at, c.tweet_id
ON CONFLICT DO NOTHING
"""

_SKIP = f"""
WITH cand AS ({_CANDIDATES})
INSERT INTO retweet_actions (tweet_id, target_id, status, reason, platform)
SELECT c.tweet_id, c.target_id, 'skipped',
       'its target ' || c.target_id || ' already has an action (from tweet ' || r.tweet_id || ')', c.platform
FROM cand c JOIN retweet_actions r ON r.target_id = c.target_id AND r.status <> 'skipped'
ON CONFLICT DO NOTHING
"""


class ActError(StreamsiftError):
    """The retweet stage cannot go on."""


def ensure_act_schema(conn: psycopg.Connection) -> None:
    ensure_live_schema(conn)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('streamsift.act'))")
        for stmt in DDL.split(";"):
            if stmt.strip():
                conn.execute(stmt)


@dataclass
class Outcome:
    kind: str  # done | rate_limited | rejected | retry
    detail: str = ""


@dataclass
class RateLimit:
    """A platform's request budget, from the headers of its answers (``remaining`` calls until the
    window resets at ``reset_at``, epoch seconds)."""

    remaining_header: str
    reset_header: str
    remaining: int | None = None
    reset_at: float | None = None

    def note(self, headers) -> None:
        rem, reset = headers.get(self.remaining_header), headers.get(self.reset_header)
        if rem is not None and rem.isdigit():
            self.remaining = int(rem)
        if reset is not None and reset.isdigit():
            self.reset_at = float(reset)

    def exhausted(self) -> None:
        """A 429: nothing left until the reset; without a reset header, back off a minute."""
        self.remaining = 0
        if self.reset_at is None or self.reset_at < time.time():
            self.reset_at = time.time() + 60

    def reopen(self) -> None:
        """The window has reset: the next answer tells the new budget."""
        self.remaining = None

    def wait_s(self) -> float:
        """How long to wait before the next call (0 unless the window is used up)."""
        if self.remaining == 0 and self.reset_at is not None:
            return max(self.reset_at - time.time(), 0.0) + 0.5
        return 0.0


class XRetweeter:
    """The two X API v2 calls ``act`` needs, with the account's user-context token."""

    def __init__(self, base_url: str, user_id: str, token: str, timeout_s: float) -> None:
        import httpx

        self.user_id = user_id
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s
        )
        self.limit = RateLimit("x-rate-limit-remaining", "x-rate-limit-reset")

    def retweet(self, tweet_id: int, ref: tuple[str | None, str | None] | None = None) -> Outcome:
        import httpx

        try:
            r = self._client.post(f"/2/users/{self.user_id}/retweets", json={"tweet_id": str(tweet_id)})
        except httpx.TransportError as exc:
            return Outcome("retry", f"network: {type(exc).__name__}")
        self.limit.note(r.headers)
        if r.status_code == 200 and r.json().get("data", {}).get("retweeted") is True:
            return Outcome("done")
        if r.status_code == 429:
            self.limit.exhausted()
            return Outcome("rate_limited", "429 Too Many Requests")
        detail = _problem(r)
        if r.status_code >= 500:
            return Outcome("retry", f"{r.status_code} {detail}")
        return Outcome("rejected", f"{r.status_code} {detail}")

    def has_retweeted(self, tweet_id: int, ref: tuple[str | None, str | None] | None = None) -> bool:
        r = self._client.get(f"/2/tweets/{tweet_id}/retweeted_by")
        r.raise_for_status()
        return any(u.get("id") == self.user_id for u in r.json().get("data", []))

    def close(self) -> None:
        self._client.close()


class BlueskyReposter:
    """Reposting through the account's PDS: one session per run, then ``createRecord`` of reposts."""

    def __init__(self, pds_url: str, handle: str, app_password: str, timeout_s: float) -> None:
        import httpx

        self._client = httpx.Client(base_url=pds_url.rstrip("/"), timeout=timeout_s)
        self._handle, self._password = handle, app_password
        self.did: str | None = None
        self._access: str | None = None
        self._refresh: str | None = None
        self.limit = RateLimit("ratelimit-remaining", "ratelimit-reset")

    def _session(self, *, refresh: bool = False) -> None:
        if refresh and self._refresh:
            r = self._client.post(
                "/xrpc/com.atproto.server.refreshSession", headers={"Authorization": f"Bearer {self._refresh}"}
            )
            if r.status_code == 200:
                self._take(r.json())
                return
        r = self._client.post(
            "/xrpc/com.atproto.server.createSession", json={"identifier": self._handle, "password": self._password}
        )
        if r.status_code in (400, 401):
            raise ActError(
                f"Bluesky refused the login of {self._handle}: {_problem(r)}",
                hint="check bluesky.handle and STREAMSIFT_BLUESKY_APP_PASSWORD (an app password, not the account's)",
            )
        r.raise_for_status()
        self._take(r.json())
        log.info("Bluesky session for %s (%s)", self._handle, self.did)

    def _take(self, body: dict) -> None:
        self.did, self._access, self._refresh = body["did"], body["accessJwt"], body["refreshJwt"]

    def _call(self, method: str, path: str, **kw):
        if self._access is None:
            self._session()
        for attempt in range(2):
            r = self._client.request(method, path, headers={"Authorization": f"Bearer {self._access}"}, **kw)
            expired = r.status_code in (400, 401) and "ExpiredToken" in r.text
            if not expired or attempt:
                return r
            self._session(refresh=True)
        return r

    def retweet(self, target: int, ref: tuple[str | None, str | None] | None = None) -> Outcome:
        import httpx

        uri, cid = ref or (None, None)
        if not uri or not cid:
            return Outcome("rejected", f"post {target} has no at-URI and CID to repost")
        try:
            if self._access is None:
                self._session()  # the record names our DID: log in first
        except httpx.TransportError as exc:
            return Outcome("retry", f"network: {type(exc).__name__}")
        except (httpx.HTTPStatusError, ValueError, KeyError) as exc:
            return Outcome("retry", f"login: {str(exc)[:120] or type(exc).__name__}")
        record = {
            "$type": "app.bsky.feed.repost",
            "subject": {"uri": uri, "cid": cid},
            "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        try:
            r = self._call(
                "POST",
                "/xrpc/com.atproto.repo.createRecord",
                json={"repo": self.did, "collection": "app.bsky.feed.repost", "record": record},
            )
        except httpx.TransportError as exc:
            return Outcome("retry", f"network: {type(exc).__name__}")
        except (httpx.HTTPStatusError, ValueError, KeyError) as exc:  # the session refresh failed
            return Outcome("retry", f"session: {str(exc)[:120] or type(exc).__name__}")
        self.limit.note(r.headers)
        try:
            if r.status_code == 200 and r.json().get("uri"):
                return Outcome("done")
        except ValueError:
            return Outcome("retry", "200 without a JSON body")
        if r.status_code == 429:
            self.limit.exhausted()
            return Outcome("rate_limited", "429 Too Many Requests")
        if r.status_code >= 500:
            return Outcome("retry", f"{r.status_code} {_problem(r)}")
        return Outcome("rejected", f"{r.status_code} {_problem(r)}")

    def has_retweeted(self, target: int, ref: tuple[str | None, str | None] | None = None) -> bool:
        """Whether the account's recent repost records (up to 1,000) include this post."""
        uri = (ref or (None, None))[0]
        cursor = None
        for _ in range(10):
            params = {"repo": self.did or self._handle, "collection": "app.bsky.feed.repost", "limit": 100}
            if cursor:
                params["cursor"] = cursor
            r = self._call("GET", "/xrpc/com.atproto.repo.listRecords", params=params)
            r.raise_for_status()
            body = r.json()
            subjects = [((rec.get("value") or {}).get("subject") or {}).get("uri") for rec in body.get("records", [])]
            if uri in subjects:
                return True
            cursor = body.get("cursor")
            if not cursor:
                return False
        return False

    def close(self) -> None:
        self._client.close()


def _problem(r) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:300]
    return str(body)[:300]


@dataclass
class ActStats:
    decided: int = 0
    skipped: int = 0
    done: int = 0
    dry_run: int = 0
    failed: int = 0
    reconciled: int = 0
    rate_limit_waits: int = 0
    mode: str = "dry_run"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def decide(conn: psycopg.Connection) -> tuple[int, int]:
    """New ``pending`` and ``skipped`` rows for AI tweets with links not decided yet (one transaction)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('streamsift.act.decide'))")
        pending = conn.execute(_DECIDE).rowcount
        skipped = conn.execute(_SKIP).rowcount
    return pending, skipped


def _claim(conn: psycopg.Connection, platforms: list[str]) -> tuple[int, int, int, str] | None:
    """Take the oldest pending row of ``platforms`` and record the intent (in_flight, attempts + 1)
    before any call."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE retweet_actions SET status = 'in_flight', attempts = attempts + 1, last_attempt_at = now() "
            "WHERE tweet_id = (SELECT tweet_id FROM retweet_actions WHERE status = 'pending' AND platform = ANY(%s) "
            "ORDER BY decided_at, tweet_id FOR UPDATE SKIP LOCKED LIMIT 1) "
            "RETURNING tweet_id, target_id, attempts, platform",
            (platforms,),
        ).fetchone()
    return row


def _set(conn: psycopg.Connection, tweet_id: int, status: str, reason: str | None, *, undo_attempt: bool = False):
    with conn.transaction():
        conn.execute(
            "UPDATE retweet_actions SET status = %s, reason = %s, attempts = attempts - %s, "
            "done_at = CASE WHEN %s = 'done' THEN now() ELSE done_at END WHERE tweet_id = %s",
            (status, reason, 1 if undo_attempt else 0, status, tweet_id),
        )


def _ref(conn: psycopg.Connection, target: int) -> tuple[str | None, str | None]:
    """The platform's own reference of a target post (Bluesky: at-URI and CID)."""
    row = conn.execute("SELECT post_uri, post_cid FROM ai_tweets WHERE tweet_id = %s", (target,)).fetchone()
    return (row[0], row[1]) if row else (None, None)


PLATFORMS = ("x", "bluesky", "mastodon")


def _clients(settings: Settings, dry_run: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The live client of each platform that has credentials (none with ``dry_run``), and why the
    others record dry runs."""
    acfg, clients, why = settings.act, {}, {}
    token = settings.x_user_token.get_secret_value() if settings.x_user_token else None
    if dry_run:
        why = dict.fromkeys(PLATFORMS, "--dry-run")
        return clients, why
    if token and settings.x_api.user_id:
        clients["x"] = XRetweeter(settings.x_api.base_url, settings.x_api.user_id, token, acfg.request_timeout_s)
    else:
        why["x"] = "no X user credentials (STREAMSIFT_X_USER_TOKEN and x_api.user_id)"
    password = settings.bluesky_app_password.get_secret_value() if settings.bluesky_app_password else None
    if password and settings.bluesky.handle:
        clients["bluesky"] = BlueskyReposter(
            settings.bluesky.pds_url, settings.bluesky.handle, password, acfg.request_timeout_s
        )
    else:
        why["bluesky"] = "no Bluesky credentials (bluesky.handle and STREAMSIFT_BLUESKY_APP_PASSWORD)"
    why["mastodon"] = "boosting on Mastodon is not built: recorded only"
    return clients, why


def run_act(
    settings: Settings,
    *,
    until_idle: bool = False,
    dry_run: bool = False,
    stop: threading.Event | None = None,
    on_action: Callable[[str], None] | None = None,
) -> ActStats:
    """Decide and carry out retweets (reposts) until stopped, or (``until_idle``) until nothing is pending."""
    stop = stop or threading.Event()
    acfg = settings.act
    clients, why = _clients(settings, dry_run)
    stats = ActStats(mode="live" if clients else "dry_run")
    for platform, reason in why.items():
        log.info("%s: dry run (%s): actions are recorded, nothing is sent", platform, reason)
    with connect(settings.postgres, autocommit=True) as conn:
        ensure_act_schema(conn)
        try:
            for platform, client in clients.items():
                stats.reconciled += _reconcile(conn, platform, client, acfg.request_timeout_s)
            while not stop.is_set():
                pending, skipped = decide(conn)
                stats.decided += pending
                stats.skipped += skipped
                worked = _work(conn, clients, why, acfg, stats, stop, on_action)
                if until_idle and not worked and not pending:
                    break
                if not worked:
                    stop.wait(acfg.poll_s)
        finally:
            for client in clients.values():
                client.close()
    return stats


def _reconcile(conn: psycopg.Connection, platform: str, client, timeout_s: float) -> int:
    """In-flight rows older than a call can take were left by a crash: ask the platform what happened."""
    rows = conn.execute(
        "SELECT tweet_id, target_id FROM retweet_actions WHERE status = 'in_flight' AND platform = %s "
        "AND last_attempt_at < now() - make_interval(secs => %s)",
        (platform, timeout_s * 6),  # longer than one action can take (login, refresh, call)
    ).fetchall()
    for tweet_id, target in rows:
        if client.has_retweeted(target, _ref(conn, target)):
            _set(conn, tweet_id, "done", f"reconciled after a restart: {platform} shows the repost")
        else:
            _set(conn, tweet_id, "pending", "reconciled after a restart: not reposted, will retry")
    if rows:
        log.info("reconciled %d %s actions left in flight by an earlier run", len(rows), platform)
    return len(rows)


def _landed(client, target: int, conn) -> bool:
    """Whether a repost whose call ended unclearly (timeout, 5xx) exists after all; False if we cannot tell
    (the row is retried, and a retry of an unclear outcome asks again)."""
    import httpx

    try:
        return client.has_retweeted(target, _ref(conn, target))
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        log.warning("could not check whether repost of %s landed: %s", target, str(exc)[:120])
        return False


def _work(conn, clients: dict[str, Any], why: dict[str, str], acfg, stats: ActStats, stop, on_action) -> int:
    """Carry out pending actions, each platform within its rate limit; returns how many were handled."""
    handled = 0
    while not stop.is_set():
        waits = {p: c.limit.wait_s() for p, c in clients.items()}
        ready = [p for p in PLATFORMS if waits.get(p, 0.0) <= 0]
        row = _claim(conn, ready) if ready else None
        if row is None:
            blocked = [p for p in PLATFORMS if p not in ready]
            if (
                not blocked
                or not conn.execute(
                    "SELECT 1 FROM retweet_actions WHERE status = 'pending' AND platform = ANY(%s) LIMIT 1", (blocked,)
                ).fetchone()
            ):
                break
            wait = min(min(waits[p] for p in blocked), acfg.max_wait_s)
            stats.rate_limit_waits += 1
            log.info("%s rate limit reached: waiting %.0f s for the window to reset", "/".join(blocked), wait)
            if stop.wait(wait):
                break
            for p in blocked:
                clients[p].limit.reopen()
            continue
        tweet_id, target, attempts, platform = row
        handled += 1
        client = clients.get(platform)
        if client is None:
            _set(conn, tweet_id, "dry_run", why.get(platform, f"no client for {platform}"))
            stats.dry_run += 1
            status = "dry_run"
        else:
            out = client.retweet(target, _ref(conn, target))
            if out.kind == "done":
                _set(conn, tweet_id, "done", None)
                stats.done += 1
                status = "done"
            elif out.kind == "rate_limited":
                _set(conn, tweet_id, "pending", out.detail, undo_attempt=True)
                status = "pending"
            elif out.kind == "rejected" or attempts >= acfg.max_attempts:
                _set(conn, tweet_id, "failed", out.detail)
                stats.failed += 1
                status = "failed"
            elif platform == "bluesky" and _landed(client, target, conn):
                # the PDS accepts a second repost of a post: after an unclear outcome, look before retrying
                _set(conn, tweet_id, "done", f"the repost landed despite: {out.detail}")
                stats.done += 1
                status = "done"
            else:
                _set(conn, tweet_id, "pending", out.detail)
                time.sleep(min(2**attempts * 0.5, 30))
                status = "pending"
        if on_action:
            on_action(status)
    return handled


__all__ = [
    "DDL",
    "ActError",
    "ActStats",
    "BlueskyReposter",
    "Outcome",
    "RateLimit",
    "XRetweeter",
    "decide",
    "ensure_act_schema",
    "run_act",
]
