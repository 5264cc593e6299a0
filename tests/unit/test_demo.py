"""The demo's stage runner: timing, the summary rows, and a failure that names its stage and log."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streamsift.config import load_settings
from streamsift.demo import STAGES, DemoError, DemoReport, StageResult, _Runner
from streamsift.errors import InfraError


def _runner(tmp_path: Path):
    settings = load_settings(Path(os.devnull), state={"dir": str(tmp_path)})
    seen: list[tuple[int, int, str]] = []
    return _Runner(settings, DemoReport(), lambda i, n, name: seen.append((i, n, name))), seen


def test_stages_are_announced_timed_and_reported(tmp_path):
    run, seen = _runner(tmp_path)
    with run.stage("infra") as st:
        st.rows, st.detail = 10, "ten rows"
    with run.stage("produce") as st:
        st.rows, st.rate = 5, 123.4
    assert seen == [(1, len(STAGES), "infra"), (2, len(STAGES), "produce")]
    first, second = run.report.stages
    assert first.stage == "infra" and first.detail == "ten rows" and first.seconds >= 0
    assert second.per_second == 123.4  # a measured rate wins over rows / seconds
    assert StageResult("x", 10, 2.0, "").per_second == 5.0
    assert StageResult("x", None, 2.0, "").per_second is None


def test_a_failure_names_the_stage_and_the_log_file(tmp_path):
    run, _ = _runner(tmp_path)
    with pytest.raises(DemoError) as err, run.stage("ingest", tmp_path / "logs" / "spark.log"):
        raise RuntimeError("the broker went away")
    msg = str(err.value)
    assert msg.startswith(f"stage 1/{len(STAGES)} (ingest) failed: the broker went away")
    assert str(tmp_path / "logs" / "spark.log") in msg
    assert run.report.stages == []  # a failed stage is not reported as done


def test_a_failure_keeps_the_errors_own_hint(tmp_path):
    run, _ = _runner(tmp_path)
    with pytest.raises(DemoError) as err, run.stage("services"):
        raise InfraError("serve exited with code 1", hint="see /state/logs/serve.log")
    assert str(err.value).endswith("(see /state/logs/serve.log)")
    with pytest.raises(DemoError) as err, run.stage("train"):
        raise InfraError("no labels", hint="run `streamsift label`")
    assert f"run `streamsift label`; log: {tmp_path / 'logs' / 'streamsift.log'}" in str(err.value)
