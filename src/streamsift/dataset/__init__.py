"""Dataset preparation: dedup, versioned splits, exports."""

from streamsift.dataset.normalize import normalize_text
from streamsift.dataset.prepare import SPLITS, DatasetError, prepare_dataset, split_table

__all__ = ["SPLITS", "DatasetError", "normalize_text", "prepare_dataset", "split_table"]
