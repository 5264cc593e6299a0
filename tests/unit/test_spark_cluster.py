"""Standalone-cluster support without a JVM: the master's JSON, the status, the zip, the conf."""

from __future__ import annotations

import json
import os
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from streamsift.config import load_settings
from streamsift.errors import ConfigError, PortInUseError
from streamsift.infra.process import free_port
from streamsift.infra.spark import spark_conf, spark_status
from streamsift.infra.spark_cluster import (
    PACKAGE_DIR,
    SparkStandalone,
    master_status,
    package_zip,
    parse_master_json,
)

# What a Spark 4.2 master answers on http://<host>:<webui port>/json/ (one worker, then a second).
MASTER_JSON = {
    "url": "spark://127.0.0.1:59483",
    "workers": [
        {
            "id": "worker-20261201044522-127.0.0.1-55061",
            "host": "127.0.0.1",
            "port": 55061,
            "webuiaddress": "http://127.0.0.1:47027",
            "cores": 2,
            "coresused": 2,
            "coresfree": 0,
            "memory": 1024,
            "memoryused": 1024,
            "memoryfree": 0,
            "resources": {},
            "resourcesused": {},
            "resourcesfree": {},
            "state": "ALIVE",
            "lastheartbeat": 1796100322968,
        },
        {
            "id": "worker-20261201040000-10.0.0.7-40000",
            "host": "10.0.0.7",
            "port": 40000,
            "webuiaddress": "http://10.0.0.7:8081",
            "cores": 8,
            "coresused": 0,
            "coresfree": 8,
            "memory": 15360,
            "memoryused": 0,
            "memoryfree": 15360,
            "state": "DEAD",
            "lastheartbeat": 1796100000000,
        },
    ],
    "aliveworkers": 1,
    "cores": 2,
    "coresused": 2,
    "memory": 1024,
    "memoryused": 1024,
    "resources": [{}],
    "resourcesused": [{}],
    "activeapps": [{"id": "app-20261201044554-0000", "name": "streamsift-ingest", "cores": 2, "state": "RUNNING"}],
    "completedapps": [],
    "activedrivers": [],
    "completeddrivers": [],
    "status": "ALIVE",
}


def test_parse_master_json():
    info = parse_master_json(MASTER_JSON)
    assert info.url == "spark://127.0.0.1:59483" and info.status == "ALIVE"
    assert [w.state for w in info.workers] == ["ALIVE", "DEAD"]
    (alive,) = info.alive_workers
    assert (alive.host, alive.port, alive.cores, alive.cores_used, alive.memory_mb) == ("127.0.0.1", 55061, 2, 2, 1024)
    assert info.healthy and info.problem == ""
    d = info.to_dict()
    assert d["alive_workers"] == 1 and d["cores"] == 2 and d["memory_mb"] == 1024  # the DEAD worker not counted
    assert d["workers"][1] == {
        "id": "worker-20261201040000-10.0.0.7-40000",
        "address": "10.0.0.7:40000",
        "state": "DEAD",
        "cores": 8,
        "cores_used": 0,
        "memory_mb": 15360,
        "memory_used_mb": 0,
    }
    assert d["active_apps"] == ["streamsift-ingest"]
    assert info.summary().startswith("master ALIVE, 1/2 workers ALIVE (2 cores, 1024 MB): 127.0.0.1:55061 ALIVE")


def test_parse_master_json_unhealthy_states():
    no_workers = parse_master_json({**MASTER_JSON, "workers": [MASTER_JSON["workers"][1]]})
    assert not no_workers.healthy and "no ALIVE worker" in no_workers.problem
    standby = parse_master_json({**MASTER_JSON, "status": "STANDBY"})
    assert not standby.healthy and "STANDBY" in standby.problem
    with pytest.raises(ValueError, match="not a Spark master"):
        parse_master_json({"hello": "world"})


