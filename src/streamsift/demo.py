"""``streamsift demo``: the pipeline stages built so far, end to end, on the synthetic stream:
infra up → produce → ingest → dataset prepare → label → train."""

from __future__ import annotations

import logging
import time
from typing import Any

from psycopg import sql
from rich.console import Console

from streamsift.config import Settings
from streamsift.dataset.prepare import prepare_dataset
from streamsift.infra import status, up
from streamsift.ingest.producer import produce
from streamsift.ingest.spark_job import run_ingest
from streamsift.labeling.pipeline import export_dir, run_labeling
from streamsift.labeling.registry import load_lfs
from streamsift.sources.synthetic import SyntheticSource
from streamsift.store.connection import connect
from streamsift.store.tables import raw_table

log = logging.getLogger(__name__)


def run_demo(settings: Settings, *, count: int = 20_000, seed: int = 0, console: Console | None = None) -> dict:
    """infra up → ``count`` synthetic tweets → Kafka → Spark → PostgreSQL; returns what landed."""
    console = console or Console(stderr=True)
    t0 = time.perf_counter()
    console.print("[bold]1/6[/bold] infra up (Kafka KRaft + PostgreSQL)")
    up(settings)
    console.print(f"[bold]2/6[/bold] producing {count:,} synthetic tweets (seed {seed}) to {settings.kafka.topic_raw}")
    produced = produce(iter(SyntheticSource(count, seed)), settings.kafka, settings.producer)
    console.print(f"      {produced.delivered:,} records in {produced.seconds:.1f} s")
    table = raw_table(settings.dataset.prefix, settings.dataset.version)
    console.print(f"[bold]3/6[/bold] Spark Structured Streaming: {settings.kafka.topic_raw} → {table}")
    ingested = run_ingest(settings, until_idle=True)
    report: dict[str, Any] = {
        "produced": produced.delivered,
        "ingest": ingested.to_dict(),
        "postgres_url": status(settings)["postgres_url"],
        "raw_table": table,
    }
    with connect(settings.postgres) as conn:
        t = sql.Identifier(table)
        report["raw_rows"] = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(t)).fetchone()[0]
        report["tweet_urls_rows"] = conn.execute("SELECT count(*) FROM tweet_urls").fetchone()[0]
        report["dead_letters_rows"] = conn.execute(
            "SELECT count(*) FROM dead_letters WHERE stage = 'ingest'"
        ).fetchone()[0]
        report["top_link_domains"] = dict(
            conn.execute(
                "SELECT domain, count(*) FROM tweet_urls GROUP BY domain ORDER BY 2 DESC, 1 LIMIT 5"
            ).fetchall()
        )
    console.print(f"[bold]4/6[/bold] dataset prepare: dedup {table} and split it")
    prepared = prepare_dataset(settings)
    report["dataset"] = {"distinct_tweets": prepared.dedup_rows, "splits": prepared.sizes, "created": prepared.created}
    console.print(f"[bold]5/6[/bold] label: {len(load_lfs(settings.labeling))} labeling functions + Snorkel LabelModel")
    labelled = run_labeling(settings)
    report["weak_labels"] = {
        "model": labelled.chosen,
        "class_counts": labelled.class_counts,
        "agreement_label_model_vs_majority": labelled.agreement_lm_mv,
        "exports": str(export_dir(settings)),
        "seconds": labelled.seconds,
    }
    console.print("[bold]6/6[/bold] train: neural classifier + TF-IDF baseline → model registry")
    from streamsift.models.train import train

    trained = train(settings)
    test = trained.metrics["test"]
    report["model"] = {
        "version": trained.version,
        "path": trained.path,
        "test_labels": test["labels"],
        "neural_macro_f1": round(test["neural"]["macro"]["f1"], 4),
        "baseline_macro_f1": round(test["baseline_tfidf_logreg"]["macro"]["f1"], 4),
        "next": f"streamsift models promote {trained.version}",
    }
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report
