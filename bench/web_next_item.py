"""Annotation UI benchmark: server time of "label this, give me the next" on a 100K-row table.

Starts its own PostgreSQL, fills a split table with N rows, serves the app with uvicorn
on 127.0.0.1, logs in with httpx and, for each queue, repeats POST label + GET next,
reading the server's own ``Server-Timing`` header. Then drops the partial indexes the
app creates and measures the same requests again (the baseline). Prints JSON.

    python bench/web_next_item.py [--rows 100000] [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from psycopg import sql

from streamsift.config import load_settings
from streamsift.dataset.prepare import _SPLIT_COLUMNS
from streamsift.infra.postgres import PostgresServer
from streamsift.infra.process import free_port
from streamsift.store.connection import connect
from streamsift.web.app import create_app
from streamsift.web.auth import UserStore, hash_password

VERSION = 777_001
TABLE = f"dev_dataset_{VERSION}"
QUEUES = ("unlabelled", "uncertain", "conflicts")


def fill(settings, rows: int) -> None:
    with connect(settings.postgres) as conn, conn.transaction():
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(TABLE)))
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(TABLE), sql.SQL(_SPLIT_COLUMNS)))
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (tweet_id, text, norm_text, weak_label, weak_prob, lf_votes, lf_conflict) "
                "SELECT i, 'tweet number ' || i || ' about machine learning', 'x' || i, (random() < 0.4)::int, "
                "0.5 + random() / 2, ARRAY[(random() < 0.4)::int, -1, 0]::smallint[], random() < 0.08 "
                "FROM generate_series(1, %s) AS i"
            ).format(sql.Identifier(TABLE)),
            (rows,),
        )
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(TABLE)))


def serve(settings, port: int) -> uvicorn.Server:
    users = UserStore({"bench": hash_password("bench-password")})
    srv = uvicorn.Server(
        uvicorn.Config(create_app(settings, users=users), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=srv.run, daemon=True).start()
    while not srv.started:
        time.sleep(0.05)
    return srv


def login(base: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=base)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    c.post("/login", data={"username": "bench", "password": "bench-password", "csrf": token})
    page = c.get(f"/label/{TABLE}").text
    return c, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def server_ms(response: httpx.Response) -> float:
    return float(re.search(r"dur=([0-9.]+)", response.headers["server-timing"]).group(1))


def measure(client: httpx.Client, csrf: str, requests: int) -> dict:
    out = {}
    for queue in QUEUES:
        label_ms, next_ms = [], []
        item = client.get(f"/api/t/{TABLE}/next", params={"queue": queue}).json()["item"]
        for _ in range(requests):
            r = client.post(
                f"/api/t/{TABLE}/label", json={"tweet_id": item["tweet_id"], "label": 1}, headers={"X-CSRF-Token": csrf}
            )
            label_ms.append(server_ms(r))
            r = client.get(f"/api/t/{TABLE}/next", params={"queue": queue})
            next_ms.append(server_ms(r))
            item = r.json()["item"]
        out[queue] = {
            "next_item_ms_median": round(statistics.median(next_ms), 2),
            "next_item_ms_p95": round(sorted(next_ms)[int(0.95 * len(next_ms)) - 1], 2),
            "label_ms_median": round(statistics.median(label_ms), 2),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="streamsift-bench-web-") as tmp:
        settings = load_settings("/dev/null", state={"dir": tmp}, postgres={"port": free_port()})
        pg = PostgresServer(settings.postgres, Path(tmp))
        pg.start()
        try:
            fill(settings, args.rows)
            srv = serve(settings, free_port())
            client, csrf = login(f"http://127.0.0.1:{srv.config.port}")
            indexed = measure(client, csrf, args.requests)
            with connect(settings.postgres) as conn:
                for suffix in ("unlabelled", "uncertain", "conflicts", "review", "golden"):
                    conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(f"{TABLE}_{suffix}_q")))
                conn.commit()
            srv.config.app.state.store._indexed.add(TABLE)  # keep them dropped for the baseline
            baseline = measure(client, csrf, args.requests)
            srv.should_exit = True
        finally:
            pg.stop()
    print(
        json.dumps(
            {
                "rows": args.rows,
                "requests_per_queue": args.requests,
                "with_partial_indexes": indexed,
                "baseline_without_indexes": baseline,
                "target_next_item_ms": 50,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
