"""PostgreSQL: connections, schema, versioned table names, writers."""

from streamsift.store.tables import raw_table, validate_identifier, versioned

__all__ = ["raw_table", "validate_identifier", "versioned"]
