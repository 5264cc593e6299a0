"""Annotation data access: queues, labels, undo, progress, export/import, agreement.

Every state change is one transaction. Table names come from URLs, so they are
checked against the split tables that exist (:meth:`AnnotationStore.tables`) and
then only used as ``sql.Identifier``.

Tables it adds::

    annotations        one label per (table, tweet, annotator) - for double annotation and kappa
    annotation_events  every label / skip / review, with what it replaced - for undo
    assignments        which annotator should label which item
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from sklearn.metrics import cohen_kappa_score

from streamsift.config import Settings
from streamsift.errors import StreamsiftError
from streamsift.store.connection import connect_kwargs, table_exists
from streamsift.store.schema import ensure_annotation_schema

log = logging.getLogger(__name__)

SPLIT_TABLE = re.compile(r"^(test|dev|snorkel_train|train)_dataset_(\d{1,9})$")
QUEUES = ("unlabelled", "uncertain", "conflicts", "review", "assigned", "search")


class AnnotationError(StreamsiftError):
    """A request the annotation store refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.details = details or []


@dataclass
class Item:
    tweet_id: int
    text: str
    urls: list[str]
    weak_label: int | None
    weak_prob: float | None
    golden_label: int | None
    annotator: str | None
    lf_votes: list[int] | None
    model_label: int | None = None
    model_prob: float | None = None
    model_version: int | None = None


#: How long the list of tables, LF names and table sizes are cached (they change only when a
#: `dataset prepare` or `label` runs).
CACHE_SECONDS = 10.0


