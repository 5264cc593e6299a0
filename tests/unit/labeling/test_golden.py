"""Reading golden-label files: formats, skipped labels, and every problem reported before anything applies."""

from __future__ import annotations

import json

import pytest

from streamsift.labeling.golden import GoldenFileError, parse_golden

CLASSES = ["not_ai", "ai"]


def test_csv_with_class_names_indexes_and_the_ui_export_header():
    data = b"tweet_id,golden_label,golden_label_name,text\n11,1,ai,x\n12,0,not_ai,y\n"
    assert parse_golden(data, CLASSES).check().labels == {11: 1, 12: 0}
    data = "\ufeffid,label\n21,ai\n22,not_ai\n23,ambiguous\n".encode()
    p = parse_golden(data, CLASSES).check()
    assert p.labels == {21: 1, 22: 0} and p.skipped == 1 and p.rows == 3


def test_jsonl_like_the_golden_dev_file():
    lines = [
        {"id": "1248500210281492483", "source": "x", "text": "wifi", "label": "not_ai"},
        {"id": "1248525839601414144", "text": "#AI", "label": "ai"},
        {"tweet_id": 5, "label": "ambiguous"},
    ]
    data = ("\n".join(json.dumps(x) for x in lines) + "\n\n").encode()
    p = parse_golden(data, CLASSES).check()
    assert p.labels == {1248500210281492483: 0, 1248525839601414144: 1} and p.skipped == 1


def test_every_problem_is_listed_and_nothing_is_returned_as_good():
    data = b"tweet_id,label\n1,ai\nabc,ai\n2,robots\n1,not_ai\n-4,ai\n"
    with pytest.raises(GoldenFileError) as info:
        parse_golden(data, CLASSES).check()
    details = " ".join(info.value.details)
    assert "'abc' is not a positive number" in details and "unknown class 'robots'" in details
    assert "tweet 1 has two different labels" in details and "'-4'" in details
    assert str(info.value).startswith("nothing applied: 4 problem(s)")


def test_skip_can_be_switched_off_and_bad_files_are_named():
    with pytest.raises(GoldenFileError, match="unknown class 'ambiguous'"):
        parse_golden(b"id,label\n1,ambiguous\n", CLASSES, skip=()).check()
    with pytest.raises(GoldenFileError, match="needs a header"):
        parse_golden(b"a,b\n1,2\n", CLASSES)
    with pytest.raises(GoldenFileError, match="not UTF-8"):
        parse_golden(b"\xff\xfe\x00", CLASSES)
    with pytest.raises(GoldenFileError, match="line 2: not JSON"):
        parse_golden(b'{"id": 1, "label": "ai"}\n{oops\n', CLASSES).check()
    with pytest.raises(GoldenFileError, match="no labels"):
        parse_golden(b"id,label\n", CLASSES).check()
