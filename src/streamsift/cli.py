"""The ``streamsift`` command line: parses arguments and calls the stage functions.

Every error streamsift raises on purpose is printed as one line (``--verbose``
adds the traceback) and the process exits non-zero.
"""

from __future__ import annotations

import json
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from streamsift import __version__
from streamsift.config import Settings, load_settings, redacted_dump
from streamsift.errors import StreamsiftError
from streamsift.logs import configure_logging

log = logging.getLogger("streamsift.cli")
console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="streamsift",
    help=(
        "Real-time streaming text classification. Every stage of the pipeline is a command:\n\n"
        "infra (Kafka, PostgreSQL, Spark) → produce (a tweet source into Kafka) → "
        "ingest (Spark: Kafka → PostgreSQL raw table) → dataset prepare (dedup + splits) → "
        "label (Snorkel weak supervision) → web (annotation UI) → train (neural classifier + baseline) → "
        "models (registry) → predict (ONNX Runtime)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
infra_app = typer.Typer(
    help="Start, stop and check the local Kafka broker and PostgreSQL server (and Spark's jars).",
    no_args_is_help=True,
)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(infra_app, name="infra")
app.add_typer(config_app, name="config")


class _State:
    verbose = False
    config: Path | None = None
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
            configure_logging(
                self._settings.log_level,
                verbose=self.verbose,
                log_file=self._settings.state.root / "logs" / "streamsift.log",
            )
        return self._settings


STATE = _State()


def _version(value: bool) -> None:
    if value:
        console.print(f"streamsift {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML settings file (default: ./streamsift.toml, or $STREAMSIFT_CONFIG)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs and full tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    STATE.config = config
    STATE.verbose = verbose
    configure_logging("INFO", verbose=verbose)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# -- infra -----------------------------------------------------------------------------------
@infra_app.command("up")
def infra_up() -> None:
    """Start Kafka (KRaft) and PostgreSQL on 127.0.0.1, wait until healthy, create topics and database.

    Idempotent: servers already running are left alone.
    """
    from streamsift.infra import status, up

    s = STATE.settings()
    with console.status("starting Kafka and PostgreSQL…"):
        result = up(s)
    st = status(s)
    started = [k for k, v in result["started"].items() if v]
    msg = f"started {', '.join(started)}" if started else "already running"
    console.print(f"[green]infra up[/green]: {msg} in {result['seconds']:.1f} s")
    console.print(f"  kafka     {st['kafka_bootstrap']}")
    console.print(f"  postgres  {st['postgres_url']}")
    if not st["healthy"]:
        raise StreamsiftError("some services are not healthy: see `streamsift infra status`")


@infra_app.command("down")
def infra_down(
    wipe: Annotated[bool, typer.Option("--wipe", help="Also delete Kafka topics and the PostgreSQL data.")] = False,
) -> None:
    """Stop the servers `infra up` started. A no-op when nothing runs."""
    from streamsift.infra import down

    stopped = down(STATE.settings(), wipe=wipe)
    names = [k for k, v in stopped.items() if v]
    console.print(
        f"infra down: {'stopped ' + ', '.join(names) if names else 'nothing was running'}"
        + (" (data wiped)" if wipe else "")
    )


@infra_app.command("status")
def infra_status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Health of Kafka, PostgreSQL and Spark, with the addresses to connect to. Exit code 1 if unhealthy."""
    from streamsift.infra import status

    st = status(STATE.settings())
    if as_json:
        _print_json(st)
    else:
        table = Table("service", "healthy", "address", "pid", "detail")
        for name, svc in st["services"].items():
            table.add_row(
                name,
                "[green]yes[/green]" if svc["healthy"] else "[red]no[/red]",
                svc["address"],
                str(svc["pid"] or ""),
                svc["detail"],
            )
        console.print(table)
    if not st["healthy"]:
        raise typer.Exit(1)


# -- produce / ingest ----------------------------------------------------------------------------
class SourceName(StrEnum):
    x_api = "x-api"
    replay = "replay"
    synthetic = "synthetic"


class _RateColumn(ProgressColumn):
    """Records per second."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:>9,.0f}/s", style="progress.data.speed")


def _progress(total: int | None, description: str) -> Progress:
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
    ]
    if total:
        columns.append(TimeRemainingColumn())
    return Progress(*columns, console=err_console, transient=False)


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
) -> None:
    """Send tweets from a source to Kafka (tweets.raw), keyed by tweet id.

    \b
    synthetic  a built-in realistic mixed stream (AI and other tweets, retweets, duplicates,
               a few malformed records), deterministic for --seed
    replay     X API v1.1 or v2 JSON from a .jsonl file or a folder of .json files
    x-api      the X API v2 filtered stream (rules from config; token from STREAMSIFT_X_BEARER_TOKEN)
    """
    from streamsift.ingest.producer import produce

    s = STATE.settings()
    src = _make_source(s, source, path=path, count=count, seed=seed, loop=loop)
    total = limit or src.total
    with src, _progress(total, f"{source.value} → {topic or s.kafka.topic_raw}") as bar:
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


