"""Split sizes: configured on big data; on small data train keeps most rows and snorkel_train shrinks first."""

from __future__ import annotations

import pytest

from streamsift.config import DatasetSettings
from streamsift.dataset.prepare import plan_sizes

DS = DatasetSettings()  # 1000 / 500 / 10,000


def test_big_data_gets_the_configured_sizes():
    s = plan_sizes(102_000, DS)
    assert (s.test, s.dev, s.snorkel_train, s.train, s.shrunk) == (1000, 500, 10_000, 90_500, False)


@pytest.mark.parametrize("n", [10, 600, 2314, 8000, 38_000])
def test_small_data_keeps_most_rows_for_train(n):
    s = plan_sizes(n, DS)
    assert s.shrunk and s.test + s.dev + s.snorkel_train + s.train == n
    assert s.train >= 0.7 * n - 1
    assert s.test + s.dev <= 0.2 * n


def test_snorkel_train_shrinks_before_test_and_dev():
    s = plan_sizes(2314, DS)  # the real-tweet run of the issue: 927 rows were left for train before
    assert (s.test, s.dev) == (308, 154) and s.snorkel_train == 232 and s.train == 1620
    s = plan_sizes(20_000, DS)
    assert (s.test, s.dev) == (1000, 500) and s.snorkel_train == 4500 and s.train == 14_000
