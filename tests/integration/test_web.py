"""The annotation UI in a real headless Chromium, against a real server and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest
from psycopg import sql
from sklearn.metrics import cohen_kappa_score

from streamsift.dataset.prepare import prepare_dataset, split_table
from streamsift.infra.process import free_port
from streamsift.labeling.pipeline import run_labeling
from streamsift.store.connection import connect
from streamsift.web.app import create_app
from streamsift.web.auth import UserStore, hash_password
from tests.integration.helpers import fill_raw, with_version
from tests.integration.web_support import USERS, XSS, login, serve_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def web_settings(infra_settings):
    version = 900_000 + free_port()
    s = with_version(infra_settings, version)
    fill_raw(s, 1500, seed=51)
    prepare_dataset(s)
    dev = split_table("dev", version)
    with connect(s.postgres) as conn, conn.transaction():
        for i, text in enumerate(XSS):  # untrusted tweets, the least certain so they come first
            conn.execute(
                sql.SQL("INSERT INTO {} (tweet_id, text, norm_text, urls) VALUES (%s, %s, %s, %s)").format(
                    sql.Identifier(dev)
                ),
                (9_000_000_000_000_000_000 + i, text, text.lower(), ["https://example.com/x?a=<b>"]),
            )
    run_labeling(s)
    return s


@pytest.fixture(scope="module")
def server(web_settings) -> Iterator[str]:
    users = UserStore({u: hash_password(p) for u, p in USERS.items()})
    with serve_app(create_app(web_settings, users=users)) as url:
        yield url


def open_table(page, server: str, table: str, queue: str = "unlabelled") -> str:
    page.goto(f"{server}/label/{table}?queue={queue}")
    page.wait_for_function("document.getElementById('tid').textContent.length > 0")
    return page.inner_text("#tid")


def press_and_wait(page, key: str, before: str) -> str:
    page.keyboard.press(key)
    page.wait_for_function(
        "([b]) => document.getElementById('tid').textContent !== b || !document.getElementById('empty').hidden",
        arg=[before],
    )
    return page.inner_text("#tid")


def golden(settings, table: str) -> dict[int, tuple[int, str]]:
    with connect(settings.postgres) as conn:
        rows = conn.execute(
            sql.SQL("SELECT tweet_id, golden_label, annotator FROM {} WHERE golden_label IS NOT NULL").format(
                sql.Identifier(table)
            )
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_login_label_five_by_keyboard_then_undo(browser, server, web_settings):
    table = split_table("test", web_settings.dataset.version)
    page = login(browser, server, "alice")
    current = open_table(page, server, table)
    expected = {}
    for key in ["1", "2", "2", "1", "Enter"]:
        weak = page.inner_text("#weak")
        label = {"1": 0, "2": 1}.get(key, 0 if weak == "not_ai" else 1)
        expected[int(current)] = label
        current = press_and_wait(page, key, current)
    stored = golden(web_settings, table)
    assert {k: v[0] for k, v in stored.items()} == expected
    assert {v[1] for v in stored.values()} == {"alice"}
    assert page.inner_text("#progress").startswith("5 / ")

    last = list(expected)[-1]
    page.keyboard.press("u")
    page.wait_for_function("([t]) => document.getElementById('tid').textContent === t", arg=[str(last)])
    after_undo = golden(web_settings, table)
    assert last not in after_undo and len(after_undo) == 4
    assert page.errors == []


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "escaping-alone"])
def test_untrusted_text_renders_as_text_and_runs_nothing(browser, server, web_settings, bypass_csp):
    from playwright.sync_api import expect

    table = split_table("dev", web_settings.dataset.version)
    page = login(browser, server, "alice", bypass_csp=bypass_csp)
    for payload in XSS:
        page.goto(f"{server}/label/{table}")
        page.fill("#search", payload[:25])
        page.press("#search", "Enter")
        expect(page.locator("#text")).to_have_text(payload)
        assert page.evaluate("() => window.__xss === undefined")
        assert page.title() != "pwned"
        assert page.locator("#text img, #text script").count() == 0
        for a in page.locator("#text a, #urls a").all():
            assert a.get_attribute("href").startswith(("http://", "https://"))
            assert a.get_attribute("rel") == "noopener noreferrer"
    assert page.errors == []
    headers = httpx.get(f"{server}/login").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]


def test_export_matches_the_database(browser, server, web_settings):
    table = split_table("test", web_settings.dataset.version)
    page = login(browser, server, "bob")
    current = open_table(page, server, table)
    for key in ["2", "1"]:
        current = press_and_wait(page, key, current)
    body = page.request.get(f"{server}/api/t/{table}/export.csv").text()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {int(r["tweet_id"]): (int(r["golden_label"]), r["annotator"]) for r in rows} == golden(web_settings, table)
    jsonl = page.request.get(f"{server}/api/t/{table}/export.jsonl").text().strip().splitlines()
    assert len(jsonl) == len(rows)


def test_two_annotators_kappa_and_adjudication(browser, server, web_settings):
    table = split_table("snorkel_train", web_settings.dataset.version)
    from streamsift.web.store import AnnotationStore

    assert AnnotationStore(web_settings).assign(table, ["alice", "bob"], 6) == 6
    labels = {}
    for user, keys in (("alice", ["1", "2", "1", "2", "1", "1"]), ("bob", ["1", "2", "2", "2", "1", "2"])):
        page = login(browser, server, user)
        current = open_table(page, server, table, queue="assigned")
        labels[user] = []
        for key in keys:
            labels[user].append(int(key) - 1)
            current = press_and_wait(page, key, current)
        assert not page.locator("#empty").is_hidden()  # the assigned queue is done
    data = page.request.get(f"{server}/api/t/{table}/agreement").json()
    pair = data["pairs"][0]
    assert (pair["a"], pair["b"], pair["n"]) == ("alice", "bob", 6)
    assert pair["kappa"] == pytest.approx(cohen_kappa_score(labels["alice"], labels["bob"]))
    assert len(data["disagreements"]) == 2

    page.goto(f"{server}/agreement/{table}")
    assert page.locator("#pairs td").nth(4).inner_text() == f"{pair['kappa']:.3f}"
    card = page.locator("[data-tweet]").first
    tid = int(card.get_attribute("data-tweet"))
    card.locator("button[data-adjudicate='1']").click()
    page.wait_for_selector("[data-tweet].done")
    assert golden(web_settings, table)[tid] == (1, "adjudicated:bob")


def test_api_refuses_bad_requests(server, web_settings, browser):
    table = split_table("dev", web_settings.dataset.version)
    anon = httpx.Client(base_url=server)
    assert anon.get(f"/api/t/{table}/next").status_code == 401
    page = login(browser, server, "alice")
    req = page.request
    assert req.get(f"{server}/api/t/users_dataset_0/next").status == 404
    assert req.get(f"{server}/api/t/pg_catalog.pg_user/next").status == 404
    r = req.post(f"{server}/api/t/{table}/label", data={"tweet_id": 1, "label": 0})  # no CSRF header
    assert r.status == 403 and "CSRF" in r.json()["detail"]
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    r = req.post(f"{server}/api/t/{table}/label", data={"tweet_id": 1, "label": 7}, headers={"X-CSRF-Token": token})
    assert r.status in (400, 422)

    # an import with an unknown id and an unknown class is rejected whole
    before = golden(web_settings, table)
    with connect(web_settings.postgres) as conn:
        known = conn.execute(sql.SQL("SELECT tweet_id FROM {} LIMIT 2").format(sql.Identifier(table))).fetchall()
    bad = f"tweet_id,label\n{known[0][0]},ai\n{known[1][0]},robots\n123,not_ai\n"
    r = req.post(
        f"{server}/api/t/{table}/import",
        multipart={"file": {"name": "g.csv", "mimeType": "text/csv", "buffer": bad.encode()}},
        headers={"X-CSRF-Token": token},
    )
    assert r.status == 400
    problems = " ".join(r.json()["problems"])
    assert "unknown class 'robots'" in problems and "tweet_id 123 is not in" in problems
    assert golden(web_settings, table) == before
    good = f"tweet_id,label\n{known[0][0]},ai\n{known[1][0]},0\n"
    r = req.post(
        f"{server}/api/t/{table}/import",
        multipart={"file": {"name": "g.csv", "mimeType": "text/csv", "buffer": good.encode()}},
        headers={"X-CSRF-Token": token},
    )
    assert r.status == 200 and r.json()["applied"] == 2
    after = golden(web_settings, table)
    assert after[known[0][0]] == (1, "import:alice") and after[known[1][0]] == (0, "import:alice")
