import os
from pathlib import Path

import pytest

from streamsift.config import load_settings
from streamsift.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "streamsift.toml"
    p.write_text(text)
    return p


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.postgres.database == "streamingdb"
    assert s.dataset.prefix == "raw_tweet_dataset" and s.dataset.version == 0
    assert s.kafka.topics == ["tweets.raw", "tweets.deadletter", "tweets.predictions", "models.events"]
    assert s.kafka.bootstrap == "127.0.0.1:9092"


def test_toml_then_env_override(tmp_path, monkeypatch):
    p = write(tmp_path, "[kafka]\nport = 19092\npartitions = 6\n[dataset]\nversion = 3\n")
    monkeypatch.setenv("STREAMSIFT_KAFKA__PORT", "29092")
    s = load_settings(p)
    assert s.kafka.port == 29092  # environment wins over the file
    assert s.kafka.partitions == 6  # file wins over the default
    assert s.dataset.version == 3


def test_bad_value_names_the_key(tmp_path):
    p = write(tmp_path, "[kafka]\nport = 'lots'\n")
    with pytest.raises(ConfigError, match=r"kafka\.port: .*integer.*'lots'"):
        load_settings(p)


def test_port_out_of_range(tmp_path):
    p = write(tmp_path, "[postgres]\nport = 70000\n")
    with pytest.raises(ConfigError, match=r"postgres\.port: .*between 1 and 65535"):
        load_settings(p)


def test_unknown_key_is_an_error(tmp_path):
    p = write(tmp_path, "[kafka]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"kafka\.prot: unknown setting"):
        load_settings(p)


def test_bad_table_prefix_rejected(tmp_path):
    p = write(tmp_path, "[dataset]\nprefix = 'raw; drop table x'\n")
    with pytest.raises(ConfigError, match=r"dataset\.prefix: .*invalid SQL identifier"):
        load_settings(p)


def test_secret_in_file_rejected(tmp_path):
    p = write(tmp_path, "[postgres]\npassword = 'hunter2'\n")
    with pytest.raises(ConfigError, match="must not be stored in the config file") as exc:
        load_settings(p)
    assert "hunter2" not in str(exc.value)


def test_password_in_url_rejected(tmp_path):
    p = write(tmp_path, "[postgres]\nurl = 'postgresql://u:hunter2@db:5432/x'\n")
    with pytest.raises(ConfigError, match="must not contain a password") as exc:
        load_settings(p)
    assert "hunter2" not in str(exc.value)


def test_secret_from_env_is_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMSIFT_POSTGRES__PASSWORD", "hunter2")
    monkeypatch.setenv("STREAMSIFT_X_BEARER_TOKEN", "tok-123")
    s = load_settings(write(tmp_path, ""))
    assert s.postgres.password.get_secret_value() == "hunter2"
    assert s.bearer_token.get_secret_value() == "tok-123"
    dumped = repr(s) + str(s.model_dump(mode="json"))
    assert "hunter2" not in dumped and "tok-123" not in dumped


def test_malformed_toml(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[kafka\nport=1"))


def test_missing_explicit_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_settings_are_frozen(tmp_path):
    s = load_settings(write(tmp_path, ""))
    with pytest.raises(Exception, match="frozen"):
        s.kafka.port = 1  # type: ignore[misc]


def test_embedded_broker_must_bind_loopback(tmp_path):
    with pytest.raises(ConfigError, match=r"kafka\.host: .*loopback"):
        load_settings(write(tmp_path, "[kafka]\nhost = '0.0.0.0'\n"))


def test_settings_env_gives_a_child_process_the_same_settings(monkeypatch):
    """demo's background services get the parent's settings, wherever they came from (secrets too)."""
    from streamsift.config import settings_env

    parent = load_settings(
        Path(os.devnull),
        kafka={"port": 19092, "controller_port": 19093},
        web={"users": {"ann": "scrypt$16384$8$1$c2FsdA==$aGFzaA=="}},
        x_user_token="user-token",
        postgres={"password": "pw"},
    )
    env = settings_env(parent)
    for key in list(os.environ):
        if key.startswith("STREAMSIFT_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    child = load_settings(Path(os.devnull))
    assert child == parent
    assert child.x_user_token.get_secret_value() == "user-token"
    assert child.postgres.password.get_secret_value() == "pw"
    # A more specific variable still wins over the section's JSON (what the demo does for web.users).
    monkeypatch.setenv("STREAMSIFT_KAFKA__PORT", "19094")
    assert load_settings(Path(os.devnull)).kafka.port == 19094


def test_child_env_drops_stale_settings_variables_and_any_settings_file(monkeypatch, tmp_path):
    """A child started with child_env(s) loads exactly s: not a stale STREAMSIFT_KAFKA__PORT of the
    parent's shell, not the streamsift.toml in its working folder; unrelated variables pass through."""
    from streamsift.config import child_env

    parent = load_settings(Path(os.devnull), kafka={"port": 19092, "controller_port": 19093}, x_user_token="t")
    stale = {"STREAMSIFT_KAFKA__PORT": "1", "STREAMSIFT_POSTGRES": '{"port": 2}', "PATH": "/bin", "OTHER": "x"}
    env = child_env(parent, stale)
    assert env["PATH"] == "/bin" and env["OTHER"] == "x"
    assert "STREAMSIFT_KAFKA__PORT" not in env
    write(tmp_path, "[kafka]\nport = 3\n")
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("STREAMSIFT_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert load_settings() == parent
