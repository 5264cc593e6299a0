"""The compiled COPY encoder sends byte for byte what psycopg sends for the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from psycopg import postgres
from psycopg._copy_base import BinaryFormatter
from psycopg.adapt import AdaptersMap, Transformer
from psycopg.pq import Format

from streamsift.ingest.sink import (
    COPY_CODES,
    KafkaMessage,
    _JsonbBytesDumper,
    _JsonBytesDumper,
    _TextArrayDumper,
    native_available,
    rows_from_messages,
)
from streamsift.sources.synthetic import generate
from streamsift.store.schema import RAW_TYPES, URL_TYPES


def test_the_compiled_hot_path_is_built():
    """This suite runs where setup.py could compile it (make setup); a user's install may not."""
    assert native_available()


_OIDS = {
    "int8": 20,
    "int4": 23,
    "bool": 16,
    "text": 25,
    "text[]": 1009,
    "json": 114,
    "jsonb": 3802,
    "timestamptz": 1184,
}


def psycopg_copy(rows: list[tuple], types: tuple[str, ...]) -> bytes:
    """What ``cur.copy(…)`` + ``set_types(types)`` + ``write_row`` sent before (the sink's dumpers)."""
    adapters = AdaptersMap(postgres.adapters)
    for dumper in (_TextArrayDumper, _JsonBytesDumper, _JsonbBytesDumper):
        adapters.register_dumper(None, dumper)
    tx = Transformer(adapters)
    tx.set_dumper_types([_OIDS[t] for t in types], Format.BINARY)
    f = BinaryFormatter(tx)
    return b"".join(bytes(f.write_row(r)) for r in rows) + bytes(f.end())


def native_copy(rows: list[tuple], types: tuple[str, ...]) -> bytes:
    from streamsift.ingest._copy_native import copy_data

    return copy_data(rows, "".join(COPY_CODES[t] for t in types))


def _rows(n: int, seed: int) -> list[tuple]:
    now = datetime(2026, 12, 2, 10, 30, 15, 123456, tzinfo=UTC)
    msgs = [KafkaMessage(i.record.payload, "tweets.raw", n % 7, n, now) for n, i in enumerate(generate(n, seed=seed))]
    return rows_from_messages(msgs).tweets


@pytest.mark.parametrize("raw_type", ["json", "jsonb"])
def test_raw_rows_of_a_synthetic_stream(raw_type: str):
    types = tuple(raw_type if t == "json" else t for t in RAW_TYPES)
    rows = _rows(2000, seed=11)
    assert native_copy(rows, types) == psycopg_copy(rows, types)


_MAX_TIME = datetime.max.replace(tzinfo=UTC)
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def test_edge_values():
    types = ("int8", "int4", "bool", "text", "text[]", "json", "timestamptz")
    rows = [
        (
            2**63 - 1,
            2**31 - 1,
            True,
            "é – 😀 \\ \t\n",
            ["a", "", "😀"],
            b'{"a": "\\u00e9"}',
            datetime.max.replace(tzinfo=UTC),
        ),
        (-(2**63), -(2**31), False, "", [], b"[]", datetime(1, 1, 1, tzinfo=UTC)),
        (None, None, None, None, None, None, None),
        (1, 0, True, "x", ("tuple", "too"), b"1", datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        (
            0,
            1,
            False,
            "y" * 100_000,
            ["z" * 70_000] * 3,
            b'"' + b"q" * 100_000 + b'"',
            datetime(2000, 1, 1, tzinfo=UTC),
        ),
        (5, 5, True, "leap", ["x"], b"{}", datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=UTC)),
    ]
    assert native_copy(rows, types) == psycopg_copy(rows, types)
    assert native_copy([], types) == psycopg_copy([], types)


def test_url_rows():
    rows = [(1, "https://t.co/a", "https://example.com/é", "example.com"), (2**62, "", "", "")]
    assert native_copy(rows, URL_TYPES) == psycopg_copy(rows, URL_TYPES)


@pytest.mark.parametrize(
    ("types", "row"),
    [
        (("timestamptz",), (datetime(2020, 1, 1),)),  # naive
        (("timestamptz",), (datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=2))),)),
        (("int8",), ("1",)),
        (("int8",), (True,)),
        (("int4",), (2**31,)),
        (("bool",), (1,)),
        (("text",), (b"bytes",)),
        (("text[]",), (["a", None],)),
        (("json",), ("str",)),
    ],
)
def test_an_unforeseen_value_is_refused_so_psycopg_formats_the_batch(types, row):
    with pytest.raises((TypeError, OverflowError)):
        native_copy([row], types)


def test_a_subset_of_a_stream_made_ahead_is_the_stream_of_that_subset():
    """The sink cuts tweets found stored out of a stream made ahead: header, kept rows, trailer."""
    from streamsift.ingest.sink import _ahead

    rows = _rows(300, seed=5)
    stream = _ahead(rows, RAW_TYPES)
    assert stream is not None and len(stream.ends) == len(rows) + 1
    assert stream.subset([True] * len(rows)) == stream.data
    for keep in ([i % 3 != 0 for i in range(len(rows))], [False] * len(rows), [i == 7 for i in range(len(rows))]):
        kept = [r for r, k in zip(rows, keep, strict=True) if k]
        assert stream.subset(keep) == psycopg_copy(kept, RAW_TYPES)
