"""The rate-limit bookkeeping `act` keeps per platform (pure logic; the integration tests drive it
against local X and Bluesky servers that answer 429)."""

from __future__ import annotations

import time

from streamsift.live.act import RateLimit


def x_limit() -> RateLimit:
    return RateLimit("x-rate-limit-remaining", "x-rate-limit-reset")


def test_no_wait_while_the_budget_lasts_or_is_unknown():
    limit = x_limit()
    assert limit.wait_s() == 0.0
    limit.note({"x-rate-limit-remaining": "3", "x-rate-limit-reset": str(int(time.time()) + 600)})
    assert limit.remaining == 3 and limit.wait_s() == 0.0


def test_a_used_up_window_waits_until_its_reset():
    limit = x_limit()
    limit.note({"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(time.time()) + 100)})
    assert 90 <= limit.wait_s() <= 101
    limit.reopen()
    assert limit.remaining is None and limit.wait_s() == 0.0


def test_headers_of_another_platform_or_not_numbers_are_ignored():
    limit = x_limit()
    limit.note({"ratelimit-remaining": "0", "ratelimit-reset": str(int(time.time()) + 100)})
    limit.note({"x-rate-limit-remaining": "many", "x-rate-limit-reset": "soon"})
    assert limit.remaining is None and limit.reset_at is None


def test_a_429_without_a_reset_header_backs_off_a_minute():
    limit = RateLimit("ratelimit-remaining", "ratelimit-reset")
    limit.exhausted()
    assert 50 <= limit.wait_s() <= 61


def test_a_429_keeps_a_reset_still_ahead():
    limit = x_limit()
    limit.note({"x-rate-limit-reset": str(int(time.time()) + 300)})
    limit.exhausted()
    assert limit.remaining == 0 and 290 <= limit.wait_s() <= 301
