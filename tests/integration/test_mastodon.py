"""Mastodon's streaming API → Kafka, against a local instance that cuts the stream: the gap is filled
from the REST timeline, nothing is lost, the token never reaches a log."""

from __future__ import annotations

import logging
import threading

import pytest

from streamsift.infra.kafka import KafkaBroker
from streamsift.ingest.producer import produce
from streamsift.records import platform_id
from streamsift.sources.base import SourceError
from streamsift.sources.mastodon import MastodonSource
from tests.integration.live_support import read_topic, tap_until
from tests.support.fake_mastodon import FakeMastodon, status

pytestmark = pytest.mark.integration

TOKEN = "mastodon-user-token-d41d8cd98f00b204"


def test_a_cut_stream_is_filled_from_the_timeline(infra_settings, topic_name, caplog):
    s = infra_settings
    statuses = [status(i, lang="fr" if i % 8 == 5 else "en") for i in range(120)]
    english = {st["uri"]: st for st in statuses if st["language"] == "en"}
    keys = {str(platform_id("mastodon", uri)).encode() for uri in english}
    server = FakeMastodon(TOKEN, statuses, drop_at=40, resume_at=70).start()
    KafkaBroker(s.kafka, s.state.root).ensure_topics([topic_name])
    ms = s.mastodon.model_copy(update={"languages": ["en"], "url": server.url})
    stop = threading.Event()
    caplog.set_level(logging.DEBUG)
    try:
        with MastodonSource(ms, TOKEN, stop=stop) as src:
            produce(tap_until(src, keys, 1, stop), s.kafka, s.producer, topic=topic_name)
    finally:
        server.stop()
    assert server.stream_connections >= 2 and src.stats.reconnects >= 1
    assert server.timeline_calls and src.stats.backfilled >= 30  # statuses 40..69 came from the timeline
    assert src.stats.skipped.get("delete", 0) > 0 and src.stats.skipped.get("status.update", 0) > 0
    assert src.stats.filtered > 0  # the French statuses
    msgs = read_topic(s, topic_name)
    assert {m.key() for m in msgs} - {None} == keys
    assert sum(1 for m in msgs if m.key() is None) >= 1  # the broken update, on its way to the dead letters
    assert TOKEN not in caplog.text


def test_a_wrong_token_stops_the_source_with_a_clear_error(infra_settings):
    server = FakeMastodon(TOKEN, [status(0)], drop_at=1, resume_at=1).start()
    try:
        ms = infra_settings.mastodon.model_copy(update={"url": server.url})
        with MastodonSource(ms, "not-the-token") as src, pytest.raises(SourceError, match="refused the token") as err:
            next(iter(src))
    finally:
        server.stop()
    assert "not-the-token" not in str(err.value)
    with pytest.raises(SourceError, match="read:statuses"):
        MastodonSource(infra_settings.mastodon, None)
