"""``streamsift worker`` (and the other live-classification commands): the stream classified as it arrives."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from streamsift.cli._app import app
from streamsift.cli._common import STATE, console


@app.command("worker")
def worker_cmd(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Classify what the topic holds now, then exit.")
    ] = False,
    worker_id: Annotated[
        str | None,
        typer.Option(help="A stable id (e.g. the pod name): a restarted worker then fences its crashed self."),
    ] = None,
    timeout: Annotated[float | None, typer.Option(min=1, help="Stop after N seconds.")] = None,
) -> None:
    """Classify tweets.raw as a Kafka consumer group (no Spark): predictions → tweets.predictions,
    AI tweets → ai_tweets + tweet_urls, unparsable records → tweets.deadletter.

    Offsets are committed in the same Kafka transaction as the predictions, after the PostgreSQL
    write: a crash replays the batch, nothing is lost or doubled. Run more workers to share the
    partitions; a promoted model is swapped in between batches; SIGTERM finishes the batch and exits.
    """
    from streamsift.live.worker import run_worker

    s = STATE.settings()
    stop = threading.Event()
    if timeout:
        timer = threading.Timer(timeout, stop.set)
        timer.daemon = True
        timer.start()
    stats = run_worker(s, until_idle=until_idle, worker_id=worker_id, stop=stop).to_dict()
    stop.set()
    console.print(
        f"classified {stats['messages']:,} records in {stats['seconds']:.1f} s "
        f"({stats['tweets_per_s'] or 0:,.0f}/s): {stats['ai_tweets']:,} AI tweets, "
        f"{stats['dead_letters']:,} dead letters, model versions {stats['versions']}",
        highlight=False,
    )
