"""Live classification: the stream scored as it arrives, AI tweets and their links stored.

    tweets.raw ─► parse (records.parse_payload, as ingest) ─► serving.runtime.classify_batch
             ─► tweets.predictions (every prediction)   ─► ai_tweets + tweet_urls (≥ threshold)
             ─► tweets.deadletter (unparsable records, with the reason)

``spark_job.py`` runs it as a Spark Structured Streaming query (``streamsift classify``),
``worker.py`` as a Kafka consumer-group service (``streamsift worker``); both go through
``scoring.score_messages`` and ``store.LiveSink``.
"""