class AnnotationStore:
    """One per app, with a small connection pool."""

    def __init__(self, settings: Settings, *, pool_size: int = 4) -> None:
        self.settings = settings
        self.classes = list(settings.labeling.classes)
        kwargs = connect_kwargs(settings.postgres)
        conninfo = kwargs.pop("conninfo")
        kwargs["row_factory"] = dict_row
        self._pool = ConnectionPool(
            conninfo, kwargs=kwargs, min_size=1, max_size=pool_size, open=True, name="streamsift-web"
        )
        self._indexed: set[str] = set()
        self._cache: dict[tuple[str, ...], tuple[float, Any]] = {}
        with self.conn() as conn:
            ensure_annotation_schema(conn)

    @contextmanager
    def conn(self) -> Iterator[psycopg.Connection]:
        with self._pool.connection() as conn:
            yield conn

    def close(self) -> None:
        self._pool.close()

    def _cached(self, key: tuple[str, ...], compute: Callable[[], Any]) -> Any:
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        value = compute()
        self._cache[key] = (now, value)
        return value

    # -- tables ------------------------------------------------------------------------------------
    def tables(self) -> list[str]:
        """The split tables that exist, newest version first."""
        return self._cached(("tables",), self._tables)

    def _tables(self) -> list[str]:
        with self.conn() as conn:
            rows = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                "AND table_name ~ '^(test|dev|snorkel_train|train)_dataset_[0-9]+$'"
            ).fetchall()
        names = [r["table_name"] for r in rows]
        order = {"dev": 0, "test": 1, "snorkel_train": 2, "train": 3}
        return sorted(names, key=lambda t: (-int(t.rsplit("_", 1)[1]), order[SPLIT_TABLE.match(t).group(1)]))

    def table(self, name: str) -> sql.Identifier:
        """``name`` as an identifier, if it is a known split table (else 404)."""
        if not isinstance(name, str) or not SPLIT_TABLE.match(name):
            raise AnnotationError(f"unknown table {str(name)[:80]!r}", status=404)
        if name not in self.tables():
            self._cache.pop(("tables",), None)  # prepared a moment ago?
            if name not in self.tables():
                raise AnnotationError(f"unknown table {name[:80]!r}", status=404)
        if name not in self._indexed:
            self._ensure_indexes(name)
        return sql.Identifier(name)

    def _ensure_indexes(self, name: str) -> None:
        t = sql.Identifier(name)
        with self.conn() as conn, conn.transaction():
            for col in ("lf_votes smallint[]", "lf_conflict boolean NOT NULL DEFAULT false"):
                conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS " + col).format(t))
            for suffix, ddl in (
                ("unlabelled", "(tweet_id) WHERE golden_label IS NULL"),
                ("uncertain", "(weak_prob NULLS FIRST, tweet_id) WHERE golden_label IS NULL"),
                ("conflicts", "(weak_prob NULLS FIRST, tweet_id) WHERE golden_label IS NULL AND lf_conflict"),
                ("golden", "(golden_label) WHERE golden_label IS NOT NULL"),
                ("review", "(annotated_at, tweet_id) WHERE golden_label IS NOT NULL"),
            ):
                conn.execute(
                    sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} " + ddl).format(
                        sql.Identifier(f"{name}_{suffix}_q"), t
                    )
                )
        self._indexed.add(name)

    def model_scored(self, table: str) -> bool:
        """Whether ``streamsift predict --table`` has scored this table (then "uncertain" uses the model)."""

        def check() -> bool:
            with self.conn() as conn:
                has = conn.execute(
                    "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = %s "
                    "AND column_name = 'model_prob'",
                    (table,),
                ).fetchone()["n"]
                if not has:
                    return False
                t = sql.Identifier(table)
                scored = conn.execute(
                    sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE model_version IS NOT NULL) AS e").format(t)
                ).fetchone()["e"]
                if scored:
                    with conn.transaction():
                        conn.execute(
                            sql.SQL(
                                "CREATE INDEX IF NOT EXISTS {} ON {} (model_prob NULLS FIRST, tweet_id) "
                                "WHERE golden_label IS NULL"
                            ).format(sql.Identifier(f"{table}_model_uncertain_q"), t)
                        )
                return bool(scored)

        return self._cached(("model_scored", table), check)

    def _item_columns(self, table: str) -> sql.Composable:
        base = "s.tweet_id, s.text, s.urls, s.weak_label, s.weak_prob, s.golden_label, s.annotator, s.lf_votes"
        if self.model_scored(table):
            base += ", s.model_label, s.model_prob, s.model_version"
        return sql.SQL(base)

    def lf_names(self, table: str) -> list[str]:
        return self._cached(("lf_names", table), lambda: self._lf_names(table))

    def _lf_names(self, table: str) -> list[str]:
        version = int(table.rsplit("_", 1)[1])
        summary = f"lf_summary_{version}"
        with self.conn() as conn:
            if not table_exists(conn, summary):
                return []
            has_pos = conn.execute(
                "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = %s AND column_name = "
                "'position'",
                (summary,),
            ).fetchone()["n"]
            order = "position" if has_pos else "lf"
            rows = conn.execute(
                sql.SQL("SELECT lf FROM {} ORDER BY {}").format(sql.Identifier(summary), sql.Identifier(order))
            ).fetchall()
        return [r["lf"] for r in rows]

    # -- queues ------------------------------------------------------------------------------------
    def next_item(
        self, table: str, queue: str, annotator: str, *, exclude: list[int] | None = None, query: str | None = None
    ) -> Item | None:
        t = self.table(table)
        exclude = [int(x) for x in (exclude or [])][-500:]
        cols = self._item_columns(table)
        skip = sql.SQL("AND NOT (s.tweet_id = ANY(%(exclude)s))")
        params: dict[str, Any] = {"exclude": exclude, "me": annotator, "table": table}
        if queue == "unlabelled":
            q = sql.SQL("SELECT {c} FROM {t} s WHERE s.golden_label IS NULL {skip} ORDER BY s.tweet_id LIMIT 1")
        elif queue == "uncertain" and self.model_scored(table):  # the latest model's confidence, lowest first
            q = sql.SQL(
                "SELECT {c} FROM {t} s WHERE s.golden_label IS NULL {skip} "
                "ORDER BY s.model_prob ASC NULLS FIRST, s.tweet_id LIMIT 1"
            )
        elif queue == "uncertain":
            q = sql.SQL(
                "SELECT {c} FROM {t} s WHERE s.golden_label IS NULL {skip} "
                "ORDER BY s.weak_prob ASC NULLS FIRST, s.tweet_id LIMIT 1"
            )
        elif queue == "conflicts":
            q = sql.SQL(
                "SELECT {c} FROM {t} s WHERE s.golden_label IS NULL AND s.lf_conflict {skip} "
                "ORDER BY s.weak_prob ASC NULLS FIRST, s.tweet_id LIMIT 1"
            )
        elif queue == "review":
            q = sql.SQL(
                "SELECT {c} FROM {t} s WHERE s.golden_label IS NOT NULL AND s.weak_label IS NOT NULL "
                "AND s.golden_label <> s.weak_label {skip} AND NOT EXISTS (SELECT 1 FROM annotation_events e "
                "WHERE e.table_name = %(table)s AND e.tweet_id = s.tweet_id AND e.action = 'review' "
                "AND NOT e.undone) ORDER BY s.annotated_at, s.tweet_id LIMIT 1"
            )
        elif queue == "assigned":
            q = sql.SQL(
                "SELECT {c} FROM assignments a JOIN {t} s USING (tweet_id) WHERE a.table_name = %(table)s "
                "AND a.annotator = %(me)s AND NOT EXISTS (SELECT 1 FROM annotations n WHERE n.table_name = "
                "%(table)s AND n.tweet_id = s.tweet_id AND n.annotator = %(me)s) {skip} ORDER BY s.tweet_id LIMIT 1"
            )
        elif queue == "search":
            if not query or not query.strip():
                raise AnnotationError("the search queue needs a query (q=...)")
            params["q"] = "%" + query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            q = sql.SQL("SELECT {c} FROM {t} s WHERE s.text ILIKE %(q)s {skip} ORDER BY s.tweet_id LIMIT 1")
        else:
            raise AnnotationError(f"unknown queue {queue!r}; expected one of {', '.join(QUEUES)}")
        with self.conn() as conn:
            row = conn.execute(q.format(c=cols, t=t, skip=skip), params).fetchone()
        return Item(**row) if row else None

    def get_item(self, table: str, tweet_id: int) -> Item:
        t = self.table(table)
        with self.conn() as conn:
            row = conn.execute(
                sql.SQL("SELECT {} FROM {} s WHERE s.tweet_id = %s").format(self._item_columns(table), t),
                (tweet_id,),
            ).fetchone()
        if row is None:
            raise AnnotationError(f"no tweet {tweet_id} in {table}", status=404)
        return Item(**row)

    # -- actions -----------------------------------------------------------------------------------
    def label(self, table: str, tweet_id: int, label: int, annotator: str, *, action: str = "label") -> None:
        """Set the golden label (and this annotator's own label) in one transaction."""
        if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < len(self.classes):
            raise AnnotationError(f"label must be a class index 0..{len(self.classes) - 1}, got {label!r}")
        if action not in {"label", "review", "adjudicate"}:
            raise AnnotationError(f"unknown action {action!r}")
        t = self.table(table)
        who = f"adjudicated:{annotator}" if action == "adjudicate" else annotator
        with self.conn() as conn, conn.transaction():
            row = conn.execute(
                sql.SQL("SELECT golden_label, annotator, annotated_at FROM {} WHERE tweet_id = %s FOR UPDATE").format(
                    t
                ),
                (tweet_id,),
            ).fetchone()
            if row is None:
                raise AnnotationError(f"no tweet {tweet_id} in {table}", status=404)
            own = conn.execute(
                "SELECT label FROM annotations WHERE table_name = %s AND tweet_id = %s AND annotator = %s",
                (table, tweet_id, annotator),
            ).fetchone()
            conn.execute(
                "INSERT INTO annotation_events (table_name, tweet_id, annotator, action, new_label, prev_golden,"
                " prev_annotator, prev_annotated_at, prev_own_label) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    table,
                    tweet_id,
                    annotator,
                    action,
                    label,
                    row["golden_label"],
                    row["annotator"],
                    row["annotated_at"],
                    own["label"] if own else None,
                ),
            )
            if action != "adjudicate":
                conn.execute(
                    "INSERT INTO annotations (table_name, tweet_id, annotator, label) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (table_name, tweet_id, annotator) DO UPDATE SET label = EXCLUDED.label, "
                    "created_at = now()",
                    (table, tweet_id, annotator, label),
                )
            conn.execute(
                sql.SQL(
                    "UPDATE {} SET golden_label = %s, annotator = %s, annotated_at = now() WHERE tweet_id = %s"
                ).format(t),
                (label, who, tweet_id),
            )

    def skip(self, table: str, tweet_id: int, annotator: str) -> None:
        self.table(table)
        with self.conn() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO annotation_events (table_name, tweet_id, annotator, action) VALUES (%s, %s, %s, 'skip')",
                (table, tweet_id, annotator),
            )

    def undo(self, table: str, annotator: str) -> int | None:
        """Revert this annotator's last action on ``table``; returns its tweet id (None if nothing to undo)."""
        t = self.table(table)
        with self.conn() as conn, conn.transaction():
            ev = conn.execute(
                "SELECT * FROM annotation_events WHERE annotator = %s AND table_name = %s AND NOT undone "
                "ORDER BY id DESC LIMIT 1 FOR UPDATE",
                (annotator, table),
            ).fetchone()
            if ev is None:
                return None
            if ev["action"] != "skip":
                conn.execute(
                    sql.SQL(
                        "UPDATE {} SET golden_label = %s, annotator = %s, annotated_at = %s WHERE tweet_id = %s"
                    ).format(t),
                    (ev["prev_golden"], ev["prev_annotator"], ev["prev_annotated_at"], ev["tweet_id"]),
                )
                if ev["action"] != "adjudicate":
                    if ev["prev_own_label"] is None:
                        conn.execute(
                            "DELETE FROM annotations WHERE table_name = %s AND tweet_id = %s AND annotator = %s",
                            (table, ev["tweet_id"], annotator),
                        )
                    else:
                        conn.execute(
                            "UPDATE annotations SET label = %s WHERE table_name = %s AND tweet_id = %s "
                            "AND annotator = %s",
                            (ev["prev_own_label"], table, ev["tweet_id"], annotator),
                        )
            conn.execute("UPDATE annotation_events SET undone = true WHERE id = %s", (ev["id"],))
            return int(ev["tweet_id"])

    def assign(self, table: str, annotators: list[str], count: int, *, queue: str = "uncertain") -> int:
        """Assign the next ``count`` unlabelled items (``queue`` order) to every one of ``annotators``."""
        t = self.table(table)
        order = "weak_prob ASC NULLS FIRST, tweet_id" if queue == "uncertain" else "tweet_id"
        with self.conn() as conn, conn.transaction():
            ids = [
                r["tweet_id"]
                for r in conn.execute(
                    sql.SQL(
                        "SELECT tweet_id FROM {} WHERE golden_label IS NULL ORDER BY " + order + " LIMIT %s"
                    ).format(t),
                    (count,),
                ).fetchall()
            ]
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO assignments (table_name, tweet_id, annotator) VALUES (%s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    [(table, i, a) for i in ids for a in annotators],
                )
        return len(ids)

    # -- progress, agreement ------------------------------------------------------------------------
    def progress(self, table: str) -> dict[str, Any]:
        t = self.table(table)

        def count_rows() -> int:
            with self.conn() as conn:
                return conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(t)).fetchone()["n"]

        total = self._cached(("size", table), count_rows)  # splits do not grow; labels are counted exactly
        with self.conn() as conn:
            rows = conn.execute(
                sql.SQL("SELECT golden_label, count(*) AS n FROM {} WHERE golden_label IS NOT NULL GROUP BY 1").format(
                    t
                )
            ).fetchall()
        per_class = {c: 0 for c in self.classes}
        for r in rows:
            if 0 <= r["golden_label"] < len(self.classes):
                per_class[self.classes[r["golden_label"]]] = r["n"]
        labelled = sum(per_class.values())
        return {
            "table": table,
            "total": total,
            "labelled": labelled,
            "per_class": per_class,
            "share": round(labelled / total, 4) if total else 0.0,
        }

    def agreement(self, table: str) -> dict[str, Any]:
        """Cohen's kappa per annotator pair, and the items their labels disagree on."""
        self.table(table)
        with self.conn() as conn:
            rows = conn.execute(
                "SELECT tweet_id, annotator, label FROM annotations WHERE table_name = %s", (table,)
            ).fetchall()
        by_item: dict[int, dict[str, int]] = {}
        for r in rows:
            by_item.setdefault(r["tweet_id"], {})[r["annotator"]] = r["label"]
        annotators = sorted({r["annotator"] for r in rows})
        pairs = []
        for a, b in combinations(annotators, 2):
            common = [(v[a], v[b]) for v in by_item.values() if a in v and b in v]
            kappa = None
            if common:
                ya, yb = zip(*common, strict=True)
                kappa = 1.0 if ya == yb else float(cohen_kappa_score(ya, yb, labels=list(range(len(self.classes)))))
            pairs.append(
                {
                    "a": a,
                    "b": b,
                    "n": len(common),
                    "kappa": kappa,
                    "agreement": sum(x == y for x, y in common) / len(common) if common else None,
                }
            )
        disagreements = [
            {"tweet_id": tid, "labels": labels}
            for tid, labels in sorted(by_item.items())
            if len(set(labels.values())) > 1
        ]
        return {"table": table, "annotators": annotators, "pairs": pairs, "disagreements": disagreements}

    # -- export / import ------------------------------------------------------------------------------
    def export_rows(self, table: str) -> Iterator[dict[str, Any]]:
        t = self.table(table)
        with self.conn() as conn:
            cur = conn.execute(
                sql.SQL(
                    "SELECT tweet_id, text, golden_label, annotator, annotated_at, weak_label, weak_prob FROM {} "
                    "WHERE golden_label IS NOT NULL ORDER BY tweet_id"
                ).format(t)
            )
            for r in cur:
                r["golden_label_name"] = (
                    self.classes[r["golden_label"]] if 0 <= r["golden_label"] < len(self.classes) else None
                )
                r["annotated_at"] = r["annotated_at"].isoformat() if r["annotated_at"] else None
                yield r

    def export_csv(self, table: str) -> str:
        buf = io.StringIO()
        fields = [
            "tweet_id",
            "golden_label",
            "golden_label_name",
            "annotator",
            "annotated_at",
            "weak_label",
            "weak_prob",
            "text",
        ]
        w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in self.export_rows(table):
            w.writerow(r)
        return buf.getvalue()

    def export_jsonl(self, table: str) -> str:
        return "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in self.export_rows(table))

    def import_csv(self, table: str, data: bytes, annotator: str) -> int:
        """Apply golden labels from CSV (``tweet_id`` and ``label``: a class name or index).

        Every row is checked first; any unknown id, unknown class or malformed row rejects the whole
        file with the list of problems, and nothing is applied.
        """
        from streamsift.labeling.golden import GoldenFileError, apply_golden, parse_golden

        t = self.table(table)
        try:
            parsed = parse_golden(data, self.classes, fmt="csv", skip=())
        except GoldenFileError as exc:
            raise AnnotationError(f"import rejected, {exc.args[0]}") from None
        if not parsed.labels and not parsed.problems:
            raise AnnotationError("the CSV has no rows")
        wanted, problems = parsed.labels, list(parsed.problems)
        with self.conn() as conn, conn.transaction():
            known = {
                r["tweet_id"]
                for r in conn.execute(
                    sql.SQL("SELECT tweet_id FROM {} WHERE tweet_id = ANY(%s)").format(t), (list(wanted),)
                ).fetchall()
            }
            problems += [f"tweet_id {tid} is not in {table}" for tid in wanted if tid not in known]
            if problems:
                raise AnnotationError(
                    f"import rejected, nothing applied: {len(problems)} problem(s)", details=problems[:200]
                )
            apply_golden(conn, table, wanted, f"import:{annotator}")
        return len(wanted)
