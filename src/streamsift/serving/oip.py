"""The Open Inference Protocol v2 (KServe, Seldon MLServer, Triton), REST.

    GET  /v2                                  server metadata
    GET  /v2/health/live | /v2/health/ready   200, or 503 when not ready
    GET  /v2/models/{name}[/versions/{v}]     model metadata
    GET  /v2/models/{name}[/versions/{v}]/ready
    POST /v2/models/{name}[/versions/{v}]/infer

The model takes one BYTES input tensor of texts (``shape [n]`` or ``[n, 1]``, MLServer's
``content_type: "str"`` convention) and answers two outputs: ``probabilities`` (FP32,
``[n, n_classes]``, row-major) and ``label`` (BYTES, ``[n]``). A request may ask for one of them
with ``outputs``. Errors are ``{"error": "..."}``: 400 for a bad request, 404 for an unknown
model or version.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

import streamsift
from streamsift.serving.http import BearerAuth, json_body, json_response, request_id
from streamsift.serving.manager import ModelNotFound, ModelNotReady
from streamsift.serving.service import ApiError, InferenceService

PROTOCOL = "oip-v2"
OUTPUTS = ("probabilities", "label")

_EXAMPLE = {
    "id": "42",
    "inputs": [
        {
            "name": "text",
            "shape": [2],
            "datatype": "BYTES",
            "parameters": {"content_type": "str"},
            "data": ["New #MachineLearning paper on arXiv https://arxiv.org/abs/2001.1", "Lovely sunny day"],
        }
    ],
}
_INFER_DOC = {
    "requestBody": {
        "content": {"application/json": {"schema": {"type": "object"}, "example": _EXAMPLE}},
        "required": True,
    }
}


def _flatten(data: Any) -> list:
    out: list = []
    for x in data:
        if isinstance(x, list):
            out.extend(_flatten(x))
        else:
            out.append(x)
    return out


def parse_infer(body: dict, service: InferenceService) -> tuple[list[str], list[str], str | None]:
    """Texts, the outputs asked for, and the request id to echo."""
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ApiError(400, "'inputs' must be a non-empty list of tensors")
    if len(inputs) != 1:
        raise ApiError(400, f"this model has one input (a BYTES tensor of texts); the request has {len(inputs)}")
    t = inputs[0]
    if not isinstance(t, dict):
        raise ApiError(400, "inputs[0] must be an object with name, shape, datatype and data")
    missing = [k for k in ("name", "shape", "datatype", "data") if k not in t]
    if missing:
        raise ApiError(400, f"inputs[0] lacks {', '.join(missing)}")
    if t["datatype"] != "BYTES":
        raise ApiError(400, f"inputs[0].datatype is {t['datatype']!r}; texts are sent as BYTES")
    shape, data = t["shape"], t["data"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape) or not shape:
        raise ApiError(400, "inputs[0].shape must be a list of non-negative integers, e.g. [n] or [n, 1]")
    if len(shape) > 1 and math.prod(shape[1:]) != 1:
        raise ApiError(400, f"inputs[0].shape {shape}: one text per row ([n] or [n, 1])")
    if not isinstance(data, list):
        raise ApiError(400, "inputs[0].data must be a list of strings")
    texts = _flatten(data)
    if len(texts) != math.prod(shape):
        raise ApiError(400, f"inputs[0].shape {shape} says {math.prod(shape)} texts; data has {len(texts)}")
    wanted = list(OUTPUTS)
    if body.get("outputs") is not None:
        outs = body["outputs"]
        if not isinstance(outs, list) or not all(isinstance(o, dict) and "name" in o for o in outs):
            raise ApiError(400, "'outputs' must be a list of {\"name\": ...}")
        wanted = [o["name"] for o in outs]
        unknown = [n for n in wanted if n not in OUTPUTS]
        if unknown:
            raise ApiError(400, f"unknown output {unknown[0]!r}: this model has {', '.join(OUTPUTS)}")
    rid = body.get("id")
    if rid is not None and not isinstance(rid, str):
        raise ApiError(400, "'id' must be a string")
    return service.check_texts(texts, "inputs[0].data"), wanted, rid


async def infer_body(service: InferenceService, body: dict, *, name: str, version: str | None, rid: str) -> dict:
    """An infer request's answer: what the HTTP route and the hot path (fastpath.py) both return."""
    texts, wanted, given_id = parse_infer(body, service)
    out = await service.classify(texts, name=name, version=version, request_id=rid, protocol=PROTOCOL)
    n, k = out.probs.shape
    outputs = []
    for o in wanted:
        if o == "probabilities":
            outputs.append({"name": o, "shape": [n, k], "datatype": "FP32", "data": out.probs.ravel().tolist()})
        else:
            outputs.append(
                {
                    "name": o,
                    "shape": [n],
                    "datatype": "BYTES",
                    "parameters": {"content_type": "str"},
                    "data": out.labels,
                }
            )
    return {"model_name": name, "model_version": str(out.version), "id": given_id or rid, "outputs": outputs}


