"""Where a benchmark phase's CPU time went, by process group (from /proc: Linux only).

with CpuSplit() as cpu:
    ...  # the phase
cpu.seconds  # {"spark_jvm": 3.1, "python_workers": 9.8, "postgres": 4.2, "kafka": 1.0, ...}
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_GROUPS = (
    ("kafka", b"kafka.Kafka"),
    ("spark_jvm", b"org.apache.spark"),
    ("python_workers", b"pyspark.daemon"),
    ("python_workers", b"pyspark.worker"),
    ("postgres", b"postgres"),
)


def _group(pid: int, cmdline: bytes) -> str:
    if pid == os.getpid():
        return "bench_process"
    for name, marker in _GROUPS:
        if marker in cmdline:
            return name
    return "other"


def _snapshot() -> dict[int, tuple[str, float]]:
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # utime + stime, and cutime + cstime: the CPU of children that ended and were reaped (a
        # PostgreSQL backend by the postmaster, a Spark Python worker by its daemon)
        cpu = sum(int(f) for f in fields[11:15]) / _TICK
        out[int(entry.name)] = (_group(int(entry.name), cmdline), cpu)
    return out


class CpuSplit:
    """CPU seconds per process group between ``__enter__`` and ``__exit__``. A child that ended in
    between counts in its parent's group once reaped (a PostgreSQL backend: ``postgres``)."""

    def __enter__(self) -> CpuSplit:
        self._before = _snapshot()
        return self

    def __exit__(self, *exc: object) -> None:
        totals: dict[str, float] = {}
        for pid, (group, cpu) in _snapshot().items():
            before = self._before.get(pid)
            used = cpu - (before[1] if before else 0.0)
            totals[group] = totals.get(group, 0.0) + used
        self.seconds = {k: round(v, 1) for k, v in sorted(totals.items(), key=lambda kv: -kv[1]) if v >= 0.05}


__all__ = ["CpuSplit"]
