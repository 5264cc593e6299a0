"""streamsift: real-time streaming text classification on Kafka, Spark, PostgreSQL and Snorkel."""

from streamsift.config import Settings, load_settings
from streamsift.errors import StreamsiftError

__version__ = "0.1.0"

__all__ = ["Settings", "StreamsiftError", "__version__", "load_settings"]
