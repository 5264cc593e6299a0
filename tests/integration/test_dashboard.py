"""The live dashboard in a real headless Chromium: tweets classified by the real worker during the test,
charts read back from the page, filters, hostile tweets rendered inert, the JSON API's refusals."""

from __future__ import annotations

import csv
import io
import json
import uuid

import httpx
import pytest

from streamsift.infra.kafka import KafkaBroker
from streamsift.ingest.producer import produce
from streamsift.live.act import run_act
from streamsift.live.worker import run_worker
from streamsift.models.registry import get_model
from streamsift.sources.base import SourceRecord
from streamsift.web.app import create_app
from streamsift.web.auth import UserStore, hash_password
from tests.integration.helpers import synthetic_payloads
from tests.integration.live_support import live_settings
from tests.integration.web_support import USERS, XSS, login, serve_app

pytestmark = pytest.mark.integration

TOKEN = f"dash{uuid.uuid4().hex[:8]}"  # a word only this module's tweets contain
DOMAIN = f"{TOKEN}.example.org"


def _hostile(i: int, text: str) -> bytes:
    return json.dumps(
        {
            "id_str": str(8_100_000_000_000_000_000 + i),
            "text": f"{text} {TOKEN} #{TOKEN}",
            "created_at": "Sun Apr 05 10:46:44 +0000 2020",
            "user": {"id_str": "42", "screen_name": "<b>mallory</b>"},
            "entities": {
                "hashtags": [{"text": TOKEN}],
                "urls": [
                    {"url": "https://t.co/a", "expanded_url": f"https://{DOMAIN}/paper?x=<script>"},
                    {"url": "https://t.co/b", "expanded_url": "javascript:window.__xss=9"},
                ],
            },
        }
    ).encode()


@pytest.fixture(scope="module")
def classified(live_models):
    """A stream classified by the real worker with threshold 0 (every tweet is stored: no assertion depends
    on what a model trained in the tests predicts), the dry-run retweet action run over it."""
    s = live_settings(live_models, threshold=0.0)
    topic = f"test.dash.{uuid.uuid4().hex[:8]}"
    KafkaBroker(s.kafka, s.state.root).ensure_topics([topic])
    items = [it.record for it in synthetic_payloads(400, seed=97)]
    items += [SourceRecord.from_payload(_hostile(i, t)) for i, t in enumerate(XSS)]
    produce(iter(items), s.kafka, s.producer, topic=topic)
    stats = run_worker(s, until_idle=True, topic=topic)
    assert stats.scored > 300
    run_act(s, until_idle=True, dry_run=True)
    return s, stats


@pytest.fixture(scope="module")
def server(classified):
    s, _ = classified
    users = UserStore({u: hash_password(p) for u, p in USERS.items()})
    with serve_app(create_app(s, users=users)) as url:
        yield url


def _open(browser, server):
    page = login(browser, server, "alice", viewport=(1300, 1000))
    page.goto(f"{server}/dashboard")
    page.wait_for_function("() => Number(document.getElementById('dashboard').dataset.refreshed || 0) >= 1")
    return page


def test_dashboard_shows_the_tweets_classified_and_charts_hold_data(browser, server, classified):
    _s, stats = classified
    page = _open(browser, server)
    charts = page.evaluate(
        """() => Object.fromEntries(Object.entries(window.streamsiftCharts).map(([k, c]) => [k, {
            labels: c.data.labels, data: c.data.datasets.map((d) => d.data), drawn: c.canvas.width > 0 }]))"""
    )
    assert all(c["drawn"] for c in charts.values())
    classified_per_minute = charts["series"]["data"][0]
    assert sum(classified_per_minute) >= stats.scored  # other tests' batches may add to it
    assert sum(charts["hist"]["data"][0]) >= stats.scored
    assert DOMAIN in charts["domains"]["labels"] or len(charts["domains"]["labels"]) == 10
    assert f"#{TOKEN}" in charts["hashtags"]["labels"] or len(charts["hashtags"]["labels"]) == 10
    by_status = dict(zip(charts["retweets"]["labels"], charts["retweets"]["data"][0], strict=True))
    assert by_status["dry_run"] >= 1
    assert int(page.get_attribute("#dashboard", "data-feed-count")) > 0
    assert page.inner_text("#stat-model") == f"v{get_model(classified[0])['version']}"
    assert page.locator("#health-tables tr").count() > 3
    assert page.errors == []


