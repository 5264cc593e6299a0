"""The plain peer in ``bench/serve_load.py``: a bare FastAPI endpoint, one ONNX Runtime call per request.

No batching across requests, no cache, no log: what a first model server usually looks like.
Speaks TF Serving's REST predict (``{"instances": [...]}`` → ``{"predictions": [[p_not_ai, p_ai], ...]}``).

    PLAIN_MODEL_DIR=models/tweet-classifier/1 uvicorn plain_fastapi:app --app-dir bench/serve_peers
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from streamsift.models.predict import OnnxClassifier

MODEL_DIR = Path(os.environ["PLAIN_MODEL_DIR"])
MODEL_NAME = os.environ.get("PLAIN_MODEL_NAME", "tweet-classifier")
classes = json.loads((MODEL_DIR / "config.json").read_text())["labeling_classes"]
clf = OnnxClassifier(MODEL_DIR, classes, threads=int(os.environ.get("PLAIN_THREADS", "1")))
app = FastAPI()


class PredictRequest(BaseModel):
    instances: list[str]


@app.get("/v2/health/ready")
def ready() -> dict:
    return {"ready": True}


@app.post("/v1/models/{name}:predict")
def predict(name: str, req: PredictRequest) -> dict:
    if name != MODEL_NAME:
        raise HTTPException(404, f"no model {name}")
    return {"predictions": clf.predict_proba(req.instances).tolist()}
