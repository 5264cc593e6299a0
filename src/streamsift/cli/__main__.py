"""``python -m streamsift.cli``."""

from streamsift.cli import main

main()
