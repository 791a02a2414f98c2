"""Load generators: realistic signed Shopify webhooks, the dev simulator, locust users."""
