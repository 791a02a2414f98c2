"""StorePulse: live social proof and customer metrics for Shopify stores.

This package holds only what the services share: settings, event contracts,
logging, the embedded dev stack launcher and the CLI.
"""