def _make_source(s: Settings, source: SourceName, *, path: Path | None, count: int, seed: int, loop: bool):
    if source is SourceName.synthetic:
        from streamsift.sources.synthetic import SyntheticSource

        return SyntheticSource(count, seed)
    if source is SourceName.replay:
        from streamsift.sources.replay import ReplaySource

        if path is None:
            raise typer.BadParameter("--source replay needs --path FILE_OR_FOLDER", param_hint="--path")
        return ReplaySource(path, loop=loop)
    from streamsift.sources.x_api import XApiSource

    return XApiSource(s.x_api, s.bearer_token)


@app.command("ingest")
def ingest_cmd(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Process what the topic holds now, then exit (availableNow).")
    ] = False,
    timeout: Annotated[float | None, typer.Option(min=1, help="Stop a continuous run after N seconds.")] = None,
) -> None:
    """Spark Structured Streaming: tweets.raw → the raw table <prefix>_<version> in PostgreSQL.

    Valid tweets are normalised and written once (keyed on tweet id); their links go to tweet_urls;
    records that do not parse go to dead_letters with the reason. Without --until-idle the job runs
    until Ctrl-C. Checkpoints live in <state>/checkpoints/ingest/.
    """
    from streamsift.ingest.spark_job import run_ingest
    from streamsift.store.tables import raw_table

    s = STATE.settings()
    table = raw_table(s.dataset.prefix, s.dataset.version)
    stats = run_ingest(s, until_idle=until_idle, timeout_s=timeout)
    d = stats.to_dict()
    console.print(
        f"ingested {d['messages']:,} messages into {table} in {d['seconds']:.1f} s: "
        f"{d['inserted']:,} new tweets, "
        f"{d['duplicates']:,} duplicates skipped, {d['dead_letters']:,} dead letters, {d['urls']:,} urls"
    )


@app.command("demo")
def demo_cmd(
    count: Annotated[int, typer.Option(min=1, help="How many synthetic tweets to stream.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic stream.")] = 0,
) -> None:
    """The main job end to end: infra up → synthetic stream → Kafka → Spark → PostgreSQL → dataset prepare →
    weak labels (Snorkel) → a trained, registered model; prints a JSON report of what landed."""
    from streamsift.demo import run_demo

    s = STATE.settings()
    report = run_demo(s, count=count, seed=seed, console=console)
    _print_json(report)


# -- dataset / label ------------------------------------------------------------------------------
dataset_app = typer.Typer(help="Prepare versioned datasets from the raw table.", no_args_is_help=True)
label_app = typer.Typer(
    help="Weak supervision with Snorkel: label the splits, evaluate against golden labels, label files.",
    invoke_without_command=True,
)
app.add_typer(dataset_app, name="dataset")
app.add_typer(label_app, name="label")


@dataset_app.command("prepare")
def dataset_prepare_cmd(
    raw_version: Annotated[
        int | None, typer.Option(min=0, help="Read raw_<prefix>_<N> instead of the dataset version's own.")
    ] = None,
) -> None:
    """Dedup the raw table on normalised text and split it into test / dev / snorkel_train / train tables.

    Sizes and seed come from [dataset]; smaller data shrinks the splits in proportion (with a warning).
    Re-running a prepared version changes nothing; set dataset.version to make new tables.
    """
    from streamsift.dataset.prepare import prepare_dataset

    r = prepare_dataset(STATE.settings(), raw_version=raw_version)
    verb = "prepared" if r.created else "already prepared"
    console.print(
        f"dataset version {r.version} {verb}: {r.raw_rows:,} raw → {r.dedup_rows:,} distinct in {r.dedup_table}"
    )
    table = Table("split", "table", "rows")
    from streamsift.dataset.prepare import split_table

    for split, n in r.sizes.items():
        table.add_row(split, split_table(split, r.version), f"{n:,}")
    console.print(table)


