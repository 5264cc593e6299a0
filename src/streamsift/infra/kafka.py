"""The Apache Kafka broker: one KRaft node on 127.0.0.1, started from Maven-resolved jars.

State lives under ``<state>/kafka`` (``server.properties``, ``data/``, ``kafka.pid``)
and the log in ``<state>/logs/kafka.log``. An external cluster (``kafka.bootstrap_servers``)
is never started or stopped, only checked, and gets the topics created.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from streamsift.config import KafkaSettings
from streamsift.errors import InfraError, PrerequisiteError, ServiceUnreachableError, StateError
from streamsift.infra.jars import jar_files
from streamsift.infra.process import (
    ensure_dir,
    read_pid,
    require_free_port,
    tail,
    terminate,
    wait_until,
)
from streamsift.infra.status import ServiceStatus

log = logging.getLogger(__name__)

_LOG4J2 = """\
status = error
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = INFO
"""


def admin_client(bootstrap: str, *, timeout_ms: int = 5000) -> AdminClient:
    """An AdminClient that does not spam stderr while a broker is unreachable."""
    return AdminClient(
        {
            "bootstrap.servers": bootstrap,
            "socket.timeout.ms": timeout_ms,
            "log_level": 0,
        }
    )


def find_java() -> str:
    java = shutil.which("java", path=os.environ.get("PATH"))
    if java is None and os.environ.get("JAVA_HOME"):
        candidate = Path(os.environ["JAVA_HOME"]) / "bin" / "java"
        java = str(candidate) if candidate.exists() else None
    if java is None:
        raise PrerequisiteError(
            "Java was not found on PATH; Kafka and Spark need Java 17",
            hint="install it (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME",
        )
    return java


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID as 22 characters of URL-safe base64.

    Never starting with ``-`` (as Kafka's own ``Uuid.randomUuid``): the storage tool's argument
    parser would take such an id for an option, and one start in 64 failed that way.
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class KafkaBroker:
    """Start, stop and check the broker; create the topics."""

    def __init__(self, settings: KafkaSettings, state_dir: Path, jars_dir: Path | None = None):
        self.settings = settings
        self.home = state_dir / "kafka"
        self.data_dir = self.home / "data"
        self.pid_file = self.home / "kafka.pid"
        self.props_file = self.home / "server.properties"
        self.log_file = state_dir / "logs" / "kafka.log"
        self.jars_dir = jars_dir

    # -- health -----------------------------------------------------------------
    def ping(self, timeout_s: float = 3.0) -> bool:
        """True if the cluster answers a metadata request."""
        try:
            admin_client(self.settings.bootstrap).list_topics(timeout=timeout_s)
        except KafkaException:
            return False
        return True

    def status(self) -> ServiceStatus:
        pid = read_pid(self.pid_file) if self.settings.embedded else None
        running = pid is not None or not self.settings.embedded
        healthy = self.ping() if running else False
        return ServiceStatus(
            name="kafka",
            embedded=self.settings.embedded,
            running=running,
            healthy=healthy,
            address=self.settings.bootstrap,
            pid=pid,
            log_file=str(self.log_file) if self.settings.embedded else None,
            detail="" if healthy else ("not running" if not running else "not answering"),
        )

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> bool:
        """Start the embedded broker (or check the external one); create topics.

        Returns True if a broker was started, False if one was already up.
        """
        if not self.settings.embedded:
            if not self.ping(timeout_s=self.settings.start_timeout_s / 6):
                raise ServiceUnreachableError(
                    f"the external Kafka cluster at {self.settings.bootstrap} does not answer",
                    hint="check kafka.bootstrap_servers and that the cluster is up",
                )
            self.ensure_topics()
            return False
        if read_pid(self.pid_file) is not None:
            if self.ping():
                self.ensure_topics()
                return False
            log.info("broker process is alive but not answering yet; waiting")
            self._wait_ready(read_pid(self.pid_file))
            self.ensure_topics()
            return False

        java = find_java()
        jars = jar_files(self.jars_dir, "kafka")
        s = self.settings
        require_free_port(s.host, s.port, service="Kafka", setting="kafka.port")
        require_free_port(s.host, s.controller_port, service="Kafka", setting="kafka.controller_port")
        ensure_dir(self.data_dir)
        ensure_dir(self.log_file.parent)
        log4j = self.home / "log4j2.properties"
        log4j.write_text(_LOG4J2)
        self.props_file.write_text(self._server_properties())
        classpath = str(jars[0].parent / "*")
        self._format_storage(java, classpath)

        cmd = [
            java,
            f"-Xmx{s.heap}",
            "-Xms128m",
            "-XX:+UseG1GC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.log_file.parent}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(self.props_file),
        ]
        log.info("starting Kafka broker on %s", s.bootstrap)
        with self.log_file.open("ab") as out:
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.home,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        self._wait_ready(proc.pid)
        self.ensure_topics()
        return True

    def _wait_ready(self, pid: int | None) -> None:
        from streamsift.infra.process import pid_alive

        ok = wait_until(
            lambda: self.ping(timeout_s=1.0),
            timeout_s=self.settings.start_timeout_s,
            interval_s=0.3,
            alive=(lambda: pid_alive(pid)) if pid else None,
        )
        if not ok:
            if pid:
                terminate(pid, timeout_s=5, name="kafka")
            self.pid_file.unlink(missing_ok=True)
            raise InfraError(
                f"the Kafka broker did not become ready within {self.settings.start_timeout_s:.0f} s; "
                f"last lines of {self.log_file}:\n{tail(self.log_file)}",
                hint="if the data folder is damaged, run `streamsift infra down --wipe`",
            )

    def stop(self) -> bool:
        """Stop the embedded broker. Returns False if it was not running."""
        if not self.settings.embedded:
            return False
        pid = read_pid(self.pid_file)
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        log.info("stopping Kafka broker (pid %d)", pid)
        terminate(pid, timeout_s=30, name="kafka")
        self.pid_file.unlink(missing_ok=True)
        return True

    def wipe(self) -> None:
        """Delete the broker's data (all topics and offsets). The broker must be stopped."""
        shutil.rmtree(self.home, ignore_errors=True)

    # -- topics -------------------------------------------------------------------
    def ensure_topics(self, topics: list[str] | None = None) -> list[str]:
        """Create missing topics (idempotent); grow partitions to the configured count."""
        admin = admin_client(self.settings.bootstrap)
        wanted = topics or self.settings.topics
        existing = admin.list_topics(timeout=10).topics
        missing = [t for t in wanted if t not in existing]
        if missing:
            futures = admin.create_topics(
                [NewTopic(t, num_partitions=self.settings.partitions, replication_factor=1) for t in missing],
                operation_timeout=30,
            )
            for topic, fut in futures.items():
                try:
                    fut.result()
                    log.info("created topic %s (%d partitions)", topic, self.settings.partitions)
                except KafkaException as exc:
                    if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                        raise InfraError(f"cannot create Kafka topic {topic}: {exc}") from exc
        grow = [t for t in wanted if t in existing and len(existing[t].partitions) < self.settings.partitions]
        if grow:
            for topic, fut in admin.create_partitions(
                [NewPartitions(t, self.settings.partitions) for t in grow]
            ).items():
                fut.result()
                log.info("grew topic %s to %d partitions", topic, self.settings.partitions)
        return missing

    # -- files --------------------------------------------------------------------
    def _server_properties(self) -> str:
        s = self.settings
        return "\n".join(
            [
                "# written by streamsift infra up; edits are overwritten",
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers={s.host}:{s.controller_port}",
                f"listeners=PLAINTEXT://{s.host}:{s.port},CONTROLLER://{s.host}:{s.controller_port}",
                f"advertised.listeners=PLAINTEXT://{s.host}:{s.port},CONTROLLER://{s.host}:{s.controller_port}",
                "inter.broker.listener.name=PLAINTEXT",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={self.data_dir}",
                f"num.partitions={s.partitions}",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                "message.max.bytes=10485760",
                "",
            ]
        )

    def _format_storage(self, java: str, classpath: str) -> None:
        meta = self.data_dir / "meta.properties"
        if meta.exists():
            text = meta.read_text(errors="replace")
            if "cluster.id=" not in text or "node.id=1" not in text:
                raise StateError(
                    f"Kafka data folder {self.data_dir} is corrupted (meta.properties unreadable)",
                    hint="run `streamsift infra down --wipe` to start from empty topics",
                )
            return
        if any(self.data_dir.iterdir()):
            raise StateError(
                f"Kafka data folder {self.data_dir} has files but no meta.properties",
                hint="run `streamsift infra down --wipe` to start from empty topics",
            )
        cmd = [
            java,
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            classpath,
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={new_cluster_id()}",
            "-c",
            str(self.props_file),
            "--standalone",
            "--ignore-formatted",
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise StateError(
                f"formatting Kafka storage failed: {(res.stderr or res.stdout).strip()[-500:]}",
                hint="run `streamsift infra down --wipe` and try again",
            )
