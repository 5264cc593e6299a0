"""``streamsift dataset prepare``: dedup the raw table and split it into versioned tables.

    raw_tweet_dataset_<v>
      └─ dedup on normalised text ─► deduplicated_raw_tweet_dataset_<v>
           └─ deterministic split (hash of seed + tweet id) ─► test_dataset_<v>, dev_dataset_<v>,
                                                              snorkel_train_dataset_<v>, train_dataset_<v>

Everything happens in PostgreSQL, in one transaction: either all five tables exist
afterwards or none does. Re-running for a version that exists changes nothing
(its labels are kept); a new ``dataset.version`` makes new tables.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from streamsift.config import DatasetSettings, Settings
from streamsift.dataset.normalize import normalize_sql, unicode_collation
from streamsift.errors import StreamsiftError
from streamsift.store.connection import connect, table_exists
from streamsift.store.tables import raw_table, versioned

log = logging.getLogger(__name__)

SPLITS = ("test", "dev", "snorkel_train", "train")
#: The fixed-size splits never take more than this share of the data; train keeps the rest.
MAX_FIXED_SHARE = 0.3
#: Of that share, test and dev together take at most this share of the data.
MAX_EVAL_SHARE = 0.2


class DatasetError(StreamsiftError):
    """The dataset cannot be prepared (no raw table, no rows, ...)."""


def split_table(split: str, version: int) -> str:
    """``test_dataset_0``, ``train_dataset_3``, ..."""
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    return versioned(f"{split}_dataset", version)


def dedup_table(prefix: str, version: int) -> str:
    return versioned(f"deduplicated_{prefix}", version)


@dataclass
class SplitSizes:
    test: int
    dev: int
    snorkel_train: int
    train: int
    shrunk: bool = False


def plan_sizes(n: int, ds: DatasetSettings) -> SplitSizes:
    """Split sizes for ``n`` rows: the configured sizes, or, when the data is small, smaller ones.

    Training data matters most on small data, so train always keeps at least
    ``1 - MAX_FIXED_SHARE`` of the rows. test and dev shrink together (keeping their ratio)
    to at most ``MAX_EVAL_SHARE`` of the rows; snorkel_train shrinks first, to what is left
    (the LabelModel needs no labels, so ``label`` then fits it on train's votes too).
    """
    wanted = ds.test_size + ds.dev_size + ds.snorkel_train_size
    if n <= 0:
        return SplitSizes(0, 0, 0, 0)
    if wanted <= MAX_FIXED_SHARE * n:
        return SplitSizes(ds.test_size, ds.dev_size, ds.snorkel_train_size, n - wanted)
    evaluation = ds.test_size + ds.dev_size
    f = min(1.0, MAX_EVAL_SHARE * n / evaluation) if evaluation else 1.0
    test, dev = int(ds.test_size * f), int(ds.dev_size * f)
    snorkel = min(ds.snorkel_train_size, max(0, int(MAX_FIXED_SHARE * n) - test - dev))
    return SplitSizes(test, dev, snorkel, n - test - dev - snorkel, shrunk=True)


@dataclass
class PrepareResult:
    version: int
    raw_table: str
    dedup_table: str
    raw_rows: int
    dedup_rows: int
    sizes: dict[str, int] = field(default_factory=dict)
    created: bool = True
    shrunk: bool = False

    def to_dict(self) -> dict:
        return self.__dict__.copy()


_SPLIT_COLUMNS = """
    tweet_id bigint PRIMARY KEY,
    created_at timestamptz,
    text text NOT NULL,
    norm_text text NOT NULL,
    lang text,
    user_screen_name text,
    hashtags text[] NOT NULL DEFAULT '{}',
    urls text[] NOT NULL DEFAULT '{}',
    is_retweet boolean NOT NULL DEFAULT false,
    is_quote boolean NOT NULL DEFAULT false,
    weak_label smallint,
    weak_prob real,
    weak_probs real[],
    lf_votes smallint[],
    lf_conflict boolean NOT NULL DEFAULT false,
    golden_label smallint,
    annotator text,
    annotated_at timestamptz
"""


def _count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]


def prepare_dataset(settings: Settings, *, raw_version: int | None = None) -> PrepareResult:
    """Dedup ``raw_<version>`` and write the four split tables of ``dataset.version``."""
    ds = settings.dataset
    version = ds.version
    raw = raw_table(ds.prefix, version if raw_version is None else raw_version)
    dedup = dedup_table(ds.prefix, version)
    splits = {s: split_table(s, version) for s in SPLITS}
    with connect(settings.postgres) as conn:
        if not table_exists(conn, raw):
            raise DatasetError(f"the raw table {raw} does not exist", hint="run `streamsift ingest` first")
        if table_exists(conn, dedup) and all(table_exists(conn, t) for t in splits.values()):
            log.info("dataset version %d already prepared: leaving it as it is", version)
            return PrepareResult(
                version,
                raw,
                dedup,
                _count(conn, raw),
                _count(conn, dedup),
                {s: _count(conn, t) for s, t in splits.items()},
                created=False,
            )
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('streamsift.prepare'))")
            raw_rows = _count(conn, raw)
            if raw_rows == 0:
                raise DatasetError(f"the raw table {raw} is empty", hint="run `streamsift ingest` first")
            for t in [dedup, *splits.values()]:  # a half-made earlier attempt cannot exist, but be sure
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(t)))
            collation = unicode_collation(conn)
            if collation is None:
                log.warning("this PostgreSQL server has no Unicode collation: dedup folds the case of ASCII only")
            # Keep the earliest tweet of each normalised text (ties: the lowest id).
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {dedup} AS "
                    "SELECT DISTINCT ON (norm_text) * FROM ("
                    "  SELECT tweet_id, created_at, text, {norm} AS norm_text, lang, user_screen_name,"
                    "         hashtags, urls, is_retweet, is_quote FROM {raw}) r "
                    "WHERE norm_text <> '' "
                    "ORDER BY norm_text, created_at NULLS LAST, tweet_id"
                ).format(dedup=sql.Identifier(dedup), norm=sql.SQL(normalize_sql(collation)), raw=sql.Identifier(raw))
            )
            conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (tweet_id)").format(sql.Identifier(dedup)))
            n = _count(conn, dedup)
            sizes = plan_sizes(n, ds)
            if sizes.shrunk:
                log.warning(
                    "only %d distinct tweets: split sizes shrunk to test=%d dev=%d "
                    "snorkel_train=%d train=%d (configured %d/%d/%d; train keeps at least 70%%)",
                    n,
                    sizes.test,
                    sizes.dev,
                    sizes.snorkel_train,
                    sizes.train,
                    ds.test_size,
                    ds.dev_size,
                    ds.snorkel_train_size,
                )
            bounds = {
                "test": (0, sizes.test),
                "dev": (sizes.test, sizes.test + sizes.dev),
                "snorkel_train": (sizes.test + sizes.dev, sizes.test + sizes.dev + sizes.snorkel_train),
                "train": (sizes.test + sizes.dev + sizes.snorkel_train, n),
            }
            conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE _order ON COMMIT DROP AS SELECT tweet_id, "
                    "row_number() OVER (ORDER BY md5(%s || ':' || tweet_id::text), tweet_id) - 1 AS rn FROM {}"
                ).format(sql.Identifier(dedup)),
                (str(ds.seed),),
            )
            for split, table in splits.items():
                lo, hi = bounds[split]
                t = sql.Identifier(table)
                conn.execute(sql.SQL("CREATE TABLE {} ({})").format(t, sql.SQL(_SPLIT_COLUMNS)))
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {t} (tweet_id, created_at, text, norm_text, lang, user_screen_name,"
                        " hashtags, urls, is_retweet, is_quote) "
                        "SELECT d.tweet_id, d.created_at, d.text, d.norm_text, d.lang, d.user_screen_name,"
                        " d.hashtags, d.urls, d.is_retweet, d.is_quote "
                        "FROM {d} d JOIN _order o USING (tweet_id) WHERE o.rn >= %s AND o.rn < %s"
                    ).format(t=t, d=sql.Identifier(dedup)),
                    (lo, hi),
                )
                for col in ("golden_label", "weak_prob"):
                    conn.execute(
                        sql.SQL("CREATE INDEX {} ON {} ({})").format(
                            sql.Identifier(f"{table}_{col}_idx"), t, sql.Identifier(col)
                        )
                    )
        result = PrepareResult(
            version,
            raw,
            dedup,
            raw_rows,
            n,
            {s: bounds[s][1] - bounds[s][0] for s in SPLITS},
            shrunk=sizes.shrunk,
        )
    log.info("prepared dataset version %d: %s", version, result.sizes)
    return result


__all__ = [
    "SPLITS",
    "DatasetError",
    "PrepareResult",
    "dedup_table",
    "plan_sizes",
    "prepare_dataset",
    "split_table",
]
