"""The ingest job on a real Spark standalone cluster: a master and a worker from pyspark's jars on 127.0.0.1.

Executors run in their own JVM (started by the worker) with their own Python workers; streamsift
reaches those through the zip in ``spark.submit.pyFiles``, not through the editable install.

The cluster's driver is a fresh Python process (``spawn``): one process holds one SparkContext, and
this pytest process may already hold the suite's local-mode session (the ``spark`` fixture).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streamsift.config import Settings
from streamsift.errors import InfraError
from streamsift.infra import KafkaBroker, status
from streamsift.infra.jars import jar_files
from streamsift.infra.process import free_port, pid_alive, read_pid
from streamsift.infra.spark_cluster import SparkStandalone
from streamsift.ingest.producer import produce
from streamsift.sources.synthetic import generate
from streamsift.store.tables import raw_table
from tests.integration.test_ingest import _counts, _expected

pytestmark = pytest.mark.integration

CALL_TIMEOUT_S = 600  # generous: the machine may be busy; a hang fails instead of blocking the suite


@pytest.fixture(scope="module")
def cluster(infra_settings: Settings) -> Iterator[SparkStandalone]:
    """A standalone master + one worker (2 cores, 1 GB) on free ports, always stopped."""

    def new_cluster() -> SparkStandalone:
        ports = {k: free_port() for k in ("port", "webui_port", "worker_port", "worker_webui_port")}
        return SparkStandalone(
            infra_settings.state.root, **ports, worker_cores=2, worker_memory="1g", start_timeout_s=180
        )

    sc = new_cluster()
    try:
        try:
            sc.start()
        except InfraError:  # a free port taken by another program between free_port() and the bind: retry once
            sc = new_cluster()
            sc.start()
        yield sc
    finally:
        pids = [read_pid(sc.master_pid_file), read_pid(sc.worker_pid_file)]
        sc.stop()
        assert not sc.stop(), "a second stop() is a no-op"
        assert not any(p and pid_alive(p) for p in pids), "master and worker are gone"


@pytest.fixture(scope="module")
def cluster_settings(infra_settings: Settings, cluster: SparkStandalone) -> Settings:
    spark = infra_settings.spark.model_copy(
        update={
            "master": cluster.master_url,
            "master_web_ui_url": cluster.web_ui,
            "extra_conf": {"spark.executor.memory": "1g", "spark.executor.cores": "2", "spark.cores.max": "2"},
        }
    )
    return infra_settings.model_copy(update={"spark": spark})


@pytest.fixture(scope="module")
def on_driver(cluster_settings: Settings) -> Iterator[Callable[..., Any]]:
    """Runs ``fn(cluster_settings, *args)`` in a fresh Python process holding one session on the cluster."""
    pool = multiprocessing.get_context("spawn").Pool(1)

    def call(fn: Callable[..., Any], *args: Any) -> Any:
        return pool.apply_async(fn, (cluster_settings, *args)).get(timeout=CALL_TIMEOUT_S)

    try:
        yield call
    finally:
        try:
            pool.apply_async(_stop_session).get(timeout=120)
        finally:
            pool.terminate()
            pool.join()


# -- run in the driver process ---------------------------------------------------------------
_SESSION: Any = None


def _session(settings: Settings):
    global _SESSION
    if _SESSION is None:
        from streamsift.infra.spark import get_spark

        _SESSION = get_spark(settings, app_name="streamsift-cluster-tests")
    return _SESSION


def _stop_session() -> None:
    global _SESSION
    if _SESSION is not None:
        _SESSION.stop()
        _SESSION = None


def _where_executors_import(settings: Settings) -> dict[str, Any]:
    """On the executors' Python workers: where streamsift comes from, their folder and process."""
    spark = _session(settings)

    def probe(batches):  # nested: cloudpickle ships it by value (the executors cannot import tests/)
        import os
        import sys

        import pyarrow as pa

        import streamsift
        import streamsift.ingest.sink

        for _ in batches:
            pass
        yield pa.RecordBatch.from_pydict(
            {
                "package": [os.path.abspath(streamsift.__file__)],
                "sink": [os.path.abspath(streamsift.ingest.sink.__file__)],
                "cwd": [os.getcwd()],
                "pid": [os.getpid()],
                "sys_path": [[os.path.abspath(p) for p in sys.path]],
            }
        )

    rows = spark.range(8, numPartitions=4).mapInArrow(
        probe, "package string, sink string, cwd string, pid long, sys_path array<string>"
    )
    sc = spark.sparkContext
    return {
        "rows": [r.asDict() for r in rows.collect()],
        "master": sc.master,
        "executor_ids": [e for e in sc._jsc.sc().getExecutorIds().mkString(",").split(",") if e],
        "py_files": sc.getConf().get("spark.submit.pyFiles"),
        "driver_pid": os.getpid(),
    }