class _FakeMaster(BaseHTTPRequestHandler):
    body: bytes = b""

    def do_GET(self):
        if self.path != "/json/":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_master():
    """An HTTP server on 127.0.0.1 answering /json/ like a master web UI; set ``.body``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeMaster)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_master_status_reads_the_web_ui(fake_master):
    url = fake_master
    _FakeMaster.body = json.dumps(MASTER_JSON).encode()
    st = master_status("spark://127.0.0.1:59483", url)
    assert st.running and st.healthy
    assert st.to_dict()["alive_workers"] == 1 and st.to_dict()["master_web_ui"] == url
    assert "1/2 workers ALIVE" in st.detail

    _FakeMaster.body = b"<html>not json</html>"
    st = master_status("spark://127.0.0.1:59483", url)
    assert not st.healthy and "does not answer" in st.detail

    dead = f"http://127.0.0.1:{free_port()}"
    st = master_status("spark://127.0.0.1:59483", dead)
    assert not st.running and not st.healthy
    assert dead in st.detail and "does not answer" in st.detail and "spark.master_web_ui_url" in st.detail


@pytest.fixture
def jars_dir(tmp_path) -> Path:
    (tmp_path / "jars" / "spark").mkdir(parents=True)
    (tmp_path / "jars" / "spark" / "x.jar").write_bytes(b"")
    return tmp_path / "jars"


def test_spark_status_with_a_standalone_master(fake_master, jars_dir):
    url = fake_master
    _FakeMaster.body = json.dumps(MASTER_JSON).encode()
    spark = {"master": "spark://127.0.0.1:59483", "master_web_ui_url": url}
    st = spark_status(load_settings(os.devnull, jars_dir=str(jars_dir), spark=spark)).to_dict()
    assert st["healthy"] and st["master_status"] == "ALIVE" and st["alive_workers"] == 1
    assert st["jars"] == ["x.jar"]  # the driver-side checks are still reported

    broken = spark_status(load_settings(os.devnull, jars_dir=str(jars_dir / "missing"), spark=spark)).to_dict()
    assert not broken["healthy"] and "jars" in broken["detail"] and "1/2 workers ALIVE" in broken["detail"]

    local = spark_status(load_settings(os.devnull, jars_dir=str(jars_dir))).to_dict()
    assert local["healthy"] and "master_status" not in local  # local mode: no master to ask


def test_master_web_ui_setting():
    assert load_settings(os.devnull).spark.master_web_ui is None
    s = load_settings(os.devnull, spark={"master": "spark://spark-master.internal:7077"}).spark
    assert s.standalone and s.master_web_ui == "http://spark-master.internal:8080"
    ha = load_settings(os.devnull, spark={"master": "spark://m1:7077,m2:7077"}).spark
    assert ha.master_web_ui == "http://m1:8080"
    own = load_settings(os.devnull, spark={"master": "spark://m1:7077", "master_web_ui_url": "https://ui:443/"}).spark
    assert own.master_web_ui == "https://ui:443"
    with pytest.raises(ConfigError, match=r"master_web_ui_url: .*http://"):
        load_settings(os.devnull, spark={"master_web_ui_url": "m1:8080"})


def _fake_package(root: Path) -> Path:
    pkg = root / "mypkg"
    (pkg / "sub" / "__pycache__").mkdir(parents=True)
    (pkg / "__init__.py").write_text("VALUE = 1\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "mod.py").write_text("def f():\n    return 42\n")
    (pkg / "sub" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"junk")
    return pkg


def test_package_zip_is_cached_and_rebuilt_when_a_source_changes(tmp_path):
    pkg = _fake_package(tmp_path / "src")
    state = tmp_path / "state"
    first = package_zip(state, pkg)
    assert first.parent == state / "spark" / "pyfiles" and first.name.startswith("mypkg-")
    with zipfile.ZipFile(first) as zf:
        assert sorted(zf.namelist()) == ["mypkg/__init__.py", "mypkg/sub/__init__.py", "mypkg/sub/mod.py"]
    before = first.read_bytes()
    assert package_zip(state, pkg) == first and first.read_bytes() == before  # cached
    (pkg / "sub" / "__pycache__" / "other.pyc").write_bytes(b"more junk")
    assert package_zip(state, pkg) == first  # compiled files do not count

    (pkg / "sub" / "mod.py").write_text("def f():\n    return 43\n")
    second = package_zip(state, pkg)
    assert second != first and second.exists()
    with zipfile.ZipFile(second) as zf:
        assert b"return 43" in zf.read("mypkg/sub/mod.py")
    assert first.exists()  # a job that started with it may still need it (old zips expire after a day)

    again = package_zip(tmp_path / "elsewhere", pkg)
    assert again.name == second.name and again.read_bytes() == second.read_bytes()  # deterministic bytes


def test_package_zip_of_streamsift(tmp_path):
    z = package_zip(tmp_path)
    with zipfile.ZipFile(z) as zf:
        names = set(zf.namelist())
    assert {"streamsift/__init__.py", "streamsift/ingest/sink.py", "streamsift/infra/spark_cluster.py"} <= names
    assert not any("__pycache__" in n for n in names)
    assert PACKAGE_DIR.name == "streamsift"


def test_spark_conf_ships_the_zip_only_to_a_standalone_master(tmp_path, jars_dir):
    base = {"state": {"dir": str(tmp_path / "state")}, "jars_dir": str(jars_dir)}
    local = spark_conf(load_settings(os.devnull, **base))
    assert "spark.submit.pyFiles" not in local and "spark.files" not in local

    extra = {"spark.submit.pyFiles": "/opt/libs/extra.zip", "spark.executor.memory": "3g"}
    conf = spark_conf(load_settings(os.devnull, **base, spark={"master": "spark://m:7077", "extra_conf": extra}))
    shipped = package_zip(tmp_path / "state")
    assert conf["spark.submit.pyFiles"] == f"{shipped},/opt/libs/extra.zip"  # the user's files are kept
    assert conf["spark.files"] == str(shipped)
    assert conf["spark.executor.memory"] == "3g"


def test_stop_without_a_cluster_is_a_no_op(tmp_path):
    sc = SparkStandalone(tmp_path)
    assert sc.master_url == "spark://127.0.0.1:7077" and sc.web_ui == "http://127.0.0.1:8080"
    assert sc.stop() is False and sc.stop() is False
    (tmp_path / "spark" / "standalone").mkdir(parents=True)
    sc.master_pid_file.write_text("garbage")  # a corrupted pid file is ignored and removed
    assert sc.stop() is False and not sc.master_pid_file.exists()


def test_start_refuses_a_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        sc = SparkStandalone(tmp_path, port=free_port(), webui_port=port, worker_port=free_port())
        with pytest.raises(PortInUseError, match=f"master web UI port {port} on 127.0.0.1 is in use"):
            sc.start()
    assert sc.stop() is False  # nothing was started
