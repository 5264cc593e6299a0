"""``streamsift serve`` as a user runs it: a real uvicorn process, real PostgreSQL, real Kafka.

Clients speak each protocol over HTTP as third-party clients would (httpx, following TF Serving's
REST doc and the Open Inference Protocol spec); answers are checked against the model scored
directly with ONNX Runtime.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
import uuid

import httpx
import numpy as np
import pytest

from streamsift.models.predict import OnnxClassifier
from streamsift.models.registry import promote
from streamsift.records import MalformedRecord, parse_payload
from streamsift.sources.synthetic import generate
from streamsift.store.connection import connect
from tests.integration.helpers import train_two_versions
from tests.support.serve_process import TOKEN, Server

pytestmark = pytest.mark.integration


def synthetic_texts(n: int, seed: int) -> list[str]:
    out = []
    for item in generate(n + n // 5 + 10, seed=seed):
        try:
            out.append(parse_payload(item.record.payload)[0].text)
        except MalformedRecord:
            continue
    return out[:n]


@pytest.fixture(scope="module")
def models(infra_settings, tmp_path_factory):
    """Two trained versions of a fresh model name: v1 in production, v2 a candidate."""
    return train_two_versions(infra_settings, tmp_path_factory.mktemp("models"), prefix="srv", seed=71)


@pytest.fixture(scope="module")
def server(models, tmp_path_factory):
    s, _v1, _v2 = models
    srv = Server(s, tmp_path_factory.mktemp("serve"))
    try:
        yield srv
    finally:
        srv.stop()


def reference(models, version: int, texts: list[str]) -> np.ndarray:
    s = models[0]
    path = s.model.models_dir.expanduser().resolve() / s.model.name / str(version)
    return OnnxClassifier(path, ["not_ai", "ai"]).predict_proba(texts)


# -- TF Serving REST --------------------------------------------------------------------------------


def test_tf_serving_row_and_columnar_predict(server, models):
    _s, v1, _v2 = models
    texts = synthetic_texts(20, seed=72)
    want = reference(models, v1.version, texts)
    r = httpx.post(f"{server.base}/v1/models/{server.name}:predict", json={"instances": texts}, headers=server.auth)
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert len(preds) == 20
    got = np.array([p["probabilities"] for p in preds])
    assert np.abs(got - want).max() < 1e-6
    assert [p["label"] for p in preds] == [["not_ai", "ai"][i] for i in want.argmax(axis=1)]
    # {"text": ...} and {"b64": ...} instances, and the columnar format give the same answers
    objs = [{"text": t} for t in texts[:5]] + [{"b64": base64.b64encode(t.encode()).decode()} for t in texts[5:10]]
    r2 = httpx.post(f"{server.base}/v1/models/{server.name}:predict", json={"instances": objs}, headers=server.auth)
    assert [p["probabilities"] for p in r2.json()["predictions"]] == [p["probabilities"] for p in preds[:10]]
    r3 = httpx.post(
        f"{server.base}/v1/models/{server.name}:predict", json={"inputs": {"text": texts}}, headers=server.auth
    )
    assert r3.json()["outputs"]["probabilities"] == [p["probabilities"] for p in preds]
    assert r3.json()["outputs"]["label"] == [p["label"] for p in preds]
    assert r.headers["x-request-id"]


def test_tf_serving_versions_labels_status_and_metadata(server, models):
    _s, v1, v2 = models
    base, name, auth = server.base, server.name, server.auth
    texts = synthetic_texts(5, seed=73)
    by_version = httpx.post(
        f"{base}/v1/models/{name}/versions/{v2.version}:predict", json={"instances": texts}, headers=auth
    )
    assert by_version.status_code == 200
    got = np.array([p["probabilities"] for p in by_version.json()["predictions"]])
    assert np.abs(got - reference(models, v2.version, texts)).max() < 1e-6
    cand = httpx.post(f"{base}/v1/models/{name}/labels/candidate:predict", json={"instances": texts}, headers=auth)
    assert cand.json() == by_version.json()
    prod = httpx.post(f"{base}/v1/models/{name}/labels/production:predict", json={"instances": texts}, headers=auth)
    assert (
        np.abs(
            np.array([p["probabilities"] for p in prod.json()["predictions"]]) - reference(models, v1.version, texts)
        ).max()
        < 1e-6
    )
    st = httpx.get(f"{base}/v1/models/{name}/versions/{v1.version}").json()
    assert st == {
        "model_version_status": [
            {"version": str(v1.version), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
    allv = httpx.get(f"{base}/v1/models/{name}").json()["model_version_status"]
    assert {x["version"] for x in allv} >= {str(v1.version), str(v2.version)}
    meta = httpx.get(f"{base}/v1/models/{name}/metadata").json()
    assert meta["model_spec"]["version"] == str(v1.version)
    sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert sig["inputs"]["text"]["dtype"] == "DT_STRING"
    assert [d["size"] for d in sig["outputs"]["probabilities"]["tensor_shape"]["dim"]] == ["-1", "2"]


# -- Open Inference Protocol v2 ---------------------------------------------------------------------


def test_oip_v2_health_metadata_and_infer(server, models):
    _s, v1, v2 = models
    base, name, auth = server.base, server.name, server.auth
    assert httpx.get(f"{base}/v2/health/live").status_code == 200
    assert httpx.get(f"{base}/v2/health/ready").status_code == 200
    assert httpx.get(f"{base}/v2").json()["name"] == "streamsift"
    meta = httpx.get(f"{base}/v2/models/{name}").json()
    assert meta["name"] == name and meta["inputs"][0]["datatype"] == "BYTES"
    assert {o["name"] for o in meta["outputs"]} == {"probabilities", "label"}
    assert httpx.get(f"{base}/v2/models/{name}/ready").status_code == 200
    assert httpx.get(f"{base}/v2/models/{name}/versions/{v2.version}/ready").status_code == 200
    texts = synthetic_texts(7, seed=74)
    body = {
        "id": "req-42",
        "inputs": [
            {"name": "text", "shape": [7, 1], "datatype": "BYTES", "parameters": {"content_type": "str"}, "data": texts}
        ],
    }
    r = httpx.post(f"{base}/v2/models/{name}/infer", json=body, headers=auth)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["id"] == "req-42" and out["model_name"] == name and out["model_version"] == str(v1.version)
    probs = next(o for o in out["outputs"] if o["name"] == "probabilities")
    assert probs["shape"] == [7, 2] and probs["datatype"] == "FP32"
    want = reference(models, v1.version, texts)
    assert np.abs(np.array(probs["data"]).reshape(7, 2) - want).max() < 1e-6
    labels = next(o for o in out["outputs"] if o["name"] == "label")
    assert labels["data"] == [["not_ai", "ai"][i] for i in want.argmax(axis=1)]
    only = httpx.post(
        f"{base}/v2/models/{name}/versions/{v2.version}/infer",
        json={**body, "outputs": [{"name": "label"}]},
        headers=auth,
    ).json()
    assert [o["name"] for o in only["outputs"]] == ["label"] and only["model_version"] == str(v2.version)


# -- bad input: a JSON error, a 4xx, and nothing reaches the model ----------------------------------


def _texts_scored(server) -> float:
    m = httpx.get(f"{server.base}/metrics").text
    return sum(float(line.split()[-1]) for line in m.splitlines() if line.startswith("streamsift_serve_texts_total"))


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"instances": []}, 400, "empty"),
        ({"instances": [""]}, 400, "instances[0] is an empty text"),
        ({"instances": ["ok", 3]}, 400, "instances[1] is int"),
        ({"instances": ["ok", None]}, 400, "instances[1] is null"),
        ({"instances": ["x"] * 1025}, 400, "at most 1024"),
        ({"instances": ["x" * 2001]}, 400, "at most 2000"),
        ({"instances": ["a"], "inputs": ["b"]}, 400, "exactly one of"),
        ({"instances": [{"txt": "a"}]}, 400, "no 'text'"),
        ({"signature_name": "other", "instances": ["a"]}, 400, "not found in signature def"),
        ({"nothing": 1}, 400, "Missing 'inputs' or 'instances'"),
    ],
)
def test_tf_serving_rejects_bad_bodies(server, body, status, says):
    before = _texts_scored(server)
    r = httpx.post(f"{server.base}/v1/models/{server.name}:predict", json=body, headers=server.auth)
    assert r.status_code == status and says in r.json()["error"], r.text
    assert _texts_scored(server) == before


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "says"),
    [
        (":predict", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "JSON Parse"),
        (
            ":predict",
            {"content": b'{"instances":["a"]}', "headers": {"content-type": "text/plain"}},
            415,
            "Content-Type",
        ),
        (":predict", {"content": b'["a"]', "headers": {"content-type": "application/json"}}, 400, "JSON object"),
        ("/versions/999:predict", {"json": {"instances": ["a"]}}, 404, "Servable not found"),
        ("/labels/staging:predict", {"json": {"instances": ["a"]}}, 404, "Unrecognized servable version label"),
        (":classify", {"json": {"examples": []}}, 501, "not supported"),
    ],
)
def test_tf_serving_rejects_bad_requests(server, path, kwargs, status, says):
    headers = {**server.auth, **kwargs.pop("headers", {})}
    r = httpx.post(f"{server.base}/v1/models/{server.name}{path}", headers=headers, **kwargs)
    assert r.status_code == status and says in r.json()["error"], r.text


def test_unknown_model_and_malformed_paths(server):
    r = httpx.post(f"{server.base}/v1/models/nope:predict", json={"instances": ["a"]}, headers=server.auth)
    assert r.status_code == 404 and r.json() == {"error": "Servable not found for request: Latest(nope)"}
    assert httpx.get(f"{server.base}/v1/models").json() == {"error": "Missing model name in request."}
    assert httpx.get(f"{server.base}/v1/foo").json()["error"].startswith("Malformed request: GET /v1/foo")
    r = httpx.post(f"{server.base}/v2/models/nope/infer", json={"inputs": []}, headers=server.auth)
    assert r.status_code in (400, 404) and "error" in r.json()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"inputs": []}, "non-empty list"),
        ({"inputs": [{"name": "text", "shape": [1], "datatype": "FP32", "data": [1.0]}]}, "BYTES"),
        ({"inputs": [{"name": "text", "shape": [3], "datatype": "BYTES", "data": ["a", "b"]}]}, "data has 2"),
        ({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [""]}]}, "empty text"),
        (
            {
                "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"]}],
                "outputs": [{"name": "x"}],
            },
            "unknown output",
        ),
        ({"inputs": [{"name": "text", "datatype": "BYTES", "data": ["a"]}]}, "lacks shape"),
    ],
)
def test_oip_rejects_bad_bodies(server, body, says):
    before = _texts_scored(server)
    r = httpx.post(f"{server.base}/v2/models/{server.name}/infer", json=body, headers=server.auth)
    assert r.status_code == 400 and says in r.json()["error"], r.text
    assert _texts_scored(server) == before


def test_bearer_token_guards_predict_and_admin_not_health(server):
    url = f"{server.base}/v1/models/{server.name}:predict"
    assert httpx.post(url, json={"instances": ["a"]}).status_code == 401
    r = httpx.post(url, json={"instances": ["a"]}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and "bearer token" in r.json()["error"]
    assert httpx.post(f"{server.base}/admin/refresh").status_code == 401
    assert httpx.post(f"{server.base}/admin/refresh", headers=server.auth).status_code == 200
    assert httpx.get(f"{server.base}/v2/health/ready").status_code == 200
    assert TOKEN not in server.output()


# -- micro-batching: every caller gets exactly its own answers --------------------------------------


def test_64_concurrent_clients_get_their_own_answers_in_order(server, models):
    """The bug MLServer users report most: merged batches handing rows to the wrong caller."""
    _s, v1, _v2 = models
    pool = synthetic_texts(3000, seed=75)
    want = dict(zip(pool, reference(models, v1.version, pool).tolist(), strict=True))
    rng = random.Random(76)
    sizes = [1, 1, 1, 2, 3, 7, 31, 64, 200, 700]
    url = f"{server.base}/v1/models/{server.name}:predict"

    async def client(n_requests: int, seed: int) -> int:
        r = random.Random(seed)
        checked = 0
        async with httpx.AsyncClient(headers=server.auth, timeout=60) as c:
            for _ in range(n_requests):
                texts = r.sample(pool, r.choice(sizes))
                resp = await c.post(url, json={"instances": texts})
                assert resp.status_code == 200, resp.text
                got = [p["probabilities"] for p in resp.json()["predictions"]]
                assert len(got) == len(texts)
                for t, p in zip(texts, got, strict=True):
                    assert np.abs(np.array(p) - want[t]).max() < 1e-6
                checked += len(texts)
        return checked

    async def main() -> list[int]:
        return await asyncio.gather(*(client(8, rng.randrange(1 << 30)) for _ in range(64)))

    checked = asyncio.run(main())
    assert sum(checked) > 64 * 8
    m = httpx.get(f"{server.base}/metrics").text
    # batches did merge requests: some model call took more texts than any one request of 1-3 texts
    counts = {
        line.split("le=")[1].split("}")[0].strip('"'): float(line.split()[-1])
        for line in m.splitlines()
        if line.startswith("streamsift_serve_batch_texts_bucket")
    }
    assert counts["+Inf"] > 0 and counts["+Inf"] > counts["1.0"]
    assert counts["256.0"] == counts["+Inf"]  # the cap: no batch above max_batch_size (256)


# -- cache, metrics, inference log ------------------------------------------------------------------


def test_cache_hits_are_counted_and_answers_unchanged(server):
    url = f"{server.base}/v1/models/{server.name}:predict"
    text = f"Repeated tweet about #DeepLearning {uuid.uuid4().hex}"

    def metric(name: str) -> float:
        for line in httpx.get(f"{server.base}/metrics").text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "_total "):
                return float(line.split()[-1])
        raise AssertionError(name)

    hits = metric("streamsift_serve_cache_hits")
    first = httpx.post(url, json={"instances": [text]}, headers=server.auth).json()
    again = httpx.post(url, json={"instances": [text.upper() + "  "]}, headers=server.auth).json()
    assert first == again
    assert metric("streamsift_serve_cache_hits") == hits + 1
    assert metric("streamsift_serve_cache_entries") >= 1


def test_every_prediction_is_in_the_inference_log(server, models):
    s = models[0]
    rid = f"log-{uuid.uuid4().hex}"
    texts = synthetic_texts(12, seed=77)
    r = httpx.post(
        f"{server.base}/v2/models/{server.name}/infer",
        headers={**server.auth, "X-Request-Id": rid},
        json={"inputs": [{"name": "text", "shape": [12], "datatype": "BYTES", "data": texts}]},
    )
    assert r.status_code == 200 and r.headers["x-request-id"] == rid
    deadline = time.monotonic() + 20
    rows = []
    while time.monotonic() < deadline:
        with connect(s.postgres) as conn:
            rows = conn.execute(
                "SELECT label, probabilities, model_version, protocol, latency_ms, text_hash FROM inference_log "
                "WHERE request_id = %s",
                (rid,),
            ).fetchall()
        if len(rows) == 12:
            break
        time.sleep(0.3)
    assert len(rows) == 12
    assert {x[3] for x in rows} == {"oip-v2"} and all(x[4] >= 0 and len(x[5]) == 16 for x in rows)
    assert sorted(x[0] for x in rows) == sorted(next(o for o in r.json()["outputs"] if o["name"] == "label")["data"])
    deadline = time.monotonic() + 10
    while not (access := [line for line in server.output().splitlines() if rid in line]):
        assert time.monotonic() < deadline, "no access log line with the request id"
        time.sleep(0.2)
    assert '"status":200' in access[0] and '"route":"/v2/models/{name}/infer"' in access[0]


# -- overload, resident versions ----------------------------------------------------------------------


def _post_many(url: str, bodies: list[dict], headers: dict[str, str]) -> list[httpx.Response]:
    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(headers=headers, timeout=60) as c:
            return await asyncio.gather(*(c.post(url, json=b) for b in bodies))

    return asyncio.run(main())


def test_a_full_queue_answers_503_with_retry_after(models, tmp_path):
    s = models[0]
    # batches wait 3 s to fill, so queued texts pile up; at most 8 may wait
    srv = Server(s, tmp_path, max_queue_texts=8, max_batch_wait_ms=3000, max_batch_size=1000)
    try:
        url = f"{srv.base}/v1/models/{srv.name}:predict"
        rs = _post_many(url, [{"instances": [f"text number {i}"]} for i in range(30)], srv.auth)
        codes = sorted(r.status_code for r in rs)
        assert codes.count(200) == 8 and codes.count(503) == 22
        refused = next(r for r in rs if r.status_code == 503)
        assert refused.headers["retry-after"] == "1" and "overloaded" in refused.json()["error"]
    finally:
        srv.stop()


def test_at_most_n_versions_stay_loaded(models, tmp_path):
    s, v1, v2 = models
    srv = Server(s, tmp_path, max_resident_versions=1)
    try:
        r = httpx.post(
            f"{srv.base}/v1/models/{srv.name}/versions/{v2.version}:predict",
            json={"instances": ["a pinned version is loaded on demand"]},
            headers=srv.auth,
        )
        assert r.status_code == 200
        st = httpx.get(f"{srv.base}/v1/models/{srv.name}").json()["model_version_status"]
        assert [x["version"] for x in st] == [str(v1.version)]
    finally:
        srv.stop()


# -- hot swap under load (promotion by the models.events message alone) -------------------------------


def test_promotion_swaps_under_load_with_no_failed_request(models, tmp_path):
    s, v1, v2 = models
    srv = Server(s, tmp_path, registry_poll_s=0)  # no poll: only the Kafka event can trigger the swap
    texts = synthetic_texts(400, seed=78)
    want = {v: dict(zip(texts, reference(models, v, texts).tolist(), strict=True)) for v in (v1.version, v2.version)}
    try:
        deadline = time.monotonic() + 60
        while not httpx.get(f"{srv.base}/admin/state").json()["events_assigned"]:
            assert time.monotonic() < deadline, "the models.events consumer never got its partitions"
            time.sleep(0.2)
        url = f"{srv.base}/v2/models/{srv.name}/infer"
        pinned_url = f"{srv.base}/v2/models/{srv.name}/versions/{v1.version}/infer"
        stop = asyncio.Event()
        seen: list[list[tuple[int, int]]] = []
        failures: list[str] = []

        async def client(i: int, target: str) -> None:
            rng = random.Random(i)
            mine: list[tuple[int, int]] = []
            seen.append(mine)
            async with httpx.AsyncClient(headers=srv.auth, timeout=60) as c:
                while not stop.is_set():
                    batch = rng.sample(texts, rng.choice([1, 1, 2, 5, 20]))
                    body = {"inputs": [{"name": "text", "shape": [len(batch)], "datatype": "BYTES", "data": batch}]}
                    r = await c.post(target, json=body)
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text}")
                        continue
                    out = r.json()
                    v = int(out["model_version"])
                    probs = np.array(out["outputs"][0]["data"]).reshape(len(batch), 2)
                    if np.abs(probs - np.array([want[v][t] for t in batch])).max() > 1e-6:
                        failures.append(f"answer of version {v} does not match it")
                    mine.append((time.monotonic(), v))

        async def main() -> None:
            tasks = [asyncio.create_task(client(i, url)) for i in range(12)]
            tasks.append(asyncio.create_task(client(99, pinned_url)))
            await asyncio.sleep(2)
            await asyncio.to_thread(promote, s, v2.version)
            end = time.monotonic() + 30
            while time.monotonic() < end and not all(m and m[-1][1] == v2.version for m in seen[:12]):
                await asyncio.sleep(0.2)
            await asyncio.sleep(1)
            stop.set()
            await asyncio.gather(*tasks)

        asyncio.run(main())
        assert not failures, failures[:3]
        for m in seen[:12]:
            versions = [v for _t, v in m]
            assert versions[0] == v1.version and versions[-1] == v2.version
            flip = versions.index(v2.version)
            assert set(versions[flip:]) == {v2.version}, "a request after the swap was answered by the old version"
        assert {v for _t, v in seen[12]} == {v1.version}  # pinned to v1: v1 throughout
        state = httpx.get(f"{srv.base}/admin/state").json()
        assert state["production"] == v2.version and state["swaps"] == 1
    finally:
        srv.stop()
        promote(s, v1.version)


# -- the inference log rides out a database outage -----------------------------------------------------


@pytest.fixture(scope="module")
def private(models, tmp_path_factory):
    """A private Kafka + PostgreSQL (this test stops PostgreSQL) with v1 registered and promoted."""
    from tests.conftest import running_infra
    from tests.integration.helpers import register_copy

    s, v1, _v2 = models
    with running_infra(tmp_path_factory.mktemp("serve-outage")) as ps:
        models_dir = tmp_path_factory.mktemp("private-models")
        ps = ps.model_copy(update={"model": s.model.model_copy(update={"models_dir": models_dir})})
        register_copy(ps, v1.path, models_dir)
        yield ps


def _metric(srv: Server, name: str) -> float:
    for line in httpx.get(f"{srv.base}/metrics").text.splitlines():
        if line.split(" ")[0] in (name, name + "_total"):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


def test_database_outage_never_fails_a_response_and_loses_only_counted_rows(private, tmp_path):
    from streamsift.infra.postgres import PostgresServer

    ps = private
    srv = Server(ps, tmp_path, log_buffer_rows=40, log_flush_ms=100)
    pg = PostgresServer(ps.postgres, ps.state.root)
    run = uuid.uuid4().hex[:8]
    try:
        assert pg.stop()
        url = f"{srv.base}/v1/models/{srv.name}:predict"
        codes = []
        for i in range(20):  # 100 predictions while PostgreSQL is down; the buffer holds 40
            r = httpx.post(
                url,
                json={"instances": [f"{run} tweet {i} #{j}" for j in range(5)]},
                headers={**srv.auth, "X-Request-Id": f"{run}-{i}"},
                timeout=30,
            )
            codes.append(r.status_code)
        assert codes == [200] * 20
        assert _metric(srv, "streamsift_serve_log_rows_buffered") == 40
        assert _metric(srv, "streamsift_serve_log_rows_dropped") == 60
        assert pg.start()
        deadline = time.monotonic() + 60
        while _metric(srv, "streamsift_serve_log_rows_buffered") > 0:
            assert time.monotonic() < deadline, srv.output()[-2000:]
            time.sleep(0.3)
        with connect(ps.postgres) as conn:
            n = conn.execute("SELECT count(*) FROM inference_log WHERE request_id LIKE %s", (f"{run}-%",)).fetchone()[0]
        assert n == 40
        out = srv.output()
        assert "PostgreSQL unreachable" in out and "60 rows dropped" in out and "PostgreSQL is back" in out
    finally:
        pg.start()
        srv.stop()


# -- real clients -----------------------------------------------------------------------------------


def test_tritonclient_http_speaks_to_the_server(server, models):
    """NVIDIA's tritonclient (an Open Inference Protocol v2 client used with Triton, KServe and MLServer)
    against our server, JSON tensors, as a user of those servers would call it."""
    import tritonclient.http as httpclient

    _s, v1, _v2 = models
    texts = synthetic_texts(5, seed=75)
    client = httpclient.InferenceServerClient(url=server.base.removeprefix("http://"))
    try:
        assert client.is_server_live(headers=server.auth) and client.is_server_ready(headers=server.auth)
        assert client.is_model_ready(server.name, headers=server.auth)
        meta = client.get_model_metadata(server.name, headers=server.auth)
        assert meta["inputs"][0]["datatype"] == "BYTES"
        inp = httpclient.InferInput("text", [len(texts)], "BYTES")
        inp.set_data_from_numpy(np.array(texts, dtype=object), binary_data=False)
        outputs = [httpclient.InferRequestedOutput(n, binary_data=False) for n in ("probabilities", "label")]
        result = client.infer(server.name, [inp], outputs=outputs, request_id="triton-1", headers=server.auth)
        probs = result.as_numpy("probabilities")
        assert probs.shape == (5, 2)
        assert np.abs(probs - reference(models, v1.version, texts)).max() < 1e-6
        assert [x.decode() if isinstance(x, bytes) else x for x in result.as_numpy("label")] == [
            ["not_ai", "ai"][i] for i in probs.argmax(axis=1)
        ]
        assert result.get_response()["model_version"] == str(v1.version)
    finally:
        client.close()
