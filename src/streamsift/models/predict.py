"""Batch scoring with ONNX Runtime alone (no PyTorch import): ``streamsift predict``.

The same :class:`OnnxClassifier` is what a model server or a Spark executor loads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from streamsift.config import Settings
from streamsift.errors import StreamsiftError
from streamsift.models.tokenizer import Tokenizer

log = logging.getLogger(__name__)


class PredictError(StreamsiftError):
    """Scoring cannot proceed (no model, unreadable input, ...)."""


class OnnxClassifier:
    """A model folder loaded for inference: tokenizer + ONNX Runtime session."""

    def __init__(self, path: Path, classes: list[str], *, max_chars: int = 2000, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not (self.path / "model.onnx").exists():
            raise PredictError(f"{self.path} has no model.onnx")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(self.path / "model.onnx"), opts, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.load(self.path / "tokenizer.json")
        self.classes = classes
        self.max_chars = max_chars

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        ids, _ = self.tokenizer.encode([t[: self.max_chars] for t in texts])
        return self.session.run(["probs"], {"ids": ids})[0]

    def predict_ids(self, ids: np.ndarray) -> np.ndarray:
        return self.session.run(["probs"], {"ids": ids})[0]


def load_classifier(settings: Settings, version: int | None = None) -> tuple[OnnxClassifier, int]:
    from streamsift.models.registry import get_model

    row = get_model(settings, version)
    config = json.loads(Path(row["path"], "config.json").read_text())
    clf = OnnxClassifier(Path(row["path"]), config["labeling_classes"], max_chars=settings.model.max_chars)
    return clf, int(row["version"])


@dataclass
class PredictResult:
    records: int
    scored: int
    errors: int
    truncated: int
    version: int

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _lines(path: Path) -> Iterator[tuple[dict[str, Any] | None, str | None, str | None]]:
    """(record, text, error) per non-blank line."""
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield {"line": n}, None, f"line {n} is not JSON in UTF-8: {type(exc).__name__}"
                continue
            if not isinstance(obj, dict):
                yield {"line": n}, None, f"not a JSON object but a {type(obj).__name__}"
            elif not isinstance(obj.get("text"), str):
                yield obj, None, "no string field 'text'"
            elif not obj["text"].strip():
                yield obj, None, "empty text"
            else:
                yield obj, obj["text"], None


def predict_file(
    settings: Settings, input_path: Path, output_path: Path, *, version: int | None = None, batch_size: int = 1024,
    on_rows: Callable[[int], None] | None = None,
) -> PredictResult:
    """Score a JSONL file in batches (bounded memory); adds ``label``, ``probability``, ``model_version``."""
    if not input_path.is_file():
        raise PredictError(f"input file {input_path} does not exist")
    clf, v = load_classifier(settings, version)
    limit = settings.model.max_chars
    tmp = output_path.with_name(output_path.name + ".tmp")
    records = scored = errors = truncated = 0
    pending: list[tuple[dict[str, Any], str | None, str | None]] = []

    def flush(out) -> None:  # noqa: ANN001 - a text file
        nonlocal scored, errors, truncated
        texts = [t for _, t, _ in pending if t is not None]
        probs = clf.predict_proba(texts) if texts else np.zeros((0, len(clf.classes)))
        i = 0
        for obj, text, err in pending:
            rec = dict(obj)
            if err is not None:
                errors += 1
                rec.update({"label": None, "probability": None, "model_version": v, "error": err})
            else:
                p = probs[i]
                i += 1
                k = int(p.argmax())
                rec.update({"label": clf.classes[k], "probability": round(float(p[k]), 6), "model_version": v})
                if len(text) > limit:
                    truncated += 1
                    rec["truncated_to_chars"] = limit
                scored += 1
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        if on_rows:
            on_rows(len(pending))
        pending.clear()

    with tmp.open("w", encoding="utf-8") as out:
        for item in _lines(input_path):
            records += 1
            pending.append(item)
            if len(pending) >= batch_size:
                flush(out)
        flush(out)
    tmp.replace(output_path)
    if truncated:
        log.warning("%d texts were longer than %d characters and were cut before scoring", truncated, limit)
    return PredictResult(records, scored, errors, truncated, v)