def _rich_progress_hook(bar: Progress):
    def hook(description: str, total: int | None):
        task = bar.add_task(description, total=total)
        if total is None:
            bar.update(task, completed=1, total=1)
        return lambda n: bar.advance(task, n)

    return hook


@label_app.callback()
def label_cmd(ctx: typer.Context) -> None:
    """Apply the labeling functions to every split, fit Snorkel's LabelModel on snorkel_train, store weak
    labels in PostgreSQL and as Parquet/CSV, and print the LF analysis with majority vote beside it."""
    if ctx.invoked_subcommand is not None:
        return
    from streamsift.labeling.pipeline import run_labeling

    s = STATE.settings()
    with _progress(None, "labeling") as bar:
        result = run_labeling(s, progress=_rich_progress_hook(bar))
    summary = result.lf_summary
    table = Table("labeling function", "polarity", "coverage", "overlaps", "conflicts", "emp. acc.")
    for name, r in summary.iterrows():
        acc = "" if r["emp_acc"] != r["emp_acc"] else f"{r['emp_acc']:.2f} ({int(r['correct'] + r['incorrect'])})"
        table.add_row(
            str(name),
            r["polarity"],
            f"{r['coverage']:.3f}",
            f"{r['overlaps']:.3f}",
            f"{r['conflicts']:.3f}",
            acc,
        )
    console.print(table)
    lm, mv = result.dev_scores["label_model"], result.dev_scores["majority"]

    def fmt(sc: dict) -> str:
        return f"{sc['accuracy']:.3f} on {sc['n']} golden dev labels" if sc["accuracy"] is not None else "no golden"

    console.print(
        f"LabelModel: {fmt(lm)}   majority vote: {fmt(mv)}   agreement between them: {result.agreement_lm_mv:.3f}"
    )
    console.print(f"weak labels from [bold]{result.chosen}[/bold] ({result.reason})")
    console.print(f"classes: {result.class_counts}   rows: {result.rows}")
    console.print(f"exports: {export_hint(result.exports)}   seconds: {result.seconds}")


@label_app.command("evaluate")
def label_evaluate_cmd() -> None:
    """Compare weak labels with the golden labels: accuracy, precision, recall, F1, confusion matrix,
    per-LF accuracy, LabelModel vs majority vote. Printed and written as JSON + Markdown."""
    from streamsift.labeling.evaluate import evaluate_labels

    r = evaluate_labels(STATE.settings())
    table = Table("split", "golden", "coverage", "accuracy", "macro F1", "weighted F1")
    for split, m in r["splits"].items():
        table.add_row(
            split,
            str(m["n"]),
            f"{m['coverage']:.3f}",
            f"{m['accuracy']:.3f}",
            f"{m['macro']['f1']:.3f}",
            f"{m['weighted']['f1']:.3f}",
        )
    console.print(table)
    for name, m in r["models"].items():
        console.print(f"{name:12s} accuracy {m['accuracy']:.3f}  macro F1 {m['macro']['f1']:.3f}")
    cm = r["splits"]["all"]["confusion_matrix"]
    console.print(f"confusion matrix (rows golden, columns weak; {cm['labels']}): {cm['matrix']}")
    console.print(f"report: {', '.join(r['files'])}")


@label_app.command("apply")
def label_apply_cmd(
    input_path: Annotated[Path, typer.Option("--input", "-i", help="JSONL with a 'text' field per line.")],
    output_path: Annotated[Path, typer.Option("--output", "-o", help="Where to write the labelled JSONL.")],
) -> None:
    """Weak-label a JSONL file: adds weak_label, weak_label_name and weak_prob to each record.

    Uses the LabelModel fitted by `streamsift label` when its LFs match, else fits one on the input.
    Records every LF abstains on get weak_label null; bad lines keep their place with an 'error'.
    """
    from streamsift.labeling.apply_file import apply_to_file

    with _progress(None, "labeling") as bar:
        task = bar.add_task("applying labeling functions", total=None)
        r = apply_to_file(STATE.settings(), input_path, output_path, on_rows=lambda n: bar.advance(task, n))
    console.print(
        f"{r.lines:,} records → {output_path}: {r.labelled:,} labelled, {r.abstained:,} with no LF vote, "
        f"{r.invalid:,} invalid, {r.truncated:,} truncated (model: {r.model})"
    )


