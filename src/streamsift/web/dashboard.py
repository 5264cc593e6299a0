"""What the dashboard shows: the live AI-tweet feed, its charts and the pipeline's health.

Every panel reads pre-aggregated or indexed data so it answers in milliseconds with millions of
rows: the feed walks ``ai_tweets`` by ``(predicted_at, tweet_id)`` (keyset pages, no OFFSET), the
per-minute charts and the histogram read ``classify_batches`` (one row per scored batch), the top
domains and hashtags read ``ai_terms`` (per-day counts kept by the live sink), row counts come from
PostgreSQL's statistics. Kafka lag and the model server's counters are fetched on demand and cached
for a few seconds.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from streamsift.config import Settings
from streamsift.errors import StreamsiftError
from streamsift.live.scoring import HIST_BUCKETS
from streamsift.live.store import ensure_live_schema

log = logging.getLogger(__name__)

FEED_MAX = 200
EXPORT_MAX = 100_000
_CURSOR = re.compile(r"^(\d{10,20})_(\d{1,20})$")  # <predicted_at in µs since the epoch>_<tweet id>


class DashboardError(StreamsiftError):
    """A dashboard request that cannot be answered as asked (a 400 with the reason)."""


@dataclass(frozen=True)
class FeedFilter:
    links_only: bool = False
    p_min: float = 0.0
    p_max: float = 1.0
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def check(self) -> None:
        if not 0 <= self.p_min <= self.p_max <= 1:
            raise DashboardError(f"need 0 ≤ p_min ≤ p_max ≤ 1, got p_min={self.p_min} p_max={self.p_max}")
        if self.since and self.until and self.since > self.until:
            raise DashboardError("since is after until")
        if self.q is not None and len(self.q) > 200:
            raise DashboardError("search text longer than 200 characters")


def _us(dt: datetime) -> int:
    return int(dt.timestamp() * 1_000_000)


def encode_cursor(predicted_at: datetime, tweet_id: int) -> str:
    return f"{_us(predicted_at)}_{tweet_id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    m = _CURSOR.match(cursor)
    if not m:
        raise DashboardError(f"not a feed cursor: {cursor[:40]!r} (use the 'next' value of the previous page)")
    return datetime.fromtimestamp(int(m.group(1)) / 1_000_000, UTC), int(m.group(2))


class DashboardStore:
    """Queries for the dashboard; one per app, sharing the app's connection pool."""

    def __init__(self, settings: Settings, *, pool_size: int = 3) -> None:
        from streamsift.store.connection import connect_kwargs

        self.settings = settings
        kwargs = connect_kwargs(settings.postgres)
        conninfo = kwargs.pop("conninfo")
        self.pool = ConnectionPool(
            conninfo, kwargs=kwargs, min_size=1, max_size=pool_size, open=True, name="streamsift-dashboard"
        )
        self._cache: dict[str, tuple[float, Any]] = {}
        self._schema = False
        # One AdminClient for the app's life, created here, in the thread that builds the app: librdkafka
        # first initialised inside a request thread of the running server crashed the process (SIGSEGV).
        from confluent_kafka.admin import AdminClient

        from streamsift.ingest.producer import _FileOnlyLog

        self._admin = AdminClient(
            {
                "bootstrap.servers": settings.kafka.bootstrap,
                "socket.timeout.ms": 3000,
                "logger": _FileOnlyLog(logging.getLogger("streamsift.web.librdkafka"), {}),
            }
        )
        self._lock = threading.Lock()

    def _conn(self):
        if not self._schema:
            with self.pool.connection() as conn:
                ensure_live_schema(conn)
            self._schema = True
        return self.pool.connection()

    def close(self) -> None:
        self.pool.close()

    def _cached(self, key: str, seconds: float, make):
        hit = self._cache.get(key)
        if hit and time.monotonic() - hit[0] < seconds:
            return hit[1]
        value = make()
        self._cache[key] = (time.monotonic(), value)
        return value

    # -- the feed ---------------------------------------------------------------------------------------
    def _feed_where(self, f: FeedFilter) -> tuple[list[sql.Composable], list[Any]]:
        f.check()
        where: list[sql.Composable] = [sql.SQL("a.probability BETWEEN %s AND %s")]
        args: list[Any] = [f.p_min, f.p_max]
        if f.links_only:
            where.append(sql.SQL("a.has_links"))
        if f.q and f.q.strip():
            where.append(sql.SQL("to_tsvector('simple', a.text) @@ plainto_tsquery('simple', %s)"))
            args.append(f.q.strip())
        if f.since:
            where.append(sql.SQL("a.predicted_at >= %s"))
            args.append(f.since)
        if f.until:
            where.append(sql.SQL("a.predicted_at < %s"))
            args.append(f.until)
        return where, args

    def feed(self, f: FeedFilter, *, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        """Newest first; ``next`` is the cursor of the following page (None at the end)."""
        if not 1 <= limit <= FEED_MAX:
            raise DashboardError(f"limit must be 1..{FEED_MAX}, got {limit}")
        where, args = self._feed_where(f)
        if cursor:
            at, tid = decode_cursor(cursor)
            where.append(sql.SQL("(a.predicted_at, a.tweet_id) < (%s, %s)"))
            args += [at, tid]
        cond = sql.SQL(" AND ").join(where)
        columns = sql.SQL(
            """a.tweet_id, a.text, a.author, a.created_at, a.probability, a.label, a.model_version,
               a.has_links, a.is_retweet, a.predicted_at, r.status AS retweet_status,
               ARRAY(SELECT u.expanded_url FROM tweet_urls u WHERE u.tweet_id = a.tweet_id
                     ORDER BY u.expanded_url) AS links"""
        )
        walk = sql.SQL(
            "SELECT {columns} FROM ai_tweets a LEFT JOIN retweet_actions r ON r.tweet_id = a.tweet_id "
            "WHERE {cond} ORDER BY a.predicted_at DESC, a.tweet_id DESC LIMIT %s"
        ).format(columns=columns, cond=cond)
        with self._conn() as conn:
            self._ensure_actions(conn)
            query = walk
            if f.q and f.q.strip() and self._few_matches(conn, cond, args):
                # A selective search: find the matches through the text index first, then order them.
                # (Walking the time index until 50 rows match reads the whole table when few do.)
                query = sql.SQL(
                    "WITH m AS MATERIALIZED (SELECT a.tweet_id FROM ai_tweets a WHERE {cond}) "
                    "SELECT {columns} FROM ai_tweets a JOIN m USING (tweet_id) "
                    "LEFT JOIN retweet_actions r ON r.tweet_id = a.tweet_id "
                    "ORDER BY a.predicted_at DESC, a.tweet_id DESC LIMIT %s"
                ).format(columns=columns, cond=cond)
            rows = conn.cursor(row_factory=dict_row).execute(query, [*args, limit + 1]).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [_feed_item(r) for r in rows]
        nxt = encode_cursor(rows[-1]["predicted_at"], rows[-1]["tweet_id"]) if more and rows else None
        return {"items": items, "next": nxt, "limit": limit}

    @staticmethod
    def _few_matches(conn, cond: sql.Composable, args: list[Any], threshold: int = 5000) -> bool:
        """The planner's estimate of the rows a filter matches (from the text index's statistics) is small."""
        plan = conn.execute(
            sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM ai_tweets a WHERE {}").format(cond), args
        ).fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return plan[0]["Plan"]["Plan Rows"] < threshold

    def feed_csv(self, f: FeedFilter) -> Iterator[str]:
        """The filtered feed as CSV, newest first, at most ``EXPORT_MAX`` rows."""
        header = ["tweet_id", "predicted_at", "probability", "label", "model_version", "author", "text", "links"]
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header)
        yield buf.getvalue()
        cursor, sent = None, 0
        while sent < EXPORT_MAX:
            page = self.feed(f, cursor=cursor, limit=FEED_MAX)
            for it in page["items"]:
                buf.seek(0)
                buf.truncate()
                w.writerow([it["tweet_id"], it["predicted_at"], it["probability"], it["label"], it["model_version"],
                            it["author"] or "", it["text"], " ".join(it["links"])])  # fmt: skip
                yield buf.getvalue()
            sent += len(page["items"])
            cursor = page["next"]
            if cursor is None:
                break

    def _ensure_actions(self, conn) -> None:
        from streamsift.live.act import ensure_act_schema

        if not getattr(self, "_actions", False):
            ensure_act_schema(conn)
            conn.commit()
            self._actions = True

    # -- charts -----------------------------------------------------------------------------------------
    def series(self, minutes: int = 60) -> dict[str, Any]:
        """Tweets classified, AI tweets and the AI share per minute over the last ``minutes``."""
        _check_range("minutes", minutes, 1, 7 * 24 * 60)
        with self._conn() as conn:
            rows = conn.execute(
                """SELECT date_trunc('minute', at) AS minute, sum(classified), sum(ai), sum(dead)
                   FROM classify_batches WHERE at >= now() - make_interval(mins => %s)
                   GROUP BY 1 ORDER BY 1""",
                (minutes,),
            ).fetchall()
        out = []
        for minute, classified, ai, dead in rows:
            classified, ai = int(classified), int(ai)
            out.append(
                {
                    "minute": minute.isoformat(),
                    "classified": classified,
                    "ai": ai,
                    "dead": int(dead),
                    "ai_share": round(ai / classified, 4) if classified else None,
                }
            )
        return {"minutes": minutes, "points": out}

    def histogram(self, minutes: int = 60) -> dict[str, Any]:
        """P(positive class) of every tweet classified in the last ``minutes``, ten buckets."""
        _check_range("minutes", minutes, 1, 7 * 24 * 60)
        with self._conn() as conn:
            rows = conn.execute(
                """SELECT b.i, sum(b.n) FROM classify_batches c, unnest(c.histogram) WITH ORDINALITY AS b(n, i)
                   WHERE c.at >= now() - make_interval(mins => %s) GROUP BY b.i""",
                (minutes,),
            ).fetchall()
        counts = [0] * HIST_BUCKETS
        for i, n in rows:
            if 1 <= i <= HIST_BUCKETS:
                counts[i - 1] = int(n)
        edges = [round(k / HIST_BUCKETS, 2) for k in range(HIST_BUCKETS + 1)]
        return {
            "minutes": minutes,
            "edges": edges,
            "counts": counts,
            "positive_class": self.settings.classify.positive_class,
        }

    def terms(self, kind: str, *, days: int = 1, limit: int = 10) -> dict[str, Any]:
        """The most frequent link domains or hashtags of AI tweets stored in the last ``days`` days."""
        if kind not in ("domain", "hashtag"):
            raise DashboardError(f"kind must be domain or hashtag, got {kind!r}")
        _check_range("days", days, 1, 366)
        _check_range("limit", limit, 1, 100)
        since = (datetime.now(UTC) - timedelta(days=days - 1)).date()
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT term, sum(n) AS n FROM ai_terms WHERE kind = %s AND day >= %s GROUP BY term "
                "ORDER BY n DESC, term LIMIT %s",
                (kind, since, limit),
            ).fetchall()
        return {"kind": kind, "days": days, "terms": [{"term": t, "count": int(n)} for t, n in rows]}

    def retweets(self) -> dict[str, Any]:
        with self._conn() as conn:
            self._ensure_actions(conn)
            rows = conn.execute("SELECT status, count(*) FROM retweet_actions GROUP BY status").fetchall()
        counts = dict.fromkeys(("dry_run", "done", "failed", "skipped", "pending", "in_flight"), 0)
        counts.update({s: int(n) for s, n in rows})
        return {"by_status": counts}

    # -- health -----------------------------------------------------------------------------------------
    def tables(self) -> list[dict[str, Any]]:
        """Every streamsift table with its approximate row count (planner statistics: no scans)."""
        with self._conn() as conn:
            rows = conn.execute(
                """SELECT c.relname, greatest(c.reltuples, 0)::bigint, s.n_live_tup
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
                   WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"""
            ).fetchall()
        return [{"table": t, "rows": int(max(est, live or 0))} for t, est, live in rows]

    def dead_letters(self) -> list[dict[str, Any]]:
        """Ingest's dead letters per stage and reason (the classify stage's go to tweets.deadletter)."""
        with self._conn() as conn:
            if conn.execute("SELECT to_regclass('dead_letters')").fetchone()[0] is None:
                return []
            rows = conn.execute(
                # positions inside a reason ("line 1 column 82") are folded so like reasons count together
                "SELECT stage, left(regexp_replace(reason, '[0-9]+', 'N', 'g'), 120) AS reason, count(*) "
                "FROM dead_letters GROUP BY 1, 2 ORDER BY 3 DESC, 2 LIMIT 20"
            ).fetchall()
        return [{"stage": s, "reason": r, "count": int(n)} for s, r, n in rows]

    def throughput(self, minutes: int = 5) -> dict[str, Any]:
        """Tweets classified per second over the last ``minutes``, per source (worker, spark-local, ...)."""
        with self._conn() as conn:
            rows = conn.execute(
                """SELECT source, sum(classified), sum(ai), sum(dead), max(at) FROM classify_batches
                   WHERE at >= now() - make_interval(mins => %s) GROUP BY source ORDER BY source""",
                (minutes,),
            ).fetchall()
        return {
            "minutes": minutes,
            "sources": [
                {
                    "source": s,
                    "classified": int(c),
                    "ai": int(a),
                    "dead": int(d),
                    "per_second": round(int(c) / (minutes * 60), 1),
                    "last_batch_at": last.isoformat(),
                }
                for s, c, a, d, last in rows
            ],
        }

    def model(self) -> dict[str, Any]:
        """The production model, its headline metrics, and the version history."""
        from streamsift.models.registry import ensure_schema

        with self._conn() as conn:
            ensure_schema(conn)
            conn.commit()
            rows = (
                conn.cursor(row_factory=dict_row)
                .execute(
                    "SELECT version, stage, metrics, created_at, promoted_at FROM model_registry WHERE name = %s "
                    "ORDER BY version DESC LIMIT 50",
                    (self.settings.model.name,),
                )
                .fetchall()
            )
        versions = [
            {
                "version": r["version"],
                "stage": r["stage"],
                "created_at": r["created_at"].isoformat() if r["created_at"] else None,
                "promoted_at": r["promoted_at"].isoformat() if r["promoted_at"] else None,
                "metrics": r["metrics"] if isinstance(r["metrics"], dict) else json.loads(r["metrics"] or "{}"),
            }
            for r in rows
        ]
        production = next((v for v in versions if v["stage"] == "production"), None)
        return {"name": self.settings.model.name, "production": production, "versions": versions}

    def kafka_lag(self) -> list[dict[str, Any]]:
        """Consumer lag on tweets.raw: the worker's and the Kafka ingest engine's consumer groups, and
        ingest's / classify's Spark checkpoints."""

        def make():
            if self._admin is None:
                from confluent_kafka.admin import AdminClient

                self._admin = AdminClient(
                    {"bootstrap.servers": self.settings.kafka.bootstrap, "socket.timeout.ms": 3000}
                )
            return kafka_lag(self.settings, self._admin)

        with self._lock:  # one caller at a time talks to the broker; the others get the cached answer
            return self._cached("kafka_lag", 5.0, make)

    def server(self) -> dict[str, Any]:
        """The model server's counters (its /metrics), if one answers at ``classify.server_url``."""
        return self._cached("server", 5.0, lambda: server_counters(self.settings.classify.server_url))

    def health(self) -> dict[str, Any]:
        return {
            "kafka_lag": self.kafka_lag(),
            "tables": self.tables(),
            "dead_letters": self.dead_letters(),
            "throughput": self.throughput(),
            "model": self.model(),
            "server": self.server(),
        }


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise DashboardError(f"{name} must be {lo}..{hi}, got {value}")


