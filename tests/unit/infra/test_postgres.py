"""Where the managed PostgreSQL keeps its files when root runs streamsift from a folder ``nobody``
cannot enter, and how files left behind by a deleted state folder are collected (no server started)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streamsift.config import PostgresSettings
from streamsift.infra import postgres
from streamsift.infra.postgres import OWNER_FILE, PostgresServer, collect_orphans


def home_with_owner(base: Path, name: str, owner: Path | None, pid: int | None = None) -> Path:
    home = base / name
    (home / "data").mkdir(parents=True)
    if owner is not None:
        (home / OWNER_FILE).write_text(f"{owner}\n")
    if pid is not None:
        (home / "data" / "postmaster.pid").write_text(f"{pid}\n")
    return home


def test_only_files_of_a_deleted_state_folder_with_nothing_running_are_collected(tmp_path):
    base, alive = tmp_path / "lib", tmp_path / "state-still-here"
    alive.mkdir()
    gone = tmp_path / "state-deleted"
    orphan = home_with_owner(base, "postgres-aaa", gone)
    kept = home_with_owner(base, "postgres-bbb", alive)
    unmarked = home_with_owner(base, "postgres-ccc", None)
    running = home_with_owner(base, "postgres-ddd", gone, pid=os.getpid())
    relative = home_with_owner(base, "postgres-eee", Path("relative/state"))
    assert collect_orphans(base) == [orphan]
    assert not orphan.exists()
    assert kept.exists() and unmarked.exists() and running.exists() and relative.exists()


@pytest.fixture
def as_root_unreachable(monkeypatch, tmp_path):
    """A PostgresServer that believes it runs as root from a folder ``nobody`` cannot reach, with the
    durable and the temp folders under tmp_path."""
    import pwd

    nobody = pwd.struct_passwd(("nobody", "x", 65534, 65534, "", "/nonexistent", "/usr/sbin/nologin"))
    monkeypatch.setattr(postgres.os, "geteuid", lambda: 0)
    monkeypatch.setattr(postgres.pwd, "getpwnam", lambda _name: nobody)
    monkeypatch.setattr(postgres, "_reachable_by", lambda *a, **k: False)
    monkeypatch.setattr(PostgresServer, "_choose_bin_dir", lambda self: Path("/nonexistent/bin"))
    (tmp_path / "lib").mkdir()
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(postgres, "_shared_base", lambda: tmp_path / "lib")
    monkeypatch.setattr(postgres.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    chowned: dict[Path, tuple[int, int]] = {}
    monkeypatch.setattr(postgres.os, "chown", lambda p, uid, gid, **_: chowned.__setitem__(Path(p), (uid, gid)))
    return tmp_path, chowned


def test_files_go_to_the_durable_folder_and_name_their_state_folder(as_root_unreachable):
    tmp_path, _ = as_root_unreachable
    state = tmp_path / "state"
    pg = PostgresServer(PostgresSettings(), state)
    assert pg.shared and pg.home.parent == tmp_path / "lib"
    pg.home.mkdir()
    pg._mark_owner()
    assert (pg.home / OWNER_FILE).read_text().strip() == str(state.resolve())


def test_an_older_release_files_in_tmp_are_used_then_moved_when_stopped(as_root_unreachable):
    tmp_path, chowned = as_root_unreachable
    state = tmp_path / "state"
    digest = postgres._digest(state / "postgres")
    legacy = tmp_path / "tmp" / f"streamsift-postgres-{digest}"
    (legacy / "data").mkdir(parents=True)
    (legacy / "data" / "PG_VERSION").write_text("15\n")
    pg = PostgresServer(PostgresSettings(), state)
    assert pg.home == legacy  # a status check finds the server where it is
    pg._adopt_legacy_home()
    assert pg.home == tmp_path / "lib" / f"postgres-{digest}"
    assert (pg.data_dir / "PG_VERSION").read_text() == "15\n" and not legacy.exists()
    assert pg.log_file.parent == pg.home and pg.socket_dir.parent == pg.home
    # moved across file systems, the copy would be root's: everything is handed back to nobody
    assert chowned == {p: (65534, 65534) for p in [pg.home, pg.data_dir, pg.data_dir / "PG_VERSION"]}
