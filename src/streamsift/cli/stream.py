"""``streamsift produce`` and ``ingest``: the stream into Kafka and PostgreSQL."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from streamsift.cli._app import app
from streamsift.cli._common import (
    STATE,
    console,
    progress_bar,
)
from streamsift.config import Settings


class IngestEngine(StrEnum):
    spark = "spark"
    kafka = "kafka"


class SourceName(StrEnum):
    x_api = "x-api"
    bluesky = "bluesky"
    mastodon = "mastodon"
    replay = "replay"
    synthetic = "synthetic"


@app.command("produce")
def produce_cmd(
    source: Annotated[
        SourceName, typer.Option("--source", "-s", help="Where tweets come from.")
    ] = SourceName.synthetic,
    path: Annotated[Path | None, typer.Option(help="replay: a .jsonl file or a folder of .json files.")] = None,
    count: Annotated[int, typer.Option(min=1, help="synthetic: how many records.")] = 10_000,
    seed: Annotated[int, typer.Option(help="synthetic: the same seed gives the same stream.")] = 0,
    rate: Annotated[float | None, typer.Option(min=0.1, help="Cap on records per second.")] = None,
    loop: Annotated[bool, typer.Option("--loop", help="replay: start over at the end, forever.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after this many records.")] = None,
    topic: Annotated[str | None, typer.Option(help="Kafka topic (default: kafka.topic_raw).")] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="bluesky: the Jetstream endpoint, instead of bluesky.jetstream_url + fallbacks; "
            "mastodon: the instance, instead of mastodon.url."
        ),
    ] = None,
    duration: Annotated[float | None, typer.Option(min=1, help="bluesky, mastodon: stop after N seconds.")] = None,
) -> None:
    """Send tweets from a source to Kafka (tweets.raw), keyed by tweet id.

    \b
    synthetic  a built-in realistic mixed stream (AI and other tweets, retweets, duplicates,
               a few malformed records), deterministic for --seed
    replay     X API v1.1 or v2 JSON from a .jsonl file or a folder of .json files
    x-api      the X API v2 filtered stream (rules from config; token from STREAMSIFT_X_BEARER_TOKEN)
    bluesky    new Bluesky posts from Jetstream (free, no account), filtered by bluesky.languages and
               bluesky.keywords; resumes where it stopped (cursor in <state>/bluesky/)
    mastodon   an instance's public timeline, live (mastodon.url; a token with read:statuses in
               STREAMSIFT_MASTODON_TOKEN); gaps after a reconnect are filled from the REST timeline
    """
    from streamsift.ingest.producer import produce

    s = STATE.settings()
    src = _make_source(s, source, path=path, count=count, seed=seed, loop=loop, url=url, duration=duration)
    total = limit or src.total
    with src, progress_bar(total, f"{source.value} → {topic or s.kafka.topic_raw}") as bar:
        task = bar.add_task(f"{source.value} → {topic or s.kafka.topic_raw}", total=total)
        stats = produce(
            iter(src),
            s.kafka,
            s.producer,
            topic=topic,
            rate=rate,
            limit=limit,
            on_progress=lambda n: bar.advance(task, n),
        )
    console.print(
        f"produced {stats.delivered:,} records ({stats.bytes / 1e6:.1f} MB) in {stats.seconds:.1f} s "
        f"({stats.rate:,.0f} records/s)"
    )


def _make_source(
    s: Settings,
    source: SourceName,
    *,
    path: Path | None,
    count: int,
    seed: int,
    loop: bool,
    url: str | None = None,
    duration: float | None = None,
):
    if source is SourceName.synthetic:
        from streamsift.sources.synthetic import SyntheticSource

        return SyntheticSource(count, seed)
    if source is SourceName.replay:
        from streamsift.sources.replay import ReplaySource

        if path is None:
            raise typer.BadParameter("--source replay needs --path FILE_OR_FOLDER", param_hint="--path")
        return ReplaySource(path, loop=loop)
    if source is SourceName.bluesky:
        from streamsift.sources.bluesky import JetstreamSource

        if url is not None and not url.startswith(("ws://", "wss://")):
            raise typer.BadParameter("a Jetstream URL starts with wss:// (or ws://)", param_hint="--url")
        return JetstreamSource(s.bluesky, s.state.root, urls=[url] if url else None, duration_s=duration)
    if source is SourceName.mastodon:
        from streamsift.sources.mastodon import MastodonSource

        token = s.mastodon_token.get_secret_value() if s.mastodon_token else None
        return MastodonSource(s.mastodon, token, url=url, duration_s=duration)
    from streamsift.sources.x_api import XApiSource

    return XApiSource(s.x_api, s.bearer_token)


@app.command("ingest")
def ingest_cmd(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Process what the topic holds now, then exit.")
    ] = False,
    timeout: Annotated[float | None, typer.Option(min=1, help="Stop a continuous run after N seconds.")] = None,
    engine: Annotated[
        IngestEngine | None,
        typer.Option(
            help="spark: Spark Structured Streaming (a cluster too). kafka: a Kafka consumer group of "
            "--workers processes, no JVM; faster on one machine. Default: ingest.engine (spark).",
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Kafka engine: consumer processes (default: one per core).")
    ] = None,
) -> None:
    """tweets.raw → the raw table <prefix>_<version> in PostgreSQL, exactly once.

    Valid tweets are normalised and written once (keyed on tweet id); their links go to tweet_urls;
    records that do not parse go to dead_letters with the reason. Without --until-idle the job runs
    until Ctrl-C. Progress: the Spark engine's checkpoints in <state>/checkpoints/ingest/, the Kafka
    engine's consumer group streamsift-ingest-<table>.
    """
    from streamsift.store.tables import raw_table

    s = STATE.settings()
    table = raw_table(s.dataset.prefix, s.dataset.version)
    if (engine or s.ingest.engine) == "kafka":
        from streamsift.ingest.kafka_job import run_ingest_kafka

        stats = run_ingest_kafka(s, until_idle=until_idle, timeout_s=timeout, workers=workers)
    else:
        from streamsift.ingest.spark_job import run_ingest

        if workers is not None:
            raise typer.BadParameter("--workers is for --engine kafka (Spark: spark.master sets the cores)")
        stats = run_ingest(s, until_idle=until_idle, timeout_s=timeout)
    d = stats.to_dict()
    console.print(
        f"ingested {d['messages']:,} messages into {table} in {d['seconds']:.1f} s: "
        f"{d['inserted']:,} new tweets, "
        f"{d['duplicates']:,} duplicates skipped, {d['dead_letters']:,} dead letters, {d['urls']:,} urls"
    )
