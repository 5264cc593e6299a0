"""Session fixtures: real Kafka, PostgreSQL and Spark, started once and always stopped.

Each test run gets its own state folder and free ports, so it never touches a
user's `streamsift infra up` servers. Isolation inside the run comes from
factories: fresh topic names and table versions per test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from streamsift.config import Settings, load_settings
from streamsift.infra.process import free_port

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def make_settings(state_dir: Path, **overrides) -> Settings:
    kafka_port, controller_port, pg_port = free_port(), free_port(), free_port()
    base = {
        "state": {"dir": str(state_dir)},
        "kafka": {"port": kafka_port, "controller_port": controller_port, "partitions": 3},
        "postgres": {"port": pg_port},
        "spark": {"master": "local[2]", "driver_memory": "1g", "shuffle_partitions": 2},
    }
    for k, v in overrides.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    return load_settings(Path(os.devnull), **base)


@contextmanager
def running_infra(state_dir: Path) -> Iterator[Settings]:
    """Kafka + PostgreSQL on free ports with their own state folder, stopped and wiped afterwards."""
    from streamsift.infra import down, up

    settings = make_settings(state_dir)
    try:
        up(settings)
        yield settings
    finally:
        down(settings, wipe=True)


@pytest.fixture(scope="session")
def infra_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a private, running infrastructure (Kafka + PostgreSQL)."""
    with running_infra(tmp_path_factory.mktemp("state")) as settings:
        yield settings


@pytest.fixture(scope="session")
def spark(infra_settings: Settings):
    """One Spark session for the run (starting one costs ~6 s)."""
    from streamsift.infra.spark import get_spark

    session = get_spark(infra_settings, app_name="streamsift-tests")
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture
def topic_name() -> str:
    return f"test.{uuid.uuid4().hex[:10]}"


@pytest.fixture
def table_version() -> int:
    """A fresh dataset version per test, so tables never collide."""
    return int(uuid.uuid4().int % 1_000_000_000) + 1000


@pytest.fixture(scope="session")
def live_models(infra_settings, tmp_path_factory):
    """A model with two trained versions for the live-classification tests (v1 production, v2 candidate)."""
    from tests.integration.helpers import train_two_versions

    return train_two_versions(infra_settings, tmp_path_factory.mktemp("live-models"), prefix="live", seed=81)
