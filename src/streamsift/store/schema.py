"""DDL of the tables streamsift writes. Every statement is idempotent."""

from __future__ import annotations

import psycopg
from psycopg import sql

from streamsift.store.tables import validate_identifier

#: Columns of a raw tweet table, in COPY order (``ingested_at`` is set by the server).
RAW_COLUMNS = (
    "tweet_id",
    "created_at",
    "text",
    "lang",
    "user_id",
    "user_screen_name",
    "user_name",
    "user_followers_count",
    "user_verified",
    "is_retweet",
    "is_quote",
    "is_reply",
    "retweeted_id",
    "quoted_id",
    "in_reply_to_id",
    "quoted_text",
    "hashtags",
    "mentions",
    "urls",
    "source_format",
    "raw",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "kafka_timestamp",
    "platform",
    "post_uri",
    "post_cid",
)

#: PostgreSQL types of :data:`RAW_COLUMNS`, for binary COPY.
RAW_TYPES = (
    "int8",
    "timestamptz",
    "text",
    "text",
    "int8",
    "text",
    "text",
    "int8",
    "bool",
    "bool",
    "bool",
    "bool",
    "int8",
    "int8",
    "int8",
    "text",
    "text[]",
    "text[]",
    "text[]",
    "text",
    "json",
    "text",
    "int4",
    "int8",
    "timestamptz",
    "text",
    "text",
    "text",
)
URL_COLUMNS = ("tweet_id", "url", "expanded_url", "domain")
URL_TYPES = ("int8", "text", "text", "text")

_RAW_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    tweet_id             bigint PRIMARY KEY,
    created_at           timestamptz,
    text                 text NOT NULL,
    lang                 text,
    user_id              bigint,
    user_screen_name     text,
    user_name            text,
    user_followers_count bigint,
    user_verified        boolean,
    is_retweet           boolean NOT NULL DEFAULT false,
    is_quote             boolean NOT NULL DEFAULT false,
    is_reply             boolean NOT NULL DEFAULT false,
    retweeted_id         bigint,
    quoted_id            bigint,
    in_reply_to_id       bigint,
    quoted_text          text,
    hashtags             text[] NOT NULL DEFAULT '{{}}',
    mentions             text[] NOT NULL DEFAULT '{{}}',
    urls                 text[] NOT NULL DEFAULT '{{}}',
    source_format        text NOT NULL,
    raw                  json NOT NULL,
    kafka_topic          text,
    kafka_partition      integer,
    kafka_offset         bigint,
    kafka_timestamp      timestamptz,
    ingested_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    platform             text NOT NULL DEFAULT 'x',
    post_uri             text,
    post_cid             text
)
"""

#: Columns added after the first release: raw tables made before get them on the next ingest.
_RAW_UPGRADE = """
ALTER TABLE {table} ADD COLUMN IF NOT EXISTS platform text NOT NULL DEFAULT 'x',
                    ADD COLUMN IF NOT EXISTS post_uri text,
                    ADD COLUMN IF NOT EXISTS post_cid text
"""

_TWEET_URLS_DDL = """
CREATE TABLE IF NOT EXISTS tweet_urls (
    tweet_id     bigint NOT NULL,
    url          text NOT NULL,
    expanded_url text NOT NULL,
    domain       text NOT NULL,
    PRIMARY KEY (tweet_id, expanded_url)
);
CREATE INDEX IF NOT EXISTS tweet_urls_domain_idx ON tweet_urls (domain)
"""

_DEAD_LETTERS_DDL = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id              bigserial PRIMARY KEY,
    stage           text NOT NULL,
    topic           text,
    kafka_partition integer,
    kafka_offset    bigint,
    payload         bytea,
    payload_text    text,
    reason          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stage, topic, kafka_partition, kafka_offset)
)
"""