web_app = typer.Typer(
    help="The annotation web UI: build the golden label column from the weakly labelled tables.",
    invoke_without_command=True,
)
app.add_typer(web_app, name="web")


@web_app.callback()
def web_cmd(
    ctx: typer.Context,
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: web.port).")] = None,
) -> None:
    """Serve the annotation UI on 127.0.0.1 (keyboard-first labelling, queues, agreement, export/import)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from streamsift.web.app import create_app
    from streamsift.web.auth import user_store

    s = STATE.settings()
    users = user_store(s.web)
    application = create_app(s, users=users)
    host, p = s.web.host, port or s.web.port
    from streamsift.infra.process import require_free_port

    require_free_port(host, p, service="the web UI", setting="web.port")
    if users.generated_password:
        err_console.print(
            "[yellow]development mode, no annotators configured:[/yellow] log in as [bold]admin[/bold] with the "
            f"one-time password [bold]{users.generated_password}[/bold] (set web.users for real accounts)"
        )
    console.print(f"annotation UI on http://{host}:{p}/  (API docs at /docs)")
    uvicorn.run(application, host=host, port=p, log_level="warning")


@web_app.command("hash-password")
def web_hash_password(
    user: Annotated[str, typer.Argument(help="The annotator's user name.")],
) -> None:
    """Print a password hash for web.users (the password is read from the terminal, or stdin if piped)."""
    import getpass

    from streamsift.web.auth import hash_password

    password = getpass.getpass(f"password for {user}: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise StreamsiftError("use a password of at least 8 characters")
    h = hash_password(password)
    console.print(f'[web.users]\n{user} = "{h}"', highlight=False, soft_wrap=True)


@web_app.command("assign")
def web_assign(
    table: Annotated[str, typer.Option(help="A split table, e.g. dev_dataset_0.")],
    annotators: Annotated[str, typer.Option(help="Comma-separated user names; each gets every item.")],
    count: Annotated[int, typer.Option(min=1, help="How many unlabelled items (most uncertain first).")] = 100,
) -> None:
    """Assign the same items to several annotators (their 'assigned' queue), for agreement and kappa."""
    from streamsift.web.store import AnnotationStore

    names = [a.strip() for a in annotators.split(",") if a.strip()]
    n = AnnotationStore(STATE.settings()).assign(table, names, count)
    console.print(f"assigned {n} items of {table} to {', '.join(names)}")


# -- train / models / predict ------------------------------------------------------------------------
models_app = typer.Typer(help="The model registry: list, show, promote, roll back.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@app.command("train")
def train_cmd() -> None:
    """Train the neural classifier on train_dataset_<v> (weak labels; golden where present) with the
    TF-IDF + logistic-regression baseline beside it, evaluate both on test, and register the model
    (ONNX + tokenizer + metrics + plots) as a new candidate version."""
    from streamsift.models.train import train

    s = STATE.settings()
    with _progress(None, "training") as bar:
        r = train(s, progress=_rich_progress_hook(bar))
    test = r.metrics["test"]
    table = Table("on test (" + test["labels"] + " labels)", "accuracy", "macro F1", "weighted F1", "ROC-AUC")
    # against weak test labels the weak labels are trivially perfect: compare them only on golden ones
    names = (
        ("neural", "baseline_tfidf_logreg", "weak_labels")
        if test["labels"] == "golden"
        else ("neural", "baseline_tfidf_logreg")
    )
    for name in names:
        m = test[name]
        auc = m.get("roc_auc")
        table.add_row(
            name,
            f"{m['accuracy']:.3f}",
            f"{m['macro']['f1']:.3f}",
            f"{m['weighted']['f1']:.3f}",
            "" if auc is None else f"{auc:.3f}",
        )
    console.print(table)
    console.print(f"registered {s.model.name} version {r.version} (candidate) at {r.path}")
    console.print(f"seconds: {r.seconds}; promote with `streamsift models promote {r.version}`")


@models_app.command("list")
def models_list_cmd() -> None:
    """Every version of the configured model with its stage and headline test metrics."""
    from streamsift.models.registry import list_models

    rows = list_models(STATE.settings())
    table = Table("version", "stage", "test labels", "neural macro F1", "baseline macro F1", "created")
    for r in rows:
        m = r["metrics"]
        table.add_row(
            str(r["version"]),
            r["stage"],
            str(m.get("test_labels")),
            f"{m['neural']['macro_f1']:.3f}",
            f"{m['baseline_tfidf_logreg']['macro_f1']:.3f}",
            r["created_at"].strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@models_app.command("show")
def models_show_cmd(version: Annotated[int, typer.Argument(help="The version to show.")]) -> None:
    """A version's registry entry and metrics (JSON)."""
    from streamsift.models.registry import get_model

    _print_json(get_model(STATE.settings(), version))


