"""The local runtime: Kafka broker, PostgreSQL server, Spark session factory."""

from streamsift.infra.kafka import KafkaBroker
from streamsift.infra.manager import Infra, down, status, up
from streamsift.infra.postgres import PostgresServer
from streamsift.infra.spark import get_spark

__all__ = ["Infra", "KafkaBroker", "PostgresServer", "down", "get_spark", "status", "up"]