def _ingest(settings: Settings, topic: str, table: str) -> dict[str, Any]:
    from streamsift.ingest.spark_job import run_ingest

    spark = _session(settings)
    stats = run_ingest(settings, until_idle=True, spark=spark, topic=topic, table=table)
    return {"master": spark.sparkContext.master, **stats.to_dict()}


# -- tests ---------------------------------------------------------------------------------------
def test_infra_status_shows_the_master_and_its_worker(cluster_settings, cluster):
    spark = status(cluster_settings)["services"]["spark"]
    assert spark["healthy"] and spark["running"], spark
    assert spark["address"] == cluster.master_url
    assert spark["master_web_ui"] == cluster.web_ui
    assert spark["master_status"] == "ALIVE"
    assert spark["alive_workers"] == 1
    (worker,) = spark["workers"]
    assert worker["state"] == "ALIVE" and worker["cores"] == 2 and worker["memory_mb"] == 1024
    assert worker["address"].startswith("127.0.0.1:")
    assert "1/1 workers ALIVE" in spark["detail"]
    assert cluster.start() is False  # already up: a no-op

    gone = cluster_settings.spark.model_copy(update={"master_web_ui_url": f"http://127.0.0.1:{free_port()}"})
    down = status(cluster_settings.model_copy(update={"spark": gone}))["services"]["spark"]
    assert not down["healthy"] and "does not answer" in down["detail"]


def test_executors_import_streamsift_from_the_shipped_zip(on_driver, cluster_settings, cluster):
    seen = on_driver(_where_executors_import)
    assert seen["master"] == cluster.master_url
    assert seen["executor_ids"], "executors in their own JVM (local mode has none)"
    shipped = Path(seen["py_files"].split(",")[0])
    assert shipped.parent == cluster_settings.state.root / "spark" / "pyfiles"
    assert shipped.name.startswith("streamsift-") and shipped.suffix == ".zip"
    work = cluster.work_dir.resolve()
    jars = {p.name for p in jar_files(cluster_settings.jars_dir, "spark")}
    for row in seen["rows"]:
        cwd = Path(row["cwd"])
        assert work in cwd.parents, f"Python worker of a worker-launched executor, not the driver: {row}"
        assert row["pid"] != seen["driver_pid"]
        zip_copy = cwd / shipped.name  # the executor's fetched copy of the zip
        paths = [Path(p) for p in row["sys_path"]]
        site = next(i for i, p in enumerate(paths) if p.name == "site-packages")
        assert zip_copy in paths[:site], f"the zip comes before site-packages (the editable install): {paths}"
        assert Path(row["package"]) == zip_copy / "streamsift" / "__init__.py", row
        assert Path(row["sink"]) == zip_copy / "streamsift" / "ingest" / "sink.py", row
        fetched = {p.name for p in cwd.iterdir()}
        assert jars <= fetched, f"spark.jars (Kafka connector, JDBC driver) reach the executor: {fetched}"


def test_synthetic_stream_lands_exactly_once_on_the_cluster(on_driver, cluster_settings, topic_name, table_version):
    KafkaBroker(cluster_settings.kafka, cluster_settings.state.root).ensure_topics([topic_name])
    # A seed no other test uses: tweet_urls is shared by every table of the session, and the same seed
    # gives the same tweet ids (test_labeling's seed 31 once added its links to this test's count).
    items = list(generate(3000, seed=131, malformed_share=0.03, duplicate_share=0.05))
    valid, malformed, n_urls = _expected(items)
    assert malformed > 0 and len(valid) < 3000 - malformed  # the stream really has both
    produce((i.record for i in items), cluster_settings.kafka, cluster_settings.producer, topic=topic_name)

    table = raw_table("raw_tweet_dataset", table_version)
    stats = on_driver(_ingest, topic_name, table)
    assert stats["master"].startswith("spark://")
    assert stats["messages"] == 3000
    assert stats["inserted"] == len(valid) and stats["dead_letters"] == malformed
    assert _counts(cluster_settings, table, topic_name) == (len(valid), malformed, n_urls)

    # A second run with a fresh checkpoint replays the whole topic: nothing doubles.
    shutil.rmtree(cluster_settings.state.root / "checkpoints" / "ingest" / table)
    again = on_driver(_ingest, topic_name, table)
    assert again["messages"] == 3000 and again["inserted"] == 0
    assert _counts(cluster_settings, table, topic_name) == (len(valid), malformed, n_urls)
