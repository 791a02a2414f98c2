"""The merchant's app: the embedded Shopify admin StorePulse serves under `/app` (docs/merchant-app.md)."""