@models_app.command("promote")
def models_promote_cmd(version: Annotated[int, typer.Argument(help="The version to put in production.")]) -> None:
    """Put a version in production (the previous one is archived) and announce it on models.events."""
    from streamsift.models.registry import promote

    e = promote(STATE.settings(), version)
    console.print(f"{e['name']} version {e['version']} is in production (was {e['previous_version']}); event sent")


@models_app.command("rollback")
def models_rollback_cmd() -> None:
    """Re-promote the version that was in production before the current one."""
    from streamsift.models.registry import rollback

    e = rollback(STATE.settings())
    console.print(
        f"rolled back: {e['name']} version {e['version']} is in production again "
        f"(was {e['previous_version']}); event sent"
    )


@app.command("predict")
def predict_cmd(
    input_path: Annotated[
        Path | None, typer.Option("--input", "-i", help="JSONL with a 'text' field per line.")
    ] = None,
    output_path: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the scored JSONL.")] = None,
    table: Annotated[
        str | None,
        typer.Option(
            help="Instead of a file: score a split table (e.g. dev_dataset_0) into its model_* columns, "
            "which the annotation UI's uncertain queue then uses."
        ),
    ] = None,
    model_version: Annotated[int | None, typer.Option(help="Score with this version (default: production).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per ONNX Runtime call.")] = 1024,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Processes that tokenize and score.")] = 2,
) -> None:
    """Score a JSONL file with the production model (or --model-version) using ONNX Runtime, in batches
    (bounded memory); adds label, probability and model_version to each record."""
    from streamsift.models.predict import predict_file, score_table

    if table is not None:
        if input_path or output_path:
            raise typer.BadParameter("use either --table or --input/--output", param_hint="--table")
        with _progress(None, "scoring") as bar:
            task = bar.add_task(f"scoring {table}", total=None)
            n, v = score_table(STATE.settings(), table, version=model_version, on_rows=lambda k: bar.advance(task, k))
        console.print(f"scored {n:,} rows of {table} with version {v} (model_label, model_prob, model_version)")
        return
    if input_path is None or output_path is None:
        raise typer.BadParameter("give --input and --output (or --table)", param_hint="--input")
    with _progress(None, "scoring") as bar:
        task = bar.add_task("scoring", total=None)
        r = predict_file(
            STATE.settings(),
            input_path,
            output_path,
            version=model_version,
            batch_size=batch_size,
            on_rows=lambda n: bar.advance(task, n),
        )
    console.print(
        f"{r.records:,} records → {output_path}: {r.scored:,} scored with version {r.version}, "
        f"{r.errors:,} with an error, {r.truncated:,} truncated"
    )


def export_hint(paths: list[str]) -> str:
    return str(Path(paths[0]).parent) if paths else "-"


# -- config ----------------------------------------------------------------------------------
@config_app.command("show")
def config_show() -> None:
    """Print the effective settings (file + environment + defaults) as JSON; secrets are masked."""
    _print_json(redacted_dump(STATE.settings()))


def _log_traceback(exc: BaseException) -> Path | None:
    """Put the whole traceback in the log file (not on the terminal); returns the file."""
    from streamsift.logs import log_file_path

    log.error("command failed: %s", exc, exc_info=exc, extra={"file_only": True})
    return log_file_path()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning streamsift errors into one line and an exit code."""
    try:
        rv = app(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except StreamsiftError as exc:
        _log_traceback(exc)
        if STATE.verbose:
            err_console.print_exception()
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - last resort, still one line
        logged = _log_traceback(exc)
        if STATE.verbose:
            err_console.print_exception()
        where = f"in {logged}; " if logged else ""
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        sys.stderr.write(f"error: unexpected {type(exc).__name__}: {first} (traceback {where}--verbose prints it)\n")
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
