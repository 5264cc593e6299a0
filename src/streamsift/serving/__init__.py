"""The model server: one model runtime and batch-classify core behind TF Serving REST and OIP v2.

request ─► protocol (tfserving.py | oip.py) ─► validate ─► PredictionCache (cache.py)
        ─► MicroBatcher (batcher.py) ─► classify_batch (runtime.py) ─► ONNX Runtime
        ─► InferenceLog (inference_log.py, PostgreSQL, asynchronous)
models.events / registry poll ─► ModelManager (manager.py): load, warm, swap
"""
