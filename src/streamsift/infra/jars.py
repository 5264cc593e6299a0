"""Locate the JVM jars that ``make setup`` resolved with Maven (never downloaded at run time)."""

from __future__ import annotations

from pathlib import Path

from streamsift.errors import PrerequisiteError

_REPO_ROOT = Path(__file__).resolve().parents[3]  # src/streamsift/infra/jars.py -> repo


def jars_root(configured: Path | None) -> Path:
    """The folder holding ``kafka/`` and ``spark/`` jar folders."""
    candidates = [configured] if configured else [Path.cwd() / "build" / "jars", _REPO_ROOT / "build" / "jars"]
    for c in candidates:
        if c is not None and c.is_dir():
            return c.resolve()
    shown = ", ".join(str(c) for c in candidates if c is not None)
    raise PrerequisiteError(
        f"the Maven-resolved jars were not found (looked in {shown})",
        hint="run `make setup` in the streamsift checkout, or set jars_dir / STREAMSIFT_JARS_DIR",
    )


def jar_files(configured: Path | None, kind: str) -> list[Path]:
    """All jars of one kind (``kafka`` or ``spark``), sorted; raises if there are none."""
    folder = jars_root(configured) / kind
    jars = sorted(folder.glob("*.jar"))
    if not jars:
        raise PrerequisiteError(f"no {kind} jars in {folder}", hint="run `make setup` to resolve them with Maven")
    return jars
