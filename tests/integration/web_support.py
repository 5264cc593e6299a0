"""What the browser tests share: Chromium from Debian's package, the app in a uvicorn thread, login."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from streamsift.infra.process import free_port

USERS = {"alice": "alice-password-1", "bob": "bob-password-2"}
XSS = [
    "<script>window.__xss = 1; document.title = 'pwned'</script> a tweet about machine learning",
    '<img src=x onerror="window.__xss = 2"> deep learning with an image payload',
    'javascript link <a href="javascript:window.__xss=3">click</a> https://example.com/"onmouseover="x',
]


def chromium_path() -> str:
    path = os.environ.get("STREAMSIFT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium is not installed: `make setup` installs Debian's chromium package")
    return path


@contextmanager
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
            ],
        )
        try:
            yield b
        finally:
            b.close()


@contextmanager
def serve_app(app) -> Iterator[str]:
    """``app`` on a free loopback port in a thread; yields its base URL; stopped on exit."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


def login(browser, server: str, user: str, *, bypass_csp: bool = True, viewport=(1100, 800)):
    # Playwright's wait_for_function evaluates strings, which our CSP (rightly) forbids.
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, bypass_csp=bypass_csp)
    page = ctx.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{server}/")
    page.fill("#username", user)
    page.fill("#password", USERS[user])
    page.click("#login")
    page.wait_for_url(f"{server}/")
    return page
