"""``infra up | down | status``: all local servers together, idempotent."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from streamsift.config import Settings
from streamsift.infra.kafka import KafkaBroker
from streamsift.infra.postgres import PostgresServer
from streamsift.infra.process import ensure_dir
from streamsift.infra.spark import spark_status
from streamsift.store.connection import public_url

log = logging.getLogger(__name__)


@dataclass
class Infra:
    """The runtime of one settings tree: Kafka, PostgreSQL and the Spark factory."""

    settings: Settings

    @property
    def kafka(self) -> KafkaBroker:
        return KafkaBroker(self.settings.kafka, self.settings.state.root, self.settings.jars_dir)

    @property
    def postgres(self) -> PostgresServer:
        return PostgresServer(self.settings.postgres, self.settings.state.root)


def up(settings: Settings) -> dict[str, Any]:
    """Start whatever is not running, wait until healthy, create topics and database.

    Returns what was done and how long it took; a second call is a no-op.
    """
    t0 = time.perf_counter()
    ensure_dir(settings.state.root / "logs")
    infra = Infra(settings)
    started = {}
    # PostgreSQL first: it is fast, and the broker's JVM then has the CPU.
    started["postgres"] = infra.postgres.start()
    started["kafka"] = infra.kafka.start()
    return {"started": started, "seconds": round(time.perf_counter() - t0, 2)}


def down(settings: Settings, *, wipe: bool = False) -> dict[str, bool]:
    """Stop the servers streamsift started (a no-op if none run); ``wipe`` deletes their data.

    streamsift's own background services (model server, worker, web app, act loop) stop first.
    """
    from streamsift.infra.services import stop_services

    infra = Infra(settings)
    stopped = {name: True for name in stop_services(settings)}
    stopped |= {"kafka": infra.kafka.stop(), "postgres": infra.postgres.stop()}
    if wipe:
        infra.kafka.wipe()
        infra.postgres.wipe()
        log.info("wiped Kafka and PostgreSQL data under %s", settings.state.root)
    return stopped


def status(settings: Settings) -> dict[str, Any]:
    """Health of every service, plus the addresses a user needs."""
    infra = Infra(settings)
    from streamsift.infra.services import services_status

    services = [infra.kafka.status(), infra.postgres.status(), spark_status(settings), *services_status(settings)]
    return {
        "kafka_bootstrap": settings.kafka.bootstrap,
        "postgres_url": public_url(settings.postgres),
        "state_dir": str(settings.state.root),
        "healthy": all(s.healthy for s in services),
        "services": {s.name: s.to_dict() for s in services},
    }
