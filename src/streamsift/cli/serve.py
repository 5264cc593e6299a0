"""``streamsift serve``: the model server (TF Serving REST + Open Inference Protocol v2)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from streamsift.cli._app import app
from streamsift.cli._common import STATE, console


@app.command("serve")
def serve_cmd(
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: serving.port, 8501).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: serving.workers).")] = None,
) -> None:
    """Serve the registry's production model over TF Serving's REST API and the Open Inference Protocol v2.

    Concurrent requests are micro-batched into one ONNX Runtime call, repeated texts come from a cache,
    every prediction is logged to PostgreSQL's inference_log, and a promotion (`streamsift models promote`)
    is loaded and swapped in without a restart. Metrics at /metrics, API docs at /docs.
    """
    import uvicorn

    from streamsift.infra.process import require_free_port

    s = STATE.settings()
    host, p = s.serving.host, port or s.serving.port
    n = workers or s.serving.workers
    require_free_port(host, p, service="the model server", setting="serving.port")
    base = f"http://{host}:{p}"
    console.print(
        f"model server for [bold]{s.model.name}[/bold] on {base}  ({n} worker{'s' if n > 1 else ''})\n"
        f"  TF Serving: POST {base}/v1/models/{s.model.name}:predict\n"
        f"  OIP v2:     POST {base}/v2/models/{s.model.name}/infer\n"
        f"  docs {base}/docs · metrics {base}/metrics · ready {base}/v2/health/ready",
        highlight=False,
    )
    common = {
        "host": host,
        "port": p,
        "log_level": "warning",
        "access_log": False,
        "loop": "uvloop",
        "http": "httptools",
        "timeout_graceful_shutdown": 10,
    }
    if n == 1:
        from streamsift.serving.app import create_app

        uvicorn.run(create_app(s), **common)
    else:
        if STATE.config is not None:  # worker processes read the same file
            os.environ["STREAMSIFT_CONFIG"] = str(STATE.config.resolve())
        uvicorn.run("streamsift.serving.app:app_from_env", factory=True, workers=n, **common)
