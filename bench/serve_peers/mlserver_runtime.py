"""MLServer custom runtime for the streamsift tweet classifier (peer in ``bench/serve_load.py``).

Runs in MLServer's own venv, without streamsift: the tokenizer is streamsift's
``models/tokenizer.py`` loaded by file path (stdlib + numpy only), so its ids — and the
probabilities — are the ones ``OnnxClassifier`` computes.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec, StringCodec
from mlserver.types import InferenceRequest, InferenceResponse


def _load_module(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


class TweetClassifier(MLModel):
    async def load(self) -> bool:
        extra = self.settings.parameters.extra or {}
        folder = Path(self.settings.parameters.uri)
        self._tokenizer = _load_module("_streamsift_tokenizer", extra["tokenizer_py"]).Tokenizer.load(
            folder / "tokenizer.json"
        )
        self._max_chars = int(extra.get("max_chars", 2000))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(extra.get("threads", 1))
        self._session = ort.InferenceSession(str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"])
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        texts = StringCodec.decode_input(payload.inputs[0])
        ids, _ = self._tokenizer.encode([t[: self._max_chars] for t in texts])
        probs = self._session.run(["probs"], {"ids": ids})[0].astype(np.float32, copy=False)
        return InferenceResponse(model_name=self.name, outputs=[NumpyCodec.encode_output("probs", probs)])
