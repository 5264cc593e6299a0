"""Turn a batch of Kafka messages into rows, and write them idempotently.

Pure logic (:func:`rows_from_messages`) is separate from the write
(:class:`RawTweetSink`), so it can be tested without a broker or a database.
The Spark job calls :meth:`RawTweetSink.write` inside its executors.

Idempotence: the raw table's key is the tweet id and ``dead_letters`` is unique
on (stage, topic, partition, offset); inserts are ``ON CONFLICT DO NOTHING``, so
a replayed micro-batch writes nothing twice. Each write is one transaction.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.adapt import Dumper
from psycopg.pq import Format

from streamsift.records import _UNFORESEEN, MalformedRecord, clean_text, parse_payload
from streamsift.store.retry import ConnectionHolder, write_with_retry
from streamsift.store.schema import RAW_COLUMNS, RAW_TYPES, URL_COLUMNS, URL_TYPES
from streamsift.store.tables import validate_identifier

try:  # the compiled hot path (setup.py); without a C compiler, the Python path alone
    from streamsift.ingest._copy_native import copy_data as _native_copy_data
    from streamsift.records._v1_native import v1_row as _native_v1_row
except ImportError:
    _native_copy_data = _native_v1_row = None

log = logging.getLogger(__name__)

STAGE = "ingest"
PREVIEW_CHARS = 2000


@dataclass(slots=True)
class KafkaMessage:
    """What the sink needs of one Kafka record."""

    value: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: datetime | None = None


@dataclass
class BatchRows:
    tweets: list[tuple[Any, ...]] = field(default_factory=list)
    urls: list[tuple[int, str, str, str]] = field(default_factory=list)
    dead: list[tuple[Any, ...]] = field(default_factory=list)
    # Made ahead by :meth:`RawTweetSink.prepare`: the tweets without in-batch repeats, their links
    # (each once), and the binary COPY streams of both (the writer cuts out the tweets found stored).
    unique: list[tuple[Any, ...]] | None = None
    unique_urls: list[tuple[int, str, str, str]] | None = None
    copy: tuple[CopyStream, CopyStream] | None = None


@dataclass(slots=True)
class CopyStream:
    """A binary COPY stream made ahead, and where its header and each of its rows end."""

    data: bytes
    ends: list[int]

    def subset(self, keep: list[bool]) -> bytes:
        """The stream of the rows ``keep`` marks (one flag per row): header, their bytes, trailer."""
        view, ends = memoryview(self.data), self.ends
        parts = [view[: ends[0]]]
        parts += [view[ends[i] : ends[i + 1]] for i, k in enumerate(keep) if k]
        parts.append(view[ends[-1] :])
        return b"".join(parts)


@dataclass
class WriteResult:
    """Counts of one write (a micro-batch partition)."""

    messages: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    urls: int = 0

    def __iadd__(self, other: WriteResult) -> WriteResult:
        for f in ("messages", "inserted", "duplicates", "dead_letters", "urls"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        return self


@dataclass
class IngestStats:
    """Totals of an ingest run."""

    batches: int = 0
    seconds: float = 0.0
    totals: WriteResult | None = None

    def to_dict(self) -> dict[str, Any]:
        t = self.totals or WriteResult()
        return {
            "batches": self.batches,
            "seconds": round(self.seconds, 2),
            "messages": t.messages,
            "inserted": t.inserted,
            "duplicates": t.duplicates,
            "dead_letters": t.dead_letters,
            "urls": t.urls,
        }


def _preview(value: bytes | None) -> str:
    if value is None:
        return ""
    return clean_text(value[: PREVIEW_CHARS * 4].decode("utf-8", "replace"))[:PREVIEW_CHARS]


# -- COPY dumpers for the raw table's hot columns ---------------------------------------------
# Registered by oid only (``register_dumper(None, ...)``) on the sink's cursor, so they apply to the
# COPY's ``set_types`` and nowhere else. psycopg's generic ones cost ~3 µs per text[] (a Python
# walk of the list's dimensions) and ~5 µs per JSON value (a wrapper object and a dumps() call):
# ~60 % of formatting a raw row (docs/benchmarks.md, "Ingest hot path").
_TEXT_OID = 25
_ARRAY_HEAD = struct.Struct("!iiIii")  # ndim, has-null flag, element oid, length, lower bound
_EMPTY_TEXT_ARRAY = struct.pack("!iiI", 0, 0, _TEXT_OID)
_LEN = struct.Struct("!i")


class _TextArrayDumper(Dumper):
    """``text[]`` in binary from a list of str (never None: the normalisers give strings)."""

    format = Format.BINARY
    oid = 1009

    def dump(self, obj: list[str]) -> bytes:
        if not obj:
            return _EMPTY_TEXT_ARRAY
        parts = [_ARRAY_HEAD.pack(1, 0, _TEXT_OID, len(obj), 1)]
        for item in obj:
            data = item.encode()
            parts.append(_LEN.pack(len(data)))
            parts.append(data)
        return b"".join(parts)


class _JsonBytesDumper(Dumper):
    """``json`` in binary is the JSON text itself: the payload's UTF-8 bytes as they are."""

    format = Format.BINARY
    oid = 114

    def dump(self, obj: bytes) -> bytes:
        return obj


