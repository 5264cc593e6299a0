"""Jetstream client benchmark: how many events per second ``produce --source bluesky`` keeps up with.

A local Jetstream (``tests/support/fake_jetstream.py``) runs in its own process and sends a
pre-built firehose as fast as it can: ~85 % new posts (~500-900 bytes of JSON, a third with a link
card), the rest deletes, likes, identity and account events, an unknown kind and broken JSON, in
the proportions of ``firehose()``. The client runs in this process, pinned to one core
(``os.sched_setaffinity``), the server to the other:

* ``source``: the Jetstream source alone (websocket frames read, parsed, filtered, keyed, cursor
  kept), records counted and dropped;
* ``to_kafka``: the same into a local Kafka broker through ``produce`` (acknowledgements advance the
  cursor), as ``streamsift produce --source bluesky`` does.

Prints JSON: events/s (all frames) and posts/s, median of ``--repeat`` runs.

    python bench/jetstream_client.py [--posts 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fake_jetstream import FakeJetstream, firehose

from streamsift.config import load_settings
from streamsift.infra import KafkaBroker, down, up
from streamsift.infra.process import free_port
from streamsift.ingest.producer import produce
from streamsift.sources.bluesky import JetstreamSource


def _serve(n_posts: int, port_q, stop_ev) -> None:
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, {1})
    frames, _ = firehose(n_posts)
    server = FakeJetstream(frames).start()
    sent = [f for f in frames if f.collection in (None, "app.bsky.feed.post")]  # wantedCollections
    port_q.put((server.port, len(sent), sum(len(f.text) for f in sent) / len(sent)))
    stop_ev.wait()
    server.stop()


def _run(settings, port: int, n_frames: int, *, to_kafka: bool, topic: str) -> dict:
    stop = threading.Event()
    src = JetstreamSource(
        settings.bluesky,
        Path(tempfile.mkdtemp()),
        urls=[f"ws://127.0.0.1:{port}/subscribe"],
        stop=stop,
        recv_timeout_s=0.5,
    )

    def until_done(records):
        for rec in records:
            yield rec
            if src.stats.frames >= n_frames:
                stop.set()

    t0 = time.perf_counter()
    with src:
        if to_kafka:
            produce(until_done(src), settings.kafka, settings.producer, topic=topic)
        else:
            for _ in until_done(src):
                pass
    seconds = time.perf_counter() - t0
    return {
        "frames": src.stats.frames,
        "posts": src.stats.posts,
        "seconds": round(seconds, 3),
        "events_per_s": round(src.stats.frames / seconds),
        "posts_per_s": round(src.stats.posts / seconds),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory(prefix="streamsift-bench-") as tmp:
        s = load_settings(
            "/dev/null",
            state={"dir": str(Path(tmp) / "state")},
            kafka={"port": free_port(), "controller_port": free_port()},
            postgres={"port": free_port()},
            bluesky={"fallback_urls": []},
        )
        up(s)
        KafkaBroker(s.kafka, s.state.root).ensure_topics([f"bench.bsky.{i}" for i in range(args.repeat)])
        result: dict = {"posts_in_stream": args.posts, "repeat": args.repeat, "runs": {}}
        try:
            for mode in ("source", "to_kafka"):
                runs = []
                for i in range(args.repeat):
                    q, stop_ev = mp.Queue(), mp.Event()
                    server = mp.Process(target=_serve, args=(args.posts, q, stop_ev), daemon=True)
                    server.start()
                    port, n_frames, mean_bytes = q.get(timeout=120)
                    result["mean_frame_bytes"] = round(mean_bytes)
                    try:
                        runs.append(_run(s, port, n_frames, to_kafka=mode == "to_kafka", topic=f"bench.bsky.{i}"))
                    finally:
                        stop_ev.set()
                        server.join(10)
                result["runs"][mode] = {
                    "frames": runs[0]["frames"],
                    "median_events_per_s": statistics.median(r["events_per_s"] for r in runs),
                    "median_posts_per_s": statistics.median(r["posts_per_s"] for r in runs),
                    "all": runs,
                }
        finally:
            down(s, wipe=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
