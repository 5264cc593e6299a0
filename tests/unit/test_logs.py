"""Log plumbing: worker records forwarded to the driver, one-line query failures."""

from __future__ import annotations

import logging
from pathlib import Path

from streamsift.config import load_settings
from streamsift.infra.spark import query_failure
from streamsift.logs import WORKER_PREFIX, forward_worker_line

SPARK_FAILURE = """[STREAM_FAILED] Query [id = 1b2, runId = 9f] terminated with exception: \
[FOREACH_BATCH_USER_FUNCTION_ERROR] \
An error occurred in the user provided function in foreach batch sink. Reason: An exception was raised by the \
Python Proxy. Return Message: Traceback (most recent call last):
  File "/x/py4j/clientserver.py", line 644, in _call_proxy
    return_value = getattr(self.pool[obj_id], method)(*params)
pyspark.errors.exceptions.captured.PythonException:
  An exception was thrown from the Python worker. Please see the stack trace below.
Traceback (most recent call last):
  File "/x/streamsift/store/retry.py", line 130, in write_with_retry
    raise SinkUnavailableError(
streamsift.store.retry.SinkUnavailableError: could not write 10 messages to PostgreSQL at \
postgresql://streamsift@127.0.0.1:5432/streamingdb for 300 s: connection failed: Connection refused (check it)
	at org.apache.spark.api.python.BasePythonRunner$ReaderIterator.handlePythonException(PythonRunner.scala:600)
java.lang.RuntimeException: wrapper
"""


def test_query_failure_is_one_line_with_the_streamsift_cause():
    s = load_settings(Path("/dev/null"))
    err = query_failure(SPARK_FAILURE, what="the ingest query", settings=s)
    msg = str(err)
    assert "\n" not in msg
    assert msg.startswith("the ingest query failed: could not write 10 messages to PostgreSQL at postgresql://")
    assert "spark.log" in msg


def test_query_failure_falls_back_to_the_innermost_non_wrapper_exception():
    s = load_settings(Path("/dev/null"))
    text = "Traceback\npyspark.errors.exceptions.captured.PythonException: x\nKeyError: 'value'\n"
    assert "KeyError: 'value'" in str(query_failure(text, what="q", settings=s))


def test_worker_lines_are_forwarded_to_the_driver_loggers(caplog):
    with caplog.at_level(logging.INFO):
        assert forward_worker_line(f"{WORKER_PREFIX}WARNING|streamsift.store.retry|retry 1 in 0.5 s\n")
        assert not forward_worker_line("26/12/01 WARN NativeCodeLoader: Unable to load native-hadoop library\n")
    [rec] = [r for r in caplog.records if r.name == "streamsift.store.retry"]
    assert rec.levelno == logging.WARNING and rec.getMessage() == "retry 1 in 0.5 s"
