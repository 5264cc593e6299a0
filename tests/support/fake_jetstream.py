"""A local Jetstream: a websocket server on 127.0.0.1 replaying events shaped like the real ones.

It speaks Jetstream v1's ``/subscribe``: ``wantedCollections`` filters commit events (identity and
account events go to everyone), ``cursor`` (unix µs) replays from the first event at or after it,
and without a cursor the replay starts at the first event. ``drop_after`` frames into the first
connection it aborts the TCP connection (no close frame), as a crashed instance would. Frames that
are not JSON are sent as they are (at their place in the stream). After the last event the
connection stays open and quiet, like a live tail with nothing new.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import orjson

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


@dataclass
class Frame:
    time_us: int  # where the frame sits in the stream (a cursor replays from here)
    text: str
    collection: str | None = None


def post_event(i: int, time_us: int, *, text: str, lang: str = "en", link: str | None = None) -> dict:
    record: dict = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": "2026-12-01T10:00:00.000Z",
        "langs": [lang],
    }
    if link:
        record["facets"] = [
            {
                "index": {"byteStart": 0, "byteEnd": 4},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": link}],
            }
        ]
        record["embed"] = {
            "$type": "app.bsky.embed.external",
            "external": {"uri": link, "title": "t", "description": "d"},
        }
    return {
        "did": f"did:plc:user{i % 37:04d}",
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": f"3l{i:010d}",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": f"3k{i:011d}",
            "cid": f"bafyrei{i:020d}",
            "record": record,
        },
    }


@dataclass
class FakeJetstream:
    frames: list[Frame]
    drop_after: int | None = None
    port: int = 0
    connections: list[dict[str, list[str]]] = field(default_factory=list)
    sent: int = 0
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/subscribe"

    async def _handler(self, ws) -> None:
        query = parse_qs(urlsplit(ws.request.path).query)
        self.connections.append(query)
        first = len(self.connections) == 1
        wanted = set(query.get("wantedCollections", []))
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        n = 0
        for f in self.frames:
            if cursor is not None and f.time_us < cursor:
                continue
            if f.collection is not None and wanted and f.collection not in wanted:
                continue
            if first and self.drop_after is not None and n >= self.drop_after:
                ws.transport.abort()  # the instance dies mid-stream: no close frame
                return
            await ws.send(f.text)
            n += 1
            self.sent += 1
        await self._stop.wait()  # a live tail with nothing new

    def start(self) -> FakeJetstream:
        from websockets.asyncio.server import serve

        ready = threading.Event()

        async def main() -> None:
            self._stop = asyncio.Event()
            async with serve(self._handler, "127.0.0.1", self.port) as server:
                self.port = server.sockets[0].getsockname()[1]
                ready.set()
                await self._stop.wait()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(main())

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)


def firehose(n_posts: int = 300) -> tuple[list[Frame], dict[str, dict]]:
    """A stream like the real one: posts (various languages, some with links), deletes, likes, identity
    and account events, an unknown kind and broken JSON, in time order. Returns the frames and the
    posts by at-URI."""
    frames: list[Frame] = []
    posts: dict[str, dict] = {}
    t = 1_764_000_000_000_000
    for i in range(n_posts):
        t += 1_000
        lang = "de" if i % 10 == 3 else "en"
        link = f"https://example.org/paper/{i}" if i % 3 == 0 else None
        ev = post_event(i, t, text=f"post {i} about machine learning and data", lang=lang, link=link)
        frames.append(Frame(t, orjson.dumps(ev).decode(), "app.bsky.feed.post"))
        posts[f"at://{ev['did']}/app.bsky.feed.post/{ev['commit']['rkey']}"] = ev
        if i % 25 == 5:
            t += 1_000
            delete = {
                "did": DID,
                "time_us": t,
                "kind": "commit",
                "commit": {"rev": "x", "operation": "delete", "collection": "app.bsky.feed.post", "rkey": f"d{i}"},
            }
            frames.append(Frame(t, orjson.dumps(delete).decode(), "app.bsky.feed.post"))
        if i % 40 == 7:
            t += 1_000
            like = post_event(i, t, text="")
            like["commit"]["collection"] = "app.bsky.feed.like"
            like["commit"]["record"] = {"$type": "app.bsky.feed.like", "subject": {"uri": "at://x", "cid": "y"}}
            frames.append(Frame(t, orjson.dumps(like).decode(), "app.bsky.feed.like"))
        if i % 50 == 11:
            t += 1_000
            frames.append(
                Frame(
                    t,
                    orjson.dumps(
                        {
                            "did": DID,
                            "time_us": t,
                            "kind": "identity",
                            "identity": {
                                "did": DID,
                                "handle": "a.bsky.social",
                                "seq": i,
                                "time": "2026-12-01T10:00:00Z",
                            },
                        }
                    ).decode(),
                )
            )
            t += 1_000
            frames.append(
                Frame(
                    t,
                    orjson.dumps(
                        {
                            "did": DID,
                            "time_us": t,
                            "kind": "account",
                            "account": {"active": False, "did": DID, "seq": i, "status": "takendown", "time": "x"},
                        }
                    ).decode(),
                )
            )
        if i % 60 == 13:
            t += 1_000
            frames.append(Frame(t, orjson.dumps({"did": DID, "time_us": t, "kind": "labels"}).decode()))
            frames.append(Frame(t, '{"did": "did:plc:broken", "time_us": ' + str(t) + ', "kind": "commit", "com'))
    return frames, posts


def firehose_from_synthetic(n: int, seed: int = 0) -> list[Frame]:
    """Bluesky posts carrying the texts and links of streamsift's synthetic stream (AI and everything
    else), for a whole-loop run on a local Jetstream."""
    from streamsift.records import MalformedRecord, parse_payload
    from streamsift.sources.synthetic import generate

    frames, t = [], 1_764_000_000_000_000
    for i, item in enumerate(generate(n, seed, malformed_share=0.0, duplicate_share=0.0)):
        try:
            tweet, _ = parse_payload(item.record.payload)
        except MalformedRecord:
            continue
        t += 1_000
        links = [u.expanded_url for u in tweet.urls]
        ev = post_event(i, t, text=tweet.text[:300], link=links[0] if links else None)
        frames.append(Frame(t, orjson.dumps(ev).decode(), "app.bsky.feed.post"))
    return frames


def main() -> None:
    """``python -m tests.support.fake_jetstream [N]``: serve N synthetic-text posts until killed."""
    import sys
    import time

    server = FakeJetstream(firehose_from_synthetic(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)).start()
    print(server.url, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
