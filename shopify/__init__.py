"""Shopify: webhook topics, signatures, OAuth and token exchange, the Admin GraphQL client."""
