"""Faust plumbing: the transport, batches and dead letters, re-keying, the Redis publisher and the
wait through a Redis outage."""
