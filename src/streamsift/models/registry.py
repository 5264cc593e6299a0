"""The model registry: ``<models_dir>/<name>/<version>/`` on disk and ``model_registry`` in PostgreSQL.

Stages: ``candidate`` (new), ``production`` (one per name), ``archived``. Promotion is one
transaction (old production → archived, new → production, a row in ``model_stage_events``)
followed by a ``models.events`` Kafka message carrying name, version, path and metrics, so
running consumers can swap models without a restart. Rollback re-promotes the version that
was in production before the current one.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from streamsift.config import Settings
from streamsift.errors import StreamsiftError
from streamsift.store.connection import connect

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS model_registry (
    name text NOT NULL, version integer NOT NULL, stage text NOT NULL DEFAULT 'candidate'
        CHECK (stage IN ('candidate', 'production', 'archived')),
    path text NOT NULL, metrics jsonb NOT NULL, fingerprint jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), promoted_at timestamptz,
    PRIMARY KEY (name, version));
CREATE UNIQUE INDEX IF NOT EXISTS model_registry_one_production ON model_registry (name) WHERE stage = 'production';
CREATE TABLE IF NOT EXISTS model_stage_events (
    id bigserial PRIMARY KEY, name text NOT NULL, version integer NOT NULL, from_stage text, to_stage text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
"""


class RegistryError(StreamsiftError):
    """A registry operation is not possible (unknown version, nothing to roll back to, ...)."""


def models_root(settings: Settings) -> Path:
    return (settings.model.models_dir.expanduser() / settings.model.name).resolve()


def ensure_schema(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('streamsift.registry'))")
        for stmt in _SCHEMA.split(";"):
            if stmt.strip():
                conn.execute(stmt)


def staging_dir(settings: Settings) -> Path:
    """A fresh folder inside the model store where training writes a version's files before
    :func:`register` renames it into place (same file system, so the rename is atomic)."""
    root = models_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=root))


@dataclass
class Registered:
    """Where :func:`register` put a new version."""

    version: int
    path: str


def register(settings: Settings, staged: Path, *, metrics: dict[str, Any], fingerprint: dict[str, Any]) -> Registered:
    """Store a version whose files training wrote into ``staged``: rename it to ``<root>/<version>``
    and record it as a ``candidate``, atomically (a failed insert moves nothing)."""
    staged = Path(staged)
    if not (staged / "model.onnx").is_file():
        raise RegistryError(f"{staged} has no model.onnx: not a model folder")
    root = models_root(settings)
    with connect(settings.postgres) as conn:
        ensure_schema(conn)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('streamsift.registry.version'))")
            db_max = conn.execute(
                "SELECT coalesce(max(version), 0) FROM model_registry WHERE name = %s", (settings.model.name,)
            ).fetchone()[0]
            dir_max = max((int(p.name) for p in root.iterdir() if p.name.isdigit()), default=0)
            version = max(db_max, dir_max) + 1
            final = root / str(version)
            conn.execute(
                "INSERT INTO model_registry (name, version, stage, path, metrics, fingerprint) "
                "VALUES (%s, %s, 'candidate', %s, %s, %s)",
                (settings.model.name, version, str(final), Jsonb(_summary(metrics)), Jsonb(fingerprint)),
            )
            conn.execute(
                "INSERT INTO model_stage_events (name, version, from_stage, to_stage)"
                " VALUES (%s, %s, NULL, 'candidate')",
                (settings.model.name, version),
            )
            staged.rename(final)  # last: if it fails, the transaction rolls back too
    log.info("registered %s version %d at %s", settings.model.name, version, final)
    return Registered(version, str(final))


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers kept in the registry table (the full report stays in metrics.json)."""
    test = metrics.get("test", {})

    def pick(key: str) -> dict[str, Any]:
        r = test.get(key, {})
        return {
            "accuracy": r.get("accuracy"),
            "macro_f1": r.get("macro", {}).get("f1"),
            "weighted_f1": r.get("weighted", {}).get("f1"),
            "roc_auc": r.get("roc_auc"),
            "binary_f1": r.get("binary", {}).get("f1"),
        }

    return {
        "test_labels": test.get("labels"),
        "neural": pick("neural"),
        "baseline_tfidf_logreg": pick("baseline_tfidf_logreg"),
        "weak_labels": pick("weak_labels"),
    }


def list_models(settings: Settings) -> list[dict[str, Any]]:
    with connect(settings.postgres, row_factory=dict_row) as conn:
        ensure_schema(conn)
        return conn.execute(
            "SELECT name, version, stage, path, metrics, created_at, promoted_at FROM model_registry "
            "WHERE name = %s ORDER BY version",
            (settings.model.name,),
        ).fetchall()


def get_model(settings: Settings, version: int | None = None) -> dict[str, Any]:
    """A version's registry row; ``None`` = the production version."""
    with connect(settings.postgres, row_factory=dict_row) as conn:
        ensure_schema(conn)
        if version is None:
            row = conn.execute(
                "SELECT * FROM model_registry WHERE name = %s AND stage = 'production'", (settings.model.name,)
            ).fetchone()
            if row is None:
                raise RegistryError(
                    f"no production version of {settings.model.name}",
                    hint="promote one with `streamsift models promote V` (see `streamsift models list`)",
                )
        else:
            row = conn.execute(
                "SELECT * FROM model_registry WHERE name = %s AND version = %s", (settings.model.name, version)
            ).fetchone()
            if row is None:
                raise RegistryError(f"{settings.model.name} has no version {version}")
    return row