class _JsonbBytesDumper(Dumper):
    """``jsonb`` in binary: a version byte, then the JSON text."""

    format = Format.BINARY
    oid = 3802

    def dump(self, obj: bytes) -> bytes:
        return b"\x01" + obj


#: The compiled encoder's code of each column type (``ingest/_copy_native.pyx``).
COPY_CODES = {
    "int8": "q",
    "int4": "i",
    "bool": "b",
    "text": "t",
    "text[]": "T",
    "json": "j",
    "jsonb": "J",
    "timestamptz": "z",
}


def _copy_stream(rows: list[Any], types: tuple[str, ...], ends: list[int] | None = None) -> bytes | None:
    """The binary COPY stream of ``rows`` from one compiled call, or None: not built, or a value it
    does not foresee (psycopg formats those). ``ends`` receives where the header and each row end."""
    if _native_copy_data is None:
        return None
    try:
        return _native_copy_data(rows, "".join(COPY_CODES[t] for t in types), ends)
    except (TypeError, OverflowError, ValueError, KeyError):
        return None


def _ahead(rows: list[Any], types: tuple[str, ...]) -> CopyStream | None:
    ends: list[int] = []
    data = _copy_stream(rows, types, ends)
    return CopyStream(data, ends) if data is not None else None


def _copy_rows(
    cur: psycopg.Cursor, statement: sql.Composable, types: tuple[str, ...], rows: list[Any], data: bytes | None = None
) -> None:
    """COPY ``rows``: ``data`` (their stream, made before) or the whole stream from one compiled call
    when it is built, else — or for a value it does not foresee — formatted by psycopg row by row
    (the same bytes: a unit test)."""
    data = data if data is not None else _copy_stream(rows, types)
    if data is not None:
        with cur.copy(statement) as cp:
            cp.write(data)
        return
    with cur.copy(statement) as cp:
        cp.set_types(list(types))
        for r in rows:
            cp.write_row(r)


def _fast_dumpers(cur: psycopg.Cursor) -> None:
    for dumper in (_TextArrayDumper, _JsonBytesDumper, _JsonbBytesDumper):
        cur.adapters.register_dumper(None, dumper)


def native_available() -> bool:
    """Whether the compiled hot path (``records/_v1_native.pyx``, ``ingest/_copy_native.pyx``) was
    built with this install."""
    return _native_v1_row is not None and _native_copy_data is not None


def rows_from_messages(messages: Iterable[KafkaMessage], *, native: bool = True) -> BatchRows:
    """Normalise each message; valid tweets become raw + URL rows, the rest dead letters.

    An ordinary v1.1 status goes through the compiled path when it is built (``native``); it
    declines anything else, which the Python path below takes — with the same result, field by field
    (``tests/unit/test_records_native.py``).
    """
    out = BatchRows()
    v1_row = _native_v1_row if native else None
    for m in messages:
        if v1_row is not None and type(m.value) is bytes:
            try:
                hit = v1_row(m.value, m.topic, m.partition, m.offset, m.timestamp)
            except _UNFORESEEN:
                hit = None  # the Python path gives the verdict
            if hit is not None:
                row, links = hit
                out.tweets.append(row)
                tweet_id = row[0]
                out.urls.extend([(tweet_id, short, expanded, domain) for short, expanded, domain in links])
                continue
        try:
            t, raw = parse_payload(m.value)
        except MalformedRecord as exc:
            out.dead.append((STAGE, m.topic, m.partition, m.offset, m.value, _preview(m.value), str(exc)))
            continue
        out.tweets.append(
            (
                t.tweet_id,
                t.created_at,
                t.text,
                t.lang,
                t.user_id,
                t.user_screen_name,
                t.user_name,
                t.user_followers_count,
                t.user_verified,
                t.is_retweet,
                t.is_quote,
                t.is_reply,
                t.retweeted_id,
                t.quoted_id,
                t.in_reply_to_id,
                t.quoted_text,
                t.hashtags,
                t.mentions,
                [u.expanded_url for u in t.urls],
                t.source_format,
                raw,
                m.topic,
                m.partition,
                m.offset,
                m.timestamp,
                t.platform,
                t.post_uri,
                t.post_cid,
            )
        )
        out.urls.extend((t.tweet_id, u.url, u.expanded_url, u.domain) for u in t.urls)
    return out


