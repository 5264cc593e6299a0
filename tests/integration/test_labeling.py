"""Dataset preparation and weak supervision on the real PostgreSQL server."""

from __future__ import annotations

import logging
import sys
import textwrap

import pandas as pd
import pytest
from psycopg import sql

from streamsift.dataset.normalize import normalize_text
from streamsift.dataset.prepare import SPLITS, DatasetError, prepare_dataset, split_table
from streamsift.labeling.errors import LabelingError, LFError
from streamsift.labeling.evaluate import evaluate_labels
from streamsift.labeling.pipeline import export_dir, run_labeling
from streamsift.store.connection import connect
from streamsift.store.schema import ensure_ingest_schema
from streamsift.store.tables import raw_table
from tests.integration.helpers import fill_raw, with_version

pytestmark = pytest.mark.integration


def q(settings, query, *args):
    with connect(settings.postgres) as conn:
        cur = conn.execute(query, args)
        return cur.fetchall() if cur.description else []


def test_prepare_dedups_splits_and_is_idempotent(infra_settings, table_version):
    s = with_version(infra_settings, table_version)
    fill_raw(s, 2500, seed=31)
    raw = raw_table(s.dataset.prefix, table_version)
    texts = [r[0] for r in q(s, sql.SQL("SELECT text FROM {}").format(sql.Identifier(raw)))]
    expected_distinct = len({normalize_text(t) for t in texts} - {""})

    r = prepare_dataset(s)
    assert r.created and r.dedup_rows == expected_distinct  # SQL and Python normalisers agree
    assert r.sizes["test"] == 60 and r.sizes["dev"] == 50 and r.sizes["snorkel_train"] == 400
    assert sum(r.sizes.values()) == r.dedup_rows
    ids = {}
    for split in SPLITS:
        rows = q(
            s,
            sql.SQL("SELECT tweet_id, weak_label, golden_label FROM {}").format(
                sql.Identifier(split_table(split, table_version))
            ),
        )
        assert len(rows) == r.sizes[split]
        assert all(w is None and g is None for _, w, g in rows)
        for tid, _, _ in rows:
            assert tid not in ids, "a tweet is in two splits"
            ids[tid] = split

    # same version again: nothing changes, labels would survive
    q(
        s,
        sql.SQL("UPDATE {} SET golden_label = 1 WHERE tweet_id = %s").format(
            sql.Identifier(split_table("dev", table_version))
        ),
        next(t for t, sp in ids.items() if sp == "dev"),
    )
    again = prepare_dataset(s)
    assert not again.created and again.sizes == r.sizes
    assert (
        q(
            s,
            sql.SQL("SELECT count(*) FROM {} WHERE golden_label = 1").format(
                sql.Identifier(split_table("dev", table_version))
            ),
        )[0][0]
        == 1
    )

    # a new version reads the same raw table into new tables and leaves the old ones alone
    s2 = with_version(infra_settings, table_version + 1, seed=7)
    r2 = prepare_dataset(s2, raw_version=table_version)
    assert r2.created and r2.dedup_rows == r.dedup_rows
    assert (
        q(s, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(split_table("test", table_version))))[0][0] == 60
    )


def test_prepare_shrinks_small_data_with_a_warning(infra_settings, table_version, caplog):
    s = with_version(infra_settings, table_version, test_size=1000, dev_size=500, snorkel_train_size=10_000)
    fill_raw(s, 600, seed=32)
    with caplog.at_level(logging.WARNING):
        r = prepare_dataset(s)
    assert r.shrunk and "split sizes shrunk" in caplog.text
    n = r.dedup_rows
    assert 0 < r.sizes["test"] < 1000 and r.sizes["train"] >= 0.7 * n - 1  # train keeps most of small data
    assert r.sizes["test"] == pytest.approx(2 * r.sizes["dev"], abs=1)  # the eval splits keep their ratio
    assert r.sizes["test"] + r.sizes["dev"] <= 0.2 * n and r.sizes["snorkel_train"] > 0


def test_prepare_without_raw_data(infra_settings, table_version):
    s = with_version(infra_settings, table_version)
    with pytest.raises(DatasetError, match="does not exist"):
        prepare_dataset(s)
    with connect(s.postgres) as conn:
        ensure_ingest_schema(conn, raw_table(s.dataset.prefix, table_version))
    with pytest.raises(DatasetError, match="is empty"):
        prepare_dataset(s)


