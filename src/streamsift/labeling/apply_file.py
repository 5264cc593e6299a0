"""``streamsift label apply``: weak-label any JSONL file of ``{"text": ...}`` records.

Streams the file twice (LF votes first, then the output), so memory holds only the
label matrix. Uses the LabelModel fitted by ``streamsift label`` for the current
version when its LFs match, otherwise fits one on the input. Records every LF
abstains on get ``weak_label: null``; lines that are not JSON objects with a text
keep their place in the output with ``weak_label: null`` and an ``error``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from streamsift.config import Settings
from streamsift.jsonl import read_text_records
from streamsift.labeling.apply import apply_lfs
from streamsift.labeling.errors import LabelingError
from streamsift.labeling.model import fit_label_model, load_model, predict_label_model
from streamsift.labeling.pipeline import model_path
from streamsift.labeling.registry import load_lfs

log = logging.getLogger(__name__)

CHUNK = 5000
#: Longer texts are cut to this many characters before the LFs see them (X's maximum is 25,000).
MAX_LF_CHARS = 50_000


@dataclass
class ApplyFileResult:
    lines: int
    labelled: int
    abstained: int
    invalid: int
    truncated: int
    model: str

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _row(obj: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    text = obj["text"]
    cut = len(text) > MAX_LF_CHARS
    urls = obj.get("urls") if isinstance(obj.get("urls"), list) else []
    urls = [u.get("expanded_url", "") if isinstance(u, dict) else u for u in urls]
    return {
        "tweet_id": obj.get("tweet_id") or obj.get("id_str") or obj.get("id"),
        "text": text[:MAX_LF_CHARS],
        "urls": [u for u in urls if isinstance(u, str)],
        "hashtags": [h for h in obj.get("hashtags") or [] if isinstance(h, str)]
        if isinstance(obj.get("hashtags"), list)
        else [],
        "is_retweet": bool(obj.get("is_retweet")),
    }, cut


def apply_to_file(
    settings: Settings, input_path: Path, output_path: Path, *, on_rows: Callable[[int], None] | None = None
) -> ApplyFileResult:
    if not input_path.is_file():
        raise LabelingError(f"input file {input_path} does not exist")
    classes = list(settings.labeling.classes)
    k = len(classes)
    lfs = load_lfs(settings.labeling)
    names = [lf.name for lf in lfs]

    blocks: list[np.ndarray] = []
    batch: list[dict[str, Any]] = []
    invalid = truncated = lines = 0

    def flush() -> None:
        if batch:
            blocks.append(apply_lfs(pd.DataFrame(batch), lfs, k, workers=settings.labeling.workers, on_rows=on_rows))
            batch.clear()

    for _n, obj, err in read_text_records(input_path):
        lines += 1
        if err is not None:
            invalid += 1
            continue
        row, cut = _row(obj)  # type: ignore[arg-type]
        truncated += cut
        batch.append(row)
        if len(batch) >= CHUNK:
            flush()
    flush()
    L = np.vstack(blocks) if blocks else np.zeros((0, len(lfs)), dtype=np.int64)
    if truncated:
        log.warning("%d texts longer than %d characters were cut for the LFs", truncated, MAX_LF_CHARS)

    path = model_path(settings)
    model_name = "fitted on the input"
    model = None
    if path.exists():
        saved, saved_names, saved_classes = load_model(path)
        if saved_names == names and saved_classes == classes:
            model, model_name = saved, f"saved LabelModel ({path})"
        else:
            log.warning("the saved LabelModel used other LFs or classes: fitting a new one on the input")
    if model is None:
        if not (L != -1).any():
            raise LabelingError("no labeling function voted on any record of the input: nothing to label with")
        ls = settings.labeling
        model = fit_label_model(L, k, epochs=ls.epochs, lr=ls.learning_rate, seed=ls.seed)
    weak = predict_label_model(model, L)

    tmp = output_path.with_name(output_path.name + ".tmp")
    i = 0
    labelled = abstained = 0
    with tmp.open("w", encoding="utf-8") as out:
        for n, obj, err in read_text_records(input_path):
            if err is not None:
                rec = dict(obj) if obj is not None else {"line": n}
                rec.update({"weak_label": None, "weak_label_name": None, "weak_prob": None, "error": err})
            else:
                label = int(weak.labels[i])
                rec = dict(obj)  # type: ignore[arg-type]
                if label < 0:
                    abstained += 1
                    rec.update({"weak_label": None, "weak_label_name": None, "weak_prob": None})
                else:
                    labelled += 1
                    rec.update(
                        {
                            "weak_label": label,
                            "weak_label_name": classes[label],
                            "weak_prob": round(float(weak.confidence[i]), 6),
                        }
                    )
                i += 1
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    tmp.replace(output_path)
    return ApplyFileResult(lines, labelled, abstained, invalid, truncated, model_name)
