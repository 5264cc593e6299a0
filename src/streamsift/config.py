"""One typed settings tree, read once at the process edge.

Sources, highest priority first:

1. keyword arguments to :func:`load_settings` (tests, library users),
2. ``STREAMSIFT_*`` environment variables, nested with ``__``
   (``STREAMSIFT_KAFKA__PORT=19092`` sets ``kafka.port``),
3. the TOML file (``streamsift.toml`` in the working directory, or the path
   given by ``--config`` / ``STREAMSIFT_CONFIG``),
4. the defaults below.

Secrets (the database password, the X API bearer token) are ``SecretStr``:
they are only accepted from the environment, and never printed.
Inner code receives the frozen :class:`Settings` (or one of its sections) and
never reads the environment itself.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from streamsift.errors import ConfigError
from streamsift.store.tables import validate_identifier

DEFAULT_CONFIG_FILE = "streamsift.toml"
ENV_PREFIX = "STREAMSIFT_"
#: Keys that hold secrets: refused in the TOML file, accepted from the environment only.
SECRET_KEYS = {
    ("postgres", "password"),
    ("x_bearer_token",),
    ("x_user_token",),
    ("x_api", "bearer_token"),
    ("web", "secret_key"),
    ("bluesky_app_password",),
    ("mastodon_token",),
}

Port = int


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError("must be a TCP port between 1 and 65535")
    return value


class StateSettings(_Section):
    """Where runtime state lives: server data, logs, pid files, checkpoints, exports."""

    dir: Path = Path(".streamsift")

    @property
    def root(self) -> Path:
        return self.dir.expanduser().resolve()


class KafkaSettings(_Section):
    """Apache Kafka: the embedded KRaft broker, or an external cluster."""

    bootstrap_servers: str | None = Field(
        default=None,
        description="External cluster (host:port,...). When empty, streamsift runs its own broker.",
    )
    host: str = "127.0.0.1"
    port: Port = 9092
    controller_port: Port = 9093
    heap: str = Field(default="512m", pattern=r"^\d+[mg]$")
    partitions: int = Field(default=3, ge=1, le=1000)
    topic_raw: str = "tweets.raw"
    topic_deadletter: str = "tweets.deadletter"
    topic_predictions: str = "tweets.predictions"
    topic_model_events: str = "models.events"
    start_timeout_s: float = Field(default=90.0, gt=0)

    _ports = field_validator("port", "controller_port")(_check_port)

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, v: str) -> str:
        if v not in {"127.0.0.1", "localhost"}:
            raise ValueError("the embedded broker binds to loopback only: use 127.0.0.1")
        return v

    @property
    def embedded(self) -> bool:
        return not self.bootstrap_servers

    @property
    def bootstrap(self) -> str:
        return self.bootstrap_servers or f"{self.host}:{self.port}"

    @property
    def topics(self) -> list[str]:
        return [self.topic_raw, self.topic_deadletter, self.topic_predictions, self.topic_model_events]


class PostgresSettings(_Section):
    """PostgreSQL: the embedded server from the pip wheel, or an external one by URL."""

    url: str | None = Field(
        default=None,
        description="External server, e.g. postgresql://user@host:5432/streamingdb (password from "
        "STREAMSIFT_POSTGRES__PASSWORD). When empty, streamsift runs its own server.",
    )
    host: str = "127.0.0.1"
    port: Port = 5432
    database: str = "streamingdb"
    user: str = "streamsift"
    password: SecretStr | None = None
    connect_timeout_s: int = Field(default=5, ge=1)

    _ports = field_validator("port")(_check_port)

    @field_validator("database", "user")
    @classmethod
    def _identifier(cls, v: str) -> str:
        return validate_identifier(v)

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, v: str | None) -> str | None:
        if v and not v.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql://")
        if v and "@" in v.split("//", 1)[1].split("/", 1)[0] and ":" in v.split("//", 1)[1].split("@")[0]:
            raise ValueError("must not contain a password: set STREAMSIFT_POSTGRES__PASSWORD instead")
        return v

    @property
    def embedded(self) -> bool:
        return not self.url


class SparkSettings(_Section):
    """Apache Spark: the session factory used by every Spark job."""

    master: str = "local[*]"
    app_name: str = "streamsift"
    driver_memory: str = Field(default="2g", pattern=r"^\d+[mg]$")
    shuffle_partitions: int = Field(default=4, ge=1)
    ui_enabled: bool = False
    log_level: str = "WARN"
    extra_conf: dict[str, str] = Field(default_factory=dict)
    #: Web UI of a standalone master (``spark://`` in ``master``); ``infra status`` reads its ``/json/``.
    #: Empty: the (first) master host, port 8080.
    master_web_ui_url: str | None = None

    @field_validator("master_web_ui_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v

    @property
    def standalone(self) -> bool:
        """True when ``master`` is a Spark standalone cluster (``spark://host:port``)."""
        return self.master.startswith("spark://")

    @property
    def master_web_ui(self) -> str | None:
        """The standalone master's web UI URL (None for other masters)."""
        if self.master_web_ui_url:
            return self.master_web_ui_url.rstrip("/")
        if not self.standalone:
            return None
        host = self.master.removeprefix("spark://").split(",")[0].strip().rsplit(":", 1)[0]
        return f"http://{host}:8080"


class DatasetSettings(_Section):
    """Versioned datasets: table names are ``<prefix>_<version>``."""

    prefix: str = "raw_tweet_dataset"
    version: int = Field(default=0, ge=0)
    test_size: int = Field(default=1000, ge=0)
    dev_size: int = Field(default=500, ge=0)
    snorkel_train_size: int = Field(default=10_000, ge=0)
    seed: int = 42

    @field_validator("prefix")
    @classmethod
    def _identifier(cls, v: str) -> str:
        return validate_identifier(v)


class LabelingSettings(_Section):
    """Weak supervision: the label space and user labeling functions."""

    classes: list[str] = Field(default_factory=lambda: ["not_ai", "ai"], min_length=2)
    #: Importable modules whose Snorkel labeling functions are used besides (or instead of) the built-ins.
    lf_modules: list[str] = Field(default_factory=list)
    #: The built-in AI / data-science LFs; they need the default binary classes ["not_ai", "ai"].
    builtin_lfs: bool = True
    #: Which weak labels are stored: the LabelModel, majority vote, or "auto" (the better on golden dev labels).
    model: Literal["auto", "label_model", "majority"] = "auto"
    epochs: int = Field(default=500, ge=1)
    learning_rate: float = Field(default=0.01, gt=0)
    seed: int = 42
    #: Processes used to apply LFs to big tables (1 = in process).
    workers: int = Field(default=2, ge=1, le=64)
    #: Minimum golden dev labels before "auto" trusts them to choose between the models.
    min_golden_for_auto: int = Field(default=30, ge=1)

    @field_validator("classes")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("class names must be unique")
        return v


class ModelSettings(_Section):
    """Model training and the model store."""

    name: str = "tweet-classifier"
    models_dir: Path = Path("models")
    #: Texts are cut to this many characters before tokenizing (X's maximum is 25,000).
    max_chars: int = Field(default=2000, ge=16)
    #: Tokens per text the network sees (a tweet has ~25; longer texts are cut).
    max_tokens: int = Field(default=64, ge=8, le=1024)
    max_vocab: int = Field(default=50_000, ge=100)
    #: Buckets for words outside the vocabulary and for word bigrams (hashed).
    hash_buckets: int = Field(default=1 << 16, ge=16)
    bigram_buckets: int = Field(default=1 << 18, ge=16)
    dim: int = Field(default=32, ge=4)
    hidden: int = Field(default=32, ge=2)
    #: At most this many passes over the training rows ...
    epochs: int = Field(default=8, ge=1)
    #: ... but at least this many optimiser steps, however small the data.
    min_steps: int = Field(default=300, ge=1)
    #: Score dev every N steps; stop when the smoothed dev score has not improved for patience_steps.
    eval_every: int = Field(default=50, ge=1)
    patience_steps: int = Field(default=600, ge=1)
    batch_size: int = Field(default=256, ge=8)
    learning_rate: float = Field(default=3e-3, gt=0)
    #: Class-balanced loss: weights (n / (k * n_class)) ** class_balance; 0 = off, 1 = fully balanced.
    class_balance: float = Field(default=0.5, ge=0, le=1)
    #: Weight of a golden label in train (a weak label weighs its probability, at most 1).
    golden_weight: float = Field(default=5.0, gt=0)
    #: Weight each training example by the probability of its weak label.
    weight_by_prob: bool = True
    seed: int = 42


class ServingSettings(_Section):
    """The model server (``streamsift serve``): TF Serving REST and the Open Inference Protocol v2."""

    host: str = "127.0.0.1"
    port: Port = 8501
    #: uvicorn worker processes (each loads the model, batches, caches and logs on its own).
    workers: int = Field(default=1, ge=1, le=64)
    #: Micro-batching: one ONNX Runtime call takes at most this many texts...
    max_batch_size: int = Field(default=256, ge=1)
    #: ...and waits at most this long for more requests after the first one arrived (0: no waiting;
    #: requests that arrive while the model runs still share the next call).
    max_batch_wait_ms: float = Field(default=0.0, ge=0)
    #: Texts waiting for the model beyond this: new requests get 503 + Retry-After.
    max_queue_texts: int = Field(default=16_384, ge=1)
    #: Texts one request may send.
    max_instances: int = Field(default=1024, ge=1)
    #: LRU cache of predictions keyed by (model version, normalised text); 0 = off.
    cache_size: int = Field(default=100_000, ge=0)
    #: Model versions kept loaded (production, pinned ones, the newest candidate).
    max_resident_versions: int = Field(default=3, ge=1)
    #: Fallback to the ``models.events`` topic: look at the registry this often (0 = never).
    registry_poll_s: float = Field(default=30.0, ge=0)
    #: Every prediction to PostgreSQL's ``inference_log`` (asynchronous, COPY in batches).
    inference_log: bool = True
    #: Rows waiting for PostgreSQL beyond this are dropped and counted (``/metrics``).
    log_buffer_rows: int = Field(default=200_000, ge=1)
    log_flush_ms: float = Field(default=500.0, gt=0)
    #: Environment variable holding the bearer token for predict and admin routes (unset: no auth).
    auth_token_env: str = "STREAMSIFT_SERVE_TOKEN"
    #: One JSON line per request on stdout (request id, route, status, milliseconds).
    access_log: bool = True

    _ports = field_validator("port")(_check_port)


class WebSettings(_Section):
    """The annotation UI and dashboard."""

    host: str = "127.0.0.1"
    port: Port = 8000
    #: "production" refuses to start without configured users and a secret key.
    mode: Literal["development", "production"] = "development"
    #: user name → password hash (make one with `streamsift web hash-password`); never plain passwords.
    users: dict[str, str] = Field(default_factory=dict)
    #: Signs session cookies. Environment only (STREAMSIFT_WEB__SECRET_KEY); random per process when empty.
    secret_key: SecretStr | None = None
    session_hours: float = Field(default=12.0, gt=0)

    _ports = field_validator("port")(_check_port)

    @field_validator("users")
    @classmethod
    def _hashed(cls, v: dict[str, str]) -> dict[str, str]:
        for name, h in v.items():
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
                raise ValueError(f"user name {name!r}: use letters, digits, '_', '.', '-'")
            if not h.startswith("scrypt$"):
                raise ValueError(
                    f"user {name!r}: expected a password hash from `streamsift web hash-password`, not a plain password"
                )
        return v


class IngestSettings(_Section):
    """``streamsift ingest``: Kafka into the raw table, by Spark Structured Streaming or a consumer group."""

    #: ``spark``: Spark Structured Streaming (runs on a cluster too). ``kafka``: a Kafka consumer group
    #: of ``workers`` processes, no JVM — the same sink; on one machine a steady stream lands ~1.4×
    #: faster with half the lag (docs/benchmarks.md). Both write exactly once.
    engine: Literal["spark", "kafka"] = "spark"
    #: Kafka engine: consumer processes (0: one per CPU core). More than the topic's partitions idle.
    workers: int = Field(default=0, ge=0)
    #: Kafka engine: records per batch (one PostgreSQL transaction, then one offset commit).
    batch_size: int = Field(default=5_000, ge=1)
    #: Kafka engine: the consumer group is ``<group_prefix>-<raw table>`` (its offsets are the job's
    #: progress, as the Spark engine's checkpoint is, per table).
    group_prefix: str = "streamsift-ingest"
    #: How a new raw table stores the ``raw`` JSON: ``auto`` (lz4 where the server has it, else
    #: ``none``), ``lz4``, ``pglz`` (PostgreSQL's default: the smallest, and the most CPU — about half
    #: of ingest's database time on real-size tweets) or ``none`` (~2.5× the disk of ``pglz``).
    raw_compression: Literal["auto", "lz4", "pglz", "none"] = "auto"
    max_offsets_per_trigger: int = Field(default=50_000, ge=1)
    trigger_interval: str = Field(default="2 seconds")
    starting_offsets: Literal["earliest", "latest"] = "earliest"
    #: How long the sink retries transient PostgreSQL errors (connection lost, server restarting,
    #: serialization failure, deadlock) with backoff before the query fails. 0: fail at once.
    sink_retry_s: float = Field(default=300.0, ge=0)


class ClassifySettings(_Section):
    """Live classification: ``streamsift classify`` (Spark) and ``streamsift worker`` (Kafka consumer group)."""

    #: The class whose probability decides what is stored in ``ai_tweets``...
    positive_class: str = "ai"
    #: ...when it is at least this.
    threshold: float = Field(default=0.5, ge=0, le=1)
    #: Texts per model call (the worker's poll size; Spark cuts its Arrow batches to it).
    batch_size: int = Field(default=2048, ge=1)
    #: The worker's consumer group (Spark keeps its own position in its checkpoint).
    group_id: str = "streamsift-classify"
    max_offsets_per_trigger: int = Field(default=50_000, ge=1)
    trigger_interval: str = Field(default="1 second")
    starting_offsets: Literal["earliest", "latest"] = "earliest"
    #: ``--mode remote``: the model server to call, texts per request, timeout, retries.
    server_url: str = "http://127.0.0.1:8501"
    remote_batch: int = Field(default=256, ge=1)
    remote_timeout_s: float = Field(default=10.0, gt=0)
    remote_retries: int = Field(default=5, ge=0)
    #: Consecutive failed calls that open the circuit (no calls for ``circuit_reset_s``).
    circuit_failures: int = Field(default=5, ge=1)
    circuit_reset_s: float = Field(default=10.0, gt=0)
    #: How long the sinks retry a PostgreSQL outage before the stage fails.
    sink_retry_s: float = Field(default=300.0, ge=0)


class ProducerSettings(_Section):
    """The Kafka producer every source writes through."""

    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "lz4"
    linger_ms: int = Field(default=20, ge=0)
    batch_size: int = Field(default=262_144, ge=1)


class XApiSettings(_Section):
    """The X API v2 filtered stream source."""

    base_url: str = "https://api.x.com"
    bearer_token: SecretStr | None = None
    rules: list[str] = Field(
        default_factory=lambda: [
            '(AI OR "artificial intelligence" OR "machine learning" OR "deep learning" '
            'OR "data science" OR LLM OR NLP OR "neural network") has:links -is:retweet',
            "(news OR sports OR music OR food OR travel) lang:en",
        ]
    )
    max_backoff_s: float = Field(default=320.0, gt=0)
    #: The account that retweets (``streamsift act``): its numeric user id. Its OAuth 2.0 user-context
    #: token comes from ``STREAMSIFT_X_USER_TOKEN`` (never from the file).
    user_id: str | None = Field(default=None, pattern=r"^\d+$")


JETSTREAM_HOSTS = (
    "jetstream2.us-east.bsky.network",
    "jetstream1.us-east.bsky.network",
    "jetstream1.us-west.bsky.network",
    "jetstream2.us-west.bsky.network",
)


class BlueskySettings(_Section):
    """``produce --source bluesky`` (Jetstream) and reposting on Bluesky (``act``)."""

    #: The Jetstream endpoint to read first (any instance, a local one included).
    jetstream_url: str = f"wss://{JETSTREAM_HOSTS[0]}/subscribe"
    #: Tried in turn when the current one fails (the other public instances; [] for none).
    fallback_urls: list[str] = Field(default_factory=lambda: [f"wss://{h}/subscribe" for h in JETSTREAM_HOSTS[1:]])
    #: Keep only posts in these languages (the post's ``langs``); empty: every language.
    languages: list[str] = Field(default_factory=list)
    #: Keep only posts whose text or links contain one of these (case-insensitive); empty: every post.
    keywords: list[str] = Field(default_factory=list)
    #: A restart resumes this many seconds before the last event delivered to Kafka (the sinks
    #: absorb the duplicates).
    cursor_overlap_s: float = Field(default=5.0, ge=0)
    max_backoff_s: float = Field(default=60.0, gt=0)
    #: Ask for compressed frames: permessage-deflate (RFC 7692), which Jetstream v2 offers; a server
    #: that does not sends them plain. (v1's zstd needs Jetstream's own dictionary, not shipped.)
    compress: bool = False
    #: Reposting: the PDS, and the account (its app password comes from STREAMSIFT_BLUESKY_APP_PASSWORD).
    pds_url: str = "https://bsky.social"
    handle: str | None = None

    @field_validator("jetstream_url", "fallback_urls")
    @classmethod
    def _websocket(cls, v: str | list[str]) -> str | list[str]:
        for url in [v] if isinstance(v, str) else v:
            if not url.startswith(("ws://", "wss://")):
                raise ValueError(f"{url!r}: a Jetstream URL starts with wss:// (or ws:// for a local one)")
        return v


class MastodonSettings(_Section):
    """``produce --source mastodon``: the streaming API of one instance (token: STREAMSIFT_MASTODON_TOKEN)."""

    url: str = "https://mastodon.social"
    #: public, public:local or public:remote (add ":media" for posts with media only)
    stream: Literal["public", "public:local", "public:remote"] = "public"
    languages: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    max_backoff_s: float = Field(default=60.0, gt=0)


class ActSettings(_Section):
    """``streamsift act``: retweet every AI tweet that carries a link, exactly once."""

    #: Look for new AI tweets this often (seconds) when running continuously.
    poll_s: float = Field(default=5.0, gt=0)
    #: Attempts per tweet on server errors / network failures before it is marked failed.
    max_attempts: int = Field(default=5, ge=1)
    #: Longest single wait for the rate limit to reset (X's window is 15 minutes).
    max_wait_s: float = Field(default=900.0, gt=0)
    request_timeout_s: float = Field(default=10.0, gt=0)


class Settings(BaseSettings):
    """The whole settings tree. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    state: StateSettings = StateSettings()
    kafka: KafkaSettings = KafkaSettings()
    postgres: PostgresSettings = PostgresSettings()
    spark: SparkSettings = SparkSettings()
    dataset: DatasetSettings = DatasetSettings()
    labeling: LabelingSettings = LabelingSettings()
    model: ModelSettings = ModelSettings()
    serving: ServingSettings = ServingSettings()
    web: WebSettings = WebSettings()
    ingest: IngestSettings = IngestSettings()
    classify: ClassifySettings = ClassifySettings()
    act: ActSettings = ActSettings()
    producer: ProducerSettings = ProducerSettings()
    x_api: XApiSettings = XApiSettings()
    bluesky: BlueskySettings = BlueskySettings()
    mastodon: MastodonSettings = MastodonSettings()
    #: ``STREAMSIFT_BLUESKY_APP_PASSWORD``: the reposting account's app password (``streamsift act``).
    bluesky_app_password: SecretStr | None = None
    #: ``STREAMSIFT_MASTODON_TOKEN``: a user token with ``read:statuses`` for the streaming API.
    mastodon_token: SecretStr | None = None
    #: ``STREAMSIFT_X_BEARER_TOKEN``: the documented short name for ``x_api.bearer_token``.
    x_bearer_token: SecretStr | None = None
    #: ``STREAMSIFT_X_USER_TOKEN``: the retweeting account's OAuth 2.0 user-context token (``streamsift act``).
    x_user_token: SecretStr | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: Where ``make setup`` put the Maven-resolved jars (``kafka/`` and ``spark/`` inside).
    #: Empty: ``./build/jars``, else the repository checkout the package runs from.
    jars_dir: Path | None = None

    @model_validator(mode="after")
    def _distinct_ports(self) -> Settings:
        if self.kafka.embedded and self.kafka.port == self.kafka.controller_port:
            raise ValueError("kafka.port and kafka.controller_port must differ")
        return self

    @property
    def bearer_token(self) -> SecretStr | None:
        return self.x_bearer_token or self.x_api.bearer_token

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))


_TOML_DATA: ContextVar[dict[str, Any] | None] = ContextVar("streamsift_toml", default=None)


class _TomlSource(PydanticBaseSettingsSource):
    """Feeds the already-parsed TOML mapping (parsed in :func:`load_settings`)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        data = _TOML_DATA.get() or {}
        return data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_TOML_DATA.get() or {})


