"""PostgreSQL side of live classification: ``ai_tweets`` and the AI tweets' links, idempotently.

A batch is one transaction: the AI rows are copied into a temporary table and upserted —
a tweet seen again keeps its row unless a *different* model version scored it, then the row
takes the new verdict (``tweets.predictions`` keeps every version's) — and their links go into
``tweet_urls`` once. Replaying a batch therefore changes nothing. Writes go through
:func:`~streamsift.store.retry.write_with_retry`, so a database outage is ridden out.

The same transaction keeps what the dashboard reads, pre-aggregated so its charts stay fast
with millions of rows: ``classify_batches`` (one row per batch, keyed by its Kafka records,
so a replay counts once: tweets classified, AI tweets, dead letters, a probability histogram)
and ``ai_terms`` (link domains and hashtags of newly stored AI tweets, per day).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import psycopg

from streamsift.live.scoring import ScoredBatch
from streamsift.store.retry import ConnectionHolder, write_with_retry
from streamsift.store.schema import URL_COLUMNS

log = logging.getLogger(__name__)

AI_COLUMNS = (
    "tweet_id",
    "text",
    "author",
    "author_id",
    "created_at",
    "probability",
    "label",
    "model_version",
    "has_links",
    "is_retweet",
    "retweeted_id",
    "predicted_at",
    "kafka_timestamp",
    "hashtags",
    "platform",
    "post_uri",
    "post_cid",
)

DDL = """
CREATE TABLE IF NOT EXISTS ai_tweets (
    tweet_id        bigint PRIMARY KEY,
    text            text NOT NULL,
    author          text,
    author_id       bigint,
    created_at      timestamptz,
    probability     real NOT NULL,
    label           text NOT NULL,
    model_version   integer NOT NULL,
    has_links       boolean NOT NULL,
    is_retweet      boolean NOT NULL,
    retweeted_id    bigint,
    predicted_at    timestamptz NOT NULL,
    kafka_timestamp timestamptz,
    stored_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
ALTER TABLE ai_tweets ADD COLUMN IF NOT EXISTS hashtags text[] NOT NULL DEFAULT '{}';
ALTER TABLE ai_tweets ADD COLUMN IF NOT EXISTS platform text NOT NULL DEFAULT 'x',
                      ADD COLUMN IF NOT EXISTS post_uri text,
                      ADD COLUMN IF NOT EXISTS post_cid text;
DROP INDEX IF EXISTS ai_tweets_predicted_at;
CREATE INDEX IF NOT EXISTS ai_tweets_feed ON ai_tweets (predicted_at DESC, tweet_id DESC);
CREATE INDEX IF NOT EXISTS ai_tweets_text_search ON ai_tweets USING gin (to_tsvector('simple', text));
CREATE TABLE IF NOT EXISTS classify_batches (
    batch_key     text PRIMARY KEY,
    source        text NOT NULL,
    model_version integer NOT NULL,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    classified    integer NOT NULL,
    ai            integer NOT NULL,
    dead          integer NOT NULL,
    histogram     integer[] NOT NULL
);
CREATE INDEX IF NOT EXISTS classify_batches_at ON classify_batches (at);
CREATE TABLE IF NOT EXISTS ai_terms (
    day  date NOT NULL,
    kind text NOT NULL CHECK (kind IN ('domain', 'hashtag')),
    term text NOT NULL,
    n    bigint NOT NULL,
    PRIMARY KEY (day, kind, term)
);
CREATE TABLE IF NOT EXISTS tweet_urls (
    tweet_id     bigint NOT NULL,
    url          text NOT NULL,
    expanded_url text NOT NULL,
    domain       text NOT NULL,
    PRIMARY KEY (tweet_id, expanded_url)
);
"""

_UPSERT = f"""
INSERT INTO ai_tweets ({", ".join(AI_COLUMNS)})
SELECT DISTINCT ON (tweet_id) {", ".join(AI_COLUMNS)} FROM _ai ORDER BY tweet_id
ON CONFLICT (tweet_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in AI_COLUMNS[1:])}, stored_at = clock_timestamp()
WHERE ai_tweets.model_version <> EXCLUDED.model_version
RETURNING tweet_id, (xmax = 0) AS inserted
"""

_TERMS = """
INSERT INTO ai_terms (day, kind, term, n) VALUES (%s, %s, %s, %s)
ON CONFLICT (day, kind, term) DO UPDATE SET n = ai_terms.n + EXCLUDED.n
"""


_CURRENT = """
SELECT to_regclass('ai_terms') IS NOT NULL AND to_regclass('classify_batches_at') IS NOT NULL
   AND to_regclass('ai_tweets_feed') IS NOT NULL AND to_regclass('ai_tweets_text_search') IS NOT NULL
   AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('ai_tweets') AND attname = 'hashtags')
   AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('ai_tweets') AND attname = 'post_cid')