def promote(settings: Settings, version: int) -> dict[str, Any]:
    """Make ``version`` the production model and announce it on ``models.events``."""
    name = settings.model.name
    with connect(settings.postgres, row_factory=dict_row) as conn:
        ensure_schema(conn)
        with conn.transaction():
            row = conn.execute(
                "SELECT * FROM model_registry WHERE name = %s AND version = %s FOR UPDATE", (name, version)
            ).fetchone()
            if row is None:
                raise RegistryError(f"{name} has no version {version}")
            if not Path(row["path"], "model.onnx").exists():
                raise RegistryError(f"{row['path']}/model.onnx is missing: the model folder was moved or deleted")
            current = conn.execute(
                "SELECT version FROM model_registry WHERE name = %s AND stage = 'production' FOR UPDATE", (name,)
            ).fetchone()
            if current and current["version"] != version:
                conn.execute(
                    "UPDATE model_registry SET stage = 'archived' WHERE name = %s AND version = %s",
                    (name, current["version"]),
                )
                conn.execute(
                    "INSERT INTO model_stage_events (name, version, from_stage, to_stage) "
                    "VALUES (%s, %s, 'production', 'archived')",
                    (name, current["version"]),
                )
            conn.execute(
                "UPDATE model_registry SET stage = 'production', promoted_at = now() WHERE name = %s AND version = %s",
                (name, version),
            )
            conn.execute(
                "INSERT INTO model_stage_events (name, version, from_stage, to_stage)"
                " VALUES (%s, %s, %s, 'production')",
                (name, version, row["stage"]),
            )
    event = {
        "event": "model_promoted",
        "name": name,
        "version": version,
        "path": row["path"],
        "metrics": row["metrics"],
        "previous_version": current["version"] if current else None,
    }
    _publish(settings, event)
    return event


def rollback(settings: Settings) -> dict[str, Any]:
    """Re-promote the version that was in production before the current one."""
    name = settings.model.name
    with connect(settings.postgres, row_factory=dict_row) as conn:
        ensure_schema(conn)
        current = conn.execute(
            "SELECT version FROM model_registry WHERE name = %s AND stage = 'production'", (name,)
        ).fetchone()
        if current is None:
            raise RegistryError(f"{name} has no production version to roll back from")
        previous = conn.execute(
            "SELECT version FROM model_stage_events WHERE name = %s AND to_stage = 'production' AND version <> %s "
            "ORDER BY id DESC LIMIT 1",
            (name, current["version"]),
        ).fetchone()
    if previous is None:
        raise RegistryError(
            f"{name} version {current['version']} is the first production version: nothing to roll back to"
        )
    return promote(settings, previous["version"])


def _publish(settings: Settings, event: dict[str, Any]) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": settings.kafka.bootstrap, "enable.idempotence": True, "log_level": 3})
    errors: list[str] = []
    p.produce(
        settings.kafka.topic_model_events,
        key=event["name"].encode(),
        value=json.dumps(event, default=str).encode(),
        on_delivery=lambda err, _m: errors.append(str(err)) if err else None,
    )
    left = p.flush(15)
    if left or errors:
        raise RegistryError(
            f"version {event['version']} is in production, but the {settings.kafka.topic_model_events} event was "
            f"not delivered ({errors or 'timed out'})",
            hint="run `streamsift infra up`, then promote the same version again to re-send it",
        )
    log.info("published %s version %d on %s", event["name"], event["version"], settings.kafka.topic_model_events)
