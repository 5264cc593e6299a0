import pytest

from streamsift.ingest.sink import KafkaMessage, rows_from_messages
from streamsift.sources.synthetic import generate


def _msgs(payloads):
    return [KafkaMessage(p, "tweets.raw", 0, i) for i, p in enumerate(payloads)]


def test_valid_tweets_become_rows_and_urls():
    items = list(generate(200, seed=3, malformed_share=0, duplicate_share=0))
    rows = rows_from_messages(_msgs([i.record.payload for i in items]))
    assert len(rows.tweets) == 200 and not rows.dead
    assert {r[0] for r in rows.tweets} == {i.tweet_id for i in items}
    # every URL row belongs to a tweet and carries a domain
    ids = {r[0] for r in rows.tweets}
    assert rows.urls and all(u[0] in ids and u[3] for u in rows.urls)


def test_malformed_become_dead_letters_with_coordinates_and_reason():
    payloads = [b"not json", b"", None, b'{"id_str": "1"}', b"[1,2]", b'{"id_str": "7", "text": "ok"}']
    rows = rows_from_messages(_msgs(payloads))
    assert [r[0] for r in rows.tweets] == [7]
    assert [d[3] for d in rows.dead] == [0, 1, 2, 3, 4]  # offsets
    reasons = [d[6] for d in rows.dead]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1] == reasons[2] == "empty payload"
    assert reasons[3] == "missing text"
    assert "list" in reasons[4]
    assert rows.dead[0][4] == b"not json" and rows.dead[0][5] == "not json"


def test_raw_column_is_the_payload_text():
    payload = b'{"id_str": "9", "text": "nul \\u0000 inside"}'
    rows = rows_from_messages(_msgs([payload]))
    raw = rows.tweets[0][20]  # the payload's UTF-8 bytes, sent to the json column as they are
    assert b"\\u0000" not in raw and rows.tweets[0][2] == "nul  inside"


@pytest.mark.parametrize("items", [[], ["ai"], ["deep learning", "ÄI 🤖", ""], ["x"] * 40])
def test_text_array_dumper_writes_what_psycopg_writes(items):
    from psycopg.adapt import PyFormat, Transformer
    from psycopg.pq import Format

    from streamsift.ingest.sink import _TextArrayDumper

    psycopg_own = Transformer()  # what COPY ... set_types(["text[]"]) would send without ours
    psycopg_own.set_dumper_types([1009], Format.BINARY)
    reference = bytes(psycopg_own.dump_sequence((items,), (PyFormat.BINARY,))[0])
    assert _TextArrayDumper(list).dump(items) == reference
    assert _TextArrayDumper(tuple).dump(tuple(items)) == reference
