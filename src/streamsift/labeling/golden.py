"""Golden labels from a file: ``streamsift label import-golden FILE``.

The file is what the annotation UI exports or any labelling tool writes: CSV with a
header (``tweet_id`` or ``id``, and ``label`` or ``golden_label``), or JSONL objects
with the same keys. A label is a class name or its index; labels listed in
``skip`` (by default ``ambiguous``, the labelling guide's third answer) are counted
and left out.

Every line is checked before anything is written: one malformed line rejects the
whole file with the list of problems. The labels are then set, in one transaction,
wherever those tweet ids sit in the version's split tables; ids found in no split are
reported, not an error (the file may cover more tweets than this dataset holds).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from streamsift.config import Settings
from streamsift.labeling.errors import LabelingError
from streamsift.store.connection import connect, table_exists
from streamsift.store.schema import ensure_annotation_schema

log = logging.getLogger(__name__)

ID_KEYS = ("tweet_id", "id")
LABEL_KEYS = ("label", "golden_label")
DEFAULT_SKIP = ("ambiguous",)


class GoldenFileError(LabelingError):
    """A golden-label file is malformed; nothing was applied. ``details`` lists the problems."""

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.details = details or []

    def __str__(self) -> str:
        base = super().__str__()
        if not self.details:
            return base
        more = f"; … {len(self.details) - 3} more" if len(self.details) > 3 else ""
        return f"{base}: {'; '.join(self.details[:3])}{more}"


@dataclass
class ParsedGolden:
    """What a golden file says: tweet id → class index, and what was left out."""

    labels: dict[int, int] = field(default_factory=dict)
    skipped: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    def check(self) -> ParsedGolden:
        """Raise :class:`GoldenFileError` if any line had a problem, or the file had no labels."""
        if self.problems:
            raise GoldenFileError(f"nothing applied: {len(self.problems)} problem(s)", details=self.problems[:200])
        if not self.labels and not self.skipped:
            raise GoldenFileError("the file has no labels")
        return self


def _records(data: bytes, fmt: str | None) -> Iterable[tuple[int, dict]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GoldenFileError("the file is not UTF-8 text") from None
    stripped = text.lstrip()
    if fmt == "jsonl" or (fmt is None and stripped.startswith("{")):
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, {"__error__": f"line {n}: not JSON ({exc.msg})"}
                continue
            yield n, obj if isinstance(obj, dict) else {"__error__": f"line {n}: not a JSON object"}
        return
    reader = csv.DictReader(io.StringIO(text))
    names = reader.fieldnames or []
    if not any(k in names for k in ID_KEYS) or not any(k in names for k in LABEL_KEYS):
        raise GoldenFileError("a CSV needs a header with the columns tweet_id (or id) and label")
    for n, row in enumerate(reader, start=2):
        yield n, row


def parse_golden(
    data: bytes, classes: list[str], *, fmt: str | None = None, skip: Iterable[str] = DEFAULT_SKIP
) -> ParsedGolden:
    """Read every line of a golden file; problems are collected in ``problems`` (see :meth:`ParsedGolden.check`).

    An undecodable file or a CSV without the needed columns raises :class:`GoldenFileError` at once.
    """
    skip_set = {s.strip() for s in skip}
    out = ParsedGolden()
    problems = out.problems
    for n, rec in _records(data, fmt):
        if "__error__" in rec:
            problems.append(rec["__error__"])
            continue
        out.rows += 1
        raw_id = next((rec[k] for k in ID_KEYS if rec.get(k) not in (None, "")), None)
        raw_label = next((rec[k] for k in LABEL_KEYS if rec.get(k) not in (None, "")), None)
        try:
            tid = int(str(raw_id).strip())
            if tid <= 0:
                raise ValueError
        except ValueError:
            problems.append(f"line {n}: tweet id {str(raw_id)[:30]!r} is not a positive number")
            continue
        label = str(raw_label).strip() if raw_label is not None else ""
        if label in classes:
            k = classes.index(label)
        elif label.isdigit() and int(label) < len(classes):
            k = int(label)
        elif label in skip_set:
            out.skipped += 1
            continue
        else:
            expected = f"{classes} or {sorted(skip_set)}" if skip_set else str(classes)
            problems.append(f"line {n}: unknown class {label[:30]!r} (expected one of {expected})")
            continue
        if out.labels.get(tid, k) != k:
            problems.append(f"line {n}: tweet {tid} has two different labels")
            continue
        out.labels[tid] = k
    return out


def apply_golden(conn: psycopg.Connection, table: str, labels: dict[int, int], who: str) -> int:
    """Set ``golden_label`` for the ids of ``labels`` found in ``table`` (inside the caller's transaction);
    returns how many rows were set. Each label is also recorded in ``annotations`` under ``who``."""
    if not labels:
        return 0
    t = sql.Identifier(table)
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            sql.SQL(
                "UPDATE {} AS s SET golden_label = v.label, annotator = %s, annotated_at = now() "
                "FROM unnest(%s::bigint[], %s::smallint[]) AS v(tweet_id, label) WHERE s.tweet_id = v.tweet_id "
                "RETURNING s.tweet_id, v.label"
            ).format(t),
            (who, list(labels), list(labels.values())),
        )
        hit = cur.fetchall()
        if hit:
            cur.executemany(
                "INSERT INTO annotations (table_name, tweet_id, annotator, label) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (table_name, tweet_id, annotator) DO UPDATE SET label = EXCLUDED.label",
                [(table, tid, who, label) for tid, label in hit],
            )
    return len(hit)


@dataclass
class GoldenImport:
    """What ``import-golden`` did."""

    rows: int
    labels: int
    skipped: int
    matched: dict[str, int]
    unmatched: int

    @property
    def applied(self) -> int:
        return sum(self.matched.values())

    def to_dict(self) -> dict:
        return {**self.__dict__, "applied": self.applied}


def import_golden(
    settings: Settings,
    path: Path,
    *,
    annotator: str = "import",
    skip: Iterable[str] = DEFAULT_SKIP,
    fmt: str | None = None,
) -> GoldenImport:
    """Set golden labels from ``path`` in every split table of ``dataset.version``, all or nothing."""
    from streamsift.dataset.prepare import SPLITS, split_table

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise GoldenFileError(f"cannot read {path}: {exc.strerror}") from None
    if fmt is None and Path(path).suffix.lower() in (".jsonl", ".ndjson"):
        fmt = "jsonl"
    parsed = parse_golden(data, list(settings.labeling.classes), fmt=fmt, skip=skip).check()
    version = settings.dataset.version
    tables = {s: split_table(s, version) for s in SPLITS}
    who = f"import:{annotator}"
    matched: dict[str, int] = {}
    with connect(settings.postgres) as conn:
        missing = [t for t in tables.values() if not table_exists(conn, t)]
        if missing:
            raise LabelingError(
                f"dataset version {version} has no {', '.join(missing)}", hint="run `streamsift dataset prepare` first"
            )
        ensure_annotation_schema(conn)
        with conn.transaction():
            for split, table in tables.items():
                matched[split] = apply_golden(conn, table, parsed.labels, who)
    result = GoldenImport(
        rows=parsed.rows,
        labels=len(parsed.labels),
        skipped=parsed.skipped,
        matched=matched,
        unmatched=len(parsed.labels) - sum(matched.values()),
    )
    log.info(
        "golden labels: %d of %d matched tweets of dataset version %d (%s); %d not found, %d skipped",
        result.applied,
        result.labels,
        version,
        ", ".join(f"{k} {v}" for k, v in matched.items()),
        result.unmatched,
        result.skipped,
    )
    return result


__all__ = ["GoldenFileError", "GoldenImport", "ParsedGolden", "apply_golden", "import_golden", "parse_golden"]
