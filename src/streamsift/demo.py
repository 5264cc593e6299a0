"""``streamsift demo``: the whole loop in one call, on the built-in synthetic stream.

infra up → produce → ingest (Spark) → dataset prepare → weak labels (Snorkel) → train → promote →
model server, live-classification worker and web app in the background → more tweets streamed
through live classification → the dry-run retweet action → a report of every stage.

Every stage is an importable function used as it is; this module only runs them in order, times
them and names the stage (and its log file) when one fails. The background services are
:mod:`streamsift.infra.services`: they stop at the end unless ``keep_running`` (then
``streamsift infra down`` stops them with Kafka and PostgreSQL).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from streamsift.config import Settings
from streamsift.errors import StreamsiftError

log = logging.getLogger(__name__)

Progress = Callable[[str, int | None], Callable[[int], None]]
STAGES = (
    "infra",
    "produce",
    "ingest",
    "prepare",
    "label",
    "train",
    "promote",
    "services",
    "classify",
    "live stream",
    "act",
    "serve",
)
DEMO_USER = "demo"


class DemoError(StreamsiftError):
    """A stage of the demo failed (the message names it, the hint its log file)."""


@dataclass
class StageResult:
    """One row of the summary table."""

    stage: str
    rows: int | None
    seconds: float
    detail: str
    #: Rows per second when not rows / seconds (e.g. measured over the busy time of a service).
    rate: float | None = None

    @property
    def per_second(self) -> float | None:
        if self.rate is not None:
            return round(self.rate, 1)
        return round(self.rows / self.seconds, 1) if self.rows and self.seconds > 0 else None


@dataclass
class DemoReport:
    stages: list[StageResult] = field(default_factory=list)
    agreement_label_model_vs_majority: float | None = None
    model: dict[str, Any] = field(default_factory=dict)
    dashboard_url: str = ""
    login: dict[str, Any] = field(default_factory=dict)
    services: dict[str, int] = field(default_factory=dict)
    #: The background services this run started (those already running are left as they are).
    started: list[str] = field(default_factory=list)
    kept_running: bool = False
    state_dir: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stages"] = [{**asdict(s), "per_second": s.per_second} for s in self.stages]
        return d


@dataclass
class DemoOptions:
    #: Synthetic tweets for the training half: the default fills every split (test 1,000, dev 500,
    #: snorkel_train 10,000, the rest train) after duplicates and malformed records are dropped.
    count: int = 50_000
    seed: int = 0
    #: Tweets streamed through live classification once the model is in production, and their pace.
    live_count: int = 5_000
    live_rate: float = 1_000.0
    keep_running: bool = False
    #: ``synthetic``, or ``bluesky``: the live Jetstream firehose (needs internet) for ``duration_s``
    #: to build the model and ``live_duration_s`` through live classification.
    source: str = "synthetic"
    duration_s: float = 300.0
    live_duration_s: float = 60.0
    #: bluesky: a Jetstream endpoint instead of bluesky.jetstream_url and its fallbacks.
    url: str | None = None
    #: How long to wait for live classification to catch up.
    classify_timeout_s: float = 300.0


class _Runner:
    """Runs the stages in order: announces each, times it, turns a failure into a :class:`DemoError`."""

    def __init__(self, settings: Settings, report: DemoReport, on_stage: Callable[[int, int, str], None]):
        self.settings, self.report, self.on_stage = settings, report, on_stage
        self.i = 0

    @contextlib.contextmanager
    def stage(self, name: str, *logs: Path) -> Iterator[StageResult]:
        self.i += 1
        self.on_stage(self.i, len(STAGES), name)
        result = StageResult(name, None, 0.0, "")
        t0 = time.perf_counter()
        try:
            yield result
        except Exception as exc:
            where = " and ".join(str(p) for p in (logs or (self._main_log(),)))
            message = str(exc.args[0]) if exc.args else type(exc).__name__
            hint = getattr(exc, "hint", None)
            if not hint or ".log" not in hint:  # name the log file unless the error already does
                hint = f"{hint + '; ' if hint else ''}log: {where}"
            raise DemoError(f"stage {self.i}/{len(STAGES)} ({name}) failed: {message}", hint=hint) from exc
        result.seconds = round(time.perf_counter() - t0, 2)
        self.report.stages.append(result)
        log.info("demo stage %s done in %.1f s: %s", name, result.seconds, result.detail)

    def _main_log(self) -> Path:
        return self.settings.state.root / "logs" / "streamsift.log"


def run_demo(
    settings: Settings,
    options: DemoOptions | None = None,
    *,
    progress: Progress | None = None,
    on_stage: Callable[[int, int, str], None] | None = None,
) -> DemoReport:
    """Run the whole loop; returns the report. Background services stop at the end unless
    ``options.keep_running``; so does the infrastructure, if this call started it."""
    from streamsift.infra import down, up
    from streamsift.infra.services import stop_services

    opts = options or DemoOptions()
    progress = progress or (lambda _d, _t: lambda _n: None)
    report = DemoReport(state_dir=str(settings.state.root), kept_running=opts.keep_running)
    run = _Runner(settings, report, on_stage or (lambda _i, _n, _s: None))
    t0 = time.perf_counter()
    started_infra = not _infra_running(settings)  # then this run stops it again, even after a half start
    try:
        with run.stage("infra", *_infra_logs(settings)) as st:
            up(settings)
            st.detail = (
                f"Kafka {settings.kafka.bootstrap}, PostgreSQL "
                f"{settings.postgres.host}:{settings.postgres.port} "
                f"({'started' if started_infra else 'already running'})"
            )
        _build_model(run, settings, opts, progress, report)
        _go_live(run, settings, opts, progress, report)
    finally:
        if not opts.keep_running:
            stop_services(settings, report.started)
            if started_infra:
                down(settings)
    report.seconds = round(time.perf_counter() - t0, 1)
    return report


def _infra_running(settings: Settings) -> bool:
    from streamsift.infra.manager import Infra

    infra = Infra(settings)
    return infra.kafka.status().running and infra.postgres.status().running


def _infra_logs(settings: Settings) -> list[Path]:
    from streamsift.infra.manager import Infra

    infra = Infra(settings)
    return [infra.kafka.log_file, infra.postgres.log_file]


def _build_model(run: _Runner, settings: Settings, opts: DemoOptions, progress: Progress, report: DemoReport) -> None:
    """produce → ingest → prepare → label → train → promote."""
    from streamsift.dataset.prepare import prepare_dataset
    from streamsift.infra.spark import spark_log_file
    from streamsift.ingest.producer import produce
    from streamsift.ingest.spark_job import run_ingest
    from streamsift.labeling.pipeline import run_labeling
    from streamsift.models.registry import promote
    from streamsift.models.train import train
    from streamsift.sources.synthetic import SyntheticSource
    from streamsift.store.tables import raw_table

    topic = settings.kafka.topic_raw
    with run.stage("produce") as st:
        if opts.source == "bluesky":
            advance = progress(f"Bluesky Jetstream → {topic} for {opts.duration_s:.0f} s", None)
            with _jetstream(settings, opts, opts.duration_s, resume=False) as src:  # from now on
                p = produce(iter(src), settings.kafka, settings.producer, on_progress=advance)
            what = f"new Bluesky posts in {opts.duration_s:.0f} s"
        else:
            advance = progress(f"synthetic → {topic}", opts.count)
            source = iter(SyntheticSource(opts.count, opts.seed))
            p = produce(source, settings.kafka, settings.producer, on_progress=advance)
            what = f"synthetic (seed {opts.seed})"
        st.rows, st.detail = p.delivered, f"{p.bytes / 1e6:.1f} MB to {topic}: {what}"
    table = raw_table(settings.dataset.prefix, settings.dataset.version)
    with run.stage("ingest", spark_log_file(settings), run._main_log()) as st:
        progress(f"Spark: {topic} → {table}", None)
        d = run_ingest(settings, until_idle=True).to_dict()
        st.rows = d["messages"]
        st.detail = (
            f"{d['inserted']:,} new tweets in {table}, {d['duplicates']:,} duplicates, "
            f"{d['dead_letters']:,} dead letters, {d['urls']:,} links"
        )
    with run.stage("prepare") as st:
        prep = prepare_dataset(settings)
        st.rows = prep.dedup_rows
        sizes = " · ".join(f"{k} {v:,}" for k, v in prep.sizes.items())
        st.detail = f"distinct tweets split: {sizes}" + ("" if prep.created else " (already prepared)")
    with run.stage("label") as st:
        lab = run_labeling(settings, progress=progress)
        st.rows = sum(lab.labelled.values())
        report.agreement_label_model_vs_majority = round(lab.agreement_lm_mv, 4)
        st.detail = (
            f"{len(lab.lfs)} labeling functions, {lab.chosen} chosen; "
            f"LabelModel vs majority vote agree on {lab.agreement_lm_mv:.1%}"
        )
    with run.stage("train") as st:
        trained = train(settings, progress=progress)
        test = trained.metrics["test"]
        st.rows = int(trained.metrics["train"]["rows"])
        report.model = _model_summary(trained.version, test)
        st.detail = (
            f"version {trained.version}: neural macro-F1 {report.model['neural_macro_f1']:.3f}, "
            f"TF-IDF baseline {report.model['baseline_macro_f1']:.3f} on {report.model['test_rows']:,} test rows "
            f"({report.model['test_labels']} labels)"
        )
    with run.stage("promote") as st:
        ev = promote(settings, trained.version)
        st.detail = f"{settings.model.name} version {ev['version']} → production (was {ev['previous_version']})"


def _model_summary(version: int, test: dict[str, Any]) -> dict[str, Any]:
    def f1(key: str) -> float | None:
        m = test.get(key)
        return round(m["macro"]["f1"], 4) if isinstance(m, dict) and "macro" in m else None

    return {
        "version": version,
        "test_labels": test.get("labels"),
        "test_rows": int(test["n"]),
        "neural_macro_f1": f1("neural"),
        "baseline_macro_f1": f1("baseline_tfidf_logreg"),
        "weak_labels_macro_f1": f1("weak_labels"),
    }


def _go_live(run: _Runner, settings: Settings, opts: DemoOptions, progress: Progress, report: DemoReport) -> None:
    """Model server, worker and web app up; more tweets through live classification; act; one predict call."""
    from streamsift.infra.process import read_pid
    from streamsift.infra.services import services, start_service
    from streamsift.ingest.producer import produce
    from streamsift.live.act import run_act
    from streamsift.sources.synthetic import SyntheticSource

    table = services(settings)
    with run.stage("services", *(table[n].log_file(settings) for n in ("serve", "worker", "web"))) as st:
        env = _web_login(settings, report, already=read_pid(table["web"].pid_file(settings)) is not None)
        for name in ("serve", "worker", "web"):
            progress(f"starting {name}", None)
            pid, started = start_service(settings, table[name], env=env if name == "web" else None)
            report.services[name] = pid
            if started:
                report.started.append(name)
            if name == "serve":
                since = _now(settings)  # the worker starts next, on the backlog
        report.dashboard_url = f"http://{settings.web.host}:{settings.web.port}/dashboard"
        st.detail = f"model server {table['serve'].address}, worker, web app {table['web'].address}"
    with run.stage("classify", table["worker"].log_file(settings)) as st:
        # The worker started on the whole topic: the training stream is its backlog.
        _wait_classified(settings, opts.classify_timeout_s, progress)
        c = _classified_since(settings, since)
        st.rows, st.rate = c["classified"] + c["dead"], c["per_second"]
        st.detail = f"worker: the backlog, {c['ai']:,} AI tweets, {c['dead']:,} dead letters (rate over its busy time)"
    since = _now(settings)
    with run.stage("live stream", table["worker"].log_file(settings)) as st:
        if opts.source == "bluesky":
            advance = progress(f"Bluesky Jetstream → {settings.kafka.topic_raw} for {opts.live_duration_s:.0f} s", None)
            with _jetstream(settings, opts, opts.live_duration_s, resume=True) as src:  # where it stopped
                p = produce(iter(src), settings.kafka, settings.producer, on_progress=advance)
            what = "new Bluesky posts"
        else:
            advance = progress(f"synthetic → {settings.kafka.topic_raw} at {opts.live_rate:,.0f}/s", opts.live_count)
            source = iter(SyntheticSource(opts.live_count, opts.seed + 1))
            p = produce(source, settings.kafka, settings.producer, rate=opts.live_rate, on_progress=advance)
            what = f"new tweets (seed {opts.seed + 1})"
        sent = time.perf_counter()
        _wait_classified(settings, opts.classify_timeout_s, progress)
        behind = time.perf_counter() - sent
        c = _classified_since(settings, since)
        st.rows = p.delivered
        st.detail = (
            f"{p.delivered:,} {what} at {p.rate:,.0f}/s: {c['ai']:,} AI tweets, "
            f"{c['dead']:,} dead letters; all classified {behind:.1f} s after the last was sent"
        )
    with run.stage("act") as st:
        a = run_act(settings, until_idle=True, dry_run=True).to_dict()
        st.rows = a["decided"] + a["skipped"]
        st.detail = f"dry run: {a['dry_run']:,} retweets recorded, {a['skipped']:,} skipped (no link / retweet)"
        if opts.keep_running:
            pid, started = start_service(settings, table["act"])
            report.services["act"] = pid
            if started:
                report.started.append("act")
    with run.stage("serve", table["serve"].log_file(settings)) as st:
        st.rows, st.detail = _predict_once(settings)


def _jetstream(settings: Settings, opts: DemoOptions, duration_s: float, *, resume: bool):
    """The Jetstream source of a Bluesky demo: English posts unless bluesky.languages says otherwise."""
    from streamsift.sources.bluesky import JetstreamSource

    bs = settings.bluesky if settings.bluesky.languages else settings.bluesky.model_copy(update={"languages": ["en"]})
    urls = [opts.url] if opts.url else None
    return JetstreamSource(bs, settings.state.root, urls=urls, duration_s=duration_s, resume=resume)


def _web_login(settings: Settings, report: DemoReport, *, already: bool) -> dict[str, str]:
    """The web app's login: the configured web.users, else a ``demo`` account made now, its password
    in ``<state>/run/web-login.txt`` (mode 600); the environment the web app needs for it. A web app
    that runs already keeps the accounts it was started with."""
    if settings.web.users:
        report.login = {"users": sorted(settings.web.users), "password": None, "note": "your web.users accounts"}
        return {}
    path = settings.state.root / "run" / "web-login.txt"
    if already:
        report.login = {"users": [DEMO_USER], "password": None, "file": str(path), "note": "already running"}
        return {}
    import json

    from streamsift.web.auth import hash_password

    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a file that exists
    with os.fdopen(fd, "w") as fh:
        fh.write(f"user {DEMO_USER}\npassword {password}\n")
    report.login = {"users": [DEMO_USER], "password": password, "file": str(path)}
    return {"STREAMSIFT_WEB__USERS": json.dumps({DEMO_USER: hash_password(password)})}


def _now(settings: Settings):
    from streamsift.store.connection import connect

    with connect(settings.postgres) as conn:
        return conn.execute("SELECT clock_timestamp()").fetchone()[0]


def _wait_classified(settings: Settings, timeout_s: float, progress: Progress) -> None:
    """Until the worker's consumer group has classified everything in the raw topic."""
    from streamsift.live.worker import group_lag

    deadline = time.monotonic() + timeout_s
    left = group_lag(settings)
    if left == 0:
        return
    advance = progress("worker catching up (records behind)", left)
    while left > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker still had {left:,} records to classify after {timeout_s:.0f} s")
        time.sleep(0.5)
        now = group_lag(settings)
        advance(max(left - now, 0))
        left = now