def ensure_ingest_schema(conn: psycopg.Connection, raw_table: str, raw_compression: str = "auto") -> None:
    """Create the raw table, ``tweet_urls`` and ``dead_letters`` if missing (one transaction).

    A new raw table stores ``raw`` as ``raw_compression`` says (``ingest.raw_compression``); a table
    made before keeps what it has.
    """
    table = sql.Identifier(validate_identifier(raw_table))
    with conn.transaction():
        # Concurrent first runs must not race on CREATE TABLE IF NOT EXISTS.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('streamsift.schema'))")
        new = conn.execute("SELECT to_regclass(%s) IS NULL", (table.as_string(conn),)).fetchone()[0]
        conn.execute(sql.SQL(_RAW_DDL).format(table=table))
        if new:
            _raw_storage(conn, table, raw_compression)
        current = conn.execute(
            "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = 'post_cid' AND NOT attisdropped",
            (sql.Identifier(raw_table).as_string(conn),),
        ).fetchone()
        if current is None:  # an ALTER takes an exclusive lock even when it changes nothing
            conn.execute(sql.SQL(_RAW_UPGRADE).format(table=table))
        conn.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (ingested_at)").format(
                sql.Identifier(f"{raw_table}_ingested_idx"), table
            )
        )
        for stmt in _TWEET_URLS_DDL.split(";"):
            conn.execute(stmt)
        conn.execute(_DEAD_LETTERS_DDL)


def _raw_storage(conn: psycopg.Connection, table: sql.Identifier, compression: str) -> str:
    """How PostgreSQL stores ``raw`` (a tweet's JSON, 1-10 KB; nothing in streamsift reads it back):

    * ``lz4``: compressed with lz4 (PostgreSQL ≥ 14 built with it; most packaged servers are);
    * ``pglz``: PostgreSQL's own compression — the smallest, and most of ingest's database time on
      real-size tweets (~100 µs of CPU per 6 KB tweet: docs/benchmarks.md, "Ingest hot path");
    * ``none``: not compressed, kept in the row up to 8 KB (``toast_tuple_target``), out of line
      above — ~2.5× the disk of ``pglz`` for the raw JSON;
    * ``auto``: ``lz4`` where the server has it, else ``none``.

    Returns what was applied."""
    if compression in ("auto", "lz4"):
        try:
            with conn.transaction():  # a savepoint: a server without lz4 refuses it
                conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN raw SET COMPRESSION lz4").format(table))
            return "lz4"
        except psycopg.errors.FeatureNotSupported:
            if compression == "lz4":
                raise
    if compression == "pglz":
        conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN raw SET COMPRESSION pglz").format(table))
        return "pglz"
    conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN raw SET STORAGE EXTERNAL").format(table))
    conn.execute(sql.SQL("ALTER TABLE {} SET (toast_tuple_target = 8160)").format(table))
    return "none"


_ANNOTATION_DDL = """
CREATE TABLE IF NOT EXISTS annotations (
    table_name text NOT NULL, tweet_id bigint NOT NULL, annotator text NOT NULL, label smallint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (table_name, tweet_id, annotator));
CREATE TABLE IF NOT EXISTS annotation_events (
    id bigserial PRIMARY KEY, table_name text NOT NULL, tweet_id bigint NOT NULL, annotator text NOT NULL,
    action text NOT NULL, new_label smallint, prev_golden smallint, prev_annotator text,
    prev_annotated_at timestamptz, prev_own_label smallint, undone boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS annotation_events_undo_idx ON annotation_events (annotator, table_name, id DESC)
    WHERE NOT undone;
CREATE INDEX IF NOT EXISTS annotation_events_review_idx ON annotation_events (table_name, tweet_id)
    WHERE action = 'review' AND NOT undone;
CREATE TABLE IF NOT EXISTS assignments (
    table_name text NOT NULL, tweet_id bigint NOT NULL, annotator text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (table_name, tweet_id, annotator));
CREATE INDEX IF NOT EXISTS assignments_annotator_idx ON assignments (annotator, table_name);
"""


def ensure_annotation_schema(conn: psycopg.Connection) -> None:
    """The annotation tables (labels per annotator, the event log for undo/review, assignments)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('streamsift.web.schema'))")
        for stmt in _ANNOTATION_DDL.split(";"):
            if stmt.strip():
                conn.execute(stmt)


__all__ = [
    "RAW_COLUMNS",
    "RAW_TYPES",
    "URL_COLUMNS",
    "URL_TYPES",
    "ensure_annotation_schema",
    "ensure_ingest_schema",
]
