"""The model server's FastAPI app: both protocols, ``/metrics``, admin, access logs.

Build it with :func:`create_app`; ``streamsift serve`` runs it under uvicorn (the
:func:`app_from_env` factory when there are several worker processes).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from streamsift.config import Settings, load_settings
from streamsift.infra.process import freeze_heap
from streamsift.serving import oip, tfserving
from streamsift.serving.fastpath import AccessLog, Server
from streamsift.serving.http import BearerAuth, error_response, json_response
from streamsift.serving.manager import ModelManager
from streamsift.serving.metrics import ServerMetrics, counter, gauge
from streamsift.serving.service import ApiError, InferenceService

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, manager: ModelManager | None = None) -> Server:
    """The server's ASGI app (:class:`~streamsift.serving.fastpath.Server` around the FastAPI app, ``.api``)."""
    metrics = ServerMetrics()
    manager = manager or ModelManager(settings, metrics)
    manager.metrics = metrics
    service = InferenceService(settings, manager, metrics)
    auth = BearerAuth(settings.serving.auth_token_env)
    access = AccessLog(settings.serving.access_log)

    def live_metrics():
        m = service.manager
        yield counter("streamsift_serve_cache_hits", "Prediction cache hits", service.cache.hits)
        yield counter("streamsift_serve_cache_misses", "Prediction cache misses", service.cache.misses)
        yield gauge("streamsift_serve_cache_entries", "Predictions in the cache", len(service.cache))
        yield gauge("streamsift_serve_cache_capacity", "Prediction cache size limit", service.cache.size)
        yield gauge("streamsift_serve_queue_texts", "Texts waiting for the model", m.queued_texts())
        yield gauge(
            "streamsift_serve_model_version",
            "Model version in production (0: none)",
            m.production or 0,
            {"model": m.name},
        )
        yield gauge("streamsift_serve_models_resident", "Model versions loaded", len(m.resident()))
        yield counter("streamsift_serve_model_swaps", "Production versions swapped in while serving", m.swaps)
        lg = service.log
        yield gauge("streamsift_serve_log_rows_buffered", "Inference log rows waiting", lg.buffered if lg else 0)
        yield counter("streamsift_serve_log_rows_written", "Inference log rows written", lg.written if lg else 0)
        yield counter("streamsift_serve_log_rows_dropped", "Inference log rows dropped", lg.dropped if lg else 0)

    metrics.watch(live_metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, manager.start, loop)
        freeze_heap()  # the model, vocabulary and caches are long-lived: no full-heap collections
        if service.log is not None:
            service.log.start()
        if auth.enabled:
            log.info("bearer token required for predict and admin routes")
        flusher = asyncio.create_task(access.run())
        try:
            yield
        finally:
            flusher.cancel()
            access.flush()
            manager.close()
            if service.log is not None:
                await loop.run_in_executor(None, service.log.close)

    app = FastAPI(
        title="streamsift model server",
        version=__import__("streamsift").__version__,
        description="TensorFlow Serving REST API and Open Inference Protocol v2 for the tweet classifier.",
        lifespan=lifespan,
    )
    app.state.service = service

    @app.exception_handler(ApiError)
    async def _api_error(_r: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_r: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return error_response(400, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_r: Request, exc: StarletteHTTPException) -> Response:
        msg = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404:
            msg = f"no such route: {_r.method} {_r.url.path} (see /docs)"
        return error_response(exc.status_code, msg, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.error("request %s failed: %s", request.scope.get("request_id"), exc, exc_info=exc)
        return error_response(500, f"internal error (request id {request.scope.get('request_id')})")

    app.include_router(tfserving.router(service, auth))
    app.include_router(oip.router(service, auth))

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post(
        "/admin/refresh",
        tags=["operations"],
        summary="Re-read the registry now (what a models.events message or the poll does)",
        dependencies=[Depends(auth)],
        response_class=Response,
    )
    async def refresh() -> Response:
        ok = await asyncio.get_running_loop().run_in_executor(None, manager.refresh)
        if not ok:
            raise ApiError(503, f"model registry unreachable: {manager.registry_error}", {"Retry-After": "5"})
        return json_response(_server_state(service))

    @app.get("/admin/state", tags=["operations"], summary="Loaded versions, cache, log", response_class=Response)
    async def state() -> Response:
        return json_response(_server_state(service))

    max_body = settings.serving.max_instances * (settings.model.max_chars * 6 + 64) + 4096
    return Server(app, service, auth, metrics, access, max_body)


def _server_state(service: InferenceService) -> dict[str, Any]:
    m = service.manager
    return {
        "model": m.name,
        "production": m.production,
        "candidate": m.candidate,
        "resident": [{"version": s.version, "state": s.state, "loaded_at": s.loaded_at} for s in m.resident()],
        "loading": m.loading(),
        "swaps": m.swaps,
        "events_assigned": m.events_assigned,
        "registry_error": m.registry_error,
        "cache": {
            "entries": len(service.cache),
            "size": service.cache.size,
            "hits": service.cache.hits,
            "misses": service.cache.misses,
        },
        "inference_log": None
        if service.log is None
        else {"buffered": service.log.buffered, "written": service.log.written, "dropped": service.log.dropped},
    }


def app_from_env() -> Server:
    """uvicorn factory for worker processes: settings from ``STREAMSIFT_CONFIG`` and the environment."""
    from streamsift.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, log_file=settings.state.root / "logs" / "serve.log")
    return create_app(settings)


__all__ = ["app_from_env", "create_app"]
