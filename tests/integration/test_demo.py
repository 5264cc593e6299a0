"""``streamsift demo``: the whole loop on its own infrastructure, with the background services left up."""

from __future__ import annotations

import re

import httpx
import pytest

from streamsift.demo import STAGES, DemoOptions, run_demo
from streamsift.infra import down, status
from streamsift.infra.process import free_port, pid_alive
from streamsift.store.connection import connect
from tests.conftest import make_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def demo_settings(tmp_path):
    settings = make_settings(
        tmp_path / "state",
        dataset={"test_size": 200, "dev_size": 150, "snorkel_train_size": 800},
        model={"models_dir": str(tmp_path / "models"), "epochs": 3},
        serving={"port": free_port()},
        web={"port": free_port()},
    )
    try:
        yield settings
    finally:
        down(settings, wipe=True)


def _web_session(url: str, user: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": user, "password": password, "csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/", "the demo's login was refused"
    return client


def test_demo_runs_the_whole_loop_and_keeps_it_running(demo_settings):
    s = demo_settings
    stages_seen: list[str] = []
    opts = DemoOptions(count=3_000, seed=5, live_count=400, live_rate=400.0, keep_running=True)
    report = run_demo(s, opts, on_stage=lambda i, n, name: stages_seen.append(name))

    assert stages_seen == list(STAGES)
    rows = {st.stage: st for st in report.stages}
    assert [st.stage for st in report.stages] == list(STAGES)
    assert rows["produce"].rows == 3_000
    assert rows["ingest"].rows == 3_000
    with connect(s.postgres) as conn:
        raw = conn.execute("SELECT count(*) FROM raw_tweet_dataset_0").fetchone()[0]
        dead = conn.execute("SELECT count(*) FROM dead_letters WHERE stage = 'ingest'").fetchone()[0]
        ai_tweets = conn.execute("SELECT count(*) FROM ai_tweets").fetchone()[0]
        actions = dict(conn.execute("SELECT status, count(*) FROM retweet_actions GROUP BY 1").fetchall())
        production = conn.execute("SELECT version FROM model_registry WHERE stage = 'production'").fetchone()
    assert f"{raw:,} new tweets" in rows["ingest"].detail and f"{dead:,} dead letters" in rows["ingest"].detail
    assert raw >= 2_500 and raw + dead <= 3_000
    assert production == (report.model["version"],)
    assert 0.5 <= report.agreement_label_model_vs_majority <= 1.0
    assert 0.0 <= report.model["neural_macro_f1"] <= 1.0
    # Every record of the topic was classified by the background worker: the training stream
    # (backlog) and the live one.
    assert rows["classify"].rows == 3_000
    assert "400 new tweets" in rows["live stream"].detail
    assert ai_tweets > 0
    # The dry-run act stage decided every AI tweet with a link, and sent nothing.
    assert set(actions) <= {"dry_run", "skipped"} and actions.get("dry_run", 0) > 0
    assert rows["act"].rows == sum(actions.values())
    assert rows["serve"].rows == 2 and ":predict" in rows["serve"].detail

    # Everything is still up: infra status lists the services, the dashboard answers to the demo's login.
    services = status(s)["services"]
    assert {"kafka", "postgres", "serve", "worker", "web", "act"} <= set(services)
    assert set(report.services) == {"serve", "worker", "web", "act"} and report.started == [
        "serve",
        "worker",
        "web",
        "act",
    ]
    login = report.login
    assert login["users"] == ["demo"] and len(login["password"]) >= 12
    web = f"http://{s.web.host}:{s.web.port}"
    assert report.dashboard_url == f"{web}/dashboard"
    client = _web_session(web, "demo", login["password"])
    try:
        feed = client.get("/api/dashboard/feed", params={"limit": 5}).json()
        assert len(feed["items"]) == 5
        health = client.get("/api/dashboard/health").json()
        worker = [c for c in health["kafka_lag"] if c.get("kind") == "consumer group"]
        assert worker and worker[0]["lag"] == 0
        assert health["model"]["production"]["version"] == report.model["version"]
    finally:
        client.close()
    # The password file is private to its owner.
    assert (s.state.root / "run" / "web-login.txt").stat().st_mode & 0o077 == 0

    # `infra down` stops the services with Kafka and PostgreSQL.
    stopped = down(s)
    assert {"serve", "worker", "web", "act", "kafka", "postgres"} <= {k for k, v in stopped.items() if v}
    assert not any(pid_alive(pid) for pid in report.services.values())
    assert not list((s.state.root / "run").glob("*.pid"))


def test_a_service_that_cannot_start_is_named_with_its_log(tmp_path):
    """A web app that refuses its settings exits: start_service names the exit and the log, keeps no pid file."""
    from streamsift.errors import InfraError
    from streamsift.infra.services import services, start_service

    s = make_settings(tmp_path / "state", web={"port": free_port(), "mode": "production"})  # no users: refused
    web = services(s)["web"]
    with pytest.raises(InfraError) as err:
        start_service(s, web, timeout_s=60)
    assert "web exited with code 1" in str(err.value)
    assert str(web.log_file(s)) in str(err.value)
    assert "production" in web.log_file(s).read_text()
    assert not web.pid_file(s).exists()


def test_a_taken_port_is_refused_before_anything_starts(tmp_path):
    import socket

    from streamsift.errors import PortInUseError
    from streamsift.infra.services import services, start_service

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        s = make_settings(tmp_path / "state", serving={"port": taken.getsockname()[1]})
        serve = services(s)["serve"]
        with pytest.raises(PortInUseError, match=r"serving\.port"):
            start_service(s, serve, timeout_s=60)
    assert not serve.pid_file(s).exists() and not serve.log_file(s).exists()