def _find_secrets(data: dict[str, Any]) -> list[str]:
    found = []
    for key in SECRET_KEYS:
        node: Any = data
        for part in key:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            found.append(".".join(key))
    return sorted(found)


#: Values never repeated in error messages (they may carry credentials).
_NEVER_ECHO = {
    "url",
    "password",
    "bearer_token",
    "x_bearer_token",
    "bootstrap_servers",
    "secret_key",
    "users",
    "bluesky_app_password",
    "mastodon_token",
}


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(settings)"
        got = e.get("input")
        sensitive = any(str(part) in _NEVER_ECHO for part in e["loc"])
        got_s = "" if isinstance(got, dict) or got is None or sensitive else f" (got {got!r})"
        if e["type"] == "extra_forbidden":
            lines.append(f"{loc}: unknown setting{got_s}")
        else:
            lines.append(f"{loc}: {e['msg']}{got_s}")
    return f"invalid configuration ({source}): " + "; ".join(lines)


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The TOML file to read: ``path``, else ``$STREAMSIFT_CONFIG``, else ``./streamsift.toml``."""
    return Path(path or os.environ.get("STREAMSIFT_CONFIG") or DEFAULT_CONFIG_FILE)


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read the settings tree once: TOML file, then environment, then ``overrides``.

    A missing default file is fine (defaults apply); a missing file that was named
    explicitly, a malformed file, a bad value or a secret in the file raise
    :class:`~streamsift.errors.ConfigError` naming the key.
    """
    explicit = path is not None or "STREAMSIFT_CONFIG" in os.environ
    file = config_path(path)
    data: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
        secrets = _find_secrets(data)
        if secrets:
            raise ConfigError(
                f"{file}: {', '.join(secrets)} must not be stored in the config file",
                hint="set it in the environment, e.g. STREAMSIFT_POSTGRES__PASSWORD",
            )
    elif explicit:
        raise ConfigError(f"config file {file} does not exist")
    source = f"{file} + {ENV_PREFIX}* environment" if file.exists() else f"{ENV_PREFIX}* environment"
    token = _TOML_DATA.set(data)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from None
    finally:
        _TOML_DATA.reset(token)


