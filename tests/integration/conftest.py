"""Fixtures the integration modules share (the session infrastructure is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.integration.web_support import chromium


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (Debian's package) for the module's browser tests."""
    with chromium() as b:
        yield b