"""


def ensure_live_schema(conn: psycopg.Connection) -> None:
    """Create or upgrade the live tables. A catalogue check first: when the schema is current no DDL
    runs, so the many sinks of a Spark job take no table locks (the DDL's locks deadlocked with the
    writes of concurrent tasks)."""
    with conn.transaction():  # its own transaction: a bare execute would leave one open on the connection
        if conn.execute(_CURRENT).fetchone()[0]:
            return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('streamsift.live'))")
        for stmt in DDL.split(";"):
            if stmt.strip():
                conn.execute(stmt)


class LiveSink:
    """Writes the AI rows and links of scored batches; keeps and reopens its own connection."""

    def __init__(self, connect_kwargs: dict[str, Any], *, retry_window_s: float) -> None:
        self.connect_kwargs = connect_kwargs
        self.retry_window_s = retry_window_s
        self._holder = ConnectionHolder(connect_kwargs)
        self._schema = False

    def write(self, scored: ScoredBatch) -> int:
        """Store a scored batch in one transaction; returns AI rows inserted or changed."""
        if not scored.scored and not scored.dead:
            return 0
        return write_with_retry(
            lambda: self._write(self._holder.get(), scored),
            window_s=self.retry_window_s,
            target=str(self.connect_kwargs.get("conninfo", "PostgreSQL")),
            what=f"writing {len(scored.ai_rows)} AI tweets",
            on_retry=self._holder.reset,
        )

    def _write(self, conn: psycopg.Connection, scored: ScoredBatch) -> int:
        if not self._schema:
            ensure_live_schema(conn)
            self._schema = True
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(
                "INSERT INTO classify_batches (batch_key, source, model_version, classified, ai, dead, histogram)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (batch_key) DO NOTHING",
                (
                    scored.batch_key,
                    scored.source,
                    scored.model_version,
                    scored.scored,
                    len(scored.ai_rows),
                    len(scored.dead),
                    scored.histogram,
                ),
            )
            if not scored.ai_rows:
                return 0
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS _ai (LIKE ai_tweets INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
            with cur.copy(f"COPY _ai ({', '.join(AI_COLUMNS)}) FROM STDIN") as cp:
                for r in scored.ai_rows:
                    cp.write_row(r)
            cur.execute(_UPSERT)
            returned = cur.fetchall()
            if scored.urls:
                cur.executemany(
                    f"INSERT INTO tweet_urls ({', '.join(URL_COLUMNS)}) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (tweet_id, expanded_url) DO NOTHING",
                    scored.urls,
                )
            new = {tid for tid, inserted in returned if inserted}
            terms = _term_counts(scored, new)
            if terms:
                # The counters are shared by every concurrent writer (Spark tasks, workers): one writer at a
                # time, for the moment until its commit (this is the transaction's last statement).
                # Without the lock, concurrent upserts deadlocked even in key order.
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('streamsift.ai_terms'))")
                cur.executemany(_TERMS, [(day, kind, term, n) for (day, kind, term), n in sorted(terms.items())])
        return len(returned)

    def close(self) -> None:
        self._holder.close()


def _term_counts(scored: ScoredBatch, new: set[int]) -> Counter:
    """(day, kind, term) → count over the AI tweets stored for the first time (a replay adds nothing)."""
    counts: Counter = Counter()
    if not new:
        return counts
    i_id, i_day, i_tags = AI_COLUMNS.index("tweet_id"), AI_COLUMNS.index("predicted_at"), AI_COLUMNS.index("hashtags")
    day_of = {}
    for r in scored.ai_rows:
        if r[i_id] in new and r[i_id] not in day_of:
            day_of[r[i_id]] = r[i_day].date()
            for tag in r[i_tags]:
                counts[(day_of[r[i_id]], "hashtag", tag)] += 1
    seen: set[tuple[int, str]] = set()
    for tid, _url, _expanded, domain in scored.urls:
        if tid in day_of and domain and (tid, domain) not in seen:
            seen.add((tid, domain))
            counts[(day_of[tid], "domain", domain)] += 1
    return counts


__all__ = ["AI_COLUMNS", "DDL", "LiveSink", "ensure_live_schema"]