class RawTweetSink:
    """Writes batches into ``<raw table>``, ``tweet_urls`` and ``dead_letters``.

    Without a connection passed in, the sink keeps its own and rides out database
    blips: transient errors are retried for ``retry_window_s`` seconds (see
    :mod:`streamsift.store.retry`); each attempt writes the whole batch again in
    one transaction, which the idempotent inserts make safe.
    """

    def __init__(self, connect_kwargs: dict[str, Any], raw_table: str, *, retry_window_s: float = 0.0) -> None:
        self.connect_kwargs = connect_kwargs
        self.table = validate_identifier(raw_table)
        self.retry_window_s = retry_window_s
        self._holder = ConnectionHolder(connect_kwargs)
        self._raw_types: tuple[str, ...] | None = None

    def write(self, messages: list[KafkaMessage], conn: psycopg.Connection | None = None) -> WriteResult:
        return self.write_rows(rows_from_messages(messages), len(messages), conn)

    def write_rows(self, rows: BatchRows, messages: int, conn: psycopg.Connection | None = None) -> WriteResult:
        """:meth:`write` of rows already made by :func:`rows_from_messages` (from ``messages`` records):
        the Kafka engine makes the next batch's rows while this one is written."""
        if conn is not None:
            result = self._write(conn, rows)
        else:
            result = write_with_retry(
                lambda: self._write(self._holder.get(), rows),
                window_s=self.retry_window_s,
                target=str(self.connect_kwargs.get("conninfo", "PostgreSQL")),
                what=f"writing {messages} messages",
                on_retry=self._holder.reset,
            )
        result.messages = messages
        return result

    def close(self) -> None:
        self._holder.close()

    def prepare(self, rows: BatchRows) -> BatchRows:
        """Do ahead what needs no database: drop in-batch repeats, pick their links, and (once the raw
        column's type is known, after the first write) encode both COPY streams. The Kafka engine calls
        it in its reading thread, so its writer thread only probes for stored ids and sends."""
        rows.unique = _first_of_each(rows.tweets)
        ids = {r[0] for r in rows.unique}
        rows.unique_urls = _unique([u for u in rows.urls if u[0] in ids], key=_url_key)
        types = self._raw_types
        if types is not None and rows.unique:
            raw = _ahead(rows.unique, types)
            urls = _ahead(rows.unique_urls, URL_TYPES)
            if raw is not None and urls is not None:
                rows.copy = (raw, urls)
        return rows

    def _write(self, conn: psycopg.Connection, rows: BatchRows) -> WriteResult:
        result = WriteResult()
        with conn.transaction(), conn.cursor() as cur:
            _fast_dumpers(cur)
            unique = rows.unique if rows.unique is not None else _first_of_each(rows.tweets)
            stored = self._stored(cur, unique) if unique else set()
            fresh = [r for r in unique if r[0] not in stored] if stored else unique
            fresh_ids = {r[0] for r in fresh}
            # A stored tweet's links were stored with it: only new tweets' links are written (so a
            # duplicate in the batch does not send every link through the ON CONFLICT path).
            if rows.unique_urls is not None:
                urls = [u for u in rows.unique_urls if u[0] not in stored] if stored else rows.unique_urls
            else:
                urls = _unique([u for u in rows.urls if u[0] in fresh_ids], key=_url_key)
            raw_data = url_data = None
            if rows.copy is not None:  # made ahead for every unique tweet: the stored ones cut out
                raw_ahead, urls_ahead = rows.copy
                raw_data = raw_ahead.subset([r[0] not in stored for r in unique]) if stored else raw_ahead.data
                url_data = (
                    urls_ahead.subset([u[0] not in stored for u in rows.unique_urls or ()])
                    if stored
                    else urls_ahead.data
                )
            if fresh:
                result.inserted = _copy_idempotent(
                    cur,
                    self.table,
                    RAW_COLUMNS,
                    self._column_types(cur),
                    fresh,
                    conflict="(tweet_id)",
                    data=raw_data,
                )
            result.duplicates = len(rows.tweets) - result.inserted
            if urls:
                result.urls = _copy_idempotent(
                    cur,
                    "tweet_urls",
                    URL_COLUMNS,
                    URL_TYPES,
                    urls,
                    conflict="(tweet_id, expanded_url)",
                    data=url_data,
                )
            if rows.dead:
                cur.executemany(
                    "INSERT INTO dead_letters (stage, topic, kafka_partition, kafka_offset, payload, "
                    "payload_text, reason) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (stage, topic, kafka_partition, kafka_offset) DO NOTHING",
                    rows.dead,
                )
                result.dead_letters = len(rows.dead)
        return result

    def _column_types(self, cur: psycopg.Cursor) -> tuple[str, ...]:
        """:data:`RAW_TYPES`, with ``raw`` as the table has it: ``json`` now, ``jsonb`` in a
        table made before (binary COPY must send each column in its own type's format)."""
        if self._raw_types is None:
            row = cur.execute(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = to_regclass(%s) AND attname = 'raw' AND NOT attisdropped",
                (sql.Identifier(self.table).as_string(cur),),
            ).fetchone()
            raw_type = row[0] if row else "json"
            self._raw_types = tuple(raw_type if c == "raw" else t for c, t in zip(RAW_COLUMNS, RAW_TYPES, strict=True))
        return self._raw_types

    def _stored(self, cur: psycopg.Cursor, tweets: list[tuple[Any, ...]]) -> set[int]:
        """The ids of ``tweets`` already in the raw table."""
        # the ids as one array literal: psycopg's list dumper costs ~3 µs per id, PostgreSQL's parser ~0.3
        cur.execute(
            sql.SQL("SELECT tweet_id FROM {} WHERE tweet_id = ANY(%s::bigint[])").format(sql.Identifier(self.table)),
            ("{" + ",".join([str(r[0]) for r in tweets]) + "}",),
        )
        return {r[0] for r in cur.fetchall()}


