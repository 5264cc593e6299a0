"""The retry policy of the sinks, without a database: which errors are retried, and for how long."""

from __future__ import annotations

import logging

import psycopg
import pytest
from psycopg import errors

from streamsift.store.retry import SinkUnavailableError, is_transient, write_with_retry


def _sqlstate_error(cls: type[psycopg.Error]) -> psycopg.Error:
    return cls("boom")


@pytest.mark.parametrize(
    "exc",
    [
        psycopg.OperationalError("connection failed: Connection refused"),
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.InterfaceError("the connection is closed"),
        _sqlstate_error(errors.AdminShutdown),
        _sqlstate_error(errors.CannotConnectNow),
        _sqlstate_error(errors.SerializationFailure),
        _sqlstate_error(errors.DeadlockDetected),
        ConnectionResetError("reset by peer"),
    ],
)
def test_transient_errors_are_retried(exc):
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        _sqlstate_error(errors.UniqueViolation),
        _sqlstate_error(errors.UndefinedColumn),
        _sqlstate_error(errors.DiskFull),
        _sqlstate_error(errors.QueryCanceled),
        ValueError("a bug"),
    ],
)
def test_other_errors_are_not(exc):
    assert not is_transient(exc)


def test_retries_until_the_write_succeeds_and_logs_each_retry(caplog):
    calls, resets = [], []

    def write():
        calls.append(1)
        if len(calls) < 3:
            raise psycopg.OperationalError("connection failed: Connection refused")
        return "written"

    with caplog.at_level(logging.WARNING, logger="streamsift.store.retry"):
        out = write_with_retry(
            write, window_s=30, target="postgresql://u@h/db", on_retry=lambda: resets.append(1), initial_s=0.01
        )
    assert out == "written" and len(calls) == 3 and len(resets) == 2
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 2
    assert "retry 1 in" in retries[0] and "retry 2 in" in retries[1] and "Connection refused" in retries[0]
    assert any("succeeded on attempt 3" in r.getMessage() for r in caplog.records)


def test_gives_up_after_the_window_with_one_line_naming_the_database():
    def write():
        raise psycopg.OperationalError("connection failed: Connection refused\nIs the server running?")

    with pytest.raises(SinkUnavailableError) as info:
        write_with_retry(write, window_s=0.2, target="postgresql://u@db.example:5432/streamingdb", initial_s=0.01)
    msg = str(info.value)
    assert "postgresql://u@db.example:5432/streamingdb" in msg and "for 0 s" in msg
    assert "\n" not in msg and "Connection refused" in msg


def test_a_non_transient_error_is_raised_at_once():
    calls = []

    def write():
        calls.append(1)
        raise errors.UndefinedColumn("column x does not exist")

    with pytest.raises(errors.UndefinedColumn):
        write_with_retry(write, window_s=30, target="db", initial_s=0.01)
    assert len(calls) == 1
