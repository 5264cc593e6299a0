"""``python -m streamsift`` (how the background services are started)."""

from streamsift.cli import main

main()
