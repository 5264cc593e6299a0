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


@app.command("classify")
def classify_cmd(
    mode: Annotated[
        str,
        typer.Option(
            help="local: ONNX Runtime in the Spark executors (fastest); remote: batched calls to `streamsift serve`; "
            "per-row: one request per tweet (the original design, a baseline)."
        ),
    ] = "local",
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Classify what the topic holds now, then exit (availableNow).")
    ] = False,
    timeout: Annotated[float | None, typer.Option(min=1, help="Stop a continuous run after N seconds.")] = None,
) -> None:
    """Spark Structured Streaming: classify tweets.raw live (its own checkpoint, independent of ingest).

    Every prediction → tweets.predictions (keyed by tweet id); tweets whose P(classify.positive_class) ≥
    classify.threshold → ai_tweets, their links → tweet_urls; unparsable records → tweets.deadletter with the
    reason. A promoted model is picked up between micro-batches; each row records the version that scored it.
    """
    from streamsift.live.spark_job import Mode, run_classify

    try:
        m = Mode(mode)
    except ValueError:
        raise typer.BadParameter(f"{mode!r}: use local, remote or per-row", param_hint="--mode") from None
    stats = run_classify(STATE.settings(), mode=m, until_idle=until_idle, timeout_s=timeout).to_dict()
    console.print(
        f"classified {stats['messages']:,} records in {stats['seconds']:.1f} s ({m.value} mode): "
        f"{stats['ai_tweets']:,} AI tweets, {stats['dead_letters']:,} dead letters, model versions {stats['versions']}",
        highlight=False,
    )


@app.command("act")
def act_cmd(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Act on what ai_tweets holds now, then exit.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Record the decisions, send nothing to X.")] = False,
) -> None:
    """Retweet every AI tweet that carries a link, exactly once (table retweet_actions).

    Needs the account's OAuth 2.0 user-context token in STREAMSIFT_X_USER_TOKEN and its numeric id in
    x_api.user_id; without them every action is recorded as a dry run. Honours X's rate limit
    (50 retweets per 15 minutes) from its x-rate-limit-* headers; a crash between the API call and the
    row write is reconciled with X on the next start, so no tweet is retweeted twice.
    """
    from streamsift.live.act import run_act

    stop = threading.Event()
    try:
        stats = run_act(STATE.settings(), until_idle=until_idle, dry_run=dry_run, stop=stop).to_dict()
    except KeyboardInterrupt:
        stop.set()
        raise
    console.print(
        f"{stats['mode']}: {stats['decided']:,} new actions, {stats['skipped']:,} skipped, {stats['done']:,} "
        f"retweeted, {stats['dry_run']:,} dry runs, {stats['failed']:,} failed, "
        f"{stats['reconciled']:,} reconciled, {stats['rate_limit_waits']:,} rate-limit waits",
        highlight=False,
    )
