"""The HTTP client every call to Shopify goes through.

shopifyapp addresses a shop as `https://{name}.myshopify.com` (Admin GraphQL, token exchange),
while StorePulse reaches it through `SHOPIFY_ADMIN_BASE_URL`: `https://{shop}` in production,
the fake Shopify in tests. For any other base, requests to `https://*.myshopify.com` are
rewritten onto it, so shopifyapp's calls and ours reach the same place. Other hosts (a bulk
operation's result file on signed storage) are left alone.
"""

from __future__ import annotations

import httpx

PRODUCTION_BASE_URL = "https://{shop}"


class _OntoAdminBase(httpx.AsyncHTTPTransport):
    """`https://demo.myshopify.com/admin/...` → `{base with {shop}=demo.myshopify.com}/admin/...`."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self._base_url = base_url

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        base = httpx.URL(self._base_url.replace("{shop}", request.url.host))
        request.url = base.copy_with(raw_path=base.raw_path.rstrip(b"/") + request.url.raw_path)
        request.headers["Host"] = base.netloc.decode("ascii")
        return await super().handle_async_request(request)


def shopify_http(admin_base_url: str, *, timeout: httpx.Timeout | float) -> httpx.AsyncClient:
    """A client for Shopify calls, addressed to `admin_base_url` (a template with `{shop}`)."""
    base = admin_base_url.rstrip("/")
    mounts = {} if base == PRODUCTION_BASE_URL else {"https://*.myshopify.com": _OntoAdminBase(base)}
    return httpx.AsyncClient(timeout=timeout, mounts=mounts)
