"""Ingestion: sources → Kafka (producer) → Spark Structured Streaming → PostgreSQL raw table."""

from streamsift.ingest.producer import ProduceError, ProduceStats, produce
from streamsift.ingest.sink import KafkaMessage, RawTweetSink, WriteResult, rows_from_messages

__all__ = [
    "KafkaMessage",
    "ProduceError",
    "ProduceStats",
    "RawTweetSink",
    "WriteResult",
    "produce",
    "rows_from_messages",
]
