"""Model-server load test: ``streamsift serve`` beside MLServer and a plain FastAPI endpoint, same ONNX model.

One run, one server at a time (2 cores: never two servers under load at once), ``wrk`` as the
load generator (``bench/serve_peers/post.lua`` cycles through pre-encoded JSON bodies and prints
its percentiles as JSON). Prints JSON on stdout, progress on stderr.

1. The model: a private PostgreSQL + Kafka (own state folder, free ports), ~20,000 synthetic
   tweets through the ingest sink → ``dataset prepare`` → ``label`` → ``train`` → promote.
2. Texts: distinct real tweets from ``../shared/data/real_stream_100k.jsonl`` when it exists, else
   synthetic ones. Bodies are pre-encoded: single-text requests, 100-text requests, and a pool of
   50 texts ("repeated") for the prediction cache.
3. Targets, each answer checked against ``OnnxClassifier`` before timing (a 16-text request, then
   128 single-text requests 32 at a time, so a batcher that mixes answers up shows):

   * ``plain``: ``bench/serve_peers/plain_fastapi.py`` (uvicorn, one ONNX call per request);
   * ``mlserver``: MLServer from PyPI in its own venv (``.bench/mlserver-venv``, same onnxruntime and
     numpy as ours, ``uvloop<0.22``: SeldonIO/MLServer#2286), custom runtime
     ``bench/serve_peers/mlserver_runtime.py``, adaptive batching (``bench/serve_peers/model-settings.json``), OIP v2;
   * ``streamsift``: ``streamsift serve`` on the promoted model, restarted for every case (an empty
     prediction cache each time); also with the cache off, the inference log off, both off.

4. Cases: single texts at 1, 16 and 64 connections, 100-text requests at 16 connections, and, on
   2 processes (``workers2``: uvicorn ``--workers 2``, MLServer ``parallel_workers: 2``,
   ``serving.workers = 2``), 64 single-text and 16 100-text connections; each after a short warm-up
   on other texts. Per case: req/s, texts/s, p50/p90/p99 latency, errors (non-2xx + socket errors),
   the CPU cores the server (all its processes) and wrk used, and for streamsift the change in its
   ``/metrics`` counters (cache hit ratio, texts per ONNX call, inference-log rows).

    python bench/serve_load.py [--duration 10] [--only streamsift,mlserver,plain] [--keep-venv]
    python bench/serve_load.py --only plain,mlserver --model .bench/last-model --keep-venv   # no training

About 7 minutes with the defaults (--keep-venv makes the next run's pip step a no-op).
Needs Debian's ``wrk`` (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PEERS = REPO / "bench" / "serve_peers"
WORK = REPO / ".bench"
REAL = REPO.parent / "shared" / "data" / "real_stream_100k.jsonl"
VENV_BIN = Path(sys.executable).parent
MODEL_NAME = "tweet-classifier"
TF_PATH = f"/v1/models/{MODEL_NAME}:predict"
OIP_PATH = f"/v2/models/{MODEL_NAME}/infer"
TARGETS = ("streamsift", "mlserver", "plain")
BATCH = 100
REPEATED = 50
CLK_TCK = os.sysconf("SC_CLK_TCK")
PRINT_VERSIONS = "import mlserver, onnxruntime; print(mlserver.__version__, onnxruntime.__version__)"


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- texts and bodies


def load_texts(n: int) -> tuple[list[str], str]:
    """``n`` distinct texts: real tweets when ../shared/data is here, topped up with synthetic ones."""
    from streamsift.records import MalformedRecord, parse_payload
    from streamsift.sources.synthetic import generate

    seen: dict[str, None] = {}
    source = "synthetic tweets (streamsift.sources.synthetic)"
    if REAL.exists():
        source = f"real tweets ({REAL.name})"
        with REAL.open("rb") as fh:
            for line in fh:
                try:
                    text = parse_payload(line)[0].text
                except MalformedRecord:
                    continue
                if text and text.strip():
                    seen[text] = None
    if len(seen) < n:
        for item in generate(int((n - len(seen)) * 1.3) + 100, seed=4242):
            try:
                text = parse_payload(item.record.payload)[0].text
            except MalformedRecord:
                continue
            if text and text.strip():
                seen[text] = None
        if REAL.exists():
            source += " + synthetic"
    texts = list(seen)
    random.Random(7).shuffle(texts)
    if len(texts) < n:
        say(f"only {len(texts)} distinct texts (wanted {n})")
    return texts[:n], source


def tf_body(texts: list[str]) -> str:
    return json.dumps({"instances": texts})


def oip_body(texts: list[str]) -> str:
    return json.dumps(
        {
            "inputs": [
                {
                    "name": "text",
                    "shape": [len(texts)],
                    "datatype": "BYTES",
                    "parameters": {"content_type": "str"},
                    "data": texts,
                }
            ]
        }
    )


@dataclass
class Pool:
    """Files of pre-encoded bodies, one per line, for both protocols."""

    name: str
    texts_per_request: int
    files: dict[str, Path] = field(default_factory=dict)  # protocol → file
    requests: int = 0


def write_pools(folder: Path, texts: list[str], warm: list[str]) -> dict[str, Pool]:
    groups = {
        "single": [[t] for t in texts],
        "batch": [texts[i : i + BATCH] for i in range(0, len(texts) - BATCH + 1, BATCH)],
        "repeated": [[t] for t in texts[:REPEATED]],
        "warm_single": [[t] for t in warm],
        "warm_batch": [warm[i : i + BATCH] for i in range(0, len(warm) - BATCH + 1, BATCH)],
    }
    pools = {}
    for name, reqs in groups.items():
        pool = Pool(name, len(reqs[0]), requests=len(reqs))
        for proto, enc in (("tf", tf_body), ("oip", oip_body)):
            path = folder / f"{name}.{proto}.jsonl"
            with path.open("w") as fh:
                fh.writelines(enc(r) + "\n" for r in reqs)
            pool.files[proto] = path
        pools[name] = pool
    return pools


# ---------------------------------------------------------------- the model


@contextmanager
def trained_model(state: Path, raw: int):
    """Private PostgreSQL + Kafka, a model trained on ``raw`` synthetic tweets and promoted; stopped and wiped after."""
    from streamsift.config import load_settings
    from streamsift.dataset.prepare import prepare_dataset
    from streamsift.infra import down, up
    from streamsift.infra.process import free_port
    from streamsift.ingest.sink import KafkaMessage, RawTweetSink
    from streamsift.labeling.pipeline import run_labeling
    from streamsift.models import registry
    from streamsift.models.train import train
    from streamsift.sources.synthetic import generate
    from streamsift.store.connection import connect, connect_kwargs
    from streamsift.store.schema import ensure_ingest_schema
    from streamsift.store.tables import raw_table

    settings = load_settings(
        os.devnull,
        state={"dir": str(state)},
        kafka={"port": free_port(), "controller_port": free_port(), "partitions": 1},
        postgres={"port": free_port()},
        spark={"master": "local[2]", "driver_memory": "1g", "shuffle_partitions": 2},
        model={"models_dir": str(state / "models")},
    )
    try:
        say(f"infra up (PostgreSQL :{settings.postgres.port}, Kafka :{settings.kafka.port}) in {state}")
        up(settings)
        t0 = time.perf_counter()
        table = raw_table(settings.dataset.prefix, settings.dataset.version)
        items = list(generate(raw, seed=404))
        with connect(settings.postgres) as conn:
            ensure_ingest_schema(conn, table)
            RawTweetSink(connect_kwargs(settings.postgres), table).write(
                [KafkaMessage(i.record.payload, "bench", 0, k) for k, i in enumerate(items)], conn
            )
        say(f"{raw} synthetic tweets in {table}; dataset prepare")
        prepared = prepare_dataset(settings)
        say("label")
        run_labeling(settings)
        say("train")
        result = train(settings, force=True)
        registry.promote(settings, result.version)
        info = {
            "version": result.version,
            "path": result.path,
            "raw_tweets": raw,
            "distinct_tweets": prepared.dedup_rows,
            "train_rows": result.metrics["train"]["rows"],
            "test_macro_f1": result.metrics["test"]["neural"]["macro"]["f1"],
            "seconds_to_build": round(time.perf_counter() - t0, 1),
        }
        say(f"model version {result.version} in production ({info['seconds_to_build']} s)")
        yield settings, info
    finally:
        say("infra down")
        down(settings, wipe=True)


# ---------------------------------------------------------------- servers


def http(method: str, url: str, body: str | None = None, timeout: float = 30.0) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body.encode() if body is not None else None, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def group_stats(pgid: int) -> list[list[str]]:
    """``/proc/<pid>/stat`` fields (after the command name) of every process in the group."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            out.append(fields)
    return out


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in the group, with their reaped children."""
    return sum(int(x) for fields in group_stats(pgid) for x in fields[11:15]) / CLK_TCK


def group_alive(pgid: int) -> bool:
    """A process of the group still runs (zombies waiting for their reaper do not count)."""
    return any(fields[0] != "Z" for fields in group_stats(pgid))


@dataclass
class Server:
    """A server subprocess in its own process group; stopped by that id (SIGTERM, then SIGKILL)."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    base_url: str
    ready_path: str
    log: Path
    cwd: Path = REPO
    proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n==== {' '.join(self.cmd)}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if http("GET", self.base_url + self.ready_path, timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s:\n{self.tail()}")

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL to whatever of it is left after 20 s."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        pid = proc.pid
        with suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (proc.poll() is None or group_alive(pid)):
            time.sleep(0.1)
        if proc.poll() is None or group_alive(pid):
            say(f"{self.name} (pid {pid}) ignored SIGTERM: SIGKILL")
            with suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            proc.wait(10)

    def tail(self, n: int = 25) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    @contextmanager
    def running(self, timeout: float = 120.0):
        t0 = time.perf_counter()
        self.start(timeout)
        say(f"{self.name} ready in {time.perf_counter() - t0:.1f} s ({self.base_url})")
        try:
            yield self
        finally:
            self.stop()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMSIFT_", "MLSERVER_"))}
    env.update(extra)
    return env


def plain_server(model_dir: Path, log: Path, workers: int = 1) -> Server:
    from streamsift.infra.process import free_port

    port = free_port()
    cmd = [str(VENV_BIN / "python"), "-m", "uvicorn", "plain_fastapi:app", "--app-dir", str(PEERS)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    cmd += ["--workers", str(workers)]
    env = clean_env(PLAIN_MODEL_DIR=str(model_dir), PLAIN_MODEL_NAME=MODEL_NAME, PLAIN_THREADS="1")
    return Server("plain", cmd, env, f"http://127.0.0.1:{port}", "/v2/health/ready", log)


def mlserver_venv(python: str) -> Path:
    """MLServer + the same onnxruntime and numpy as this venv, in ``.bench/mlserver-venv``."""
    import onnxruntime

    venv = WORK / "mlserver-venv"
    if not (venv / "bin" / "python").exists():
        say(f"creating {venv}")
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    # uvloop 0.22 broke MLServer 1.7.1's inference workers ("no current event loop": SeldonIO/MLServer#2286)
    pins = [f"onnxruntime=={onnxruntime.__version__}", f"numpy=={np.__version__}", "uvloop<0.22"]
    say(f"pip install mlserver {' '.join(pins)} (into {venv})")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run([*pip, "mlserver", *pins], capture_output=True, text=True)
    if done.returncode != 0:
        say(f"pinned install failed, trying unpinned:\n{done.stderr[-2000:]}")
        subprocess.run([*pip, "mlserver", "onnxruntime", "numpy", "uvloop<0.22"], check=True)
    return venv


def mlserver_server(venv: Path, model_dir: Path, run_dir: Path, log: Path, workers: int = 1) -> Server:
    """``mlserver start`` on a folder with settings.json and model/{model-settings.json, mlserver_runtime.py}."""
    from streamsift.infra.process import free_port

    http_port = free_port()
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "model").mkdir(parents=True)
    settings = {
        "debug": False,  # no access log (like the other two)
        "host": "127.0.0.1",
        "http_port": http_port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": workers,  # 1 is MLServer's default: inference in one worker process
    }
    (run_dir / "settings.json").write_text(json.dumps(settings, indent=2))
    template = (PEERS / "model-settings.json").read_text()
    filled = template.replace("@MODEL_DIR@", str(model_dir)).replace(
        "@TOKENIZER_PY@", str(REPO / "src" / "streamsift" / "models" / "tokenizer.py")
    )
    (run_dir / "model" / "model-settings.json").write_text(filled)
    shutil.copy(PEERS / "mlserver_runtime.py", run_dir / "model" / "mlserver_runtime.py")
    cmd = [str(venv / "bin" / "mlserver"), "start", str(run_dir)]
    url = f"http://127.0.0.1:{http_port}"
    return Server("mlserver", cmd, clean_env(), url, f"/v2/models/{MODEL_NAME}/ready", log, run_dir)


def streamsift_available() -> str | None:
    """None when ``streamsift serve`` exists, else why not."""
    exe = VENV_BIN / "streamsift"
    if not exe.exists():
        return f"{exe} is missing (make setup)"
    done = subprocess.run([str(exe), "serve", "--help"], capture_output=True, text=True, env=clean_env())
    if done.returncode != 0:
        return f"`streamsift serve` is not available yet: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"
    return None


def streamsift_server(settings, log: Path, serving: dict[str, str]) -> Server:
    """``streamsift serve`` on the bench's infrastructure; ``serving``: ``serving.*`` settings (env variables)."""
    from streamsift.infra.process import free_port

    port = free_port()
    env = clean_env(
        STREAMSIFT_CONFIG=os.devnull,
        STREAMSIFT_STATE__DIR=str(settings.state.dir),
        STREAMSIFT_KAFKA__PORT=str(settings.kafka.port),
        STREAMSIFT_KAFKA__CONTROLLER_PORT=str(settings.kafka.controller_port),
        STREAMSIFT_POSTGRES__PORT=str(settings.postgres.port),
        STREAMSIFT_MODEL__MODELS_DIR=str(settings.model.models_dir),
        STREAMSIFT_SERVING__HOST="127.0.0.1",
        STREAMSIFT_SERVING__PORT=str(port),
    )
    env.update({f"STREAMSIFT_SERVING__{k.upper()}": str(v) for k, v in serving.items()})
    cmd = [str(VENV_BIN / "streamsift"), "serve"]
    return Server("streamsift", cmd, env, f"http://127.0.0.1:{port}", "/v2/health/ready", log)


# ---------------------------------------------------------------- answers


def probs_of(proto: str, status: int, obj: Any, n: int) -> np.ndarray:
    """The (n, 2) probabilities in a TF Serving or OIP v2 answer."""
    if status != 200:
        raise ValueError(f"HTTP {status}: {str(obj)[:300]}")
    if proto == "tf":
        preds = obj["predictions"]
        if preds and isinstance(preds[0], dict):  # {"probabilities": [...], ...} per text
            key = next(k for k in ("probabilities", "probs", "scores") if k in preds[0])
            preds = [p[key] for p in preds]
        return np.asarray(preds, dtype=np.float64).reshape(n, -1)
    out = next((o for o in obj["outputs"] if o["name"] in ("probs", "probabilities")), obj["outputs"][0])
    return np.asarray(out["data"], dtype=np.float64).reshape(n, -1)


@dataclass
class Reference:
    """Texts and what ``OnnxClassifier`` (in this process) says about them."""

    texts: list[str]
    probs: np.ndarray

    def check(self, server: Server, proto: str) -> dict[str, Any]:
        """One 16-text request, then every text alone, 32 requests in flight (a batcher that mixes answers up shows)."""
        url = server.base_url + (TF_PATH if proto == "tf" else OIP_PATH)
        enc = tf_body if proto == "tf" else oip_body
        k = 16
        got_batch = probs_of(proto, *http("POST", url, enc(self.texts[:k])), k)
        diff_batch = float(np.abs(got_batch - self.probs[:k]).max())

        def one(i: int) -> np.ndarray:
            return probs_of(proto, *http("POST", url, enc([self.texts[i]])), 1)[0]

        with ThreadPoolExecutor(32) as ex:
            got = np.stack(list(ex.map(one, range(len(self.texts)))))
        diffs = np.abs(got - self.probs).max(axis=1)
        result = {
            "texts": len(self.texts),
            "max_abs_diff_16_text_request": diff_batch,
            "max_abs_diff_concurrent_single_requests": float(diffs.max()),
            "mismatched_answers": int((diffs > 1e-4).sum()),
        }
        result["ok"] = diff_batch <= 1e-4 and result["mismatched_answers"] == 0
        say(f"  {server.name} answers vs OnnxClassifier ({proto}): {result}")
        return result


# ---------------------------------------------------------------- load


@dataclass
class Case:
    name: str
    pool: str
    connections: int
    proto: str = "tf"


SINGLE_C64 = Case("single_c64", "single", 64)
BATCH_C16 = Case("batch100_c16", "batch", 16)
BASE_CASES = [Case("single_c1", "single", 1), Case("single_c16", "single", 16), SINGLE_C64, BATCH_C16]
REPEATED_C64 = Case("repeated50_c64", "repeated", 64)


def wrk(url: str, body_file: Path, connections: int, seconds: float, threads: int) -> dict[str, Any]:
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    cmd += ["--timeout", "10s", "-s", str(PEERS / "post.lua"), url, "--", str(body_file)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-500:]} {done.stdout[-500:]}")
    return json.loads(line.removeprefix("WRK_JSON "))


