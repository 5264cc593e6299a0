"""The Spark session factory: every Spark job gets its session here.

The Kafka connector and the PostgreSQL JDBC driver come from the jars that
``make setup`` resolved with Maven (``spark.jars``, absolute paths); nothing is
fetched through Ivy at run time. Driver sockets bind to 127.0.0.1.
pyspark is imported lazily so the rest of streamsift works without starting a JVM.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from streamsift.config import Settings
from streamsift.infra.jars import jar_files
from streamsift.infra.kafka import find_java
from streamsift.infra.status import ServiceStatus

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def spark_conf(settings: Settings, *, app_name: str | None = None) -> dict[str, str]:
    """The configuration the session is built with (also shown by ``infra status``)."""
    s = settings.spark
    jars = jar_files(settings.jars_dir, "spark")
    local_dir = settings.state.root / "spark" / "tmp"
    conf = {
        "spark.master": s.master,
        "spark.app.name": app_name or s.app_name,
        "spark.jars": ",".join(str(j) for j in jars),
        "spark.driver.memory": s.driver_memory,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": str(s.ui_enabled).lower(),
        "spark.ui.host": "127.0.0.1",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(s.shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.local.dir": str(local_dir),
        "spark.sql.streaming.forceDeleteTempCheckpointLocation": "true",
        "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={local_dir}",
    }
    conf.update(s.extra_conf)
    return conf


def get_spark(settings: Settings, *, app_name: str | None = None) -> SparkSession:
    """Build (or return the running) SparkSession for ``settings``."""
    find_java()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", _python()))
    from pyspark.sql import SparkSession

    conf = spark_conf(settings, app_name=app_name)
    Path(conf["spark.local.dir"]).mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    log.info("starting Spark session (%s)", conf["spark.master"])
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.spark.log_level)
    return spark


def _python() -> str:
    import sys

    return sys.executable


def spark_status(settings: Settings) -> ServiceStatus:
    """Spark in local mode is not a server: report whether a session can be built."""
    detail = ""
    try:
        find_java()
        jars = jar_files(settings.jars_dir, "spark")
        import importlib.util

        ok = importlib.util.find_spec("pyspark") is not None
        if not ok:
            detail = "pyspark is not installed"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        ok, jars, detail = False, [], str(exc)
    return ServiceStatus(
        name="spark",
        embedded=settings.spark.master.startswith("local"),
        running=ok,
        healthy=ok,
        address=settings.spark.master,
        detail=detail,
        extra={"jars": [p.name for p in jars]},
    )