def settings_env(settings: Settings) -> dict[str, str]:
    """The effective settings as ``STREAMSIFT_*`` environment variables (one JSON value per section).

    A child process given them (the background services of ``streamsift demo``) runs with exactly
    these settings, whether they came from a file, the environment or keyword overrides. Secrets are
    included: a child's environment is as private as this process's own; never log the result.
    """

    def plain(o: Any) -> Any:
        return o.get_secret_value() if isinstance(o, SecretStr) else str(o)

    out = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, BaseModel):
            value = json.dumps(value.model_dump(), default=plain)
        out[ENV_PREFIX + name.upper()] = plain(value)
    return out


def child_env(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment in which a ``streamsift`` child process runs with exactly ``settings``.

    ``environ`` (default: this process's) minus its settings variables (a stale
    ``STREAMSIFT_KAFKA__PORT`` must not win), plus :func:`settings_env`, plus ``STREAMSIFT_CONFIG``
    pointing at an empty file (every section comes from the environment; no settings file is read).
    Holds secrets like :func:`settings_env`: never log it.
    """
    names = tuple(ENV_PREFIX + f.upper() for f in Settings.model_fields)
    nested = tuple(n + "__" for n in names)
    base = os.environ if environ is None else environ
    kept = {k: v for k, v in base.items() if k not in names and not k.startswith(nested)}
    return {**kept, **settings_env(settings), ENV_PREFIX + "CONFIG": os.devnull}


def redacted_dump(settings: Settings) -> dict[str, Any]:
    """The settings as JSON-able data, secrets shown as ``**********``."""
    return settings.model_dump(mode="json")


__all__ = [
    "ActSettings",
    "BlueskySettings",
    "ClassifySettings",
    "DatasetSettings",
    "IngestSettings",
    "KafkaSettings",
    "LabelingSettings",
    "MastodonSettings",
    "ModelSettings",
    "PostgresSettings",
    "ProducerSettings",
    "ServingSettings",
    "Settings",
    "SparkSettings",
    "StateSettings",
    "WebSettings",
    "XApiSettings",
    "child_env",
    "config_path",
    "load_settings",
    "redacted_dump",
    "settings_env",
]
