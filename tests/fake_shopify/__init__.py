"""A local fake of the Shopify Admin API that checks what it is sent.

Services reach it through `SHOPIFY_ADMIN_BASE_URL=http://127.0.0.1:PORT/{shop}`. It serves
the OAuth code grant, token exchange of the session tokens it mints (`session_token`) and Admin
GraphQL with Shopify's leaky-bucket cost limit.
Resolvers for GraphQL root fields are registered per feature (see `resolvers`).
"""

from tests.fake_shopify.server import FakeShopify, GraphQLCall, running_fake_shopify

__all__ = ["FakeShopify", "GraphQLCall", "running_fake_shopify"]
