"""Ingestion end to end through the real broker, Spark and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest
from psycopg import sql

from streamsift.infra import KafkaBroker
from streamsift.ingest.kafka_job import run_ingest_kafka
from streamsift.ingest.producer import produce
from streamsift.ingest.sink import KafkaMessage, RawTweetSink, rows_from_messages
from streamsift.ingest.spark_job import run_ingest
from streamsift.records import parse_payload
from streamsift.sources.synthetic import generate
from streamsift.store.connection import connect, connect_kwargs
from streamsift.store.schema import ensure_ingest_schema
from streamsift.store.tables import raw_table
from streamsift.web.dashboard import kafka_lag
from tests.conftest import FIXTURES
from tests.integration.helpers import settings_env

pytestmark = pytest.mark.integration


def _counts(settings, table: str, topic: str) -> tuple[int, int, int]:
    with connect(settings.postgres) as conn:
        raw = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
        dead = conn.execute(
            "SELECT count(*) FROM dead_letters WHERE stage = 'ingest' AND topic = %s", (topic,)
        ).fetchone()[0]
        urls = conn.execute(
            sql.SQL("SELECT count(*) FROM tweet_urls u JOIN {} r USING (tweet_id)").format(sql.Identifier(table))
        ).fetchone()[0]
    return raw, dead, urls


def _expected(items) -> tuple[set[int], int, int]:
    valid = {i.tweet_id for i in items if i.kind != "malformed"}
    malformed = sum(i.kind == "malformed" for i in items)
    urls: dict[int, set[str]] = {}
    for i in items:
        if i.kind != "malformed":
            urls[i.tweet_id] = {u.expanded_url for u in parse_payload(i.record.payload)[0].urls}
    return valid, malformed, sum(len(v) for v in urls.values())


def test_synthetic_stream_lands_exactly_once(infra_settings, spark, topic_name, table_version):
    KafkaBroker(infra_settings.kafka, infra_settings.state.root).ensure_topics([topic_name])
    items = list(generate(3000, seed=11, malformed_share=0.03, duplicate_share=0.05))
    valid, malformed, n_urls = _expected(items)
    assert malformed > 0 and len(valid) < 3000 - malformed  # the stream really has both
    produce((i.record for i in items), infra_settings.kafka, infra_settings.producer, topic=topic_name)

    table = raw_table("raw_tweet_dataset", table_version)
    stats = run_ingest(infra_settings, until_idle=True, spark=spark, topic=topic_name, table=table)
    assert stats.totals.messages == 3000
    assert _counts(infra_settings, table, topic_name) == (len(valid), malformed, n_urls)

    with connect(infra_settings.postgres) as conn:
        ids = {r[0] for r in conn.execute(sql.SQL("SELECT tweet_id FROM {}").format(sql.Identifier(table)))}
        reasons = [r[0] for r in conn.execute("SELECT reason FROM dead_letters WHERE topic = %s", (topic_name,))]
        offsets = conn.execute(
            "SELECT count(DISTINCT (kafka_partition, kafka_offset)) FROM dead_letters WHERE topic = %s",
            (topic_name,),
        ).fetchone()[0]
        raw_ok = conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE raw::jsonb ? 'id_str' OR raw::jsonb ? 'data'").format(
                sql.Identifier(table)
            )
        ).fetchone()[0]
    assert ids == valid
    assert all(reasons) and offsets == malformed
    assert raw_ok == len(valid)  # the raw JSON is kept (as json: every row casts to jsonb)

    # A second run over the same topic with a fresh checkpoint replays everything: nothing doubles.
    import shutil

    shutil.rmtree(infra_settings.state.root / "checkpoints" / "ingest" / table)
    run_ingest(infra_settings, until_idle=True, spark=spark, topic=topic_name, table=table)
    assert _counts(infra_settings, table, topic_name) == (len(valid), malformed, n_urls)


def test_kafka_engine_lands_exactly_once_and_a_replay_doubles_nothing(infra_settings, topic_name, table_version):
    KafkaBroker(infra_settings.kafka, infra_settings.state.root).ensure_topics([topic_name])
    items = list(generate(3000, seed=12, malformed_share=0.03, duplicate_share=0.05))
    valid, malformed, n_urls = _expected(items)
    produce((i.record for i in items), infra_settings.kafka, infra_settings.producer, topic=topic_name)
    table = raw_table("raw_tweet_dataset", table_version)

    stats = run_ingest_kafka(infra_settings, until_idle=True, topic=topic_name, table=table, workers=2)
    assert stats.totals.messages == 3000 and stats.totals.inserted == len(valid)
    assert _counts(infra_settings, table, topic_name) == (len(valid), malformed, n_urls)
    # the dashboard's health panel shows the engine's consumer group, caught up
    lag = {c["consumer"]: c for c in kafka_lag(infra_settings)}
    assert lag[f"ingest {table}"]["lag"] == 0 and lag[f"ingest {table}"]["topics"] == [topic_name]

    # The group's offsets are the progress: a second run has nothing to read...
    again = run_ingest_kafka(infra_settings, until_idle=True, topic=topic_name, table=table, workers=1)
    assert again.totals.messages == 0
    # ...and a new group (offsets lost) replays all 3,000 records: nothing doubles.
    ingest = infra_settings.ingest.model_copy(update={"group_prefix": "replayed"})
    replay = run_ingest_kafka(
        infra_settings.model_copy(update={"ingest": ingest}), until_idle=True, topic=topic_name, table=table, workers=1
    )
    assert replay.totals.messages == 3000 and replay.totals.inserted == 0
    assert _counts(infra_settings, table, topic_name) == (len(valid), malformed, n_urls)


def test_a_raw_table_made_before_keeps_its_jsonb_column(infra_settings, table_version):
    """Raw tables made by earlier versions hold ``raw`` as jsonb: the sink sends that type, not json."""
    table = raw_table("raw_tweet_dataset", table_version)
    items = list(generate(300, seed=5, malformed_share=0.05))
    valid, malformed, _ = _expected(items)
    with connect(infra_settings.postgres) as conn:
        ensure_ingest_schema(conn, table)
        conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN raw TYPE jsonb").format(sql.Identifier(table)))
        conn.commit()
    sink = RawTweetSink(connect_kwargs(infra_settings.postgres), table)
    try:
        result = sink.write([KafkaMessage(i.record.payload, f"legacy.{table}", 0, k) for k, i in enumerate(items)])
    finally:
        sink.close()
    assert (result.inserted, result.dead_letters) == (len(valid), malformed)
    with connect(infra_settings.postgres) as conn:
        kinds = conn.execute(
            sql.SQL(
                "SELECT pg_typeof(raw)::text, count(*) FROM {} WHERE raw ? 'id_str' OR raw ? 'data' GROUP BY 1"
            ).format(sql.Identifier(table))
        ).fetchall()
    assert kinds == [("jsonb", len(valid))]


def test_batches_prepared_ahead_land_as_batches_written_at_once(infra_settings, table_version):
    """The Kafka engine's path: :meth:`RawTweetSink.prepare` in the reading thread, ``write_rows`` in
    the writer. Whether a batch's COPY streams were made ahead (none of its tweets stored yet) or not
    (some were: a repeat from an earlier batch, a replay), the same tweets, links and dead letters land."""
    items = list(generate(2400, seed=21, malformed_share=0.03, duplicate_share=0.05))
    valid, malformed, n_urls = _expected(items)
    table = raw_table("raw_tweet_dataset", table_version)
    topic = f"prepared.{table}"
    msgs = [KafkaMessage(i.record.payload, topic, 0, k) for k, i in enumerate(items)]
    with connect(infra_settings.postgres) as conn:
        ensure_ingest_schema(conn, table)
        conn.commit()
    sink = RawTweetSink(connect_kwargs(infra_settings.postgres), table)
    ahead = []
    try:
        # four batches of 600, then 1,200–1,800 and 1,500–2,100 again (a replay: stored already)
        for lo in (0, 600, 1200, 1800, 1200, 1500):
            batch = msgs[lo : lo + 600]
            rows = sink.prepare(rows_from_messages(batch))
            ahead.append(rows.copy is not None)
            sink.write_rows(rows, len(batch))
    finally:
        sink.close()
    # the first batch learns the raw column's type; every later one has its streams made ahead
    assert ahead == [False] + [True] * 5
    assert _counts(infra_settings, table, topic) == (len(valid), malformed, n_urls)
    with connect(infra_settings.postgres) as conn:
        texts = dict(conn.execute(sql.SQL("SELECT tweet_id, text FROM {}").format(sql.Identifier(table))).fetchall())
    first = {}
    for m in msgs:
        try:
            t = parse_payload(m.value)[0]
        except Exception:  # noqa: BLE001 - the malformed ones, counted above
            continue
        first.setdefault(t.tweet_id, t.text)
    assert texts == first


def _raw_storage_of(conn, table: str) -> tuple[str, str, list[str] | None]:
    """(attstorage, attcompression, reloptions) of ``raw``: 'e' external, 'x' extended; 'l', 'p', ''."""
    return conn.execute(
        "SELECT a.attstorage::text, a.attcompression::text, c.reloptions FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid WHERE a.attrelid = to_regclass(%s) AND a.attname = 'raw'",
        (table,),
    ).fetchone()


def _server_has_lz4(conn) -> bool:
    try:
        with conn.transaction():
            conn.execute("CREATE TEMP TABLE _lz4_probe (t text COMPRESSION lz4)")
            conn.execute("DROP TABLE _lz4_probe")
        return True
    except psycopg.errors.FeatureNotSupported:
        return False


@pytest.mark.parametrize("setting", ["auto", "lz4", "pglz", "none"])
def test_raw_compression_applies_to_new_tables_only(infra_settings, table_version, setting):
    table = raw_table("raw_tweet_dataset", table_version)
    with connect(infra_settings.postgres) as conn:
        lz4 = _server_has_lz4(conn)
        if setting == "lz4" and not lz4:
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                ensure_ingest_schema(conn, table, setting)
            return
        ensure_ingest_schema(conn, table, setting)
        applied = "lz4" if setting == "auto" and lz4 else "none" if setting == "auto" else setting
        expected = {
            "lz4": ("x", "l", None),
            "pglz": ("x", "p", None),
            "none": ("e", "", ["toast_tuple_target=8160"]),
        }[applied]
        assert _raw_storage_of(conn, table) == expected
        ensure_ingest_schema(conn, table, "pglz" if applied != "pglz" else "none")  # made before: kept
        assert _raw_storage_of(conn, table) == expected
    sink = RawTweetSink(connect_kwargs(infra_settings.postgres), table)
    items = list(generate(200, seed=9))
    try:
        sink.write([KafkaMessage(i.record.payload, f"storage.{table}", 0, k) for k, i in enumerate(items)])
    finally:
        sink.close()
    with connect(infra_settings.postgres) as conn:  # the JSON reads back whole, however stored
        n, ok = conn.execute(
            sql.SQL(
                "SELECT count(*), count(*) FILTER (WHERE raw::jsonb ? 'id_str' OR raw::jsonb ? 'data') FROM {}"
            ).format(sql.Identifier(table))
        ).fetchone()
    assert n > 150 and ok == n


def test_cli_replay_then_ingest(infra_settings, tmp_path):
    """The interface a user types: produce --source replay, ingest --until-idle, SQL on the tables."""
    env = settings_env(infra_settings)
    fixture = FIXTURES / "replay_small.jsonl"
    run = [sys.executable, "-m", "streamsift.cli"]
    p = subprocess.run(
        [*run, "produce", "--source", "replay", "--path", str(fixture)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    i = subprocess.run([*run, "ingest", "--until-idle"], env=env, capture_output=True, text=True, timeout=300)
    assert i.returncode == 0, i.stderr
    lines = [ln for ln in fixture.read_bytes().splitlines() if ln.strip()]
    with connect(infra_settings.postgres) as conn:
        texts = dict(conn.execute("SELECT tweet_id, text FROM raw_tweet_dataset_0").fetchall())
        urls = {r[0] for r in conn.execute("SELECT expanded_url FROM tweet_urls")}
        dead = conn.execute("SELECT count(*) FROM dead_letters WHERE topic = 'tweets.raw'").fetchone()[0]
    good = []
    for ln in lines:
        try:
            good.append(parse_payload(ln)[0])
        except Exception:  # noqa: BLE001 - counted as dead letters below
            continue
    assert {t.tweet_id: t.text for t in good} == texts
    assert {u.expanded_url for t in good for u in t.urls} <= urls
    assert dead == len(lines) - len(good) > 0


@pytest.mark.parametrize("engine", ["spark", "kafka"])
def test_sigkill_mid_stream_loses_nothing_and_doubles_nothing(infra_settings, topic_name, table_version, engine):
    KafkaBroker(infra_settings.kafka, infra_settings.state.root).ensure_topics([topic_name])
    items = list(generate(30_000, seed=23))
    valid, malformed, n_urls = _expected(items)
    produce((i.record for i in items), infra_settings.kafka, infra_settings.producer, topic=topic_name)
    table = raw_table("raw_tweet_dataset", table_version)

    env = settings_env(infra_settings)
    env.update(
        {
            "STREAMSIFT_KAFKA__TOPIC_RAW": topic_name,
            "STREAMSIFT_DATASET__VERSION": str(table_version),
            "STREAMSIFT_INGEST__MAX_OFFSETS_PER_TRIGGER": "1500",
            "STREAMSIFT_INGEST__TRIGGER_INTERVAL": "0 seconds",
            "STREAMSIFT_INGEST__ENGINE": engine,
            "STREAMSIFT_INGEST__BATCH_SIZE": "1500",
        }
    )
    cmd = [sys.executable, "-m", "streamsift.cli", "ingest"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # Wait until some batches are in, then kill the driver and its JVM (or the Kafka engine's
        # worker processes) without warning.
        deadline = time.monotonic() + 240
        raw = 0
        while time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                raw = _counts(infra_settings, table, topic_name)[0]
            except Exception:  # noqa: BLE001 - the table appears with the first batch
                continue
            if raw > 3000:
                break
        assert 3000 < raw < len(valid), f"the kill must land mid-stream (raw={raw})"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    killed_at = _counts(infra_settings, table, topic_name)
    assert killed_at[0] < len(valid)

    again = subprocess.run([*cmd, "--until-idle"], env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert _counts(infra_settings, table, topic_name) == (len(valid), malformed, n_urls)
