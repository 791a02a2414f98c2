"""Faust plumbing: the transport, batch iteration, re-keying and the Redis publisher."""
