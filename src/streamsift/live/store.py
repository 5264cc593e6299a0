"""PostgreSQL side of live classification: ``ai_tweets`` and the AI tweets' links, idempotently.

A batch is one transaction: the AI rows are copied into a temporary table and upserted —
a tweet seen again keeps its row unless a *different* model version scored it, then the row
takes the new verdict (``tweets.predictions`` keeps every version's) — and their links go into
``tweet_urls`` once. Replaying a batch therefore changes nothing. Writes go through
:func:`~streamsift.store.retry.write_with_retry`, so a database outage is ridden out.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

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
CREATE INDEX IF NOT EXISTS ai_tweets_predicted_at ON ai_tweets (predicted_at);
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
"""


def ensure_live_schema(conn: psycopg.Connection) -> None:
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

    def write(self, ai_rows: list[tuple[Any, ...]], urls: list[tuple[int, str, str, str]]) -> int:
        """Upsert ``ai_rows`` and insert ``urls`` in one transaction; returns rows inserted or changed."""
        if not ai_rows and not urls:
            return 0
        return write_with_retry(
            lambda: self._write(self._holder.get(), ai_rows, urls),
            window_s=self.retry_window_s,
            target=str(self.connect_kwargs.get("conninfo", "PostgreSQL")),
            what=f"writing {len(ai_rows)} AI tweets",
            on_retry=self._holder.reset,
        )

    def _write(self, conn: psycopg.Connection, ai_rows, urls) -> int:
        if not self._schema:
            ensure_live_schema(conn)
            self._schema = True
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS _ai (LIKE ai_tweets INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
            with cur.copy(f"COPY _ai ({', '.join(AI_COLUMNS)}) FROM STDIN") as cp:
                for r in ai_rows:
                    cp.write_row(r)
            cur.execute(_UPSERT)
            changed = cur.rowcount
            if urls:
                cur.executemany(
                    f"INSERT INTO tweet_urls ({', '.join(URL_COLUMNS)}) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (tweet_id, expanded_url) DO NOTHING",
                    urls,
                )
        return changed

    def close(self) -> None:
        self._holder.close()


__all__ = ["AI_COLUMNS", "DDL", "LiveSink", "ensure_live_schema"]
