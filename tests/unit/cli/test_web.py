"""`streamsift web hash-password`: what it prints and how it refuses (the real CLI, a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys

from streamsift.web.auth import verify_password


def hash_password_cli(stdin: str, tmp_path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSIFT_")}
    env |= {"STREAMSIFT_CONFIG": os.devnull, "STREAMSIFT_STATE__DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "streamsift", "web", "hash-password", "ann"],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_a_piped_password_gives_a_web_users_line(tmp_path):
    out = hash_password_cli("correct horse\n", tmp_path)
    assert out.returncode == 0, out.stderr
    header, line = out.stdout.strip().splitlines()
    assert header == "[web.users]"
    name, stored = line.split(" = ")
    assert name == "ann" and verify_password("correct horse", stored.strip('"'))


def test_nothing_piped_says_no_password_not_too_short(tmp_path):
    out = hash_password_cli("", tmp_path)
    assert out.returncode == 1
    assert out.stderr.startswith("error: no password given")


def test_a_short_password_is_refused(tmp_path):
    out = hash_password_cli("short\n", tmp_path)
    assert out.returncode == 1
    assert "at least 8 characters" in out.stderr
