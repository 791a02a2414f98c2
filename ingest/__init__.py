"""Ingest: verifies Shopify webhooks and durably produces them to Kafka. Computes nothing."""
