"""The real local runtime: Kafka broker, PostgreSQL server, Spark with the Kafka connector."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from psycopg import sql

from streamsift.errors import PortInUseError, ServiceUnreachableError
from streamsift.infra import KafkaBroker, down, status, up
from streamsift.store.connection import connect, jdbc_url
from tests.conftest import make_settings
from tests.integration.helpers import settings_env

pytestmark = pytest.mark.integration


def test_status_healthy(infra_settings):
    st = status(infra_settings)
    assert st["healthy"] is True
    assert st["kafka_bootstrap"] == f"127.0.0.1:{infra_settings.kafka.port}"
    assert st["postgres_url"].endswith(f":{infra_settings.postgres.port}/streamingdb")
    assert {"kafka", "postgres", "spark"} == set(st["services"])


def test_up_twice_is_a_noop(infra_settings):
    before = status(infra_settings)["services"]
    result = up(infra_settings)
    assert result["started"] == {"postgres": False, "kafka": False}
    after = status(infra_settings)["services"]
    assert before["kafka"]["pid"] == after["kafka"]["pid"]
    assert before["postgres"]["pid"] == after["postgres"]["pid"]


def test_topics_created(infra_settings):
    from streamsift.infra.kafka import admin_client

    topics = admin_client(infra_settings.kafka.bootstrap).list_topics(timeout=10).topics
    for name in infra_settings.kafka.topics:
        assert name in topics
        assert len(topics[name].partitions) == infra_settings.kafka.partitions


def test_cli_status_json(infra_settings):
    out = subprocess.run(
        [sys.executable, "-m", "streamsift.cli", "infra", "status", "--json"],
        capture_output=True,
        text=True,
        env=settings_env(infra_settings),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["healthy"] is True
    assert data["kafka_bootstrap"] == infra_settings.kafka.bootstrap
    assert all(svc["healthy"] for svc in data["services"].values())


def test_kafka_roundtrip_10000_messages(infra_settings, topic_name):
    broker = KafkaBroker(infra_settings.kafka, infra_settings.state.root)
    broker.ensure_topics([topic_name])
    n = 10_000
    producer = Producer(
        {"bootstrap.servers": infra_settings.kafka.bootstrap, "enable.idempotence": True, "linger.ms": 10}
    )
    delivered = []
    for i in range(n):
        producer.produce(
            topic_name,
            key=str(i),
            value=json.dumps({"i": i}).encode(),
            on_delivery=lambda err, msg: delivered.append(err is None),
        )
        producer.poll(0)
    assert producer.flush(30) == 0
    assert len(delivered) == n and all(delivered)

    consumer = Consumer(
        {
            "bootstrap.servers": infra_settings.kafka.bootstrap,
            "group.id": f"g-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic_name])
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while len(seen) < n and time.monotonic() < deadline:
        for msg in consumer.consume(num_messages=1000, timeout=1.0):
            assert msg.error() is None
            seen.add(json.loads(msg.value())["i"])
    consumer.close()
    assert seen == set(range(n))


def test_postgres_write_and_read(infra_settings):
    table = f"t_{uuid.uuid4().hex[:8]}"
    with connect(infra_settings.postgres) as conn:
        with conn.transaction():
            conn.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, body text)").format(sql.Identifier(table)))
            with conn.cursor().copy(sql.SQL("COPY {} (id, body) FROM STDIN").format(sql.Identifier(table))) as cp:
                for i in range(1000):
                    cp.write_row((i, f"row {i} ✓"))
        rows = conn.execute(sql.SQL("SELECT count(*), max(body) FROM {}").format(sql.Identifier(table))).fetchone()
    assert rows == (1000, "row 999 ✓")


def test_spark_streams_kafka_into_postgres(infra_settings, spark, topic_name):
    """A Structured Streaming query: the real Kafka topic → the real PostgreSQL table, via JDBC."""
    KafkaBroker(infra_settings.kafka, infra_settings.state.root).ensure_topics([topic_name])
    producer = Producer({"bootstrap.servers": infra_settings.kafka.bootstrap})
    for i in range(500):
        producer.produce(topic_name, key=str(i), value=json.dumps({"n": i}).encode())
    producer.flush(30)

    table = f"spark_{uuid.uuid4().hex[:8]}"
    pg = infra_settings.postgres
    from pyspark.sql import functions as F

    stream = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", infra_settings.kafka.bootstrap)
        .option("subscribe", topic_name)
        .option("startingOffsets", "earliest")
        .load()
        .select(
            F.get_json_object(F.col("value").cast("string"), "$.n").cast("int").alias("n"),
            "partition",
            "offset",
        )
    )

    def write(batch, _batch_id):
        (
            batch.write.format("jdbc")
            .option("url", jdbc_url(pg))
            .option("dbtable", table)
            .option("user", pg.user)
            .option("driver", "org.postgresql.Driver")
            .mode("append")
            .save()
        )

    query = (
        stream.writeStream.foreachBatch(write)
        .option("checkpointLocation", str(infra_settings.state.root / "checkpoints" / table))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination(180)
    assert query.exception() is None
    with connect(pg) as conn:
        count, total = conn.execute(sql.SQL("SELECT count(*), sum(n) FROM {}").format(sql.Identifier(table))).fetchone()
    assert count == 500 and total == sum(range(500))


def test_port_in_use_gives_a_clear_error(infra_settings, tmp_path):
    # The private PostgreSQL already holds this port: a second broker cannot have it.
    other = make_settings(tmp_path / "other", kafka={"port": infra_settings.postgres.port})
    with pytest.raises(PortInUseError, match=r"port \d+ on 127.0.0.1 is already in use.*kafka\.port"):
        KafkaBroker(other.kafka, other.state.root).start()


def test_down_with_nothing_running_is_a_noop(tmp_path):
    settings = make_settings(tmp_path / "empty")
    assert down(settings) == {"kafka": False, "postgres": False}
    assert down(settings) == {"kafka": False, "postgres": False}


def test_unreachable_external_postgres(tmp_path):
    from streamsift.infra.process import free_port

    settings = make_settings(tmp_path / "ext", postgres={"url": f"postgresql://me@127.0.0.1:{free_port()}/db"})
    with pytest.raises(ServiceUnreachableError, match="does not answer"):
        up(settings)
    assert status(settings)["services"]["postgres"]["healthy"] is False


def test_corrupted_kafka_state_is_reported(tmp_path):
    from streamsift.errors import StateError

    settings = make_settings(tmp_path / "corrupt")
    data = settings.state.root / "kafka" / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("garbage")
    with pytest.raises(StateError, match=r"corrupted.*--wipe"):
        KafkaBroker(settings.kafka, settings.state.root).start()
