import os
import socket

import pytest

from streamsift.errors import PortInUseError
from streamsift.infra.process import free_port, port_is_free, read_pid, require_free_port, tail


def test_port_in_use_is_detected():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
        with pytest.raises(PortInUseError, match=f"port {port} .* in use.*STREAMSIFT_KAFKA__PORT"):
            require_free_port("127.0.0.1", port, service="Kafka", setting="kafka.port")
    assert port_is_free("127.0.0.1", free_port())


def test_read_pid(tmp_path):
    f = tmp_path / "x.pid"
    assert read_pid(f) is None
    f.write_text(f"{os.getpid()}\n")
    assert read_pid(f) == os.getpid()
    f.write_text("garbage")  # corrupted state: ignored and removed
    assert read_pid(f) is None and not f.exists()
    f.write_text("999999999")  # no such process
    assert read_pid(f) is None


def test_tail(tmp_path):
    f = tmp_path / "log"
    f.write_text("\n".join(str(i) for i in range(100)))
    assert tail(f, 3) == "97\n98\n99"
    assert tail(tmp_path / "missing") == ""


def test_kafka_cluster_ids_never_look_like_an_option():
    from streamsift.infra.kafka import new_cluster_id

    ids = [new_cluster_id() for _ in range(5000)]  # 1 in 64 random ids starts with "-"
    assert all(len(i) == 22 and not i.startswith("-") for i in ids) and len(set(ids)) == 5000
