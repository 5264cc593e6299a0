"""Helpers shared by the integration tests."""

from __future__ import annotations

from streamsift.config import Settings
from streamsift.ingest.sink import KafkaMessage, RawTweetSink
from streamsift.sources.synthetic import generate
from streamsift.store.connection import connect, connect_kwargs
from streamsift.store.schema import ensure_ingest_schema
from streamsift.store.tables import raw_table


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment that makes the CLI (a subprocess) use exactly these settings (no user file)."""
    from streamsift.config import child_env

    return child_env(settings)


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


def train_two_versions(infra_settings, models_dir, *, prefix: str, seed: int):
    """A fresh model name with two trained versions (v1 promoted to production, v2 a candidate)."""
    import uuid

    from streamsift.dataset.prepare import prepare_dataset
    from streamsift.labeling.pipeline import run_labeling
    from streamsift.models.registry import promote
    from streamsift.models.train import train

    s = with_version(infra_settings, 600_000 + uuid.uuid4().int % 300_000)
    fill_raw(s, 2500, seed=seed)
    prepare_dataset(s)
    run_labeling(s)
    model = s.model.model_copy(
        update={"name": f"{prefix}-{uuid.uuid4().hex[:8]}", "models_dir": models_dir, "epochs": 3}
    )
    s = s.model_copy(update={"model": model})
    v1 = train(s)
    v2 = train(s.model_copy(update={"model": s.model.model_copy(update={"seed": 7, "dim": 16})}))
    promote(s, v1.version)
    return s, v1, v2


def synthetic_payloads(n: int, seed: int):
    """``n`` synthetic stream items (valid tweets and the generator's malformed records)."""
    return list(generate(n, seed=seed))


def register_copy(settings, model_path, models_dir) -> int:
    """Register a copy of a trained model folder in ``settings``' registry and promote it; returns its version."""
    import shutil

    from streamsift.models.registry import promote, register, staging_dir

    s = settings.model_copy(update={"model": settings.model.model_copy(update={"models_dir": models_dir})})
    staged = staging_dir(s)
    shutil.copytree(model_path, staged, dirs_exist_ok=True)
    reg = register(s, staged, metrics={}, fingerprint={"copied_from": str(model_path)})
    promote(s, reg.version)
    return reg.version
