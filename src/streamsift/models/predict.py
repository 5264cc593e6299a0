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
from streamsift.jsonl import read_text_records
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


def _lines(path: Path) -> Iterator[tuple[dict[str, Any], str | None, str | None]]:
    """(record, text, error) per non-blank line; empty texts are errors too (nothing to score)."""
    for n, obj, err in read_text_records(path):
        if obj is None:
            yield {"line": n}, None, err
        elif err is not None:
            yield obj, None, err
        elif not obj["text"].strip():
            yield obj, None, "empty text"
        else:
            yield obj, obj["text"], None


_WORKER: dict[str, OnnxClassifier] = {}


def _worker_init(path: str, classes: list[str], max_chars: int) -> None:
    _WORKER["clf"] = OnnxClassifier(Path(path), classes, max_chars=max_chars, threads=1)


def _worker_score(texts: list[str]) -> np.ndarray:
    return _WORKER["clf"].predict_proba(texts) if texts else np.zeros((0, len(_WORKER["clf"].classes)))


def _batches(path: Path, size: int) -> Iterator[list[tuple[dict[str, Any], str | None, str | None]]]:
    batch: list[tuple[dict[str, Any], str | None, str | None]] = []
    for item in _lines(path):
        batch.append(item)  # type: ignore[arg-type]
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def predict_file(
    settings: Settings,
    input_path: Path,
    output_path: Path,
    *,
    version: int | None = None,
    batch_size: int = 1024,
    workers: int = 1,
    on_rows: Callable[[int], None] | None = None,
) -> PredictResult:
    """Score a JSONL file in batches (bounded memory); adds ``label``, ``probability``, ``model_version``.

    ``workers`` > 1 tokenizes and scores batches in that many processes (order is kept).
    """
    if not input_path.is_file():
        raise PredictError(f"input file {input_path} does not exist")
    clf, v = load_classifier(settings, version)
    limit = settings.model.max_chars
    tmp = output_path.with_name(output_path.name + ".tmp")
    counts = {"records": 0, "scored": 0, "errors": 0, "truncated": 0}

    def write(out, batch, probs: np.ndarray) -> None:
        i = 0
        for obj, text, err in batch:
            counts["records"] += 1
            rec = dict(obj)
            if err is not None:
                counts["errors"] += 1
                rec.update({"label": None, "probability": None, "model_version": v, "error": err})
            else:
                p = probs[i]
                i += 1
                k = int(p.argmax())
                rec.update({"label": clf.classes[k], "probability": round(float(p[k]), 6), "model_version": v})
                if len(text) > limit:
                    counts["truncated"] += 1
                    rec["truncated_to_chars"] = limit
                counts["scored"] += 1
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        if on_rows:
            on_rows(len(batch))

    def texts_of(batch) -> list[str]:
        return [t for _, t, _ in batch if t is not None]

    with tmp.open("w", encoding="utf-8") as out:
        if workers <= 1:
            for batch in _batches(input_path, batch_size):
                texts = texts_of(batch)
                write(out, batch, clf.predict_proba(texts) if texts else np.zeros((0, len(clf.classes))))
        else:
            from multiprocessing import get_context

            pending: list = []
            # spawn, not fork: a child forked from a process holding ONNX Runtime, Kafka or py4j
            # threads can inherit a held lock and hang for ever (it did, in CI).
            with get_context("spawn").Pool(
                workers, initializer=_worker_init, initargs=(str(clf.path), clf.classes, limit)
            ) as pool:

                def feed() -> Iterator[list[str]]:
                    for batch in _batches(input_path, batch_size):
                        pending.append(batch)
                        yield texts_of(batch)

                for probs in pool.imap(_worker_score, feed(), chunksize=1):
                    write(out, pending.pop(0), probs)
    tmp.replace(output_path)
    if counts["truncated"]:
        log.warning("%d texts were longer than %d characters and were cut before scoring", counts["truncated"], limit)
    return PredictResult(counts["records"], counts["scored"], counts["errors"], counts["truncated"], v)


def score_table(
    settings: Settings,
    table: str,
    *,
    version: int | None = None,
    chunk: int = 5000,
    on_rows: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Score every row of a split table with a registered model (default: production) and store
    ``model_label`` / ``model_prob`` (confidence of that label) / ``model_version`` in one transaction.

    The annotation UI's "uncertain" queue orders by ``model_prob`` once a table has been scored.
    Returns (rows scored, model version).
    """
    from psycopg import sql

    from streamsift.store.connection import connect, table_exists
    from streamsift.web.store import SPLIT_TABLE

    if not SPLIT_TABLE.match(table):
        raise PredictError(f"{table!r} is not a split table (e.g. dev_dataset_0)")
    clf, v = load_classifier(settings, version)
    t = sql.Identifier(table)
    n = 0
    with connect(settings.postgres) as conn:
        if not table_exists(conn, table):
            raise PredictError(f"{table} does not exist")
        with conn.transaction(), conn.cursor() as cur:
            for col in ("model_label smallint", "model_prob real", "model_version integer"):
                cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS " + col).format(t))
            cur.execute(
                "CREATE TEMP TABLE _scores (tweet_id bigint PRIMARY KEY, label smallint, prob real) ON COMMIT DROP"
            )
            rows = conn.execute(sql.SQL("SELECT tweet_id, text FROM {} ORDER BY tweet_id").format(t)).fetchall()
            with cur.copy("COPY _scores (tweet_id, label, prob) FROM STDIN") as cp:
                for start in range(0, len(rows), chunk):
                    part = rows[start : start + chunk]
                    probs = clf.predict_proba([r[1] or "" for r in part])
                    for (tid, _), p in zip(part, probs, strict=True):
                        k = int(p.argmax())
                        cp.write_row((tid, k, float(p[k])))
                    n += len(part)
                    if on_rows:
                        on_rows(len(part))
            cur.execute(
                sql.SQL(
                    "UPDATE {} s SET model_label = x.label, model_prob = x.prob, model_version = %s "
                    "FROM _scores x WHERE s.tweet_id = x.tweet_id"
                ).format(t),
                (v,),
            )
    return n, v
