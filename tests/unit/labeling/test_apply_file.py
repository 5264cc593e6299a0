"""`label apply` on files, with a user LF module and a three-class label space (no database needed)."""

import json
import sys
import textwrap

import pytest

from streamsift.config import load_settings
from streamsift.labeling.apply_file import apply_to_file
from streamsift.labeling.errors import LabelingError


@pytest.fixture
def sentiment_settings(tmp_path, monkeypatch):
    (tmp_path / "sentiment_lfs.py").write_text(
        textwrap.dedent(
            """
            from snorkel.labeling import labeling_function

            NEG, NEU, POS = 0, 1, 2

            @labeling_function()
            def lf_good(x):
                return POS if "good" in x.text.lower() else -1

            @labeling_function()
            def lf_great(x):
                return POS if "great" in x.text.lower() else -1

            @labeling_function()
            def lf_bad(x):
                return NEG if "bad" in x.text.lower() else -1

            @labeling_function()
            def lf_awful(x):
                return NEG if "awful" in x.text.lower() else -1

            @labeling_function()
            def lf_meh(x):
                return NEU if "meh" in x.text.lower() else -1
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield load_settings(
        "/dev/null",
        state={"dir": str(tmp_path / "state")},
        labeling={
            "classes": ["negative", "neutral", "positive"],
            "builtin_lfs": False,
            "lf_modules": ["sentiment_lfs"],
            "workers": 1,
        },
    )
    sys.modules.pop("sentiment_lfs", None)


def test_three_classes_other_fields_kept_and_bad_lines_keep_their_place(sentiment_settings, tmp_path):
    lines = [
        {"text": "a good and great day", "id": 1},
        {"text": "awful, just bad", "id": 2},
        {"text": "meh", "id": 3},
        {"text": "nothing to see here", "id": 4},
        {"text": "", "id": 5},
    ]
    src = tmp_path / "in.jsonl"
    with src.open("wb") as fh:
        for rec in lines[:2]:
            fh.write(json.dumps(rec).encode() + b"\n")
        fh.write(b"not json\n")
        fh.write(b'{"text": "caf\xe9 latin-1"}\n')
        for rec in lines[2:]:
            fh.write(json.dumps(rec).encode() + b"\n")
        fh.write(json.dumps({"no_text": True}).encode() + b"\n")
    out = tmp_path / "out.jsonl"
    result = apply_to_file(sentiment_settings, src, out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 8 and result.lines == 8 and result.invalid == 3
    assert [r.get("id") for r in rows] == [1, 2, None, None, 3, 4, 5, None]
    by_id = {r["id"]: r for r in rows if "id" in r}
    assert by_id[1]["weak_label_name"] == "positive" and by_id[1]["weak_label"] == 2
    assert by_id[2]["weak_label_name"] == "negative"
    assert by_id[3]["weak_label_name"] == "neutral"
    for tid in (4, 5):  # no LF voted / empty text: no guess
        assert by_id[tid]["weak_label"] is None and by_id[tid]["weak_prob"] is None
    assert "invalid JSON" in rows[2]["error"] and "not UTF-8" in rows[3]["error"]
    assert rows[7]["error"] == "no string field 'text'" and rows[7]["no_text"] is True
    assert result.model == "fitted on the input"


def test_builtin_lfs_refuse_another_label_space(tmp_path):
    settings = load_settings("/dev/null", labeling={"classes": ["a", "b", "c"]}, state={"dir": str(tmp_path)})
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "x"}\n')
    with pytest.raises(LabelingError, match="built-in LFs label"):
        apply_to_file(settings, src, tmp_path / "out.jsonl")


def test_missing_input(sentiment_settings, tmp_path):
    with pytest.raises(LabelingError, match="does not exist"):
        apply_to_file(sentiment_settings, tmp_path / "nope.jsonl", tmp_path / "out.jsonl")
