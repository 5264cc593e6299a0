"""The Spark session factory: every Spark job gets its session here.

The Kafka connector and the PostgreSQL JDBC driver come from the jars that
``make setup`` resolved with Maven (``spark.jars``, absolute paths); nothing is
fetched through Ivy at run time. Driver sockets bind to 127.0.0.1.
pyspark is imported lazily so the rest of streamsift works without starting a JVM.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from streamsift.config import Settings
from streamsift.errors import StreamsiftError
from streamsift.infra.jars import jar_files
from streamsift.infra.kafka import find_java
from streamsift.infra.status import ServiceStatus

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming import StreamingQuery

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
    conf.update(_cluster_conf(settings, conf))
    return conf


def _cluster_conf(settings: Settings, conf: dict[str, str]) -> dict[str, str]:
    """Keys a ``spark://`` master needs on top of ``conf``: streamsift itself for the executors.

    The executors' Python workers import streamsift from a zip of the package
    (:func:`~streamsift.infra.spark_cluster.package_zip`) shipped in ``spark.submit.pyFiles``
    (and ``spark.files``, so the executors fetch it even when this process's JVM was launched
    for an earlier session); pyFiles entries come first on the workers' ``sys.path``. Files a
    user lists in ``spark.extra_conf`` are kept.
    """
    if not settings.spark.standalone:
        return {}
    from streamsift.infra.spark_cluster import package_zip

    zip_path = str(package_zip(settings.state.root))

    def with_zip(key: str) -> str:
        others = [p for p in conf.get(key, "").split(",") if p.strip() and p.strip() != zip_path]
        return ",".join([zip_path, *others])

    return {"spark.submit.pyFiles": with_zip("spark.submit.pyFiles"), "spark.files": with_zip("spark.files")}


def get_spark(settings: Settings, *, app_name: str | None = None) -> SparkSession:
    """Build (or return the running) SparkSession for ``settings``.

    The JVM's own output (log4j WARN chatter, "Using incubator modules", Python
    worker tracebacks) goes to ``<state>/logs/spark.log``, not to the terminal;
    log lines of streamsift code running in the Python workers are forwarded to
    the driver's loggers (see :mod:`streamsift.logs`).
    """
    find_java()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", _python()))
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    conf = spark_conf(settings, app_name=app_name)
    Path(conf["spark.local.dir"]).mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    log.info("starting Spark session (%s)", conf["spark.master"])
    if SparkContext._gateway is None:  # the JVM starts now: capture what it prints
        with _jvm_output_to(spark_log_file(settings)):
            spark = builder.getOrCreate()
    else:
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.spark.log_level)
    return spark


def spark_log_file(settings: Settings) -> Path:
    """Where the Spark JVM's output goes."""
    return settings.state.root / "logs" / "spark.log"


@contextmanager
def _jvm_output_to(log_file: Path) -> Iterator[None]:
    """Point fds 1 and 2 at a pipe while the JVM is launched (it inherits them), then restore them.

    A daemon thread copies everything the JVM prints into ``log_file`` and forwards
    the log records of streamsift code in the Python workers to the driver's loggers.
    """
    from streamsift.logs import forward_worker_line

    log_file.parent.mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))

    def pump() -> None:
        with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as src, log_file.open("a") as out:
            for line in src:
                out.write(line)
                out.flush()
                with suppress(Exception):  # the pump must never die
                    forward_worker_line(line)

    threading.Thread(target=pump, name="spark-jvm-output", daemon=True).start()
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, write_fd):
            os.close(fd)
        log.info("Spark's own log: %s", log_file)


def _python() -> str:
    import sys

    return sys.executable


def spark_status(settings: Settings) -> ServiceStatus:
    """Spark in local mode is not a server: report whether a session can be built.

    With a ``spark://`` master, also the master and its workers, from the master web UI.
    """
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
    status = ServiceStatus(
        name="spark",
        embedded=settings.spark.master.startswith("local"),
        running=ok,
        healthy=ok,
        address=settings.spark.master,
        detail=detail,
        extra={"jars": [p.name for p in jars]},
    )
    return _cluster_status(settings, status)


def _cluster_status(settings: Settings, local: ServiceStatus) -> ServiceStatus:
    """With a ``spark://`` master: its health and workers (``/json/`` of its web UI) added to ``local``."""
    web_ui = settings.spark.master_web_ui
    if not settings.spark.standalone or web_ui is None:
        return local
    from streamsift.infra.spark_cluster import master_status

    cluster = master_status(settings.spark.master, web_ui)
    cluster.extra = {**local.extra, **cluster.extra}
    if not local.healthy:  # the driver side (Java, jars, pyspark) is broken too
        cluster.healthy = False
        cluster.detail = "; ".join(d for d in (local.detail, cluster.detail) if d)
    return cluster


_EXC_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): (.+)$", re.MULTILINE)
_WRAPPERS = ("pyspark.", "py4j.", "org.apache.spark.", "java.", "scala.", "StreamingQueryException")


def query_failure(exc: BaseException | str, *, what: str, settings: Settings) -> StreamsiftError:
    """One line for a failed streaming query, from the wall of JVM + Python traceback Spark gives.

    The root cause is the streamsift error raised in a worker when there is one, else the
    innermost exception that is not a Spark/Py4J wrapper. The full text goes to the log file.
    """
    text = str(exc)
    log.debug("%s failed; Spark's exception:\n%s", what, text, extra={"file_only": True})
    found = _EXC_LINE.findall(text)
    ours = [(c, m) for c, m in found if c.startswith("streamsift.")]
    others = [(c, m) for c, m in found if not c.startswith(_WRAPPERS)]
    if ours:
        cause = ours[-1][1]
    elif others:
        cls, msg = others[-1]
        cause = f"{cls.rsplit('.', 1)[-1]}: {msg}"
    else:
        cause = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return StreamsiftError(
        f"{what} failed: {cause.strip()}",
        hint=f"details in {spark_log_file(settings)}; it resumes from its checkpoint when run again",
    )


def await_query(query: StreamingQuery, *, what: str, settings: Settings, timeout_s: float | None = None) -> None:
    """Wait for a streaming query to end (or ``timeout_s``, or Ctrl-C, which stop it).

    A failed query raises one :class:`StreamsiftError` line (see :func:`query_failure`).
    """
    from pyspark.errors import StreamingQueryException

    failure: BaseException | None = None
    try:
        query.awaitTermination(timeout_s) if timeout_s else query.awaitTermination()
    except KeyboardInterrupt:
        log.warning("interrupted: stopping %s", what)
    except StreamingQueryException as exc:
        failure = exc
    finally:
        if query.isActive:
            query.stop()
    failure = failure or query.exception()
    if failure is not None:
        raise query_failure(failure, what=what, settings=settings) from None