def router(service: InferenceService, auth: BearerAuth) -> APIRouter:
    r = APIRouter(tags=["Open Inference Protocol v2"])
    m = service.manager

    def version_of(name: str, version: str | None) -> int:
        try:
            return m.resolve(name, version)
        except ModelNotFound as exc:
            raise ApiError(404, str(exc)) from None
        except ModelNotReady as exc:
            raise ApiError(503, str(exc), {"Retry-After": "5"}) from None

    @r.get("/v2", summary="Server metadata", response_class=Response)
    async def server_metadata() -> Response:
        return json_response({"name": "streamsift", "version": streamsift.__version__, "extensions": []})

    @r.get("/v2/health/live", summary="Live: 200 while the process runs", response_class=Response)
    async def live() -> Response:
        return json_response({"live": True})

    @r.get("/v2/health/ready", summary="Ready: 200 with a production model loaded, else 503", response_class=Response)
    async def ready() -> Response:
        return json_response({"ready": m.ready}, 200 if m.ready else 503)

    def metadata(name: str, version: str | None) -> dict[str, Any]:
        v = version_of(name, version)
        s = next((s for s in m.resident() if s.version == v), None)
        if s is None:
            raise ApiError(404, f"Model {name} with version {v} not found")
        k = len(s.runtime.classes)
        return {
            "name": name,
            "versions": [str(x.version) for x in m.resident()],
            "platform": "onnxruntime_onnx",
            "inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1], "parameters": {"content_type": "str"}}],
            "outputs": [
                {"name": "probabilities", "datatype": "FP32", "shape": [-1, k]},
                {"name": "label", "datatype": "BYTES", "shape": [-1], "parameters": {"content_type": "str"}},
            ],
            "parameters": {"version": str(v), "classes": ",".join(s.runtime.classes)},
        }

    @r.get("/v2/models/{name}", summary="Model metadata (production version)", response_class=Response)
    async def model_metadata(name: str) -> Response:
        return json_response(metadata(name, None))

    @r.get("/v2/models/{name}/versions/{version}", summary="Model metadata of a version", response_class=Response)
    async def model_metadata_version(name: str, version: str) -> Response:
        return json_response(metadata(name, version))

    def model_ready(name: str, version: str | None) -> Response:
        try:
            v = version_of(name, version)
        except ApiError as exc:
            if exc.status == 503:
                return json_response({"name": name, "ready": False}, 503)
            raise
        ok = any(s.version == v and s.state == "AVAILABLE" for s in m.resident())
        return json_response({"name": name, "ready": ok}, 200 if ok else 503)

    @r.get("/v2/models/{name}/ready", summary="Model ready", response_class=Response)
    async def ready_latest(name: str) -> Response:
        return model_ready(name, None)

    @r.get("/v2/models/{name}/versions/{version}/ready", summary="Model version ready", response_class=Response)
    async def ready_version(name: str, version: str) -> Response:
        return model_ready(name, version)

    async def infer(request: Request, name: str, version: str | None) -> Response:
        body = await json_body(request)
        return json_response(await infer_body(service, body, name=name, version=version, rid=request_id(request)))

    doc = {"openapi_extra": _INFER_DOC, "dependencies": [Depends(auth)], "response_class": Response}

    @r.post("/v2/models/{name}/infer", summary="Inference with the production version", **doc)
    async def infer_latest(request: Request, name: str) -> Response:
        return await infer(request, name, None)

    @r.post("/v2/models/{name}/versions/{version}/infer", summary="Inference with a version", **doc)
    async def infer_version(request: Request, name: str, version: str) -> Response:
        return await infer(request, name, version)

    return r


__all__ = ["OUTPUTS", "PROTOCOL", "infer_body", "parse_infer", "router"]
