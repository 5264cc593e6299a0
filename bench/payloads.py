"""Real-size tweet payloads for the ingest and producer benchmarks.

Real X API v1.1 tweets average ~6.4 KB (a full ``user`` object, entities, often a retweeted or
quoted status); the synthetic stream's are ~1.3 KB. :func:`real_size_payloads` loops the 500-tweet
sample of ``../shared/data`` when it is there, rewriting each copy's top-level ``id`` / ``id_str`` so
every record is a distinct tweet (the bytes are otherwise the sample's, as the API delivered them);
without the sample it pads synthetic v1.1 tweets with a realistic user profile and extended entities
to the same size and shape.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from streamsift.sources.synthetic import generate

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "tweets_v1_sample.jsonl"
REAL_AVG_BYTES = 6_461
_ID_BASE = 1_700_000_000_000_000_000


def _templates(path: Path) -> list[tuple[bytes, bytes, bytes]]:
    """Each tweet of the sample split around its top-level ``id`` and ``id_str`` values (their first
    occurrences: the top-level ones come before any retweeted or quoted status)."""
    out = []
    for line in path.read_bytes().splitlines():
        obj = orjson.loads(line) if line.strip() else None
        if not isinstance(obj, dict) or not isinstance(obj.get("id_str"), str):
            continue
        tid = re.escape(obj["id_str"].encode())
        spans = []
        for pattern in (rb'"id"\s*:\s*(' + tid + rb")\b", rb'"id_str"\s*:\s*"(' + tid + rb')"'):
            m = re.search(pattern, line)
            if m:
                spans.append(m.span(1))
        if len(spans) == 2:
            (a0, a1), (b0, b1) = sorted(spans)
            out.append((line[:a0], line[a1:b0], line[b1:]))
    return out


def _padded_synthetic(n: int, seed: int) -> list[bytes]:
    """Synthetic v1.1 tweets padded with a real-looking user profile and extended entities."""
    out: list[bytes] = []
    for item in generate(n * 2, seed=seed, malformed_share=0, duplicate_share=0, v2_share=0):
        obj = orjson.loads(item.record.payload)
        user = obj.setdefault("user", {})
        user.update(
            {
                "description": "Data person. Opinions my own. " * 4,
                "location": "Somewhere, Earth",
                "url": "https://example.org/about/me",
                "profile_background_image_url_https": "https://abs.twimg.com/images/themes/theme1/bg.png",
                "profile_image_url_https": "https://pbs.twimg.com/profile_images/1234567890/abcdefgh_normal.jpg",
                "profile_banner_url": "https://pbs.twimg.com/profile_banners/1234567890/1586000000",
                **{f"profile_{k}_color": "1DA1F2" for k in ("link", "sidebar_border", "sidebar_fill", "text")},
                **{k: 1234 for k in ("friends_count", "listed_count", "favourites_count", "statuses_count")},
                **{k: False for k in ("protected", "geo_enabled", "contributors_enabled", "is_translator")},
            }
        )
        media = {
            "id": 1,
            "id_str": "1",
            "indices": [0, 23],
            "media_url_https": "https://pbs.twimg.com/media/EUuabcdefgh.jpg",
            "url": "https://t.co/abcdefgh",
            "display_url": "pic.twitter.com/abcdefgh",
            "expanded_url": "https://twitter.com/someone/status/1/photo/1",
            "type": "photo",
            "sizes": {s: {"w": 1200, "h": 675, "resize": "fit"} for s in ("thumb", "small", "medium", "large")},
        }
        obj["extended_entities"] = {"media": [media]}
        obj["source"] = '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>'
        payload = orjson.dumps(obj)
        while len(payload) < REAL_AVG_BYTES - 900:
            obj["extended_entities"]["media"].append(media)
            payload = orjson.dumps(obj)
        out.append(payload)
        if len(out) == n:
            break
    return out


def real_size_payloads(n: int, *, seed: int = 0) -> tuple[list[bytes], str]:
    """``n`` distinct real-size v1.1 payloads and where they came from."""
    if SAMPLE.exists():
        templates = _templates(SAMPLE)
        payloads = []
        for i in range(n):
            head, mid, tail = templates[i % len(templates)]
            sid = str(_ID_BASE + seed * 10_000_000_000 + i).encode()
            payloads.append(b"".join((head, sid, mid, sid, tail)))
        return payloads, f"the real v1.1 sample, looped ({len(templates)} tweets, ids rewritten)"
    return _padded_synthetic(n, seed), "synthetic v1.1 padded to the real size (no ../shared/data here)"


__all__ = ["REAL_AVG_BYTES", "real_size_payloads"]
