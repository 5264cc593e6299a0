"""What training writes into a version's folder, before the registry stores it.

model.onnx         the network for ONNX Runtime (input ``ids``, output ``probs``)
model.pt           the PyTorch weights and their config (for parity checks and fine-tuning)
tokenizer.json     the vocabulary the ids come from
metrics.json       history, dev selection, test scores and the golden comparison
fingerprint.json   the training data (table, rows, SHA-256 of ids and labels) and the code (git commit)
config.json        the settings it was trained with and the label space
reports/           PNG plots and the worst errors (CSV)
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd


def git_commit() -> dict[str, Any]:
    """The commit of the code that trained, and whether the checkout had uncommitted changes."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    if commit.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def data_fingerprint(table: str, rows: pd.DataFrame) -> dict[str, Any]:
    """Which rows with which labels a model learned from (``tweet_id`` and ``y`` columns)."""
    h = hashlib.sha256()
    for tid, y in zip(rows["tweet_id"], rows["y"], strict=True):
        h.update(f"{tid}:{y}\n".encode())
    return {"table": table, "rows": len(rows), "sha256": h.hexdigest()}


def write_model_files(folder: Path, *, model: Any, tokenizer: Any, max_len: int) -> None:
    """The network as ONNX and as PyTorch weights, and its tokenizer."""
    import torch

    from streamsift.models.network import export_onnx

    export_onnx(model, str(folder / "model.onnx"), max_len)
    torch.save({"state_dict": model.state_dict(), "config": model.config}, folder / "model.pt")
    tokenizer.save(folder / "tokenizer.json")


def write_json(folder: Path, **files: dict[str, Any]) -> None:
    """``write_json(folder, metrics=..., config=...)`` writes ``metrics.json`` and ``config.json``."""
    for name, data in files.items():
        (folder / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))


__all__ = ["data_fingerprint", "git_commit", "write_json", "write_model_files"]
