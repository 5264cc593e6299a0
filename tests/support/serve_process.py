"""``streamsift serve`` in a subprocess for tests: free port, ready check, stopped by its pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from streamsift.infra.process import free_port
from tests.integration.helpers import settings_env

TOKEN = "s3cret-token-for-tests"


class Server:
    """``streamsift serve`` in a subprocess on a free port; stopped by its pid."""

    def __init__(self, settings, tmp_path, **serving) -> None:
        self.port = free_port()
        env = settings_env(settings)
        env.update(
            {
                "STREAMSIFT_MODEL__NAME": settings.model.name,
                "STREAMSIFT_MODEL__MODELS_DIR": str(settings.model.models_dir),
                "STREAMSIFT_SERVING__PORT": str(self.port),
                "STREAMSIFT_SERVING__REGISTRY_POLL_S": "1",
                "STREAMSIFT_SERVE_TOKEN": TOKEN,
            }
        )
        for k, v in serving.items():
            env[f"STREAMSIFT_SERVING__{k.upper()}"] = str(v)
        self.out = (tmp_path / f"serve-{self.port}.out").open("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamsift.cli", "serve"],
            env=env,
            stdout=self.out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.name = settings.model.name
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(f"{self.base}/v2/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"serve not ready in 90 s: {self.output()}")

    def output(self) -> str:
        self.out.flush()
        self.out.seek(0)
        return self.out.read()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
