"""Streams: Faust workers that turn Shopify events into metrics and notifications."""
