"""``streamsift act``: the retweet action against a local server that speaks X's retweet API and
enforces its rate limit (tests/support/fake_x_api.py), on a private database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from streamsift.live.act import ensure_act_schema, run_act
from streamsift.live.store import AI_COLUMNS
from streamsift.store.connection import connect
from tests.support.fake_pds import FakePds
from tests.support.fake_x_api import FakeXApi

pytestmark = pytest.mark.integration

USER_TOKEN = "user-context-token"


@pytest.fixture
def db_settings(infra_settings):
    """Settings pointing at a fresh database (act looks at every row of ai_tweets)."""
    name = f"act_{uuid.uuid4().hex[:10]}"
    with connect(infra_settings.postgres, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    s = infra_settings.model_copy(update={"postgres": infra_settings.postgres.model_copy(update={"database": name})})
    with connect(s.postgres, autocommit=True) as conn:
        ensure_act_schema(conn)
    yield s
    with connect(infra_settings.postgres, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _ai(
    conn,
    tweet_id: int,
    *,
    links: bool = True,
    retweet_of: int | None = None,
    minutes: int = 0,
    platform: str = "x",
    uri: str | None = None,
    cid: str | None = None,
) -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    row = (
        tweet_id,
        f"tweet {tweet_id} #AI",
        "someone",
        7,
        t,
        0.97,
        "ai",
        1,
        links,
        retweet_of is not None,
        retweet_of,
        t,
        t,
        ["ai"],
        platform,
        uri,
        cid,
    )
    conn.execute(f"INSERT INTO ai_tweets ({', '.join(AI_COLUMNS)}) VALUES ({', '.join(['%s'] * len(row))})", row)


def _actions(s) -> dict[int, tuple]:
    with connect(s.postgres) as conn:
        return {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT tweet_id, target_id, status, reason, attempts FROM retweet_actions"
            ).fetchall()
        }


def _live(s, fake: FakeXApi):
    x = s.x_api.model_copy(update={"base_url": fake.base_url, "user_id": fake.user_id})
    act = s.act.model_copy(update={"poll_s": 0.2, "request_timeout_s": 2.0})
    return s.model_copy(update={"x_api": x, "act": act, "x_user_token": SecretStr(USER_TOKEN)})


def _fill(s) -> None:
    with connect(s.postgres, autocommit=True) as conn:
        for i in range(1, 13):
            _ai(conn, 100 + i, minutes=i)
        _ai(conn, 200, links=False)  # no link: no action
        _ai(conn, 201, retweet_of=105, minutes=30)  # a retweet of a tweet already acted on: skipped
        _ai(conn, 202, retweet_of=9000, minutes=31)  # a retweet of another tweet: retweet the original
        _ai(conn, 203, retweet_of=9000, minutes=32)  # and a second retweet of it: skipped


def test_without_credentials_every_action_is_a_dry_run(db_settings):
    _fill(db_settings)
    stats = run_act(db_settings, until_idle=True)
    acts = _actions(db_settings)
    assert stats.mode == "dry_run" and stats.dry_run == 13 and stats.skipped == 2
    assert 200 not in acts
    assert acts[201][1] == "skipped" and "105" in acts[201][2]
    assert acts[202][:2] == (9000, "dry_run") and acts[203][1] == "skipped"
    assert {a[1] for k, a in acts.items() if k not in (201, 203)} == {"dry_run"}


def test_retweets_each_once_within_the_rate_limit_and_a_restart_sends_nothing_again(db_settings):
    _fill(db_settings)
    # X's limit scaled down: 5 retweets per 2-second window
    with FakeXApi(user_token=USER_TOKEN, retweet_limit=5, retweet_window_s=2.0) as fake:
        fake.missing_tweets.add("112")  # deleted meanwhile: X answers 404
        fake.fail_retweets = 2  # two 503s: retried
        s = _live(db_settings, fake)
        stats = run_act(s, until_idle=True)
        acts = _actions(s)
        assert stats.mode == "live" and stats.done == 12 and stats.failed == 1
        assert stats.rate_limit_waits >= 2 and fake.too_many == 0  # waited on the headers, never hit 429
        assert acts[112][1] == "failed" and "Could not find tweet" in acts[112][2]
        assert max(a[3] for a in acts.values()) == 3  # the one that met both 503s
        assert fake.retweeted == {str(i) for i in range(101, 112)} | {"9000"}
        assert set(fake.retweet_posts.values()) == {1}  # no tweet was sent twice
        again = run_act(s, until_idle=True)
        assert again.done == 0 and set(fake.retweet_posts.values()) == {1}


def test_a_crash_between_the_call_and_the_write_is_reconciled_not_repeated(db_settings):
    with connect(db_settings.postgres, autocommit=True) as conn:
        _ai(conn, 301)
        _ai(conn, 302)
        conn.execute(
            "INSERT INTO retweet_actions (tweet_id, target_id, status, attempts, last_attempt_at) VALUES "
            "(301, 301, 'in_flight', 1, now() - interval '1 hour'),"
            " (302, 302, 'in_flight', 1, now() - interval '1 hour')"
        )
    with FakeXApi(user_token=USER_TOKEN) as fake:
        fake.retweeted.add("301")  # the crashed run's call reached X for 301, not for 302
        s = _live(db_settings, fake)
        stats = run_act(s, until_idle=True)
        acts = _actions(s)
        assert stats.reconciled == 2
        assert acts[301][1] == "done" and "reconciled" in acts[301][2] and fake.retweet_posts["301"] == 0
        assert acts[302][1] == "done" and fake.retweet_posts["302"] == 1


def test_a_429_waits_for_the_reset_and_is_not_counted_as_an_attempt(db_settings):
    with connect(db_settings.postgres, autocommit=True) as conn:
        _ai(conn, 401)
    with FakeXApi(user_token=USER_TOKEN, retweet_limit=1, retweet_window_s=2.0) as fake:
        fake._window_used = 1  # the window is already used up by another client of this account
        s = _live(db_settings, fake)
        stats = run_act(s, until_idle=True)
        acts = _actions(s)
        assert fake.too_many == 1 and stats.rate_limit_waits >= 1
        assert acts[401][1:3] == ("done", None) and acts[401][3] == 1


# -- Bluesky ------------------------------------------------------------------------------------------


def _bluesky_posts(conn, n: int) -> dict[int, str]:
    """``n`` AI posts from Bluesky with links (and one without), by id → at-URI."""
    from streamsift.records import platform_id

    out = {}
    for i in range(n):
        uri = f"at://did:plc:author{i}/app.bsky.feed.post/3k{i:011d}"
        tid = platform_id("bluesky", uri)
        _ai(conn, tid, minutes=i, platform="bluesky", uri=uri, cid=f"bafyreipost{i}")
        out[tid] = uri
    nolink = "at://did:plc:x/app.bsky.feed.post/nolink"
    _ai(conn, platform_id("bluesky", nolink), links=False, platform="bluesky", uri=nolink, cid="c")
    return out


def _bluesky_live(s, pds: FakePds):
    bs = s.bluesky.model_copy(update={"pds_url": pds.url, "handle": pds.handle})
    act = s.act.model_copy(update={"poll_s": 0.2, "request_timeout_s": 2.0})
    return s.model_copy(update={"bluesky": bs, "act": act, "bluesky_app_password": SecretStr(pds.app_password)})


def test_bluesky_posts_are_reposted_once_within_the_rate_limit_with_one_session(db_settings):
    with connect(db_settings.postgres, autocommit=True) as conn:
        posts = _bluesky_posts(conn, 9)
        _ai(conn, 9001)  # an X tweet beside them: no X credentials, so a dry run
        _ai(conn, 9002, platform="mastodon", uri="https://sigmoid.social/users/a/statuses/1")  # recorded only
    pds = FakePds("streamsift.bsky.social", "abcd-efgh-ijkl-mnop", write_limit=4, write_window_s=2.0, access_uses=3)
    pds.fail_writes = 1  # one 502 before anything was written: retried
    pds.lose_answers = 1  # one 502 after the repost was made: found in the repo, not sent again
    pds.start()
    try:
        s = _bluesky_live(db_settings, pds)
        stats = run_act(s, until_idle=True)
        acts = _actions(s)
        assert stats.mode == "live" and stats.done == 9 and stats.dry_run == 2 and stats.failed == 0
        assert acts[9001][1] == "dry_run" and "X user credentials" in acts[9001][2]
        assert acts[9002][1] == "dry_run" and "Mastodon" in acts[9002][2]
        assert pds.reposted() == dict.fromkeys(posts.values(), 1)  # each post once, none twice
        assert stats.rate_limit_waits >= 2 and pds.too_many == 0  # waited on the ratelimit headers
        assert pds.sessions == 1 and pds.refreshes >= 2  # one login; expired access tokens refreshed
        cids = {r["value"]["subject"]["cid"] for r in pds.reposts}
        assert cids == {f"bafyreipost{i}" for i in range(9)}
        again = run_act(s, until_idle=True)
        assert again.done == 0 and len(pds.reposts) == 9
    finally:
        pds.stop()


def test_a_bluesky_repost_in_flight_at_a_crash_is_reconciled_from_the_repo(db_settings):
    with connect(db_settings.postgres, autocommit=True) as conn:
        posts = _bluesky_posts(conn, 2)
        (a, uri_a), (b, _uri_b) = posts.items()
        conn.execute(
            "INSERT INTO retweet_actions (tweet_id, target_id, status, attempts, last_attempt_at, platform) VALUES "
            "(%s, %s, 'in_flight', 1, now() - interval '1 hour', 'bluesky'),"
            " (%s, %s, 'in_flight', 1, now() - interval '1 hour', 'bluesky')",
            (a, a, b, b),
        )
    pds = FakePds("streamsift.bsky.social", "abcd-efgh-ijkl-mnop").start()
    try:
        # the crashed run's createRecord reached the PDS for the first post only
        pds.reposts.append({"uri": "at://x/app.bsky.feed.repost/1", "value": {"subject": {"uri": uri_a, "cid": "c"}}})
        s = _bluesky_live(db_settings, pds)
        stats = run_act(s, until_idle=True)
        acts = _actions(s)
        assert stats.reconciled == 2
        assert acts[a][1] == "done" and "reconciled" in acts[a][2]
        assert acts[b][1] == "done"
        assert pds.reposted() == dict.fromkeys(posts.values(), 1)
    finally:
        pds.stop()


def test_a_wrong_app_password_stops_act_with_a_clear_error(db_settings):
    from streamsift.live.act import ActError

    with connect(db_settings.postgres, autocommit=True) as conn:
        _bluesky_posts(conn, 1)
    pds = FakePds("streamsift.bsky.social", "the-right-one").start()
    try:
        s = _bluesky_live(db_settings, pds).model_copy(update={"bluesky_app_password": SecretStr("wrong")})
        with pytest.raises(ActError, match="refused the login") as err:
            run_act(s, until_idle=True)
        assert "wrong" not in str(err.value)
    finally:
        pds.stop()
