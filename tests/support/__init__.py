"""The one toolbox of the suite: test modules import helpers from here (or tests/fake_shopify),
never from each other (tests/unit/test_toolbox.py checks it).

- eventually: the one polling helper (a deadline, and a failure that says what was awaited)
- stack: the secrets, the services and the shops a test runs against
- webhooks: signed webhook posting
- ingest: ingest in-process, for tests that need its app rather than its process
- kafka: producing and reading topics
- sse: the SSE clients (parsed notifications, raw lines)
- push: notifications through the real publisher, push processes of a test's own
- state: what the worker keeps in Redis, read as the merchant sees it
- metrics: one sample of a service's /metrics
- launcher: `storepulse dev` itself, as `make run` starts it
"""
