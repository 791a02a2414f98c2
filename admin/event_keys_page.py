"""The API keys page: make, rotate and revoke the shop's events-API keys (admin/event_keys_api.py).

A new or rotated key is shown on the page that answers the form, once: it is not kept.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from admin.context import AdminContext
from admin.page_view import Pages, View


def event_keys_page_routes(ctx: AdminContext) -> list[Route]:
    page = Pages(ctx)

    async def event_keys_page(view: View) -> Response:
        errors: dict[str, str] = {}
        shown: dict[str, Any] | None = None
        done = ""
        if view.posted:
            form = await view.request.form()
            action, key_id = str(form.get("action", "")), str(form.get("id", ""))
            if action == "create":
                answer = await view.api.send(
                    "POST", "/api/event-keys", json={"name": str(form.get("name", ""))}, ok=(422,)
                )
                errors = answer.get("errors", {})
                shown = None if errors else answer
            elif action == "rotate":
                shown = await view.api.send("POST", f"/api/event-keys/{key_id}/rotate", ok=(404,))
            elif action == "revoke":
                await view.api.send("DELETE", f"/api/event-keys/{key_id}", ok=(404,))
                done = "Key revoked: requests with it are refused from now on."
        listing = await view.api.get("/api/event-keys")
        return view.render(
            "event_keys.html",
            title="API keys",
            keys=listing["keys"],
            shown=shown if shown and "key" in shown else None,
            done=done,
            errors=errors,
            events_url=f"{ctx.settings.public_url.rstrip('/')}/api/events",
        )

    return [Route("/keys", page("event_keys", event_keys_page), methods=["GET", "POST"], name="event_keys")]