def _feed_item(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "tweet_id": str(r["tweet_id"]),  # JavaScript numbers cannot hold 64-bit ids
        "text": r["text"],
        "author": r["author"],
        "created_at": r["created_at"].isoformat() if r["created_at"] else None,
        "probability": round(float(r["probability"]), 4),
        "label": r["label"],
        "model_version": r["model_version"],
        "has_links": r["has_links"],
        "is_retweet": r["is_retweet"],
        "predicted_at": r["predicted_at"].isoformat(),
        "retweet_status": r["retweet_status"],
        "links": [u for u in r["links"] if u.startswith(("http://", "https://"))],
    }


# -- Kafka and the model server ---------------------------------------------------------------------------
def _spark_positions(checkpoint: Path) -> dict[str, dict[int, int]] | None:
    """The Kafka offsets of the last committed micro-batch of a Spark checkpoint."""
    commits, offsets = checkpoint / "commits", checkpoint / "offsets"
    done = [int(p.name) for p in commits.glob("[0-9]*")] if commits.is_dir() else []
    if not done:
        return None
    path = offsets / str(max(done))
    if not path.is_file():
        return None
    for line in reversed(path.read_text().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
            return {t: {int(p): int(o) for p, o in parts.items()} for t, parts in data.items()}
    return None


def kafka_lag(settings: Settings, admin=None) -> list[dict[str, Any]]:
    """Lag per consumer of the raw topic, from the broker's end offsets (AdminClient only: no consumer)."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient, OffsetSpec

    out: list[dict[str, Any]] = []
    consumers: list[tuple[str, str, dict[str, dict[int, int]]]] = []
    try:
        admin = admin or AdminClient({"bootstrap.servers": settings.kafka.bootstrap, "socket.timeout.ms": 3000})
        # Only groups that exist: confluent-kafka 2.16.1 crashed the process (SIGSEGV) asking for the
        # offsets of an unknown group from a thread-pool thread (reproduced; see docs/architecture.md).
        known = {g.group_id for g in admin.list_consumer_groups(request_timeout=3).result().valid}
        ingest_prefix = f"{settings.ingest.group_prefix}-"
        groups = [(f"worker group {settings.classify.group_id}", settings.classify.group_id)] + [
            (f"ingest {g.removeprefix(ingest_prefix)}", g) for g in sorted(known) if g.startswith(ingest_prefix)
        ]
        for name, group in groups:
            if group not in known:
                continue
            positions: dict[str, dict[int, int]] = {}
            res = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=3)[group]
            for tp in res.result().topic_partitions or []:
                if tp.offset >= 0:
                    positions.setdefault(tp.topic, {})[tp.partition] = tp.offset
            if positions:
                consumers.append((name, "consumer group", positions))
        root = settings.state.root / "checkpoints"
        for stage in ("ingest", "classify"):
            base = root / stage
            for ck in sorted(base.iterdir()) if base.is_dir() else []:
                pos = _spark_positions(ck)
                if pos:
                    consumers.append((f"{stage} {ck.name}", "spark checkpoint", pos))
        wanted = {TopicPartition(t, p) for _n, _k, pos in consumers for t, parts in pos.items() for p in parts}
        ends: dict[tuple[str, int], int] = {}
        if wanted:
            futures = admin.list_offsets({tp: OffsetSpec.latest() for tp in wanted}, request_timeout=3)
            for tp, fut in futures.items():
                ends[(tp.topic, tp.partition)] = fut.result().offset
        for name, kind, pos in consumers:
            lag = sum(max(ends.get((t, p), o) - o, 0) for t, parts in pos.items() for p, o in parts.items())
            out.append({"consumer": name, "kind": kind, "topics": sorted(pos), "lag": lag})
    except Exception as exc:  # noqa: BLE001 - a broker that is down is a health fact, not a crash
        out.append({"consumer": "kafka", "error": str(exc)[:200]})
    return out


def server_counters(url: str) -> dict[str, Any]:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    try:
        r = httpx.get(f"{url.rstrip('/')}/metrics", timeout=1.0)
        r.raise_for_status()
    except httpx.HTTPError as exc:
        return {"url": url, "up": False, "error": str(exc)[:200] or type(exc).__name__}
    wanted = {
        "streamsift_serve_model_version": "model_version",
        "streamsift_serve_requests": "requests",
        "streamsift_serve_texts": "texts_classified",
        "streamsift_serve_cache_hits": "cache_hits",
        "streamsift_serve_cache_misses": "cache_misses",
        "streamsift_serve_queue_texts": "queue_texts",
        "streamsift_serve_model_swaps": "model_swaps",
        "streamsift_serve_log_rows_buffered": "log_rows_buffered",
        "streamsift_serve_log_rows_written": "log_rows_written",
        "streamsift_serve_log_rows_dropped": "log_rows_dropped",
    }
    out: dict[str, Any] = {"url": url, "up": True}
    for fam in text_string_to_metric_families(r.text):
        key = wanted.get(fam.name)
        if key:
            out[key] = sum(s.value for s in fam.samples if not s.name.endswith(("_created", "_bucket")))
    return out


__all__ = ["DashboardError", "DashboardStore", "FeedFilter", "decode_cursor", "encode_cursor", "kafka_lag"]
