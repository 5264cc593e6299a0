"""The annotation web UI (FastAPI): golden labels for the weakly labelled tables."""

from streamsift.web.app import create_app

__all__ = ["create_app"]
