"""Training, the registry, promotion events on the real broker, ONNX scoring."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka import Consumer

from streamsift.dataset.prepare import prepare_dataset
from streamsift.labeling.pipeline import run_labeling
from streamsift.models.predict import load_classifier, predict_file
from streamsift.models.registry import RegistryError, get_model, list_models, promote, rollback
from streamsift.models.train import load_split, train
from streamsift.records import MalformedRecord, parse_payload
from streamsift.sources.synthetic import generate
from tests.integration.helpers import fill_raw, with_version

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def model_settings(infra_settings, tmp_path_factory):
    version = 800_000 + uuid.uuid4().int % 100_000
    s = with_version(infra_settings, version)
    fill_raw(s, 2500, seed=61)
    prepare_dataset(s)
    run_labeling(s)
    model = s.model.model_copy(
        update={
            "name": f"clf-{uuid.uuid4().hex[:8]}",
            "models_dir": tmp_path_factory.mktemp("models"),
            "epochs": 4,
        }
    )
    return s.model_copy(update={"model": model})


@pytest.fixture(scope="module")
def trained(model_settings):
    return train(model_settings)


def test_train_registers_a_complete_candidate(model_settings, trained):
    path = Path(trained.path)
    for name in (
        "model.onnx",
        "model.pt",
        "tokenizer.json",
        "metrics.json",
        "config.json",
        "fingerprint.json",
        "reports/pr_curve.png",
        "reports/calibration.png",
        "reports/worst_errors.csv",
    ):
        assert (path / name).is_file(), name
    assert (path / "reports/pr_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["onnx_opset"] == 17 and metrics["test"]["labels"] in {"weak", "golden"}
    for key in ("neural", "baseline_tfidf_logreg", "weak_labels"):
        m = metrics["test"][key]
        assert 0 <= m["accuracy"] <= 1 and "macro" in m and "weighted" in m
    assert metrics["test"]["neural"]["accuracy"] > 0.85
    fp = json.loads((path / "fingerprint.json").read_text())
    train_df = load_split(model_settings, "train")
    assert fp["data"]["table"] == train_df.attrs["table"] and fp["data"]["rows"] == int(
        train_df["weak_label"].notna().sum()
    )
    assert len(fp["data"]["sha256"]) == 64 and "commit" in fp["code"]
    row = get_model(model_settings, trained.version)
    assert row["stage"] == "candidate" and row["path"] == trained.path


def test_training_is_deterministic(model_settings, trained):
    again = train(model_settings)
    assert again.version == trained.version + 1
    a = json.loads(Path(trained.path, "metrics.json").read_text())
    b = json.loads(Path(again.path, "metrics.json").read_text())
    assert a["history"] == b["history"] and a["test"]["neural"] == b["test"]["neural"]


def test_onnx_matches_pytorch_on_1000_texts(model_settings, trained):
    import torch

    from streamsift.models.network import TweetClassifier

    texts = []
    for item in generate(1100, seed=62):
        try:
            texts.append(parse_payload(item.record.payload)[0].text)
        except MalformedRecord:
            continue
    texts = texts[:1000]
    assert len(texts) == 1000
    clf, _ = load_classifier(model_settings, trained.version)
    onnx_probs = clf.predict_proba(texts)
    saved = torch.load(Path(trained.path, "model.pt"), weights_only=False)
    model = TweetClassifier.from_config(saved["config"])
    model.load_state_dict(saved["state_dict"])
    model.eval()
    ids, _ = clf.tokenizer.encode(texts)
    with torch.no_grad():
        torch_probs = model(torch.from_numpy(ids)).numpy()
    assert np.abs(onnx_probs - torch_probs).max() < 1e-5


def _events(settings, group: str) -> list[dict]:
    c = Consumer({"bootstrap.servers": settings.kafka.bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    c.subscribe([settings.kafka.topic_model_events])
    out, deadline = [], time.monotonic() + 20
    while time.monotonic() < deadline:
        msgs = c.consume(100, timeout=1.0)
        out += [json.loads(m.value()) for m in msgs if m.error() is None]
        if out and not msgs:
            break
    c.close()
    return [e for e in out if e["name"] == settings.model.name]


def test_promote_rollback_and_events(model_settings, trained):
    with pytest.raises(RegistryError, match="no production version"):
        get_model(model_settings)
    with pytest.raises(RegistryError, match="no version 999"):
        promote(model_settings, 999)
    first = promote(model_settings, trained.version)
    second = train(model_settings)
    promote(model_settings, second.version)
    stages = {r["version"]: r["stage"] for r in list_models(model_settings)}
    assert stages[trained.version] == "archived" and stages[second.version] == "production"
    back = rollback(model_settings)
    assert back["version"] == trained.version and back["previous_version"] == second.version
    assert get_model(model_settings)["version"] == trained.version
    events = _events(model_settings, f"g-{uuid.uuid4().hex}")
    assert [(e["version"], e["previous_version"]) for e in events] == [
        (trained.version, None),
        (second.version, trained.version),
        (trained.version, second.version),
    ]
    assert events[0]["path"] == first["path"] and "neural" in events[0]["metrics"]


def test_predict_file_with_onnx_runtime_only(model_settings, trained, tmp_path):
    promote(model_settings, trained.version)
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [
        json.dumps({"text": "new paper on deep learning and transformers https://arxiv.org/abs/1", "id": 1}),
        json.dumps({"text": "what a match tonight, great goal", "id": 2}),
        json.dumps({"text": "   ", "id": 3}),
        json.dumps({"text": 42, "id": 4}),
        "not json",
        json.dumps({"text": "machine learning " * 1000, "id": 6}),
    ]
    src.write_text("\n".join(lines) + "\n")
    r = predict_file(model_settings, src, out, batch_size=2)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert r.records == 6 and r.scored == 3 and r.errors == 3 and r.truncated == 1
    # No assertion on what a model trained in the test predicts (training noise would make it flaky):
    # the file path must give exactly what the classifier gives for the same texts, in order.
    clf, _ = load_classifier(model_settings, trained.version)
    texts = [json.loads(lines[i])["text"] for i in (0, 1, 5)]
    probs = clf.predict_proba(texts)
    for row, p in zip((rows[0], rows[1], rows[5]), probs, strict=True):
        assert row["label"] == clf.classes[int(np.argmax(p))]
        assert row["probability"] == pytest.approx(float(p.max()), abs=1e-6)
    assert [r.get("id") for r in rows] == [1, 2, 3, 4, None, 6]
    assert all(x["model_version"] == trained.version for x in rows)
    assert rows[2]["error"] == "empty text" and rows[3]["error"] == "no string field 'text'"
    assert rows[5]["truncated_to_chars"] == model_settings.model.max_chars and rows[5]["id"] == 6
    # two processes, same output in the same order
    r2 = predict_file(model_settings, src, tmp_path / "out2.jsonl", batch_size=2, workers=2)
    assert r2 == r and (tmp_path / "out2.jsonl").read_text() == out.read_text()
    # scoring never imports PyTorch: ONNX Runtime alone
    code = (
        "import sys, json; from streamsift.config import load_settings; "
        "from streamsift.models.predict import predict_file; from pathlib import Path; "
        f"s = load_settings('/dev/null', **json.loads({json.dumps(json.dumps(_overrides(model_settings)))})); "
        f"predict_file(s, Path({str(src)!r}), Path({str(tmp_path / 'o2.jsonl')!r})); "
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def _overrides(s) -> dict:
    return {
        "state": {"dir": str(s.state.dir)},
        "kafka": {"port": s.kafka.port, "controller_port": s.kafka.controller_port},
        "postgres": {"port": s.postgres.port},
        "dataset": {"version": s.dataset.version},
        "model": {"name": s.model.name, "models_dir": str(s.model.models_dir)},
    }


def test_scored_table_drives_the_uncertain_queue(model_settings, trained):
    from psycopg import sql

    from streamsift.dataset.prepare import split_table
    from streamsift.models.predict import score_table
    from streamsift.store.connection import connect
    from streamsift.web.store import AnnotationStore

    promote(model_settings, trained.version)
    table = split_table("dev", model_settings.dataset.version)
    n, v = score_table(model_settings, table)
    with connect(model_settings.postgres) as conn:
        total, scored, lowest = conn.execute(
            sql.SQL(
                "SELECT count(*), count(model_prob), (SELECT tweet_id FROM {t} WHERE golden_label IS NULL "
                "ORDER BY model_prob, tweet_id LIMIT 1) FROM {t} WHERE model_version = %s"
            ).format(t=sql.Identifier(table)),
            (v,),
        ).fetchone()
    assert v == trained.version and n == total == scored > 0
    store = AnnotationStore(model_settings)
    item = store.next_item(table, "uncertain", "tester")
    assert item.tweet_id == lowest and item.model_version == v and 0.0 < item.model_prob <= 1.0
    store.close()