def test_label_end_to_end(infra_settings, table_version):
    s = with_version(infra_settings, table_version)
    truth = fill_raw(s, 3000, seed=33)
    prepare_dataset(s)
    dev = split_table("dev", table_version)
    dev_ids = [r[0] for r in q(s, sql.SQL("SELECT tweet_id FROM {}").format(sql.Identifier(dev)))]
    with connect(s.postgres) as conn, conn.transaction():
        for tid in dev_ids:  # golden labels from the synthetic ground truth
            conn.execute(
                sql.SQL("UPDATE {} SET golden_label = %s, annotator = 'truth' WHERE tweet_id = %s").format(
                    sql.Identifier(dev)
                ),
                (1 if truth[tid] == "ai" else 0, tid),
            )

    result = run_labeling(s)
    assert result.chosen in {"label_model", "majority"} and "golden dev labels" in result.reason
    assert result.dev_scores["label_model"]["n"] > 0 and result.dev_scores["majority"]["n"] > 0
    assert set(result.lf_summary.index) == set(result.lfs) and len(result.lfs) >= 15

    agree = total = 0
    for split in SPLITS:
        rows = q(
            s,
            sql.SQL("SELECT tweet_id, weak_label, weak_prob, weak_probs FROM {}").format(
                sql.Identifier(split_table(split, table_version))
            ),
        )
        assert len(rows) == result.rows[split]
        for tid, label, prob, probs in rows:
            if label is None:
                assert prob is None and probs is None
                continue
            assert 0.5 <= prob <= 1.0 and len(probs) == 2 and abs(sum(probs) - 1) < 1e-3
            total += 1
            agree += (label == 1) == (truth[tid] == "ai")
    assert total > 0.95 * sum(result.rows.values())
    assert agree / total > 0.9, f"weak labels agree with the synthetic truth on {agree / total:.3f}"

    summary = q(
        s,
        sql.SQL("SELECT lf, coverage, emp_acc, n_golden FROM {}").format(sql.Identifier(f"lf_summary_{table_version}")),
    )
    assert len(summary) == len(result.lfs)
    assert all(n == len(dev_ids) for *_, n in summary)
    assert any(acc is not None for _, _, acc, _ in summary)

    for split in SPLITS:
        base = export_dir(s) / split_table(split, table_version)
        parquet, csv = pd.read_parquet(f"{base}.parquet"), pd.read_csv(f"{base}.csv")
        assert len(parquet) == len(csv) == result.rows[split]
        assert set(parquet.columns) >= {"tweet_id", "text", "weak_label", "weak_prob", "golden_label"}

    report = evaluate_labels(s)
    assert report["n_golden"] == len(dev_ids)
    stored = q(
        s,
        sql.SQL(
            "SELECT avg((weak_label = golden_label)::int) FROM {} WHERE golden_label IS NOT NULL"
            " AND weak_label IS NOT NULL"
        ).format(sql.Identifier(dev)),
    )[0][0]
    dev_report = report["splits"]["dev"]
    assert dev_report["accuracy"] == pytest.approx(float(stored) * dev_report["coverage"], abs=1e-6)
    assert {"label_model", "majority"} <= set(report["models"])
    assert all(p.endswith((".json", ".md")) for p in report["files"])


def test_lf_that_raises_is_named_and_nothing_is_written(infra_settings, table_version, tmp_path, monkeypatch):
    module = tmp_path / "my_lfs_raising.py"
    module.write_text(
        textwrap.dedent("""
        from snorkel.labeling import labeling_function

        @labeling_function()
        def lf_fragile(x):
            if "deep learning" in x.text.lower():
                raise ValueError("boom")
            return -1
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    s = with_version(infra_settings, table_version)
    s = s.model_copy(update={"labeling": s.labeling.model_copy(update={"lf_modules": ["my_lfs_raising"]})})
    fill_raw(s, 800, seed=34)
    prepare_dataset(s)
    with pytest.raises(LFError, match=r"labeling function 'lf_fragile' raised ValueError: boom on tweet \d+"):
        run_labeling(s)
    for split in SPLITS:
        assert (
            q(
                s,
                sql.SQL("SELECT count(*) FROM {} WHERE weak_label IS NOT NULL").format(
                    sql.Identifier(split_table(split, table_version))
                ),
            )[0][0]
            == 0
        )
    sys.modules.pop("my_lfs_raising", None)


def test_lf_module_that_fails_to_import(infra_settings, table_version):
    s = with_version(infra_settings, table_version)
    s = s.model_copy(update={"labeling": s.labeling.model_copy(update={"lf_modules": ["no_such_lf_module_x"]})})
    with pytest.raises(LabelingError, match="cannot import labeling-function module 'no_such_lf_module_x'"):
        run_labeling(s)


def test_import_golden_sets_labels_in_every_split_all_or_nothing(infra_settings, table_version, tmp_path):
    from streamsift.labeling.golden import GoldenFileError, import_golden

    s = with_version(infra_settings, table_version)
    fill_raw(s, 1500, seed=37)
    prepare_dataset(s)
    by_split = {
        split: [
            r[0]
            for r in q(
                s,
                sql.SQL("SELECT tweet_id FROM {} ORDER BY tweet_id LIMIT 3").format(
                    sql.Identifier(split_table(split, table_version))
                ),
            )
        ]
        for split in SPLITS
    }
    lines = [f"{tid},{'ai' if k % 2 else 'not_ai'}" for split in SPLITS for k, tid in enumerate(by_split[split])]
    good = tmp_path / "golden.csv"
    good.write_text("tweet_id,label\n" + "\n".join(lines) + "\n99,ai\n7,ambiguous\n")

    bad = tmp_path / "bad.csv"
    bad.write_text("tweet_id,label\n" + "\n".join(lines) + "\n8,robots\n")
    with pytest.raises(GoldenFileError, match="unknown class 'robots'"):
        import_golden(s, bad)
    assert all(
        q(s, sql.SQL("SELECT count(golden_label) FROM {}").format(sql.Identifier(split_table(sp, table_version))))[0][0]
        == 0
        for sp in SPLITS
    )

    r = import_golden(s, good, annotator="alice")
    assert r.matched == {split: 3 for split in SPLITS} and r.unmatched == 1 and r.skipped == 1
    for split in SPLITS:
        rows = q(
            s,
            sql.SQL(
                "SELECT tweet_id, golden_label, annotator FROM {} WHERE golden_label IS NOT NULL ORDER BY tweet_id"
            ).format(sql.Identifier(split_table(split, table_version))),
        )
        assert [(t, g) for t, g, _ in rows] == [(tid, k % 2) for k, tid in enumerate(by_split[split])]
        assert {a for _, _, a in rows} == {"import:alice"}
