"""Which labeling functions run: the built-ins and those of the modules named in config."""

from __future__ import annotations

import importlib
import logging

from snorkel.labeling import LabelingFunction

from streamsift.config import LabelingSettings
from streamsift.labeling.errors import LabelingError

log = logging.getLogger(__name__)

DEFAULT_CLASSES = ["not_ai", "ai"]


def lfs_from_module(name: str) -> list[LabelingFunction]:
    """The LFs a module defines: its ``LFS`` list if it has one, else every LabelingFunction in it."""
    try:
        module = importlib.import_module(name)
    except Exception as exc:
        raise LabelingError(
            f"cannot import labeling-function module {name!r}: {type(exc).__name__}: {exc}",
            hint="check labeling.lf_modules and that the module is on PYTHONPATH",
        ) from exc
    found = getattr(module, "LFS", None)
    if found is None:
        found = [v for v in vars(module).values() if isinstance(v, LabelingFunction)]
    lfs = list(found)
    bad = [repr(x) for x in lfs if not isinstance(x, LabelingFunction)]
    if bad:
        raise LabelingError(f"module {name!r}: LFS holds objects that are not labeling functions: {bad[:3]}")
    if not lfs:
        raise LabelingError(f"module {name!r} defines no labeling functions")
    return lfs


def load_lfs(settings: LabelingSettings) -> list[LabelingFunction]:
    """Built-ins (when enabled) followed by each configured module's LFs; names must be unique."""
    lfs: list[LabelingFunction] = []
    if settings.builtin_lfs:
        if list(settings.classes) != DEFAULT_CLASSES:
            raise LabelingError(
                f"the built-in LFs label {DEFAULT_CLASSES}, but labeling.classes is {settings.classes}",
                hint="set labeling.builtin_lfs = false and name your own LF modules in labeling.lf_modules",
            )
        from streamsift.labeling.lfs import BUILTIN_LFS

        lfs += BUILTIN_LFS
    for name in settings.lf_modules:
        lfs += lfs_from_module(name)
    if not lfs:
        raise LabelingError("no labeling functions: enable labeling.builtin_lfs or set labeling.lf_modules")
    names = [lf.name for lf in lfs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LabelingError(f"labeling function names must be unique; repeated: {dupes}")
    return lfs
