import pytest

from streamsift.errors import TableNameError
from streamsift.store.tables import raw_table, validate_identifier, versioned


def test_versioned_name():
    assert raw_table("raw_tweet_dataset", 0) == "raw_tweet_dataset_0"
    assert versioned("test_dataset", 12) == "test_dataset_12"


@pytest.mark.parametrize(
    "bad",
    ["", "Raw", "1abc", "a-b", "a b", "a;drop table x", 'a"b', "tweets.raw", "é", "a" * 64, None, 5],
)
def test_rejects_unsafe_identifiers(bad):
    with pytest.raises(TableNameError):
        validate_identifier(bad)


@pytest.mark.parametrize("version", [-1, 1.5, "0", True])
def test_rejects_bad_versions(version):
    with pytest.raises(TableNameError):
        versioned("raw", version)


def test_name_too_long_after_version():
    with pytest.raises(TableNameError, match="longer than 63"):
        versioned("a" * 62, 10)
