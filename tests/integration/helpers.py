"""Helpers shared by the integration tests."""

from __future__ import annotations

import os

from streamsift.config import Settings


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
