"""TensorFlow Serving's REST API (v1), as TF Serving answers it.

    POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict   {"instances": [...]} | {"inputs": ...}
    GET  /v1/models/{name}[/versions/{v}|/labels/{l}]           model_version_status
    GET  /v1/models/{name}[/versions/{v}|/labels/{l}]/metadata  signature_def

One named input, ``text`` (a string per instance: ``"..."``, ``{"text": "..."}`` or
``{"b64": "..."}``); two outputs, ``probabilities`` (one per class, in the order
``/metadata`` lists) and ``label``. Row requests get ``{"predictions": [{...}, ...]}``,
columnar ones ``{"outputs": {"probabilities": [...], "label": [...]}}``. Errors are
``{"error": "..."}`` with TF Serving's status codes. Labels ``production`` and ``candidate``
are the registry's stages.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from streamsift.serving.http import BearerAuth, error_response, json_body, json_response, request_id
from streamsift.serving.manager import ModelNotFound
from streamsift.serving.service import ApiError, InferenceService

PROTOCOL = "tfserving-rest"

_EXAMPLE = {"instances": ["New #MachineLearning paper on arXiv https://arxiv.org/abs/2001.1", "Lovely sunny day"]}
_PREDICT_DOC = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "signature_name": {"type": "string", "default": "serving_default"},
                        "instances": {
                            "type": "array",
                            "items": {"oneOf": [{"type": "string"}, {"type": "object"}]},
                            "description": 'texts: "..." or {"text": "..."} or {"b64": "..."}',
                        },
                        "inputs": {"description": 'columnar: ["...", ...] or {"text": ["...", ...]}'},
                    },
                },
                "example": _EXAMPLE,
            }
        },
        "required": True,
    }
}

# TF Serving's own URL grammar (http_rest_api_util.cc), for the paths no route above matched.
_URL = re.compile(
    r"(?i)/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?::(?P<verb>predict|classify|regress)|(?P<meta>/metadata))?$"
)


def _text(item: Any, where: str) -> Any:
    if isinstance(item, dict):
        if "b64" in item and len(item) == 1:
            try:
                return base64.b64decode(item["b64"], validate=True).decode("utf-8")
            except (binascii.Error, ValueError, UnicodeDecodeError):
                raise ApiError(400, f"{where}.b64 is not base64-encoded UTF-8 text") from None
        if "text" not in item:
            raise ApiError(400, f"{where} has no 'text' (this model's one input); keys: {sorted(item)}")
        return _text(item["text"], f"{where}.text")
    return item


def parse_predict(body: dict, service: InferenceService) -> tuple[list[str], bool]:
    """The texts of a predict body and whether it was row (``instances``) or columnar (``inputs``)."""
    sig = body.get("signature_name", "serving_default")
    if sig != "serving_default":
        raise ApiError(400, f'Serving signature name: "{sig}" not found in signature def')
    has_rows, has_cols = "instances" in body, "inputs" in body
    if has_rows == has_cols:
        raise ApiError(
            400,
            "send exactly one of 'instances' (row format) or 'inputs' (columnar format)"
            if has_rows
            else "Missing 'inputs' or 'instances' key",
        )
    if has_rows:
        items, where = body["instances"], "instances"
    else:
        items, where = body["inputs"], "inputs"
        if isinstance(items, dict):
            if set(items) != {"text"}:
                raise ApiError(400, f"inputs has {sorted(items)}; this model has one input, 'text'")
            items, where = items["text"], "inputs.text"
    if not isinstance(items, list):
        raise ApiError(400, f"{where} must be a list of texts, not {type(items).__name__}")
    texts = [_text(x, f"{where}[{i}]") for i, x in enumerate(items)]
    return service.check_texts(texts, where), has_rows


def _status(service: InferenceService, name: str, version: str | None, label: str | None) -> dict[str, Any]:
    m = service.manager
    m.check_name(name)
    states = [(s.version, s.state) for s in m.resident()] + [(v, "LOADING") for v in m.loading()]
    if version is not None or label is not None:
        try:
            wanted = m.resolve(name, version, label)
        except ModelNotFound as exc:
            raise ApiError(404, str(exc)) from None
        states = [x for x in states if x[0] == wanted]
        if not states:
            raise ApiError(404, f"Could not find version {wanted} of model {name}: it is not loaded")
    return {
        "model_version_status": [
            {"version": str(v), "state": st, "status": {"error_code": "OK", "error_message": ""}}
            for v, st in sorted(states)
        ]
    }


def _metadata(service: InferenceService, name: str, version: str | None, label: str | None) -> dict[str, Any]:
    m = service.manager
    try:
        v = m.resolve(name, version, label)
    except ModelNotFound as exc:
        raise ApiError(404, str(exc)) from None
    s = next((s for s in m.resident() if s.version == v), None)
    if s is None:
        raise ApiError(404, f"Servable not found for request: Specific({name}, {v})")
    k = len(s.runtime.classes)

    def tensor(tname: str, dtype: str, dims: list[int]) -> dict[str, Any]:
        return {
            "dtype": dtype,
            "tensor_shape": {"dim": [{"size": str(d), "name": ""} for d in dims], "unknown_rank": False},
            "name": f"{tname}:0",
        }

    return {
        "model_spec": {"name": name, "signature_name": "", "version": str(v)},
        "metadata": {
            "signature_def": {
                "signature_def": {
                    "serving_default": {
                        "inputs": {"text": tensor("text", "DT_STRING", [-1])},
                        "outputs": {
                            "probabilities": tensor("probabilities", "DT_FLOAT", [-1, k]),
                            "label": tensor("label", "DT_STRING", [-1]),
                        },
                        "method_name": "tensorflow/serving/predict",
                        "defaults": {},
                    }
                },
            },
            "classes": s.runtime.classes,
        },
    }


async def predict_body(
    service: InferenceService, body: dict, *, name: str, version: str | None, label: str | None, rid: str
) -> dict[str, Any]:
    """A predict request's answer: what the HTTP route and the hot path (fastpath.py) both return."""
    texts, rows = parse_predict(body, service)
    out = await service.classify(texts, name=name, version=version, label=label, request_id=rid, protocol=PROTOCOL)
    probs = out.probs.tolist()
    labels = out.labels
    if rows:
        return {"predictions": [{"probabilities": p, "label": lab} for p, lab in zip(probs, labels, strict=True)]}
    return {"outputs": {"probabilities": probs, "label": labels}}


