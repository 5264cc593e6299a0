import json

import pytest

from streamsift.sources.base import SourceError
from streamsift.sources.replay import ReplaySource


def test_jsonl_lines_keyed_by_id(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text('{"id_str": "11", "text": "a"}\n\n{"data": {"id": "12", "text": "b"}}\nnot json\n')
    src = ReplaySource(f)
    recs = list(src)
    assert src.total == 3
    assert [r.key for r in recs] == [b"11", b"12", None]
    assert recs[2].payload == b"not json"  # sent as is: it becomes a dead letter downstream


def test_folder_of_json_files(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"id_str": "1", "text": "x"}))
    (tmp_path / "b.json").write_text(json.dumps([{"id_str": "2", "text": "y"}, {"id_str": "3", "text": "z"}]))
    (tmp_path / "ignored.txt").write_text("nope")
    assert [r.key for r in ReplaySource(tmp_path)] == [b"1", b"2", b"3"]


def test_loop_repeats(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text('{"id_str": "1", "text": "a"}\n')
    it = iter(ReplaySource(f, loop=True))
    assert [next(it).key for _ in range(3)] == [b"1", b"1", b"1"]


def test_missing_path(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        ReplaySource(tmp_path / "nope.jsonl")
    with pytest.raises(SourceError, match=r"no \.json or \.jsonl files"):
        ReplaySource(tmp_path)
