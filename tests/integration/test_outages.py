"""Streams that ride out outages: PostgreSQL and the Kafka broker stopped mid-stream.

These tests stop and restart servers, so they run on a private infrastructure of
their own (other ports, another state folder), never the session's.
The ingest job runs as a user runs it: ``streamsift ingest`` in a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, TopicPartition

from streamsift.config import Settings
from streamsift.infra import KafkaBroker, PostgresServer
from streamsift.ingest.producer import produce
from streamsift.sources.synthetic import generate
from streamsift.store.tables import raw_table
from tests.conftest import running_infra
from tests.integration.helpers import settings_env
from tests.integration.test_ingest import _counts, _expected

pytestmark = pytest.mark.integration

RECORDS = 12_000
RATE = 400.0  # records/s: the stream lasts 30 s, so an outage lands in its middle


@pytest.fixture(scope="module")
def private_infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with running_infra(tmp_path_factory.mktemp("outage-state")) as settings:
        yield settings


class IngestProcess:
    """``streamsift ingest`` (continuous) in its own process group; its stderr is kept."""

    def __init__(self, settings: Settings, topic: str, version: int) -> None:
        env = settings_env(settings)
        env.update(
            {
                "STREAMSIFT_KAFKA__TOPIC_RAW": topic,
                "STREAMSIFT_DATASET__VERSION": str(version),
                "STREAMSIFT_INGEST__MAX_OFFSETS_PER_TRIGGER": "2000",
                "STREAMSIFT_INGEST__TRIGGER_INTERVAL": "1 second",
                "COLUMNS": "300",  # one log record per terminal line
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamsift.cli", "ingest"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def stop(self) -> tuple[int, str, str]:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            out, err = self.proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            out, err = self.proc.communicate()
        return self.proc.returncode, out, err


def _produce_in_background(settings: Settings, topic: str, items) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run() -> None:
        try:
            result["stats"] = produce(
                (i.record for i in items), settings.kafka, settings.producer, topic=topic, rate=RATE
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            result["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def _wait_for(settings: Settings, table: str, topic: str, want: tuple[int, int, int], ingest: IngestProcess) -> tuple:
    deadline = time.monotonic() + 300
    got: tuple = ()
    while time.monotonic() < deadline:
        try:
            got = _counts(settings, table, topic)
        except Exception:  # noqa: BLE001 - the table appears with the first batch; PG may be restarting
            got = ()
        if got == want:
            return got
        assert ingest.proc.poll() is None, f"ingest exited: {ingest.stop()[2][-3000:]}"
        time.sleep(1.0)
    return got


def _wait_rows(settings: Settings, table: str, topic: str, at_least: int) -> int:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            n = _counts(settings, table, topic)[0]
            if n >= at_least:
                return n
        except Exception:  # noqa: BLE001 - the table appears with the first batch
            pass
        time.sleep(0.5)
    raise AssertionError(f"fewer than {at_least} rows in {table} after 180 s")


def _messages_in_topic(settings: Settings, topic: str) -> int:
    c = Consumer({"bootstrap.servers": settings.kafka.bootstrap, "group.id": "count"})
    try:
        meta = c.list_topics(topic, timeout=10)
        total = 0
        for p in meta.topics[topic].partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += high - low
        return total
    finally:
        c.close()


def _terminal_is_clean(stderr: str) -> None:
    for noise in ("NativeCodeLoader", "Using incubator modules", "Traceback", "py4j", "at org.apache"):
        assert noise not in stderr, f"{noise!r} reached the terminal:\n{stderr[-3000:]}"


def test_postgres_stopped_20s_mid_ingest_is_ridden_out(private_infra, topic_name, table_version):
    s = private_infra
    KafkaBroker(s.kafka, s.state.root).ensure_topics([topic_name])
    items = list(generate(RECORDS, seed=91))
    valid, malformed, n_urls = _expected(items)
    table = raw_table(s.dataset.prefix, table_version)

    ingest = IngestProcess(s, topic_name, table_version)
    producer, produced = _produce_in_background(s, topic_name, items)
    pg = PostgresServer(s.postgres, s.state.root)
    try:
        rows_before = _wait_rows(s, table, topic_name, at_least=1000)
        assert pg.stop()
        t0 = time.monotonic()
        time.sleep(20)
        assert pg.start()
        outage_s = time.monotonic() - t0
        producer.join(120)
        assert "error" not in produced, produced.get("error")
        got = _wait_for(s, table, topic_name, (len(valid), malformed, n_urls), ingest)
        alive = ingest.proc.poll() is None
    finally:
        code, _out, err = ingest.stop()
    print(
        f"\npostgres outage: {RECORDS} sent, {rows_before} rows before the {outage_s:.1f} s outage, "
        f"{got[0] if got else '?'} stored (expected {len(valid)} distinct valid, {malformed} dead letters)"
    )
    assert alive, f"the ingest query died during the outage:\n{err[-3000:]}"
    assert got == (len(valid), malformed, n_urls)
    assert "retry 1 in" in err and "to postgresql://" in err  # one line per retry, on the driver's terminal
    _terminal_is_clean(err)
    assert code == 0, err[-3000:]


def test_broker_stopped_15s_mid_produce_every_record_lands_once(private_infra, topic_name, table_version):
    s = private_infra
    broker = KafkaBroker(s.kafka, s.state.root)
    broker.ensure_topics([topic_name])
    items = list(generate(RECORDS, seed=92))
    valid, malformed, n_urls = _expected(items)
    table = raw_table(s.dataset.prefix, table_version)

    ingest = IngestProcess(s, topic_name, table_version)
    producer, produced = _produce_in_background(s, topic_name, items)
    try:
        rows_before = _wait_rows(s, table, topic_name, at_least=1000)
        assert broker.stop()
        t0 = time.monotonic()
        time.sleep(15)
        assert broker.start()
        outage_s = time.monotonic() - t0
        producer.join(300)
        assert not producer.is_alive() and "error" not in produced, produced.get("error")
        got = _wait_for(s, table, topic_name, (len(valid), malformed, n_urls), ingest)
        alive = ingest.proc.poll() is None
    finally:
        code, _out, err = ingest.stop()
    in_topic = _messages_in_topic(s, topic_name)
    print(
        f"\nbroker outage: {RECORDS} sent, {produced['stats'].delivered} delivered, {in_topic} in the topic, "
        f"{rows_before} rows before the {outage_s:.1f} s outage, {got[0] if got else '?'} stored"
    )
    assert produced["stats"].delivered == RECORDS
    assert in_topic == RECORDS  # idempotent producer: no record written twice by its retries
    assert alive, f"the ingest query died during the broker outage:\n{err[-3000:]}"
    assert got == (len(valid), malformed, n_urls)
    _terminal_is_clean(err)
    assert code == 0, err[-3000:]


def test_worker_rides_out_postgres_stopped_20s(private_infra, live_models, topic_name, tmp_path_factory):
    """Live classification keeps every record through a database outage (the retrying live sink)."""
    from collections import Counter

    from streamsift.live.worker import run_worker
    from streamsift.records import MalformedRecord, parse_payload
    from tests.integration.helpers import register_copy
    from tests.integration.live_support import ai_rows, predictions_for, reference_p_ai

    s0, v1, _v2 = live_models
    models_dir = tmp_path_factory.mktemp("outage-models")
    s = private_infra.model_copy(update={"model": s0.model.model_copy(update={"models_dir": models_dir})})
    version = register_copy(s, v1.path, models_dir)
    s = s.model_copy(
        update={"classify": s.classify.model_copy(update={"group_id": f"g-{topic_name}", "batch_size": 300})}
    )
    KafkaBroker(s.kafka, s.state.root).ensure_topics([topic_name])
    items = list(generate(RECORDS, seed=92))
    records, texts = Counter(), {}
    for it in items:
        try:
            t, _ = parse_payload(it.record.payload)
        except MalformedRecord:
            continue
        records[t.tweet_id] += 1
        texts[t.tweet_id] = t.text
    stop = threading.Event()
    result: dict = {}
    worker = threading.Thread(target=lambda: result.setdefault("stats", run_worker(s, stop=stop, topic=topic_name)))
    producer, produced = _produce_in_background(s, topic_name, items)
    worker.start()
    pg = PostgresServer(s.postgres, s.state.root)
    try:
        deadline = time.monotonic() + 120
        while sum(predictions_for(s, set(records)).values()) < 1000:
            assert time.monotonic() < deadline and worker.is_alive()
            time.sleep(0.5)
        assert pg.stop()
        time.sleep(20)
        assert pg.start()
        producer.join(120)
        assert "error" not in produced, produced.get("error")
        deadline = time.monotonic() + 180
        while sum(predictions_for(s, set(records)).values()) < sum(records.values()):
            assert time.monotonic() < deadline and worker.is_alive(), "the worker did not catch up"
            time.sleep(1)
    finally:
        pg.start()
        stop.set()
        worker.join(60)
    assert predictions_for(s, set(records)) == records
    ids = list(texts)
    p_ai = reference_p_ai(s, version, [texts[i] for i in ids])
    assert set(ai_rows(s, set(ids))) == {i for i, p in zip(ids, p_ai, strict=True) if p >= 0.5}
