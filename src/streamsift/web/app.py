"""The web app: the annotation UI and the live dashboard. FastAPI, server-rendered pages, static scripts, JSON API.

Security: every tweet is untrusted input. Pages are Jinja2 with autoescape and the
script renders tweet text with ``textContent`` only; a strict content-security policy
forbids inline script. Sessions are signed cookies (HttpOnly, SameSite=Strict);
every state-changing request needs the session and its CSRF token (header
``X-CSRF-Token`` or form field ``csrf``). Table names in URLs must be known tables.
"""

import logging
import time
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.middleware.sessions import SessionMiddleware

from streamsift.config import Settings
from streamsift.infra.process import freeze_heap
from streamsift.web.auth import UserStore, new_csrf_token, same_token, session_secret, user_store
from streamsift.web.dashboard import DashboardError, DashboardStore, FeedFilter
from streamsift.web.store import QUEUES, AnnotationError, AnnotationStore, Item

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


class LabelIn(BaseModel):
    tweet_id: int
    label: int = Field(ge=0)
    action: str = "label"


class SkipIn(BaseModel):
    tweet_id: int


def _aware(dt: datetime | None) -> datetime | None:
    """A time without a zone is taken as UTC."""
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def create_app(settings: Settings, *, users: UserStore | None = None) -> FastAPI:
    """Build the app for ``settings`` (``users`` overrides ``web.users``, for tests)."""
    store = AnnotationStore(settings)
    users = users or user_store(settings.web)
    classes = list(settings.labeling.classes)
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        freeze_heap()  # no ~100 ms full-heap collections in the middle of a dashboard call
        yield

    app = FastAPI(title="streamsift web: annotation and dashboard", docs_url="/docs", redoc_url=None, lifespan=lifespan)
    app.state.users = users
    app.state.store = store
    dash = DashboardStore(settings)
    app.state.dashboard = dash

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:
        t0 = time.perf_counter()
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - t0) * 1000:.2f}"
        if request.url.path.startswith("/docs"):  # Swagger UI needs its CDN assets and inline script
            del response.headers["Content-Security-Policy"]
        return response

    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings.web),
        session_cookie="streamsift_session",
        max_age=int(settings.web.session_hours * 3600),
        same_site="strict",
        https_only=False,
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(DashboardError)
    async def dashboard_error(_request: Request, exc: DashboardError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(AnnotationError)
    async def annotation_error(_request: Request, exc: AnnotationError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "problems": exc.details}, status_code=exc.status)

    # -- session helpers ------------------------------------------------------------------------------
    def current_user(request: Request) -> str:
        user = request.session.get("user")
        if not user or user not in users.hashes:
            raise HTTPException(401, "log in first")
        return user

    def csrf_ok(request: Request, user: Annotated[str, Depends(current_user)]) -> str:
        if not same_token(request.headers.get("x-csrf-token"), request.session.get("csrf")):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page")
        return user

    def page_user(request: Request) -> str | None:
        user = request.session.get("user")
        return user if user in users.hashes else None

    def item_json(table: str, item: Item | None) -> dict[str, Any] | None:
        if item is None:
            return None
        names = store.lf_names(table)
        fired = []
        for i, vote in enumerate(item.lf_votes or []):
            if vote is not None and vote >= 0:
                fired.append(
                    {
                        "lf": names[i] if i < len(names) else f"lf_{i}",
                        "vote": classes[vote] if vote < len(classes) else str(vote),
                    }
                )
        d = asdict(item)
        d.pop("lf_votes")
        d["weak_label_name"] = classes[item.weak_label] if item.weak_label is not None else None
        d["golden_label_name"] = classes[item.golden_label] if item.golden_label is not None else None
        d["model_label_name"] = classes[item.model_label] if item.model_label is not None else None
        d["tweet_id"] = str(item.tweet_id)  # JavaScript numbers cannot hold 64-bit ids
        d["lfs_fired"] = fired
        return d

    # -- pages -----------------------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request, error: str | None = None) -> HTMLResponse:
        request.session.setdefault("csrf", new_csrf_token())
        return templates.TemplateResponse(
            request, "login.html", {"csrf": request.session["csrf"], "error": error, "user": None}
        )

    @app.post("/login")
    async def login(
        request: Request,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
    ) -> Response:
        if not same_token(csrf, request.session.get("csrf")):
            raise HTTPException(403, "missing or wrong CSRF token: reload the login page")
        if not users.check(username, password):
            log.info("failed login for %r", username[:64])
            return RedirectResponse("/login?error=1", status_code=303)
        request.session.clear()
        request.session.update({"user": username, "csrf": new_csrf_token()})
        log.info("%s logged in", username)
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    async def logout(request: Request, csrf: Annotated[str, Form()]) -> Response:
        if same_token(csrf, request.session.get("csrf")):
            request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        user = page_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        rows = [store.progress(t) for t in store.tables()]
        return templates.TemplateResponse(
            request, "index.html", {"user": user, "csrf": request.session["csrf"], "tables": rows, "classes": classes}
        )

    @app.get("/label/{table}", response_class=HTMLResponse)
    async def label_page(request: Request, table: str, queue: str = "uncertain") -> Response:
        user = page_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        store.table(table)
        return templates.TemplateResponse(
            request,
            "label.html",
            {
                "user": user,
                "csrf": request.session["csrf"],
                "table": table,
                "classes": classes,
                "queues": QUEUES,
                "queue": queue if queue in QUEUES else "uncertain",
            },
        )

    @app.get("/agreement/{table}", response_class=HTMLResponse)
    async def agreement_page(request: Request, table: str) -> Response:
        user = page_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        data = store.agreement(table)
        items = [(d, store.get_item(table, d["tweet_id"])) for d in data["disagreements"][:200]]
        return templates.TemplateResponse(
            request,
            "agreement.html",
            {
                "user": user,
                "csrf": request.session["csrf"],
                "table": table,
                "data": data,
                "items": items,
                "classes": classes,
            },
        )

    # -- API -------------------------------------------------------------------------------------------
    @app.get("/api/tables")
    async def api_tables(_user: Annotated[str, Depends(current_user)]) -> list[dict[str, Any]]:
        return [store.progress(t) for t in store.tables()]

    @app.get("/api/t/{table}/next")
    async def api_next(
        request: Request,
        table: str,
        user: Annotated[str, Depends(current_user)],
        queue: str = "uncertain",
        q: str | None = None,
    ) -> dict[str, Any]:
        skipped = request.session.get(f"skip:{table}", [])
        item = store.next_item(table, queue, user, exclude=[int(x) for x in skipped], query=q)
        return {"item": item_json(table, item), "progress": store.progress(table), "queue": queue}

    @app.get("/api/t/{table}/item/{tweet_id}")
    async def api_item(table: str, tweet_id: int, _user: Annotated[str, Depends(current_user)]) -> dict[str, Any]:
        return {"item": item_json(table, store.get_item(table, tweet_id))}

    @app.post("/api/t/{table}/label")
    async def api_label(table: str, body: LabelIn, user: Annotated[str, Depends(csrf_ok)]) -> dict[str, Any]:
        if body.label >= len(classes):
            raise AnnotationError(f"label must be a class index 0..{len(classes) - 1}, got {body.label}")
        store.label(table, body.tweet_id, body.label, user, action=body.action)
        return {"saved": True, "tweet_id": str(body.tweet_id), "label": classes[body.label]}

    @app.post("/api/t/{table}/skip")
    async def api_skip(
        request: Request, table: str, body: SkipIn, user: Annotated[str, Depends(csrf_ok)]
    ) -> dict[str, Any]:
        store.skip(table, body.tweet_id, user)
        key = f"skip:{table}"
        request.session[key] = [*request.session.get(key, []), str(body.tweet_id)][-500:]
        return {"skipped": str(body.tweet_id)}

    @app.post("/api/t/{table}/undo")
    async def api_undo(request: Request, table: str, user: Annotated[str, Depends(csrf_ok)]) -> dict[str, Any]:
        tid = store.undo(table, user)
        if tid is None:
            return {"undone": None, "item": None}
        key = f"skip:{table}"
        request.session[key] = [x for x in request.session.get(key, []) if x != str(tid)]
        return {"undone": str(tid), "item": item_json(table, store.get_item(table, tid))}

    @app.get("/api/t/{table}/agreement")
    async def api_agreement(table: str, _user: Annotated[str, Depends(current_user)]) -> dict[str, Any]:
        return store.agreement(table)

    @app.get("/api/t/{table}/export.csv")
    async def api_export_csv(table: str, _user: Annotated[str, Depends(current_user)]) -> Response:
        return PlainTextResponse(
            store.export_csv(table),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{table}_golden.csv"'},
        )

    @app.get("/api/t/{table}/export.jsonl")
    async def api_export_jsonl(table: str, _user: Annotated[str, Depends(current_user)]) -> Response:
        return PlainTextResponse(
            store.export_jsonl(table),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="{table}_golden.jsonl"'},
        )

    @app.post("/api/t/{table}/import")
    async def api_import(
        table: str, file: Annotated[UploadFile, File()], user: Annotated[str, Depends(csrf_ok)]
    ) -> dict[str, Any]:
        data = await file.read(20_000_001)
        if len(data) > 20_000_000:
            raise AnnotationError("the file is larger than 20 MB", status=413)
        return {"applied": store.import_csv(table, data, user)}

    # -- dashboard -------------------------------------------------------------------------------------
    @app.get("/dashboard", response_class=HTMLResponse)
    async def dashboard_page(request: Request) -> Response:
        user = page_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return templates.TemplateResponse(
            request,
            "dashboard.html",
            {
                "user": user,
                "csrf": request.session["csrf"],
                "model": settings.model.name,
                "positive": settings.classify.positive_class,
            },
        )

    def feed_filter(
        links_only: bool = False,
        p_min: Annotated[float, Query(ge=0, le=1)] = 0.0,
        p_max: Annotated[float, Query(ge=0, le=1)] = 1.0,
        q: Annotated[str | None, Query(max_length=200)] = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> FeedFilter:
        """Filters of the AI-tweet feed (``since`` / ``until``: ISO 8601 times of prediction)."""
        return FeedFilter(links_only, p_min, p_max, q, _aware(since), _aware(until))

    @app.get("/api/dashboard/feed", tags=["dashboard"])
    def api_feed(
        _user: Annotated[str, Depends(current_user)],
        f: Annotated[FeedFilter, Depends(feed_filter)],
        cursor: Annotated[str | None, Query(max_length=60)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        """AI tweets, newest first, filtered; pass the answer's ``next`` as ``cursor`` for the next page."""
        return dash.feed(f, cursor=cursor, limit=limit)

    @app.get("/api/dashboard/feed.csv", tags=["dashboard"])
    def api_feed_csv(
        _user: Annotated[str, Depends(current_user)], f: Annotated[FeedFilter, Depends(feed_filter)]
    ) -> Response:
        """The filtered feed as CSV (at most 100,000 rows)."""
        f.check()
        return StreamingResponse(
            dash.feed_csv(f),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="ai_tweets.csv"'},
        )

    @app.get("/api/dashboard/series", tags=["dashboard"])
    def api_series(
        _user: Annotated[str, Depends(current_user)], minutes: Annotated[int, Query(ge=1, le=10080)] = 60
    ) -> dict[str, Any]:
        """Tweets classified, AI tweets and the AI share per minute."""
        return dash.series(minutes)

    @app.get("/api/dashboard/histogram", tags=["dashboard"])
    def api_histogram(
        _user: Annotated[str, Depends(current_user)], minutes: Annotated[int, Query(ge=1, le=10080)] = 60
    ) -> dict[str, Any]:
        """How the probability of the positive class is spread over the tweets classified."""
        return dash.histogram(minutes)

    @app.get("/api/dashboard/terms", tags=["dashboard"])
    def api_terms(
        _user: Annotated[str, Depends(current_user)],
        kind: Annotated[str, Query(pattern="^(domain|hashtag)$")] = "domain",
        days: Annotated[int, Query(ge=1, le=366)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict[str, Any]:
        """Top link domains or hashtags of the AI tweets."""
        return dash.terms(kind, days=days, limit=limit)

    @app.get("/api/dashboard/retweets", tags=["dashboard"])
    def api_retweets(_user: Annotated[str, Depends(current_user)]) -> dict[str, Any]:
        """Retweet actions by status."""
        return dash.retweets()

    @app.get("/api/dashboard/health", tags=["dashboard"])
    def api_health(_user: Annotated[str, Depends(current_user)]) -> dict[str, Any]:
        """Kafka lag per consumer, rows per table, dead letters, throughput, the model, the model server."""
        return dash.health()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
