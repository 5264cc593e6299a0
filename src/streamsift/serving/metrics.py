"""Prometheus metrics of the model server (prometheus-client), served at ``/metrics``.

Counters and histograms are updated on the request path; the values that live elsewhere
(cache, inference log buffer, queue depth, model in service) are read at scrape time by a
collector, so the hot path pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "streamsift_serve_requests",
            "HTTP requests by route and status code",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "streamsift_serve_request_seconds",
            "Request latency by route (seconds)",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "streamsift_serve_batch_texts",
            "Texts per model call (micro-batch size)",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "streamsift_serve_batch_seconds",
            "Model call time per micro-batch (seconds)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.texts = Counter(
            "streamsift_serve_texts", "Texts classified by protocol", ["protocol"], registry=self.registry
        )

    def observe_batch(self, n: int, seconds: float) -> None:
        self.batch_size.observe(n)
        self.batch_seconds.observe(seconds)

    def watch(self, collect: Callable[[], Iterable[Metric]]) -> None:
        """Register a scrape-time collector (cache, log buffer, queue, model version)."""

        class _Live(Collector):
            def collect(self) -> Iterable[Metric]:
                return collect()

            def describe(self) -> Iterable[Metric]:
                return []

        self.registry.register(_Live())


def gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=list(labels) if labels else None)
    if labels:
        g.add_metric(list(labels.values()), value)
    else:
        g.add_metric([], value)
    return g


def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


__all__ = ["ServerMetrics", "counter", "gauge"]