def router(service: InferenceService, auth: BearerAuth) -> APIRouter:
    r = APIRouter(tags=["TensorFlow Serving REST"])

    async def predict(request: Request, name: str, version: str | None = None, label: str | None = None) -> Response:
        body = await json_body(request)
        rid = request_id(request)
        return json_response(await predict_body(service, body, name=name, version=version, label=label, rid=rid))

    deps = [Depends(auth)]
    doc = {"openapi_extra": _PREDICT_DOC, "dependencies": deps, "response_class": Response}

    @r.post("/v1/models/{name}:predict", summary="Predict with the production version", **doc)
    async def predict_latest(request: Request, name: str) -> Response:
        return await predict(request, name)

    @r.post("/v1/models/{name}/versions/{version}:predict", summary="Predict with a version", **doc)
    async def predict_version(request: Request, name: str, version: str) -> Response:
        return await predict(request, name, version=version)

    @r.post("/v1/models/{name}/labels/{label}:predict", summary="Predict with production or candidate", **doc)
    async def predict_label(request: Request, name: str, label: str) -> Response:
        return await predict(request, name, label=label)

    @r.get("/v1/models/{name}", summary="Status of the loaded versions", response_class=Response)
    async def status(name: str) -> Response:
        return json_response(_status(service, name, None, None))

    @r.get("/v1/models/{name}/versions/{version}", summary="Status of one version", response_class=Response)
    async def status_version(name: str, version: str) -> Response:
        return json_response(_status(service, name, version, None))

    @r.get("/v1/models/{name}/labels/{label}", summary="Status of a labelled version", response_class=Response)
    async def status_label(name: str, label: str) -> Response:
        return json_response(_status(service, name, None, label))

    @r.get("/v1/models/{name}/metadata", summary="Signature of the production version", response_class=Response)
    async def metadata(name: str) -> Response:
        return json_response(_metadata(service, name, None, None))

    @r.get("/v1/models/{name}/versions/{version}/metadata", summary="Signature of a version", response_class=Response)
    async def metadata_version(name: str, version: str) -> Response:
        return json_response(_metadata(service, name, version, None))

    @r.get("/v1/models/{name}/labels/{label}/metadata", summary="Signature, labelled version", response_class=Response)
    async def metadata_label(name: str, label: str) -> Response:
        return json_response(_metadata(service, name, None, label))

    @r.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    async def other(request: Request, rest: str) -> Response:
        path, method = request.url.path, request.method
        if path.rstrip("/").lower() == "/v1/models":
            return error_response(400, "Missing model name in request.")
        m = _URL.match(path)
        both = bool(m and m["version"] and m["label"])
        if m and m["verb"] and m["verb"].lower() == "predict" and method == "POST" and not both:
            auth(request)  # TF Serving's URLs are case-insensitive: /V1/Models/x:Predict lands here
            return await predict(request, m["name"], version=m["version"], label=m["label"])
        if m and m["verb"] and m["verb"].lower() != "predict" and method == "POST":
            return error_response(501, f"{m['verb'].lower()} is not supported by this server: use :predict")
        if m and m["version"] and m["label"]:
            return error_response(400, "Both model version and model version label cannot be supplied.")
        return error_response(400, f"Malformed request: {method} {path}")

    return r


__all__ = ["PROTOCOL", "parse_predict", "predict_body", "router"]