def _first_of_each(tweets: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The batch without in-batch repeats: of each tweet id, the row of the first (partition, offset)."""
    return _unique(sorted(tweets, key=lambda r: (r[0], r[22], r[23])), key=lambda r: r[0])


def _url_key(u: tuple[int, str, str, str]) -> tuple[int, str]:
    return u[0], u[2]  # (tweet_id, expanded_url): tweet_urls' key


def _unique(rows: list[tuple[Any, ...]], key: Any) -> list[tuple[Any, ...]]:
    seen: set[Any] = set()
    out = []
    for r in rows:
        k = key(r)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


def _copy_idempotent(
    cur: psycopg.Cursor,
    table: str,
    columns: tuple[str, ...],
    types: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    *,
    conflict: str,
    data: bytes | None = None,
) -> int:
    """Insert ``rows`` once; returns how many were new.

    Fast path: binary COPY straight into ``table`` inside a savepoint (``data``: the rows' stream,
    made before). If a row is already there (a concurrent writer, or a replay racing us), the
    savepoint is rolled back and the rows go through a temp table and ``ON CONFLICT DO NOTHING``.
    """
    if not rows:
        return 0
    ident = sql.Identifier(table)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    try:
        copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(ident, cols)
        with cur.connection.transaction():  # a savepoint
            _copy_rows(cur, copy, types, rows, data)
        return len(rows)
    except psycopg.errors.UniqueViolation:
        log.info("rows already in %s: inserting %d rows with ON CONFLICT DO NOTHING", table, len(rows))
    tmp = sql.Identifier(f"_ingest_{table}")
    cur.execute(
        sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS").format(
            tmp, ident
        )
    )
    _copy_rows(cur, sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(tmp, cols), types, rows)
    cur.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT {} DO NOTHING").format(
            ident, cols, cols, tmp, sql.SQL(conflict)
        )
    )
    return cur.rowcount


def utc(ts: Any) -> datetime | None:
    """Spark hands timestamps as naive UTC datetimes or pandas Timestamps."""
    if ts is None:
        return None
    if hasattr(ts, "to_pydatetime"):
        ts = ts.to_pydatetime()
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


__all__ = [
    "BatchRows",
    "IngestStats",
    "KafkaMessage",
    "RawTweetSink",
    "WriteResult",
    "native_available",
    "rows_from_messages",
]