def test_filters_narrow_the_feed_and_pages_do_not_overlap(browser, server, classified):
    page = _open(browser, server)
    page.fill("input[name=q]", TOKEN)
    page.click("#feed-filter button[type=submit]")
    page.wait_for_function(
        "([t]) => [...document.querySelectorAll('#feed-rows td.text')].every((c) => c.textContent.includes(t))"
        " && document.querySelectorAll('#feed-rows tr').length === 3",
        arg=[TOKEN],
    )
    page.check("input[name=links_only]")
    page.fill("input[name=p_min]", "0.99")
    with page.expect_response(lambda r: "/api/dashboard/feed?" in r.url and "p_min=0.99" in r.url) as answer:
        page.click("#feed-filter button[type=submit]")
    want = len(answer.value.json()["items"])
    # Wait for the rows of that answer (the page redraws on its own every 5 s; read the DOM in one go).
    page.wait_for_function(
        "([n]) => document.querySelectorAll('#feed-rows tr').length === n"
        " && [...document.querySelectorAll('#feed-rows tr td:nth-child(4)')].every((c) => +c.textContent >= 0.99)",
        arg=[want],
    )
    probs = page.eval_on_selector_all("#feed-rows tr td:nth-child(4)", "els => els.map((e) => e.textContent)")
    assert len(probs) == want and all(float(p) >= 0.99 for p in probs)

    # the API behind it: keyset pages cover the filtered feed once, and the CSV export says the same
    req = page.request
    seen, cursor = [], None
    while True:
        url = f"{server}/api/dashboard/feed?limit=7" + (f"&cursor={cursor}" if cursor else "")
        body = req.get(url).json()
        seen += [it["tweet_id"] for it in body["items"]]
        cursor = body["next"]
        if cursor is None or len(seen) > 60:
            break
    assert len(seen) == len(set(seen))
    rows = list(csv.DictReader(io.StringIO(req.get(f"{server}/api/dashboard/feed.csv?q={TOKEN}").text())))
    assert len(rows) == 3 and all(TOKEN in r["text"] for r in rows)
    assert all(DOMAIN in r["links"] and "javascript:" not in r["links"] for r in rows)


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "escaping-alone"])
def test_hostile_tweets_render_inert(browser, server, classified, bypass_csp):
    page = login(browser, server, "alice", bypass_csp=bypass_csp, viewport=(1300, 1000))
    page.goto(f"{server}/dashboard")
    page.fill("input[name=q]", TOKEN)
    page.click("#feed-filter button[type=submit]")
    page.locator("#feed-rows tr").nth(2).wait_for()
    texts = page.locator("#feed-rows td.text > div:first-child").all_inner_texts()
    assert sorted(texts) == sorted(f"{t} {TOKEN} #{TOKEN}" for t in XSS)
    assert page.evaluate("() => window.__xss === undefined") and page.title() != "pwned"
    assert page.locator("#feed-rows img, #feed-rows script, #feed-rows b").count() == 0
    assert "<b>mallory</b>" in page.inner_text("#feed-rows")
    links = page.locator("#feed-rows a").all()
    assert links
    for a in links:
        assert a.get_attribute("href").startswith(("http://", "https://"))
        assert a.get_attribute("rel") == "noopener noreferrer"
    assert page.errors == []


def test_api_refuses_bad_requests(browser, server):
    anon = httpx.Client(base_url=server)
    assert anon.get("/api/dashboard/feed").status_code == 401
    assert anon.get("/api/dashboard/health").status_code == 401
    req = login(browser, server, "bob").request
    r = req.get(f"{server}/api/dashboard/feed?p_min=0.9&p_max=0.1")
    assert r.status == 400 and "p_min" in r.json()["detail"]
    r = req.get(f"{server}/api/dashboard/feed?cursor=nonsense")
    assert r.status == 400 and "cursor" in r.json()["detail"]
    assert req.get(f"{server}/api/dashboard/feed?limit=5000").status == 422
    assert req.get(f"{server}/api/dashboard/terms?kind=users").status == 422
    assert req.get(f"{server}/api/dashboard/series?minutes=0").status == 422
    assert "/api/dashboard/feed" in req.get(f"{server}/openapi.json").json()["paths"]
