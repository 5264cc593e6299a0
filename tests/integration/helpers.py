"""Helpers shared by the integration tests."""

from __future__ import annotations

import os

from streamsift.config import Settings
from streamsift.ingest.sink import KafkaMessage, RawTweetSink
from streamsift.sources.synthetic import generate
from streamsift.store.connection import connect, connect_kwargs
from streamsift.store.schema import ensure_ingest_schema
from streamsift.store.tables import raw_table


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment that makes the CLI (a subprocess) use the same settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSIFT_")}
    env.update(
        {
            "STREAMSIFT_CONFIG": os.devnull,
            "STREAMSIFT_STATE__DIR": str(settings.state.dir),
            "STREAMSIFT_KAFKA__PORT": str(settings.kafka.port),
            "STREAMSIFT_KAFKA__CONTROLLER_PORT": str(settings.kafka.controller_port),
            "STREAMSIFT_POSTGRES__PORT": str(settings.postgres.port),
            "STREAMSIFT_SPARK__MASTER": settings.spark.master,
            "STREAMSIFT_SPARK__DRIVER_MEMORY": settings.spark.driver_memory,
            "STREAMSIFT_SPARK__SHUFFLE_PARTITIONS": str(settings.spark.shuffle_partitions),
        }
    )
    return env


def with_version(settings, version: int, **dataset):
    ds = settings.dataset.model_copy(
        update={"version": version, "test_size": 60, "dev_size": 50, "snorkel_train_size": 400, **dataset}
    )
    return settings.model_copy(update={"dataset": ds})


def fill_raw(settings, n: int, seed: int) -> dict[int, str]:
    """Write ``n`` synthetic records into the raw table through the ingest sink; returns id → topic."""
    table = raw_table(settings.dataset.prefix, settings.dataset.version)
    items = list(generate(n, seed=seed))
    with connect(settings.postgres) as conn:
        ensure_ingest_schema(conn, table)
        RawTweetSink(connect_kwargs(settings.postgres), table).write(
            [KafkaMessage(i.record.payload, "t", 0, k) for k, i in enumerate(items)], conn
        )
    return {i.tweet_id: i.topic for i in items if i.kind != "malformed"}