def _classified_since(settings: Settings, since) -> dict[str, Any]:
    """What the worker recorded in ``classify_batches`` since ``since``; its rate is the steady one,
    between the ends of its first and last batch (the first batch also paid for start-up)."""
    from streamsift.store.connection import connect

    with connect(settings.postgres) as conn:
        rows = conn.execute(
            """SELECT classified, ai, dead, at FROM classify_batches
               WHERE source = 'worker' AND at >= %s ORDER BY at""",
            (since,),
        ).fetchall()
    c, a, d = (sum(r[i] for r in rows) for i in range(3))
    busy = (rows[-1][3] - rows[0][3]).total_seconds() if len(rows) > 1 else 0.0
    after_first = c + d - (rows[0][0] + rows[0][2] if rows else 0)
    return {"classified": c, "ai": a, "dead": d, "per_second": after_first / busy if busy > 0 else None}


def _predict_once(settings: Settings) -> tuple[int, str]:
    """One TF Serving REST call to the model server, as any client would make it."""
    import httpx

    base = f"http://{settings.serving.host}:{settings.serving.port}"
    texts = [
        "New paper: a transformer that learns from weak labels https://arxiv.org/abs/2001.00001 #MachineLearning",
        "Lovely walk on the beach with the dog this morning",
    ]
    t0 = time.perf_counter()
    r = httpx.post(f"{base}/v1/models/{settings.model.name}:predict", json={"instances": texts}, timeout=30)
    ms = (time.perf_counter() - t0) * 1000
    r.raise_for_status()
    preds = r.json()["predictions"]
    answers = ", ".join(f"{p['label']} ({max(p['probabilities']):.2f})" for p in preds)
    return len(preds), f"TF Serving REST {base}/v1/models/{settings.model.name}:predict in {ms:.0f} ms: {answers}"