def metrics_snapshot(server: Server) -> dict[str, float]:
    """streamsift's Prometheus ``/metrics`` samples (no histogram buckets); {} for the peers."""
    if server.name != "streamsift":
        return {}
    try:
        status, text = http("GET", server.base_url + "/metrics", timeout=5)
    except OSError:
        return {}
    if status != 200 or not isinstance(text, str):
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if line.startswith("#") or not name.startswith("streamsift_serve") or "_bucket" in name or "_created" in name:
            continue
        with suppress(ValueError):
            out[name] = float(value)
    return out


def metrics_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Counters as increments during the case, gauges as their value at its end, plus derived ratios."""
    out = {}
    for name, value in after.items():
        counter = name.endswith(("_total", "_count", "_sum"))
        out[name] = round(value - before.get(name, 0.0) if counter else value, 4)
    hits, misses = out.get("streamsift_serve_cache_hits_total"), out.get("streamsift_serve_cache_misses_total")
    if hits is not None and misses is not None and hits + misses:
        out["cache_hit_ratio"] = round(hits / (hits + misses), 3)
    texts, batches = out.get("streamsift_serve_batch_texts_sum"), out.get("streamsift_serve_batch_texts_count")
    if texts is not None and batches:
        out["mean_texts_per_onnx_call"] = round(texts / batches, 1)
    return out


def run_case(server: Server, case: Case, pools: dict[str, Pool], args: argparse.Namespace) -> dict[str, Any]:
    """Warm up on other texts, then ``--duration`` seconds of wrk."""
    pool = pools[case.pool]
    url = server.base_url + (TF_PATH if case.proto == "tf" else OIP_PATH)
    warm = pools["warm_batch" if pool.texts_per_request > 1 else "warm_single"]
    if args.warmup > 0:
        wrk(url, warm.files[case.proto], case.connections, args.warmup, args.wrk_threads)
    m0 = metrics_snapshot(server)
    cpu0, wrk0 = group_cpu_seconds(server.proc.pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    r = wrk(url, pool.files[case.proto], case.connections, args.duration, args.wrk_threads)
    cpu1, wrk1 = group_cpu_seconds(server.proc.pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    m1 = metrics_snapshot(server)
    seconds = r["duration_us"] / 1e6
    e = r["errors"]
    socket_errors = e["connect"] + e["read"] + e["write"] + e["timeout"]
    ok = r["requests"] - e["status"]
    out = {
        "connections": case.connections,
        "texts_per_request": pool.texts_per_request,
        "protocol": "TF Serving REST" if case.proto == "tf" else "OIP v2",
        "req_per_s": round(r["requests"] / seconds, 1),
        "texts_per_s": round(ok * pool.texts_per_request / seconds, 1),
        "p50_ms": round(r["latency_us"]["p50"] / 1000, 2),
        "p90_ms": round(r["latency_us"]["p90"] / 1000, 2),
        "p99_ms": round(r["latency_us"]["p99"] / 1000, 2),
        "max_ms": round(r["latency_us"]["max"] / 1000, 2),
        "requests": r["requests"],
        "errors": e["status"] + socket_errors,
        "errors_detail": {"non_2xx": e["status"], **{k: e[k] for k in ("connect", "read", "write", "timeout")}},
        "distinct_bodies": pool.requests,
        "server_cpu_cores": round((cpu1 - cpu0) / seconds, 2),
        "wrk_cpu_cores": round((wrk1.ru_utime + wrk1.ru_stime - wrk0.ru_utime - wrk0.ru_stime) / seconds, 2),
    }
    if m1:
        out["server_metrics"] = metrics_delta(m0, m1)
    extra = ""
    if "cache_hit_ratio" in out.get("server_metrics", {}):
        extra = f", cache hits {out['server_metrics']['cache_hit_ratio']:.0%}"
    say(
        f"  {server.name} {case.name}: {out['req_per_s']} req/s, {out['texts_per_s']} texts/s, "
        f"p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms, errors {out['errors']}, "
        f"server {out['server_cpu_cores']} cores{extra}"
    )
    return out


def run_peer(
    variants: list[tuple[str, Server, list[Case]]], pools: dict[str, Pool], ref: Reference, args: argparse.Namespace
) -> dict[str, Any]:
    """Each variant: start the server once, check its answers, run its cases, stop it."""
    out: dict[str, Any] = {"parity": {}, "cases": {}}
    for variant, server, cases in variants:
        with server.running():
            proto = cases[0].proto
            out["parity"][variant or "default"] = ref.check(server, proto)
            for case in cases:
                out["cases"][f"{case.name}_{variant}" if variant else case.name] = run_case(server, case, pools, args)
    return out


#: (variant, serving.* settings, cases): streamsift starts afresh for every case (an empty cache each time).
STREAMSIFT_VARIANTS: list[tuple[str, dict[str, str], list[Case]]] = [
    ("", {}, [*BASE_CASES, Case("single_c64_oip", "single", 64, "oip"), REPEATED_C64]),
    ("cache_off", {"cache_size": "0"}, [SINGLE_C64, BATCH_C16, REPEATED_C64]),
    ("log_off", {"inference_log": "false"}, [SINGLE_C64, BATCH_C16]),
    ("cache_off_log_off", {"cache_size": "0", "inference_log": "false"}, [SINGLE_C64, BATCH_C16]),
    ("workers2", {"workers": "2"}, [SINGLE_C64, BATCH_C16]),
]


def run_streamsift(settings, pools: dict[str, Pool], ref: Reference, args: argparse.Namespace) -> dict[str, Any]:
    from streamsift.config import ServingSettings

    d = ServingSettings()
    out: dict[str, Any] = {
        "what": f"streamsift serve, defaults unless a case says otherwise: {d.workers} worker process(es), "
        f"micro-batching (max_batch_size {d.max_batch_size}, max_batch_wait_ms {d.max_batch_wait_ms}), "
        f"prediction cache ({d.cache_size:,}), inference log to PostgreSQL ({d.inference_log}); "
        f"restarted for every case (an empty cache each time); 100-text cases cycle through {args.texts:,} texts, so "
        "with the cache on they get hits after the first pass (see server_metrics.cache_hit_ratio)",
        "parity": {},
        "cases": {},
    }
    log = WORK / "logs" / "streamsift.log"
    try:
        for variant, serving in (("default", {}), ("workers2", {"workers": "2"})):
            with streamsift_server(settings, log, serving).running(60) as srv:
                out["parity"][variant] = {"tf": ref.check(srv, "tf"), "oip": ref.check(srv, "oip")}
        for variant, serving, cases in STREAMSIFT_VARIANTS:
            for case in cases:
                name = f"{case.name}_{variant}" if variant else case.name
                with streamsift_server(settings, log, serving).running(60) as srv:
                    out["cases"][name] = run_case(srv, case, pools, args)
                out["cases"][name]["settings"] = {f"serving.{k}": v for k, v in serving.items()} or "defaults"
                if "workers" in serving and "server_metrics" in out["cases"][name]:
                    out["cases"][name]["server_metrics_note"] = "from whichever worker answered /metrics"
    except Exception as exc:  # noqa: BLE001 - keep what was measured
        say(f"streamsift failed: {exc}")
        out["error"] = str(exc)
    return out


def run_mlserver(venv: Path, model_dir: Path, pools: dict[str, Pool], ref: Reference, args) -> dict[str, Any]:
    versions = subprocess.run(
        [str(venv / "bin" / "python"), "-c", PRINT_VERSIONS], capture_output=True, text=True, check=True
    ).stdout.split()
    ms = json.loads((PEERS / "model-settings.json").read_text())
    run_dir, log = WORK / "mlserver-run", WORK / "logs" / "mlserver.log"
    oip = [Case(c.name, c.pool, c.connections, "oip") for c in BASE_CASES]
    return {
        "what": f"MLServer {versions[0]} (PyPI), custom runtime (bench/serve_peers/mlserver_runtime.py), OIP v2 REST, "
        f"adaptive batching max_batch_size={ms['max_batch_size']} requests / max_batch_time={ms['max_batch_time']} s, "
        "parallel_workers=1 (its default) unless a case says otherwise",
        "onnxruntime": versions[1],
        **run_peer(
            [
                ("", mlserver_server(venv, model_dir, run_dir, log), oip),
                ("workers2", mlserver_server(venv, model_dir, run_dir.with_name("mlserver-run-2"), log, 2), oip[2:]),
            ],
            pools,
            ref,
            args,
        ),
    }


def run_plain(model_dir: Path, pools: dict[str, Pool], ref: Reference, args) -> dict[str, Any]:
    log = WORK / "logs" / "plain.log"
    return {
        "what": "bench/serve_peers/plain_fastapi.py: FastAPI + uvicorn (httptools, uvloop), sync endpoint, "
        "one ONNX Runtime call per request (intra-op threads 1), 1 process unless a case says otherwise",
        **run_peer(
            [
                ("", plain_server(model_dir, log), BASE_CASES),
                ("workers2", plain_server(model_dir, log, 2), [SINGLE_C64, BATCH_C16]),
            ],
            pools,
            ref,
            args,
        ),
    }


# ---------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of load per case")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up (other texts) before each case")
    ap.add_argument("--only", default=",".join(TARGETS), help="comma-separated subset of " + ",".join(TARGETS))
    ap.add_argument("--keep-venv", action="store_true", help="keep .bench/mlserver-venv for the next run")
    ap.add_argument("--raw", type=int, default=20_000, help="synthetic tweets the model is trained on")
    ap.add_argument("--texts", type=int, default=80_000, help="distinct texts in the single and 100-text pools")
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument(
        "--model", type=Path, help="use this model folder (e.g. .bench/last-model), no training: streamsift is skipped"
    )
    args = ap.parse_args()
    only = [t.strip() for t in args.only.split(",") if t.strip()]
    if unknown := set(only) - set(TARGETS):
        ap.error(f"--only: unknown target(s) {sorted(unknown)}; choose from {','.join(TARGETS)}")
    if shutil.which("wrk") is None:
        sys.exit("serve_load: the load generator `wrk` is missing: apt-get install wrk")

    from streamsift.models.predict import OnnxClassifier

    (WORK / "logs").mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "config": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "wrk": f"wrk --timeout 10s -t{args.wrk_threads}, bench/serve_peers/post.lua",
            "cpu_cores": os.cpu_count(),
        },
        "targets": {},
    }
    t_start = time.perf_counter()
    venv = None
    skip_streamsift = None
    if "streamsift" in only:
        skip_streamsift = "--model given (it serves the registry's model)" if args.model else streamsift_available()
        if skip_streamsift:
            say(f"streamsift skipped: {skip_streamsift}")
            report["targets"]["streamsift"] = {"skipped": skip_streamsift}
    with tempfile.TemporaryDirectory(prefix="streamsift-bench-serve-") as tmp:
        say("loading texts")
        texts, source = load_texts(args.texts + 1000)
        warm, texts = texts[:1000], texts[1000:]
        pools = write_pools(Path(tmp), texts, warm)
        report["config"]["texts"] = source
        report["config"]["pools"] = {
            p.name: {"bodies": p.requests, "texts_each": p.texts_per_request} for p in pools.values()
        }
        try:
            if "mlserver" in only:  # before the infrastructure is up: pip is the slow part
                venv = mlserver_venv(shutil.which("python3.11") or sys.executable)
            if args.model:
                model = nullcontext((None, {"path": str(args.model.resolve()), "trained": "no (--model)"}))
            else:
                model = trained_model(Path(tmp) / "state", args.raw)
            with model as (settings, model_info):
                report["model"] = model_info
                model_dir = Path(model_info["path"])
                if not args.model:  # a copy for later runs with --model (plain and mlserver only)
                    shutil.rmtree(WORK / "last-model", ignore_errors=True)
                    shutil.copytree(model_dir, WORK / "last-model")
                classes = json.loads((model_dir / "config.json").read_text())["labeling_classes"]
                ref = Reference(texts[:128], OnnxClassifier(model_dir, classes).predict_proba(texts[:128]))
                for target in ("plain", "mlserver"):
                    if target not in only:
                        continue
                    try:
                        if target == "plain":
                            report["targets"]["plain"] = run_plain(model_dir, pools, ref, args)
                        else:
                            report["targets"]["mlserver"] = run_mlserver(venv, model_dir, pools, ref, args)
                    except Exception as exc:  # noqa: BLE001 - one target failing must not lose the others
                        say(f"{target} failed: {exc}")
                        report["targets"][target] = {"error": str(exc)}
                if "streamsift" in only and not skip_streamsift:
                    report["targets"]["streamsift"] = run_streamsift(settings, pools, ref, args)
        finally:
            if venv is not None and not args.keep_venv:
                say(f"removing {venv} (--keep-venv keeps it)")
                shutil.rmtree(venv, ignore_errors=True)
    report["seconds_total"] = round(time.perf_counter() - t_start, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
